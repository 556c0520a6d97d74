"""Deal line items to quote to order in a real browser: add products to a deal (a catalogue product
and a free-text line), make a quote with tax, send it, accept it, create the order, and see the
order and the quote's steps on the deal's page. Screenshots of each page on a desktop, and of the
quote on a phone (which must not scroll sideways)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, save_screenshot

pytestmark = pytest.mark.browser


def _deal_with_a_customer() -> int:
    from rapport.accounts.models import Membership
    from rapport.contacts import services as contacts
    from rapport.core.principal import Principal
    from rapport.sales import catalog_services, deal_services
    from rapport.sales.tests.conftest import make_pipeline

    membership = Membership.objects.get(org__name="Acme Ltd")
    actor = Principal.for_membership(membership)
    pipeline = make_pipeline(membership.org, "Quotes flow")
    company = contacts.company_create(actor=actor, data={"name": "Initech", "city": "Austin", "country": "US"})
    ada = contacts.contact_create(
        actor=actor, data={"first_name": "Ada", "last_name": "Lovelace", "company_id": company.pk}
    )
    catalog_services.product_create(
        actor=actor, data={"sku": "WP-1", "name": "Widget Pro", "unit_price": "19.99", "currency": "USD"}
    )
    deal = deal_services.deal_create(
        actor=actor,
        data={
            "name": "Initech rollout",
            "pipeline_id": pipeline.pipeline.pk,
            "contact_id": ada.pk,
            "company_id": company.pk,
            "currency": "USD",
        },
    )
    return deal.pk


def test_products_quote_and_order_from_a_deal(
    page: Page, logged_in: Callable[[Page], Page], open_page: Callable[..., Page], user: WebUser
) -> None:
    logged_in(page)
    deal_id = _deal_with_a_customer()
    page.goto(f"/deals/{deal_id}/")
    page.get_by_role("link", name="Add products").click()
    page.get_by_label("Product, row 1").select_option(label="Widget Pro (WP-1) · USD 19.99")
    page.get_by_label("Quantity, row 1").fill("3")
    page.get_by_label("Discount %, row 1").fill("10")
    page.get_by_label("Name, row 2").fill("Installation")
    page.get_by_label("Quantity, row 2").fill("1")
    page.get_by_label("Unit price, row 2").fill("250")
    save_screenshot(page, "quote-flow-products")
    page.get_by_role("button", name="Save products").click()
    products = page.locator("section", has=page.get_by_role("heading", name="Products"))
    expect(products.get_by_text("USD 53.97")).to_be_visible()
    expect(products.get_by_text("USD 303.97")).to_be_visible()
    expect(page.locator("dd", has_text="USD 303.97")).to_be_visible()  # the deal's amount follows

    page.get_by_role("link", name="New quote").click()
    page.get_by_label("Tax %").fill("20")
    page.get_by_label("Notes and terms").fill("Payment within 30 days.")
    page.get_by_role("button", name="Create draft quote").click()
    expect(page.get_by_role("heading", name="Quote 1001")).to_be_visible()
    expect(page.get_by_text("USD 364.76").first).to_be_visible()  # 303.97 + 10.79 + 50.00
    page.get_by_role("button", name="Mark as sent").click()
    expect(page.get_by_text("Quote 1001 marked as sent.")).to_be_visible()
    page.get_by_role("button", name="Accepted").click()
    expect(page.get_by_text("Quote 1001 accepted.")).to_be_visible()
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_text("Order 1001 created from quote 1001.")).to_be_visible()
    save_screenshot(page, "quote-flow-quote")
    console_of(page).assert_clean()

    page.get_by_role("link", name="Initech rollout").first.click()
    expect(
        page.locator("section", has=page.get_by_role("heading", name="Orders")).get_by_text("Order 1001")
    ).to_be_visible()
    timeline = page.locator("section.record-timeline")
    for text in (
        "Order 1001 created",
        "Quote 1001 accepted",
        "Quote 1001 sent",
        "Quote 1001 created",
        "Products changed",
    ):
        expect(timeline.get_by_text(text)).to_be_visible()
    save_screenshot(page, "quote-flow-deal")
    console_of(page).assert_clean()

    quote_url = f"/sales/quotes/{_quote_id()}/"
    page.goto(quote_url + "print/")
    expect(page.get_by_role("heading", name="Quote 1001")).to_be_visible()
    expect(page.get_by_text("Payment within 30 days.")).to_be_visible()
    save_screenshot(page, "quote-flow-print")
    console_of(page).assert_clean()

    phone = logged_in(open_page(PHONE))
    phone.goto(quote_url)
    expect(phone.get_by_role("heading", name="Quote 1001")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    save_screenshot(phone, "quote-flow-quote-phone")
    console_of(phone).assert_clean()


def _quote_id() -> int:
    from rapport.sales.models import Quote

    return Quote.objects.get(number=1001).pk
