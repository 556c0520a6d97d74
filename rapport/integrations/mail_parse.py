"""Reading one fetched email (raw RFC 5322 bytes) into what the sync logs: addresses, subject, body,
thread headers, date and attachments. Pure functions, no database and no network.

Header values are unfolded and cleaned (no CR, LF or other control characters survive), addresses
are normalised as contacts' emails are (`rapport.core.normalize.email`), the body is the text/plain
part or the HTML part turned into text. A message that cannot be read, or that names no valid
sender, raises `Malformed` with a short reason.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

import nh3

from rapport.activities.email_headers import message_ids
from rapport.core import normalize
from rapport.core.errors import ApplicationError

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table)\s*>")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
MAX_ADDRESSES = 100
_PLAIN_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]{1,64}@[A-Za-z0-9.-]{1,253}$")


class Malformed(Exception):
    """The message cannot be logged; `str(exc)` is the short reason kept on the MailboxMessage."""


@dataclass(frozen=True)
class Part:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMessage:
    message_id: str
    from_address: str
    from_name: str
    to: list[tuple[str, str]] = field(default_factory=list)  # (display name, address)
    cc: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    in_reply_to: str = ""
    references: str = ""
    date: datetime | None = None
    body: str = ""
    attachments: list[Part] = field(default_factory=list)

    def addresses(self) -> list[str]:
        """Every address of From, To and Cc, once each, in that order."""
        seen: list[str] = []
        for address in [self.from_address, *(a for _n, a in self.to), *(a for _n, a in self.cc)]:
            if address not in seen:
                seen.append(address)
        return seen


def clean_header(value: object) -> str:
    """A header value on one line: folding undone, control characters (CR and LF included) gone."""
    text = _CONTROL.sub(" ", str(value or "").replace("\r", " ").replace("\n", " "))
    return _SPACES.sub(" ", text).strip()


def _address_list(message: EmailMessage, name: str) -> list[tuple[str, str]]:
    """The valid addresses of one header (display name, normalised address); invalid ones dropped."""
    values = [clean_header(v) for v in message.get_all(name, [])]
    found: list[tuple[str, str]] = []
    for display, raw in getaddresses(values):
        try:
            address = normalize.email(raw)
        except ApplicationError:
            # Not an address a contact could have (e.g. a reserved domain such as .test or .local)
            # but still one: kept as written, lower-cased, so a member's own address is recognised.
            if not _PLAIN_ADDRESS.match(raw.strip()):
                continue
            address = raw.strip().lower()
        if address not in (a for _n, a in found):
            found.append((clean_header(display), address))
        if len(found) >= MAX_ADDRESSES:
            break
    return found


def _date(message: EmailMessage) -> datetime | None:
    value = clean_header(message.get("Date", ""))
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: block ends become line breaks, tags go (script and style with
    their content), entities are decoded."""
    stripped = nh3.clean(_BLOCK_END.sub("\n", markup), tags=set())
    return _BLANK_LINES.sub("\n\n", html.unescape(stripped))


def _decoded(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, KeyError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decoded(part)  # type: ignore[arg-type]
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\x00", "").replace("\r\n", "\n").strip()


def _attachments(message: EmailMessage) -> list[Part]:
    parts: list[Part] = []
    for part in message.iter_attachments():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            continue
        parts.append(Part(clean_header(part.get_filename() or ""), part.get_content_type(), data))
    return parts


def _message_id(message: EmailMessage, raw: bytes) -> str:
    """The message's own Message-ID; one made from its bytes when it has none, so the same message
    fetched again (after a UIDVALIDITY change) is still recognised."""
    ids = message_ids(clean_header(message.get("Message-ID", "")))
    if ids:
        return ids[0][:255]
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@rapport.invalid>"


def parse_message(raw: bytes) -> ParsedMessage:
    """Read one message; raises Malformed when it cannot be read or names no valid sender."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # the default policy makes EmailMessages
        senders = _address_list(message, "From")
        if not senders:
            raise Malformed("malformed: no valid From address")
        name, address = senders[0]
        return ParsedMessage(
            message_id=_message_id(message, raw),
            from_address=address,
            from_name=name,
            to=_address_list(message, "To"),
            cc=_address_list(message, "Cc"),
            subject=clean_header(message.get("Subject", "")),
            in_reply_to=" ".join(message_ids(clean_header(message.get("In-Reply-To", ""))))[:255],
            references=" ".join(message_ids(clean_header(message.get("References", "")))),
            date=_date(message),
            body=_body(message),
            attachments=_attachments(message),
        )
    except Malformed:
        raise
    except Exception as exc:  # any failure to read it makes it malformed, never stops the sync
        raise Malformed(f"malformed: {type(exc).__name__}") from None
