"""Orders (purchase history): numbering, input cleaning, and the writes and reads of one order.

Access follows the order levels (rapport.accounts.roles, Entity.ORDER): sales members read their
team's orders and create and change their own; managers and admins all. An order belongs to a
customer — a contact, a company, or both (at least one) — that the actor may read.

Numbers: each workspace counts its orders from 1001 (`NumberSequence`, kind "order"), taken under
a row lock in the creating transaction, so two orders created at once never share a number and a
rolled-back create gives its number back. Numbers of trashed orders are not reused.

Money: a line's total is quantity * unit price * (1 - discount / 100), rounded to the cent half to
even (banker's rounding, as rapport.sales.money does); the order's total is the sum of its line
totals. Every amount is in the order's one currency.

The cleaning here (`OrderRefs`, `clean_order`) is shared with the bulk upsert
(rapport.sales.order_bulk): references (products, contacts, companies) are loaded for a whole
batch in a fixed number of queries, then each order is cleaned in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.accounts.roles import Entity, Mode
from rapport.contacts.cleaning import FieldErrors, clean_text
from rapport.contacts.models import Company, Contact, ContactEmail
from rapport.core import normalize
from rapport.core.access import access, can_write, require_entity, scope
from rapport.core.bulk import insert_rows
from rapport.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.sales.models import NumberSequence, Order, OrderLine, OrderStatus, Product

ORDER_KIND = "order"
FIRST_NUMBER = 1001
FIELDS = {"external_id", "contact_id", "company_id", "customer_email", "customer_name", "ordered_at", "status"}
FIELDS |= {"currency", "lines"}
MAX_LINES = 500
EXTERNAL_ID_MAX = 100
NAME_MAX = 200
SKU_MAX = 64
CENT = Decimal("0.01")
QUANTITY_PLACES = Decimal("0.001")
QUANTITY_LIMIT = Decimal(10) ** 11  # DECIMAL(14, 3)
AMOUNT_LIMIT = Decimal(10) ** 16  # DECIMAL(18, 2)
HUNDRED = Decimal(100)
WIDE = Context(prec=60)
ID_MAX = 2**63 - 1


# --- numbering -----------------------------------------------------------------------------------


def next_number(org_id: int, kind: str = ORDER_KIND, count: int = 1) -> int:
    """Reserve `count` consecutive numbers of `kind` in the workspace and return the first.

    The sequence row is read under a row lock (SELECT … FOR UPDATE; SQLite's IMMEDIATE transactions
    serialise writers), so concurrent callers get disjoint numbers; the row is created on first use,
    and a concurrent first use that loses the insert race reads the winner's row. Runs in the
    caller's transaction: a rollback hands the numbers back. Numbers start at 1001.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic():
        rows = NumberSequence.objects.select_for_update().filter(org_id=org_id, kind=kind)
        sequence = rows.first()
        if sequence is None:
            try:
                with transaction.atomic():
                    sequence = NumberSequence.objects.create(org_id=org_id, kind=kind, last=FIRST_NUMBER - 1)
            except IntegrityError:  # created meanwhile by a concurrent first order
                sequence = rows.get()
        first = sequence.last + 1
        NumberSequence.objects.filter(pk=sequence.pk).update(last=sequence.last + count)
    return first


# --- cleaning ------------------------------------------------------------------------------------


def line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """quantity * unit_price * (1 - discount/100), to the cent, half to even."""
    # In a wide context the product is exact (14 + 18 + 5 digits): quantize rounds once.
    exact = WIDE.divide(WIDE.multiply(WIDE.multiply(quantity, unit_price), HUNDRED - discount_percent), HUNDRED)
    return exact.quantize(CENT, rounding=ROUND_HALF_EVEN, context=WIDE)


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX else None


def to_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a number or numeric text (a float by its shortest text, not its binary
    approximation), or None: blanks, bools and what is not a finite number are not numbers."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _when(value: Any, name: str, errors: FieldErrors) -> datetime | None:
    when = value if isinstance(value, datetime) else parse_datetime(value) if isinstance(value, str) else None
    if when is None or timezone.is_naive(when):
        errors.add(name, "Enter a date and time with its time zone, such as 2026-03-01T10:00:00Z.")
        return None
    return when


