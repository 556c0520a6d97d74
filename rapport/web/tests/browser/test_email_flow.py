"""Email in a real browser: compose and send an email from a contact's page; it shows on the
timeline and arrives at a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rapport.integrations.models import Security, SmtpServer
from rapport.testing.smtp import SmtpSink
from rapport.web.tests.browser.conftest import WebUser, console_of

pytestmark = pytest.mark.browser


def test_compose_and_send_an_email_from_the_contact_page(
    page: Page, logged_in: Callable[[Page], Page], user: WebUser, smtp: SmtpSink, settings: Any
) -> None:
    from rapport.accounts.models import Organization

    org = Organization.objects.get(name="Acme Ltd")
    SmtpServer.objects.create(org=org, host="127.0.0.1", port=smtp.port, security=Security.NONE)
    logged_in(page)
    page.goto("/contacts/")
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Primary email").fill("ada@example.org")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada")

    page.locator("#activity-panel").get_by_role("link", name="Email").click()
    expect(page.get_by_label("To")).to_have_value("ada@example.org")
    page.get_by_label("Subject").fill("Our meeting")
    page.get_by_label("Message").fill("Thanks for your **time**.")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ada")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Email: Our meeting")
    expect(timeline.locator("strong", has_text="time")).to_be_visible()
    (message,) = smtp.messages
    assert message["To"] == "ada@example.org" and message["Subject"] == "Our meeting"
    assert message["From"] == f"{user.name} <{user.email}>"
    console_of(page).assert_clean()
