"""Deals on a contact's 360° page in a real browser: the stage history on the timeline (created,
moved, lost with its reason) and the "Open deals" fact. Screenshots on a desktop and a phone (which
must not scroll sideways)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, save_screenshot

pytestmark = pytest.mark.browser


def _contact_with_deals() -> int:
    from rapport.accounts.models import Membership
    from rapport.contacts import services as contacts
    from rapport.core.principal import Principal
    from rapport.sales import deal_services
    from rapport.sales.tests.conftest import make_pipeline

    membership = Membership.objects.get(org__name="Acme Ltd")
    pipeline = make_pipeline(membership.org, "Browser deals")
    proposal, lost = pipeline.stages["Proposal"], pipeline.stages["Lost"]
    actor = Principal.for_membership(membership)
    company = contacts.company_create(actor=actor, data={"name": "Initech"})
    ada = contacts.contact_create(
        actor=actor, data={"first_name": "Ada", "last_name": "Lovelace", "company_id": company.pk}
    )
    base = {"pipeline_id": proposal.pipeline_id, "contact_id": ada.pk, "company_id": company.pk}
    deal = deal_services.deal_create(actor=actor, data={"name": "Initech rollout", "amount": 48000, **base})
    deal = deal_services.deal_move(actor=actor, deal=deal, stage_id=proposal.pk, expected_version=1)
    deal_services.deal_move(actor=actor, deal=deal, stage_id=lost.pk, expected_version=2, lost_reason="Budget cut")
    deal_services.deal_create(actor=actor, data={"name": "Initech support plan", "amount": 9600, **base})
    return ada.pk


def _check(page: Page, contact_id: int, name: str) -> None:
    page.goto(f"/contacts/{contact_id}/")
    timeline = page.locator("main")
    expect(timeline.get_by_text("Deal lost: Initech rollout")).to_be_visible()
    expect(timeline.get_by_text("Stage: Proposal → Lost")).to_be_visible()
    expect(timeline.get_by_text("Lost reason: Budget cut")).to_be_visible()
    expect(timeline.get_by_text("Deal created: Initech support plan")).to_be_visible()
    expect(page.get_by_text("Open deals")).to_be_visible()
    expect(page.get_by_text("1 · USD 9,600.00")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, name)
    console_of(page).assert_clean()


def test_a_contacts_page_shows_the_deal_history_and_open_deals(
    page: Page, logged_in: Callable[[Page], Page], open_page: Callable[..., Page], user: WebUser
) -> None:
    logged_in(page)
    contact_id = _contact_with_deals()
    _check(page, contact_id, "deal-timeline-desktop")
    phone = logged_in(open_page(PHONE))
    _check(phone, contact_id, "deal-timeline-phone")
