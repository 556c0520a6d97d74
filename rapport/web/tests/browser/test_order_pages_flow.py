"""Orders by hand in a real browser: "New order" on a contact's Orders card opens the form for that
contact; two lines (a product at its catalogue price, a free-text item) make the order, whose page
shows the lines and total; back on the contact's page the order is on the card and the timeline.
Screenshots of the form, the order, the list and the contact page on a desktop and a phone (which
must not scroll sideways)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def _customer() -> int:
    from decimal import Decimal

    from rapport.accounts.models import Membership
    from rapport.contacts import services as contacts
    from rapport.core.principal import Principal
    from rapport.sales.models import Product

    membership = Membership.objects.get(org__name="Acme Ltd")
    actor = Principal.for_membership(membership)
    company = contacts.company_create(actor=actor, data={"name": "Initech"})
    ada = contacts.contact_create(
        actor=actor, data={"first_name": "Ada", "last_name": "Lovelace", "company_id": company.pk}
    )
    Product.objects.create(
        org=membership.org, sku="W-1", name="Widget", category="Hardware", unit_price=Decimal("49.90"), currency="USD"
    )
    return ada.pk


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_create_an_order_by_hand_and_see_it_on_the_contacts_page(
    page: Page, phone_page: Page, logged_in: Callable[[Page], Page], user: WebUser
) -> None:
    logged_in(page)
    contact_id = _customer()
    page.goto(f"/contacts/{contact_id}/")
    card = page.locator("#orders")
    expect(card.get_by_text("No orders yet.")).to_be_visible()
    card.get_by_role("link", name="New order").click()
    page.wait_for_url(f"**/sales/orders/new/?contact={contact_id}")
    expect(page.get_by_label("Contact", exact=True)).to_have_value(f"Ada Lovelace (#{contact_id})")
    expect(page.get_by_label("Company")).to_have_value("Initech")
    page.get_by_label("Line 1: product").select_option(label="Widget (W-1)")
    page.get_by_label("Line 1: quantity").fill("2")
    page.get_by_label("Line 2: item").fill("Installation")
    page.get_by_label("Line 2: unit price").fill("150")
    save_screenshot(page, "order-form-desktop")
    page.get_by_role("button", name="Create order").click()
    page.wait_for_url("**/sales/orders/*/")
    expect(page.get_by_role("heading", name="Order 1001")).to_be_visible()
    lines = page.locator(".order-lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("Widget")
    expect(lines.nth(0)).to_contain_text("USD 99.80")
    expect(lines.nth(1)).to_contain_text("Installation")
    expect(page.locator(".order-total")).to_contain_text("USD 249.80")
    save_screenshot(page, "order-detail-desktop")

    page.goto(f"/contacts/{contact_id}/")
    expect(card.get_by_role("link", name="Order 1001")).to_be_visible()
    expect(card.get_by_text("Lifetime revenue: USD 249.80")).to_be_visible()
    expect(page.locator("#timeline").get_by_text("Order 1001: USD 249.80")).to_be_visible()
    expect(page.locator("#timeline").get_by_text("Items: 2 x Widget, 1 x Installation")).to_be_visible()
    save_screenshot(page, "order-contact-desktop")
    card.get_by_role("link", name="All orders").click()
    page.wait_for_url(f"**/sales/orders/?contact={contact_id}")
    expect(page.get_by_role("link", name="Order 1001")).to_be_visible()
    save_screenshot(page, "order-list-desktop")
    console_of(page).assert_clean()

    phone = phone_page
    log_in(phone, user)
    for url, name in (("/sales/orders/", "order-list-phone"), ("/sales/orders/new/", "order-form-phone")):
        phone.goto(url)
        _fits(phone)
        save_screenshot(phone, name)
    phone.goto("/sales/orders/")
    phone.get_by_role("link", name="Order 1001").click()
    expect(phone.get_by_role("heading", name="Order 1001")).to_be_visible()
    _fits(phone)
    save_screenshot(phone, "order-detail-phone")
    console_of(phone).assert_clean()
