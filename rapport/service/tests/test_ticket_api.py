"""The tickets API: its conventions (ETag / If-Match, Idempotency-Key, cursor pages, one error
shape, never a 500), its filters and their query counts, permissions and workspace isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.accounts.models import Team
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.service.models import Ticket, TicketLink, TicketMessage
from rapport.service.tests.ticket_support import fields_of, in_team, make_queue, new_ticket

URL = "/api/v1/tickets"


def _ids(resp):
    assert resp.status_code == 200, resp.content[:300]
    return [item["id"] for item in resp.json()["items"]]


def test_a_chat_system_creates_a_ticket_once_per_idempotency_key(api, admin):
    client = api(admin)
    body = {
        "subject": "Chat: cannot log in",
        "requester_email": "ada@example.org",
        "description": "Hi",
        "priority": "high",
    }
    first = client.post(URL, body, **{"Idempotency-Key": "chat-42"})
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["number"], data["channel"], data["priority"], data["status"]) == (1001, "api", "high", "new")
    assert data["contact"]["name"] == "ada@example.org" and first["ETag"] == '"v1"'
    again = client.post(URL, body, **{"Idempotency-Key": "chat-42"})
    assert again.status_code == 201 and again.json()["id"] == data["id"] and again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1
    phone = client.post(URL, {"subject": "Phone", "channel": "phone"})
    assert phone.status_code == 201 and phone.json()["channel"] == "phone"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "subject"),
        ({"subject": "x" * 251}, "subject"),
        ({"subject": "Hi", "priority": "asap"}, "priority"),
        ({"subject": "Hi", "status": 3}, "status"),
        ({"subject": "Hi", "requester_email": "nope"}, "requester_email"),
        ({"subject": "Hi", "contact_id": 0}, "contact_id"),
        ({"subject": "Hi", "contact_id": 99999}, "contact_id"),
        ({"subject": "Hi", "queue_id": 2**70}, "queue_id"),
        ({"subject": "Hi", "assignee_id": 424242}, "assignee_id"),
        ({"subject": "Hi", "tags": ["ok", "x" * 51]}, "tags.1"),
        ({"subject": "Hi", "tags": "vip"}, "tags"),
        ({"subject": "Hi", "custom": {"nope": 1}}, "custom.nope"),
        ({"subject": "Hi", "channel": "fax"}, "channel"),
        ({"subject": "Hi", "owner": 1}, "owner"),
        ({"subject": ["Hi"]}, "subject"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, admin, body, field):
    resp = api(admin).post(URL, body)
    assert resp.status_code == 422, resp.content[:300]
    assert field in resp.json()["error"]["fields"]
    assert not Ticket.objects.exists()


def test_a_patch_needs_the_current_etag_and_a_stale_one_changes_nothing(api, admin):
    client = api(admin)
    ticket = new_ticket(admin)
    got = client.get(f"{URL}/{ticket.pk}")
    assert got.status_code == 200 and got["ETag"] == '"v1"'
    assert client.patch(f"{URL}/{ticket.pk}", {"priority": "urgent"}).status_code == 428
    ok = client.patch(f"{URL}/{ticket.pk}", {"priority": "urgent", "subject": "Fire!"}, **{"If-Match": '"v1"'})
    assert ok.status_code == 200 and ok["ETag"] == '"v2"' and ok.json()["subject"] == "Fire!"
    before = fields_of(ticket)
    stale = client.patch(f"{URL}/{ticket.pk}", {"priority": "low"}, **{"If-Match": '"v1"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "stale_version"
    assert fields_of(ticket) == before
    assert client.post(f"{URL}/{ticket.pk}/status", {"status": "pending"}, **{"If-Match": '"v1"'}).status_code == 412
    assert fields_of(ticket) == before


def test_the_conversation_endpoints(api, admin):
    client = api(admin)
    ticket = new_ticket(admin)
    reply = client.post(f"{URL}/{ticket.pk}/replies", {"body": "Try turning it off", "status": "pending"})
    assert (
        reply.status_code == 201 and reply.json()["kind"] == "reply" and reply.json()["email_to"] == ["ada@example.org"]
    )
    note = client.post(f"{URL}/{ticket.pk}/notes", {"body": "Probably the fuser"}, **{"Idempotency-Key": "n1"})
    assert note.status_code == 201 and note.json()["author"]["id"] == admin.user_id
    assert (
        client.post(f"{URL}/{ticket.pk}/notes", {"body": "Probably the fuser"}, **{"Idempotency-Key": "n1"}).json()[
            "id"
        ]
        == note.json()["id"]
    )
    thread = client.get(f"{URL}/{ticket.pk}/messages").json()["items"]
    assert [m["kind"] for m in thread] == ["customer", "reply", "note"]
    public = client.get(f"{URL}/{ticket.pk}/messages?notes=false").json()["items"]
    assert [m["kind"] for m in public] == ["customer", "reply"]
    status = client.post(f"{URL}/{ticket.pk}/status", {"status": "solved"})
    assert status.status_code == 200 and status.json()["status"] == "solved" and status.json()["solved_at"]
    assert client.post(f"{URL}/{ticket.pk}/replies", {"body": ""}).status_code == 422
    assert client.post(f"{URL}/{ticket.pk}/status", {"status": "archived"}).status_code == 422


def test_assign_and_link_endpoints(api, admin, org):
    client = api(admin)
    team = Team.objects.create(org=org, name="T")
    agent = in_team(org, Role.SUPPORT, team)
    queue = make_queue(org, "Q", team=team)
    one, two = new_ticket(admin), new_ticket(admin, "Dup")
    assigned = client.post(f"{URL}/{one.pk}/assign", {"assignee_id": agent.user_id, "queue_id": queue.pk})
    assert assigned.status_code == 200
    assert (assigned.json()["assignee"]["id"], assigned.json()["queue"]["id"], assigned.json()["team"]["id"]) == (
        agent.user_id, queue.pk, team.pk
    )  # fmt: skip
    kept = client.post(f"{URL}/{one.pk}/assign", {"assignee_id": None})
    assert kept.json()["assignee"] is None and kept.json()["queue"]["id"] == queue.pk
    linked = client.post(f"{URL}/{two.pk}/links", {"other_id": one.pk, "kind": "duplicate_of"})
    assert linked.status_code == 201 and linked.json() == [
        {"kind": "duplicate_of", "ticket": {"id": one.pk, "name": "#1001 Printer on fire"}}
    ]
    assert client.get(f"{URL}/{one.pk}/links").json() == [
        {"kind": "duplicate_of_by", "ticket": {"id": two.pk, "name": "#1002 Dup"}}
    ]
    assert client.post(f"{URL}/{two.pk}/links", {"other_id": 987654}).status_code == 422
    assert client.delete(f"{URL}/{two.pk}/links?other_id={one.pk}").status_code == 204
    assert client.delete(f"{URL}/{two.pk}/links?other_id={one.pk}").status_code == 404
    assert client.delete(f"{URL}/{two.pk}").status_code == 204
    assert client.get(f"{URL}/{two.pk}").status_code == 404


def test_list_filters(api, admin, org):
    client = api(admin)
    queue = make_queue(org, "Billing")
    a = new_ticket(
        admin, "Invoice is wrong", queue_id=queue.pk, assignee_id=admin.user_id, tags=["billing"], priority="high"
    )
    b = new_ticket(admin, "Password reset", requester_email="bob@example.org", type="incident", channel="email")
    c = new_ticket(admin, "Feature request", status="solved")
    Ticket.objects.filter(pk=b.pk).update(first_response_due_at=timezone.now() - timedelta(hours=1))
    assert _ids(client.get(URL)) == [c.pk, b.pk, a.pk]
    assert _ids(client.get(f"{URL}?sort=created")) == [a.pk, b.pk, c.pk]
    assert _ids(client.get(f"{URL}?status=unsolved")) == [b.pk, a.pk]
    assert _ids(client.get(f"{URL}?status=solved")) == [c.pk]
    assert _ids(client.get(f"{URL}?priority=high")) == [a.pk]
    assert _ids(client.get(f"{URL}?type=incident")) == [b.pk]
    assert _ids(client.get(f"{URL}?channel=email")) == [b.pk]
    assert _ids(client.get(f"{URL}?queue_id={queue.pk}")) == [a.pk]
    assert _ids(client.get(f"{URL}?assignee=me")) == [a.pk]
    assert _ids(client.get(f"{URL}?assignee={admin.user_id}")) == [a.pk]
    assert _ids(client.get(f"{URL}?assignee=none")) == [c.pk, b.pk]
    assert _ids(client.get(f"{URL}?tag=billing")) == [a.pk]
    assert _ids(client.get(f"{URL}?contact_id={b.contact_id}")) == [b.pk]
    assert _ids(client.get(f"{URL}?sla_breached=true")) == [b.pk]
    assert _ids(client.get(f"{URL}?q=invoice")) == [a.pk]
    assert _ids(client.get(f"{URL}?q=%231002")) == [b.pk]
    assert _ids(client.get(f"{URL}?q=1003")) == [c.pk]
    assert _ids(client.get(f"{URL}?q=bob@example.org")) == [b.pk]
    page = client.get(f"{URL}?limit=2").json()
    assert len(page["items"]) == 2 and _ids(client.get(f"{URL}?limit=2&cursor={page['next_cursor']}")) == [a.pk]
    for bad in ("status=archived", "assignee=someone", "sort=colour", "cursor=zzz", "limit=0", "priority=asap"):
        resp = client.get(f"{URL}?{bad}")
        assert resp.status_code == 422, (bad, resp.content[:200])


def test_a_list_page_costs_the_same_few_queries_whatever_its_size(api, admin, org, django_assert_max_num_queries):
    client = api(admin)
    team = Team.objects.create(org=org, name="T")
    queue = make_queue(org, "Q", team=team)
    for i in range(3):
        new_ticket(admin, f"T{i}", queue_id=queue.pk, assignee_id=admin.user_id)
    with django_assert_max_num_queries(6) as small:
        assert len(_ids(client.get(URL))) == 3
    for i in range(12):
        new_ticket(
            admin, f"More {i}", queue_id=queue.pk, assignee_id=admin.user_id, requester_email=f"p{i}@example.org"
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(_ids(client.get(URL))) == 15


def test_viewers_read_but_do_not_write_and_marketing_sees_no_ticket(api, admin, member_of):
    ticket = new_ticket(admin)
    before = fields_of(ticket)
    viewer = api(member_of(Role.VIEWER))
    assert viewer.get(f"{URL}/{ticket.pk}").status_code == 200
    assert viewer.post(URL, {"subject": "Mine"}).status_code == 403
    for method, path, body in (
        ("patch", f"{URL}/{ticket.pk}", {"subject": "x"}),
        ("post", f"{URL}/{ticket.pk}/replies", {"body": "x"}),
        ("post", f"{URL}/{ticket.pk}/notes", {"body": "x"}),
        ("post", f"{URL}/{ticket.pk}/status", {"status": "solved"}),
        ("post", f"{URL}/{ticket.pk}/assign", {"assignee_id": None}),
        ("delete", f"{URL}/{ticket.pk}", None),
    ):
        resp = getattr(viewer, method)(path, body, **{"If-Match": '"v1"'}) if body else viewer.delete(path)
        assert resp.status_code == 403, (method, path, resp.status_code)
    marketing = api(member_of(Role.MARKETING))
    assert marketing.get(f"{URL}/{ticket.pk}").status_code == 404
    assert _ids(marketing.get(URL)) == []
    assert fields_of(ticket) == before and TicketMessage.objects.count() == 1


def test_support_agents_write_their_teams_tickets_through_the_api(api, admin, org):
    team = Team.objects.create(org=org, name="Support")
    agent = in_team(org, Role.SUPPORT, team)
    mine = new_ticket(admin, queue_id=make_queue(org, "Ours", team=team).pk)
    theirs = new_ticket(admin)
    client = api(agent)
    assert client.post(f"{URL}/{mine.pk}/replies", {"body": "Hello"}).status_code == 201
    before = fields_of(theirs)
    assert client.post(f"{URL}/{theirs.pk}/replies", {"body": "Hello"}).status_code == 403
    assert fields_of(theirs) == before


# Every ticket endpoint that takes an id, with what a hostile request would send.
ENDPOINTS = [
    ("get", "/api/v1/tickets/{id}", None),
    ("patch", "/api/v1/tickets/{id}", {"subject": "Taken over"}),
    ("delete", "/api/v1/tickets/{id}", None),
    ("get", "/api/v1/tickets/{id}/messages", None),
    ("post", "/api/v1/tickets/{id}/replies", {"body": "Taken over"}),
    ("post", "/api/v1/tickets/{id}/notes", {"body": "Taken over"}),
    ("post", "/api/v1/tickets/{id}/status", {"status": "closed"}),
    ("post", "/api/v1/tickets/{id}/assign", {"assignee_id": None, "queue_id": None}),
    ("get", "/api/v1/tickets/{id}/links", None),
    ("post", "/api/v1/tickets/{id}/links", {"other_id": 0, "kind": "related"}),
    ("delete", "/api/v1/tickets/{id}/links?other_id={other}", None),
]


def test_every_ticket_endpoint_answers_404_for_another_workspace(api, admin, other_admin):
    mine = new_ticket(admin)
    theirs, theirs_too = new_ticket(other_admin), new_ticket(other_admin, "Other")
    TicketLink.objects.create(org=theirs.org, ticket=theirs, other=theirs_too, kind="related")
    client = api(admin)
    before = (fields_of(theirs), fields_of(theirs_too), TicketMessage.objects.count(), Event.objects.count())
    for method, template, body in ENDPOINTS:
        url = template.format(id=theirs.pk, other=theirs_too.pk)
        if body and "other_id" in body:
            body = {**body, "other_id": mine.pk}
        resp = getattr(client, method)(url, body, **{"If-Match": '"v1"'}) if body else getattr(client, method)(url)
        assert resp.status_code == 404, (method, template, resp.status_code)
        assert resp.json()["error"]["code"] == "not_found"
    after = (fields_of(theirs), fields_of(theirs_too), TicketMessage.objects.count(), Event.objects.count())
    assert after == before and TicketLink.objects.count() == 1
    assert theirs.pk not in _ids(client.get(URL))
    # A ticket of B named as the other end of a link from A's ticket: unknown.
    assert client.post(f"{URL}/{mine.pk}/links", {"other_id": theirs.pk}).status_code == 422
    assert client.delete(f"{URL}/{mine.pk}/links?other_id={theirs.pk}").status_code == 404


def test_the_endpoint_list_covers_every_documented_ticket_path(api):
    from rapport.config.api import api as ninja_api

    documented = {
        (method, path.replace("{ticket_id}", "{id}"))
        for path, ops in ninja_api.get_openapi_schema()["paths"].items()
        if path.startswith("/api/v1/tickets/{ticket_id}") and "canned-replies" not in path
        for method in ops
    }
    assert documented == {(m, t.split("?")[0]) for m, t, _ in ENDPOINTS}
