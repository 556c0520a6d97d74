"""Quotes: priced offers made from a deal's line items, and the orders made from accepted quotes
and won deals.

Access follows the deal (Entity.DEAL own / team / all): whoever may read a deal reads its quotes,
whoever may change it makes and changes them; quotes of a trashed deal are not shown. Making an
order also needs order write (Entity.ORDER).

A quote is created from a deal that has lines: the lines are copied (each with a tax percent,
by default the quote-level `tax_percent` given at creation), and so are the deal's contact,
company, currency, owner and team. Quotes are numbered per workspace from 1001
(`order_services.next_number(kind="quote")`, under a row lock).

Totals, in the quote's currency: each line's total is quantity * unit price less its discount,
to the cent, half to even (order_services.line_total); `subtotal` is their sum; `discount_total`
is what the discounts took off (each line's quantity * price to the cent, less its total);
`tax_total` is the sum of each line's tax (line total * tax percent, to the cent, half to even:
money.round_money); `total` = subtotal + tax_total.

Statuses: draft → sent → accepted or declined. Only drafts change (fields and lines); a sent
quote can go back to draft to be revised ("revise"); accepted and declined are final. An
accepted quote becomes at most one order (the unique Order.quote): a second try is a 409. A won
deal with lines becomes an order too, once (a deal that already has an order is a 409). Orders
carry the lines' totals before tax (orders have no tax column).

Every write needs the version the caller read (If-Match), bumps it and records an event:
quote.created, quote.updated, quote.sent, quote.accepted, quote.declined, quote.revised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.accounts.roles import Entity, Mode
from rapport.contacts.cleaning import FieldErrors, clean_text
from rapport.core.access import can_write, level_filter, scope
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales import order_services
from rapport.sales.deal_lines import (
    LineInput,
    clean_lines,
    clean_percent,
    deal_line_total,
    deal_lines,
    decimal_of,
    line_text,
)
from rapport.sales.models import Deal, Order, Quote, QuoteLine, QuoteStatus, StageKind
from rapport.sales.money import round_money

QUOTE_KIND = "quote"
TITLE_MAX = 200
NOTES_MAX = 10_000
VALID_DAYS = 30
HUNDRED = Decimal(100)
FIELDS = {"title", "issued_on", "valid_until", "notes", "lines"}
CREATE_FIELDS = FIELDS - {"lines"} | {"tax_percent"}

# (from statuses, to status, verb, label of the action)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "send": (frozenset({QuoteStatus.DRAFT}), QuoteStatus.SENT, "quote.sent"),
    "accept": (frozenset({QuoteStatus.SENT}), QuoteStatus.ACCEPTED, "quote.accepted"),
    "decline": (frozenset({QuoteStatus.SENT}), QuoteStatus.DECLINED, "quote.declined"),
    "revise": (frozenset({QuoteStatus.SENT}), QuoteStatus.DRAFT, "quote.revised"),
}


# --- totals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


def line_tax(line: QuoteLine | LineInput) -> Decimal:
    """The tax of one line: its total * tax percent, to the cent, half to even."""
    return round_money(decimal_of(line.line_total) * decimal_of(line.tax_percent) / HUNDRED)


def quote_totals(lines: Sequence[QuoteLine | LineInput]) -> Totals:
    """Subtotal (the line totals), discount total, tax total (per line, rounded) and total."""
    subtotal = sum((decimal_of(line.line_total) for line in lines), Decimal(0))
    gross = sum((round_money(decimal_of(line.quantity) * decimal_of(line.unit_price)) for line in lines), Decimal(0))
    tax = sum((line_tax(line) for line in lines), Decimal(0))
    return Totals(subtotal=subtotal, discount_total=gross - subtotal, tax_total=tax, total=subtotal + tax)


# --- reads ---------------------------------------------------------------------------------------


def _deal_access(actor: Principal, mode: Mode) -> Q | None:
    """The condition on quotes (or orders) whose deal the actor may read (or write); None: none."""
    condition = level_filter(actor, Deal, actor.level(Entity.DEAL, mode), via="deal__")
    return None if condition is None else condition & Q(deal__deleted_at__isnull=True)


def _with_related(qs: QuerySet[Quote]) -> QuerySet[Quote]:
    return qs.select_related("deal", "contact", "company", "owner").prefetch_related(
        Prefetch("lines", queryset=QuoteLine.objects.order_by("position", "id"))
    )


def quote_list(*, actor: Principal, deal_id: int | None = None, status: str | None = None) -> QuerySet[Quote]:
    """The quotes the actor may read (not trashed; their deal readable), filtered; unordered (the
    caller pages it, newest first). Deal, contact, company and owner joined, lines prefetched."""
    condition = _deal_access(actor, Mode.READ)
    if condition is None:
        return Quote.objects.none()
    qs = Quote.objects.filter(condition, deleted_at__isnull=True)
    if deal_id is not None:
        qs = qs.filter(deal_id=deal_id)
    if status is not None and status != "":
        if status not in QuoteStatus.values:
            raise ValidationFailed("invalid", f"Choose one of: {', '.join(QuoteStatus.values)}.", field="status")
        qs = qs.filter(status=status)
    return _with_related(qs)


def _can_write(actor: Principal, quote: Quote) -> bool:
    condition = _deal_access(actor, Mode.WRITE)
    return condition is not None and Quote.objects.filter(condition, pk=quote.pk).exists()


def quote_get(*, actor: Principal, quote_id: Any, mode: Mode = Mode.READ) -> Quote:
    """One quote the actor may read (404 for missing, trashed, other workspaces' and those of
    deals the actor cannot read, alike); with mode=WRITE, 403 when the deal is read-only to them."""
    try:
        quote = quote_list(actor=actor).get(pk=quote_id)
    except (Quote.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if mode is Mode.WRITE and not _can_write(actor, quote):
        raise PermissionDenied()
    return quote


def can_write_quote(actor: Principal, quote: Quote) -> bool:
    return _can_write(actor, quote)


def quote_order(quote: Quote) -> Order | None:
    """The order made from the quote (trashed or not), if any."""
    return Order.objects.filter(quote_id=quote.pk).first()


# --- cleaning ------------------------------------------------------------------------------------


def _date(value: Any, name: str, errors: FieldErrors, *, required: bool = False) -> date | None:
    if value is None or value == "":
        if required:
            errors.add(name, "Enter a date as YYYY-MM-DD.")
        return None
    if isinstance(value, datetime):
        return value.date()
    parsed = value if isinstance(value, date) else parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        errors.add(name, "Enter a date as YYYY-MM-DD.")
    return parsed


def _clean(
    actor: Principal, data: Mapping[str, Any], *, currency: str, allowed: set[str], errors: FieldErrors
) -> dict[str, Any]:
    """The field values present in `data` (lines as LineInput under "lines")."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("invalid", "Give the quote as an object.")
    for name in sorted(set(data) - allowed):
        errors.add(name, "Unknown field.")
    values: dict[str, Any] = {}
    if "title" in data:
        values["title"] = clean_text(data["title"], "title", TITLE_MAX, errors, required=True)
    if "notes" in data:
        values["notes"] = clean_text(data["notes"], "notes", NOTES_MAX, errors)
    if "issued_on" in data:
        values["issued_on"] = _date(data["issued_on"], "issued_on", errors, required=True)
    if "valid_until" in data:
        values["valid_until"] = _date(data["valid_until"], "valid_until", errors)
    if "lines" in data:
        values["lines"] = clean_lines(actor, data["lines"], currency=currency, errors=errors, quote=True)
        if isinstance(data["lines"], list) and not data["lines"]:
            errors.add("lines", "A quote needs at least one line.")
    return values


