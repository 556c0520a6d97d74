"""Queues, agents' away status and routing rules through the API: round trips with ETags, one
default queue, members who must work on tickets in this workspace, bad input (422 naming the field,
nothing written), roles without the manage-settings permission (403, nothing written) and every id
endpoint answering 404 for another workspace's records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error
from rapport.core.models import Event
from rapport.service.models import AgentStatus, Queue, QueueMember, RoutingRule, SlaPolicy, Ticket
from rapport.testing.factories import TeamFactory

STAR = {"If-Match": "*"}


def _state() -> dict[str, Any]:
    """Everything a queue, agent or rule request could change."""
    return {
        "queues": list(Queue.objects.order_by("pk").values()),
        "members": list(QueueMember.objects.order_by("pk").values()),
        "rules": list(RoutingRule.objects.order_by("pk").values()),
        "statuses": list(AgentStatus.objects.order_by("pk").values()),
        "tickets": list(Ticket.objects.order_by("pk").values("pk", "queue_id", "team_id", "version")),
        "events": Event.objects.count(),
    }


def _queue(org: Any, name: str, **kw: Any) -> Queue:
    return Queue.objects.create(org=org, name=name, **kw)


def _ticket(org: Any, number: int, queue: Queue, status: str = "open") -> Ticket:
    return Ticket.objects.create(org=org, number=number, subject=f"T{number}", queue=queue, status=status)


def test_create_read_change_and_delete_queues_with_one_default(api, admin, member_of, org):
    client = api(admin)
    agent = member_of(Role.SUPPORT)
    team = TeamFactory.create(org=org)
    resp = client.post("/api/v1/queues", {"name": "Billing", "assignment": "least_open"}, **{"Idempotency-Key": "q1"})
    assert resp.status_code == 201, resp.content
    billing = resp.json()
    assert billing["is_default"] is True and billing["members"] == [] and resp["ETag"] == '"v1"'
    replay = client.post("/api/v1/queues", {"name": "Billing", "assignment": "least_open"}, **{"Idempotency-Key": "q1"})
    assert replay.json() == billing and Queue.objects.count() == 1

    resp = client.post(
        "/api/v1/queues",
        {"name": "Tech", "member_ids": [agent.user_id, admin.user_id], "team_id": team.pk, "manager_id": admin.user_id},
    )
    tech = resp.json()
    assert resp.status_code == 201 and tech["is_default"] is False
    assert sorted(m["id"] for m in tech["members"]) == sorted([agent.user_id, admin.user_id])
    assert tech["team"] == {"id": team.pk, "name": team.name} and tech["manager"]["id"] == admin.user_id

    url = f"/api/v1/queues/{tech['id']}"
    got = client.get(url)
    assert got.json() == tech and got["ETag"] == '"v1"'
    api_error(client.patch(url, {"is_default": True}), 428)
    api_error(client.patch(url, {"is_default": True}, **{"If-Match": '"v9"'}), 412)
    resp = client.patch(url, {"is_default": True, "member_ids": [agent.user_id]}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert resp.json()["is_default"] is True and [m["id"] for m in resp.json()["members"]] == [agent.user_id]
    assert resp["ETag"] == '"v2"'
    assert not Queue.objects.get(pk=billing["id"]).is_default
    changes = Event.objects.filter(verb="queue.updated").latest("pk").changes
    assert changes["is_default"] == [False, True] and changes["member_ids"][1] == [agent.user_id]

    err = api_error(client.patch(url, {"is_default": False}, **STAR), 422)
    assert set(err["fields"]) == {"is_default"}
    assert api_error(client.delete(url), 409)["code"] == "default_queue"
    assert [q["name"] for q in client.get("/api/v1/queues").json()["items"]] == ["Billing", "Tech"]

    # Deleting Billing: its unsolved tickets go to the default queue (and its team), its rules go.
    billing_q = Queue.objects.get(pk=billing["id"])
    open_ticket, solved = _ticket(org, 1, billing_q), _ticket(org, 2, billing_q, "solved")
    RoutingRule.objects.create(org=org, name="To billing", queue=billing_q)
    policy = SlaPolicy.objects.create(org=org, name="P", first_response_minutes=60, escalate_to_queue=billing_q)
    assert client.delete(f"/api/v1/queues/{billing['id']}").status_code == 204
    open_ticket.refresh_from_db()
    solved.refresh_from_db()
    assert (open_ticket.queue_id, open_ticket.team_id, solved.queue_id) == (tech["id"], team.pk, billing["id"])
    assert not RoutingRule.objects.exists() and SlaPolicy.objects.get(pk=policy.pk).escalate_to_queue_id is None
    assert Event.objects.get(verb="queue.deleted").changes["tickets_moved"] == 1
    assert client.get(f"/api/v1/queues/{billing['id']}").status_code == 404
    # A deleted queue's name is free again.
    assert client.post("/api/v1/queues", {"name": "billing"}).status_code == 201


def test_changing_a_queues_team_moves_its_tickets_to_the_new_team(api, admin, org):
    queue = _queue(org, "Tech", is_default=True)
    ticket = _ticket(org, 1, queue)
    team = TeamFactory.create(org=org)
    resp = api(admin).patch(f"/api/v1/queues/{queue.pk}", {"team_id": team.pk}, **STAR)
    assert resp.status_code == 200
    ticket.refresh_from_db()
    assert ticket.team_id == team.pk and ticket.version == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Existing"}, "name"),
        ({"name": "existing "}, "name"),
        ({"name": "Q", "assignment": "random"}, "assignment"),
        ({"name": "Q", "team_id": 987654321}, "team_id"),
        ({"name": "Q", "manager_id": 987654321}, "manager_id"),
        ({"name": "Q", "member_ids": [987654321]}, "member_ids"),
        ({"name": "Q", "member_ids": "all"}, "member_ids"),
        ({"name": "Q", "member_ids": [0]}, "member_ids.0"),
        ({"name": "Q", "colour": "red"}, "colour"),
        ({"name": "Q", "is_default": "maybe"}, "is_default"),
    ],
)
def test_bad_queue_input_is_422_naming_the_field_and_writes_nothing(api, admin, org, payload, field):
    _queue(org, "Existing", is_default=True)
    client = api(admin)
    before = _state()
    err = api_error(client.post("/api/v1/queues", payload), 422)
    assert field in err["fields"], err
    assert _state() == before


def test_members_are_active_members_of_this_workspace_who_work_on_tickets(api, admin, member_of, other_admin, org):
    queue = _queue(org, "Tech", is_default=True)
    viewer, gone = member_of(Role.VIEWER), member_of(Role.SUPPORT)
    Membership.objects.filter(pk=gone.membership_id).update(is_active=False)
    client = api(admin)
    before = _state()
    for user_id in (viewer.user_id, gone.user_id, other_admin.user_id):
        err = api_error(client.patch(f"/api/v1/queues/{queue.pk}", {"member_ids": [user_id]}, **STAR), 422)
        assert set(err["fields"]) == {"member_ids"}
    err = api_error(client.patch(f"/api/v1/queues/{queue.pk}", {"manager_id": other_admin.user_id}, **STAR), 422)
    assert set(err["fields"]) == {"manager_id"}
    assert _state() == before


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.MANAGER, Role.VIEWER])
def test_roles_without_manage_settings_read_but_cannot_change_queues_or_rules(api, member_of, org, role):
    queue = _queue(org, "Tech", is_default=True)
    rule = RoutingRule.objects.create(org=org, name="R", queue=queue)
    client = api(member_of(role))
    assert client.get("/api/v1/queues").json()["items"][0]["name"] == "Tech"
    assert client.get(f"/api/v1/routing-rules/{rule.pk}").status_code == 200
    before = _state()
    for resp in (
        client.post("/api/v1/queues", {"name": "Mine"}),
        client.patch(f"/api/v1/queues/{queue.pk}", {"name": "Mine"}, **STAR),
        client.delete(f"/api/v1/queues/{queue.pk}"),
        client.post("/api/v1/routing-rules", {"name": "Mine", "queue_id": queue.pk}),
        client.patch(f"/api/v1/routing-rules/{rule.pk}", {"name": "Mine"}, **STAR),
        client.post("/api/v1/routing-rules/order", {"rule_ids": [rule.pk]}),
        client.delete(f"/api/v1/routing-rules/{rule.pk}"),
    ):
        assert api_error(resp, 403)["code"] == "permission_denied"
    assert _state() == before


def test_a_role_that_cannot_read_tickets_cannot_read_the_configuration(api, member_of, org):
    _queue(org, "Tech", is_default=True)
    client = api(member_of(Role.MARKETING))
    for url in ("/api/v1/queues", "/api/v1/queues/agents", "/api/v1/routing-rules"):
        api_error(client.get(url), 403)


def test_every_queue_and_rule_endpoint_answers_404_for_another_workspace(api, admin, other_admin, other_org):
    b_queue = _queue(other_org, "B queue", is_default=True)
    b_rule = RoutingRule.objects.create(org=other_org, name="B rule", queue=b_queue)
    client = api(admin)
    before = _state()
    for resp in (
        client.get(f"/api/v1/queues/{b_queue.pk}"),
        client.patch(f"/api/v1/queues/{b_queue.pk}", {"name": "Mine"}, **STAR),
        client.delete(f"/api/v1/queues/{b_queue.pk}"),
        client._send("put", f"/api/v1/queues/agents/{other_admin.user_id}/away", {"away": True}),
        client.get(f"/api/v1/routing-rules/{b_rule.pk}"),
        client.patch(f"/api/v1/routing-rules/{b_rule.pk}", {"name": "Mine"}, **STAR),
        client.delete(f"/api/v1/routing-rules/{b_rule.pk}"),
    ):
        assert api_error(resp, 404)["code"] == "not_found"
    # Naming B's records in a body is bad input, not a way in.
    assert (
        "queue_id"
        in api_error(client.post("/api/v1/routing-rules", {"name": "R", "queue_id": b_queue.pk}), 422)["fields"]
    )
    assert "rule_ids" in api_error(client.post("/api/v1/routing-rules/order", {"rule_ids": [b_rule.pk]}), 422)["fields"]
    assert _state() == before
    assert client.get("/api/v1/queues").json()["items"] == []
    assert client.get("/api/v1/routing-rules").json()["items"] == []
    assert other_admin.user_id not in {a["user_id"] for a in client.get("/api/v1/queues/agents").json()["items"]}


def test_an_agent_sets_themself_away_and_back_and_an_admin_sets_anyone(api, admin, member_of):
    agent, colleague = member_of(Role.SUPPORT), member_of(Role.SUPPORT)
    client = api(agent)
    until = (timezone.now() + timedelta(days=3)).isoformat()
    resp = client._send("put", f"/api/v1/queues/agents/{agent.user_id}/away", {"away": True, "away_until": until})
    assert resp.status_code == 200, resp.content
    assert resp.json()["away"] is True and resp.json()["away_until"]
    assert Event.objects.get(verb="agent.away").changes["user_id"] == agent.user_id
    listed = {a["user_id"]: a["away"] for a in client.get("/api/v1/queues/agents").json()["items"]}
    assert listed == {admin.user_id: False, agent.user_id: True, colleague.user_id: False}

    before = _state()
    api_error(client._send("put", f"/api/v1/queues/agents/{colleague.user_id}/away", {"away": True}), 403)
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    err = api_error(
        client._send("put", f"/api/v1/queues/agents/{agent.user_id}/away", {"away": True, "away_until": past}), 422
    )
    assert set(err["fields"]) == {"away_until"}
    api_error(client._send("put", f"/api/v1/queues/agents/{agent.user_id}/away", {"away": "maybe"}), 422)
    assert _state() == before

    resp = api(admin)._send("put", f"/api/v1/queues/agents/{agent.user_id}/away", {"away": False})
    assert resp.status_code == 200 and resp.json() == {**resp.json(), "away": False, "away_until": None}
    assert Event.objects.filter(verb="agent.back").count() == 1


def test_routing_rules_round_trip_with_conditions_and_order(api, admin, org):
    queue = _queue(org, "Tech", is_default=True)
    other = _queue(org, "VIP")
    client = api(admin)
    first = client.post(
        "/api/v1/routing-rules",
        {"name": "Urgent mail", "queue_id": queue.pk, "channels": ["email", "email"], "priorities": ["urgent"]},
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["channels"] == ["email"] and body["types"] == [] and body["position"] == 0
    assert body["queue"] == {"id": queue.pk, "name": "Tech"}
    second = client.post(
        "/api/v1/routing-rules", {"name": "VIPs", "queue_id": other.pk, "tags": [" vip ", "VIP", "gold"]}
    ).json()
    assert second["position"] == 1 and second["tags"] == ["vip", "gold"]

    url = f"/api/v1/routing-rules/{body['id']}"
    api_error(client.patch(url, {"active": False}), 428)
    resp = client.patch(url, {"active": False, "types": ["incident"]}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["active"] is False and resp["ETag"] == '"v2"'
    assert Event.objects.get(verb="routing_rule.updated").changes == {
        "active": [True, False],
        "types": [[], ["incident"]],
    }

    resp = client.post("/api/v1/routing-rules/order", {"rule_ids": [second["id"], body["id"]]})
    assert resp.status_code == 200 and [r["id"] for r in resp.json()["items"]] == [second["id"], body["id"]]
    assert [r["name"] for r in client.get("/api/v1/routing-rules").json()["items"]] == ["VIPs", "Urgent mail"]
    api_error(client.post("/api/v1/routing-rules/order", {"rule_ids": [second["id"]]}), 422)

    assert client.delete(f"/api/v1/routing-rules/{second['id']}").status_code == 204
    assert [(r["name"], r["position"]) for r in client.get("/api/v1/routing-rules").json()["items"]] == [
        ("Urgent mail", 0)
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"queue_id": None}, "queue_id"),
        ({"name": ""}, "name"),
        ({"channels": ["fax"]}, "channels"),
        ({"types": ["complaint"]}, "types"),
        ({"priorities": ["critical"]}, "priorities"),
        ({"priorities": "urgent"}, "priorities"),
        ({"tags": "vip"}, "tags"),
        ({"tags": ["x" * 61]}, "tags"),
        ({"tags": ["a\x07b"]}, "tags"),
        ({"queue_id": 987654321}, "queue_id"),
        ({"position": 3}, "position"),
    ],
)
def test_bad_rule_input_is_422_naming_the_field_and_writes_nothing(api, admin, org, payload, field):
    queue = _queue(org, "Tech", is_default=True)
    client = api(admin)
    before = _state()
    err = api_error(client.post("/api/v1/routing-rules", {"name": "R", "queue_id": queue.pk, **payload}), 422)
    assert field in err["fields"], err
    assert _state() == before


def test_lists_take_the_same_number_of_queries_whatever_their_length(
    api, admin, member_of, org, django_assert_max_num_queries
):
    client = api(admin)
    agents = [member_of(Role.SUPPORT) for _ in range(3)]
    for i in range(6):
        queue = _queue(org, f"Q{i}", is_default=i == 0)
        for agent in agents:
            QueueMember.objects.create(org=org, queue=queue, user=agent.user)
        RoutingRule.objects.create(org=org, name=f"R{i}", queue=queue, position=i)
    for url in ("/api/v1/queues", "/api/v1/routing-rules", "/api/v1/queues/agents"):
        with django_assert_max_num_queries(8):
            resp = client.get(url)
        assert resp.status_code == 200 and len(resp.json()["items"]) >= 4
