"""Helpers of the mailbox tests: messages to deliver, mailboxes pointed at the test Dovecot, contacts."""

from __future__ import annotations

import itertools
import socket
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.contacts.services import contact_create
from rapport.core import crypto
from rapport.core.principal import Principal
from rapport.integrations.models import Mailbox, Security
from rapport.testing.imap import ImapAccount

_ids = itertools.count(1)


def make_message(
    *,
    sender: str = "Jane Client <jane@client.example>",
    to: str = "owner@acme.example",
    cc: str = "",
    subject: str = "Quote request",
    body: str = "Hello, could you send a quote?",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    html: str = "",
    attachments: list[tuple[str, str, bytes]] | None = None,
    date: Any = None,
) -> bytes:
    """An RFC 5322 message as a mail client would send it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(date or timezone.now())
    message["Message-ID"] = message_id or f"<m{next(_ids)}.{id(message)}@client.example>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def connect_mailbox(owner: Principal | None, account: ImapAccount, *, org: Any = None, **extra: Any) -> Mailbox:
    """A mailbox on the test server (plain IMAP on loopback); `owner` None makes a shared one."""
    values: dict[str, Any] = {
        "host": account.host,
        "port": account.port,
        "security": Security.NONE,
        "username": account.username,
        "password_secret": crypto.encrypt(account.password),
    }
    values.update(extra)
    return Mailbox.objects.create(
        org=org if org is not None else owner.org,  # type: ignore[union-attr]
        user=owner.user if owner is not None else None,
        created_by=owner.user if owner is not None else None,
        **values,
    )


def make_contact(actor: Principal, email: str, first_name: str = "Jane") -> Contact:
    return contact_create(
        actor=actor, data={"first_name": first_name, "emails": [{"email": email, "is_primary": True}]}
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
