"""Deals API: create / read / update / move / history / trash / restore, the list's filters and
pages, bad input, and workspaces (every id endpoint answers 404 for another workspace's deal)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.models import Event
from rapport.sales import deal_selectors, deal_services
from rapport.sales.models import Deal, DealStage
from rapport.sales.tests.conftest import make_pipeline


def _state(pk: int) -> dict[str, Any]:
    deal = Deal.objects.get(pk=pk)
    return {
        "deal": {f.attname: getattr(deal, f.attname) for f in Deal._meta.concrete_fields},
        "history": list(DealStage.objects.filter(deal_id=pk).values_list("stage_id", "left_at")),
        "events": list(Event.objects.filter(subject_type="deal", subject_id=pk).values_list("pk", flat=True)),
    }


def test_create_read_update_move_trash_and_restore(api, admin, sales_pipeline, ada, company):
    client = api(admin)
    stages = sales_pipeline.stages
    resp = client.post(
        "/api/v1/deals",
        {
            "name": "Acme expansion",
            "amount": "12000.00",
            "currency": "EUR",
            "expected_close_date": "2031-06-30",
            "pipeline_id": sales_pipeline.pipeline.pk,
            "contact_id": ada.pk,
            "company_id": company.pk,
            "contacts": [{"contact_id": ada.pk, "role": "champion"}],
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert resp["ETag"] == '"v1"'
    assert body["stage"] == {"id": stages["Qualified"].pk, "name": "Qualified", "kind": "open", "probability": 10}
    assert body["owner"]["id"] == admin.user_id and body["company"] == {"id": company.pk, "name": "Acme Corp"}
    assert body["contacts"] == [{"contact": {"id": ada.pk, "name": str(ada)}, "role": "champion"}]
    assert body["amount"] == "12000.00" and body["currency"] == "EUR"
    url = f"/api/v1/deals/{body['id']}"
    got = client.get(url)
    assert got.json() == body and got["ETag"] == '"v1"'

    api_error(client.patch(url, {"name": "Changed"}), 428)
    api_error(client.patch(url, {"name": "Changed"}, **{"If-Match": '"v9"'}), 412)
    resp = client.patch(url, {"name": "Changed", "amount": 15000}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["name"] == "Changed" and resp["ETag"] == '"v2"'

    api_error(client.post(f"{url}/move", {"stage_id": stages["Proposal"].pk}), 428)
    moved = client.post(f"{url}/move", {"stage_id": stages["Won"].pk}, **{"If-Match": '"v2"'})
    assert moved.status_code == 200, moved.content
    assert moved.json()["stage"]["kind"] == "won" and moved.json()["closed_at"] and moved["ETag"] == '"v3"'

    history = client.get(f"{url}/history").json()
    assert [(h["stage"]["name"], h["left_at"] is None) for h in history] == [("Qualified", False), ("Won", True)]
    assert history[0]["seconds"] >= 0 and history[1]["seconds"] is None
    assert history[1]["moved_by"]["id"] == admin.user_id and history[1]["pipeline"]["name"] == "New business"

    assert client.delete(url).status_code == 204
    api_error(client.get(url), 404)
    api_error(client.get(f"{url}/history"), 404)
    trashed = client.get("/api/v1/deals?trashed=true").json()["items"]
    assert [d["id"] for d in trashed] == [body["id"]]
    restored = client.post(f"{url}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == body["id"]
    api_error(client.post(f"{url}/restore"), 404)  # not in the trash any more
    verbs = list(Event.objects.filter(subject_type="deal").order_by("pk").values_list("verb", flat=True))
    assert verbs == ["deal.created", "deal.updated", "deal.moved", "deal.trashed", "deal.restored"]


def test_idempotency_key_replays_the_create(api, admin, sales_pipeline):
    client = api(admin)
    data = {"name": "Once", "pipeline_id": sales_pipeline.pipeline.pk}
    first = client.post("/api/v1/deals", data, **{"Idempotency-Key": "deal-1"})
    again = client.post("/api/v1/deals", data, **{"Idempotency-Key": "deal-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Deal.objects.count() == 1 and DealStage.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"currency": "Monopoly money"}, "currency"),
        ({"stage_id": "other-pipeline"}, "stage_id"),
        ({"stage_id": "lost"}, "lost_reason"),
        ({"contacts": [{"contact_id": 1, "role": "king"}]}, "contacts.0.role"),
        ({"colour": "red"}, "colour"),
        ({"amount": "1e20"}, "amount"),
    ],
)
def test_bad_input_is_refused_with_422_naming_the_field_and_nothing_is_written(
    api, admin, org, sales_pipeline, body, field
):
    renewals = make_pipeline(org, "Renewals")
    stage_ids = {"other-pipeline": renewals.stages["Proposal"].pk, "lost": sales_pipeline.stages["Lost"].pk}
    if "stage_id" in body:
        body = {"stage_id": stage_ids[body["stage_id"]]}
    err = api_error(
        api(admin).post("/api/v1/deals", {"name": "X", "pipeline_id": sales_pipeline.pipeline.pk, **body}), 422
    )
    assert field in err["fields"], err
    assert not Deal.objects.exists() and not DealStage.objects.exists()


def test_move_to_another_pipelines_stage_or_lost_without_reason_is_422_and_changes_nothing(
    api, admin, org, sales_pipeline
):
    client = api(admin)
    deal = deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk})
    renewals = make_pipeline(org, "Renewals")
    url = f"/api/v1/deals/{deal.pk}/move"
    before = _state(deal.pk)
    err = api_error(client.post(url, {"stage_id": renewals.stages["Won"].pk}, **{"If-Match": '"v1"'}), 422)
    assert err["code"] == "stage_not_in_pipeline" and "stage_id" in err["fields"]
    err = api_error(client.post(url, {"stage_id": sales_pipeline.stages["Lost"].pk}, **{"If-Match": '"v1"'}), 422)
    assert set(err["fields"]) == {"lost_reason"}
    api_error(client.post(url, {"stage_id": sales_pipeline.stages["Won"].pk, "x": 1}, **{"If-Match": '"v1"'}), 422)
    assert _state(deal.pk) == before
    resp = client.post(
        url,
        {"stage_id": renewals.stages["Proposal"].pk, "pipeline_id": renewals.pipeline.pk},
        **{"If-Match": '"v1"'},
    )
    assert resp.status_code == 200 and resp.json()["pipeline"]["id"] == renewals.pipeline.pk


def test_a_second_move_from_the_same_version_gets_412_and_the_first_stands(api, admin, sales_pipeline):
    client = api(admin)
    deal = deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk})
    url = f"/api/v1/deals/{deal.pk}/move"
    first = client.post(url, {"stage_id": sales_pipeline.stages["Won"].pk}, **{"If-Match": '"v1"'})
    assert first.status_code == 200
    after = _state(deal.pk)
    second = client.post(
        url, {"stage_id": sales_pipeline.stages["Lost"].pk, "lost_reason": "Price"}, **{"If-Match": '"v1"'}
    )
    assert api_error(second, 412)["code"] == "stale_version"
    assert _state(deal.pk) == after


def test_list_filters(api, admin, org, sales_pipeline, ada, company):
    bob = contact_with(org, email="bob@example.org", first_name="Bob")
    renewals = make_pipeline(org, "Renewals")
    pk = sales_pipeline.pipeline.pk
    small = deal_services.deal_create(
        actor=admin, data={"name": "Small", "amount": 10, "pipeline_id": pk, "expected_close_date": "2031-01-15"}
    )
    big = deal_services.deal_create(
        actor=admin,
        data={"name": "Big", "amount": 5000, "pipeline_id": pk, "company_id": company.pk, "contact_id": ada.pk},
    )
    linked = deal_services.deal_create(
        actor=admin,
        data={"name": "Linked", "amount": 700, "pipeline_id": pk, "contacts": [{"contact_id": bob.pk, "role": "user"}]},
    )
    renewal = deal_services.deal_create(actor=admin, data={"name": "Renewal", "pipeline_id": renewals.pipeline.pk})
    deal_services.deal_move(actor=admin, deal=big, stage_id=sales_pipeline.stages["Won"].pk, expected_version=1)
    client = api(admin)

    def names(query: str) -> set[str]:
        resp = client.get(f"/api/v1/deals?{query}")
        assert resp.status_code == 200, resp.content
        return {d["name"] for d in resp.json()["items"]}

    assert names("") == {"Small", "Big", "Linked", "Renewal"}
    assert names(f"pipeline_id={renewals.pipeline.pk}") == {"Renewal"}
    assert names(f"stage_id={sales_pipeline.stages['Won'].pk}") == {"Big"}
    assert names("status=won") == {"Big"} and names("status=open") == {"Small", "Linked", "Renewal"}
    assert names("amount_min=100&amount_max=1000") == {"Linked"}
    assert names("close_from=2031-01-01&close_to=2031-01-31") == {"Small"}
    assert names(f"company_id={company.pk}") == {"Big"}
    assert names(f"contact_id={ada.pk}") == {"Big"} and names(f"contact_id={bob.pk}") == {"Linked"}
    assert names(f"owner_id={admin.user_id}") == {"Small", "Big", "Linked", "Renewal"} == names("mine=true")
    api_error(client.get("/api/v1/deals?status=maybe"), 422)
    api_error(client.get("/api/v1/deals?sort=colour"), 422)
    api_error(client.get("/api/v1/deals?amount_min=-1"), 422)
    by_amount = [d["name"] for d in client.get("/api/v1/deals?sort=-amount").json()["items"]]
    assert by_amount == ["Big", "Linked", "Small", "Renewal"]
    assert small.pk and linked.pk and renewal.pk


def test_pages_walk_every_deal_once_with_one_query_per_page(admin, sales_pipeline, api):
    for i in range(5):
        deal_services.deal_create(
            actor=admin, data={"name": f"D{i}", "amount": i, "pipeline_id": sales_pipeline.pipeline.pk}
        )
    client = api(admin)
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.get(f"/api/v1/deals?limit=2&sort=amount{cursor}").json()
        seen += [d["name"] for d in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == ["D0", "D1", "D2", "D3", "D4"]
    from rapport.core.pagination import paginate

    with CaptureQueriesContext(connection) as queries:
        page = paginate(deal_selectors.deal_list(actor=admin), cursor=None, limit=50)
        [(d.stage.name, d.pipeline.name, d.owner and d.owner.email) for d in page.items]
    assert len(queries) == 1


# --- other workspaces -----------------------------------------------------------------------------

ID_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/deals/{deal_id}", None),
    ("patch", "/api/v1/deals/{deal_id}", {"name": "Taken over", "amount": 0}),
    ("delete", "/api/v1/deals/{deal_id}", None),
    ("post", "/api/v1/deals/{deal_id}/restore", None),
    ("post", "/api/v1/deals/{deal_id}/move", {"stage_id": "won"}),
    ("get", "/api/v1/deals/{deal_id}/history", None),
]


def test_every_deal_endpoint_that_takes_an_id_is_listed_here():
    from rapport.config.api import api as ninja_api

    paths = ninja_api.get_openapi_schema()["paths"]
    documented = {(m, p) for p, ops in paths.items() if p.startswith("/api/v1/deals/") for m in ops}
    # A deal's lines and its order have their own workspace tests (test_deal_lines.py, test_quotes_api.py).
    elsewhere = {("get", "/api/v1/deals/{deal_id}/lines"), ("put", "/api/v1/deals/{deal_id}/lines")}
    elsewhere.add(("post", "/api/v1/deals/{deal_id}/order"))
    assert documented - elsewhere == {(m, t) for m, t, _ in ID_ENDPOINTS}


@pytest.mark.parametrize(("method", "template", "body"), ID_ENDPOINTS)
@pytest.mark.parametrize("trashed", [False, True])
def test_every_deal_endpoint_answers_404_for_another_workspace(
    api, admin, other_admin, other_pipeline, method, template, body, trashed
):
    theirs = deal_services.deal_create(
        actor=other_admin, data={"name": "B's deal", "pipeline_id": other_pipeline.pipeline.pk}
    )
    if trashed:
        deal_services.deal_delete(actor=other_admin, deal=theirs)
    client = api(admin)
    before = _state(theirs.pk)
    a_events = Event.objects.filter(org_id=admin.org_id).count()
    url = template.format(deal_id=theirs.pk)
    if body and body.get("stage_id") == "won":
        body = {"stage_id": other_pipeline.stages["Won"].pk}
    headers = {"If-Match": '"v1"'} if method in {"patch", "post"} else {}
    resp = (
        getattr(client, method)(url, body, **headers) if method in {"patch", "post"} else getattr(client, method)(url)
    )
    assert api_error(resp, 404)["code"] == "not_found"
    assert _state(theirs.pk) == before
    assert Event.objects.filter(org_id=admin.org_id).count() == a_events


def test_lists_show_nothing_of_another_workspace(api, admin, other_admin, other_pipeline):
    deal_services.deal_create(actor=other_admin, data={"name": "B's deal", "pipeline_id": other_pipeline.pipeline.pk})
    client = api(admin)
    assert client.get("/api/v1/deals").json()["items"] == []
    assert client.get(f"/api/v1/deals?pipeline_id={other_pipeline.pipeline.pk}").json()["items"] == []
    err = api_error(client.post("/api/v1/deals", {"name": "X", "pipeline_id": other_pipeline.pipeline.pk}), 422)
    assert "pipeline_id" in err["fields"]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "abc"},
        {"amount": "1.234"},
        {"amount": True},
        {"stage_id": 0},
        {"stage_id": 2**70},
        {"pipeline_id": "x"},
        {"contacts": "ada"},
        {"contacts": [{"contact_id": 2**63}]},
        {"contacts": [{"contact_id": 1, "role": "user", "extra": 1}]},
        {"competitor_ids": [0]},
        {"custom": "x"},
        {"custom": {"tier": "gold"}},
        {"expected_close_date": "2031-13-01"},
        {"name": "x" * 201},
        {"owner_id": -1},
        {"team_id": 999999},
        {"currency": "12"},
        {"source": "\x00"},
    ],
)
def test_odd_input_is_a_4xx_never_a_500(api, admin, sales_pipeline, body):
    resp = api(admin).post("/api/v1/deals", {"name": "X", "pipeline_id": sales_pipeline.pipeline.pk, **body})
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.content[:300])
    api_error(resp, resp.status_code)
    assert not Deal.objects.exists()


@pytest.mark.parametrize(
    "query",
    ["cursor=!!!", "limit=0", "limit=1000", "close_from=someday", "amount_max=abc", "stage_id=-3", "sort=%00"],
)
def test_odd_list_queries_are_a_4xx(api, admin, query):
    resp = api(admin).get(f"/api/v1/deals?{query}")
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.content[:300])
    api_error(resp, resp.status_code)


def test_odd_moves_are_a_4xx_and_change_nothing(api, admin, sales_pipeline):
    deal = deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk})
    client = api(admin)
    before = _state(deal.pk)
    url = f"/api/v1/deals/{deal.pk}/move"
    for body, headers in (
        ({}, {"If-Match": '"v1"'}),
        ({"stage_id": "won"}, {"If-Match": '"v1"'}),
        ({"stage_id": sales_pipeline.stages["Lost"].pk, "lost_reason": "x" * 501}, {"If-Match": '"v1"'}),
        ({"stage_id": sales_pipeline.stages["Won"].pk, "pipeline_id": 999999}, {"If-Match": '"v1"'}),
        ({"stage_id": sales_pipeline.stages["Won"].pk}, {"If-Match": "garbage"}),
    ):
        resp = client.post(url, body, **headers)
        assert 400 <= resp.status_code < 500, (body, resp.status_code, resp.content[:300])
        api_error(resp, resp.status_code)
    assert _state(deal.pk) == before
