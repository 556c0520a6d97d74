"""Bulk upsert of orders by `external_id`: how an e-commerce shop or an ERP keeps Rapport's
purchase history current (POST /api/v1/orders/bulk).

One call takes up to 1,000 orders. Each item is the whole order as the source system has it
(an item without `status` is "confirmed", without `company_id` has no company, …): a new
`external_id` creates an order, a known one is compared field by field and line by line and
updated only when something differs (version bumped, lines replaced, `order.updated` recorded);
an identical one is left alone ("unchanged": no write, no version bump, no event). Sending the
same batch twice therefore changes nothing the second time. A trashed order named again is
brought back (an update).

The batch is one transaction and is validated completely before anything is written: a bad
item (unknown currency, quantity ≤ 0, an external_id twice in the batch, …) answers 422 with
every problem named by its path (`items.3.lines.0.quantity`), and nothing is written.

Designed for throughput, in a number of statements that does not depend on the batch size: one
query each for the products (by id and SKU), the customers' addresses and which of those contacts
the actor may read, contacts by id, companies, the existing orders (locked) and their lines; then
one `bulk_create` of the new orders (their numbers reserved as one block), one `bulk_update` of
the changed ones, one DELETE of the changed orders' lines, one insert of all new lines
(`insert_lines`: COPY on PostgreSQL, one executemany on SQLite) and one `bulk_create` of the
events. (SQLite takes at most 999 parameters per statement, so there Django splits the order and
event inserts of a large batch into several statements: one per ~58 orders and ~120 events.)
A bulk_update on SQLite likewise splits per ~90 changed orders.

Options: `create_products` — a SKU no product has becomes a product (name, unit price and
currency of its first line in the batch; needs write access to products); `create_customers` —
a `customer_email` no readable contact has becomes a contact (through the contacts' own
`contact_create`, one at a time: needs write access to contacts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.accounts.roles import Entity, Level, Mode
from rapport.contacts.cleaning import FieldErrors
from rapport.contacts.services import contact_create
from rapport.core.access import require_entity
from rapport.core.context import current_request_id
from rapport.core.errors import Conflict, PermissionDenied, ValidationFailed
from rapport.core.events import diff, subscriptions_for
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales.models import Order, OrderLine, OrderStatus, Product
from rapport.sales.order_services import (
    EXTERNAL_ID_MAX,
    CleanLine,
    CleanOrder,
    clean_order,
    created_changes,
    insert_lines,
    load_refs,
    next_number,
    snapshot,
    stored_key,
)

MAX_ITEMS = 1000
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
ORDER_FIELDS = ("contact_id", "company_id", "ordered_at", "status", "currency", "total", "deleted_at")


@dataclass(frozen=True)
class BulkItem:
    external_id: str
    id: int
    number: int
    status: str  # created, updated or unchanged


def _events(actor: Principal, verb: str, subject_type: str, changes: dict[int, dict[str, Any]]) -> None:
    """One INSERT for the events of a batch; dispatched to subscribers once the batch commits."""
    if not changes:
        return
    request_id = current_request_id()
    rows = Event.objects.bulk_create(
        [
            Event(
                org_id=actor.org_id,
                actor_id=actor.user_id,
                verb=verb,
                subject_type=subject_type,
                subject_id=pk,
                changes=change,
                request_id=request_id,
            )
            for pk, change in changes.items()
        ]
    )
    if subscriptions_for(verb):
        from rapport.core.tasks import dispatch_event

        for event in rows:
            transaction.on_commit(partial(dispatch_event, event.pk))


def _writable(actor: Principal, order: Order) -> bool:
    level = actor.level(Entity.ORDER, Mode.WRITE)
    if level is Level.ALL:
        return True
    if order.owner_id == actor.user_id:
        return True
    return level is Level.TEAM and order.team_id in actor.team_ids


def _desired(cleaned: CleanOrder) -> tuple[Any, ...]:
    v = cleaned.values
    return (
        v.get("contact_id"),
        v.get("company_id"),
        v["ordered_at"],
        v.get("status", OrderStatus.CONFIRMED),
        v["currency"],
        v["total"],
        None,
    )


def _create_customers(actor: Principal, items: list[tuple[int, str, CleanOrder]]) -> None:
    made: dict[str, int] = {}
    for _, _, cleaned in items:
        email = cleaned.customer_email
        if not email:
            continue
        if email not in made:
            first, _, last = cleaned.customer_name.partition(" ")
            data = {
                "emails": [{"email": email, "is_primary": True}],
                "first_name": first[:100],
                "last_name": last[:100],
            }
            made[email] = contact_create(actor=actor, data=data).pk
        cleaned.values["contact_id"] = made[email]


def _create_products(actor: Principal, items: list[tuple[int, str, CleanOrder]]) -> None:
    wanted: dict[str, tuple[CleanLine, str]] = {}
    for _, _, cleaned in items:
        for line in cleaned.lines or []:
            if line.product_id is None and line.sku and line.sku not in wanted:
                wanted[line.sku] = (line, cleaned.values["currency"])
    if not wanted:
        return
    products = [
        Product(
            org_id=actor.org_id,
            created_by=actor.user,
            sku=sku,
            name=line.name,
            unit_price=line.unit_price,
            currency=currency,
        )
        for sku, (line, currency) in wanted.items()
    ]
    try:
        with transaction.atomic():
            Product.objects.bulk_create(products)
    except IntegrityError:  # a concurrent write took one of the SKUs
        raise Conflict("duplicate_sku", "A product with one of these SKUs was created meanwhile; send again.") from None
    ids = {product.sku: product.pk for product in products}
    for _, _, cleaned in items:
        for line in cleaned.lines or []:
            if line.product_id is None and line.sku in ids:
                line.product_id = ids[line.sku]
    fields = ("sku", "name", "description", "category", "unit_price", "currency", "active")
    _events(
        actor,
        "product.created",
        "product",
        {p.pk: diff({}, {name: getattr(p, name) for name in fields}) for p in products},
    )


def _clean_batch(actor: Principal, items: Sequence[Any], create_customers: bool) -> list[tuple[int, str, CleanOrder]]:
    if not isinstance(items, Sequence) or isinstance(items, str) or not 1 <= len(items) <= MAX_ITEMS:
        raise ValidationFailed("invalid", f"Give 1 to {MAX_ITEMS} orders.", field="items")
    errors = FieldErrors()
    refs = load_refs(actor, [item for item in items if isinstance(item, Mapping)])
    seen: dict[str, int] = {}
    cleaned: list[tuple[int, str, CleanOrder]] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.add(f"items.{i}", "Give the order as an object.")
            continue
        external_id = item.get("external_id")
        if not isinstance(external_id, str) or not external_id.strip():
            errors.add(f"items.{i}.external_id", "Every order of a bulk upsert needs its external_id.")
            external_id = ""
        external_id = external_id.strip()
        if len(external_id) > EXTERNAL_ID_MAX:
            errors.add(f"items.{i}.external_id", f"At most {EXTERNAL_ID_MAX} characters.")
        elif external_id in seen:
            errors.add(f"items.{i}.external_id", f"The same external_id as items.{seen[external_id]}: send it once.")
        elif external_id:
            seen[external_id] = i
        order = clean_order(item, refs, errors, prefix=f"items.{i}.", new_customers=create_customers)
        cleaned.append((i, external_id, order))
    errors.raise_if_any()
    return cleaned


@transaction.atomic
def order_bulk_upsert(
    *,
    actor: Principal,
    items: Sequence[Mapping[str, Any]],
    create_products: bool = False,
    create_customers: bool = False,
) -> list[BulkItem]:
    """Create or update up to 1,000 orders by `external_id`, all or nothing; returns, in the order
    given, each item's external_id, id, number and whether it was created, updated or unchanged.

    Raises PermissionDenied without write access to orders (or, with the options, to products or
    contacts, or to an existing order named), ValidationFailed naming every bad item's fields."""
    require_entity(actor, Entity.ORDER, Mode.WRITE)
    if create_products and not actor.can(Entity.PRODUCT, Mode.WRITE):
        raise PermissionDenied("permission_denied", "Your role may not add products.", field="create_products")
    if create_customers and not actor.can(Entity.CONTACT, Mode.WRITE):
        raise PermissionDenied("permission_denied", "Your role may not add contacts.", field="create_customers")
    cleaned = _clean_batch(actor, items, create_customers)
    existing = {
        order.external_id: order
        for order in Order.objects.select_for_update().filter(
            org_id=actor.org_id, external_id__in=[external_id for _, external_id, _ in cleaned]
        )
    }
    refused = {
        f"items.{i}.external_id": "You may not change this order."
        for i, external_id, _ in cleaned
        if external_id in existing and not _writable(actor, existing[external_id])
    }
    if refused:
        raise PermissionDenied("permission_denied", "Your role may not change some of these orders.", fields=refused)
    if create_customers:
        _create_customers(actor, cleaned)
    if create_products:
        _create_products(actor, cleaned)
    old_lines: dict[int, list[OrderLine]] = {order.pk: [] for order in existing.values()}
    for line in OrderLine.objects.filter(order_id__in=list(old_lines)).order_by("order_id", "position", "id"):
        old_lines[line.order_id].append(line)

    now = timezone.now()
    new: list[tuple[str, CleanOrder]] = []
    changed: list[tuple[Order, CleanOrder, dict[str, Any]]] = []
    statuses: dict[str, str] = {}
    for _, external_id, order_data in cleaned:
        order = existing.get(external_id)
        if order is None:
            new.append((external_id, order_data))
            statuses[external_id] = CREATED
            continue
        current = tuple(getattr(order, name) for name in ORDER_FIELDS)
        lines = order_data.lines or []
        same_lines = [stored_key(line) for line in old_lines[order.pk]] == [line.key() for line in lines]
        if current == _desired(order_data) and same_lines:
            statuses[external_id] = UNCHANGED
            continue
        before = snapshot(order, old_lines[order.pk])
        for name, value in zip(ORDER_FIELDS, _desired(order_data), strict=True):
            setattr(order, name, value)
        order.version += 1
        order.updated_at = now
        changed.append((order, order_data, before))
        statuses[external_id] = UPDATED

    created: list[Order] = []
    if new:
        first = next_number(actor.org_id, count=len(new))
        team_id = next(iter(actor.team_ids)) if len(actor.team_ids) == 1 else None
        created = [
            Order(
                org_id=actor.org_id,
                created_by=actor.user,
                owner_id=actor.user_id,
                team_id=team_id,
                number=first + n,
                external_id=external_id,
                contact_id=data.values.get("contact_id"),
                company_id=data.values.get("company_id"),
                ordered_at=data.values["ordered_at"],
                status=data.values.get("status", OrderStatus.CONFIRMED),
                currency=data.values["currency"],
                total=data.values["total"],
            )
            for n, (external_id, data) in enumerate(new)
        ]
        try:
            with transaction.atomic():
                Order.objects.bulk_create(created)
        except IntegrityError:  # a concurrent upsert created one of these external ids first
            raise Conflict(
                "external_id_taken", "Another request created some of these orders meanwhile; send the batch again."
            ) from None
    if changed:
        Order.objects.bulk_update([order for order, _, _ in changed], [*ORDER_FIELDS, "version", "updated_at"])
        OrderLine.objects.filter(order_id__in=[order.pk for order, _, _ in changed]).delete()
    new_lines: dict[int, list[CleanLine]] = {
        order.pk: data.lines or [] for order, (_, data) in zip(created, new, strict=True)
    }
    new_lines.update((order.pk, data.lines or []) for order, data, _ in changed)
    insert_lines(actor.org_id, new_lines.items())
    _events(actor, "order.created", "order", {o.pk: created_changes(snapshot(o, new_lines[o.pk])) for o in created})
    _events(
        actor,
        "order.updated",
        "order",
        {order.pk: diff(before, snapshot(order, new_lines[order.pk])) for order, _, before in changed},
    )
    by_external = {order.external_id: order for order in [*existing.values(), *created]}
    return [
        BulkItem(
            external_id=external_id,
            id=by_external[external_id].pk,
            number=by_external[external_id].number,
            status=statuses[external_id],
        )
        for _, external_id, _ in cleaned
    ]
