"""Custom fields in a real browser: an admin adds a field in Settings (its options appear only for choice
types), sets its value inline on a contact (with an error shown on the field first), and sees the change
on the timeline and as a list column."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import console_of

pytestmark = pytest.mark.browser


def test_add_a_custom_field_and_set_its_value_inline_on_a_contact(
    page: Page, logged_in: Callable[[Page], Page]
) -> None:
    logged_in(page)
    page.goto("/settings/custom-fields/")
    page.get_by_role("link", name="Add a field to contacts").click()
    page.get_by_label("Label").fill("Loyalty tier")
    options = page.get_by_label("Options")
    page.get_by_label("Type", exact=True).select_option("long_text")
    expect(options).to_be_hidden()
    page.get_by_label("Type", exact=True).select_option("choice")
    expect(options).to_be_visible()
    options.fill("Bronze\nSilver\nGold")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("status")).to_contain_text("The field “Loyalty tier” was added to contacts.")
    expect(page.locator("main table")).to_contain_text("loyalty_tier")

    page.goto("/settings/custom-fields/new/?entity=contact")
    page.get_by_label("Label").fill("Billing email")
    page.get_by_label("Type", exact=True).select_option("email")
    page.get_by_role("button", name="Add field").click()

    page.goto("/contacts/new/")
    page.get_by_label("First name").fill("Ada")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada")
    url = page.url

    section = page.locator("#section-custom")
    expect(section).to_contain_text("Loyalty tier")
    section.get_by_role("link", name=re.compile("^Edit")).click()
    form = section.locator("form")
    form.get_by_label("Loyalty tier").select_option("Gold")
    form.get_by_label("Billing email").fill("not-an-email")
    form.get_by_role("button", name="Save").click()
    expect(section.get_by_role("alert")).to_contain_text("@")
    assert page.url == url  # an HTMX swap, not a page load
    section.locator("form").get_by_label("Billing email").fill("billing@example.org")
    section.locator("form").get_by_role("button", name="Save").click()
    expect(section.get_by_role("status")).to_have_text("Saved.")
    expect(section).to_contain_text("Gold")
    expect(page.locator("#timeline")).to_contain_text("Loyalty tier: — → Gold")

    page.goto("/contacts/?columns=custom.loyalty_tier")
    expect(page.locator("th", has_text="Loyalty tier")).to_be_visible()
    expect(page.locator('td[data-label="Loyalty tier"]').first).to_have_text("Gold")
    console_of(page).assert_clean()