def _check_dates(values: Mapping[str, Any], errors: FieldErrors) -> None:
    issued, until = values.get("issued_on"), values.get("valid_until")
    if issued and until and until < issued:
        errors.add("valid_until", "The quote must be valid until a day on or after it is issued.")


def _snapshot(quote: Quote, lines: Sequence[QuoteLine]) -> dict[str, Any]:
    return {
        "number": quote.number,
        "title": quote.title,
        "status": str(quote.status),
        "issued_on": quote.issued_on.isoformat() if quote.issued_on else None,
        "valid_until": quote.valid_until.isoformat() if quote.valid_until else None,
        "notes": quote.notes,
        "currency": quote.currency,
        "total": str(quote.total),
        "lines": [f"{line_text(line)}, tax {line.tax_percent}%" for line in lines],
    }


def _lines_of(quote: Quote) -> list[QuoteLine]:
    return list(QuoteLine.objects.filter(quote_id=quote.pk).order_by("position", "id"))


def _store_lines(quote: Quote, lines: Sequence[LineInput]) -> Totals:
    QuoteLine.objects.filter(quote_id=quote.pk).delete()
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                org_id=quote.org_id,
                quote_id=quote.pk,
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_percent=line.tax_percent,
                line_total=line.line_total,
                position=position,
            )
            for position, line in enumerate(lines)
        ]
    )
    return quote_totals(lines)


