"""The agent-facing ticket pages: the list (quick views, filters, keyset pages, bounded queries, bulk
changes), a ticket's page (thread, requester, SLA clock, links, CSAT), its actions (reply, note,
canned reply, status, assignment, properties, links, delete) and the new-ticket form.
Permission denied, other workspaces' tickets, bad input and CSRF are tested for each kind of
action; nothing changes then."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.models import Event
from rapport.service.models import (
    CannedReply,
    CsatSurvey,
    MessageKind,
    Queue,
    SlaPolicy,
    Ticket,
    TicketLink,
    TicketMessage,
)
from rapport.service.ticket_services import ticket_create, ticket_link, ticket_note, ticket_reply, ticket_set_status

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ada(org: Any) -> Any:
    company = CompanyFactory.create(org=org, name="Initech", support_tier="premium")
    return contact_with(org, email="ada@example.org", first_name="Ada", last_name="Lovelace", company=company)


def _ticket(actor: Any, subject: str = "Cannot log in", **data: Any) -> Ticket:
    return ticket_create(actor=actor, data={"subject": subject, "description": "It says no.", **data})


def _state() -> dict[str, Any]:
    return {
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "messages": list(TicketMessage.objects.order_by("pk").values()),
        "links": TicketLink.objects.count(),
        "events": Event.objects.count(),
    }


def _numbers(html: str, tickets: list[Ticket]) -> set[int]:
    return {t.number for t in tickets if f'href="/tickets/{t.pk}/"' in html}


# --- the list ----------------------------------------------------------------------------------------


def test_the_list_shows_unsolved_tickets_with_requester_status_and_quick_views(web, admin, ada):
    open_ = _ticket(admin, contact=ada.pk, priority="urgent")
    solved = _ticket(admin, "Done already", contact=ada.pk)
    ticket_set_status(actor=admin, ticket=solved, status="solved")
    html = web(admin).get("/tickets/").content.decode()
    assert _numbers(html, [open_, solved]) == {open_.number}
    assert f"#{open_.number}" in html and "Cannot log in" in html
    assert "Ada Lovelace" in html and "Initech" in html
    assert 'class="badge badge-danger">Urgent' in html
    assert "My open tickets" in html and "Unassigned" in html and "All unsolved" in html
    assert 'aria-current="page">All unsolved' in html
    assert 'aria-current="page">Tickets' in html  # the service tabs and the top navigation
    assert 'href="/tickets/new/"' in html


def test_the_list_filters_by_status_priority_queue_assignee_channel_and_text(web, admin, org, member_of):
    agent = member_of(Role.SUPPORT)
    billing = Queue.objects.create(org=org, name="Billing")
    a = _ticket(admin, "Invoice is wrong", queue=billing.pk, assignee=admin.user_id, priority="high")
    b = _ticket(admin, "Password reset", assignee=agent.user_id)
    c = ticket_create(actor=admin, data={"subject": "Phone call"}, channel="phone")
    d = _ticket(admin, "Old question")
    ticket_set_status(actor=admin, ticket=d, status="solved")
    every = [a, b, c, d]
    client = web(admin)

    def numbers(query: str) -> set[int]:
        resp = client.get(f"/tickets/?{query}")
        assert resp.status_code == 200
        return _numbers(resp.content.decode(), every)

    assert numbers("") == {a.number, b.number, c.number}
    assert numbers("status=all") == {a.number, b.number, c.number, d.number}
    assert numbers("status=solved") == {d.number}
    assert numbers("priority=high") == {a.number}
    assert numbers(f"queue={billing.pk}") == {a.number}
    assert numbers("queue=none") == {b.number, c.number}
    assert numbers("assignee=me") == {a.number}
    assert numbers("assignee=none") == {c.number}
    assert numbers(f"assignee={agent.user_id}") == {b.number}
    assert numbers("channel=phone") == {c.number}
    assert numbers("q=invoice") == {a.number}
    assert numbers(f"q=%23{b.number}") == {b.number}


def test_the_sla_filters_find_breached_and_soon_due_tickets(web, admin):
    now = timezone.now()
    late = _ticket(admin, "Late one")
    soon = _ticket(admin, "Soon one")
    calm = _ticket(admin, "Calm one")
    Ticket.objects.filter(pk=late.pk).update(first_response_due_at=now - timedelta(hours=2))
    Ticket.objects.filter(pk=soon.pk).update(resolution_due_at=now + timedelta(minutes=20))
    Ticket.objects.filter(pk=calm.pk).update(resolution_due_at=now + timedelta(days=2))
    client = web(admin)
    every = [late, soon, calm]
    breached = client.get("/tickets/?sla=breached").content.decode()
    assert _numbers(breached, every) == {late.number}
    assert "Overdue" in breached
    assert _numbers(client.get("/tickets/?sla=due_soon").content.decode(), every) == {soon.number}


def test_the_list_costs_the_same_queries_for_many_tickets(web, admin, org, django_assert_max_num_queries):
    queue = Queue.objects.create(org=org, name="Support")
    for i in range(3):
        _ticket(admin, f"Few {i}")
    client = web(admin)
    client.get("/tickets/")  # warm the session and the caches
    with django_assert_max_num_queries(12) as few:
        client.get("/tickets/")
    for i in range(40):
        company = CompanyFactory.create(org=org, name=f"Co {i}")
        person = contact_with(org, email=f"p{i}@example.org", first_name=f"P{i}", company=company)
        _ticket(admin, f"Many {i}", contact=person.pk, queue=queue.pk, assignee=admin.user_id)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get("/tickets/").content.decode()
    assert html.count('class="name-cell ticket-subject"') == 43


def test_the_list_pages_with_a_cursor(web, admin):
    tickets = [_ticket(admin, f"Ticket {i}") for i in range(52)]
    client = web(admin)
    first = client.get("/tickets/").content.decode()
    cursor = re.search(r"cursor=([^\"&]+)", first)
    assert cursor
    second = client.get(f"/tickets/?cursor={cursor.group(1)}").content.decode()
    assert len(_numbers(first, tickets)) == 50 and len(_numbers(second, tickets)) == 2
    assert not _numbers(first, tickets) & _numbers(second, tickets)


def test_bad_filters_and_cursors_answer_400_not_500(web, admin):
    client = web(admin)
    assert client.get("/tickets/?status=bogus").status_code == 400
    assert client.get("/tickets/?assignee=someone").status_code == 400
    resp = client.get("/tickets/?cursor=not-a-cursor")
    assert resp.status_code == 400 and "cursor" in resp.content.decode()


def test_bulk_sets_status_and_assignee_of_the_ticked_tickets_only(web, admin, member_of):
    agent = member_of(Role.SUPPORT)
    a, b, c = (_ticket(admin, f"Bulk {i}") for i in range(3))
    resp = web(admin).post("/tickets/bulk/", {"ids": [a.pk, b.pk], "status": "pending", "assignee": agent.user_id})
    assert resp.status_code == 302
    assert {t.status for t in Ticket.objects.filter(pk__in=[a.pk, b.pk])} == {"pending"}
    assert {t.owner_id for t in Ticket.objects.filter(pk__in=[a.pk, b.pk])} == {agent.user_id}
    assert Ticket.objects.get(pk=c.pk).status == "new"


def test_bulk_leaves_other_workspaces_tickets_alone(web, admin, other_admin):
    theirs = _ticket(other_admin, "Theirs")
    before = _state()
    web(admin).post("/tickets/bulk/", {"ids": [theirs.pk], "status": "solved"})
    assert _state() == before


# --- a ticket's page ----------------------------------------------------------------------------------


def test_the_page_shows_thread_requester_sla_links_and_csat(web, admin, org, ada):
    policy = SlaPolicy.objects.create(org=org, name="Standard", first_response_minutes=60, business_hours=False)
    ticket = _ticket(admin, contact=ada.pk)
    assert Ticket.objects.get(pk=ticket.pk).sla_policy_id == policy.pk
    other = _ticket(admin, "Another problem", contact=ada.pk)
    ticket_reply(actor=admin, ticket=ticket, body="Try **this** please")
    ticket_note(actor=admin, ticket=ticket, body="Customer is grumpy")
    ticket_link(actor=admin, ticket=ticket, other=other, kind="related")
    CsatSurvey.objects.create(org=org, ticket=ticket, rating=4, comment="Quick and kind", answered_at=timezone.now())
    html = web(admin).get(f"/tickets/{ticket.pk}/").content.decode()
    assert "It says no." in html  # the description, the first customer message
    assert "<strong>this</strong>" in html  # replies are Markdown
    assert "message-note" in html and "never sent to the customer" in html and "Customer is grumpy" in html
    assert "Public reply" in html and "Queued" in html
    assert "Premium support" in html and "Other open tickets" in html and f"#{other.number} Another problem" in html
    assert "First response" in html and "Policy: Standard" in html
    assert "Related to" in html
    assert "4 / 5" in html and "Quick and kind" in html
    assert 'name="body"' in html and "Send reply" in html and "Add internal note" in html


def test_what_users_typed_is_escaped(web, admin, ada):
    ticket = _ticket(admin, "<script>alert(1)</script>", contact=ada.pk)
    ticket_note(actor=admin, ticket=ticket, body="<img src=x onerror=alert(1)>")
    html = web(admin).get(f"/tickets/{ticket.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_replying_with_htmx_answers_the_page_and_records_the_reply(web, admin, ada):
    ticket = _ticket(admin, contact=ada.pk)
    resp = web(admin).post(f"/tickets/{ticket.pk}/reply/", {"body": "We are on it.", "then": "pending"}, headers=HTMX)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'id="ticket"' in html and "Reply sent." in html and "We are on it." in html
    reply = TicketMessage.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    assert reply.body == "We are on it." and reply.author_id == admin.user_id
    assert Ticket.objects.get(pk=ticket.pk).status == "pending"


def test_a_note_without_script_redirects_back_to_the_ticket(web, admin):
    ticket = _ticket(admin)
    resp = web(admin).post(f"/tickets/{ticket.pk}/note/", {"body": "Call them tomorrow"})
    assert resp.status_code == 302 and resp["Location"] == f"/tickets/{ticket.pk}/"
    note = TicketMessage.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert note.body == "Call them tomorrow" and note.send_status == ""


def test_picking_a_canned_reply_fills_the_composer_and_send_applies_it(web, admin, org, ada):
    canned = CannedReply.objects.create(
        org=org,
        name="Solved it",
        body="Hello {{ contact.first_name }}, ticket {{ ticket.number }} is fixed.",
        set_status="solved",
        add_tags=["fixed"],
    )
    ticket = _ticket(admin, contact=ada.pk)
    client = web(admin)
    resp = client.get(f"/tickets/{ticket.pk}/composer/?canned={canned.pk}", headers=HTMX)
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="composer"' in html and "<main" not in html
    assert f"Hello Ada, ticket {ticket.number} is fixed." in html
    assert "Send and apply" in html and "sets the status to solved" in html
    body = f"Hello Ada, ticket {ticket.number} is fixed. Cheers!"
    resp = client.post(f"/tickets/{ticket.pk}/reply/", {"body": body, "canned": canned.pk}, headers=HTMX)
    assert resp.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "solved" and ticket.tags == ["fixed"]
    assert TicketMessage.objects.get(ticket=ticket, kind=MessageKind.REPLY).body == body
    assert CannedReply.objects.get(pk=canned.pk).usage_count == 1


def test_without_script_use_opens_the_page_with_the_canned_reply(web, admin, org):
    canned = CannedReply.objects.create(org=org, name="Thanks", body="Thanks for writing.")
    ticket = _ticket(admin)
    client = web(admin)
    resp = client.get(f"/tickets/{ticket.pk}/composer/?canned={canned.pk}")
    assert resp.status_code == 302 and f"canned={canned.pk}" in resp["Location"]
    html = client.get(f"/tickets/{ticket.pk}/?canned={canned.pk}").content.decode()
    assert "Thanks for writing." in html


def test_someone_elses_personal_canned_reply_is_not_offered_or_applied(web, admin, org, member_of):
    colleague = member_of(Role.SUPPORT)
    theirs = CannedReply.objects.create(org=org, name="Mine only", body="Secret text", owner=colleague.user)
    ticket = _ticket(admin)
    client = web(admin)
    assert "Mine only" not in client.get(f"/tickets/{ticket.pk}/").content.decode()
    html = client.get(f"/tickets/{ticket.pk}/composer/?canned={theirs.pk}", headers=HTMX).content.decode()
    assert "Secret text" not in html


def test_status_buttons_solve_and_a_stale_version_changes_nothing(web, admin):
    ticket = _ticket(admin)
    client = web(admin)
    version = Ticket.objects.get(pk=ticket.pk).version
    resp = client.post(f"/tickets/{ticket.pk}/status/", {"status": "solved", "version": version}, headers=HTMX)
    assert resp.status_code == 200 and "is now solved" in resp.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"
    before = _state()
    resp = client.post(f"/tickets/{ticket.pk}/status/", {"status": "open", "version": version}, headers=HTMX)
    assert resp.status_code == 412 and "Someone else changed this ticket" in resp.content.decode()
    assert _state() == before


def test_assignment_properties_and_links_are_saved(web, admin, org, member_of):
    agent = member_of(Role.SUPPORT)
    queue = Queue.objects.create(org=org, name="Tier 2")
    ticket = _ticket(admin)
    other = _ticket(admin, "Same thing")
    client = web(admin)
    assert (
        client.post(f"/tickets/{ticket.pk}/assign/", {"assignee": agent.user_id, "queue": queue.pk}).status_code == 302
    )
    props = {"priority": "high", "type": "incident", "tags": "vip, billing,vip"}
    assert client.post(f"/tickets/{ticket.pk}/properties/", props).status_code == 302
    link = {"kind": "duplicate_of", "number": other.number}
    assert client.post(f"/tickets/{ticket.pk}/links/", link).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.owner_id, ticket.queue_id) == (agent.user_id, queue.pk)
    assert (ticket.priority, ticket.type, ticket.tags) == ("high", "incident", ["vip", "billing"])
    assert TicketLink.objects.get(ticket=ticket).other_id == other.pk
    html = client.get(f"/tickets/{other.pk}/").content.decode()
    assert "Duplicated by" in html and f"#{ticket.number}" in html
    assert client.post(f"/tickets/{other.pk}/links/{ticket.pk}/delete/").status_code == 302
    assert not TicketLink.objects.exists()


def test_bad_input_shows_form_errors_and_changes_nothing(web, admin, other_admin):
    ticket = _ticket(admin)
    _ticket(other_admin, "Theirs first")
    theirs = _ticket(other_admin, "Theirs")  # numbered 1002: no ticket of this workspace has it
    client = web(admin)
    before = _state()
    resp = client.post(f"/tickets/{ticket.pk}/reply/", {"body": "   "}, headers=HTMX)
    assert resp.status_code == 400 and "This field is required." in resp.content.decode()
    assert client.post(f"/tickets/{ticket.pk}/note/", {}).status_code == 400
    assert client.post(f"/tickets/{ticket.pk}/status/", {"status": "bogus"}).status_code == 400
    assert client.post(f"/tickets/{ticket.pk}/properties/", {"priority": "whenever", "type": "task"}).status_code == 400
    assert client.post(f"/tickets/{ticket.pk}/assign/", {"assignee": "999999"}).status_code == 400
    resp = client.post(f"/tickets/{ticket.pk}/links/", {"kind": "related", "number": theirs.number})
    assert resp.status_code == 422 and "No ticket has this number." in resp.content.decode()
    assert client.post(f"/tickets/{ticket.pk}/links/", {"kind": "related", "number": ticket.number}).status_code == 422
    assert client.post(f"/tickets/{ticket.pk}/links/", {"kind": "x", "number": "abc"}).status_code == 400
    assert client.post(f"/tickets/{ticket.pk}/links/999999/delete/").status_code == 404
    assert client.get(f"/tickets/{ticket.pk}/?canned=abc").status_code == 200
    assert _state() == before


def test_a_closed_ticket_refuses_a_reply_with_409(web, admin):
    ticket = _ticket(admin)
    ticket_set_status(actor=admin, ticket=ticket, status="closed")
    before = _state()
    resp = web(admin).post(f"/tickets/{ticket.pk}/reply/", {"body": "Hello?"}, headers=HTMX)
    assert resp.status_code == 409 and "closed" in resp.content.decode()
    assert _state() == before


def test_a_closed_ticket_page_offers_only_notes_and_links(web, admin):
    ticket = _ticket(admin)
    ticket_set_status(actor=admin, ticket=ticket, status="closed")
    html = web(admin).get(f"/tickets/{ticket.pk}/").content.decode()
    assert "This ticket is closed" in html
    assert f'action="/tickets/{ticket.pk}/status/"' not in html  # no status buttons
    assert f'action="/tickets/{ticket.pk}/assign/"' not in html
    assert 'id="kind-reply"' not in html and "Send reply" not in html
    assert "Add internal note" in html
    resp = web(admin).post(f"/tickets/{ticket.pk}/note/", {"body": "Archived by policy."})
    assert resp.status_code == 302
    assert ticket.messages.filter(kind=MessageKind.NOTE, body="Archived by policy.").exists()


# --- permissions, other workspaces, CSRF --------------------------------------------------------------


def test_a_viewer_reads_the_ticket_but_cannot_answer_or_change_it(web, admin, member_of):
    viewer = member_of(Role.VIEWER)
    ticket = _ticket(admin)
    client = web(viewer)
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Cannot log in" in html and "You can read this ticket" in html
    assert 'name="body"' not in html and "/status/" not in html
    assert "New ticket" not in client.get("/tickets/").content.decode()
    before = _state()
    for path, data in (
        ("reply/", {"body": "Hi"}),
        ("note/", {"body": "Hi"}),
        ("status/", {"status": "solved"}),
        ("assign/", {"assignee": ""}),
        ("properties/", {"priority": "low", "type": "task"}),
        ("links/", {"kind": "related", "number": ticket.number}),
        ("delete/", {}),
    ):
        assert client.post(f"/tickets/{ticket.pk}/{path}", data).status_code == 403, path
    assert client.get(f"/tickets/{ticket.pk}/composer/", headers=HTMX).status_code == 403
    assert client.get("/tickets/new/").status_code == 403
    assert client.post("/tickets/new/", {"subject": "x", "requester_email": "a@example.org"}).status_code == 403
    assert client.post("/tickets/bulk/", {"ids": [ticket.pk], "status": "solved"}).status_code == 403
    assert _state() == before


def test_marketing_members_get_403_on_the_list_and_404_on_a_ticket(web, admin, member_of):
    marketer = member_of(Role.MARKETING)
    ticket = _ticket(admin)
    client = web(marketer)
    assert client.get("/tickets/").status_code == 403
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 404
    before = _state()
    assert client.post(f"/tickets/{ticket.pk}/reply/", {"body": "Hi"}).status_code == 404
    assert _state() == before


def test_another_workspaces_ticket_is_404_everywhere_and_nothing_changes(web, admin, other_admin):
    theirs = _ticket(other_admin, "Theirs")
    mine = _ticket(admin)
    client = web(admin)
    before = _state()
    assert client.get(f"/tickets/{theirs.pk}/").status_code == 404
    assert client.get(f"/tickets/{theirs.pk}/composer/", headers=HTMX).status_code == 404
    for path, data in (
        ("reply/", {"body": "Hi"}),
        ("note/", {"body": "Hi"}),
        ("status/", {"status": "solved"}),
        ("assign/", {"assignee": ""}),
        ("properties/", {"priority": "low", "type": "task"}),
        ("links/", {"kind": "related", "number": mine.number}),
        (f"links/{mine.pk}/delete/", {}),
        ("delete/", {}),
    ):
        assert client.post(f"/tickets/{theirs.pk}/{path}", data).status_code == 404, path
    assert client.post(f"/tickets/{mine.pk}/links/{theirs.pk}/delete/").status_code == 404
    assert "Theirs" not in client.get("/tickets/?status=all").content.decode()
    assert _state() == before


def test_writes_need_the_csrf_token(admin):
    ticket = _ticket(admin)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    before = _state()
    assert client.post(f"/tickets/{ticket.pk}/reply/", {"body": "Hi"}).status_code == 403
    assert client.post(f"/tickets/{ticket.pk}/status/", {"status": "solved"}).status_code == 403
    assert client.post("/tickets/new/", {"subject": "x", "requester_email": "a@example.org"}).status_code == 403
    assert _state() == before


# --- new ticket and delete ----------------------------------------------------------------------------


def test_a_new_ticket_for_a_picked_contact_opens_its_page(web, admin, ada):
    client = web(admin)
    html = client.get(f"/tickets/new/?contact={ada.pk}").content.decode()
    assert f"Ada Lovelace (#{ada.pk})" in html
    data = {"subject": "Phone: printer on fire", "contact": f"Ada Lovelace (#{ada.pk})", "description": "Smoke!"}
    data |= {"channel": "phone", "priority": "urgent", "type": "incident", "tags": "hardware"}
    resp = client.post("/tickets/new/", data)
    ticket = Ticket.objects.get(subject="Phone: printer on fire")
    assert resp.status_code == 302 and resp["Location"] == f"/tickets/{ticket.pk}/"
    assert (ticket.contact_id, ticket.company_id, ticket.channel) == (ada.pk, ada.company_id, "phone")
    assert (ticket.priority, ticket.tags) == ("urgent", ["hardware"])
    assert TicketMessage.objects.get(ticket=ticket).body == "Smoke!"


def test_a_new_ticket_by_email_creates_the_requester(web, admin):
    data = {"subject": "Hello", "requester_email": "new@example.org", "requester_name": "Nina New"}
    data |= {"channel": "email", "priority": "normal", "type": "question"}
    assert web(admin).post("/tickets/new/", data).status_code == 302
    ticket = Ticket.objects.get(subject="Hello")
    assert ticket.contact is not None and ticket.contact.email == "new@example.org"


def test_the_new_ticket_form_reports_bad_input(web, admin):
    client = web(admin)
    base = {"channel": "phone", "priority": "normal", "type": "question"}
    before = _state()
    resp = client.post("/tickets/new/", {**base, "requester_email": "a@example.org"})
    assert resp.status_code == 400 and "This field is required." in resp.content.decode()
    resp = client.post("/tickets/new/", {**base, "subject": "x", "contact": "Nobody Known"})
    assert resp.status_code == 422 and "No contact is called" in resp.content.decode()
    resp = client.post("/tickets/new/", {**base, "subject": "x"})
    assert resp.status_code == 422 and "Pick the requester" in resp.content.decode()
    assert client.post("/tickets/new/", {**base, "subject": "x", "requester_email": "nope"}).status_code == 400
    assert _state() == before


def test_deleting_a_ticket_asks_first_then_removes_it_from_the_list(web, admin):
    ticket = _ticket(admin)
    client = web(admin)
    assert "Delete ticket" in client.get(f"/tickets/{ticket.pk}/delete/").content.decode()
    assert client.post(f"/tickets/{ticket.pk}/delete/").status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).deleted_at is not None
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 404
    assert "Cannot log in" not in client.get("/tickets/?status=all").content.decode()
