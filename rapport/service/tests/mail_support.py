"""Helpers and fixtures of the email tests of the service desk: a support mailbox on the test
Dovecot, the workspace's SMTP server on the test sink, and messages as mail clients send them.
The fixtures are registered by conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.accounts.models import Organization
from rapport.integrations.mail_sync import SyncReport, mailbox_sync
from rapport.integrations.models import Mailbox
from rapport.integrations.tests.conftest import configure_smtp
from rapport.integrations.tests.mailbox_support import connect_mailbox, make_message
from rapport.service.models import SupportMailbox, Ticket
from rapport.testing.imap import ImapAccount
from rapport.testing.smtp import SmtpSink

SUPPORT = "support@acme.example"
CUSTOMER = "Jane Client <jane@client.example>"

__all__ = ["CUSTOMER", "SUPPORT", "make_message", "support", "sync", "workspace_smtp"]  # fixtures: see conftest


@pytest.fixture
def support(org: Organization, admin: Any, imap_account: ImapAccount) -> SupportMailbox:
    """A shared mailbox of `org` on the test IMAP server, marked as the support mailbox SUPPORT."""
    mailbox = connect_mailbox(None, imap_account, org=org, name="Support")
    return SupportMailbox.objects.create(org=org, mailbox=mailbox, address=SUPPORT)


@pytest.fixture
def workspace_smtp(org: Organization, smtp: SmtpSink) -> SmtpSink:
    """`org`'s SMTP server is the test sink; the sink is returned to read what was sent."""
    configure_smtp(org, smtp.port)
    return smtp


def sync(mailbox: Mailbox) -> SyncReport:
    report = mailbox_sync(mailbox_id=mailbox.pk)
    assert report is not None, Mailbox.objects.get(pk=mailbox.pk).last_error
    return report


def deliver_and_sync(account: ImapAccount, support: SupportMailbox, *raws: bytes) -> SyncReport:
    for raw in raws:
        account.deliver(raw)
    return sync(support.mailbox)


def tickets(org: Organization) -> list[Ticket]:
    return list(Ticket.objects.filter(org=org).order_by("number"))


def customer_mail(**kwargs: Any) -> bytes:
    kwargs.setdefault("sender", CUSTOMER)
    kwargs.setdefault("to", SUPPORT)
    return make_message(**kwargs)


RunOnCommit = Callable[..., Any]
