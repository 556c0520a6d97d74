"""Orders on a contact's 360° page in a real browser: the orders on the timeline and the purchase
facts (number of orders, last purchase, lifetime revenue). Screenshots on a desktop and a phone (which
must not scroll sideways)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, save_screenshot

pytestmark = pytest.mark.browser


def _contact_with_orders() -> int:
    from rapport.accounts.models import Membership
    from rapport.contacts import services as contacts
    from rapport.core.principal import Principal
    from rapport.sales.order_bulk import order_bulk_upsert

    membership = Membership.objects.get(org__name="Acme Ltd")
    actor = Principal.for_membership(membership)
    ada = contacts.contact_create(
        actor=actor, data={"first_name": "Ada", "last_name": "Lovelace", "emails": ["ada@example.org"]}
    )
    lines = [
        {"sku": "W-1", "name": "Widget with a rather long product name", "quantity": 3, "unit_price": "19.99"},
        {"sku": "G-2", "name": "Gadget", "quantity": "1.5", "unit_price": "40", "discount_percent": 10},
        {"sku": "S-3", "name": "Spare part", "quantity": 10, "unit_price": "2.50"},
        {"sku": "C-4", "name": "Cable", "quantity": 2, "unit_price": "4.99"},
    ]
    order_bulk_upsert(
        actor=actor,
        items=[
            {"external_id": "web-1", "customer_email": "ada@example.org", "currency": "USD", "lines": lines,
             "ordered_at": datetime(2026, 2, 1, 9, 30, tzinfo=UTC), "status": "completed"},
            {"external_id": "web-2", "customer_email": "ada@example.org", "currency": "USD", "lines": lines[:1],
             "ordered_at": datetime(2026, 3, 5, 14, 0, tzinfo=UTC), "status": "shipped"},
        ],
    )  # fmt: skip
    return ada.pk


def _check(page: Page, contact_id: int, name: str) -> None:
    page.goto(f"/contacts/{contact_id}/")
    main = page.locator("main")
    expect(main.get_by_text("Order 1001: USD 148.95")).to_be_visible()
    expect(main.get_by_text("Order 1002: USD 59.97")).to_be_visible()
    expect(main.get_by_text("Status: Completed")).to_be_visible()
    expect(main.get_by_text("and 1 more")).to_be_visible()
    expect(page.get_by_text("Last purchase")).to_be_visible()
    expect(page.get_by_text("2026-03-05", exact=True)).to_be_visible()
    expect(page.locator("#facts").get_by_text("USD 208.92")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, name)
    console_of(page).assert_clean()


def test_a_contacts_page_shows_the_orders_and_purchase_facts(
    page: Page, logged_in: Callable[[Page], Page], open_page: Callable[..., Page], user: WebUser
) -> None:
    logged_in(page)
    contact_id = _contact_with_orders()
    _check(page, contact_id, "order-timeline-desktop")
    phone = logged_in(open_page(PHONE))
    _check(phone, contact_id, "order-timeline-phone")
