"""Email written in Rapport, on the wire: the message, the connection to the workspace's SMTP
server, and the delivery, through Django's email machinery (EmailMultiAlternatives and the SMTP
backend built by `get_connection` from the workspace's `SmtpServer`).

The message is built from the email activity alone: From / To / Cc / Subject and the Message-ID,
In-Reply-To and References that were fixed when the email was composed (so the Message-ID stored
is the one sent), a text part (the Markdown source), an HTML part (the same source through the safe
Markdown renderer), the activity's attachments read through the storage API, and, for a meeting
invitation, its `text/calendar; method=REQUEST` part. A Reply-To names the author when the From
address is not theirs (the workspace's `from_email`).

Failures are raised as `SendFailure` with a message for the user. `transient` marks a failure to
reach the server before anything was transmitted (refused connection, timeout, a 4xx greeting):
only those may be retried. Header values never carry CR or LF: the compose service refuses them,
`EmailHeaders` refuses them, and Django's message refuses them again (BadHeaderError).
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address

from rapport.activities.markdown import render_markdown
from rapport.activities.models import Activity
from rapport.integrations.models import Security, SmtpServer

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# The content type an invitation's .ics is stored with on the email activity: it is sent as the
# `text/calendar; method=REQUEST` alternative (which calendar clients turn into Accept / Decline)
# and as an invite.ics attachment.
INVITE_CONTENT_TYPE = "text/calendar; method=REQUEST"
INVITE_FILENAME = "invite.ics"
ERROR_MAX = 500


@dataclass
class SendFailure(Exception):
    message: str
    transient: bool = False

    def __str__(self) -> str:
        return self.message


def _timeout() -> int:
    return int(getattr(settings, "EMAIL_TIMEOUT", None) or 20)


def one_line(value: str) -> str:
    """The text with every control and line-separator character turned into a space."""
    return "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in value).strip()


def sender_address(server: SmtpServer, user: Any) -> str:
    """The From of an email the member `user` writes: "Name <their email>", or their name with the
    workspace's `from_email` when one is set."""
    address = server.from_email or user.email
    return formataddr((one_line(user.display_name or ""), address))


def reply_to_of(activity: Activity) -> list[str]:
    """Reply-To: the author, when the From address is not theirs."""
    author = activity.created_by
    if author is None or not author.email:
        return []
    if parseaddr(activity.email_from)[1].lower() == author.email.lower():
        return []
    return [formataddr((one_line(author.display_name or ""), author.email))]


def new_message_id(from_address: str) -> str:
    """A fresh Message-ID (with brackets) in the domain of the sender's address."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "rapport.invalid"
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "rapport.invalid"
    return make_msgid(domain=domain)


def connection_for(server: SmtpServer) -> EmailBackend:
    """An unopened SMTP connection with the server's settings (the password decrypted here only)."""
    from rapport.core.crypto import SecretUnreadable, decrypt

    try:
        password = decrypt(server.password_secret) if server.password_secret else ""
    except SecretUnreadable:
        raise SendFailure(
            "The stored SMTP password cannot be decrypted with the configured encryption keys "
            "(RAPPORT_ENCRYPTION_KEYS); an admin has to enter it again."
        ) from None
    connection = get_connection(
        SMTP_BACKEND,
        fail_silently=False,
        host=server.host,
        port=server.port,
        username=server.username,
        password=password,
        use_tls=server.security == Security.STARTTLS,
        use_ssl=server.security == Security.SSL,
        timeout=_timeout(),
    )
    assert isinstance(connection, EmailBackend)
    return connection


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return one_line(f"{exc.smtp_code} {text}")