@dataclass
class OrderRefs:
    """What a batch of orders refers to, loaded in a fixed number of queries (see `load_refs`)."""

    products_by_id: dict[int, Product] = field(default_factory=dict)
    products_by_sku: dict[str, Product] = field(default_factory=dict)
    contacts: set[int] = field(default_factory=set)  # ids the actor may read
    contacts_by_email: dict[str, int] = field(default_factory=dict)
    companies: set[int] = field(default_factory=set)
    currencies: dict[str, str] = field(default_factory=dict)  # input → ISO code (a per-batch cache)


@lru_cache(maxsize=65536)
def _normal_email(value: str) -> str | None:
    """normalize.email, or None for an invalid address; cached: a shop sends its regulars again and
    again, and validating an address costs more than the rest of its order's cleaning."""
    try:
        return normalize.email(value)
    except ValidationFailed:
        return None


def _email(value: Any) -> str | None:
    return _normal_email(value) if isinstance(value, str) and value.strip() else None


def load_refs(actor: Principal, orders: Iterable[Mapping[str, Any]]) -> OrderRefs:
    """The products (by id and SKU), contacts (by id and email) and companies the orders name:
    one query per kind that is named at all, whatever the number of orders."""
    product_ids: set[int] = set()
    skus: set[str] = set()
    contact_ids: set[int] = set()
    emails: set[str] = set()
    company_ids: set[int] = set()
    refs = OrderRefs()
    for data in orders:
        if (pk := _id(data.get("contact_id"))) is not None:
            contact_ids.add(pk)
        if (pk := _id(data.get("company_id"))) is not None:
            company_ids.add(pk)
        if (email := _email(data.get("customer_email"))) is not None:
            emails.add(email)
        lines = data.get("lines")
        for line in lines if isinstance(lines, list) else ():
            if not isinstance(line, Mapping):
                continue
            if (pk := _id(line.get("product_id"))) is not None:
                product_ids.add(pk)
            if isinstance(line.get("sku"), str) and line["sku"].strip():
                skus.add(line["sku"].strip())
    if product_ids or skus:
        products = scope(actor, Product.objects.filter(deleted_at__isnull=True), Entity.PRODUCT)
        for product in products.filter(Q(pk__in=product_ids) | Q(sku__in=skus)):
            refs.products_by_id[product.pk] = product
            refs.products_by_sku[product.sku] = product
    readable_contacts = scope(actor, Contact.objects.alive(), Entity.CONTACT)
    if contact_ids:
        refs.contacts = set(readable_contacts.filter(pk__in=contact_ids).values_list("pk", flat=True))
    if emails:
        # Two index walks rather than one join: the addresses (org, email), then which of their
        # contacts the actor may read (by primary key). The oldest readable contact of an address wins.
        pairs = list(
            ContactEmail.objects.filter(org_id=actor.org_id, email__in=emails).values_list("email", "contact_id")
        )
        readable = set(readable_contacts.filter(pk__in={pk for _, pk in pairs}).values_list("pk", flat=True))
        for email, pk in sorted(pairs, key=lambda pair: -pair[1]):
            if pk in readable:
                refs.contacts_by_email[email] = pk
    if company_ids:
        companies = scope(actor, Company.objects.alive(), Entity.COMPANY).filter(pk__in=company_ids)
        refs.companies = set(companies.values_list("pk", flat=True))
    return refs


@dataclass
class CleanLine:
    product_id: int | None
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    line_total: Decimal

    def key(self) -> tuple[Any, ...]:
        """What an upsert compares: a line equal in all of these is unchanged."""
        return (self.product_id, self.sku, self.name, self.quantity, self.unit_price, self.discount_percent)


def stored_key(line: OrderLine) -> tuple[Any, ...]:
    return (line.product_id, line.sku, line.name, line.quantity, line.unit_price, line.discount_percent)


LINE_KEYS = frozenset({"product_id", "sku", "name", "quantity", "unit_price", "discount_percent"})


