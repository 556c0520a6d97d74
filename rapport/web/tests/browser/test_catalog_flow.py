"""Products and currencies in a real browser: an admin adds a product from the Products page, finds it
by its SKU, then sets an exchange rate in Settings → Currencies. Screenshots on a desktop and a
phone; neither page scrolls sideways on the phone. (The rules are tested in rapport/sales/tests.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def _principal(user: WebUser) -> Any:
    from rapport.accounts.models import Membership
    from rapport.core.principal import Principal

    return Principal.for_membership(Membership.objects.get(user__email=user.email, org__name="Acme Ltd"))


def _catalogue(actor: Any) -> None:
    from rapport.sales.catalog_services import product_create

    rows = [
        ("CH-100", "Ergonomic office chair with a very long name for wrapping", "Furniture", "349.00", "EUR"),
        ("DK-200", "Standing desk", "Furniture", "899.00", "USD"),
        ("LIC-PRO", "Rapport Pro licence (per seat, per year)", "Software", "120.00", "GBP"),
    ]
    for sku, name, category, price, currency in rows:
        product_create(
            actor=actor,
            data={"sku": sku, "name": name, "category": category, "unit_price": price, "currency": currency},
        )


def scroll_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def test_an_admin_adds_a_product_and_an_exchange_rate(
    page: Page, phone_page: Page, logged_in: Callable[[Page], Page], user: WebUser
) -> None:
    _catalogue(_principal(user))
    logged_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sales").click()
    page.get_by_role("navigation", name="Sales").get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    page.get_by_role("link", name="New product").click()
    page.get_by_label("SKU").fill("MUG-1")
    page.get_by_label("Name").fill("Rapport mug")
    page.get_by_label("Category").fill("Merchandise")
    page.get_by_label("Unit price").fill("12.50")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Description").fill("Ceramic, 330 ml.")
    save_screenshot(page, "catalog-product-form-desktop")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator(".flash")).to_contain_text("Product “Rapport mug” added.")
    expect(page.get_by_role("cell", name="12.50 EUR")).to_be_visible()

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Category").select_option("Furniture")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Clear").click()
    save_screenshot(page, "catalog-products-desktop")

    page.goto("/settings/currencies/")
    expect(page.get_by_role("heading", level=2, name="Base currency: USD")).to_be_visible()
    page.get_by_label("Currency", exact=True).select_option("EUR")
    page.get_by_label("Rate", exact=True).fill("1.0825")
    page.get_by_label("Valid from").fill("2026-01-01")
    page.get_by_role("button", name="Save rate").click()
    expect(page.locator(".flash")).to_contain_text("Rate added: 1 EUR = 1.0825 USD.")
    expect(page.get_by_role("cell", name="1.0825")).to_be_visible()
    save_screenshot(page, "catalog-currencies-desktop")
    console_of(page).assert_clean()

    log_in(phone_page, user)
    for url, name in (
        ("/sales/products/", "catalog-products-phone"),
        ("/settings/currencies/", "catalog-currencies-phone"),
    ):
        phone_page.goto(url)
        save_screenshot(phone_page, name)
        assert scroll_width(phone_page) <= 375, url
    console_of(phone_page).assert_clean()
