"""Contacts in a real browser: create through the form, find it from the command palette, edit a section
inline, see the change on its timeline; the 360° pages and the list fit a phone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def scroll_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def _create_contact(page: Page) -> None:
    page.goto("/contacts/")
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Primary email").fill("ada@example.org")
    page.get_by_label("Primary phone").fill("+44 20 7946 0958")
    page.get_by_label("Tags").fill("vip, math")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")


def test_create_a_contact_edit_it_inline_and_see_the_change_on_its_timeline(
    page: Page, logged_in: Callable[[Page], Page]
) -> None:
    logged_in(page)
    _create_contact(page)
    expect(page.get_by_role("status")).to_contain_text("Ada Lovelace was created.")
    url = page.url

    # The list shows it; opening it from there lands on the same page.
    page.goto("/contacts/")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(url)

    # The command palette finds it by a prefix of its name and by its email.
    page.goto("/")
    page.keyboard.press("/")
    page.keyboard.type("lovel")
    page.keyboard.press("Enter")
    page.locator("main").get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(url)
    page.locator("#palette-q").fill("ada@example")
    page.locator("#palette-q").press("Enter")
    page.locator("main").get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(url)

    details = page.locator("#section-details")
    details.get_by_role("link", name=re.compile("^Edit")).click()
    form = details.locator("form")
    expect(form.get_by_label("Lifecycle stage")).to_be_visible()
    expect(form.get_by_label("First name")).to_be_focused()
    assert page.url == url  # an HTMX swap, not a page load
    form.get_by_label("Lifecycle stage").select_option("customer")
    form.get_by_label("Job title").fill("Analyst")
    form.get_by_role("button", name="Save").click()

    expect(details.get_by_role("status")).to_have_text("Saved.")
    expect(details).to_contain_text("Analyst")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Lifecycle stage: Lead → Customer")
    expect(timeline).to_contain_text("Job title: — → Analyst")
    expect(page.locator("#facts")).to_contain_text("Customer")  # the key facts refreshed too
    console_of(page).assert_clean()


def test_a_stale_inline_edit_tells_the_user_and_changes_nothing(
    page: Page, open_page: Callable[..., Page], user: WebUser
) -> None:
    log_in(page, user)
    _create_contact(page)
    other = open_page()
    log_in(other, user)
    other.goto(page.url)

    page.locator("#section-address").get_by_role("link", name=re.compile("^Edit")).click()
    other.locator("#section-address").get_by_role("link", name=re.compile("^Edit")).click()
    other.locator("#section-address").get_by_label("City").fill("London")
    other.locator("#section-address").get_by_role("button", name="Save").click()
    expect(other.locator("#section-address")).to_contain_text("Saved.")

    section = page.locator("#section-address")
    section.get_by_label("City").fill("Paris")
    section.get_by_role("button", name="Save").click()
    expect(section.get_by_role("alert")).to_contain_text("Someone else changed this contact")
    page.reload()
    expect(page.locator("#section-address")).to_contain_text("London")
    expect(page.locator("#section-address")).not_to_contain_text("Paris")
    console_of(page).assert_clean()


def test_the_contact_page_and_the_list_fit_a_phone(
    phone_page: Page, open_page: Callable[..., Page], user: WebUser
) -> None:
    desktop = open_page()
    log_in(desktop, user)
    _create_contact(desktop)
    desktop.locator("#section-details").get_by_role("link", name=re.compile("^Edit")).click()
    desktop.locator("#section-details").get_by_label("Job title").fill("Analyst and first programmer")
    save_screenshot(desktop, "contact-edit-desktop")
    desktop.locator("#section-details").get_by_role("button", name="Save").click()
    expect(desktop.locator("#timeline")).to_contain_text("Analyst and first programmer")
    save_screenshot(desktop, "contact-page-desktop")
    contact_url = desktop.url
    desktop.goto("/contacts/")
    save_screenshot(desktop, "contact-list-desktop")

    log_in(phone_page, user)
    phone_page.goto(contact_url)
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    assert scroll_width(phone_page) <= PHONE["width"]
    save_screenshot(phone_page, "contact-page-phone")
    phone_page.locator("#section-details").get_by_role("link", name=re.compile("^Edit")).click()
    expect(phone_page.locator("#section-details form")).to_be_visible()
    assert scroll_width(phone_page) <= PHONE["width"]
    save_screenshot(phone_page, "contact-edit-phone")
    phone_page.goto("/contacts/")
    expect(phone_page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    assert scroll_width(phone_page) <= PHONE["width"]
    save_screenshot(phone_page, "contact-list-phone")
    console_of(phone_page).assert_clean()


def test_a_company_created_through_the_form_shows_its_page_on_desktop_and_phone(
    page: Page, phone_page: Page, user: WebUser
) -> None:
    log_in(page, user)
    page.goto("/companies/")
    page.get_by_role("link", name="New company").click()
    page.get_by_label("Name").fill("Initech")
    page.get_by_label("Website").fill("initech.example.com")
    page.get_by_label("Industry").select_option("information")
    page.get_by_role("button", name="Create company").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Initech")
    expect(page.locator("#timeline")).to_contain_text("Created")
    save_screenshot(page, "company-page-desktop")

    log_in(phone_page, user)
    phone_page.goto(page.url)
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Initech")
    assert scroll_width(phone_page) <= PHONE["width"]
    save_screenshot(phone_page, "company-page-phone")
    console_of(page).assert_clean()
    console_of(phone_page).assert_clean()
