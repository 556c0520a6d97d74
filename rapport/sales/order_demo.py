"""Demo orders for `rapport demo`: ~50,000 orders over two years with realistic repeat-purchase
patterns, so that lifetime value, churn and cross-sell models have signal.

The customers (the demo contacts; a contact at a company buys for it, so its orders carry the
company too) fall into segments that differ in how often they buy and how likely they are to stop
after each purchase — the process BG/NBD models assume: each buyer has their own purchase rate
(gamma-distributed around the segment's mean interval) and drops out after each purchase with the
segment's probability:

- loyal (12%): every ~2 weeks, rarely stop;
- regular (28%): every ~6 weeks;
- churners (20%): every ~3 to 4 weeks at first, then stop (about 1 in 8 after each purchase);
- one-time buyers (40%): one order.

First purchases spread over the two years; purchases follow the season (a December peak, a summer
dip) and the week (fewer at weekends). Baskets have 1 to 5 lines. Each customer has a favourite
category and one or two staple products they buy again; the other lines come from categories that
go together (software with support and training, hardware with support …) and often the matching
product of the other category (SW-007 with SUP-007), so co-purchase patterns exist to be found.
Most orders are in the base currency; customers in the UK and the euro area often pay in GBP and
EUR. Old orders are completed, recent ones pending, confirmed or shipped; a few are cancelled or
refunded. Each won demo deal became an order on the day it was won. B2C shop orders and part of
the B2B orders carry an external id (as if sent by a shop or an ERP).

Deterministic (its own seed) and fast: the orders are numbered in date order from one reserved
block (`next_number(count=…)`) and written, with their lines (`insert_lines`) and one
`order.created` event each, in one statement per table (COPY on PostgreSQL, one executemany on
SQLite): the full-scale demo adds its 50,000 orders in a few seconds.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import connection
from django.utils import timezone

from rapport.accounts.models import Membership, Organization
from rapport.contacts.models import Contact
from rapport.core.bulk import insert_rows
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales.models import Deal, Order, OrderStatus, Product, StageKind
from rapport.sales.order_services import CleanLine, insert_lines, line_total, next_number

ORDERS = 50_000
SEED = 20261207
DAYS = 730
CENT = Decimal("0.01")

# (segment, share of buyers, mean days between purchases, chance to stop after each purchase)
SEGMENTS: list[tuple[str, float, float, float]] = [
    ("loyal", 0.12, 14, 0.01),
    ("regular", 0.28, 45, 0.04),
    ("churner", 0.20, 25, 0.12),
    ("one-time", 0.40, 0, 1.0),
]
# How much more (or less) is bought in each month, and on each weekday (Monday first).
SEASON = {1: 0.8, 2: 0.85, 3: 1.0, 4: 1.0, 5: 0.95, 6: 0.9, 7: 0.75, 8: 0.7, 9: 1.05, 10: 1.1, 11: 1.35, 12: 1.5}
WEEKDAY = (1.1, 1.15, 1.15, 1.1, 1.0, 0.35, 0.25)
PEAK = max(SEASON.values()) * max(WEEKDAY)
# The favourite category of a business customer and of a consumer (demo.CATEGORIES).
FAVOURITE_B2B = {"Software licences": 30, "Support plans": 15, "Training": 10, "Hardware": 20, "Consulting": 25}
FAVOURITE_B2C = {"Software licences": 25, "Support plans": 10, "Training": 35, "Hardware": 30}
# What goes with what: the categories of a basket's other lines, given its first line's.
AFFINITY = {
    "Software licences": {"Support plans": 50, "Training": 30, "Consulting": 15, "Hardware": 5},
    "Hardware": {"Support plans": 55, "Software licences": 25, "Training": 20},
    "Consulting": {"Software licences": 45, "Training": 40, "Support plans": 15},
    "Training": {"Software licences": 40, "Consulting": 30, "Support plans": 30},
    "Support plans": {"Software licences": 50, "Hardware": 30, "Training": 20},
}
BUNDLE = 0.5  # chance that a companion line is the matching product of its category (SW-007 → SUP-007)
BASKET_SIZES = (1, 2, 3, 4, 5)
BASKET_WEIGHTS = (45, 25, 15, 10, 5)
MAX_QUANTITY = {"Software licences": 12, "Hardware": 6, "Training": 6, "Support plans": 1, "Consulting": 10}
# Paying in the local currency: (currency, share of customers) by country.
LOCAL_CURRENCY = {"GB": ("GBP", 0.6), "FR": ("EUR", 0.55), "DE": ("EUR", 0.55), "ES": ("EUR", 0.55)}
LOCAL_CURRENCY |= {"IT": ("EUR", 0.55), "NL": ("EUR", 0.55)}
# Value of one unit in the base currency (as demo.RATES, which starts the demo's exchange rates).
VALUE = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
CANCELLED, REFUNDED = 0.02, 0.015
# Which contacts become buyers first (the rest in a random order), by lifecycle stage.
BUYERS_FIRST = {"customer": 0, "evangelist": 0, "opportunity": 1, "sales_qualified": 2}


@dataclass
class Catalogue:
    by_category: dict[str, list[Product]]
    cumulative: dict[str, list[float]]  # popularity (Zipf) of each category's products, summed up
    by_suffix: dict[tuple[str, str], Product]  # (category, "007") → product

    def popular(self, rng: random.Random, category: str) -> Product:
        products = self.by_category[category]
        weights = self.cumulative[category]
        return products[bisect.bisect(weights, rng.random() * weights[-1])]


@dataclass
class Customer:
    contact_id: int
    company_id: int | None
    owner_id: int
    team_id: int | None
    currency: str
    favourite: str
    staples: list[Product]
    segment: str
    times: list[datetime] = field(default_factory=list)


def _scaled(count: int) -> int:
    return max(1, round(count * settings.DEMO_SCALE))


def _catalogue(org_id: int) -> Catalogue | None:
    by_category: dict[str, list[Product]] = {}
    for product in Product.objects.filter(org_id=org_id, deleted_at__isnull=True, active=True).order_by("sku"):
        by_category.setdefault(product.category, []).append(product)
    if not by_category:
        return None
    cumulative = {
        category: list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(products))))
        for category, products in by_category.items()
    }
    by_suffix = {(p.category, p.sku.rsplit("-", 1)[-1]): p for ps in by_category.values() for p in ps}
    return Catalogue(by_category, cumulative, by_suffix)


def _weighted(rng: random.Random, weights: dict[str, int], allowed: Sequence[str]) -> str:
    names = [name for name in weights if name in allowed]
    return rng.choices(names, [weights[name] for name in names])[0] if names else rng.choice(list(allowed))


def _seasonal(rng: random.Random, when: datetime) -> bool:
    """Keep a proposed purchase time with the chance its month and weekday allow (thinning)."""
    return rng.random() * PEAK < SEASON[when.month] * WEEKDAY[when.weekday()]


def _purchase_times(
    rng: random.Random, segment: tuple[str, float, float, float], start: datetime, now: datetime
) -> list[datetime]:
    """One customer's purchases: the first spread over the period, then a seasonal Poisson process
    at the customer's own rate, each purchase followed by dropping out with the segment's chance."""
    _, _, mean_days, stop = segment
    while True:
        first = start + timedelta(seconds=rng.random() * (now - start).total_seconds())
        if _seasonal(rng, first):
            break
    times = [first]
    if mean_days <= 0:
        return times
    rate = rng.gammavariate(3, 1 / 3) / mean_days * PEAK  # per day, before thinning
    when = first
    while rng.random() >= stop:
        while True:
            when += timedelta(days=rng.expovariate(rate))
            if when >= now or _seasonal(rng, when):
                break
        if when >= now:
            break
        times.append(when)
    return times


def _business_hours(rng: random.Random, when: datetime) -> datetime:
    return when.replace(hour=rng.randrange(8, 19), minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)


def _price(product: Product, currency: str) -> Decimal:
    """The product's price in `currency` (through the base currency, at the demo's starting rates)."""
    value = cast(Decimal, product.unit_price) * VALUE.get(product.currency, Decimal(1))
    return (value / VALUE.get(currency, Decimal(1))).quantize(Decimal(1))


def _line(rng: random.Random, product: Product, currency: str, business: bool) -> CleanLine:
    top = MAX_QUANTITY.get(product.category, 5) if business else 2
    quantity = Decimal(min(top, 1 + int(rng.expovariate(1 / max(top / 3, 0.5)))))
    discount = Decimal(rng.choice((5, 10, 15, 20))) if rng.random() < 0.15 else Decimal(0)
    price = _price(product, currency)
    return CleanLine(
        product_id=product.pk,
        sku=product.sku,
        name=product.name,
        quantity=quantity.quantize(Decimal("0.001")),
        unit_price=price.quantize(CENT),
        discount_percent=discount.quantize(CENT),
        line_total=line_total(quantity, price, discount),
    )


def _basket(rng: random.Random, catalogue: Catalogue, customer: Customer) -> list[CleanLine]:
    """1 to 5 lines: a staple or a popular product of the customer's favourite category first, then
    products of the categories that go with it (often the matching product: a bundle)."""
    categories = list(catalogue.by_category)
    staple = 0.75 if customer.segment == "loyal" else 0.55
    if customer.staples and rng.random() < staple:
        first = rng.choice(customer.staples)
    else:
        category = customer.favourite if rng.random() < 0.7 else rng.choice(categories)
        first = catalogue.popular(rng, category)
    chosen = [first]
    size = rng.choices(BASKET_SIZES, BASKET_WEIGHTS)[0]
    for _ in range(size * 3):  # a few tries to find distinct products
        if len(chosen) >= size:
            break
        category = _weighted(rng, AFFINITY.get(first.category, {}), categories)
        suffix = first.sku.rsplit("-", 1)[-1]
        bundled = catalogue.by_suffix.get((category, suffix))
        product = bundled if bundled is not None and rng.random() < BUNDLE else catalogue.popular(rng, category)
        if all(product.pk != other.pk for other in chosen):
            chosen.append(product)
    business = customer.company_id is not None
    return [_line(rng, product, customer.currency, business) for product in chosen]


def _status(rng: random.Random, when: datetime, now: datetime) -> str:
    draw = rng.random()
    if draw < CANCELLED:
        return OrderStatus.CANCELLED
    age = now - when
    if age < timedelta(days=3):
        return OrderStatus.PENDING if draw < 0.5 else OrderStatus.CONFIRMED
    if age < timedelta(days=14):
        return OrderStatus.CONFIRMED if draw < 0.4 else OrderStatus.SHIPPED
    return OrderStatus.REFUNDED if draw < CANCELLED + REFUNDED else OrderStatus.COMPLETED


def _customers(rng: random.Random, org: Organization, catalogue: Catalogue, owners: list[int]) -> list[Customer]:
    """Every demo contact as a possible customer, each with a segment: customers and evangelists
    first, then opportunities, then the others, each group in a random order."""
    rows = list(
        Contact.objects.filter(org_id=org.pk, deleted_at__isnull=True)
        .order_by("id")
        .values_list("pk", "company_id", "owner_id", "team_id", "country", "lifecycle_stage")
    )
    rng.shuffle(rows)
    rows.sort(key=lambda row: BUYERS_FIRST.get(row[5], len(BUYERS_FIRST)))  # customers buy first
    categories = list(catalogue.by_category)
    customers = []
    for contact_id, company_id, owner_id, team_id, country, _ in rows:
        local, share = LOCAL_CURRENCY.get(country, (org.base_currency, 0))
        favourite = _weighted(rng, FAVOURITE_B2B if company_id else FAVOURITE_B2C, categories)
        staples = [catalogue.popular(rng, favourite) for _ in range(rng.randrange(1, 3))]
        segment = rng.choices(SEGMENTS, [share for _, share, _, _ in SEGMENTS])[0][0]
        customers.append(
            Customer(
                contact_id=contact_id,
                company_id=company_id,
                owner_id=owner_id if owner_id in owners else rng.choice(owners),
                team_id=team_id,
                currency=local if rng.random() < share else org.base_currency,
                favourite=favourite,
                staples=staples,
                segment=segment,
            )
        )
    return customers


@dataclass
class DemoOrder:
    """An order to write: its customer, owner, time, currency and lines (numbered when written)."""

    contact_id: int
    company_id: int | None
    owner_id: int | None
    team_id: int | None
    ordered_at: datetime
    currency: str
    lines: list[CleanLine]
    deal_id: int | None = None


def _won_deal_orders(rng: random.Random, org_id: int, catalogue: Catalogue) -> list[DemoOrder]:
    """An order for each won demo deal with a contact, on the day it was won, for its amount."""
    products = catalogue.by_category.get("Software licences") or next(iter(catalogue.by_category.values()))
    deals = Deal.objects.filter(org_id=org_id, stage__kind=StageKind.WON, contact__isnull=False).order_by("id")
    result = []
    for deal in deals:
        product = rng.choice(products)
        line = CleanLine(
            product_id=product.pk,
            sku=product.sku,
            name=product.name,
            quantity=Decimal("1.000"),
            unit_price=cast(Decimal, deal.amount),
            discount_percent=Decimal("0.00"),
            line_total=cast(Decimal, deal.amount),
        )
        assert deal.contact_id is not None
        when = deal.closed_at or deal.stage_entered_at
        result.append(
            DemoOrder(
                deal.contact_id, deal.company_id, deal.owner_id, deal.team_id, when, deal.currency, [line], deal.pk
            )
        )
    return result


def add_demo_orders(actor: Principal) -> None:
    """Add the demo purchase history (after the demo contacts, products and deals), once."""
    org_id = actor.org_id
    if Order.objects.filter(org_id=org_id).exists():
        return
    catalogue = _catalogue(org_id)
    if catalogue is None:
        return
    rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
    now = timezone.now()
    start = now - timedelta(days=DAYS)
    org = Organization.objects.get(pk=org_id)
    owners = list(
        Membership.objects.filter(org_id=org_id, is_active=True, role__in=["admin", "manager", "sales"]).values_list(
            "user_id", flat=True
        )
    ) or [actor.user_id]
    customers = _customers(rng, org, catalogue, owners)
    if not customers:
        return
    target = _scaled(ORDERS)
    orders = _won_deal_orders(rng, org_id, catalogue)[:target]
    # Buyers in turn until the target is met (the last one's history cut short); at small scales
    # the contacts may run out before it: then the loyal ones buy on.
    count = len(orders)
    loyal = [customer for customer in customers if customer.segment == "loyal"] or customers
    for customer in itertools.chain(customers, itertools.cycle(loyal)):
        if count >= target:
            break
        segment = next(s for s in SEGMENTS if s[0] == customer.segment)
        times = _purchase_times(rng, segment, start, now)[: target - count]
        count += len(times)
        customer.times += times
    for customer in customers:
        for when in customer.times:
            orders.append(
                DemoOrder(
                    customer.contact_id,
                    customer.company_id,
                    customer.owner_id,
                    customer.team_id,
                    _business_hours(rng, when),
                    customer.currency,
                    _basket(rng, catalogue, customer),
                )
            )
    _write(actor, rng, orders, now)


ORDER_COLUMNS: tuple[str, ...] = (
    "org",
    "created_at",
    "updated_at",
    "created_by",
    "version",
    "owner",
    "team",
    "number",
    "external_id",
)
ORDER_COLUMNS += ("contact", "company", "deal", "ordered_at", "status", "currency", "total")
EVENT_COLUMNS = ("org", "actor", "verb", "subject_type", "subject_id", "changes", "request_id", "created_at")


def _write(actor: Principal, rng: random.Random, orders: list[DemoOrder], now: datetime) -> None:
    """Number the orders in date order from one reserved block and insert them, their lines and one
    `order.created` event each (entered when placed: created_at is ordered_at)."""
    orders.sort(key=lambda order: order.ordered_at)
    first = next_number(actor.org_id, count=len(orders))
    stamp = connection.ops.adapt_datetimefield_value
    rows, changes = [], []
    for number, order in enumerate(orders, start=first):
        total = sum((line.line_total for line in order.lines), Decimal(0))
        status = OrderStatus.COMPLETED if order.deal_id else _status(rng, order.ordered_at, now)
        external_id = ""
        if order.deal_id is None and (order.company_id is None or rng.random() < 0.5):
            external_id = f"{'ERP' if order.company_id else 'WEB'}-{number}"  # from a shop or an ERP
        placed = stamp(order.ordered_at)
        rows.append(
            (actor.org_id, placed, placed, actor.user_id, 1, order.owner_id, order.team_id, number, external_id,
             order.contact_id, order.company_id, order.deal_id, placed, str(status), order.currency, total)
        )  # fmt: skip
        changes.append(
            json.dumps({"number": [None, number], "total": [None, str(total)], "status": [None, str(status)]})
        )
    insert_rows(Order, ORDER_COLUMNS, rows)
    ids = dict(Order.objects.filter(org_id=actor.org_id, number__gte=first).values_list("number", "pk"))
    pks = [ids[number] for number in range(first, first + len(orders))]
    insert_lines(actor.org_id, [(pk, order.lines) for pk, order in zip(pks, orders, strict=True)])
    events = [  # stamped when the order was placed, as if entered then
        (actor.org_id, actor.user_id, "order.created", "order", pk, change, "", stamp(order.ordered_at))
        for pk, change, order in zip(pks, changes, orders, strict=True)
    ]
    insert_rows(Event, EVENT_COLUMNS, events)
