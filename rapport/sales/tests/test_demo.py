"""`rapport demo` gives the demo workspace a sales history: pipelines, products, rates, and deals
whose stage histories are consistent with where each deal is now."""

from __future__ import annotations

import itertools

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery

from rapport.accounts.demo import DEMO_STEPS, build_demo
from rapport.contacts.demo import add_demo_contacts
from rapport.sales.demo import DEALS, add_demo_sales
from rapport.sales.models import Deal, DealStage, ExchangeRate, Pipeline, Product, StageKind


def test_the_demo_step_runs_after_the_demo_contacts():
    assert DEMO_STEPS.index(add_demo_contacts) < DEMO_STEPS.index(add_demo_sales)


def test_the_demo_deals_have_consistent_stage_histories(db):
    org = build_demo().org
    assert sorted(Pipeline.objects.filter(org=org).values_list("name", flat=True)) == ["New business", "Renewals"]
    deals = Deal.objects.filter(org=org)
    assert deals.count() == round(DEALS * settings.DEMO_SCALE)
    assert set(deals.values_list("stage__kind", flat=True)) == {StageKind.OPEN, StageKind.WON, StageKind.LOST}
    # Every deal has exactly one open stay, in its current stage, entered when the deal says.
    open_rows = DealStage.objects.filter(org=org, left_at__isnull=True)
    assert open_rows.count() == deals.count()
    assert not open_rows.exclude(stage_id=_current_stage()).exists()
    for deal in deals.prefetch_related("stage_history"):
        stays = sorted(deal.stage_history.all(), key=lambda row: row.entered_at)
        assert stays[0].entered_at == deal.created_at
        assert stays[-1].entered_at == deal.stage_entered_at and stays[-1].left_at is None
        assert all(a.left_at == b.entered_at for a, b in itertools.pairwise(stays))
        assert all(row.pipeline_id == deal.pipeline_id for row in stays)
    assert not deals.filter(stage__kind=StageKind.LOST, lost_reason="").exists()
    assert not deals.filter(~Q(stage__kind=StageKind.OPEN), closed_at__isnull=True).exists()
    assert not deals.filter(stage__kind=StageKind.OPEN, closed_at__isnull=False).exists()
    assert Product.objects.filter(org=org).values("sku").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    assert ExchangeRate.objects.filter(org=org, currency="EUR").count() >= 24


def _current_stage() -> Subquery:
    """The stage the history row's deal is in now."""
    return Subquery(Deal.objects.filter(pk=OuterRef("deal_id")).values("stage_id")[:1])


def test_the_demo_run_twice_adds_no_more_deals(db):
    org = build_demo().org
    count = Deal.objects.filter(org=org).count()
    build_demo()
    assert Deal.objects.filter(org=org).count() == count
