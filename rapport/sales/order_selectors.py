"""Reads of the order pages: the list's rows (filters, keyset pages), the recent orders of a contact
or company (their "Orders" card), and an order's events.

Built on `order_services.order_list` (the orders the actor may read, not trashed), so the pages
and the API see the same orders. Designed for millions of orders: a page is the newest 50 in
(ordered_at, id) order after a cursor — a walk of the (org, ordered_at, id) index, or of the
(org, contact, ordered_at) / (org, company, ordered_at) indexes for a customer's orders — and it
costs a fixed number of queries (the orders with their customers, then their first lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery

from rapport.accounts.roles import Entity
from rapport.contacts.search import KINDS
from rapport.core import fulltext
from rapport.core.access import scope
from rapport.core.models import Event
from rapport.core.pagination import Page, paginate
from rapport.core.principal import Principal
from rapport.sales.models import Order, OrderLine, Product
from rapport.sales.order_services import order_list

PAGE_SIZE = 50
ORDERING = ("-ordered_at", "-id")
SHOWN_LINES = 3  # the first items a list row names
CUSTOMER_MATCHES = 50  # a customer search looks at the orders of the best this many contacts and companies


@dataclass(frozen=True)
class OrderFilter:
    q: str = ""  # a customer's name, email or company name (the global search's index)
    contact_id: int | None = None
    company_id: int | None = None
    status: str | None = None
    ordered_from: date | None = None
    ordered_to: date | None = None
    product_id: int | None = None


def matching_customers(actor: Principal, q: str) -> tuple[list[int], list[int]]:
    """(contact ids, company ids) of the best CUSTOMER_MATCHES contacts and companies the actor may
    read for the text `q` (one search of the full-text index)."""
    hits = fulltext.search_entries(
        org_id=actor.org_id,
        q=q,
        kinds=list(KINDS),
        visible=fulltext.visibility_for(actor, KINDS),
        limit=CUSTOMER_MATCHES,
    )
    return (
        [hit.object_id for hit in hits if hit.kind == "contact"],
        [hit.object_id for hit in hits if hit.kind == "company"],
    )


def filtered_orders(*, actor: Principal, filters: OrderFilter) -> QuerySet[Order]:
    """The orders the actor may read that match `filters` (unordered, without lines)."""
    qs = order_list(
        actor=actor,
        contact_id=filters.contact_id,
        company_id=filters.company_id,
        status=filters.status,
        ordered_from=filters.ordered_from,
        ordered_to=filters.ordered_to,
    ).prefetch_related(None)
    if filters.product_id is not None:
        having = OrderLine.objects.filter(org_id=actor.org_id, product_id=filters.product_id)
        qs = qs.filter(pk__in=having.values("order_id"))
    if filters.q.strip():
        contacts, companies = matching_customers(actor, filters.q)
        if not contacts and not companies:
            return qs.none()
        qs = qs.filter(Q(contact_id__in=contacts) | Q(company_id__in=companies))
    return qs


def order_rows(*, actor: Principal, filters: OrderFilter, cursor: str | None) -> Page[Order]:
    """One page of the order list, newest first: each order with its contact and company, its
    number of lines (`line_count`) and its first SHOWN_LINES lines (`first_lines`). Two queries."""
    count = (
        OrderLine.objects.filter(order_id=OuterRef("pk"))
        .order_by()
        .values("order_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    first = OrderLine.objects.order_by("position", "id")[:SHOWN_LINES]
    qs = (
        filtered_orders(actor=actor, filters=filters)
        .select_related("contact", "company")
        .annotate(line_count=Subquery(count, output_field=IntegerField()))
        .prefetch_related(Prefetch("lines", queryset=first, to_attr="first_lines"))
    )
    return paginate(qs, cursor=cursor, limit=PAGE_SIZE, ordering=ORDERING)


def recent_orders(*, actor: Principal, subject_type: str, record_id: int, limit: int) -> list[Order]:
    """The newest `limit` orders of a contact or a company (its own, by company_id), one query."""
    if subject_type == "contact":
        qs = order_list(actor=actor, contact_id=record_id)
    else:
        qs = order_list(actor=actor, company_id=record_id)
    qs = qs.prefetch_related(None).select_related(None)
    return list(qs.order_by(*ORDERING)[:limit])


def order_events(*, actor: Principal, order: Order, limit: int = 50) -> list[Event]:
    """The newest `limit` events of an order the actor may read (fetch it with `order_get`): one query."""
    return list(
        Event.objects.filter(org_id=actor.org_id, subject_type="order", subject_id=order.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def product_choices(actor: Principal, *, include: set[int] | None = None, inactive: bool = False) -> list[Any]:
    """The products to pick from, grouped by category (none last, as "Other"): the active ones (all
    with `inactive`) plus those in `include` (an order's own products), as
    [(category, [(id, "Name (SKU)"), …]), …]. One query."""
    qs = scope(actor, Product.objects.filter(org_id=actor.org_id, deleted_at__isnull=True), Entity.PRODUCT)
    if not inactive:
        qs = qs.filter(Q(active=True) | Q(pk__in=include or set()))
    groups: dict[str, list[tuple[int, str]]] = {}
    for pk, name, sku, category in qs.order_by("category", "name", "id").values_list("pk", "name", "sku", "category"):
        groups.setdefault(category or "Other", []).append((pk, f"{name} ({sku})"))
    return sorted(groups.items(), key=lambda item: (item[0] == "Other", item[0]))