def _clean_line(line: Any, path: str, refs: OrderRefs, errors: FieldErrors) -> CleanLine | None:
    # The bulk upsert's hot loop (5,000 lines a batch): field paths are only formatted on an error.
    if not isinstance(line, Mapping):
        errors.add(path, "Give a line as {sku or product_id, name, quantity, unit_price, discount_percent}.")
        return None
    if not line.keys() <= LINE_KEYS:
        for name in sorted(set(line) - LINE_KEYS):
            errors.add(f"{path}.{name}", "Unknown field.")
    product: Product | None = None
    if line.get("product_id") is not None:
        product = refs.products_by_id.get(_id(line["product_id"]) or 0)
        if product is None:
            errors.add(f"{path}.product_id", f"No product with the id {line['product_id']}.")
    sku = line.get("sku")
    if not (isinstance(sku, str) and sku and len(sku) <= SKU_MAX and "\x00" not in sku and sku == sku.strip()):
        sku = clean_text(sku, f"{path}.sku", SKU_MAX, errors)
    if product is None and sku:
        product = refs.products_by_sku.get(sku)
    elif product is not None and sku and sku != product.sku:
        errors.add(f"{path}.sku", f"The product {product.pk} has the SKU “{product.sku}”, not “{sku}”.")
    name = line.get("name")
    if not (isinstance(name, str) and name and len(name) <= NAME_MAX and "\x00" not in name and name == name.strip()):
        name = clean_text(name, f"{path}.name", NAME_MAX, errors, required=product is None)
    quantity = to_decimal(line.get("quantity"))
    if quantity is None or quantity <= 0 or quantity >= QUANTITY_LIMIT:
        errors.add(f"{path}.quantity", "Enter a quantity greater than 0.")
        quantity = None
    elif quantity != quantity.quantize(QUANTITY_PLACES, rounding=ROUND_DOWN):
        errors.add(f"{path}.quantity", "Use at most 3 decimal places.")
        quantity = None
    price = to_decimal(line.get("unit_price"))
    if price is None or price < 0 or price >= AMOUNT_LIMIT:
        errors.add(f"{path}.unit_price", "Enter a unit price of 0 or more.")
        price = None
    elif price != price.quantize(CENT, rounding=ROUND_DOWN):
        errors.add(f"{path}.unit_price", "Use at most 2 decimal places.")
        price = None
    discount = to_decimal(line.get("discount_percent", 0))
    if discount is None or not 0 <= discount <= 100 or discount != discount.quantize(CENT, rounding=ROUND_DOWN):
        errors.add(f"{path}.discount_percent", "Enter a discount between 0 and 100 (at most 2 decimals).")
        discount = None
    if quantity is None or price is None or discount is None:
        return None
    return CleanLine(
        product_id=product.pk if product else None,
        sku=sku or (product.sku if product else ""),
        name=name or (product.name if product else ""),
        quantity=quantity.quantize(QUANTITY_PLACES),
        unit_price=price.quantize(CENT),
        discount_percent=discount.quantize(CENT),
        line_total=line_total(quantity, price, discount),
    )


@dataclass
class CleanOrder:
    values: dict[str, Any]  # model fields (contact_id, company_id, ordered_at, status, currency, total …)
    lines: list[CleanLine] | None  # None: the lines are not being changed (a patch without them)
    customer_email: str = ""  # an address with no contact yet (only with create_customers)
    customer_name: str = ""


