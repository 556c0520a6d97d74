"""Stage-history statistics with known numbers: histories with fixed timestamps, exact results.

Histories (T = 2030-01-01 00:00 UTC, "now" = T + 20 days), stages Qualified (Q), Proposal (P),
Negotiation (N), Won, Lost:
    A: Q [0, 2)  P [2, 5)  Won [5, now)
    B: Q [0, 4)  P [4, 10) N [10, 12) Won [12, now)
    C: Q [1, 7)  Lost [7, now)
    D: Q [0, 1)  P [1, 3)  Q [3, 4)  P [4, now)          (went back once)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.accounts.roles import Role
from rapport.sales import deal_services
from rapport.sales.deal_stats import (
    average_time_in_stage,
    conversion,
    deal_stage_rows,
    funnel,
    time_in_stage,
    velocity,
)
from rapport.sales.models import Deal, DealStage

T = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T + timedelta(days=20)
D = timedelta(days=1)

HISTORIES = {
    "A": [("Qualified", 0, 2), ("Proposal", 2, 5), ("Won", 5, None)],
    "B": [("Qualified", 0, 4), ("Proposal", 4, 10), ("Negotiation", 10, 12), ("Won", 12, None)],
    "C": [("Qualified", 1, 7), ("Lost", 7, None)],
    "D": [("Qualified", 0, 1), ("Proposal", 1, 3), ("Qualified", 3, 4), ("Proposal", 4, None)],
}


def build(actor, pipeline, histories=HISTORIES) -> dict[str, Deal]:
    """Deals whose stage history is exactly `histories` (days after T; None: still there)."""
    deals = {}
    for name, stays in histories.items():
        deal = deal_services.deal_create(actor=actor, data={"name": name, "pipeline_id": pipeline.pipeline.pk})
        DealStage.objects.filter(deal=deal).delete()
        DealStage.objects.bulk_create(
            [
                DealStage(
                    org_id=actor.org_id,
                    deal=deal,
                    pipeline=pipeline.pipeline,
                    stage=pipeline.stages[stage],
                    entered_at=T + start * D,
                    left_at=None if end is None else T + end * D,
                )
                for stage, start, end in stays
            ]
        )
        last_stage = pipeline.stages[stays[-1][0]]
        Deal.objects.filter(pk=deal.pk).update(stage=last_stage, stage_entered_at=T + stays[-1][1] * D)
        deals[name] = deal
    return deals


@pytest.fixture
def known(admin, sales_pipeline):
    deals = build(admin, sales_pipeline)
    return deals, sales_pipeline.stages, deal_stage_rows(actor=admin)


def test_time_in_stage_per_deal_sums_every_stay_and_counts_an_open_one_until_now(known):
    deals, s, rows = known
    spent = time_in_stage(rows, now=NOW)
    assert spent[deals["A"].pk] == {s["Qualified"].pk: 2 * D, s["Proposal"].pk: 3 * D, s["Won"].pk: 15 * D}
    assert spent[deals["B"].pk] == {
        s["Qualified"].pk: 4 * D,
        s["Proposal"].pk: 6 * D,
        s["Negotiation"].pk: 2 * D,
        s["Won"].pk: 8 * D,
    }
    assert spent[deals["C"].pk] == {s["Qualified"].pk: 6 * D, s["Lost"].pk: 13 * D}
    assert spent[deals["D"].pk] == {s["Qualified"].pk: 2 * D, s["Proposal"].pk: 18 * D}


def test_average_time_in_stage_is_the_mean_over_the_deals_that_stayed_there(known):
    _deals, s, rows = known
    average = average_time_in_stage(rows, now=NOW)
    assert average[s["Qualified"].pk] == timedelta(days=3.5)  # (2 + 4 + 6 + 2) / 4
    assert average[s["Proposal"].pk] == 9 * D  # (3 + 6 + 18) / 3
    assert average[s["Negotiation"].pk] == 2 * D
    assert average[s["Won"].pk] == timedelta(days=11.5)  # (15 + 8) / 2


def test_velocity_is_the_mean_days_from_start_to_won(known):
    _deals, _s, rows = known
    result = velocity(rows)
    assert result.won_deals == 2 and result.average_days == 8.5  # (5 + 12) / 2


def test_velocity_without_won_deals_is_none(admin, sales_pipeline):
    build(admin, sales_pipeline, {"C": HISTORIES["C"]})
    assert velocity(deal_stage_rows(actor=admin)).average_days is None


def test_conversion_counts_each_deal_once_and_only_later_entries(known):
    _deals, s, rows = known
    q_to_p = conversion(rows, s["Qualified"].pk, s["Proposal"].pk)
    assert (q_to_p.entered, q_to_p.converted, q_to_p.rate) == (4, 3, 0.75)  # A, B, D of A, B, C, D
    p_to_q = conversion(rows, s["Proposal"].pk, s["Qualified"].pk)
    assert (p_to_q.entered, p_to_q.converted) == (3, 1)  # only D went back after Proposal
    q_to_won = conversion(rows, s["Qualified"].pk, s["Won"].pk)
    assert q_to_won.rate == 0.5
    nothing = conversion(rows, s["Lost"].pk, s["Won"].pk)
    assert (nothing.entered, nothing.converted, nothing.rate) == (1, 0, 0.0)


def test_funnel_of_consecutive_stages(known):
    _deals, s, rows = known
    steps = funnel(rows, [s["Qualified"].pk, s["Proposal"].pk, s["Negotiation"].pk, s["Won"].pk])
    assert [(c.entered, c.converted) for c in steps] == [(4, 3), (3, 1), (1, 1)]
    assert steps[1].rate == pytest.approx(1 / 3)


def test_the_rows_are_those_of_living_deals_the_actor_may_read(known, admin, member_of, sales_pipeline):
    deals, _s, _rows = known
    deal_services.deal_delete(actor=admin, deal=deals["B"])
    rows = deal_stage_rows(actor=admin)
    assert velocity(rows).average_days == 5.0  # A alone
    rep = member_of(Role.SALES)
    assert not deal_stage_rows(actor=rep).exists()  # none of these deals is the rep's
    build(rep, sales_pipeline, {"E": [("Qualified", 0, 3), ("Won", 3, None)]})
    assert velocity(deal_stage_rows(actor=rep)).average_days == 3.0
    assert velocity(deal_stage_rows(actor=admin, pipeline_id=sales_pipeline.pipeline.pk)).won_deals == 2
