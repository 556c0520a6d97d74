"""The forecast's arithmetic with known numbers: closed won, weighted pipeline, best case, quotas and
attainment per month and quarter, conversion with rates that change between periods, what the
forecast said at the start of a period (from the stage history), groups, scope, missing rates and a
query count that does not grow with the number of deals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.models import Membership, Organization
from rapport.accounts.roles import Role
from rapport.core.errors import ValidationFailed
from rapport.core.principal import Principal
from rapport.sales.forecast import Forecast, Row, forecast, forecast_query, period_range
from rapport.sales.models import Deal, DealStage, ExchangeRate, Quota
from rapport.sales.tests.conftest import PipelineFixture
from rapport.testing.factories import TeamFactory

TODAY = date(2026, 3, 15)
D = Decimal


def at(day: str, hour: int = 12) -> datetime:
    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, hour, tzinfo=UTC)


def make_deal(
    fx: PipelineFixture,
    owner: Principal,
    amount: str,
    currency: str,
    history: list[tuple[str, str]],
    *,
    close: str | None = None,
    team: Any = None,
    name: str = "Deal",
) -> Deal:
    """A deal whose stage history is `history` [(stage name, entered day)], each stay ending when
    the next begins; the last stage is the deal's stage (closed_at = its entry if won or lost)."""
    stages = [(fx.stages[stage], at(day)) for stage, day in history]
    final, entered = stages[-1]
    deal = Deal.objects.create(
        org=fx.pipeline.org,
        owner=owner.user,
        team=team,
        name=name,
        amount=D(amount),
        currency=currency,
        expected_close_date=date.fromisoformat(close) if close else None,
        pipeline=fx.pipeline,
        stage=final,
        stage_entered_at=entered,
        closed_at=entered if final.kind != "open" else None,
    )
    for i, (stage, when) in enumerate(stages):
        left = stages[i + 1][1] if i + 1 < len(stages) else None
        DealStage.objects.create(
            org=deal.org, deal=deal, pipeline=fx.pipeline, stage=stage, entered_at=when, left_at=left
        )
    return deal


@dataclass
class Book:
    rep: Principal
    rep2: Principal
    team: Any
    deals: dict[str, Deal]


@pytest.fixture
def book(org: Organization, admin: Principal, member_of: Any, sales_pipeline: PipelineFixture) -> Book:
    """Base USD; EUR worth 1.10 in January and 1.20 from February.

    - A: 1,000 USD won 20 Jan (rep, team); was in Negotiation (70 %) on 1 Jan, expected 31 Jan.
    - B: 1,000 EUR won 25 Jan (rep, team); created 5 Jan.
    - C: 1,000 EUR won 10 Feb (rep, team); in Proposal (40 %) on 1 Feb, expected 20 Feb.
    - D: 2,000 EUR open in Proposal (40 %) since 1 Feb (rep, team), expected 20 Mar.
    - E: 500 USD open in Negotiation (70 %) since 2 Mar (rep2, no team), expected 5 Mar.
    - F: lost in January; G: open without a close date — in no period.
    """
    ExchangeRate.objects.create(org=org, currency="EUR", rate=D("1.10"), valid_from=date(2025, 12, 1))
    ExchangeRate.objects.create(org=org, currency="EUR", rate=D("1.20"), valid_from=date(2026, 2, 1))
    rep, rep2 = member_of(Role.SALES), member_of(Role.SALES)
    team = TeamFactory.create(org=org, name="Hunters")
    team.members.add(rep.membership_id)
    fx = sales_pipeline
    deals = {
        "A": make_deal(fx, rep, "1000", "USD", [("Negotiation", "2025-12-15"), ("Won", "2026-01-20")],
                       close="2026-01-31", team=team),
        "B": make_deal(fx, rep, "1000", "EUR", [("Qualified", "2026-01-05"), ("Won", "2026-01-25")],
                       close="2026-01-25", team=team),
        "C": make_deal(fx, rep, "1000", "EUR",
                       [("Qualified", "2025-12-01"), ("Proposal", "2026-01-15"), ("Won", "2026-02-10")],
                       close="2026-02-20", team=team),
        "D": make_deal(fx, rep, "2000", "EUR", [("Qualified", "2026-01-10"), ("Proposal", "2026-02-01")],
                       close="2026-03-20", team=team),
        "E": make_deal(fx, rep2, "500", "USD", [("Negotiation", "2026-03-02")], close="2026-03-05"),
        "F": make_deal(fx, rep, "9000", "USD", [("Qualified", "2026-01-02"), ("Lost", "2026-01-12")],
                       close="2026-01-12"),
        "G": make_deal(fx, rep, "9000", "USD", [("Proposal", "2026-01-02")]),
    }  # fmt: skip
    return Book(rep=Principal.for_membership(Membership.objects.get(pk=rep.membership_id)), rep2=rep2, team=team,
                deals=deals)  # fmt: skip


