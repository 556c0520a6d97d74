"""SLA policies through the API: round trip with ETags and order, bad input (422 naming the field,
nothing written), roles without the manage-settings permission (403) and another workspace's
policies and queues (404 / unknown)."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error
from rapport.core.models import Event
from rapport.service.models import Queue, SlaPolicy

STAR = {"If-Match": "*"}
URL = "/api/v1/sla-policies"


def _state() -> dict[str, Any]:
    return {"policies": list(SlaPolicy.objects.order_by("pk").values()), "events": Event.objects.count()}


def test_create_read_change_reorder_and_delete_policies(api, admin, org):
    queue = Queue.objects.create(org=org, name="Escalations", is_default=True)
    client = api(admin)
    resp = client.post(
        URL,
        {
            "name": "Premium urgent",
            "priorities": ["urgent", "high"],
            "tiers": ["premium", "enterprise"],
            "first_response_minutes": 30,
            "resolution_minutes": 480,
            "raise_priority": True,
            "escalate_to_queue_id": queue.pk,
        },
        **{"Idempotency-Key": "p1"},
    )
    assert resp.status_code == 201, resp.content
    premium = resp.json()
    assert premium["position"] == 0 and premium["next_response_minutes"] is None and premium["business_hours"] is True
    assert premium["escalate_to_queue"] == {"id": queue.pk, "name": "Escalations"} and resp["ETag"] == '"v1"'
    default = client.post(URL, {"name": "Everyone", "first_response_minutes": 240}).json()
    assert default["position"] == 1 and default["tiers"] == []

    url = f"{URL}/{premium['id']}"
    assert client.get(url).json() == premium
    api_error(client.patch(url, {"next_response_minutes": 60}), 428)
    api_error(client.patch(url, {"next_response_minutes": 60}, **{"If-Match": '"v2"'}), 412)
    resp = client.patch(
        url,
        {"next_response_minutes": 60, "escalate_to_queue_id": None, "business_hours": False},
        **{"If-Match": '"v1"'},
    )
    assert resp.status_code == 200 and resp["ETag"] == '"v2"'
    assert resp.json()["escalate_to_queue"] is None and resp.json()["business_hours"] is False
    assert Event.objects.get(verb="sla_policy.updated").changes == {
        "next_response_minutes": [None, 60],
        "escalate_to_queue_id": [queue.pk, None],
        "business_hours": [True, False],
    }

    resp = client.post(f"{URL}/order", {"policy_ids": [default["id"], premium["id"]]})
    assert [p["name"] for p in resp.json()["items"]] == ["Everyone", "Premium urgent"]
    assert Event.objects.filter(verb="sla_policies.reordered").count() == 1

    assert client.delete(f"{URL}/{default['id']}").status_code == 204
    assert client.get(f"{URL}/{default['id']}").status_code == 404
    assert [(p["name"], p["position"]) for p in client.get(URL).json()["items"]] == [("Premium urgent", 0)]
    assert client.post(URL, {"name": "everyone", "resolution_minutes": 60}).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Existing"}, "name"),
        ({"first_response_minutes": 0}, "first_response_minutes"),
        ({"first_response_minutes": -5}, "first_response_minutes"),
        ({"resolution_minutes": 10**9}, "resolution_minutes"),
        ({"first_response_minutes": None}, "first_response_minutes"),
        ({"warn_before_minutes": -1}, "warn_before_minutes"),
        ({"priorities": ["critical"]}, "priorities"),
        ({"tiers": ["gold"]}, "tiers"),
        ({"tags": [3]}, "tags.0"),
        ({"escalate_to_queue_id": 987654321}, "escalate_to_queue_id"),
        ({"notify_on_breach": "perhaps"}, "notify_on_breach"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_policy_input_is_422_naming_the_field_and_writes_nothing(api, admin, org, payload, field):
    SlaPolicy.objects.create(org=org, name="Existing", first_response_minutes=60)
    client = api(admin)
    before = _state()
    err = api_error(client.post(URL, {"name": "P", "first_response_minutes": 60, **payload}), 422)
    assert field in err["fields"], err
    assert _state() == before


def test_a_patch_cannot_leave_a_policy_without_any_target(api, admin, org):
    policy = SlaPolicy.objects.create(org=org, name="P", first_response_minutes=60)
    client = api(admin)
    before = _state()
    err = api_error(client.patch(f"{URL}/{policy.pk}", {"first_response_minutes": None}, **STAR), 422)
    assert set(err["fields"]) == {"first_response_minutes"}
    assert _state() == before


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.MANAGER, Role.VIEWER])
def test_roles_without_manage_settings_read_but_cannot_change_policies(api, member_of, org, role):
    policy = SlaPolicy.objects.create(org=org, name="P", first_response_minutes=60)
    client = api(member_of(role))
    assert [p["name"] for p in client.get(URL).json()["items"]] == ["P"]
    before = _state()
    for resp in (
        client.post(URL, {"name": "Mine", "first_response_minutes": 5}),
        client.patch(f"{URL}/{policy.pk}", {"name": "Mine"}, **STAR),
        client.post(f"{URL}/order", {"policy_ids": [policy.pk]}),
        client.delete(f"{URL}/{policy.pk}"),
    ):
        assert api_error(resp, 403)["code"] == "permission_denied"
    assert _state() == before
    api_error(api(member_of(Role.MARKETING)).get(URL), 403)


def test_every_policy_endpoint_answers_404_for_another_workspace(api, admin, org, other_org):
    b_queue = Queue.objects.create(org=other_org, name="B", is_default=True)
    b_policy = SlaPolicy.objects.create(org=other_org, name="B policy", first_response_minutes=5)
    mine = SlaPolicy.objects.create(org=org, name="Mine", first_response_minutes=5)
    client = api(admin)
    before = _state()
    for resp in (
        client.get(f"{URL}/{b_policy.pk}"),
        client.patch(f"{URL}/{b_policy.pk}", {"name": "Taken"}, **STAR),
        client.delete(f"{URL}/{b_policy.pk}"),
    ):
        assert api_error(resp, 404)["code"] == "not_found"
    err = api_error(client.patch(f"{URL}/{mine.pk}", {"escalate_to_queue_id": b_queue.pk}, **STAR), 422)
    assert set(err["fields"]) == {"escalate_to_queue_id"}
    api_error(client.post(f"{URL}/order", {"policy_ids": [mine.pk, b_policy.pk]}), 422)
    assert _state() == before
    assert [p["name"] for p in client.get(URL).json()["items"]] == ["Mine"]


def test_the_list_takes_the_same_number_of_queries_whatever_its_length(api, admin, org, django_assert_max_num_queries):
    queue = Queue.objects.create(org=org, name="Q", is_default=True)
    for i in range(12):
        SlaPolicy.objects.create(org=org, name=f"P{i}", position=i, first_response_minutes=5, escalate_to_queue=queue)
    client = api(admin)
    with django_assert_max_num_queries(6):
        assert len(client.get(URL).json()["items"]) == 12
