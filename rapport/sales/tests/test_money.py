"""Conversion into the base currency with dated exchange rates: known numbers, rounding, missing rates,
one query for many currencies, and the rate and base-currency services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.models import Organization
from rapport.accounts.roles import Role
from rapport.core.errors import Conflict, PermissionDenied, ValidationFailed
from rapport.core.models import Event
from rapport.sales import money
from rapport.sales.models import ExchangeRate

D = Decimal


@pytest.fixture
def eur_org(org: Organization) -> Organization:
    org.base_currency = "EUR"
    org.save(update_fields=["base_currency"])
    return org


def rate(org: Organization, currency: str, value: str, on: date) -> ExchangeRate:
    return ExchangeRate.objects.create(org=org, currency=currency, rate=D(value), valid_from=on)


@pytest.fixture
def rates(eur_org: Organization) -> Organization:
    rate(eur_org, "USD", "0.90", date(2026, 1, 1))
    rate(eur_org, "USD", "0.95", date(2026, 3, 1))
    rate(eur_org, "GBP", "1.17", date(2026, 1, 1))
    rate(eur_org, "JPY", "0.0061", date(2026, 2, 15))
    return eur_org


def test_the_latest_rate_on_or_before_the_date_converts(rates):
    assert money.convert(rates, D("100.00"), "USD", on=date(2026, 1, 1)) == D("90.00")
    assert money.convert(rates, D("100.00"), "USD", on=date(2026, 2, 28)) == D("90.00")
    assert money.convert(rates, D("100.00"), "USD", on=date(2026, 3, 1)) == D("95.00")
    assert money.convert(rates, D("100.00"), "USD", on=date(2027, 1, 1)) == D("95.00")
    assert money.convert(rates, D("12345"), "JPY", on=date(2026, 2, 15)) == D("75.30")  # 75.3045


def test_the_base_currency_is_unchanged_without_a_rate(rates):
    assert money.convert(rates, D("19.999"), "EUR", on=date(1999, 1, 1)) == D("19.999")
    assert money.convert(rates, D("5"), "eur", on=date(2026, 1, 1)) == D("5")


def test_rounding_is_half_to_even_at_the_cent(eur_org):
    rate(eur_org, "USD", "0.5", date(2026, 1, 1))
    on = date(2026, 1, 2)
    assert money.convert(eur_org, D("0.05"), "USD", on=on) == D("0.02")  # 0.025 → 0.02
    assert money.convert(eur_org, D("0.07"), "USD", on=on) == D("0.04")  # 0.035 → 0.04
    assert money.convert(eur_org, D("-0.05"), "USD", on=on) == D("-0.02")
    assert money.round_money(D("2.345")) == D("2.34") and money.round_money(D("2.355")) == D("2.36")


def test_a_missing_rate_is_a_clear_error_naming_currency_and_date(rates):
    with pytest.raises(money.MissingRate) as caught:
        money.convert(rates, D("10"), "USD", on=date(2025, 12, 31))
    assert caught.value.status == 422 and caught.value.code == "missing_rate"
    assert caught.value.currency == "USD" and caught.value.on == date(2025, 12, 31)
    assert "USD" in caught.value.message and "2025-12-31" in caught.value.message and "EUR" in caught.value.message
    with pytest.raises(money.MissingRate):
        money.convert(rates, D("10"), "CHF", on=date(2026, 6, 1))


def test_an_unknown_currency_is_refused(rates):
    with pytest.raises(ValidationFailed) as caught:
        money.convert(rates, D("10"), "XYZ", on=date(2026, 6, 1))
    assert caught.value.fields == {"currency": caught.value.fields["currency"]}


def test_rates_of_another_workspace_are_never_used(rates, other_org):
    other_org.base_currency = "EUR"
    other_org.save()
    rate(other_org, "CHF", "1.05", date(2020, 1, 1))
    with pytest.raises(money.MissingRate):
        money.convert(rates, D("10"), "CHF", on=date(2026, 6, 1))
    assert money.convert(other_org, D("10"), "CHF", on=date(2026, 6, 1)) == D("10.50")


def test_rates_for_many_currencies_is_one_query(rates):
    with CaptureQueriesContext(connection) as queries:
        found = money.rates_for(rates, ["USD", "GBP", "JPY", "CHF", "EUR"], date(2026, 2, 20))
    assert len(queries) == 1
    assert found == {"EUR": D(1), "USD": D("0.90"), "GBP": D("1.17"), "JPY": D("0.0061")}
    with CaptureQueriesContext(connection) as queries:
        assert money.rates_for(rates, ["EUR"], date(2026, 2, 20)) == {"EUR": D(1)}
    assert len(queries) == 0


def test_many_amounts_convert_in_memory_with_one_rates_query(rates):
    deals = [(D("100.00"), "USD"), (D("200.00"), "GBP"), (D("50.00"), "EUR")] * 1000
    on = date(2026, 3, 15)
    with CaptureQueriesContext(connection) as queries:
        table = money.rates_for(rates, {c for _, c in deals}, on)
        converted = [money.apply_rate(rates, table, amount, c, on) for amount, c in deals]
    assert len(queries) == 1
    assert sum(converted) == 1000 * (D("95.00") + D("234.00") + D("50.00"))


def test_a_total_rounds_once_at_the_end(eur_org):
    rate(eur_org, "USD", "0.333", date(2026, 1, 1))
    on = date(2026, 1, 2)
    # 3 x 0.01 USD: each converts to 0.00 alone; the subtotal 0.03 x 0.333 = 0.00999 → 0.01.
    assert money.total_in_base(eur_org, {"USD": D("0.03"), "EUR": D("1.00")}, on) == D("1.01")
    with pytest.raises(money.MissingRate) as caught:
        money.total_in_base(eur_org, {"USD": D(1), "GBP": D(1)}, on)
    assert caught.value.currency == "GBP"


# --- services -------------------------------------------------------------------------------------


def test_rate_set_creates_then_replaces_the_rate_of_a_day(admin, eur_org):
    admin.org.refresh_from_db()
    created, is_new = money.rate_set(actor=admin, currency="usd", rate="0.92", valid_from=date(2026, 1, 1))
    assert is_new and created.currency == "USD" and created.rate == D("0.92") and created.version == 1
    same, is_new = money.rate_set(actor=admin, currency="USD", rate=D("0.93"), valid_from=date(2026, 1, 1))
    assert not is_new and same.pk == created.pk and same.rate == D("0.93") and same.version == 2
    assert ExchangeRate.objects.filter(org=eur_org).count() == 1
    events = list(Event.objects.filter(verb="exchange_rate.set").order_by("id").values_list("changes", flat=True))
    assert events[1] == {"rate": ["0.92", "0.93"]}
    with pytest.raises(Conflict) as caught:
        money.rate_set(actor=admin, currency="USD", rate="1", valid_from=date(2026, 1, 1), replace=False)
    assert caught.value.fields.keys() == {"valid_from"}


@pytest.mark.parametrize(
    ("currency", "value", "field"),
    [
        ("USD", "0", "rate"),
        ("USD", "-1.5", "rate"),
        ("USD", "NaN", "rate"),
        ("USD", "abc", "rate"),
        ("USD", "0.12345678901", "rate"),
        ("USD", "10000000000", "rate"),
        ("XYZ", "1", "currency"),
        ("", "1", "currency"),
        ("EUR", "1", "currency"),  # the base currency itself
    ],
)
def test_rate_set_refuses_bad_input_and_writes_nothing(admin, eur_org, currency, value, field):
    with pytest.raises(ValidationFailed) as caught:
        money.rate_set(actor=admin, currency=currency, rate=value, valid_from=date(2026, 1, 1))
    assert field in caught.value.fields
    assert not ExchangeRate.objects.exists() and not Event.objects.filter(verb__startswith="exchange_rate").exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.VIEWER])
def test_only_admins_set_and_delete_rates(member_of, eur_org, role):
    actor = member_of(role)
    existing = rate(eur_org, "USD", "0.9", date(2026, 1, 1))
    with pytest.raises(PermissionDenied):
        money.rate_set(actor=actor, currency="GBP", rate="1.1", valid_from=date(2026, 1, 1))
    with pytest.raises(PermissionDenied):
        money.rate_delete(actor=actor, rate=existing)
    assert list(ExchangeRate.objects.values_list("currency", flat=True)) == ["USD"]


def test_rate_delete_falls_back_to_the_rate_before(admin, rates):
    march = ExchangeRate.objects.get(currency="USD", valid_from=date(2026, 3, 1))
    money.rate_delete(actor=admin, rate=march)
    assert money.convert(rates, D("100"), "USD", on=date(2026, 4, 1)) == D("90.00")
    event = Event.objects.get(verb="exchange_rate.deleted")
    assert event.subject_id == march.pk and event.changes["currency"] == ["USD", None]


def _base(org: Organization) -> str:
    return Organization.objects.get(pk=org.pk).base_currency


def test_the_base_currency_change_is_refused_while_rates_exist(admin, rates):
    with pytest.raises(Conflict) as caught:
        money.org_base_currency_set(actor=admin, currency="USD")
    assert caught.value.code == "rates_exist" and "base_currency" in caught.value.fields
    assert _base(rates) == "EUR" and ExchangeRate.objects.count() == 4


def test_the_base_currency_change_with_clear_rates_deletes_them(admin, rates, other_org):
    rate(other_org, "CHF", "1.05", date(2020, 1, 1))
    org = money.org_base_currency_set(actor=admin, currency="usd", clear_rates=True)
    assert org.base_currency == "USD" == _base(rates)
    assert not ExchangeRate.objects.filter(org=rates).exists()
    assert ExchangeRate.objects.filter(org=other_org).count() == 1
    event = Event.objects.get(verb="workspace.updated")
    assert event.changes == {"base_currency": ["EUR", "USD"], "exchange_rates_deleted": [4, 0]}


def test_the_base_currency_change_without_rates(admin, eur_org):
    assert money.org_base_currency_set(actor=admin, currency="Pound Sterling").base_currency == "GBP"
    money.org_base_currency_set(actor=admin, currency="GBP")  # unchanged: no second event
    assert Event.objects.filter(verb="workspace.updated").count() == 1


@pytest.mark.parametrize(("role", "currency"), [(Role.MANAGER, "USD"), (Role.SALES, "USD")])
def test_only_admins_change_the_base_currency(member_of, eur_org, role, currency):
    with pytest.raises(PermissionDenied):
        money.org_base_currency_set(actor=member_of(role), currency=currency)
    assert _base(eur_org) == "EUR"


def test_an_unknown_base_currency_is_refused(admin, eur_org):
    with pytest.raises(ValidationFailed) as caught:
        money.org_base_currency_set(actor=admin, currency="Zorkmid")
    assert "base_currency" in caught.value.fields and _base(eur_org) == "EUR"


def test_read_only_tokens_cannot_write_rates(eur_org):
    from rapport.testing.factories import make_principal

    actor: Any = make_principal(eur_org, Role.ADMIN)
    read_only = type(actor)(**{**actor.__dict__, "scope": "read"})
    with pytest.raises(PermissionDenied):
        money.rate_set(actor=read_only, currency="USD", rate="1", valid_from=date(2026, 1, 1))
