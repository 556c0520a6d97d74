"""The sales dashboard's figures against hand-counted numbers: value by stage in two currencies,
won and lost in the period, win rate, average deal and cycle, conversion, rotting deals, the
monthly values; the deal levels (a rep sees their own deals' figures); periods; missing rates;
and a number of queries that does not grow with the deals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.core.errors import ValidationFailed
from rapport.core.principal import Principal
from rapport.sales import dashboard
from rapport.sales.tests.conftest import PipelineFixture
from rapport.sales.tests.deal_data import Scene, at, make_deal, march_scene

NOW = at(2026, 4, 15)
MARCH = dashboard.Period("custom", date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def scene(org, admin, member_of, sales_pipeline) -> Scene:
    return march_scene(org, admin, member_of(Role.SALES), sales_pipeline)


def figures(actor: Principal, fx: PipelineFixture, period: dashboard.Period = MARCH, **filters: Any) -> Any:
    pipeline = dashboard.pick_pipeline(dashboard.dashboard_pipelines(actor=actor), fx.pipeline.pk)
    return dashboard.sales_dashboard(
        actor=actor, pipeline=pipeline, filters=dashboard.DashboardFilter(period=period, **filters), now=NOW
    )


def test_pipeline_value_by_stage_converts_each_currency_with_todays_rate(scene):
    board = figures(scene.admin, scene.fx)
    assert [(v.stage.name, v.count, v.value) for v in board.stages] == [
        ("Qualified", 1, Decimal("300.00")),
        ("Proposal", 1, Decimal("16.00")),  # 40 USD x 0.4
        ("Negotiation", 1, Decimal("700.00")),
    ]
    assert (board.open_count, board.open_value, board.base_currency) == (3, Decimal("1016.00"), "EUR")
    assert board.missing == []


def test_won_and_lost_in_the_period_with_win_rate_average_deal_and_cycle(scene):
    board = figures(scene.admin, scene.fx)
    assert (board.won.count, board.won.value) == (2, Decimal("1100.00"))  # 1000 + 200 USD x 0.5 (March)
    assert (board.lost.count, board.lost.value) == (1, Decimal("500.00"))
    assert board.win_rate == pytest.approx(2 / 3)
    assert board.average_won == Decimal("550.00")
    assert board.average_cycle_days == pytest.approx(15.0)  # (10 + 20) / 2
    assert [(m.month, m.count, m.value) for m in board.by_month] == [(date(2026, 3, 1), 2, Decimal("1100.00"))]


def test_each_month_converts_with_its_own_rate(scene):
    period = dashboard.Period("custom", date(2026, 2, 1), date(2026, 4, 30))
    s = scene.fx.stages
    make_deal(scene.admin, [(s["Qualified"], at(2026, 4, 1)), (s["Won"], at(2026, 4, 2))], amount="100", currency="USD")
    board = figures(scene.admin, scene.fx, period)
    assert [(m.month.month, m.count, m.value) for m in board.by_month] == [
        (2, 1, Decimal("999.00")),
        (3, 2, Decimal("1100.00")),
        (4, 1, Decimal("40.00")),  # April's rate
    ]
    assert board.won.value == Decimal("2139.00") and board.won.count == 4


def test_conversion_follows_the_deals_created_in_the_period(scene):
    board = figures(scene.admin, scene.fx)
    steps = [(f.stage.name, f.entered, f.rate) for f in board.funnel]
    # Created in March: d1, d2, d3, d5, d6, d7. Qualified 6 → Proposal 4 (d1, d3, d6, d7) →
    # Negotiation 1 (d7) → Won 0 of d7; 2 deals entered Won (d1 from Proposal, d2 from Qualified).
    assert steps == [
        ("Qualified", 6, pytest.approx(4 / 6)),
        ("Proposal", 4, pytest.approx(1 / 4)),
        ("Negotiation", 1, 0.0),
        ("Won", 2, None),
    ]


def test_rotting_deals_are_the_open_ones_past_their_stages_rotting_days_longest_first(scene):
    board = figures(scene.admin, scene.fx)
    assert [(d.name, d.pk, d.days, d.days_over) for d in board.rotting] == [
        ("Deal", scene.deals["d5"].pk, 26, 12),
        ("Deal", scene.deals["d7"].pk, 16, 2),
    ]
    assert board.rotting_count == 2


def test_a_sales_rep_sees_only_the_figures_of_their_own_deals(scene):
    s = scene.fx.stages
    make_deal(scene.rep, [(s["Qualified"], at(2026, 3, 1)), (s["Won"], at(2026, 3, 4))], amount="80")
    make_deal(scene.rep, [(s["Proposal"], at(2026, 3, 1))], amount="20")
    board = figures(scene.rep, scene.fx)
    assert (board.won.count, board.won.value, board.lost.count) == (1, Decimal("80.00"), 0)
    assert board.win_rate == 1.0 and board.average_cycle_days == pytest.approx(3.0)
    assert (board.open_count, board.open_value) == (1, Decimal("20.00"))
    assert board.rotting_count == 1  # their Proposal deal: 45 days > 21
    # The admin filtering by the rep sees the same.
    by_owner = figures(scene.admin, scene.fx, owner_id=scene.rep.user_id)
    assert (by_owner.won.count, by_owner.open_value) == (1, Decimal("20.00"))


def test_a_missing_rate_empties_the_figures_it_touches_and_says_so(scene):
    s = scene.fx.stages
    make_deal(scene.admin, [(s["Proposal"], at(2026, 4, 1))], amount="10", currency="GBP")
    board = figures(scene.admin, scene.fx)
    by_stage = {v.stage.name: v.value for v in board.stages}
    assert by_stage == {"Qualified": Decimal("300.00"), "Proposal": None, "Negotiation": Decimal("700.00")}
    assert board.open_value is None
    assert board.won.value == Decimal("1100.00")  # closed deals have no GBP
    assert board.missing == [
        "No exchange rate from GBP to EUR on or before 2026-04-15: add one in Settings → Currencies."
    ]


def test_periods_around_a_day():
    today = date(2026, 5, 20)

    def span(key: str) -> tuple[date, date]:
        period = dashboard.period_for(key, today=today)
        return period.start, period.end

    assert span("month") == (date(2026, 5, 1), date(2026, 5, 31))
    assert span("quarter") == (date(2026, 4, 1), date(2026, 6, 30))
    assert span("year") == (date(2026, 1, 1), date(2026, 12, 31))
    assert span("last12") == (date(2025, 6, 1), date(2026, 5, 31))
    assert len(dashboard.period_for("last12", today=today).months()) == 12
    assert dashboard.period_for(None, today=today).key == "quarter"
    assert dashboard.period_for("quarter", today=date(2026, 12, 31)).start == date(2026, 10, 1)
    custom = dashboard.period_for("custom", today=today, start=date(2026, 1, 15), end=date(2026, 2, 3))
    assert (custom.start, custom.end, custom.label) == (
        date(2026, 1, 15),
        date(2026, 2, 3),
        "15 Jan 2026 to 3 Feb 2026",
    )


@pytest.mark.parametrize(
    ("key", "start", "end", "field"),
    [
        ("week", None, None, "period"),
        ("custom", date(2026, 1, 1), None, "to"),
        ("custom", None, date(2026, 1, 1), "from"),
        ("custom", date(2026, 2, 1), date(2026, 1, 1), "to"),
        ("custom", date(2023, 1, 1), date(2026, 1, 1), "to"),
        ("custom", date(1, 1, 1), date(1, 2, 1), "from"),
        ("month", date(2026, 1, 1), None, "period"),
    ],
)
def test_bad_periods_are_refused_naming_the_field(key, start, end, field):
    with pytest.raises(ValidationFailed) as caught:
        dashboard.period_for(key, today=date(2026, 5, 20), start=start, end=end)
    assert list(caught.value.fields) == [field]


def test_the_number_of_queries_does_not_grow_with_the_deals(scene):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            figures(scene.admin, scene.fx)
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        s = scene.fx.stages
        for i in range(n):
            make_deal(scene.admin, [(s["Qualified"], at(2026, 3, 1 + i)), (s["Won"], at(2026, 3, 2 + i))], amount="5")
            make_deal(scene.admin, [(s["Qualified"], at(2026, 3, 1 + i))], amount="7", currency="USD")

    add(dashboard.ROTTING_SHOWN)  # a full list of rotting deals: their count is one more query
    before = count()
    add(25)
    assert count() == before
    assert before <= 16