# --- writes --------------------------------------------------------------------------------------


def _require_deal_write(actor: Principal, deal: Deal) -> None:
    if deal.org_id != actor.org_id or deal.deleted_at is not None or not can_write(actor, deal, Entity.DEAL):
        raise PermissionDenied()


@transaction.atomic
def quote_create(*, actor: Principal, deal: Deal, data: Mapping[str, Any]) -> Quote:
    """Make a draft quote from a deal's lines (the deal must have some), numbered next in the
    workspace. `data`: title (default "<deal name>"), tax_percent for every line (default 0),
    issued_on (default today), valid_until (default 30 days later), notes. Records `quote.created`."""
    _require_deal_write(actor, deal)
    errors = FieldErrors()
    values = _clean(actor, data, currency=deal.currency, allowed=CREATE_FIELDS, errors=errors)
    tax = clean_percent(data.get("tax_percent"), "tax_percent", errors, "tax") if isinstance(data, Mapping) else None
    values.setdefault("title", deal.name[:TITLE_MAX])
    values.setdefault("issued_on", timezone.localdate())
    if "valid_until" not in data and values.get("issued_on"):
        values["valid_until"] = values["issued_on"] + timedelta(days=VALID_DAYS)
    _check_dates(values, errors)
    source = deal_lines(deal=deal)
    if not source:
        errors.add("deal_id", "This deal has no products: add its line items before making a quote.")
    errors.raise_if_any()
    lines = [
        LineInput(
            product_id=line.product_id,
            name=line.name,
            quantity=line.quantity,
            unit_price=decimal_of(line.unit_price),
            discount_percent=decimal_of(line.discount_percent),
            line_total=deal_line_total(line),
            sku=line.product.sku if line.product else "",
            tax_percent=tax or Decimal(0),
        )
        for line in source
    ]
    quote = Quote.objects.create(
        org_id=actor.org_id,
        created_by=actor.user,
        owner_id=deal.owner_id,
        team_id=deal.team_id,
        number=order_services.next_number(actor.org_id, kind=QUOTE_KIND),
        deal=deal,
        contact_id=deal.contact_id,
        company_id=deal.company_id,
        currency=deal.currency,
        **values,
    )
    totals = _store_lines(quote, lines)
    Quote.objects.filter(pk=quote.pk).update(**totals.__dict__)
    quote = quote_get(actor=actor, quote_id=quote.pk)
    record_event(
        actor, "quote.created", quote, {**diff({}, _snapshot(quote, _lines_of(quote))), "deal_id": [None, deal.pk]}
    )
    return quote


