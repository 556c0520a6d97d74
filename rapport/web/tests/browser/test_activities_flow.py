"""Activities in a real browser: log a call and add a note from a contact's page, one click away,
and see them on its timeline without a page load."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import console_of

pytestmark = pytest.mark.browser


def test_log_a_call_and_add_a_note_from_the_contact_page(page: Page, logged_in: Callable[[Page], Page]) -> None:
    logged_in(page)
    page.goto("/contacts/")
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Primary email").fill("ada@example.org")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada")
    url = page.url

    panel = page.locator("#activity-panel")
    panel.get_by_role("link", name="Log a call").click()
    form = panel.locator("form")
    form.get_by_label("Direction").select_option("inbound")
    form.get_by_label("Outcome").select_option("voicemail")
    form.get_by_label("Duration (minutes)").fill("4")
    form.get_by_label("Notes").fill("Asked about **pricing**")
    form.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("status")).to_have_text("Call logged.")
    assert page.url == url  # an HTMX swap, not a page load

    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Outcome: Voicemail")
    expect(timeline).to_contain_text("Duration: 4 min")
    expect(timeline.locator("strong", has_text="pricing")).to_be_visible()

    panel.get_by_role("link", name="Add a note").click()
    panel.locator("form").get_by_label("Note").fill("Sent the *brochure*")
    panel.locator("form").get_by_role("button", name="Save").click()
    expect(panel.get_by_role("status")).to_have_text("Note added.")
    expect(timeline.locator("em", has_text="brochure")).to_be_visible()
    console_of(page).assert_clean()
