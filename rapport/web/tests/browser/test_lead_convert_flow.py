"""Lead conversion in a real browser: the contact page of a lead offers "Convert to deal"; the form
(pre-filled deal name, new company) converts it and opens the deal. Screenshots on a desktop and a
phone (the form must not scroll sideways)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def _lead() -> int:
    from rapport.accounts.models import Membership
    from rapport.contacts.tests.factories import contact_with
    from rapport.sales.tests.conftest import make_pipeline

    membership = Membership.objects.get(org__name="Acme Ltd")
    make_pipeline(membership.org, "New business")
    return contact_with(membership.org, first_name="Grace", last_name="Hopper", lifecycle_stage="lead").pk


def test_convert_a_lead_from_its_contact_page(
    page: Page, phone_page: Page, logged_in: Callable[[Page], Page], user: WebUser
) -> None:
    logged_in(page)
    contact_id = _lead()
    page.goto(f"/contacts/{contact_id}/")
    page.locator("#deals").screenshot(
        path=str(save_screenshot(page, "lead-contact-page").with_name("lead-deals-card.png"))
    )
    page.get_by_role("link", name="Convert to deal").click()
    page.wait_for_url(f"**/deals/convert/{contact_id}/")
    expect(page.get_by_label("Deal name")).to_have_value("Grace Hopper deal")
    save_screenshot(page, "lead-convert-desktop")

    phone = phone_page
    log_in(phone, user)
    phone.goto(f"/deals/convert/{contact_id}/")
    expect(phone.get_by_role("heading", name="Convert to deal")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    save_screenshot(phone, "lead-convert-phone")

    page.get_by_label("Amount").fill("4200")
    page.get_by_label("Company").fill("Hopper Labs")
    page.get_by_role("button", name="Convert to deal").click()
    page.wait_for_url("**/deals/*/")
    expect(page.get_by_role("heading", name="Grace Hopper deal")).to_be_visible()
    expect(page.get_by_role("link", name="Hopper Labs")).to_be_visible()
    save_screenshot(page, "lead-convert-deal")
    page.goto(f"/contacts/{contact_id}/")
    expect(page.get_by_role("link", name="Convert to deal")).to_have_count(0)
    assert not console_of(page).page_errors