def run(actor: Principal, **params: Any) -> Forecast:
    query = forecast_query(actor=actor, today=TODAY, **{"start": "2026-01", **params})
    return forecast(actor=actor, query=query, today=TODAY)


def figures(row: Row, *names: str) -> list[tuple[Any, ...]]:
    return [tuple(getattr(cell, name) for name in names) for cell in row.cells]


def test_months_closed_won_weighted_and_best_case_convert_with_the_rate_of_each_day(admin, book):
    result = run(admin, periods=3)
    assert [p.key for p in result.periods] == ["2026-01", "2026-02", "2026-03"]
    assert result.statuses == ["past", "past", "current"]
    assert result.base_currency == "USD"
    row = result.total
    # Jan: 1,000 USD + 1,000 EUR x 1.10; Feb: 1,000 EUR x 1.20 (the February rate).
    assert figures(row, "closed_won", "won_deals") == [(D("2100.00"), 2), (D("1200.00"), 1), (D("0.00"), 0)]
    # Mar: D 2,000 EUR x 1.20 = 2,400 at 40 % = 960; E 500 USD at 70 % = 350.
    assert figures(row, "open_pipeline", "weighted_pipeline", "open_deals")[2] == (D("2900.00"), D("1310.00"), 2)
    assert figures(row, "forecast", "best_case") == [
        (D("2100.00"), D("2100.00")),
        (D("1200.00"), D("1200.00")),
        (D("1310.00"), D("2900.00")),
    ]
    assert (row.total.closed_won, row.total.weighted_pipeline, row.total.best_case) == (
        D("3300.00"),
        D("1310.00"),
        D("6200.00"),
    )
    assert result.missing_rates == []


def test_a_quarter_sums_its_months_and_converts_each_deal_on_its_own_day(admin, book):
    result = run(admin, period="quarter", periods=1)
    [cell] = result.total.cells
    assert result.periods[0].key == "2026-Q1" and result.periods[0].label == "Q1 2026"
    assert (cell.closed_won, cell.weighted_pipeline, cell.best_case) == (D("3300.00"), D("1310.00"), D("6200.00"))


def test_quota_attainment_and_a_quarters_quota_from_its_months(admin, book):
    rep = book.rep
    for start, amount in (("2026-01-01", "2000"), ("2026-02-01", "1000"), ("2026-03-01", "3000")):
        Quota.objects.create(org=admin.org, user=rep.user, period="month", period_start=start, amount=D(amount))
    months = run(admin, periods=3, group="owner")
    mine = next(r for r in months.rows if r.id == rep.user_id)
    assert figures(mine, "quota", "attainment") == [
        (D("2000"), D("105.0")),  # 2,100 / 2,000
        (D("1000"), D("120.0")),
        (D("3000"), D("0.0")),
    ]
    assert (mine.total.quota, mine.total.attainment) == (D("6000"), D("55.0"))
    other = next(r for r in months.rows if r.id == book.rep2.user_id)
    assert figures(other, "quota", "attainment")[2] == (None, None)
    quarter = run(admin, period="quarter", periods=1, group="owner")
    mine = next(r for r in quarter.rows if r.id == rep.user_id)
    assert (mine.cells[0].quota, mine.cells[0].attainment) == (D("6000"), D("55.0"))  # sum of the months
    Quota.objects.create(org=admin.org, user=rep.user, period="quarter", period_start="2026-01-01", amount=D("5000"))
    quarter = run(admin, period="quarter", periods=1, group="owner")
    mine = next(r for r in quarter.rows if r.id == rep.user_id)
    assert (mine.cells[0].quota, mine.cells[0].attainment) == (D("5000"), D("66.0"))  # the quarter's own
    months = run(admin, periods=3)
    assert [c.quota for c in months.total.cells] == [D("2000"), D("1000"), D("3000")]  # a month has only its own


def test_forecast_at_the_start_of_a_period_comes_from_the_stage_history(admin, book):
    result = run(admin, periods=4)
    row = result.total
    # 1 Jan: A was in Negotiation (70 %), expected in January: 700. B did not exist yet.
    # 1 Feb: C was in Proposal (40 %): 1,000 EUR x 1.20 (its expected day's rate) x 40 % = 480.
    # 1 Mar: D in Proposal: 2,400 x 40 % = 960; E came in on 2 Mar.
    assert figures(row, "forecast_at_start", "best_case_at_start", "variance")[:3] == [
        (D("700.00"), D("1000.00"), D("1400.00")),
        (D("480.00"), D("1200.00"), D("720.00")),
        (D("960.00"), D("2400.00"), D("-960.00")),
    ]
    assert result.statuses[3] == "future"
    assert figures(row, "forecast_at_start", "variance")[3] == (None, None)
    assert (row.total.forecast_at_start, row.total.variance) == (D("2140.00"), D("1160.00"))


