"""Demo sales data for `rapport demo`: two pipelines, a product catalogue, competitors, monthly
exchange rates, ~2,000 deals over two years with realistic stage histories, and ~50,000 orders
(rapport.sales.order_demo).

Deterministic (a fixed seed). Deals walk their pipeline stage by stage from the day they were
created; older deals are mostly closed (won or lost with a reason), recent ones are still open
somewhere in the pipeline. Written with bulk inserts (deals, their history rows, one
`deal.created` event each). Run again, it leaves an existing demo pipeline as it is.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.contacts.models import Contact
from rapport.core.bulk import insert_rows
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales.models import (
    Competitor,
    Deal,
    DealContact,
    DealRole,
    DealStage,
    ExchangeRate,
    Pipeline,
    Product,
    Quota,
    Stage,
    StageKind,
)
from rapport.sales.order_demo import EVENT_COLUMNS, add_demo_orders
from rapport.sales.quote_demo import add_demo_quotes

SEED = 20261204
DEALS = 2_000
PRODUCTS = 200
DAYS = 730
BATCH = 1_000

# (name, probability, kind, rotting days)
PIPELINES = {
    "New business": [
        ("Qualified", 10, StageKind.OPEN, 14),
        ("Discovery", 25, StageKind.OPEN, 21),
        ("Proposal", 50, StageKind.OPEN, 21),
        ("Negotiation", 75, StageKind.OPEN, 14),
        ("Won", 100, StageKind.WON, None),
        ("Lost", 0, StageKind.LOST, None),
    ],
    "Renewals": [
        ("Up for renewal", 60, StageKind.OPEN, 30),
        ("Negotiation", 80, StageKind.OPEN, 14),
        ("Renewed", 100, StageKind.WON, None),
        ("Churned", 0, StageKind.LOST, None),
    ],
}
# Of the deals that reach a stage, the share that goes on to the next open stage (else: lost).
ADVANCE = 0.72
CATEGORIES = {
    "Software licences": ("SW", 200, 20_000),
    "Support plans": ("SUP", 500, 12_000),
    "Training": ("TRN", 300, 5_000),
    "Hardware": ("HW", 80, 8_000),
    "Consulting": ("CON", 1_000, 30_000),
}
COMPETITORS = [
    ("Northwind CRM", "northwind.example", "Cheap entry plan", "Weak reporting"),
    ("Contoso Sales Cloud", "contoso.example", "Big brand, many integrations", "Expensive, slow support"),
    ("Fabrikam Suite", "fabrikam.example", "Strong in manufacturing", "Dated interface"),
    ("Tailspin CX", "tailspin.example", "Good service module", "No forecasting"),
    ("Litware Pipeline", "litware.example", "Simple and fast", "No customisation"),
]
LOST_REASONS = ["Price too high", "Chose a competitor", "No budget this year", "No decision", "Missing feature"]
SOURCES = ["Website", "Referral", "Event", "Outbound", "Partner", "Campaign"]
# Value of one unit in USD (the demo workspace's base currency) two years ago; it drifts a little.
RATES = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}


def _scaled(count: int) -> int:
    return max(1, round(count * settings.DEMO_SCALE))


@transaction.atomic
def add_demo_sales(actor: Principal) -> None:
    """Fill the demo workspace with its sales history, once (after the contacts)."""
    if Pipeline.objects.filter(org_id=actor.org_id).exists():
        return
    rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
    org_id = actor.org_id
    now = timezone.now()
    stages = _pipelines(org_id)
    _products(org_id, rng)
    competitors = [
        Competitor.objects.create(org_id=org_id, name=n, website=f"https://{w}", strengths=s, weaknesses=k)
        for n, w, s, k in COMPETITORS
    ]
    _rates(org_id, rng, now.date())
    contacts = list(
        Contact.objects.filter(org_id=org_id, deleted_at__isnull=True, company__isnull=False)
        .order_by("id")
        .values_list("pk", "company_id", "owner_id", "team_id")
    )
    if not contacts:
        return
    owners = list(
        Membership.objects.filter(org_id=org_id, is_active=True, role__in=["admin", "manager", "sales"]).values_list(
            "user_id", flat=True
        )
    ) or [actor.user_id]
    deals: list[Deal] = []
    histories: list[list[tuple[Stage, datetime, datetime | None]]] = []
    for _ in range(_scaled(DEALS)):
        contact_id, company_id, contact_owner, team_id = rng.choice(contacts)
        pipeline = "Renewals" if rng.random() < 0.25 else "New business"
        created = now - timedelta(days=DAYS * rng.random() ** 1.6, hours=rng.randrange(24))  # more of them recent
        history = _walk(rng, stages[pipeline], created, now)
        final_stage, entered, _left = history[-1]
        currency = rng.choices(["USD", "EUR", "GBP"], [70, 20, 10])[0]
        closed = final_stage.kind != StageKind.OPEN
        deals.append(
            Deal(
                org_id=org_id,
                created_by_id=actor.user_id,
                owner_id=contact_owner if contact_owner in owners else rng.choice(owners),
                team_id=team_id,
                name=f"{rng.choice(['Platform', 'Expansion', 'Pilot', 'Licences', 'Services'])} deal #{len(deals) + 1}",
                amount=Decimal(round(rng.lognormvariate(9.3, 0.9), -1)).quantize(Decimal("0.01")),
                currency=currency,
                expected_close_date=(created + timedelta(days=rng.randrange(30, 120))).date(),
                pipeline_id=final_stage.pipeline_id,
                stage=final_stage,
                stage_entered_at=entered,
                contact_id=contact_id,
                company_id=company_id,
                source=rng.choice(SOURCES),
                lost_reason=rng.choice(LOST_REASONS) if final_stage.kind == StageKind.LOST else "",
                closed_at=entered if closed else None,
                created_at=created,
            )
        )
        histories.append(history)
    _write(actor, deals, histories, competitors, rng)
    _quotas(actor, owners, now)  # the sellers' targets, for the forecast
    add_demo_orders(actor)  # the purchase history (rapport.sales.order_demo)
    add_demo_quotes(actor, now)  # products on some deals, and their quotes (rapport.sales.quote_demo)


def _pipelines(org_id: int) -> dict[str, list[Stage]]:
    result: dict[str, list[Stage]] = {}
    for position, (name, spec) in enumerate(PIPELINES.items()):
        pipeline = Pipeline.objects.create(org_id=org_id, name=name, position=position)
        result[name] = [
            Stage.objects.create(
                org_id=org_id, pipeline=pipeline, name=n, position=i, probability=p, kind=k, rotting_days=r
            )
            for i, (n, p, k, r) in enumerate(spec)
        ]
    return result


def _walk(
    rng: random.Random, stages: list[Stage], created: datetime, now: datetime
) -> list[tuple[Stage, datetime, datetime | None]]:
    """The stays of one deal: through the open stages in order, then won or lost, until today."""
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    history: list[tuple[Stage, datetime, datetime | None]] = []
    when = created
    for index, stage in enumerate(open_stages):
        stay = timedelta(days=rng.expovariate(1 / 16), hours=rng.randrange(24))
        if when + stay > now:  # still here today
            history.append((stage, when, None))
            return history
        history.append((stage, when, when + stay))
        when += stay
        last = index == len(open_stages) - 1
        if rng.random() > ADVANCE:
            history.append((lost, when, None))
            return history
        if last:
            history.append((won, when, None))
    return history


def _products(org_id: int, rng: random.Random) -> None:
    per_category = max(1, _scaled(PRODUCTS) // len(CATEGORIES))
    products = []
    for category, (prefix, low, high) in CATEGORIES.items():
        for n in range(1, per_category + 1):
            price = Decimal(round(rng.uniform(low, high), -1)).quantize(Decimal("0.01"))
            products.append(
                Product(
                    org_id=org_id,
                    sku=f"{prefix}-{n:03d}",
                    name=f"{category.rstrip('s')} {n}",
                    category=category,
                    unit_price=price,
                    currency="EUR" if rng.random() < 0.15 else "USD",
                    active=rng.random() > 0.05,
                )
            )
    Product.objects.bulk_create(products)


def _rates(org_id: int, rng: random.Random, today: date) -> None:
    rates = []
    for currency, start in RATES.items():
        value = start
        month = date(today.year - 2, today.month, 1)
        while month <= today:
            rates.append(
                ExchangeRate(org_id=org_id, currency=currency, rate=value.quantize(Decimal("0.0001")), valid_from=month)
            )
            value *= Decimal(str(1 + rng.uniform(-0.015, 0.015)))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    ExchangeRate.objects.bulk_create(rates)


def _write(
    actor: Principal,
    deals: list[Deal],
    histories: list[list[tuple[Stage, datetime, datetime | None]]],
    competitors: list[Competitor],
    rng: random.Random,
) -> None:
    rows: list[DealStage] = []
    links: list[DealContact] = []
    events: list[tuple[Any, ...]] = []
    through: list[Any] = []
    for start in range(0, len(deals), BATCH):
        batch = Deal.objects.bulk_create(deals[start : start + BATCH])
        # auto_now_add stamped them now: put back when each deal was really created.
        for deal, history in zip(batch, histories[start : start + BATCH], strict=True):
            deal.created_at = history[0][1]
        Deal.objects.bulk_update(batch, ["created_at"])
        for deal, history in zip(batch, histories[start : start + BATCH], strict=True):
            rows += [
                DealStage(
                    org_id=deal.org_id, deal=deal, pipeline_id=deal.pipeline_id, stage=stage, entered_at=e, left_at=left
                )
                for stage, e, left in history
            ]
            if deal.contact_id is not None:
                links.append(
                    DealContact(org_id=deal.org_id, deal=deal, contact_id=deal.contact_id, role=DealRole.CHAMPION)
                )
            if rng.random() < 0.3:
                through.append(Deal.competitors.through(deal_id=deal.pk, competitor_id=rng.choice(competitors).pk))
            changes = {"name": [None, deal.name], "stage": [None, history[0][0].name]}
            # Stamped when the deal was created (bulk_create would stamp every event now).
            stamp = connection.ops.adapt_datetimefield_value(deal.created_at)
            events.append((deal.org_id, actor.user_id, "deal.created", "deal", deal.pk, json.dumps(changes), "", stamp))
    DealStage.objects.bulk_create(rows, batch_size=BATCH)
    DealContact.objects.bulk_create(links, batch_size=BATCH)
    Deal.competitors.through.objects.bulk_create(through, batch_size=BATCH)
    insert_rows(Event, EVENT_COLUMNS, events)


def _quotas(actor: Principal, owners: list[int], now: datetime) -> None:
    """Monthly quotas for the sellers from a year ago to three months ahead: each seller's won
    amount per month over the last year plus 10 %, to the thousand (at least 5,000), so attainment
    hovers around 90 %. Won amounts are added up whatever their currency: a target, not a report."""
    won = dict(
        Deal.objects.filter(
            org_id=actor.org_id,
            owner_id__in=owners,
            stage__kind=StageKind.WON,
            closed_at__gte=now - timedelta(days=365),
        )
        .values("owner_id")
        .annotate(total=Sum("amount"))
        .values_list("owner_id", "total")
    )
    first = now.year * 12 + now.month - 1 - 12
    months = [date(m // 12, m % 12 + 1, 1) for m in range(first, first + 16)]
    quotas = []
    for user_id in owners:
        monthly = max(
            Decimal(5000), (won.get(user_id, Decimal(0)) * Decimal("1.1") / 12 / 1000).quantize(Decimal(1)) * 1000
        )
        quotas += [
            Quota(
                org_id=actor.org_id,
                created_by_id=actor.user_id,
                user_id=user_id,
                period="month",
                period_start=m,
                amount=monthly,
            )
            for m in months
        ]
    Quota.objects.bulk_create(quotas, ignore_conflicts=True)
