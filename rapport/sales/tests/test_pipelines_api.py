"""Pipelines and stages API: the whole round trip with ETags, bad input (422 naming the field,
nothing written), roles without the manage-settings permission (403, nothing written), and every
id endpoint answering 404 for another workspace's pipelines and stages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error
from rapport.core.models import Event
from rapport.sales import deal_services
from rapport.sales.models import Deal, DealStage, Pipeline, Stage
from rapport.sales.tests.conftest import make_pipeline


def _state() -> dict[str, Any]:
    """Everything a pipeline request could change."""
    return {
        "pipelines": list(Pipeline.objects.order_by("pk").values()),
        "stages": list(Stage.objects.order_by("pk").values()),
        "deals": list(Deal.objects.order_by("pk").values("pk", "stage_id", "version")),
        "history": list(DealStage.objects.order_by("pk").values()),
        "events": Event.objects.count(),
    }


def test_create_read_rename_add_reorder_and_delete(api, admin, org):
    make_pipeline(org, "Existing")
    client = api(admin)
    resp = client.post("/api/v1/pipelines", {"name": "Renewals"}, **{"Idempotency-Key": "p-1"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert resp["ETag"] == '"v1"' and body["name"] == "Renewals" and body["position"] == 1
    assert [(s["name"], s["kind"], s["probability"], s["deal_count"]) for s in body["stages"]] == [
        ("Qualified", "open", 10, 0),
        ("Proposal", "open", 40, 0),
        ("Negotiation", "open", 70, 0),
        ("Won", "won", 100, 0),
        ("Lost", "lost", 0, 0),
    ]
    replay = client.post("/api/v1/pipelines", {"name": "Renewals"}, **{"Idempotency-Key": "p-1"})
    assert replay.status_code == 201 and replay.json() == body and Pipeline.objects.count() == 2

    url = f"/api/v1/pipelines/{body['id']}"
    got = client.get(url)
    assert got.json() == body and got["ETag"] == '"v1"'
    api_error(client.patch(url, {"name": "Renewal"}), 428)
    api_error(client.patch(url, {"name": "Renewal"}, **{"If-Match": '"v7"'}), 412)
    resp = client.patch(url, {"name": "Renewal", "position": 0}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["name"] == "Renewal" and resp["ETag"] == '"v2"'
    listed = client.get("/api/v1/pipelines").json()
    assert [p["name"] for p in listed["items"]] == ["Existing", "Renewal"] and listed["next_cursor"] is None

    resp = client.post(f"{url}/stages", {"name": "Demo", "probability": 55, "rotting_days": 5})
    assert resp.status_code == 201, resp.content
    demo = resp.json()
    assert demo["position"] == 3 and demo["pipeline_id"] == body["id"] and resp["ETag"] == '"v1"'
    stage_url = f"/api/v1/stages/{demo['id']}"
    assert client.get(stage_url).json() == demo
    api_error(client.patch(stage_url, {"probability": 60}), 428)
    resp = client.patch(stage_url, {"probability": 60, "position": 0}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["probability"] == 60 and resp.json()["position"] == 0

    current = client.get(url)
    ids = [s["id"] for s in current.json()["stages"]]
    api_error(client.post(f"{url}/stages/order", {"stage_ids": ids[::-1]}), 428)
    api_error(client.post(f"{url}/stages/order", {"stage_ids": ids[::-1]}, **{"If-Match": '"v2"'}), 412)
    resp = client.post(f"{url}/stages/order", {"stage_ids": ids[::-1]}, **{"If-Match": current["ETag"]})
    assert resp.status_code == 200 and [s["id"] for s in resp.json()["stages"]] == ids[::-1]

    assert client.delete(stage_url).status_code == 204
    assert client.get(stage_url).status_code == 404
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert [p["name"] for p in client.get("/api/v1/pipelines").json()["items"]] == ["Existing"]


def test_the_list_is_three_queries_whatever_the_number_of_pipelines(api, admin, org):
    client = api(admin)
    for i in range(4):
        make_pipeline(org, f"P{i}")
    client.get("/api/v1/pipelines")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/pipelines")
    for i in range(4, 12):
        make_pipeline(org, f"P{i}")
    with CaptureQueriesContext(connection) as many:
        resp = client.get("/api/v1/pipelines?limit=5")
    assert len(resp.json()["items"]) == 5 and resp.json()["next_cursor"]
    assert len(many) == len(few)
    rest = client.get(f"/api/v1/pipelines?limit=50&cursor={resp.json()['next_cursor']}").json()
    assert len(rest["items"]) == 7


def test_a_workspace_without_pipelines_is_given_the_default_one(api, member_of):
    resp = api(member_of(Role.VIEWER)).get("/api/v1/pipelines")
    assert [p["name"] for p in resp.json()["items"]] == ["Sales"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "New business"}, "name"),
        ({"name": "P", "colour": "red"}, "colour"),
        ({"name": "P", "position": -1}, "position"),
        ({"name": "P", "stages": [{"name": "A"}]}, "stages"),
        ({"name": "P", "stages": "lots"}, "stages"),
        ({"name": "P", "stages": [{"name": "A", "probability": 150}]}, "stages.0.probability"),
        ({"name": "P", "stages": [{"name": "A", "kind": "maybe"}, {"name": "W", "kind": "won"}]}, "stages.0.kind"),
        ({"name": "P", "stages": [{"name": "A", "position": 1}]}, "stages.0.position"),
    ],
)
def test_bad_pipelines_are_refused_naming_the_field(api, admin, sales_pipeline, payload, field):
    client = api(admin)
    before = _state()
    err = api_error(client.post("/api/v1/pipelines", payload), 422)
    assert field in err["fields"], err
    assert _state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Proposal"}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Demo", "probability": 101}, "probability"),
        ({"name": "Demo", "probability": "high"}, "probability"),
        ({"name": "Demo", "kind": "maybe"}, "kind"),
        ({"name": "Demo", "rotting_days": 0}, "rotting_days"),
        ({"name": "Demo", "kind": "won", "rotting_days": 5}, "rotting_days"),
        ({"name": "Demo", "stage": 1}, "stage"),
    ],
)
def test_bad_stages_are_refused_naming_the_field(api, admin, sales_pipeline, payload, field):
    client = api(admin)
    before = _state()
    err = api_error(client.post(f"/api/v1/pipelines/{sales_pipeline.pipeline.pk}/stages", payload), 422)
    assert field in err["fields"], err
    assert _state() == before


def test_bad_stage_changes_and_orders_are_refused(api, admin, sales_pipeline):
    client, s = api(admin), sales_pipeline.stages
    before = _state()
    won = f"/api/v1/stages/{s['Won'].pk}"
    assert "kind" in api_error(client.patch(won, {"kind": "open"}, **{"If-Match": "*"}), 422)["fields"]
    assert "probability" in api_error(client.patch(won, {"probability": None}, **{"If-Match": "*"}), 422)["fields"]
    assert "name" in api_error(client.patch(won, {"name": "lost"}, **{"If-Match": "*"}), 422)["fields"]
    order = f"/api/v1/pipelines/{sales_pipeline.pipeline.pk}/stages/order"
    for ids in ([s["Won"].pk], [0], "x", [s["Won"].pk] * 5):
        err = api_error(client.post(order, {"stage_ids": ids}, **{"If-Match": "*"}), 422)
        assert any(name.startswith("stage_ids") for name in err["fields"]), err
    assert _state() == before


def test_deleting_a_stage_with_deals_needs_a_target_and_moves_them(api, admin, sales_pipeline):
    client, s = api(admin), sales_pipeline.stages
    deal = deal_services.deal_create(
        actor=admin, data={"name": "D", "pipeline_id": sales_pipeline.pipeline.pk, "stage_id": s["Proposal"].pk}
    )
    url = f"/api/v1/stages/{s['Proposal'].pk}"
    before = _state()
    err = api_error(client.delete(url), 409)
    assert err["code"] == "stage_has_deals" and "move_to" in err["fields"]
    assert api_error(client.delete(f"{url}?move_to={s['Won'].pk}"), 422)["fields"].keys() == {"move_to"}
    assert api_error(client.delete(f"{url}?move_to=abc"), 422)["fields"].keys() == {"move_to"}
    assert _state() == before
    assert client.delete(f"{url}?move_to={s['Negotiation'].pk}").status_code == 204
    deal.refresh_from_db()
    assert deal.stage_id == s["Negotiation"].pk
    assert DealStage.objects.get(deal=deal, left_at__isnull=True).stage_id == s["Negotiation"].pk
    assert Event.objects.filter(verb="deal.moved", subject_id=deal.pk).count() == 1


def test_a_pipeline_with_deals_or_the_last_one_is_not_deleted(api, admin, sales_pipeline, org):
    client = api(admin)
    deal_services.deal_create(actor=admin, data={"name": "D", "pipeline_id": sales_pipeline.pipeline.pk})
    before = _state()
    assert api_error(client.delete(f"/api/v1/pipelines/{sales_pipeline.pipeline.pk}"), 409)["code"] == "last_pipeline"
    make_pipeline(org, "Other")
    err = api_error(client.delete(f"/api/v1/pipelines/{sales_pipeline.pipeline.pk}"), 409)
    assert err["code"] == "pipeline_has_deals" and "still has 1 deal" in err["message"]
    assert _state()["deals"] == before["deals"] and Pipeline.objects.filter(deleted_at__isnull=True).count() == 2


@pytest.mark.parametrize("role", [Role.SALES, Role.MANAGER, Role.VIEWER])
def test_roles_without_the_settings_permission_read_but_cannot_change(api, member_of, sales_pipeline, role):
    client = api(member_of(role))
    pipeline, stage = sales_pipeline.pipeline, sales_pipeline.stages["Proposal"]
    assert client.get("/api/v1/pipelines").status_code == 200
    assert client.get(f"/api/v1/pipelines/{pipeline.pk}").status_code == 200
    assert client.get(f"/api/v1/stages/{stage.pk}").status_code == 200
    before = _state()
    star = {"If-Match": "*"}
    for resp in (
        client.post("/api/v1/pipelines", {"name": "Mine"}),
        client.patch(f"/api/v1/pipelines/{pipeline.pk}", {"name": "Mine"}, **star),
        client.delete(f"/api/v1/pipelines/{pipeline.pk}"),
        client.post(f"/api/v1/pipelines/{pipeline.pk}/stages", {"name": "Mine"}),
        client.post(f"/api/v1/pipelines/{pipeline.pk}/stages/order", {"stage_ids": [stage.pk]}, **star),
        client.patch(f"/api/v1/stages/{stage.pk}", {"name": "Mine"}, **star),
        client.delete(f"/api/v1/stages/{stage.pk}"),
    ):
        api_error(resp, 403)
    assert _state() == before


def test_a_read_only_token_of_an_admin_cannot_change_pipelines(api, admin, sales_pipeline):
    client = api(admin, scope="read")
    before = _state()
    api_error(client.post("/api/v1/pipelines", {"name": "Mine"}), 403)
    api_error(client.delete(f"/api/v1/stages/{sales_pipeline.stages['Proposal'].pk}"), 403)
    assert _state() == before


def test_every_pipeline_endpoint_answers_404_for_another_workspace(api, admin, other_pipeline):
    client = api(admin)
    pipeline, stage, other = other_pipeline.pipeline, other_pipeline.stages["Proposal"], other_pipeline.stages
    before = _state()
    star = {"If-Match": "*"}
    for resp in (
        client.get(f"/api/v1/pipelines/{pipeline.pk}"),
        client.patch(f"/api/v1/pipelines/{pipeline.pk}", {"name": "Mine"}, **star),
        client.delete(f"/api/v1/pipelines/{pipeline.pk}"),
        client.post(f"/api/v1/pipelines/{pipeline.pk}/stages", {"name": "Mine"}),
        client.post(
            f"/api/v1/pipelines/{pipeline.pk}/stages/order", {"stage_ids": [s.pk for s in other.values()]}, **star
        ),
        client.get(f"/api/v1/stages/{stage.pk}"),
        client.patch(f"/api/v1/stages/{stage.pk}", {"name": "Mine"}, **star),
        client.delete(f"/api/v1/stages/{stage.pk}"),
    ):
        assert api_error(resp, 404)["code"] == "not_found"
    assert _state() == before
    names = [p["name"] for p in client.get("/api/v1/pipelines").json()["items"]]
    assert "B's pipeline" not in names


def test_a_stage_of_this_workspace_cannot_take_deals_of_another_one(api, admin, sales_pipeline, other_pipeline):
    """move_to naming another workspace's stage is a bad target, not a way to learn about it."""
    client = api(admin)
    deal_services.deal_create(
        actor=admin,
        data={"name": "D", "pipeline_id": sales_pipeline.pipeline.pk, "stage_id": sales_pipeline.stages["Proposal"].pk},
    )
    before = _state()
    target = other_pipeline.stages["Qualified"].pk
    err = api_error(client.delete(f"/api/v1/stages/{sales_pipeline.stages['Proposal'].pk}?move_to={target}"), 422)
    assert err["fields"].keys() == {"move_to"}
    assert _state() == before


def test_a_deleted_pipeline_and_its_stages_answer_404(api, admin, sales_pipeline, org):
    make_pipeline(org, "Other")
    client = api(admin)
    assert client.delete(f"/api/v1/pipelines/{sales_pipeline.pipeline.pk}").status_code == 204
    assert client.get(f"/api/v1/pipelines/{sales_pipeline.pipeline.pk}").status_code == 404
    assert client.get(f"/api/v1/stages/{sales_pipeline.stages['Won'].pk}").status_code == 404