def _locked(actor: Principal, quote: Quote, expected_version: int | None) -> Quote:
    if quote.org_id != actor.org_id or not _can_write(actor, quote):
        raise PermissionDenied()
    locked = Quote.objects.select_for_update().get(pk=quote.pk)
    if locked.deleted_at is not None or (expected_version is not None and expected_version != locked.version):
        raise StaleVersion()
    return locked


def _not_draft(quote: Quote) -> Conflict:
    return Conflict(
        "quote_not_draft",
        f"Quote {quote.number} is {QuoteStatus(quote.status).label.lower()}: only drafts can be changed.",
    )


@transaction.atomic
def quote_update(*, actor: Principal, quote: Quote, data: Mapping[str, Any], expected_version: int | None) -> Quote:
    """Change a draft quote: title, issued_on, valid_until, notes, and `lines` (replaces them all
    and the totals). Refuses a stale version (412) and a quote that is not a draft (409).
    Records `quote.updated` when anything changed."""
    quote = _locked(actor, quote, expected_version)
    if quote.status != QuoteStatus.DRAFT:
        raise _not_draft(quote)
    errors = FieldErrors()
    values = _clean(actor, data, currency=quote.currency, allowed=FIELDS, errors=errors)
    _check_dates({"issued_on": quote.issued_on, "valid_until": quote.valid_until, **values}, errors)
    errors.raise_if_any()
    before = _snapshot(quote, _lines_of(quote))
    lines = values.pop("lines", None)
    if lines is not None:
        values.update(_store_lines(quote, lines).__dict__)
    Quote.objects.filter(pk=quote.pk).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    quote = quote_get(actor=actor, quote_id=quote.pk)
    changes = diff(before, _snapshot(quote, _lines_of(quote)))
    if changes:
        record_event(actor, "quote.updated", quote, {**changes, "number": [quote.number, quote.number]})
    return quote


@transaction.atomic
def quote_transition(*, actor: Principal, quote: Quote, action: str, expected_version: int | None) -> Quote:
    """Move a quote along draft → sent → accepted / declined, or a sent one back to draft
    ("revise"). `action`: send, accept, decline or revise. A transition the status does not allow
    is a 409 naming the status. Sets sent_at (send) and decided_at (accept, decline); records
    quote.sent / quote.accepted / quote.declined / quote.revised."""
    if action not in TRANSITIONS:
        raise ValidationFailed("invalid_action", f"Choose one of: {', '.join(TRANSITIONS)}.", field="action")
    quote = _locked(actor, quote, expected_version)
    allowed_from, target, verb = TRANSITIONS[action]
    if quote.status not in allowed_from:
        status = QuoteStatus(quote.status).label.lower()
        final = " (accepted and declined quotes are final)" if quote.status in {"accepted", "declined"} else ""
        raise Conflict("invalid_transition", f"Quote {quote.number} is {status}: it cannot be {verb[6:]}{final}.")
    now = timezone.now()
    values: dict[str, Any] = {"status": target}
    if action == "send":
        values["sent_at"] = now
    elif action == "revise":
        values["sent_at"] = None
    else:
        values["decided_at"] = now
    Quote.objects.filter(pk=quote.pk).update(version=F("version") + 1, updated_at=now, **values)
    record_event(actor, verb, quote, {"status": [quote.status, target], "number": [quote.number, quote.number]})
    return quote_get(actor=actor, quote_id=quote.pk)


def _order_lines(lines: Sequence[Any], sku_of: Any) -> list[order_services.CleanLine]:
    return [
        order_services.CleanLine(
            product_id=line.product_id,
            sku=sku_of(line),
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            line_total=order_services.line_total(line.quantity, line.unit_price, line.discount_percent),
        )
        for line in lines
    ]


