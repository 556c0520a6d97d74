"""`rapport demo` gives the demo workspace a sales history: pipelines, products, rates, deals
whose stage histories are consistent with where each deal is now, and orders with repeat-purchase
patterns that the 360° facts and timelines show."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from rapport.accounts.demo import DEMO_STEPS, build_demo
from rapport.accounts.models import Membership
from rapport.contacts.demo import add_demo_contacts
from rapport.contacts.facts import facts_for
from rapport.contacts.models import Contact
from rapport.contacts.timeline import timeline
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales.demo import DEALS, add_demo_sales
from rapport.sales.models import Deal, DealStage, ExchangeRate, Order, Pipeline, Product, StageKind
from rapport.sales.order_demo import ORDERS
from rapport.sales.order_timeline import PURCHASES


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


def _demo_admin(org: Any) -> Principal:
    return Principal.for_membership(Membership.objects.select_related("user", "org").get(org=org, role="admin"))


def test_the_demo_orders_have_repeat_purchase_patterns(db):
    org = build_demo().org
    orders = Order.objects.filter(org=org)
    assert orders.count() == max(1, round(ORDERS * settings.DEMO_SCALE))
    # Numbered from 1001 in the order they were placed, entered when placed.
    rows = list(orders.order_by("number").values_list("number", "ordered_at", "created_at"))
    assert [number for number, _, _ in rows] == list(range(1001, 1001 + len(rows)))
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(rows)) and all(at == c for _, at, c in rows)
    # Totals are the sums of 1 to 5 lines.
    sums = orders.annotate(n=Count("lines"), lines_total=Sum("lines__line_total"))
    assert not [o.pk for o in sums if o.total != o.lines_total or not 1 <= o.n <= 5]
    assert {o.n for o in sums} == {1, 2, 3, 4, 5}
    # Loyal buyers, many one-time buyers, and buyers who stopped long ago.
    per_contact = Counter(orders.values_list("contact_id", flat=True))
    assert max(per_contact.values()) >= 8 and sum(n == 1 for n in per_contact.values()) >= len(per_contact) / 4
    assert orders.filter(ordered_at__lt=timezone.now() - timedelta(days=365)).exists()
    statuses = set(orders.values_list("status", flat=True))
    assert {"completed", "cancelled", "refunded"} <= statuses
    assert set(orders.values_list("currency", flat=True)) >= {"USD", "EUR"}
    # A B2B contact's orders carry their company; won deals became orders.
    assert not orders.filter(company__isnull=False).exclude(contact__company_id=F("company_id")).exists()
    assert orders.filter(company__isnull=False).exists() and orders.filter(company__isnull=True).exists()
    assert orders.filter(deal__stage__kind=StageKind.WON).exists()
    assert Event.objects.filter(org=org, verb="order.created").count() == orders.count()
    # The audit trail dates each demo record's creation when it happened, not when the demo ran.
    placed = dict(orders.values_list("pk", "ordered_at"))
    events = Event.objects.filter(org=org, verb="order.created").values_list("subject_id", "created_at")
    assert all(placed[pk] == at for pk, at in events)
    created = dict(Deal.objects.filter(org=org).values_list("pk", "created_at"))
    events = Event.objects.filter(org=org, verb="deal.created").values_list("subject_id", "created_at")
    assert len(events) == len(created) and all(created[pk] == at for pk, at in events)


def test_the_demo_orders_show_in_the_360_facts_and_on_the_timeline(db):
    org = build_demo().org
    actor = _demo_admin(org)
    contact_id, _ = Counter(Order.objects.filter(org=org).values_list("contact_id", flat=True)).most_common(1)[0]
    contact = Contact.objects.get(pk=contact_id)
    purchases = Order.objects.filter(org=org, contact=contact, status__in=PURCHASES)
    facts = {fact.label: fact.value for fact in facts_for(actor=actor, subject_type="contact", record=contact)}
    assert facts["Orders"] == str(purchases.count())
    assert facts["Last purchase"] == purchases.latest("ordered_at").ordered_at.date().isoformat()
    assert facts["Lifetime revenue"].startswith("USD ")
    items = timeline(actor=actor, subjects=[("contact", [contact.pk])], kinds=["order"], limit=5)
    newest = Order.objects.filter(org=org, contact=contact).latest("ordered_at")
    assert items and items[0].title.startswith(f"Order {newest.number}:")


def test_the_demo_run_twice_adds_no_more_orders(db):
    org = build_demo().org
    count = Order.objects.filter(org=org).count()
    build_demo()
    assert Order.objects.filter(org=org).count() == count
