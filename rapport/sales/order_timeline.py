"""Orders on the 360° view: the "order" timeline source and the purchase facts.

An order shows on the timeline of its contact and of its company (so also on a company page's
roll-up of its people, once: items carry the order as their `key`), at the time it was placed,
with its number, total, status and items. Two queries whatever the number of items or subjects
(the orders, then their lines).

The facts count purchases: orders that are not trashed and are confirmed, shipped or completed
(pending, cancelled and refunded orders are not revenue). A company's facts take its own orders
and its people's. "Lifetime revenue" is the sum in the workspace's base currency, each currency's
subtotal converted at today's rate (rapport.sales.money.total_in_base); when a currency has no
rate the sum is shown per currency instead, unconverted. "Last purchase" is the date of the newest.
Both show only the orders the actor may read. Imported from SalesConfig.ready.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum

from rapport.accounts.models import Organization
from rapport.accounts.roles import Entity
from rapport.contacts.facts import Fact, register_fact_source
from rapport.contacts.timeline import SubjectIds, TimelineItem, register_timeline_source
from rapport.core.access import scope
from rapport.core.principal import Principal
from rapport.sales.models import Order, OrderLine, OrderStatus
from rapport.sales.money import MissingRate, total_in_base
from rapport.sales.order_services import plain_number

PURCHASES = (OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
SHOWN_ITEMS = 3


def money(amount: Any, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _orders(actor: Principal) -> QuerySet[Order]:
    return scope(actor, Order.objects.filter(org_id=actor.org_id, deleted_at__isnull=True), Entity.ORDER)


def order_items(
    actor: Principal, subject_type: str, subject_ids: SubjectIds, limit: int, before: datetime | None
) -> list[TimelineItem]:
    """The newest `limit` orders (placed before `before`) of the contacts or companies, that the actor may read."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity.ORDER):
        return []
    qs = _orders(actor).filter(**{f"{subject_type}_id__in": subject_ids})
    if before is not None:
        qs = qs.filter(ordered_at__lt=before)
    orders = qs.select_related("owner").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("position", "id"))
    )
    items = []
    for order in orders.order_by("-ordered_at", "-id")[:limit]:
        lines = list(order.lines.all())
        shown = ", ".join(f"{plain_number(line.quantity)} x {line.name}" for line in lines[:SHOWN_ITEMS])
        if len(lines) > SHOWN_ITEMS:
            shown += f" and {len(lines) - SHOWN_ITEMS} more"
        items.append(
            TimelineItem(
                at=order.ordered_at,
                kind="order",
                title=f"Order {order.number}: {money(order.total, order.currency)}",
                actor_name=order.owner.display_name if order.owner else "",
                icon="order",
                lines=(f"Status: {OrderStatus(order.status).label}", f"Items: {shown}"),
                key=f"order:{order.pk}",
            )
        )
    return items


def order_facts(actor: Principal, subject_type: str, record: Any) -> list[Fact]:
    """ "Orders" (how many purchases), "Last purchase" (its date, UTC) and "Lifetime revenue"; nothing
    when the customer has bought nothing (that the actor may see)."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity.ORDER):
        return []
    qs = _orders(actor).filter(status__in=PURCHASES)
    if subject_type == "contact":
        qs = qs.filter(contact_id=record.pk)
    else:
        qs = qs.filter(Q(company_id=record.pk) | Q(contact__company_id=record.pk))
    rows = list(qs.values("currency").annotate(n=Count("id"), total=Sum("total"), last=Max("ordered_at")))
    if not rows:
        return []
    count = sum(row["n"] for row in rows)
    last = max(row["last"] for row in rows)
    subtotals = {row["currency"]: row["total"] for row in rows}
    org = Organization.objects.only("base_currency").get(pk=actor.org_id)
    try:
        revenue = money(total_in_base(org, subtotals), org.base_currency)
    except MissingRate:
        revenue = " + ".join(money(subtotals[code], code) for code in sorted(subtotals))
    return [
        Fact(label="Orders", value=str(count)),
        Fact(label="Last purchase", value=last.date().isoformat()),
        Fact(label="Lifetime revenue", value=revenue),
    ]


register_timeline_source("order", order_items, label="Orders")
register_fact_source("orders", order_facts)
