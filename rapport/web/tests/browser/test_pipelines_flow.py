"""Settings → Pipelines in a real browser: an admin sees the default pipeline, adds a stage, moves it
up with the keyboard-friendly buttons, and deletes a stage that holds a deal, choosing where the
deal goes. Screenshots on a desktop and a phone (which must not scroll sideways)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _shot(page: Page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top of a full-page picture
    save_screenshot(page, name)


def _deal_in(stage_name: str) -> int:
    from rapport.accounts.models import Membership
    from rapport.core.principal import Principal
    from rapport.sales import deal_services
    from rapport.sales.models import Stage

    stage = Stage.objects.get(pipeline__org__name="Acme Ltd", name=stage_name)
    membership = Membership.objects.get(org_id=stage.org_id)
    actor = Principal.for_membership(membership)
    deal = deal_services.deal_create(
        actor=actor, data={"name": "Acme expansion", "pipeline_id": stage.pipeline_id, "stage_id": stage.pk}
    )
    return deal.pk


def test_edit_stages_and_delete_one_that_holds_a_deal(
    page: Page, logged_in: Callable[[Page], Page], open_page: Callable[..., Page], user: WebUser
) -> None:
    logged_in(page)
    page.goto("/settings/pipelines/")
    expect(page.get_by_role("heading", name="Sales")).to_be_visible()
    _deal_in("Proposal")
    page.reload()
    _shot(page, "pipelines-list-desktop")
    page.get_by_role("link", name="Edit the pipeline Sales").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline “Sales”")

    form = page.locator("form", has=page.get_by_role("button", name="Add stage"))
    form.get_by_label("Name").fill("Demo")
    form.get_by_label("Win probability (%)").fill("55")
    form.get_by_label("Rotting after (days)").fill("10")
    form.get_by_role("button", name="Add stage").click()
    expect(page.get_by_role("status")).to_contain_text("The stage “Demo” was added.")
    rows = page.locator(".stage-table tbody tr .name-cell")
    expect(rows).to_have_text(["Qualified", "Proposal", "Negotiation", "Demo", "Won", "Lost"])

    page.get_by_role("button", name="Move Demo up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("“Demo” moved up.")
    expect(rows).to_have_text(["Qualified", "Proposal", "Demo", "Negotiation", "Won", "Lost"])
    _shot(page, "pipeline-edit-desktop")

    page.get_by_role("link", name="Delete Proposal").click()
    expect(page.get_by_text("1 deal is in this stage")).to_be_visible()
    _shot(page, "stage-delete-desktop")
    page.get_by_role("button", name="Move the deals and delete").click()
    expect(page.get_by_role("alert")).to_contain_text("choose a stage to move them to")
    page.get_by_label("Move the deals to").select_option(label="Negotiation")
    page.get_by_role("button", name="Move the deals and delete").click()
    expect(page.get_by_role("status")).to_contain_text("The stage “Proposal” was deleted; 1 deal moved.")
    expect(rows).to_have_text(["Qualified", "Demo", "Negotiation", "Won", "Lost"])
    negotiation = page.locator(".stage-table tbody tr", has_text="Negotiation")
    expect(negotiation.locator("td[data-label=Deals]")).to_have_text("1")
    console_of(page).assert_clean()

    phone = open_page(PHONE)
    log_in(phone, user)
    for url, name in (
        ("/settings/pipelines/", "pipelines-list-phone"),
        (page.url.split("#")[0], "pipeline-edit-phone"),
    ):
        phone.goto(url)
        _no_sideways_scroll(phone)
        _shot(phone, name)
    phone.get_by_role("link", name="Delete Demo").click()
    _no_sideways_scroll(phone)
    _shot(phone, "stage-delete-phone")
    console_of(phone).assert_clean()
