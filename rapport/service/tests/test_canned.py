"""Canned replies: merge-field rendering and its defaults, validation when saved, applying a reply
(the reply, status, priority and tags in one transaction), personal vs shared permissions, and
other workspaces."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.models import User
from rapport.accounts.roles import Role
from rapport.contacts import services as contact_services
from rapport.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.service import canned_services as canned
from rapport.service import ticket_services
from rapport.service.models import CannedReply, MessageKind, Ticket, TicketMessage
from rapport.service.tests.ticket_support import fields_of, new_ticket

GREETING = 'Hi {{ contact.first_name|default:"there" }},\n\nTicket #{{ ticket.number }} ({{ ticket.subject }}) '
GREETING += "for {{ company.name }} is done.\n\n{{ agent.name }} ({{ agent.first_name }})"


@pytest.fixture
def admin_named(admin: Principal) -> Principal:
    User.objects.filter(pk=admin.user_id).update(name="Grace Hopper")
    admin.user.refresh_from_db()
    return admin


@pytest.fixture
def ticket(admin_named: Principal) -> Ticket:
    company = contact_services.company_create(actor=admin_named, data={"name": "Analytical Engines"})
    contact = contact_services.contact_create(
        actor=admin_named,
        data={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company_id": company.pk,
            "emails": [{"email": "ada@example.org"}],
        },
    )
    return new_ticket(admin_named, "Cannot log in", contact_id=contact.pk, tags=["vip"])


def reply(actor: Principal, body: str = GREETING, **data: Any) -> CannedReply:
    return canned.canned_reply_create(actor=actor, data={"name": data.pop("name", "Done"), "body": body, **data})


# --- rendering ------------------------------------------------------------------------------------


def test_render_fills_contact_company_ticket_and_agent_fields(admin_named, ticket):
    text = canned.canned_reply_render(reply=reply(admin_named), ticket=ticket, agent=admin_named)
    assert text == (
        f"Hi Ada,\n\nTicket #{ticket.number} (Cannot log in) for Analytical Engines is done.\n\nGrace Hopper (Grace)"
    )


def test_a_missing_value_takes_its_default_and_others_print_nothing(admin_named):
    bare = new_ticket(admin_named, "No requester", requester_email="")
    assert bare.contact_id is None
    text = canned.canned_reply_render(reply=reply(admin_named), ticket=bare, agent=admin_named)
    assert text.startswith("Hi there,") and " for  is done." in text


def test_merge_values_are_not_template_code(admin_named, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(subject="{{ agent.email }} {% if 1 %}x{% endif %}")
    ticket.refresh_from_db()
    text = canned.canned_reply_render(
        reply=reply(admin_named, "{{ ticket.subject }}"), ticket=ticket, agent=admin_named
    )
    assert text == "{{ agent.email }} {% if 1 %}x{% endif %}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hi {{ contact.first_name|shout }}", "not allowed"),
        ("Hi {{ contact.shoe_size }}", "not a merge field"),
        ("Hi {{ ticket.owner.password }}", "not a merge field"),
        ("{% load static %}", "not allowed"),
        ("{{ contact.first_name|safe }}", "not allowed"),
        ("{% if contact.first_name %}no end", "endif"),
        ("   ", "required"),
    ],
)
def test_a_body_that_cannot_render_is_refused_when_saved(admin, body, message):
    with pytest.raises(ValidationFailed) as exc:
        reply(admin, body)
    assert "body" in exc.value.fields and message.lower() in exc.value.fields["body"].lower()
    assert not CannedReply.objects.exists()


def test_an_update_is_validated_the_same_way(admin):
    saved = reply(admin, "Hello")
    with pytest.raises(ValidationFailed) as exc:
        canned.canned_reply_update(actor=admin, reply=saved, data={"body": "{{ nope }}", "set_status": "gone"})
    assert set(exc.value.fields) == {"body", "set_status"}
    saved.refresh_from_db()
    assert (saved.body, saved.version) == ("Hello", 1)


def test_bad_actions_and_unknown_fields_are_named(admin):
    with pytest.raises(ValidationFailed) as exc:
        reply(admin, set_priority="extreme", add_tags=[1], shared="yes", colour="red")
    assert set(exc.value.fields) == {"set_priority", "add_tags", "shared", "colour"}


# --- applying ---------------------------------------------------------------------------------------


def test_apply_posts_the_rendered_reply_and_sets_status_priority_and_tags(admin_named, ticket):
    macro = reply(admin_named, set_status="solved", set_priority="high", add_tags=["Billing", "VIP", "billing"])
    message = canned.canned_reply_apply(actor=admin_named, ticket=ticket, reply=macro)
    assert message.kind == MessageKind.REPLY and message.body.startswith("Hi Ada,")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.tags) == ("solved", "high", ["vip", "Billing"])
    assert ticket.first_responded_at is not None
    macro.refresh_from_db()
    assert macro.usage_count == 1
    verbs = set(Event.objects.filter(org_id=admin_named.org_id).values_list("verb", flat=True))
    assert {"ticket.replied", "ticket.updated", "ticket.status_changed", "canned_reply.applied"} <= verbs


def test_apply_with_an_edited_body_sends_the_edit(admin_named, ticket):
    macro = reply(admin_named)
    message = canned.canned_reply_apply(actor=admin_named, ticket=ticket, reply=macro, body="Edited by hand.")
    assert message.body == "Edited by hand."
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 1


def test_a_reply_without_actions_only_answers(admin_named, ticket):
    canned.canned_reply_apply(actor=admin_named, ticket=ticket, reply=reply(admin_named, "Thanks!"))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.tags) == ("open", "normal", ["vip"])


def test_a_failing_reply_leaves_priority_tags_and_count_as_they_were(admin_named):
    bare = new_ticket(admin_named, "No requester", requester_email="")
    macro = reply(admin_named, "{{ contact.first_name }}", set_priority="urgent", add_tags=["x"], set_status="solved")
    before = fields_of(bare)
    with pytest.raises(ValidationFailed):  # renders empty: a reply needs a body
        canned.canned_reply_apply(actor=admin_named, ticket=bare, reply=macro)
    assert fields_of(bare) == before
    assert not TicketMessage.objects.filter(ticket=bare, kind=MessageKind.REPLY).exists()
    macro.refresh_from_db()
    assert macro.usage_count == 0


def test_a_closed_ticket_takes_no_canned_reply(admin_named, ticket):
    ticket = ticket_services.ticket_set_status(actor=admin_named, ticket=ticket, status="closed")
    macro = reply(admin_named, set_priority="urgent")
    with pytest.raises(Conflict):
        canned.canned_reply_apply(actor=admin_named, ticket=ticket, reply=macro)
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def test_a_member_who_may_only_read_tickets_cannot_apply(admin_named, ticket, member_of):
    macro = reply(admin_named, shared=True)
    seller = member_of(Role.SALES)
    before = fields_of(ticket)
    with pytest.raises(PermissionDenied):
        canned.canned_reply_apply(actor=seller, ticket=ticket, reply=macro)
    assert fields_of(ticket) == before and ticket.messages.filter(kind=MessageKind.REPLY).count() == 0


# --- personal and shared ----------------------------------------------------------------------------


def test_any_ticket_writer_keeps_personal_replies_that_only_they_see(admin, member_of):
    agent, colleague = member_of(Role.SUPPORT), member_of(Role.SUPPORT)
    mine = reply(agent, "Mine", name="Mine")
    shared = reply(admin, "For all", name="Shared", shared=True)
    assert (mine.owner_id, shared.owner_id) == (agent.user_id, None)
    assert [r.name for r in canned.canned_reply_list(actor=agent)] == ["Mine", "Shared"]
    assert [r.name for r in canned.canned_reply_list(actor=colleague)] == ["Shared"]
    assert [r.name for r in canned.canned_reply_list(actor=admin)] == ["Shared"]  # not even admins see personal ones
    with pytest.raises(NotFound):
        canned.canned_reply_get(actor=colleague, reply_id=mine.pk)
    with pytest.raises(NotFound):
        canned.canned_reply_update(actor=colleague, reply=mine, data={"name": "Taken"})


def test_shared_replies_need_manage_settings(admin, member_of):
    agent = member_of(Role.SUPPORT)
    with pytest.raises(PermissionDenied):
        reply(agent, shared=True)
    shared = reply(admin, shared=True)
    with pytest.raises(PermissionDenied):
        canned.canned_reply_update(actor=agent, reply=shared, data={"body": "Changed"})
    with pytest.raises(PermissionDenied):
        canned.canned_reply_delete(actor=agent, reply=shared)
    mine = reply(agent, name="Mine")
    with pytest.raises(PermissionDenied):  # making one's own reply shared is sharing too
        canned.canned_reply_update(actor=agent, reply=mine, data={"shared": True})
    shared.refresh_from_db()
    mine.refresh_from_db()
    assert (shared.body, shared.deleted_at, mine.owner_id) == (GREETING, None, agent.user_id)
    assert canned.canned_reply_update(actor=admin, reply=shared, data={"body": "Changed"}).body == "Changed"


def test_members_who_cannot_write_tickets_cannot_create_and_marketing_cannot_read(member_of):
    with pytest.raises(PermissionDenied):
        reply(member_of(Role.VIEWER))
    with pytest.raises(PermissionDenied):
        reply(member_of(Role.SALES))
    with pytest.raises(PermissionDenied):
        canned.canned_reply_list(actor=member_of(Role.MARKETING))


def test_delete_hides_the_reply_and_records_an_event(admin):
    saved = reply(admin)
    canned.canned_reply_delete(actor=admin, reply=saved)
    assert not canned.canned_reply_list(actor=admin).exists()
    with pytest.raises(NotFound):
        canned.canned_reply_get(actor=admin, reply_id=saved.pk)
    assert Event.objects.filter(verb="canned_reply.deleted", subject_id=saved.pk).exists()


def test_an_update_refuses_a_stale_version(admin):
    from rapport.core.errors import StaleVersion

    saved = reply(admin)
    canned.canned_reply_update(actor=admin, reply=saved, data={"name": "New"}, expected_version=1)
    with pytest.raises(StaleVersion):
        canned.canned_reply_update(actor=admin, reply=saved, data={"name": "Newer"}, expected_version=1)


# --- other workspaces ---------------------------------------------------------------------------------


def test_another_workspace_reaches_neither_replies_nor_tickets(admin_named, ticket, other_admin):
    macro = reply(admin_named, shared=True)
    theirs = reply(other_admin, "Theirs", shared=True)
    before = fields_of(ticket)
    with pytest.raises(NotFound):
        canned.canned_reply_get(actor=other_admin, reply_id=macro.pk)
    with pytest.raises((NotFound, PermissionDenied)):
        canned.canned_reply_apply(actor=other_admin, ticket=ticket, reply=theirs)
    with pytest.raises(NotFound):
        canned.canned_reply_apply(actor=admin_named, ticket=ticket, reply=theirs)
    with pytest.raises(NotFound):
        canned.canned_reply_update(actor=other_admin, reply=macro, data={"name": "Taken"})
    with pytest.raises(NotFound):
        canned.canned_reply_render(reply=theirs, ticket=ticket, agent=admin_named)
    assert fields_of(ticket) == before
    assert [r.name for r in canned.canned_reply_list(actor=other_admin)] == ["Done"]
    theirs.refresh_from_db()
    macro.refresh_from_db()
    assert (theirs.usage_count, macro.name) == (0, "Done")
