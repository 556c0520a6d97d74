"""Money in several currencies: exchange rates, conversion into the workspace's base currency, and
the base currency itself.

An `ExchangeRate` says how much ONE unit of `currency` is worth in the workspace's base currency
(`Organization.base_currency`) from `valid_from` on: with base EUR, "USD 0.92 from 2026-01-01"
means 1 USD = 0.92 EUR. An amount of a date converts with the latest rate on or before that date;
the base currency converts to itself unchanged. No rate on or before the date: `MissingRate` (a
422 that names the currency and the date, which the reports show as it is).

Rounding: a converted amount is `amount * rate`, quantized to 0.01 with ROUND_HALF_EVEN (banker's
rounding, so that rounding errors do not drift one way over many amounts). Totals convert each
currency's subtotal unrounded and round ONCE at the end (`total_in_base`), so a board total does
not depend on how many deals it adds up.

Reads take the `Organization` (reports run for a workspace, not for a person). Writes are
services: they take `actor`, need the manage-settings permission (admins), run in one transaction
and record an event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from rapport.accounts.models import Organization
from rapport.accounts.roles import Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core import normalize
from rapport.core.access import require
from rapport.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from rapport.core.events import record_event
from rapport.core.principal import Principal
from rapport.sales.models import ExchangeRate

CENT = Decimal("0.01")
ONE = Decimal(1)
# ExchangeRate.rate is DECIMAL(20, 10): up to 10 digits before the point and 10 after.
RATE_MAX = Decimal(10) ** 10
RATE_PLACES = 10


class MissingRate(ApplicationError):
    """No exchange rate of `currency` on or before `on`: the amount cannot be converted."""

    status = 422
    code = "missing_rate"

    def __init__(self, currency: str, on: date, base: str) -> None:
        self.currency = currency
        self.on = on
        self.base = base
        super().__init__(
            message=(
                f"No exchange rate from {currency} to {base} on or before {on.isoformat()}: "
                "add one in Settings → Currencies."
            ),
            field="currency",
        )


def round_money(value: Decimal) -> Decimal:
    """`value` to the cent, half to even (2.345 → 2.34, 2.355 → 2.36)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _code(currency: str) -> str:
    return normalize.currency(currency)


# --- reads ----------------------------------------------------------------------------------------


def rates_for(org: Organization, currencies: Iterable[str], on: date) -> dict[str, Decimal]:
    """{currency: rate} of the latest rate on or before `on` of each currency, in ONE query.

    The base currency maps to 1 (without a query when it is the only one). A currency without a
    rate by then is absent from the answer: `apply_rate` raises MissingRate for it, so a caller
    converting thousands of amounts asks once and converts in memory.
    """
    wanted = {_code(c) for c in currencies}
    answer: dict[str, Decimal] = {}
    if org.base_currency in wanted:
        answer[org.base_currency] = ONE
        wanted.discard(org.base_currency)
    if not wanted:
        return answer
    latest = (
        ExchangeRate.objects.filter(org_id=org.pk, currency=OuterRef("currency"), valid_from__lte=on)
        .order_by("-valid_from")
        .values("valid_from")[:1]
    )
    rows = ExchangeRate.objects.filter(
        org_id=org.pk, currency__in=sorted(wanted), valid_from=Subquery(latest)
    ).values_list("currency", "rate")
    answer.update({currency: rate for currency, rate in rows})
    return answer


def apply_rate(org: Organization, rates: Mapping[str, Decimal], amount: Decimal, currency: str, on: date) -> Decimal:
    """`amount` of `currency` in the base currency with `rates` (from `rates_for`), rounded to the cent.

    The base currency is returned unchanged. Raises MissingRate when `rates` has no rate for it."""
    if currency == org.base_currency:
        return amount
    rate = rates.get(currency)
    if rate is None:
        raise MissingRate(currency, on, org.base_currency)
    return round_money(amount * rate)


def convert(org: Organization, amount: Decimal, currency: str, on: date | None = None) -> Decimal:
    """`amount` of `currency` on date `on` (today by default) in the workspace's base currency.

    Uses the latest rate on or before `on`; the base currency is returned unchanged; the result is
    rounded to the cent, half to even. Raises MissingRate (422) when there is no such rate and
    ValidationFailed for an unknown currency code."""
    day = on or timezone.localdate()
    code = _code(currency)
    return apply_rate(org, rates_for(org, [code], day), Decimal(amount), code, day)


def total_in_base(org: Organization, amounts: Mapping[str, Decimal], on: date | None = None) -> Decimal:
    """The sum of {currency: amount} subtotals in the base currency: one query for the rates, each
    subtotal converted unrounded, the sum rounded once. Raises MissingRate for the first currency
    (alphabetically) without a rate."""
    day = on or timezone.localdate()
    rates = rates_for(org, amounts, day)
    total = Decimal(0)
    for currency in sorted(amounts):
        if currency != org.base_currency and currency not in rates:
            raise MissingRate(currency, day, org.base_currency)
        total += Decimal(amounts[currency]) * rates.get(currency, ONE)
    return round_money(total)


def rate_list(*, actor: Principal, currency: str | None = None) -> QuerySet[ExchangeRate]:
    """The workspace's exchange rates (any member may read them: reports show converted amounts)."""
    qs = ExchangeRate.objects.filter(org_id=actor.org_id)
    if currency:
        qs = qs.filter(currency=_code(currency))
    return qs