@transaction.atomic
def quote_create_order(*, actor: Principal, quote: Quote) -> Order:
    """Make the order of an accepted quote: its lines (totals before tax), customer and currency,
    numbered as orders are. Needs the quote's deal writable and order write. Refused: a quote
    that is not accepted (422), one that already has an order (409). Records `order.created`."""
    if quote.org_id != actor.org_id or not _can_write(actor, quote):
        raise PermissionDenied()
    if not actor.can(Entity.ORDER, Mode.WRITE):
        raise PermissionDenied("permission_denied", "Your role does not allow creating orders.")
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status != QuoteStatus.ACCEPTED:
        status = QuoteStatus(quote.status).label.lower()
        raise ValidationFailed(
            "quote_not_accepted", f"Quote {quote.number} is {status}: only an accepted quote becomes an order."
        )
    existing = quote_order(quote)
    if existing is not None:
        raise Conflict("quote_has_order", f"Quote {quote.number} already became order {existing.number}.")
    lines = _order_lines(_lines_of(quote), lambda line: line.sku)
    try:
        return order_services.order_from_lines(
            actor=actor,
            lines=lines,
            currency=quote.currency,
            contact_id=quote.contact_id,
            company_id=quote.company_id,
            deal_id=quote.deal_id,
            quote_id=quote.pk,
        )
    except IntegrityError:  # made meanwhile by a concurrent request
        raise Conflict("quote_has_order", f"Quote {quote.number} already became an order.") from None


def deal_orders(*, actor: Principal, deal: Deal) -> list[Order]:
    """The living orders made from a deal that the actor may read, newest first: one query."""
    qs = Order.objects.filter(org_id=actor.org_id, deal_id=deal.pk, deleted_at__isnull=True)
    return list(scope(actor, qs, Entity.ORDER).order_by("-ordered_at", "-id"))


@transaction.atomic
def deal_create_order(*, actor: Principal, deal: Deal) -> Order:
    """Make an order from a won deal's lines, customer and currency. Needs the deal writable and
    order write. Refused: a deal that is not won or has no lines (422), a deal that already has
    an order (409). Records `order.created`."""
    _require_deal_write(actor, deal)
    if not actor.can(Entity.ORDER, Mode.WRITE):
        raise PermissionDenied("permission_denied", "Your role does not allow creating orders.")
    deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    if deal.stage.kind != StageKind.WON:
        raise ValidationFailed(
            "deal_not_won", f"“{deal.name}” is not won: only a won deal becomes an order (move it to a won stage)."
        )
    lines = deal_lines(deal=deal)
    if not lines:
        raise ValidationFailed("deal_has_no_lines", f"“{deal.name}” has no products: add its line items first.")
    existing = Order.objects.filter(deal_id=deal.pk, deleted_at__isnull=True).first()
    if existing is not None:
        raise Conflict("deal_has_order", f"“{deal.name}” already has order {existing.number}.")
    return order_services.order_from_lines(
        actor=actor,
        lines=_order_lines(lines, lambda line: line.product.sku if line.product else ""),
        currency=deal.currency,
        contact_id=deal.contact_id,
        company_id=deal.company_id,
        deal_id=deal.pk,
    )


def deal_page_events(*, actor: Principal, deal: Deal, limit: int = 50) -> list[Event]:
    """The newest `limit` events of a deal the actor may read, with those of its quotes and of the
    orders made from it that the actor may read (the deal page's timeline): one query."""
    quotes = Quote.objects.filter(org_id=actor.org_id, deal_id=deal.pk).values("pk")
    orders = scope(actor, Order.objects.filter(org_id=actor.org_id, deal_id=deal.pk), Entity.ORDER).values("pk")
    return list(
        Event.objects.filter(
            Q(subject_type="deal", subject_id=deal.pk)
            | Q(subject_type="quote", subject_id__in=quotes)
            | Q(subject_type="order", subject_id__in=orders),
            org_id=actor.org_id,
        )
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
