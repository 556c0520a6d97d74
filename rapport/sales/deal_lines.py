"""A deal's line items: the products (or free-text lines) it is about, with quantity, price and
discount. Replacing the lines is one write: all of them at once, in one transaction.

Rules of a line (the same cleaning serves a quote's lines, which add a tax percent and a
description, see rapport.sales.quote_services):
- `product_id` names a living product of the workspace (optional: a free-text line has none);
  the line's name defaults to the product's name (and a quote line's SKU to its SKU);
- `unit_price` defaults to the product's price only when the product is priced in the deal's
  currency; otherwise (or without a product) the caller gives it. Prices are never converted;
- quantity > 0 with at most 3 decimals; unit price >= 0 and discount 0 to 100 %, each with at
  most 2 decimals;
- errors name the line: `lines[2].quantity`.

When a deal has lines its `amount` is the sum of their totals (quantity * price less the
discount, to the cent, half to even: rapport.sales.order_services.line_total); a deal without
lines keeps the amount typed in. Access follows the deal (Entity.DEAL): whoever may change the
deal may change its lines. The write needs the version the caller read (If-Match), bumps it and
records `deal.lines_changed` with the lines before and after as readable texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.accounts.roles import Entity
from rapport.contacts.cleaning import FieldErrors, clean_text
from rapport.core.access import can_write, scope
from rapport.core.errors import PermissionDenied, StaleVersion
from rapport.core.events import record_event
from rapport.core.principal import Principal
from rapport.sales.models import Deal, DealLine, Product, QuoteLine
from rapport.sales.order_services import (
    AMOUNT_LIMIT,
    CENT,
    ID_MAX,
    NAME_MAX,
    QUANTITY_LIMIT,
    QUANTITY_PLACES,
    SKU_MAX,
    line_total,
    plain_number,
    to_decimal,
)

MAX_LINES = 200
DESCRIPTION_MAX = 2000
DEAL_LINE_KEYS = frozenset({"product_id", "name", "quantity", "unit_price", "discount_percent"})
QUOTE_LINE_KEYS = DEAL_LINE_KEYS | {"sku", "description", "tax_percent"}


@dataclass
class LineInput:
    """One cleaned line, as the columns hold it (`sku`, `description`, `tax_percent` are a quote's)."""

    product_id: int | None
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    line_total: Decimal
    sku: str = ""
    description: str = ""
    tax_percent: Decimal = Decimal(0)


def _places_ok(value: Decimal, places: Decimal) -> bool:
    return value == value.quantize(places, rounding=ROUND_DOWN)


def clean_percent(value: Any, path: str, errors: FieldErrors, what: str) -> Decimal | None:
    """A percent from 0 to 100 with at most 2 decimals (`what`: "discount", "tax")."""
    number = to_decimal(0 if value is None or value == "" else value)
    if number is None or not 0 <= number <= 100 or not _places_ok(number, CENT):
        errors.add(path, f"Enter a {what} between 0 and 100 (at most 2 decimals).")
        return None
    return number.quantize(CENT)


def _product_ids(raw: Sequence[Any]) -> set[int]:
    ids = set()
    for line in raw:
        pk = line.get("product_id") if isinstance(line, Mapping) else None
        if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk <= ID_MAX:
            ids.add(pk)
    return ids


def clean_lines(
    actor: Principal,
    raw: Any,
    *,
    currency: str,
    errors: FieldErrors,
    quote: bool = False,
    default_tax: Decimal = Decimal(0),
) -> list[LineInput] | None:
    """The cleaned lines of `raw` (a list of mappings), or None with the problems in `errors`
    under `lines` / `lines[i].<field>`. Products are loaded in one query. `quote`: the lines of a
    quote (sku, description and tax_percent too; tax defaults to `default_tax`)."""
    if not isinstance(raw, list) or len(raw) > MAX_LINES:
        errors.add("lines", f"Give at most {MAX_LINES} lines as a list.")
        return None
    wanted = _product_ids(raw)
    products: dict[int, Product] = {}
    if wanted:
        readable = scope(actor, Product.objects.filter(org_id=actor.org_id, deleted_at__isnull=True), Entity.PRODUCT)
        products = {p.pk: p for p in readable.filter(pk__in=wanted)}
    allowed = QUOTE_LINE_KEYS if quote else DEAL_LINE_KEYS
    cleaned = [
        _clean_line(line, f"lines[{i}]", products, currency, allowed, default_tax, errors) for i, line in enumerate(raw)
    ]
    if any(line is None for line in cleaned):
        return None
    lines = [line for line in cleaned if line is not None]
    if sum((line.line_total for line in lines), Decimal(0)) >= AMOUNT_LIMIT:
        errors.add("lines", "The lines' total is too large.")
        return None
    return lines


def _clean_line(
    line: Any,
    path: str,
    products: Mapping[int, Product],
    currency: str,
    allowed: frozenset[str],
    default_tax: Decimal,
    errors: FieldErrors,
) -> LineInput | None:
    if not isinstance(line, Mapping):
        errors.add(path, "Give a line as {product_id or name, quantity, unit_price, discount_percent}.")
        return None
    before = len(errors.fields)
    for name in sorted(set(line) - allowed):
        errors.add(f"{path}.{name}", "Unknown field.")
    product: Product | None = None
    raw_product = line.get("product_id")
    if raw_product is not None:
        valid = isinstance(raw_product, int) and not isinstance(raw_product, bool)
        product = products.get(raw_product) if valid else None
        if product is None:
            errors.add(f"{path}.product_id", f"No product with the id {raw_product}.")
    name = clean_text(line.get("name"), f"{path}.name", NAME_MAX, errors) or (product.name if product else "")
    if not name and raw_product is None:
        errors.add(f"{path}.name", "Name the line, or pick a product.")
    quantity = to_decimal(line.get("quantity"))
    if quantity is None or not 0 < quantity < QUANTITY_LIMIT:
        errors.add(f"{path}.quantity", "Enter a quantity greater than 0.")
        quantity = None
    elif not _places_ok(quantity, QUANTITY_PLACES):
        errors.add(f"{path}.quantity", "Use at most 3 decimal places.")
        quantity = None
    price = _price(line.get("unit_price"), product, currency, f"{path}.unit_price", errors)
    discount = clean_percent(line.get("discount_percent"), f"{path}.discount_percent", errors, "discount")
    sku, description, tax = "", "", default_tax
    if "tax_percent" in allowed:
        sku = clean_text(line.get("sku"), f"{path}.sku", SKU_MAX, errors) or (product.sku if product else "")
        description = clean_text(line.get("description"), f"{path}.description", DESCRIPTION_MAX, errors)
        if line.get("tax_percent") is not None:
            tax = clean_percent(line["tax_percent"], f"{path}.tax_percent", errors, "tax") or Decimal(0)
    if len(errors.fields) > before or quantity is None or price is None or discount is None:
        return None
    return LineInput(
        product_id=product.pk if product else None,
        name=name,
        quantity=quantity.quantize(QUANTITY_PLACES),
        unit_price=price,
        discount_percent=discount,
        line_total=line_total(quantity, price, discount),
        sku=sku,
        description=description,
        tax_percent=tax,
    )


def _price(value: Any, product: Product | None, currency: str, path: str, errors: FieldErrors) -> Decimal | None:
    if value is None or value == "":
        if product is not None and product.currency == currency:
            return decimal_of(product.unit_price)
        if product is not None:
            priced = f"“{product.name}” is priced in {product.currency}, not {currency}"
            errors.add(path, f"{priced}: enter its unit price in {currency}.")
        else:
            errors.add(path, "Enter a unit price of 0 or more.")
        return None
    price = to_decimal(value)
    if price is None or not 0 <= price < AMOUNT_LIMIT:
        errors.add(path, "Enter a unit price of 0 or more.")
        return None
    if not _places_ok(price, CENT):
        errors.add(path, "Use at most 2 decimal places.")
        return None
    return price.quantize(CENT)


def decimal_of(value: object) -> Decimal:
    """A Decimal column's value as a Decimal (what the database gives back)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def line_text(line: DealLine | QuoteLine | LineInput, currency: str = "") -> str:
    """One line as the audit trail shows it: "3 x Widget at 19.99 less 10% = 53.97"."""
    discount = f" less {plain_number(decimal_of(line.discount_percent))}%" if line.discount_percent else ""
    total = deal_line_total(line) if isinstance(line, DealLine) else line.line_total
    price = f"{currency} {line.unit_price}" if currency else str(line.unit_price)
    return f"{plain_number(decimal_of(line.quantity))} x {line.name} at {price}{discount} = {total}"


def deal_line_total(line: DealLine) -> Decimal:
    """A deal line's total (deal lines do not store it)."""
    return line_total(decimal_of(line.quantity), decimal_of(line.unit_price), decimal_of(line.discount_percent))


# --- reads ---------------------------------------------------------------------------------------


def deal_lines(*, deal: Deal) -> list[DealLine]:
    """The lines of a deal the caller already fetched with access (rapport.sales.deal_selectors
    .deal_get), in order, with their product and `total` set on each: one query."""
    lines = list(DealLine.objects.filter(deal_id=deal.pk).select_related("product").order_by("position", "id"))
    for line in lines:
        line.total = deal_line_total(line)  # type: ignore[attr-defined]
    return lines


def lines_total(lines: Sequence[DealLine]) -> Decimal:
    return sum((deal_line_total(line) for line in lines), Decimal(0))


# --- writes --------------------------------------------------------------------------------------


@transaction.atomic
def deal_lines_set(*, actor: Principal, deal: Deal, lines: Any, expected_version: int | None) -> Deal:
    """Replace all the lines of a deal (an empty list removes them); refuses a stale version.

    With lines, the deal's amount becomes their total. Changes nothing (no new version, no event)
    when the lines are the ones it has. Records `deal.lines_changed`."""
    if deal.org_id != actor.org_id or not can_write(actor, deal, Entity.DEAL):
        raise PermissionDenied()
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if deal.deleted_at is not None or (expected_version is not None and expected_version != deal.version):
        raise StaleVersion()
    errors = FieldErrors()
    cleaned = clean_lines(actor, lines, currency=deal.currency, errors=errors)
    errors.raise_if_any()
    assert cleaned is not None
    current = deal_lines(deal=deal)
    before = [line_text(line) for line in current]
    after = [line_text(line) for line in cleaned]
    same_products = [line.product_id for line in current] == [line.product_id for line in cleaned]
    if before == after and same_products:
        return deal
    DealLine.objects.filter(deal_id=deal.pk).delete()
    DealLine.objects.bulk_create(
        [
            DealLine(
                org_id=deal.org_id,
                deal_id=deal.pk,
                product_id=line.product_id,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                position=position,
            )
            for position, line in enumerate(cleaned)
        ]
    )
    amount = sum((line.line_total for line in cleaned), Decimal(0)) if cleaned else deal.amount
    Deal.objects.filter(pk=deal.pk).update(version=F("version") + 1, updated_at=timezone.now(), amount=amount)
    changes: dict[str, Any] = {"lines": [before, after]}
    if amount != deal.amount:
        changes["amount"] = [str(deal.amount), str(amount)]
    record_event(actor, "deal.lines_changed", deal, changes)
    deal.refresh_from_db()
    return deal