def rate_get(*, actor: Principal, rate_id: int) -> ExchangeRate:
    """One exchange rate of the actor's workspace; 404 for missing and other workspaces' alike."""
    try:
        return ExchangeRate.objects.get(org_id=actor.org_id, pk=rate_id)
    except (ExchangeRate.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


# --- writes ---------------------------------------------------------------------------------------


def clean_rate(value: Any, errors: FieldErrors, field: str = "rate") -> Decimal | None:
    """A rate > 0 with at most 10 decimals and 10 digits before the point, or None (message in `errors`)."""
    if isinstance(value, bool) or value is None or value == "":
        errors.add(field, "Enter a rate greater than 0.")
        return None
    try:
        rate = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        errors.add(field, "Enter a number, such as 0.92.")
        return None
    if not rate.is_finite() or rate <= 0:
        errors.add(field, "Enter a rate greater than 0.")
        return None
    if rate >= RATE_MAX:
        errors.add(field, "This rate is too large.")
        return None
    if -rate.normalize().as_tuple().exponent > RATE_PLACES:  # type: ignore[operator]
        errors.add(field, f"Use at most {RATE_PLACES} decimal places.")
        return None
    return rate


def _snapshot(rate: ExchangeRate) -> dict[str, Any]:
    return {"currency": rate.currency, "rate": str(rate.rate.normalize()), "valid_from": rate.valid_from.isoformat()}


@transaction.atomic
def rate_set(
    *, actor: Principal, currency: str, rate: Any, valid_from: Any, replace: bool = True
) -> tuple[ExchangeRate, bool]:
    """Set the rate of `currency` from `valid_from` on: creates it, or (with `replace`) changes the
    rate of that currency and day. Returns (rate, created). Admins only (manage settings).

    Refused (422): an unknown currency, the base currency itself (worth 1 by definition), a rate
    that is not > 0. Without `replace`, an existing rate for that day is a 409. Records
    `exchange_rate.set`."""
    require(actor, Perm.MANAGE_SETTINGS)
    errors = FieldErrors()
    code = errors.run("currency", normalize.currency, currency)
    base = Organization.objects.only("base_currency").get(pk=actor.org_id).base_currency
    if code is not None and code == base:
        errors.add("currency", f"{code} is the base currency: it is worth 1 {code} by definition.")
    value = clean_rate(rate, errors)
    if isinstance(valid_from, datetime):
        valid_from = valid_from.date()
    if not isinstance(valid_from, date):
        errors.add("valid_from", "Enter the date the rate applies from.")
    errors.raise_if_any()
    assert code is not None and value is not None
    existing = ExchangeRate.objects.select_for_update().filter(
        org_id=actor.org_id, currency=code, valid_from=valid_from
    )
    current = existing.first()
    if current is not None:
        if not replace:
            raise Conflict(
                "rate_exists",
                f"{code} already has a rate from {valid_from.isoformat()}; change it instead.",
                field="valid_from",
            )
        before = _snapshot(current)
        if current.rate != value:
            existing.update(rate=value, version=F("version") + 1, updated_at=timezone.now())
            current.refresh_from_db()
            record_event(actor, "exchange_rate.set", current, {"rate": [before["rate"], _snapshot(current)["rate"]]})
        return current, False
    created = ExchangeRate.objects.create(
        org_id=actor.org_id, created_by=actor.user, currency=code, rate=value, valid_from=valid_from
    )
    created.refresh_from_db()  # the rate as the database stores it (10 decimals)
    record_event(actor, "exchange_rate.set", created, {k: [None, v] for k, v in _snapshot(created).items()})
    return created, True


@transaction.atomic
def rate_delete(*, actor: Principal, rate: ExchangeRate) -> None:
    """Delete one exchange rate (amounts of its days then convert with the rate before it).
    Admins only. Records `exchange_rate.deleted`."""
    require(actor, Perm.MANAGE_SETTINGS)
    if rate.org_id != actor.org_id:
        raise NotFound()
    snapshot = _snapshot(rate)
    pk = rate.pk
    if ExchangeRate.objects.filter(pk=pk).delete()[0]:
        rate.pk = pk  # delete() clears it; the event names the row that was
        record_event(actor, "exchange_rate.deleted", rate, {k: [v, None] for k, v in snapshot.items()})


@transaction.atomic
def org_base_currency_set(*, actor: Principal, currency: str, clear_rates: bool = False) -> Organization:
    """Change the workspace's base currency. Admins only (manage settings).

    Every exchange rate is a value in the OLD base currency, so while rates exist the change is
    refused (409 `rates_exist`) unless `clear_rates` is true, which deletes them all in the same
    transaction (enter the new rates afterwards). Records `workspace.updated`."""
    require(actor, Perm.MANAGE_SETTINGS)
    code = normalize.currency(currency, field="base_currency")
    org = Organization.objects.select_for_update().get(pk=actor.org_id)
    if org.base_currency == code:
        return org
    rates = ExchangeRate.objects.filter(org_id=org.pk)
    count = rates.count()
    if count and not clear_rates:
        raise Conflict(
            "rates_exist",
            f"The {count} exchange rate(s) are values in {org.base_currency}: delete them to change the base "
            "currency (tick “delete the exchange rates”, or send clear_rates=true).",
            field="base_currency",
        )
    if count:
        rates.delete()
    old = org.base_currency
    Organization.objects.filter(pk=org.pk).update(base_currency=code, version=F("version") + 1)
    org.refresh_from_db()
    changes: dict[str, Any] = {"base_currency": [old, code]}
    if count:
        changes["exchange_rates_deleted"] = [count, 0]
    record_event(actor, "workspace.updated", org, changes, subject_type="organization")
    return org


def require_currency(value: Any, *, field: str = "currency") -> str:
    """The ISO code of `value`, or ValidationFailed naming `field` (for the API's query strings)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("required", "Enter a currency.", field=field)
    return normalize.currency(value, field=field)