def describe(exc: BaseException, server: SmtpServer) -> tuple[str, bool]:
    """(a message for the user, whether retrying later may help) for an error of the SMTP exchange."""
    where = f"{server.host}:{server.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"The server {where} refused the username or password ({_smtp_text(exc)}).", 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address} ({code} {one_line(text.decode('utf-8', 'replace'))})"
            for address, (code, text) in exc.recipients.items()
        )
        return f"The server refused every recipient: {refused}.", False
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"The server refused the sender address {exc.sender} ({_smtp_text(exc)}).", False
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (
            f"The server {where} does not support what the security setting needs ({one_line(str(exc))}); "
            "check the security setting and the port.",
            False,
        )
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"The server {where} refused the connection ({_smtp_text(exc)}).", True
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The server {where} answered {_smtp_text(exc)}.", 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"The server {where} closed the connection unexpectedly.", True
    if isinstance(exc, ssl.SSLError):
        reason = one_line(getattr(exc, "reason", None) or str(exc))
        return f"The secure connection to {where} failed ({reason}); check the port and the security setting.", False
    if isinstance(exc, socket.gaierror):
        return f"The host name {server.host} could not be found.", True
    if isinstance(exc, ConnectionRefusedError):
        return f"Could not connect to {where}: the connection was refused (check the host and the port).", True
    if isinstance(exc, TimeoutError):
        return f"Could not connect to {where}: no answer within {_timeout()} seconds.", True
    if isinstance(exc, OSError):
        return f"Could not connect to {where}: {one_line(exc.strerror or str(exc))}.", True
    return f"Sending through {where} failed: {one_line(str(exc))}.", False


def open_connection(server: SmtpServer) -> EmailBackend:
    """A connection to the server, logged in when it has a username; SendFailure otherwise."""
    connection = connection_for(server)
    try:
        connection.open()
    except UnicodeEncodeError as exc:
        connection.close()
        raise SendFailure(
            "The username or password holds characters other than ASCII, which the SMTP login cannot send."
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        connection.close()
        message, transient = describe(exc, server)
        raise SendFailure(message[:ERROR_MAX], transient=transient) from exc
    return connection


def _html(activity: Activity) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{render_markdown(activity.body)}</body></html>'
    )


def build_message(activity: Activity, *, connection: EmailBackend | None = None) -> EmailMultiAlternatives:
    """The message of an email activity, exactly as it goes out (see the module)."""
    headers = {"Message-ID": activity.message_id}
    if activity.in_reply_to:
        headers["In-Reply-To"] = activity.in_reply_to
    if activity.references:
        headers["References"] = activity.references
    message = EmailMultiAlternatives(
        subject=activity.subject,
        body=activity.body,
        from_email=activity.email_from,
        to=list(activity.email_to),
        cc=list(activity.email_cc),
        reply_to=reply_to_of(activity),
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(_html(activity), "text/html")
    for attachment in activity.attachments.order_by("id"):
        try:
            with attachment.file.open("rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise SendFailure(f"The attachment {one_line(attachment.filename)} could not be read.") from exc
        if attachment.content_type == INVITE_CONTENT_TYPE:
            message.attach_alternative(content.decode("utf-8"), INVITE_CONTENT_TYPE)
            message.attach(INVITE_FILENAME, content, "application/ics")
        else:
            message.attach(one_line(attachment.filename) or "attachment", content, attachment.content_type or None)
    return message


def deliver(activity: Activity, server: SmtpServer) -> dict[str, str]:
    """Send the email activity through the server; the recipients the server refused (when it took
    the others), address → reason. Raises SendFailure when nothing was sent."""
    return deliver_message(lambda: build_message(activity), server)


def deliver_message(build: Callable[[], EmailMultiAlternatives], server: SmtpServer) -> dict[str, str]:
    """Send the message `build()` makes through the server (any email of the workspace: an email
    activity, a ticket reply, a survey); the recipients the server refused, address → reason.
    Raises SendFailure when nothing was sent (a message that cannot be built included)."""
    try:
        message = build()
        data = message.message().as_bytes(linesep="\r\n")
    except SendFailure:
        raise
    except (BadHeaderError, ValueError, LookupError, TypeError) as exc:
        # Nothing went out: a message that cannot be built fails instead of staying `sending`.
        raise SendFailure(f"The email cannot be sent: {one_line(str(exc))}."[:ERROR_MAX]) from exc
    encoding = message.encoding or settings.DEFAULT_CHARSET
    from_address = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in message.recipients()]
    if not recipients:
        raise SendFailure("The email has no recipients.")
    connection = open_connection(server)
    try:
        assert connection.connection is not None
        refused = connection.connection.sendmail(from_address, recipients, data)
    except (smtplib.SMTPException, OSError) as exc:
        text, _ = describe(exc, server)
        if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException):
            # The connection broke during the exchange: the server may have taken the message.
            text = f"Sending was interrupted: {text} The email may still have arrived; check before sending it again."
        raise SendFailure(text[:ERROR_MAX]) from exc
    finally:
        # The message was handed over (or not) before: a failing QUIT changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()
    return {
        address: one_line(f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}")
        for address, (code, text) in refused.items()
    }
