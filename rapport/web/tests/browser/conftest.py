"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Chromium is launched once per session; every test gets its own context (cookies, storage) and page.
Playwright's sync API keeps an event loop running in the main thread, so from the moment Chromium
starts Django's "async unsafe" guard is turned off (DJANGO_ALLOW_ASYNC_UNSAFE): the tests' own ORM
calls run in that thread, outside any coroutine. The live server runs Django in its own thread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
PASSWORD = "browser-test-passphrase-42"
CSP_MESSAGE = re.compile(r"content security policy", re.IGNORECASE)


@dataclass
class Console:
    """What a page wrote to its console and the uncaught errors it raised."""

    errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def csp_violations(self) -> list[str]:
        return [text for text in self.errors if CSP_MESSAGE.search(text)]

    def assert_clean(self) -> None:
        """No CSP violation and no uncaught script error so far."""
        assert self.csp_violations() == [], self.csp_violations()
        assert self.page_errors == [], self.page_errors


@dataclass
class WebUser:
    email: str
    password: str
    name: str
    workspaces: list[str]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (make system-deps).")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test item, so page teardown knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def open_page(browser: Browser, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """open_page(viewport=DESKTOP) → a page in a fresh browser context, with base_url at the live server.

    Each page's console is recorded on `page.console` (a Console). A failing test leaves a
    screenshot of its pages in test-artifacts/.
    """
    contexts = []
    pages: list[Page] = []

    def open_(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP, base_url=live_server.url)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        console = Console()
        page.on("console", console.record)
        page.on("pageerror", lambda error: console.page_errors.append(str(error)))
        page.console = console  # type: ignore[attr-defined]
        pages.append(page)
        return page

    yield open_
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for n, page in enumerate(pages):
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            page.screenshot(path=str(ARTIFACTS / f"failed-{name}-{n}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """A desktop-sized page (1280 by 800)."""
    return open_page()


@pytest.fixture
def phone_page(open_page: Callable[..., Page]) -> Page:
    """A phone-sized page (375 by 812)."""
    return open_page(PHONE)


def console_of(page: Page) -> Console:
    return page.console  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _email_in_memory(settings: Any) -> None:
    """Emails the pages send (invitations) go to Django's in-memory outbox, not to an SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def make_user(transactional_db: None) -> Callable[..., WebUser]:
    """make_user(email=..., workspaces=[...]) → a user who is admin of each named workspace, with PASSWORD."""
    from rapport.accounts import services

    def make(
        email: str = "pat@example.com",
        name: str = "Pat Tester",
        workspaces: tuple[str, ...] = ("Acme Ltd", "Globex Labs"),
    ) -> WebUser:
        user = services.user_create(email=email, password=PASSWORD, name=name)
        for workspace in workspaces:
            services.workspace_create(name=workspace, admin=user)
        return WebUser(email=email, password=PASSWORD, name=name, workspaces=list(workspaces))

    return make


@pytest.fixture
def user(make_user: Callable[..., WebUser]) -> WebUser:
    """Pat, admin of two workspaces: "Acme Ltd" (first by name, so the one a login lands in) and "Globex Labs"."""
    return make_user()


def log_in(page: Page, user: WebUser) -> None:
    """Log in through the login form and wait for the home page."""
    page.goto("/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))


def save_screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/ (kept by CI, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def logged_in(user: WebUser) -> Callable[[Page], Page]:
    """logged_in(page) → the page, logged in as `user` through the login form."""

    def log(page: Page) -> Page:
        log_in(page, user)
        return page

    return log
