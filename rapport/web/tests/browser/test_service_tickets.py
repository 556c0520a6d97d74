"""Tickets in a real browser: an agent filters the ticket list, opens a ticket, picks a canned reply
(HTMX fills the composer with its merge fields rendered), sends it, solves the ticket and sees the
reply in the conversation and the status "Solved". Screenshots of the list and the ticket on a
desktop and a phone (which must not scroll sideways)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import WebUser, console_of, save_screenshot

pytestmark = pytest.mark.browser


def _tickets() -> tuple[int, int]:
    """A ticket from Ada (urgent) and one from Bob (low) in "Acme Ltd", and a shared canned reply."""
    from rapport.accounts.models import Membership
    from rapport.contacts import services as contacts
    from rapport.core.principal import Principal
    from rapport.service.models import CannedReply
    from rapport.service.ticket_services import ticket_create

    membership = Membership.objects.get(org__name="Acme Ltd")
    actor = Principal.for_membership(membership)
    company = contacts.company_create(actor=actor, data={"name": "Initech", "support_tier": "premium"})
    ada = contacts.contact_create(
        actor=actor,
        data={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": [{"email": "ada@example.org", "is_primary": True}],
            "company_id": company.pk,
        },
    )
    bob = contacts.contact_create(actor=actor, data={"first_name": "Bob", "last_name": "Stone"})
    urgent = ticket_create(
        actor=actor,
        data={"subject": "Cannot log in", "description": "The login page says no.", "contact": ada.pk},
    )
    ticket_create(actor=actor, data={"subject": "Printer question", "contact": bob.pk, "priority": "low"})
    ticket_create(actor=actor, data={"subject": "Server down", "contact": ada.pk, "priority": "urgent"})
    CannedReply.objects.create(
        org=membership.org,
        name="Password reset",
        body="Hello {{ contact.first_name }}, we have reset your password for ticket #{{ ticket.number }}.",
        add_tags=["password"],
    )
    return urgent.pk, urgent.number


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_agent_answers_a_ticket_with_a_canned_reply_and_solves_it(
    page: Page, phone_page: Page, logged_in: Callable[[Page], Page], user: WebUser
) -> None:
    logged_in(page)
    ticket_id, number = _tickets()
    page.goto("/tickets/")
    rows = page.locator(".ticket-list tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/tickets/?*priority=urgent*")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Server down")
    save_screenshot(page, "tickets-list-desktop")
    page.get_by_role("link", name="All unsolved").click()
    expect(rows).to_have_count(3)

    page.get_by_role("link", name="Cannot log in").click()
    page.wait_for_url(f"**/tickets/{ticket_id}/")
    expect(page.get_by_role("heading", name="Cannot log in")).to_be_visible()
    expect(page.locator(".requester")).to_contain_text("Premium support")
    page.get_by_label("Canned reply").select_option(label="Password reset")
    body = page.get_by_label("Message")
    expected = f"Hello Ada, we have reset your password for ticket #{number}."
    expect(body).to_have_value(expected)
    expect(page.get_by_text("also adds the tags password")).to_be_visible()
    body.fill(expected + " Sorry for the trouble.")
    page.get_by_role("button", name="Send and apply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply sent.")
    reply = page.locator(".thread .message-reply")
    expect(reply).to_contain_text("Sorry for the trouble.")
    expect(page.locator(".ticket-badges")).to_contain_text("password")

    page.get_by_role("button", name="Solve").click()
    expect(page.get_by_role("status")).to_contain_text("is now solved")
    expect(page.locator(".ticket-badges [data-status]")).to_have_text("Solved")
    expect(reply).to_contain_text("Sorry for the trouble.")
    save_screenshot(page, "ticket-detail-desktop")
    console_of(page).assert_clean()

    from rapport.service.models import Ticket, TicketMessage

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "solved" and ticket.tags == ["password"]
    assert TicketMessage.objects.filter(ticket=ticket, kind="reply").count() == 1

    # The same pages on a phone: nothing scrolls sideways.
    from rapport.web.tests.browser.conftest import log_in

    log_in(phone_page, user)
    phone_page.goto("/tickets/?status=all")
    expect(phone_page.locator(".ticket-list tbody tr")).to_have_count(3)
    _fits(phone_page)
    save_screenshot(phone_page, "tickets-list-phone")
    phone_page.goto(f"/tickets/{ticket_id}/")
    expect(phone_page.locator(".thread .message-reply")).to_contain_text("Sorry for the trouble.")
    _fits(phone_page)
    save_screenshot(phone_page, "ticket-detail-phone")
    console_of(phone_page).assert_clean()


def test_an_internal_note_is_marked_and_never_sent(page: Page, logged_in: Callable[[Page], Page]) -> None:
    logged_in(page)
    ticket_id, _ = _tickets()
    page.goto(f"/tickets/{ticket_id}/")
    page.get_by_text("Internal note", exact=True).click()
    expect(page.get_by_role("button", name="Send reply")).to_be_hidden()
    page.get_by_label("Message").fill("Checked the logs: it was the VPN.")
    page.get_by_role("button", name="Add internal note").click()
    note = page.locator(".thread .message-note")
    expect(note).to_contain_text("Checked the logs: it was the VPN.")
    expect(note).to_contain_text("never sent to the customer")
    console_of(page).assert_clean()
