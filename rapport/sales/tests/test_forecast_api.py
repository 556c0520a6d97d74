"""GET /api/v1/forecast: the figures as JSON strings, groups, scope, bad parameters (422 naming
them), another workspace's pipeline, and a query count that does not depend on the deals."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts.tests.factories import api_error
from rapport.sales.tests.test_forecast import TODAY, book, make_deal  # noqa: F401 (the fixture)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    """The forecast's "today" (which periods have begun) is 15 March 2026."""
    monkeypatch.setattr("rapport.sales.forecast.current_day", lambda: TODAY)


URL = "/api/v1/forecast"


def test_the_forecast_as_json(api, admin, book):  # noqa: F811
    resp = api(admin).get(f"{URL}?start=2026-01&periods=3")
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert (data["period"], data["start"], data["group"], data["base_currency"]) == (
        "month",
        "2026-01-01",
        "workspace",
        "USD",
    )
    assert [(p["key"], p["status"]) for p in data["periods"]] == [
        ("2026-01", "past"),
        ("2026-02", "past"),
        ("2026-03", "current"),
    ]
    [row] = data["rows"]
    assert row == data["total"] and row["key"] == "workspace"
    jan, feb, mar = row["cells"]
    assert (jan["period"], jan["closed_won"], jan["won_deals"]) == ("2026-01", "2100.00", 2)
    assert (jan["forecast_at_start"], jan["variance"]) == ("700.00", "1400.00")
    assert (feb["closed_won"], feb["forecast_at_start"]) == ("1200.00", "480.00")
    assert (mar["weighted_pipeline"], mar["best_case"], mar["forecast"]) == ("1310.00", "2900.00", "1310.00")
    assert row["total"]["closed_won"] == "3300.00"
    assert data["missing_rates"] == []


def test_grouped_by_owner_a_rep_gets_only_their_own_row(api, admin, book):  # noqa: F811
    data = api(book.rep2).get(f"{URL}?start=2026-01&periods=3&group=owner").json()
    assert [(r["key"], r["cells"][2]["weighted_pipeline"]) for r in data["rows"]] == [
        (f"owner:{book.rep2.user_id}", "350.00")
    ]
    teams = api(admin).get(f"{URL}?start=2026-01&periods=1&period=quarter&group=team").json()
    assert [(r["name"], r["total"]["closed_won"]) for r in teams["rows"]] == [
        ("Hunters", "3300.00"),
        ("No team", "0.00"),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=week", "period"),
        ("start=2026-02-30", "start"),
        ("start=soon", "start"),
        ("periods=0", "periods"),
        ("periods=100", "periods"),
        ("group=planet", "group"),
        ("pipeline=12345678", "pipeline"),
        ("start=" + "9" * 11, "start"),
    ],
)
def test_bad_parameters_answer_422_naming_them(api, admin, query, field):
    resp = api(admin).get(f"{URL}?{query}")
    assert field in api_error(resp, 422)["fields"]


def test_another_workspaces_pipeline_is_refused_like_a_missing_one(api, admin, other_pipeline):
    resp = api(admin).get(f"{URL}?pipeline={other_pipeline.pipeline.pk}")
    assert api_error(resp, 422)["fields"] == {"pipeline": "No such pipeline."}


def test_a_read_only_token_and_every_role_read_the_forecast(api, member_of):
    from rapport.accounts.roles import Role

    for role in Role:
        assert api(member_of(role), scope="read").get(URL).status_code == 200


def test_without_a_token_it_is_401(client):
    assert client.get(URL).status_code == 401


def test_the_query_count_is_the_same_for_more_deals(api, admin, book, sales_pipeline):  # noqa: F811
    client = api(admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{URL}?start=2026-01&group=owner").status_code == 200
        return len(ctx.captured_queries)

    count()  # the token's first use writes its last-use time
    before = count()
    for n in range(20):
        make_deal(sales_pipeline, book.rep2, "5", "EUR", [("Proposal", f"2026-02-{n + 1:02d}")], close="2026-06-01")
    assert count() == before
