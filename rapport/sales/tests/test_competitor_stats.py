"""Win/loss by competitor: counts, win rate and values in the base currency against hand-counted
numbers, the deal levels, a missing rate, and the API (GET /competitors/stats and
/competitors/{id}/stats): permission-denied, other workspaces' ids, bad parameters, query counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from rapport.accounts.roles import Role
from rapport.core.principal import Principal
from rapport.sales.competitor_stats import competitor_stats
from rapport.sales.models import Competitor, Deal, ExchangeRate
from rapport.sales.tests.conftest import PipelineFixture
from rapport.sales.tests.deal_data import (
    at,
    make_deal,
    member_without_deal_access,
)

TODAY = date(2026, 4, 15)


@dataclass
class Rivals:
    admin: Principal
    rep: Principal
    acme: Competitor
    globex: Competitor
    initech: Competitor
    fx: PipelineFixture


@pytest.fixture
def rivals(org, admin, member_of, sales_pipeline) -> Rivals:
    """Base EUR, 1 USD = 0.5 EUR. Acme: won 1000 EUR and 200 USD, lost 300 EUR, one open deal (a
    rep's). Globex: lost the same 300 EUR deal and 100 EUR, and a won deal now in the trash.
    Initech: no deal."""
    org.base_currency = "EUR"
    org.save()
    ExchangeRate.objects.create(org=org, currency="USD", rate=Decimal("0.5"), valid_from=date(2026, 1, 1))
    rep = member_of(Role.SALES)
    acme, globex, initech = (Competitor.objects.create(org=org, name=name) for name in ("Acme", "Globex", "Initech"))
    s = sales_pipeline.stages
    q, won, lost = s["Qualified"], s["Won"], s["Lost"]
    make_deal(admin, [(q, at(2026, 3, 1)), (won, at(2026, 3, 5))], amount="1000", competitors=[acme])
    make_deal(admin, [(q, at(2026, 3, 1)), (won, at(2026, 3, 6))], amount="200", currency="USD", competitors=[acme])
    make_deal(admin, [(q, at(2026, 3, 1)), (lost, at(2026, 3, 7))], amount="300", competitors=[acme, globex])
    make_deal(admin, [(q, at(2026, 3, 1)), (lost, at(2026, 3, 8))], amount="100", competitors=[globex])
    make_deal(rep, [(q, at(2026, 3, 2))], amount="50", competitors=[acme], name="Rep's open deal")
    trashed = make_deal(admin, [(q, at(2026, 3, 1)), (won, at(2026, 3, 5))], amount="7", competitors=[globex])
    Deal.objects.filter(pk=trashed.pk).update(deleted_at=at(2026, 3, 9))
    return Rivals(admin=admin, rep=rep, acme=acme, globex=globex, initech=initech, fx=sales_pipeline)


def test_win_loss_by_competitor_with_values_in_the_base_currency(rivals):
    report = competitor_stats(actor=rivals.admin, today=TODAY)
    acme, globex, initech = (report.of(c.pk) for c in (rivals.acme, rivals.globex, rivals.initech))
    assert (acme.won, acme.lost, acme.open) == (2, 1, 1)
    assert acme.win_rate == pytest.approx(2 / 3)
    assert (acme.won_value, acme.lost_value) == (Decimal("1100.00"), Decimal("300.00"))  # 1000 + 200 USD x 0.5
    assert (globex.won, globex.lost, globex.open, globex.win_rate) == (0, 2, 0, 0.0)  # the trashed deal is left out
    assert (globex.won_value, globex.lost_value) == (Decimal("0.00"), Decimal("400.00"))
    assert (initech.won, initech.lost, initech.open, initech.win_rate) == (0, 0, 0, None)
    assert report.base_currency == "EUR" and report.missing == []


def test_a_rep_counts_only_the_deals_they_may_read(rivals):
    report = competitor_stats(actor=rivals.rep, today=TODAY)
    acme = report.of(rivals.acme.pk)
    assert (acme.won, acme.lost, acme.open, acme.won_value) == (0, 0, 1, Decimal("0.00"))
    assert report.of(rivals.globex.pk).lost == 0


def test_a_missing_rate_empties_only_the_values_it_touches(rivals):
    s = rivals.fx.stages
    make_deal(rivals.admin, [(s["Won"], at(2026, 3, 1))], amount="10", currency="GBP", competitors=[rivals.globex])
    report = competitor_stats(actor=rivals.admin, today=TODAY)
    globex = report.of(rivals.globex.pk)
    assert globex.won == 1 and globex.won_value is None and globex.lost_value == Decimal("400.00")
    assert report.of(rivals.acme.pk).won_value == Decimal("1100.00")
    assert report.missing == [
        "No exchange rate from GBP to EUR on or before 2026-04-15: add one in Settings → Currencies."
    ]


def test_the_figures_cost_two_queries_whatever_the_deals(rivals, django_assert_num_queries):
    with django_assert_num_queries(2):  # the grouped counts and sums, the rates
        competitor_stats(actor=rivals.admin, today=TODAY)
    s = rivals.fx.stages
    for i in range(15):
        make_deal(rivals.admin, [(s["Won"], at(2026, 3, 1 + i))], amount="3", competitors=[rivals.initech])
    with django_assert_num_queries(2):
        competitor_stats(actor=rivals.admin, today=TODAY)


# --- the API ----------------------------------------------------------------------------------


def test_the_stats_endpoints_give_each_competitors_figures(api, rivals):
    client = api(rivals.admin)
    resp = client.get("/api/v1/competitors/stats")
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert data["base_currency"] == "EUR" and data["missing"] == [] and data["next_cursor"] is None
    rows = {row["name"]: row for row in data["items"]}
    assert list(rows) == ["Acme", "Globex", "Initech"]
    assert rows["Acme"] == {
        "competitor_id": rivals.acme.pk,
        "name": "Acme",
        "won": 2,
        "lost": 1,
        "open": 1,
        "win_rate": pytest.approx(2 / 3),
        "won_value": "1100.00",
        "lost_value": "300.00",
    }
    assert rows["Initech"]["win_rate"] is None
    assert [r["name"] for r in client.get("/api/v1/competitors/stats?q=glob").json()["items"]] == ["Globex"]
    page = client.get("/api/v1/competitors/stats?limit=2").json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    one = client.get(f"/api/v1/competitors/{rivals.globex.pk}/stats")
    assert one.status_code == 200
    assert (one.json()["lost"], one.json()["lost_value"], one.json()["base_currency"]) == (2, "400.00", "EUR")


def test_the_stats_follow_the_readers_deal_level(api, rivals):
    data = api(rivals.rep).get(f"/api/v1/competitors/{rivals.acme.pk}/stats").json()
    assert (data["won"], data["lost"], data["open"]) == (0, 0, 1)


def test_another_workspaces_or_a_trashed_competitor_is_404(api, rivals, other_org, other_admin):
    theirs = Competitor.objects.create(org=other_org, name="Theirs")
    client = api(rivals.admin)
    for competitor_id in (theirs.pk, 999_999):
        resp = client.get(f"/api/v1/competitors/{competitor_id}/stats")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    Competitor.objects.filter(pk=rivals.initech.pk).update(deleted_at=at(2026, 4, 1))
    assert client.get(f"/api/v1/competitors/{rivals.initech.pk}/stats").status_code == 404
    names = [row["name"] for row in api(other_admin).get("/api/v1/competitors/stats").json()["items"]]
    assert names == ["Theirs"]


def test_a_role_without_deal_access_is_refused(api, rivals, monkeypatch, member_of):
    no_deal_role = member_without_deal_access(monkeypatch, member_of)
    client = api(no_deal_role)
    resp = client.get("/api/v1/competitors/stats")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied"
    assert client.get(f"/api/v1/competitors/{rivals.acme.pk}/stats").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"), [("limit=0", "limit"), ("cursor=nonsense", "cursor"), ("sort=name", "sort")]
)
def test_bad_parameters_answer_4xx_naming_them(api, rivals, query, field):
    resp = api(rivals.admin).get(f"/api/v1/competitors/stats?{query}")
    assert resp.status_code in (400, 422), resp.content
    assert field in resp.json()["error"]["fields"] or field in resp.json()["error"]["message"]


def test_the_stats_list_costs_a_bounded_number_of_queries(api, rivals, django_assert_max_num_queries):
    client = api(rivals.admin)
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/competitors/stats").status_code == 200