def clean_order(
    data: Mapping[str, Any],
    refs: OrderRefs,
    errors: FieldErrors,
    *,
    prefix: str = "",
    instance: Order | None = None,
    new_customers: bool = False,
) -> CleanOrder:
    """The stored form of one order's input; problems go to `errors` under `prefix` + field name.

    A create (no `instance`) needs ordered_at, currency, lines and a customer; a patch changes only
    the keys present. `new_customers`: an unknown `customer_email` is kept for the caller to create
    (otherwise it is an error). A line whose SKU names no product keeps the SKU, without a product.
    """
    for name in sorted(set(data) - FIELDS):
        errors.add(f"{prefix}{name}", "Unknown field.")
    values: dict[str, Any] = {}
    if "external_id" in data:
        values["external_id"] = clean_text(data["external_id"], f"{prefix}external_id", EXTERNAL_ID_MAX, errors)
    if "ordered_at" in data or instance is None:
        if data.get("ordered_at") is None:
            errors.add(f"{prefix}ordered_at", "This field is required.")
        else:
            values["ordered_at"] = _when(data["ordered_at"], f"{prefix}ordered_at", errors)
    if "status" in data:
        if data["status"] not in OrderStatus.values:
            errors.add(f"{prefix}status", f"Choose one of: {', '.join(OrderStatus.values)}.")
        else:
            values["status"] = data["status"]
    if "currency" in data or instance is None:
        raw = data.get("currency")
        raw = raw if isinstance(raw, str) else ""
        code = refs.currencies.get(raw)
        if code is None:
            code = errors.run(f"{prefix}currency", normalize.currency, raw)
            if code is not None:
                refs.currencies[raw] = code
        values["currency"] = code
    customer = CleanOrder(values=values, lines=None)
    if "contact_id" in data:
        pk = _id(data["contact_id"])
        if data["contact_id"] is not None and (pk is None or pk not in refs.contacts):
            errors.add(f"{prefix}contact_id", f"No contact with the id {data['contact_id']}.")
        values["contact_id"] = pk if data["contact_id"] is not None else None
    if data.get("customer_email") is not None:
        email = _email(data["customer_email"])
        if email is None:
            errors.run(f"{prefix}customer_email", normalize.email, data["customer_email"])  # its message
        if data.get("contact_id") is not None:
            errors.add(f"{prefix}customer_email", "Give contact_id or customer_email, not both.")
        elif email is not None:
            values["contact_id"] = refs.contacts_by_email.get(email)
            if values["contact_id"] is None and new_customers:
                customer.customer_email = email
                customer.customer_name = clean_text(data.get("customer_name"), f"{prefix}customer_name", 200, errors)
            elif values["contact_id"] is None:
                errors.add(f"{prefix}customer_email", f"No contact has the email address {email}.")
    if "company_id" in data:
        pk = _id(data["company_id"])
        if data["company_id"] is not None and (pk is None or pk not in refs.companies):
            errors.add(f"{prefix}company_id", f"No company with the id {data['company_id']}.")
        values["company_id"] = pk if data["company_id"] is not None else None
    contact = values.get("contact_id", instance.contact_id if instance else None)
    company = values.get("company_id", instance.company_id if instance else None)
    if contact is None and company is None and data.get("customer_email") is None:
        errors.add(f"{prefix}contact_id", "An order needs a customer: a contact, a company or both.")
    if "lines" in data or instance is None:
        lines = data.get("lines")
        if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_LINES:
            errors.add(f"{prefix}lines", f"Give 1 to {MAX_LINES} lines.")
        else:
            cleaned = [_clean_line(line, f"{prefix}lines.{i}", refs, errors) for i, line in enumerate(lines)]
            if all(line is not None for line in cleaned):
                customer.lines = [line for line in cleaned if line is not None]
                values["total"] = sum((line.line_total for line in customer.lines), Decimal(0))
                if values["total"] >= AMOUNT_LIMIT:
                    errors.add(f"{prefix}lines", "The order's total is too large.")
    return customer


LINE_FIELDS: tuple[str, ...] = ("org", "order", "product", "sku", "name", "quantity", "unit_price")
LINE_FIELDS += ("discount_percent", "line_total", "position")


def insert_lines(org_id: int, orders: Iterable[tuple[int, list[CleanLine]]]) -> None:
    """Insert the lines of orders, given as (order id, cleaned lines), with ONE statement
    (`insert_rows`: COPY on PostgreSQL, one executemany on SQLite).

    This is the bulk upsert's hot path (5,000 lines a batch): `bulk_create` spends longer building
    model instances and preparing each of their values than the database spends storing them,
    and on SQLite splits the rows into an INSERT per 90 lines. The values here are already what
    the columns hold (ints, text, Decimals).
    """
    rows = [
        (org_id, order_id, line.product_id, line.sku, line.name, line.quantity, line.unit_price,
         line.discount_percent, line.line_total, position)
        for order_id, lines in orders
        for position, line in enumerate(lines)
    ]  # fmt: skip
    insert_rows(OrderLine, LINE_FIELDS, rows)


