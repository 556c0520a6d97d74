"""Canned replies over the API: CRUD with ETag / If-Match and Idempotency-Key, validation (422),
preview for a ticket, apply to a ticket, permissions (403, nothing changed) and other workspaces
(404, nothing changed); and the pages."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.service import canned_services as canned
from rapport.service.models import CannedReply, MessageKind, Ticket, TicketMessage
from rapport.service.tests.ticket_support import fields_of, new_ticket

URL = "/api/v1/canned-replies"


def make(actor: Principal, **data: Any) -> CannedReply:
    data = {"name": "Thanks", "body": 'Hi {{ contact.first_name|default:"there" }}, done.', **data}
    return canned.canned_reply_create(actor=actor, data=data)


def state(reply: CannedReply, ticket: Ticket | None = None) -> dict[str, Any]:
    fresh = CannedReply.objects.get(pk=reply.pk)
    snap: dict[str, Any] = {f.attname: getattr(fresh, f.attname) for f in CannedReply._meta.concrete_fields}
    if ticket is not None:
        snap["ticket"] = fields_of(ticket)
        snap["messages"] = list(TicketMessage.objects.filter(ticket=ticket).values_list("pk", flat=True))
    return snap


def test_create_get_update_delete_with_etags(api, admin):
    client = api(admin)
    resp = client.post(URL, {"name": "Solved", "body": "Done, {{ agent.first_name }}.", "set_status": "solved"})
    assert resp.status_code == 201, resp.content
    created = resp.json()
    assert resp["ETag"] == '"v1"' and created["shared"] is False and created["can_edit"] is True
    assert created["owner"]["id"] == admin.user_id
    url = f"{URL}/{created['id']}"
    assert client.get(url)["ETag"] == '"v1"'
    assert client.patch(url, {"name": "X"}).status_code == 428
    resp = client.patch(url, {"add_tags": ["done"], "shared": True}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp["ETag"] == '"v2"'
    assert (resp.json()["add_tags"], resp.json()["shared"], resp.json()["owner"]) == (["done"], True, None)
    assert client.patch(url, {"name": "Y"}, **{"If-Match": '"v1"'}).status_code == 412
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(URL).json()["items"] == []


def test_create_replays_an_idempotency_key(api, admin):
    client = api(admin)
    first = client.post(URL, {"name": "Once", "body": "Hello"}, **{"Idempotency-Key": "k-1"})
    again = client.post(URL, {"name": "Once", "body": "Hello"}, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201) and again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"] and CannedReply.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad", "body": "Hi {{ contact.shoe_size }}"}, "body"),
        ({"name": "Bad", "body": "{% include 'x.html' %}"}, "body"),
        ({"name": "Bad", "body": "ok", "set_status": "archived"}, "set_status"),
        ({"name": "Bad", "body": "ok", "colour": "red"}, "colour"),
        ({"name": "", "body": "ok"}, "name"),
        ({"name": "Bad", "body": "ok", "add_tags": "billing"}, "add_tags"),
    ],
)
def test_bad_input_is_422_and_creates_nothing(api, admin, body, field):
    resp = api(admin).post(URL, body)
    assert resp.status_code == 422, resp.content
    assert field in resp.json()["error"]["fields"]
    assert not CannedReply.objects.exists()


def test_list_shows_shared_and_own_in_a_bounded_number_of_queries(api, admin, member_of, django_assert_max_num_queries):
    agent = member_of(Role.SUPPORT)
    for i in range(5):
        make(admin, name=f"Shared {i}", shared=True)
        make(agent, name=f"Mine {i}")
    make(admin, name="Admin's own")
    client = api(agent)
    with django_assert_max_num_queries(5):  # authentication (token, membership, teams…) + one for the page
        resp = client.get(f"{URL}?limit=50")
    names = [r["name"] for r in resp.json()["items"]]
    assert len(names) == 10 and "Admin's own" not in names
    assert client.get(f"{URL}?q=mine").json()["items"][0]["name"] == "Mine 0"
    assert client.get(f"{URL}?qq=x").status_code == 422
    assert {f["name"] for f in client.get(f"{URL}/fields").json()} >= {
        "contact.first_name",
        "ticket.number",
        "agent.name",
    }


def test_preview_renders_for_a_ticket_and_changes_nothing(api, admin):
    ticket = new_ticket(admin, "Printer", requester_email="")
    reply = make(admin, body="#{{ ticket.number }} {{ ticket.subject }} for {{ contact.first_name|default:'you' }}")
    before = state(reply, ticket)
    resp = api(admin).get(f"{URL}/{reply.pk}/preview?ticket={ticket.pk}")
    assert resp.status_code == 200 and resp.json() == {"body": f"#{ticket.number} Printer for you"}
    assert state(reply, ticket) == before
    assert api(admin).get(f"{URL}/{reply.pk}/preview").status_code == 422
    assert api(admin).get(f"{URL}/{reply.pk}/preview?ticket=99999999").status_code == 404


def test_apply_answers_the_ticket_and_sets_its_fields(api, admin):
    ticket = new_ticket(admin, "Printer", requester_email="")
    reply = make(admin, body="All fixed.", set_status="pending", set_priority="low", add_tags=["printer"])
    resp = api(admin).post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{reply.pk}", {}, **{"Idempotency-Key": "a1"})
    assert resp.status_code == 201, resp.content
    assert (resp.json()["kind"], resp.json()["body"]) == ("reply", "All fixed.")
    again = api(admin).post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{reply.pk}", {}, **{"Idempotency-Key": "a1"})
    assert again.json()["id"] == resp.json()["id"]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.tags) == ("pending", "low", ["printer"])
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 1
    edited = api(admin).post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{reply.pk}", {"body": "My words"})
    assert edited.status_code == 201 and edited.json()["body"] == "My words"
    assert CannedReply.objects.get(pk=reply.pk).usage_count == 2


def test_permission_denied_changes_nothing(api, admin, member_of):
    agent, seller, viewer = member_of(Role.SUPPORT), member_of(Role.SALES), member_of(Role.VIEWER)
    shared = make(admin, shared=True, set_priority="urgent")
    ticket = new_ticket(admin, "Printer", requester_email="")
    before = state(shared, ticket)
    assert api(agent).post(URL, {"name": "S", "body": "x", "shared": True}).status_code == 403
    assert api(viewer).post(URL, {"name": "S", "body": "x"}).status_code == 403
    assert api(agent).patch(f"{URL}/{shared.pk}", {"body": "x"}, **{"If-Match": '"v1"'}).status_code == 403
    assert api(agent).delete(f"{URL}/{shared.pk}").status_code == 403
    assert api(seller).post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{shared.pk}", {}).status_code == 403
    assert (
        api(admin, scope="read").post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{shared.pk}", {}).status_code == 403
    )
    assert api(member_of(Role.MARKETING)).get(URL).status_code == 403
    assert state(shared, ticket) == before
    assert CannedReply.objects.count() == 1


def test_someone_elses_personal_reply_is_404(api, admin, member_of):
    agent = member_of(Role.SUPPORT)
    mine = make(agent, name="Mine")
    ticket = new_ticket(admin, "Printer", requester_email="")
    before = state(mine, ticket)
    for resp in (
        api(admin).get(f"{URL}/{mine.pk}"),
        api(admin).patch(f"{URL}/{mine.pk}", {"name": "Taken"}, **{"If-Match": '"v1"'}),
        api(admin).delete(f"{URL}/{mine.pk}"),
        api(admin).get(f"{URL}/{mine.pk}/preview?ticket={ticket.pk}"),
        api(admin).post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{mine.pk}", {}),
    ):
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert state(mine, ticket) == before


ENDPOINTS = [
    ("get", URL + "/{reply_id}", None),
    ("patch", URL + "/{reply_id}", {"name": "Taken over", "shared": False}),
    ("delete", URL + "/{reply_id}", None),
    ("get", URL + "/{reply_id}/preview?ticket={ticket_id}", None),
    ("get", URL + "/{reply_id}/preview?ticket={my_ticket_id}", None),
    ("post", "/api/v1/tickets/{ticket_id}/canned-replies/{reply_id}", {}),
    ("post", "/api/v1/tickets/{ticket_id}/canned-replies/{my_reply_id}", {}),
    ("post", "/api/v1/tickets/{my_ticket_id}/canned-replies/{reply_id}", {}),
]


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_every_canned_endpoint_answers_404_for_another_workspace(api, admin, other_admin, method, template, body):
    theirs = make(other_admin, shared=True, set_status="solved")
    their_ticket = new_ticket(other_admin, "Theirs", requester_email="")
    mine = make(admin, shared=True)
    my_ticket = new_ticket(admin, "Mine", requester_email="")
    client = api(admin)
    before = (state(theirs, their_ticket), state(mine, my_ticket))
    a_events = Event.objects.filter(org_id=admin.org_id).count()
    url = template.format(reply_id=theirs.pk, ticket_id=their_ticket.pk, my_reply_id=mine.pk, my_ticket_id=my_ticket.pk)
    resp = client.patch(url, body, **{"If-Match": '"v1"'}) if method == "patch" else getattr(client, method)(url)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", resp.content
    assert (state(theirs, their_ticket), state(mine, my_ticket)) == before
    assert Event.objects.filter(org_id=admin.org_id).count() == a_events


# --- pages --------------------------------------------------------------------------------------------


def test_pages_list_create_edit_preview_and_delete(web, admin):
    client = web(admin)
    ticket = new_ticket(admin, "Printer", requester_email="")
    assert client.get("/service/canned-replies/").status_code == 200
    resp = client.post(
        "/service/canned-replies/new/",
        {
            "name": "Fixed",
            "body": "Fixed #{{ ticket.number }}",
            "set_status": "solved",
            "add_tags": "a, b",
            "shared": "on",
        },
    )
    assert resp.status_code == 302, resp.content
    reply = CannedReply.objects.get()
    assert (reply.add_tags, reply.owner_id, reply.set_status) == (["a", "b"], None, "solved")
    page = client.get("/service/canned-replies/").content.decode()
    assert "Fixed" in page and "Shared" in page
    edit = f"/service/canned-replies/{reply.pk}/"
    resp = client.post(edit, {"name": "Fixed", "body": "Fixed #{{ ticket.number }}", "action": "preview",
                              "preview_ticket": ticket.number, "version": 1})  # fmt: skip
    assert resp.status_code == 200 and f"Fixed #{ticket.number}" in resp.content.decode()
    resp = client.post(edit, {"name": "Fixed", "body": "{{ oops }}", "version": 1})
    assert resp.status_code == 422 and "not a merge field" in resp.content.decode()
    assert client.post(f"{edit}delete/").status_code == 302
    assert CannedReply.objects.get().deleted_at is not None


def test_pages_refuse_what_the_role_does_not_allow(web, admin, member_of):
    shared = make(admin, shared=True)
    agent = web(member_of(Role.SUPPORT))
    assert agent.get(f"/service/canned-replies/{shared.pk}/").status_code == 200  # read-only
    assert agent.post(f"/service/canned-replies/{shared.pk}/", {"name": "Taken", "body": "x"}).status_code == 403
    assert agent.post(f"/service/canned-replies/{shared.pk}/delete/").status_code == 403
    new = agent.get("/service/canned-replies/new/").content.decode()
    assert 'name="shared"' not in new  # an agent cannot share
    assert CannedReply.objects.get().name == "Thanks"


def test_pages_of_another_workspace_are_404(web, admin, other_admin, member_of):
    theirs = make(other_admin, shared=True)
    client = web(admin)
    assert client.get(f"/service/canned-replies/{theirs.pk}/").status_code == 404
    assert client.post(f"/service/canned-replies/{theirs.pk}/delete/").status_code == 404
    assert CannedReply.objects.get(pk=theirs.pk).deleted_at is None
    assert web(member_of(Role.MARKETING)).get("/service/canned-replies/").status_code == 403
