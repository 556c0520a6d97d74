"""The sales dashboard page and GET /api/v1/sales/dashboard: the figures of the selector, charts,
filters (bad ones: 4xx with the reason), the deal levels, a role without deal access (403), and a
bounded number of queries."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from rapport.accounts.roles import Role
from rapport.sales.models import Stage
from rapport.sales.tests.conftest import make_pipeline
from rapport.sales.tests.deal_data import (
    Scene,
    at,
    make_deal,
    march_scene,
    member_without_deal_access,
)

MARCH = "period=custom&from=2026-03-01&to=2026-03-31"
API = "/api/v1/sales/dashboard"


@pytest.fixture
def scene(org, admin, member_of, sales_pipeline) -> Scene:
    return march_scene(org, admin, member_of(Role.SALES), sales_pipeline)


# --- the API ----------------------------------------------------------------------------------


def test_the_api_gives_the_figures_of_the_period(api, scene):
    resp = api(scene.admin).get(f"{API}?{MARCH}&pipeline_id={scene.fx.pipeline.pk}")
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert data["period"] == {
        "key": "custom",
        "label": "1 Mar 2026 to 31 Mar 2026",
        "start": "2026-03-01",
        "end": "2026-03-31",
    }
    assert data["base_currency"] == "EUR" and data["missing"] == []
    assert [(s["name"], s["count"], s["value"]) for s in data["by_stage"]] == [
        ("Qualified", 1, "300.00"),
        ("Proposal", 1, "16.00"),
        ("Negotiation", 1, "700.00"),
    ]
    assert (data["open_count"], data["open_value"]) == (3, "1016.00")
    assert data["won"] == {"count": 2, "value": "1100.00"} and data["lost"] == {"count": 1, "value": "500.00"}
    assert data["win_rate"] == pytest.approx(2 / 3) and data["average_won"] == "550.00"
    assert data["average_cycle_days"] == pytest.approx(15.0)
    assert data["won_by_month"] == [{"month": "2026-03-01", "count": 2, "value": "1100.00"}]
    assert [(f["name"], f["entered"]) for f in data["funnel"]] == [
        ("Qualified", 6),
        ("Proposal", 4),
        ("Negotiation", 1),
        ("Won", 2),
    ]
    assert data["funnel"][0]["rate_to_next"] == pytest.approx(4 / 6) and data["funnel"][-1]["rate_to_next"] is None
    assert data["rotting_count"] == 3  # today every open deal of the scene is past its stage's days
    assert {d["id"] for d in data["rotting"]} == {scene.deals[k].pk for k in ("d5", "d6", "d7")}


def test_the_api_counts_only_a_reps_own_deals(api, scene):
    s = scene.fx.stages
    make_deal(scene.rep, [(s["Qualified"], at(2026, 3, 1)), (s["Won"], at(2026, 3, 4))], amount="80")
    data = api(scene.rep).get(f"{API}?{MARCH}").json()
    assert data["won"] == {"count": 1, "value": "80.00"} and data["lost"]["count"] == 0
    assert data["open_count"] == 0 and data["rotting"] == []
    owner = api(scene.admin).get(f"{API}?{MARCH}&owner_id={scene.rep.user_id}").json()
    assert owner["won"] == {"count": 1, "value": "80.00"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=week", "period"),
        ("period=custom&from=2026-03-01", "to"),
        ("period=custom&from=2026-03-10&to=2026-03-01", "to"),
        ("period=custom&from=2020-01-01&to=2026-03-01", "to"),
        ("period=month&from=2026-03-01", "period"),
        ("from=yesterday", "from"),
        ("pipeline_id=0", "pipeline_id"),
        ("pipeline_id=abc", "pipeline_id"),
        ("colour=red", "colour"),
    ],
)
def test_bad_filters_answer_422_naming_the_parameter(api, scene, query, field):
    resp = api(scene.admin).get(f"{API}?{query}")
    assert resp.status_code == 422, resp.content
    assert field in resp.json()["error"]["fields"]


def test_another_workspaces_pipeline_owner_or_team_is_refused_like_a_missing_one(api, scene, other_org, other_admin):
    from rapport.accounts import services as accounts

    theirs = make_pipeline(other_org, "Theirs").pipeline
    team = accounts.team_create(actor=other_admin, name="B team", member_ids=[])
    client = api(scene.admin)
    for query, field in (
        (f"pipeline_id={theirs.pk}", "pipeline_id"),
        (f"owner_id={other_admin.user_id}", "owner_id"),
        (f"team_id={team.pk}", "team_id"),
    ):
        resp = client.get(f"{API}?{query}")
        assert resp.status_code == 422 and field in resp.json()["error"]["fields"], query


def test_a_role_without_deal_access_gets_403_from_the_api_and_the_page(api, web, monkeypatch, member_of):
    no_deal_role = member_without_deal_access(monkeypatch, member_of)
    resp = api(no_deal_role).get(API)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied"
    assert web(no_deal_role).get("/sales/dashboard/").status_code == 403


def test_the_api_costs_a_bounded_number_of_queries(api, scene, django_assert_max_num_queries):
    client = api(scene.admin)
    with django_assert_max_num_queries(30):
        assert client.get(f"{API}?period=last12").status_code == 200


# --- the page ---------------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_the_charts(web, scene):
    page = web(scene.admin).get(f"/sales/dashboard/?{MARCH}&pipeline={scene.fx.pipeline.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    board = page.context["board"]
    assert board.won.value == Decimal("1100.00") and board.open_value == Decimal("1016.00")
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "EUR 1,016.00" in text and "EUR 1,100.00" in text and "67%" in text and "15.0 days" in text
    assert html.count('role="img"') == 3  # value by stage, won by month, the funnel
    assert 'href="/sales/dashboard/" aria-current="page"' in html  # the Dashboard tab
    assert f'href="/deals/{scene.deals["d5"].pk}/"' in html  # a rotting deal links to its page


def test_stage_names_are_escaped_in_the_charts_and_tables(web, scene):
    Stage.objects.filter(pk=scene.fx.stages["Qualified"].pk).update(name='<img src=x onerror="alert(1)">')
    html = web(scene.admin).get(f"/sales/dashboard/?{MARCH}").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html


def test_a_missing_rate_shows_the_message_and_no_wrong_total(web, scene):
    s = scene.fx.stages
    make_deal(scene.admin, [(s["Proposal"], at(2026, 4, 1))], amount="10", currency="GBP")
    page = web(scene.admin).get(f"/sales/dashboard/?{MARCH}")
    html = page.content.decode()
    assert page.status_code == 200 and "No exchange rate from GBP to EUR" in html
    assert page.context["board"].open_value is None and page.context["stage_chart"] is None
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Open pipeline — 4 open deals" in text and "EUR 1,016.00" not in text


@pytest.mark.parametrize(
    "query",
    ["period=custom", "period=custom&from=2026-03-10&to=2026-03-01", "period=week", "pipeline=999999", "owner=abc"],
)
def test_bad_filters_on_the_page_answer_400_with_the_reason(web, scene, query):
    page = web(scene.admin).get(f"/sales/dashboard/?{query}")
    assert page.status_code == 400
    assert page.context["error"] and page.context["board"] is None


def test_a_rep_sees_the_page_with_their_own_figures(web, scene):
    page = web(scene.rep).get(f"/sales/dashboard/?{MARCH}")
    assert page.status_code == 200
    board = page.context["board"]
    assert (board.won.count, board.lost.count, board.open_count, board.rotting_count) == (0, 0, 0, 0)


def test_the_page_costs_a_bounded_number_of_queries(web, scene, django_assert_max_num_queries):
    client = web(scene.admin)
    client.get("/sales/dashboard/")  # the session and the default pipeline settle
    with django_assert_max_num_queries(35):
        assert client.get("/sales/dashboard/?period=last12").status_code == 200
