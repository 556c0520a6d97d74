"""Orders: line arithmetic, numbering, the single-order services, and the 360° facts and timeline."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction

from rapport.accounts.roles import Role
from rapport.contacts.facts import facts_for
from rapport.contacts.timeline import timeline
from rapport.core.errors import PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales.models import ExchangeRate, NumberSequence, Order, OrderLine
from rapport.sales.order_services import line_total, next_number, order_create, order_delete, order_update

WHEN = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _order(**extra: Any) -> dict[str, Any]:
    return {
        "ordered_at": WHEN,
        "currency": "EUR",
        "lines": [{"sku": "W-1", "name": "Widget", "quantity": "3", "unit_price": "19.99", "discount_percent": "10"}],
        **extra,
    }


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "expected"),
    [
        ("3", "19.99", "10", "53.97"),  # 59.97 * 0.9 = 53.973
        ("0.5", "0.25", "0", "0.12"),  # 0.125, half to even: down to the even cent
        ("0.5", "0.27", "0", "0.14"),  # 0.135, half to even: up to the even cent
        ("2.5", "10.01", "0", "25.02"),  # 25.025 → 25.02
        ("1", "100.00", "100", "0.00"),
        ("0.001", "0.01", "0", "0.00"),
        ("7", "3.33", "33.33", "15.54"),  # 23.31 * 0.6667 = 15.540777
    ],
)
def test_line_total_rounds_to_the_cent_half_to_even(quantity, price, discount, expected):
    assert line_total(Decimal(quantity), Decimal(price), Decimal(discount)) == Decimal(expected)


def test_order_total_is_the_sum_of_its_rounded_lines(admin, ada):
    order = order_create(
        actor=admin,
        data=_order(
            contact_id=ada.pk,
            lines=[
                {"name": "A", "quantity": "3", "unit_price": "19.99", "discount_percent": "10"},
                {"name": "B", "quantity": "2.5", "unit_price": "10.01"},
                {"name": "C", "quantity": "0.5", "unit_price": "0.25"},
            ],
        ),
    )
    assert [line.line_total for line in order.lines.all()] == [Decimal("53.97"), Decimal("25.02"), Decimal("0.12")]
    assert order.total == Decimal("79.11")
    order.refresh_from_db()
    assert order.total == Decimal("79.11") and order.number == 1001 and order.owner_id == admin.user_id


def test_numbers_count_per_workspace_from_1001(admin, other_admin, ada, org, other_org):
    assert next_number(org.pk) == 1001
    assert next_number(org.pk, count=10) == 1002
    assert next_number(org.pk) == 1012
    assert next_number(other_org.pk) == 1001
    assert next_number(org.pk, "quote") == 1001
    assert NumberSequence.objects.get(org=org, kind="order").last == 1012


def test_a_rolled_back_create_gives_its_number_back(admin, ada, org):
    with pytest.raises(ValidationFailed):
        order_create(actor=admin, data=_order(contact_id=ada.pk, currency="XXQ"))
    with transaction.atomic():
        assert next_number(org.pk) == 1001
        transaction.set_rollback(True)
    assert order_create(actor=admin, data=_order(contact_id=ada.pk)).number == 1001


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the test database is in memory: one connection at a time")
@pytest.mark.django_db(transaction=True)
def test_concurrent_numbering_never_hands_out_a_number_twice(org):
    """Threads with their own connections take numbers at once (PostgreSQL: the row lock decides;
    on SQLite, IMMEDIATE transactions serialise writers). Every number is handed out once, no gaps."""
    taken: list[int] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                with transaction.atomic():
                    taken.append(next_number(org.pk))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(taken) == list(range(1001, 1041))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XXQ"}, "currency"),
        ({"lines": []}, "lines"),
        ({"lines": [{"name": "A", "quantity": "-1", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "A", "quantity": "0", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "A", "quantity": "1.0001", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "A", "quantity": "1", "unit_price": "-1"}]}, "lines.0.unit_price"),
        ({"lines": [{"name": "A", "quantity": "1", "unit_price": "1.001"}]}, "lines.0.unit_price"),
        (
            {"lines": [{"name": "A", "quantity": "1", "unit_price": "1", "discount_percent": "101"}]},
            "lines.0.discount_percent",
        ),
        ({"lines": [{"quantity": "1", "unit_price": "1"}]}, "lines.0.name"),
        ({"lines": [{"name": "A", "quantity": "1", "unit_price": "1", "product_id": 999999}]}, "lines.0.product_id"),
        ({"lines": [{"name": "A", "quantity": "99999999999.999", "unit_price": "9999999999999999.99"}]}, "lines"),
        ({"lines": [{"name": "A", "quantity": "1e400", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "A", "quantity": "NaN", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"contact_id": None}, "contact_id"),
        ({"ordered_at": "2026-03-01T10:00:00"}, "ordered_at"),
        ({"status": "lost"}, "status"),
        ({"customer_email": "nobody@example.org", "contact_id": None}, "customer_email"),
    ],
)
def test_bad_orders_are_refused_naming_the_field_and_write_nothing(admin, ada, change, field):
    with pytest.raises(ValidationFailed) as raised:
        order_create(actor=admin, data={**_order(contact_id=ada.pk), **change})
    assert field in raised.value.fields
    assert not Order.objects.exists() and not OrderLine.objects.exists() and not Event.objects.exists()


def test_a_line_finds_its_product_by_sku_and_a_customer_by_email(admin, ada, org):
    from rapport.sales.models import Product

    product = Product.objects.create(org=org, sku="W-1", name="Widget", unit_price=Decimal("20"), currency="EUR")
    order = order_create(actor=admin, data=_order(customer_email="ADA@example.org"))
    assert order.contact_id == ada.pk and order.lines.get().product_id == product.pk


def test_update_replaces_lines_checks_the_version_and_records_the_change(admin, ada, company):
    order = order_create(actor=admin, data=_order(contact_id=ada.pk))
    with pytest.raises(StaleVersion):
        order_update(actor=admin, order=order, data={"status": "shipped"}, expected_version=7)
    order = order_update(
        actor=admin,
        order=order,
        data={
            "status": "shipped",
            "company_id": company.pk,
            "lines": [{"name": "Gadget", "quantity": 2, "unit_price": "5"}],
        },
        expected_version=1,
    )
    assert (order.status, order.total, order.version, order.company_id) == ("shipped", Decimal("10.00"), 2, company.pk)
    assert [line.name for line in order.lines.all()] == ["Gadget"]
    event = Event.objects.get(verb="order.updated")
    assert event.changes["status"] == ["confirmed", "shipped"] and event.changes["total"] == ["53.97", "10.00"]
    assert event.changes["lines"] == [["3 x Widget [W-1] at 19.99 less 10% = 53.97"], ["2 x Gadget at 5.00 = 10.00"]]


def test_sales_write_their_own_orders_and_read_their_teams(member_of, ada):
    rep = member_of(Role.SALES)
    colleague = member_of(Role.SALES)
    viewer = member_of(Role.VIEWER)
    theirs = order_create(actor=colleague, data=_order(contact_id=ada.pk))
    with pytest.raises(PermissionDenied):
        order_update(actor=rep, order=theirs, data={"status": "shipped"}, expected_version=None)
    with pytest.raises(PermissionDenied):
        order_delete(actor=rep, order=theirs)
    with pytest.raises(PermissionDenied):
        order_create(actor=viewer, data=_order(contact_id=ada.pk))
    mine = order_create(actor=rep, data=_order(contact_id=ada.pk))
    assert order_delete(actor=rep, order=mine).deleted_at is not None
    assert Order.objects.get(pk=theirs.pk).version == 1


def test_facts_show_purchases_revenue_in_the_base_currency_and_the_last_date(admin, ada, company, org):
    org.base_currency = "EUR"
    org.save(update_fields=["base_currency"])
    order_create(actor=admin, data=_order(contact_id=ada.pk, company_id=company.pk))  # 53.97 EUR
    order_create(
        actor=admin,
        data=_order(contact_id=ada.pk, currency="USD", ordered_at=datetime(2026, 4, 2, tzinfo=UTC),
                    lines=[{"name": "X", "quantity": 1, "unit_price": "100"}]),
    )  # fmt: skip
    order_create(actor=admin, data=_order(contact_id=ada.pk, status="cancelled"))  # not revenue
    facts = {f.label: f.value for f in facts_for(actor=admin, subject_type="contact", record=ada)}
    assert (facts["Orders"], facts["Last purchase"]) == ("2", "2026-04-02")
    assert facts["Lifetime revenue"] == "EUR 53.97 + USD 100.00"  # no USD rate yet: per currency
    ExchangeRate.objects.create(org=org, currency="USD", rate=Decimal("0.9"), valid_from=date(2026, 1, 1))
    facts = {f.label: f.value for f in facts_for(actor=admin, subject_type="contact", record=ada)}
    assert facts["Lifetime revenue"] == "EUR 143.97"
    company_facts = {f.label: f.value for f in facts_for(actor=admin, subject_type="company", record=company)}
    assert (company_facts["Orders"], company_facts["Last purchase"]) == ("2", "2026-04-02")  # its own and its person's


def test_orders_show_on_the_customers_timeline(admin, ada, member_of):
    order = order_create(actor=admin, data=_order(contact_id=ada.pk))
    items = timeline(actor=admin, subjects=[("contact", [ada.pk])], kinds=["order"])
    assert [(i.title, i.lines) for i in items] == [
        (f"Order {order.number}: EUR 53.97", ("Status: Confirmed", "Items: 3 x Widget"))
    ]
    rep = member_of(Role.SALES)  # team level: not their order
    assert timeline(actor=rep, subjects=[("contact", [ada.pk])], kinds=["order"]) == []
    assert "Orders" not in {f.label for f in facts_for(actor=rep, subject_type="contact", record=ada)}
    assert timeline(actor=admin, subjects=[("company", [ada.company_id])], kinds=["order"]) == []  # no company set