def test_groups_by_owner_and_by_team(admin, book):
    owners = run(admin, periods=3, group="owner")
    names = {r.id: r for r in owners.rows}
    assert set(names) == {book.rep.user_id, book.rep2.user_id}
    assert names[book.rep2.user_id].cells[2].weighted_pipeline == D("350.00")
    assert names[book.rep.user_id].total.closed_won == D("3300.00")
    assert owners.total.total.closed_won == D("3300.00")
    teams = run(admin, periods=3, group="team")
    assert [(r.key, r.name) for r in teams.rows] == [(f"team:{book.team.pk}", "Hunters"), ("team:none", "No team")]
    assert [r.total.weighted_pipeline for r in teams.rows] == [D("960.00"), D("350.00")]


def test_a_rep_sees_only_the_deals_and_quotas_their_level_covers(admin, book):
    Quota.objects.create(org=admin.org, user=book.rep.user, period="month", period_start="2026-03-01", amount=D("1"))
    Quota.objects.create(org=admin.org, user=book.rep2.user, period="month", period_start="2026-03-01", amount=D("7"))
    lone = run(book.rep2, periods=3, group="owner")
    assert [r.id for r in lone.rows] == [book.rep2.user_id]
    assert lone.total.total.closed_won == D("0.00")
    assert lone.total.cells[2].weighted_pipeline == D("350.00")
    assert lone.total.cells[2].quota == D("7")
    teammate = run(book.rep, periods=3)
    assert teammate.total.total.closed_won == D("3300.00")  # own and team: E (rep2, no team) is not there
    assert teammate.total.cells[2].weighted_pipeline == D("960.00")
    assert teammate.total.cells[2].quota == D("1")


def test_a_pipeline_filter_narrows_the_deals(admin, book, org):
    from rapport.sales.tests.conftest import make_pipeline

    other = make_pipeline(org, "Renewals")
    make_deal(other, admin, "100", "USD", [("Won", "2026-01-03")])
    assert run(admin, periods=1).total.cells[0].closed_won == D("2200.00")
    only = run(admin, periods=1, pipeline=str(other.pipeline.pk))
    assert only.total.cells[0].closed_won == D("100.00")


def test_a_missing_rate_gives_no_total_and_names_the_currency_and_day(admin, book, sales_pipeline):
    make_deal(sales_pipeline, admin, "100", "GBP", [("Won", "2026-02-03")])
    result = run(admin, periods=3)
    jan, feb, _ = result.total.cells
    assert jan.closed_won == D("2100.00") and jan.missing == []
    assert (feb.closed_won, feb.forecast, feb.missing) == (None, None, ["GBP"])
    assert result.total.total.closed_won is None
    [gap] = result.missing_rates
    assert (gap.currency, gap.on) == ("GBP", date(2026, 2, 3))
    assert "No exchange rate from GBP to USD on or before 2026-02-03" in gap.message


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "week"}, "period"),
        ({"start": "2026-13"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"periods": "0"}, "periods"),
        ({"periods": "25"}, "periods"),
        ({"periods": "many"}, "periods"),
        ({"group": "region"}, "group"),
        ({"pipeline": "999999"}, "pipeline"),
        ({"pipeline": "abc"}, "pipeline"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(admin, params, field):
    with pytest.raises(ValidationFailed) as caught:
        forecast_query(actor=admin, **params)
    assert field in caught.value.fields


def test_another_workspaces_pipeline_is_an_unknown_pipeline(admin, other_pipeline):
    with pytest.raises(ValidationFailed) as caught:
        forecast_query(actor=admin, pipeline=other_pipeline.pipeline.pk)
    assert caught.value.fields == {"pipeline": "No such pipeline."}


def test_defaults_and_a_start_inside_a_period(admin):
    query = forecast_query(actor=admin, today=TODAY)
    assert (query.period, query.start, query.periods, query.group) == ("month", date(2026, 1, 1), 12, "workspace")
    query = forecast_query(actor=admin, period="quarter", start="2026-05-17", today=TODAY)
    assert (query.start, query.periods) == (date(2026, 4, 1), 4)
    assert [p.key for p in period_range("quarter", date(2026, 11, 1), 2)] == ["2026-Q4", "2027-Q1"]


def _count_queries(actor: Principal, group: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        run(actor, periods=12, group=group)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("group", ["workspace", "team", "owner"])
def test_the_query_count_does_not_grow_with_the_number_of_deals(admin, book, sales_pipeline, group):
    before = _count_queries(admin, group)
    for n in range(30):
        make_deal(
            sales_pipeline,
            book.rep if n % 2 else book.rep2,
            "10",
            ["USD", "EUR"][n % 2],
            [("Qualified", f"2026-01-{n % 27 + 1:02d}"), ("Won" if n % 3 else "Proposal", f"2026-02-{n % 27 + 1:02d}")],
            close=f"2026-0{n % 9 + 1}-10",
            team=book.team if n % 4 else None,
        )
    assert _count_queries(admin, group) == before
    assert before <= 9