def plain_number(value: Decimal) -> str:
    """3.000 → "3", 2.500 → "2.5", 10 → "10" (no exponent)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def line_text(line: OrderLine | CleanLine) -> str:
    """One line as the audit trail shows it: "3 x Widget [W-1] at 19.99 less 10% = 53.97"."""
    sku = f" [{line.sku}]" if line.sku else ""
    discount = f" less {plain_number(line.discount_percent)}%" if line.discount_percent else ""
    return f"{plain_number(line.quantity)} x {line.name}{sku} at {line.unit_price}{discount} = {line.line_total}"


def snapshot(order: Order, lines: Iterable[OrderLine | CleanLine]) -> dict[str, Any]:
    """The fields events record, as JSON values; each line as one readable text (`line_text`),
    which keeps the events of a 1,000-order batch small."""
    return {
        "number": order.number,
        "external_id": order.external_id,
        "contact_id": order.contact_id,
        "company_id": order.company_id,
        "ordered_at": order.ordered_at.isoformat() if order.ordered_at else None,
        "status": str(order.status),
        "currency": order.currency,
        "total": str(order.total),
        "lines": [line_text(line) for line in lines],
    }


def created_changes(values: dict[str, Any]) -> dict[str, list[Any]]:
    """What `diff({}, values)` gives for JSON values, without its per-value conversion (bulk path)."""
    return {key: [None, value] for key, value in values.items() if value is not None}


# --- reads ---------------------------------------------------------------------------------------


def _with_related(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.select_related("contact", "company", "owner").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("position", "id"))
    )


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def order_list(
    *,
    actor: Principal,
    contact_id: int | None = None,
    company_id: int | None = None,
    status: str | None = None,
    ordered_from: date | datetime | None = None,
    ordered_to: date | datetime | None = None,
    external_id: str | None = None,
) -> QuerySet[Order]:
    """The orders the actor may read (not trashed), filtered; `ordered_to` is inclusive (a date
    means the whole day, in UTC). Unordered: the caller pages it (newest first by ordered_at)."""
    qs = scope(actor, Order.objects.filter(org_id=actor.org_id, deleted_at__isnull=True), Entity.ORDER)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    if status is not None:
        if status not in OrderStatus.values:
            raise ValidationFailed("invalid", f"Choose one of: {', '.join(OrderStatus.values)}.", field="status")
        qs = qs.filter(status=status)
    # A day is turned into its UTC bounds, so the filter is a range on the (org, ordered_at) index.
    if ordered_from is not None:
        start = _day_start(ordered_from) if type(ordered_from) is date else ordered_from
        qs = qs.filter(ordered_at__gte=start)
    if ordered_to is not None:
        if type(ordered_to) is date:
            if ordered_to < date.max:  # the last day there is: no upper bound
                qs = qs.filter(ordered_at__lt=_day_start(ordered_to + timedelta(days=1)))
        else:
            qs = qs.filter(ordered_at__lte=ordered_to)
    if external_id is not None:
        qs = qs.filter(external_id=external_id)
    return _with_related(qs)


def order_get(*, actor: Principal, order_id: Any, mode: Mode = Mode.READ) -> Order:
    """One order the actor may read (404 for missing, trashed and other workspaces' alike); with
    mode=WRITE, 403 when the actor may read but not change it."""
    qs = _with_related(Order.objects.filter(org_id=actor.org_id, deleted_at__isnull=True))
    return access(actor, qs, order_id, Entity.ORDER, mode)


# --- writes --------------------------------------------------------------------------------------


def _require_write(actor: Principal, order: Order) -> None:
    if order.org_id != actor.org_id or not can_write(actor, order, Entity.ORDER):
        raise PermissionDenied()


def external_id_taken() -> Conflict:
    return Conflict("external_id_taken", "Another order already has this external id.", field="external_id")


def _clean_one(actor: Principal, data: Mapping[str, Any], instance: Order | None) -> CleanOrder:
    if not isinstance(data, Mapping):
        raise ValidationFailed("invalid", "Give the order as an object.")
    errors = FieldErrors()
    cleaned = clean_order(data, load_refs(actor, [data]), errors, instance=instance)
    if cleaned.values.get("external_id"):
        taken = Order.objects.filter(org_id=actor.org_id, external_id=cleaned.values["external_id"])
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            errors.add("external_id", "Another order already has this external id.")
    errors.raise_if_any()
    return cleaned


@transaction.atomic
def order_create(*, actor: Principal, data: Mapping[str, Any]) -> Order:
    """Create an order with its lines, numbered next in the workspace and owned by the actor.
    Records `order.created`."""
    require_entity(actor, Entity.ORDER, Mode.WRITE)
    cleaned = _clean_one(actor, data, None)
    values = {k: v for k, v in cleaned.values.items() if v is not None or k in ("contact_id", "company_id")}
    team_id = next(iter(actor.team_ids)) if len(actor.team_ids) == 1 else None
    number = next_number(actor.org_id)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                org_id=actor.org_id,
                created_by=actor.user,
                owner_id=actor.user_id,
                team_id=team_id,
                number=number,
                **values,
            )
    except IntegrityError:  # a concurrent write took the external id
        raise external_id_taken() from None
    insert_lines(actor.org_id, [(order.pk, cleaned.lines or [])])
    order = order_get(actor=actor, order_id=order.pk)
    record_event(actor, "order.created", order, created_changes(snapshot(order, order.lines.all())))
    return order


@transaction.atomic
def order_update(*, actor: Principal, order: Order, data: Mapping[str, Any], expected_version: int | None) -> Order:
    """Change some fields of an order (only the keys in `data`; `lines`, when given, replace all
    lines and the total); refuses a stale version. Records `order.updated` when anything changed."""
    _require_write(actor, order)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.deleted_at is not None or (expected_version is not None and expected_version != order.version):
        raise StaleVersion()
    before = snapshot(order, order.lines.order_by("position", "id"))
    cleaned = _clean_one(actor, data, order)
    try:
        with transaction.atomic():
            Order.objects.filter(pk=order.pk).update(
                version=F("version") + 1, updated_at=timezone.now(), **cleaned.values
            )
    except IntegrityError:  # a concurrent write took the external id
        raise external_id_taken() from None
    if cleaned.lines is not None:
        OrderLine.objects.filter(order_id=order.pk).delete()
        insert_lines(actor.org_id, [(order.pk, cleaned.lines)])
    order = order_get(actor=actor, order_id=order.pk)
    changes = diff(before, snapshot(order, order.lines.all()))
    if changes:
        record_event(actor, "order.updated", order, changes)
    return order


@transaction.atomic
def order_delete(*, actor: Principal, order: Order) -> Order:
    """Move an order to the trash (it leaves lists, facts and timelines; its number is not
    reused). Records `order.trashed`."""
    _require_write(actor, order)
    if order.deleted_at is None:
        order.deleted_at = timezone.now()
        Order.objects.filter(pk=order.pk).update(deleted_at=order.deleted_at, version=F("version") + 1)
        record_event(actor, "order.trashed", order, {"deleted_at": [None, order.deleted_at.isoformat()]})
    return order


@transaction.atomic
def order_from_lines(
    *,
    actor: Principal,
    lines: Iterable[CleanLine],
    currency: str,
    contact_id: int | None,
    company_id: int | None,
    deal_id: int | None = None,
    quote_id: int | None = None,
) -> Order:
    """Create a confirmed order from lines that are already clean (a won deal's, an accepted
    quote's), numbered next in the workspace and owned by the actor; the total is the sum of the
    lines. Needs order write; the caller checks what the lines come from. Records `order.created`."""
    require_entity(actor, Entity.ORDER, Mode.WRITE)
    clean = list(lines)
    if not clean:
        raise ValidationFailed("no_lines", "An order needs at least one line.", field="lines")
    if contact_id is None and company_id is None:
        raise ValidationFailed(
            "no_customer", "An order needs a customer: a contact, a company or both.", field="contact_id"
        )
    team_id = next(iter(actor.team_ids)) if len(actor.team_ids) == 1 else None
    order = Order.objects.create(
        org_id=actor.org_id,
        created_by=actor.user,
        owner_id=actor.user_id,
        team_id=team_id,
        number=next_number(actor.org_id),
        contact_id=contact_id,
        company_id=company_id,
        deal_id=deal_id,
        quote_id=quote_id,
        ordered_at=timezone.now(),
        status=OrderStatus.CONFIRMED,
        currency=currency,
        total=sum((line.line_total for line in clean), Decimal(0)),
    )
    insert_lines(actor.org_id, [(order.pk, clean)])
    order = order_get(actor=actor, order_id=order.pk)
    changes = created_changes(snapshot(order, order.lines.all()))
    changes.update({key: [None, value] for key, value in (("deal_id", deal_id), ("quote_id", quote_id)) if value})
    record_event(actor, "order.created", order, changes)
    return order
