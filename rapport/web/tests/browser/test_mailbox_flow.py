"""Email in, in a real browser against a real IMAP server (Dovecot): a member finds Mailboxes in the
settings navigation, connects their mailbox, mail from a known contact is delivered, "Sync now" logs
it on the contact's timeline, and a second sync logs nothing new. A refused login is shown next to the
password field, and a failing sync shows its error and when it is retried. The pages fit a phone.

With Huey in immediate mode (tests), "Sync now" runs the sync task in the request, as the worker would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rapport.activities.models import Activity
from rapport.integrations.models import Mailbox, MailboxMessage
from rapport.testing.imap import ImapAccount
from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def _message(sender: str, to: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = f"<{subject.replace(' ', '-').lower()}@client.example>"
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def sam(make_user: Callable[..., WebUser]) -> WebUser:
    """Sam, a sales rep (not an admin) of Pat's workspace "Acme Ltd", owner of the contact Jane Client."""
    from rapport.accounts.models import Membership, Organization, User
    from rapport.contacts.services import contact_create
    from rapport.core.principal import Principal

    make_user(workspaces=("Acme Ltd",))
    sam = make_user(email="sam@acme.example", name="Sam Sales", workspaces=())
    membership = Membership.objects.create(
        org=Organization.objects.get(name="Acme Ltd"), user=User.objects.get(email=sam.email), role="sales"
    )
    contact_create(
        actor=Principal.for_membership(membership),
        data={"first_name": "Jane", "last_name": "Client", "emails": [{"email": "jane@client.example"}]},
    )
    sam.workspaces = ["Acme Ltd"]
    return sam


def _open_mailboxes_from_settings(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Mailboxes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mailboxes")
    expect(page.get_by_role("navigation", name="Settings").get_by_role("link", name="Mailboxes")).to_have_attribute(
        "aria-current", "page"
    )


def _fill_connection(page: Page, account: ImapAccount, password: str) -> None:
    page.get_by_label("IMAP server (host name)").fill(account.host)
    page.get_by_label("Port", exact=True).fill(str(account.port))
    page.get_by_label("Security").select_option(label="None (local servers only)")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password", exact=True).fill(password)


def test_a_member_connects_their_mailbox_and_synced_email_reaches_the_contacts_timeline(
    page: Page, sam: WebUser, imap_account: ImapAccount
) -> None:
    log_in(page, sam)
    _open_mailboxes_from_settings(page)
    expect(page.get_by_text("You have not connected a mailbox yet.")).to_be_visible()

    page.get_by_role("link", name="Connect a mailbox").first.click()
    page.get_by_label("Name (optional)").fill("Work mail")
    _fill_connection(page, imap_account, imap_account.password)
    expect(page.get_by_label("Check the connection before saving")).to_be_checked()
    page.get_by_role("button", name="Connect").click()

    expect(page.get_by_role("status")).to_contain_text("Mailbox connected")
    row = page.get_by_role("row", name="Work mail")
    expect(row).to_contain_text("Waiting for the first sync")
    assert imap_account.password not in page.content()

    imap_account.deliver(
        _message("Jane Client <jane@client.example>", sam.email, "Quote for 12 seats", "Could you send a quote?")
    )
    imap_account.deliver(_message("Nobody <nobody@unknown.example>", sam.email, "Newsletter", "Hello"))
    row.get_by_role("button", name="Sync now").click()

    row = page.get_by_role("row", name="Work mail")
    expect(row.get_by_text("OK", exact=True)).to_be_visible()
    expect(row.get_by_test_id("mailbox-next")).to_contain_text(re.compile(r"In [45]\xa0minutes"))  # 5 minutes away
    activity = Activity.objects.get(kind="email")
    assert activity.subject == "Quote for 12 seats" and activity.private

    page.goto("/contacts/")
    page.get_by_role("link", name="Jane Client").click()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Quote for 12 seats")
    expect(timeline).to_contain_text("Could you send a quote?")

    # A second sync finds nothing new: nothing more is logged or recorded.
    _open_mailboxes_from_settings(page)
    page.get_by_role("row", name="Work mail").get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("row", name="Work mail").get_by_text("OK", exact=True)).to_be_visible()
    assert Activity.objects.filter(kind="email").count() == 1
    assert MailboxMessage.objects.count() == 2  # the contact's email, and the stranger's, skipped
    assert Mailbox.objects.get().failures == 0
    save_screenshot(page, "mailbox-flow-synced")
    console_of(page).assert_clean()


def test_a_refused_login_is_shown_at_the_password_and_a_failing_sync_shows_its_error_and_retry(
    page: Page, sam: WebUser, imap_account: ImapAccount
) -> None:
    log_in(page, sam)
    page.goto("/account/mailboxes/new/")
    _fill_connection(page, imap_account, "not-the-password")
    page.get_by_role("button", name="Connect").click()

    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_password_error")).to_contain_text("refused")
    assert not Mailbox.objects.exists()

    # Saved without the check, the first sync fails: the list says why and when it tries again.
    password.fill("not-the-password")
    page.get_by_label("Check the connection before saving").uncheck()
    page.get_by_role("button", name="Connect").click()
    row = page.get_by_role("row", name=imap_account.username)
    row.get_by_role("button", name="Sync now").click()

    row = page.get_by_role("row", name=imap_account.username)
    expect(row.get_by_text("Failing")).to_be_visible()
    expect(row.get_by_test_id("mailbox-error")).to_contain_text("refused")
    expect(row.get_by_test_id("mailbox-next")).to_contain_text("Retry within a minute")  # 1 minute after one failure
    mailbox = Mailbox.objects.get()
    assert mailbox.failures == 1 and mailbox.next_attempt_at is not None and mailbox.next_attempt_at > timezone.now()
    save_screenshot(page, "mailbox-flow-failing")
    console_of(page).assert_clean()


@pytest.mark.parametrize("path", ["/account/mailboxes/", "/account/mailboxes/new/", "edit", "delete"])
def test_the_mailbox_pages_fit_a_phone(open_page: Callable[..., Page], sam: WebUser, path: str) -> None:
    from rapport.accounts.models import Membership
    from rapport.core import crypto
    from rapport.integrations.models import Security

    membership = Membership.objects.select_related("org", "user").get(user__email=sam.email)
    mailbox = Mailbox.objects.create(
        org=membership.org,
        user=membership.user,
        created_by=membership.user,
        name="A mailbox with a rather long name",
        host="imap.a-rather-long-provider-name.example.com",
        port=993,
        security=Security.SSL,
        username="sam.sales.with.a.long.address@acme-corporation.example",
        password_secret=crypto.encrypt("x"),
        last_error="Could not connect to imap.a-rather-long-provider-name.example.com:993: connection refused.",
        failures=3,
        next_attempt_at=timezone.now() + timedelta(minutes=4),
    )
    url = {"edit": f"/account/mailboxes/{mailbox.pk}/edit/", "delete": f"/account/mailboxes/{mailbox.pk}/delete/"}
    page = open_page(PHONE)
    log_in(page, sam)
    page.goto(url.get(path, path))

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    console_of(page).assert_clean()
