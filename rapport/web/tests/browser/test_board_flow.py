"""The deal board in a real browser: drag a card to another column (native HTML5 drag and drop,
rapport.js), see it there, open the deal and find the stage-history row and the "Moved" timeline
entry; move another deal with the keyboard form ("Move to…"); drop one on the lost column and give
the reason in the dialog. Screenshots of the board, a deal and the form on a desktop and a phone
(the board scrolls sideways inside itself; the page must not)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, save_screenshot

pytestmark = pytest.mark.browser


def _board() -> dict[str, int]:
    from rapport.accounts.models import Membership
    from rapport.core.principal import Principal
    from rapport.sales import deal_services
    from rapport.sales.tests.conftest import make_pipeline

    membership = Membership.objects.get(org__name="Acme Ltd")
    pipeline = make_pipeline(membership.org, "Browser board")
    actor = Principal.for_membership(membership)
    ids = {"pipeline": pipeline.pipeline.pk}
    for name, amount in (("Initech rollout", 48000), ("Hooli pilot", 9600), ("Umbrella renewal", 1250)):
        deal = deal_services.deal_create(
            actor=actor,
            data={
                "name": name,
                "amount": amount,
                "pipeline_id": pipeline.pipeline.pk,
                "expected_close_date": "2026-12-15",
            },
        )
        ids[name] = deal.pk
    for stage in ("Qualified", "Proposal", "Lost"):
        ids[stage] = pipeline.stages[stage].pk
    return ids


def _column(page: Page, stage_id: int):
    return page.locator(f"#column-{stage_id}")


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_drag_a_deal_across_the_board_and_see_its_history(
    page: Page, logged_in: Callable[[Page], Page], open_page: Callable[..., Page], user: WebUser
) -> None:
    logged_in(page)
    ids = _board()
    page.goto(f"/deals/board/{ids['pipeline']}/")
    qualified, proposal, lost = (
        _column(page, ids["Qualified"]),
        _column(page, ids["Proposal"]),
        _column(page, ids["Lost"]),
    )
    expect(qualified.get_by_text("3 deals")).to_be_visible()
    save_screenshot(page, "board-desktop")

    card = qualified.locator(".deal-card", has_text="Initech rollout")
    card.drag_to(proposal.locator(".board-cards"))
    expect(page.locator("#board-status")).to_have_text("“Initech rollout” moved to Proposal.")
    expect(_column(page, ids["Proposal"]).locator(".deal-card", has_text="Initech rollout")).to_be_visible()
    expect(_column(page, ids["Proposal"]).get_by_text("USD 48,000.00").first).to_be_visible()
    expect(_column(page, ids["Qualified"]).get_by_text("2 deals")).to_be_visible()

    # The keyboard way: the card's "Move to…" list and its button (a plain form post).
    hooli = _column(page, ids["Qualified"]).locator(".deal-card", has_text="Hooli pilot")
    hooli.get_by_label("Move Hooli pilot to…").select_option(label="Proposal")
    hooli.get_by_role("button", name="Move Hooli pilot").click()
    expect(page.get_by_text("“Hooli pilot” moved to Proposal.")).to_be_visible()
    expect(_column(page, ids["Proposal"]).locator(".deal-card", has_text="Hooli pilot")).to_be_visible()

    # Dropping on the lost column asks for the reason first.
    umbrella = _column(page, ids["Qualified"]).locator(".deal-card", has_text="Umbrella renewal")
    umbrella.drag_to(lost.locator(".board-cards"))
    dialog = page.locator("#lost-dialog")
    expect(dialog.get_by_text("Why was “Umbrella renewal” lost?")).to_be_visible()
    dialog.get_by_label("Lost reason").fill("Chose a cheaper rival")
    dialog.get_by_role("button", name="Move deal").click()
    expect(_column(page, ids["Lost"]).locator(".deal-card", has_text="Umbrella renewal")).to_be_visible()
    console_of(page).assert_clean()

    page.goto(f"/deals/{ids['Initech rollout']}/")
    history = page.locator(".stage-history")
    expect(history.get_by_role("row", name="Qualified")).to_be_visible()
    expect(history.get_by_role("row", name="Proposal")).to_contain_text("still there")
    expect(page.locator(".deal-events")).to_contain_text("Moved: Qualified → Proposal")
    save_screenshot(page, "deal-page-desktop")
    page.goto(f"/deals/{ids['Initech rollout']}/edit/")
    save_screenshot(page, "deal-form-desktop")
    page.goto(f"/deals/list/?pipeline={ids['pipeline']}&sort=-amount")
    expect(page.get_by_role("link", name="Initech rollout")).to_be_visible()
    save_screenshot(page, "deal-list-desktop")
    console_of(page).assert_clean()

    phone = logged_in(open_page(PHONE))
    for url, name in (
        (f"/deals/board/{ids['pipeline']}/", "board-phone"),
        (f"/deals/{ids['Initech rollout']}/", "deal-page-phone"),
        ("/deals/new/", "deal-form-phone"),
        (f"/deals/list/?pipeline={ids['pipeline']}", "deal-list-phone"),
    ):
        phone.goto(url)
        _no_sideways_scroll(phone)
        save_screenshot(phone, name)
    console_of(phone).assert_clean()


def test_a_stale_card_is_refused_and_its_column_reloaded(
    page: Page, logged_in: Callable[[Page], Page], user: WebUser
) -> None:
    from rapport.accounts.models import Membership
    from rapport.core.principal import Principal
    from rapport.sales import deal_services
    from rapport.sales.models import Deal

    logged_in(page)
    ids = _board()
    page.goto(f"/deals/board/{ids['pipeline']}/")
    actor = Principal.for_membership(Membership.objects.get(org__name="Acme Ltd"))
    deal = Deal.objects.get(pk=ids["Hooli pilot"])
    deal_services.deal_update(actor=actor, deal=deal, data={"source": "Someone else"}, expected_version=1)
    card = _column(page, ids["Qualified"]).locator(".deal-card", has_text="Hooli pilot")
    card.drag_to(_column(page, ids["Proposal"]).locator(".board-cards"))
    expect(page.locator("#board-status")).to_contain_text("Someone else moved or changed “Hooli pilot”")
    expect(_column(page, ids["Qualified"]).locator(".deal-card", has_text="Hooli pilot")).to_be_visible()
    assert Deal.objects.get(pk=ids["Hooli pilot"]).stage_id == ids["Qualified"]
