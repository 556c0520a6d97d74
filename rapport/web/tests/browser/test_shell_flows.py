"""The web shell in a real browser: log in, switch workspace, API tokens, log out, phone layout, CSP."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser

WORKSPACE_MENU = "details[data-menu=workspace]"
USER_MENU = "details[data-menu=user]"
# Adds an inline <script>, which the CSP (script-src 'self') must refuse.
INLINE_SCRIPT = (
    "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1'; document.head.append(s); }"
)


def api_get(url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def scroll_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def test_logging_in_through_the_form_shows_home_with_the_workspace_name(page: Page, user: WebUser) -> None:
    log_in(page, user)

    expect(page).to_have_title(re.compile("^Home"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {user.name}")
    expect(page.locator("main .card h2")).to_have_text("Acme Ltd")
    expect(page.locator(f"{WORKSPACE_MENU} > summary")).to_contain_text("Acme Ltd")
    expect(page.locator(f"{USER_MENU} > summary")).to_contain_text(user.name)
    console_of(page).assert_clean()


def test_a_wrong_password_keeps_the_user_on_the_login_page(page: Page, user: WebUser) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("The email or password is not correct.")
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    console_of(page).assert_clean()


def test_the_workspace_menu_switches_to_the_other_workspace(
    page: Page, logged_in: Callable[[Page], Page], user: WebUser
) -> None:
    logged_in(page)
    menu = page.locator(WORKSPACE_MENU)

    menu.locator("summary").click()
    expect(menu.get_by_role("button", name=re.compile("Acme Ltd"))).to_have_attribute("aria-current", "true")
    menu.get_by_role("button", name=re.compile("Globex Labs")).click()

    expect(page.get_by_role("status")).to_contain_text("Switched to Globex Labs.")
    expect(page.locator("main .card h2")).to_have_text("Globex Labs")
    expect(menu.locator("summary")).to_contain_text("Globex Labs")
    page.reload()  # the choice lives in the session, not in the page
    expect(page.locator("main .card h2")).to_have_text("Globex Labs")
    console_of(page).assert_clean()


def test_an_api_token_made_on_the_tokens_page_is_shown_once_and_works_over_http(
    page: Page, logged_in: Callable[[Page], Page], live_server: Any
) -> None:
    logged_in(page)
    page.locator(f"{WORKSPACE_MENU} > summary").click()
    page.get_by_role("button", name=re.compile("Globex Labs")).click()
    expect(page.locator("main .card h2")).to_have_text("Globex Labs")
    page.locator(f"{USER_MENU} > summary").click()
    page.locator(USER_MENU).get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    console_of(page).assert_clean()

    page.get_by_label("Name").fill("CI export")
    page.get_by_label("Scope").select_option(label="Read and write")
    page.get_by_role("button", name="Create token").click()

    secret = page.get_by_test_id("new-token").inner_text().strip()
    assert re.fullmatch(r"rpt_[A-Za-z0-9_-]{20,}", secret), secret
    row = page.locator("tbody tr", has_text="CI export")
    expect(row).to_contain_text("Read and write")
    expect(row).to_contain_text("Active")
    console_of(page).assert_clean()

    page.goto("/settings/tokens/")  # shown once: a later visit lists the token without its secret
    expect(page.locator("tbody tr", has_text="CI export")).to_have_count(1)
    assert secret not in page.content()

    status, body = api_get(f"{live_server.url}/api/v1/me", secret)
    assert status == 200, body
    assert body["user"]["email"] == "pat@example.com"
    assert body["workspace"]["name"] == "Globex Labs"
    assert body["token_scope"] == "write"
    status, body = api_get(f"{live_server.url}/api/v1/me", secret[:-4] + "xxxx")
    assert status == 401, body


def test_logging_out_through_the_user_menu_lands_on_the_login_page(
    page: Page, logged_in: Callable[[Page], Page]
) -> None:
    logged_in(page)

    page.locator(f"{USER_MENU} > summary").click()
    page.locator(USER_MENU).get_by_role("button", name="Log out").click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("status")).to_contain_text("You are logged out.")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.goto("/settings/tokens/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/settings/tokens/$"))
    console_of(page).assert_clean()


def test_menus_work_from_the_keyboard(page: Page, logged_in: Callable[[Page], Page]) -> None:
    logged_in(page)

    page.keyboard.press("/")
    expect(page.locator("#palette-q")).to_be_focused()
    summary = page.locator(f"{USER_MENU} > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator(USER_MENU)).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator(USER_MENU)).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()


def test_on_a_phone_home_fits_the_screen_and_the_menu_button_opens_navigation(
    phone_page: Page, logged_in: Callable[[Page], Page]
) -> None:
    page = logged_in(phone_page)
    nav = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_role("button", name="Menu")

    assert scroll_width(page) <= PHONE["width"]
    expect(nav).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    save_screenshot(page, "phone-home")

    toggle.click()

    expect(nav).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()
    assert scroll_width(page) <= PHONE["width"]
    save_screenshot(page, "phone-home-menu-open")
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    console_of(page).assert_clean()


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/settings/tokens/", "API tokens"),
        ("/settings/members/", "Members"),
        ("/settings/teams/", "Teams"),
        ("/settings/audit/", "Audit trail"),
        ("/settings/security/", "Security"),
        ("/account/", "Profile & security"),
        ("/account/2fa/setup/", "Set up two-factor authentication"),
    ],
)
def test_on_a_phone_each_page_fits_the_screen_without_csp_errors(
    phone_page: Page, logged_in: Callable[[Page], Page], path: str, heading: str
) -> None:
    page = logged_in(phone_page)
    if path == "/settings/tokens/":  # a token in the table, and the one-time secret on screen
        page.goto(path)
        page.get_by_label("Name").fill("Phone sync with a rather long name")
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_test_id("new-token")).to_be_visible()
    elif path == "/settings/members/":  # an open invitation in its table too
        page.goto(path)
        page.get_by_label("Email").fill("new.colleague.with.a.long.address@example.com")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_role("status")).to_contain_text("Invitation sent")
    else:
        page.goto(path)

    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert scroll_width(page) <= PHONE["width"], f"{path} scrolls sideways on a phone"
    save_screenshot(page, "phone-" + path.strip("/").replace("/", "-"))
    console_of(page).assert_clean()


def test_the_console_listener_reports_csp_violations(page: Page) -> None:
    """The CSP checks above would pass vacuously if violations never reached the listener."""
    page.goto("/login/")
    console_of(page).assert_clean()

    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate(INLINE_SCRIPT)

    assert console_of(page).csp_violations(), console_of(page).errors
    assert page.evaluate("window.x") is None  # and the inline script did not run


def test_the_interactive_api_docs_render_from_our_own_static_files(page: Page, live_server: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/docs")
    # Swagger UI renders the whole schema (~150 operations) first: allow it time on a busy machine.
    expect(page.get_by_text("/api/v1/auth/token").first).to_be_visible(timeout=20_000)
    assert page.locator(".opblock").count() >= 10
    console_of(page).assert_clean()
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
