"""An email that could not be sent, in a real browser: the contact's timeline and the email's page say
"Failed" with the server's reason, the bell counts the author's notification, and Resend on the
timeline sends it (to a real SMTP sink) without leaving the page. Screenshots on a desktop and a phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rapport.integrations.models import Security, SmtpServer
from rapport.testing.smtp import SmtpSink
from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def _sideways(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


def test_a_failed_email_shows_on_the_timeline_and_its_page_and_is_resent(
    page: Page,
    open_page: Callable[..., Page],
    logged_in: Callable[[Page], Page],
    user: WebUser,
    smtp: SmtpSink,
    settings: Any,
) -> None:
    from rapport.accounts.models import Organization
    from rapport.activities.models import Activity
    from rapport.contacts.tests.factories import contact_with

    org = Organization.objects.get(name="Acme Ltd")
    SmtpServer.objects.create(org=org, host="127.0.0.1", port=smtp.port, security=Security.NONE)
    ada = contact_with(org, email="ada@example.org", first_name="Ada", last_name="Lovelace")
    smtp.sink.refuse.add("ada@example.org")

    logged_in(page)
    page.goto(f"/contacts/{ada.pk}/")
    page.locator("#activity-panel").get_by_role("link", name="Email").click()
    page.get_by_label("Subject").fill("Renewal offer")
    page.get_by_label("Message").fill("Here is the **offer** we discussed.")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    email = Activity.objects.get(kind="email")
    status = page.locator(f"#email-status-{email.pk}")
    expect(status).to_contain_text("Failed: The server refused every recipient: ada@example.org (550")
    expect(status.get_by_role("button", name="Resend")).to_be_visible()
    expect(page.locator(".bell-count")).to_contain_text("1")
    save_screenshot(page, "email-failed-timeline")

    page.goto(f"/activities/{email.pk}/")
    section = page.locator("#email")
    expect(section).to_contain_text("Failed: The server refused every recipient")
    expect(section.get_by_role("button", name="Resend")).to_be_visible()
    expect(page.get_by_text("This email failed: you can correct its subject and message")).to_be_visible()
    save_screenshot(page, "email-failed-detail")

    phone = open_page(PHONE)
    log_in(phone, user)
    for url, name in (
        (f"/contacts/{ada.pk}/", "email-failed-timeline-phone"),
        (f"/activities/{email.pk}/", "email-failed-detail-phone"),
    ):
        phone.goto(url)
        expect(phone.locator(f"#email-status-{email.pk}")).to_contain_text("Failed")
        assert _sideways(phone) <= 0, url
        save_screenshot(phone, name)

    # The server takes it now: Resend on the timeline, answered in place.
    smtp.sink.refuse.clear()
    page.goto(f"/contacts/{ada.pk}/")
    url = page.url
    page.locator(f"#email-status-{email.pk}").get_by_role("button", name="Resend").click()
    status = page.locator(f"#email-status-{email.pk}")
    # The test worker runs in the request (Huey's immediate mode): it is already sent.
    expect(status).to_contain_text("Sent again.")
    expect(status.get_by_role("button", name="Resend")).to_have_count(0)
    assert page.url == url
    sent = [m for m in smtp.messages if m["To"] == "ada@example.org"]
    assert len(sent) == 1 and sent[0]["Subject"] == "Renewal offer"
    email.refresh_from_db()
    assert email.send_status == "sent"
    save_screenshot(page, "email-resent-timeline")

    # Sent: its page shows when, and the edit form keeps the subject and message as they were sent.
    page.goto(f"/activities/{email.pk}/")
    expect(page.locator("#email")).to_contain_text("Sent")
    expect(page.get_by_text("its recipients, subject and message stay as they are")).to_be_visible()
    expect(page.locator("#email").get_by_role("button", name="Resend")).to_have_count(0)
    page.get_by_label("When").fill("2026-01-05T10:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Activity saved.")).to_be_visible()
    save_screenshot(page, "email-sent-detail")
    console_of(page).assert_clean()
    console_of(phone).assert_clean()
