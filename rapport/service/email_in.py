"""Email-to-ticket: what the mail sync of a support mailbox does with each message it fetches.

The integrations sync (rapport.integrations.mail_sync) hands every parsed message of a mailbox that
has a `SupportMailbox` to `handle_support_message` (registered in ServiceConfig.ready() through
rapport.integrations.mail_handlers), inside the transaction that records the MailboxMessage row, so
a message is handled once however often the folder is fetched.

Contract:
- Loops: automatic mail is never turned into a ticket nor answered. Auto-Submitted other than "no",
  Precedence bulk / junk / list / auto_reply, X-Autoreply / X-Autorespond, delivery reports
  (multipart/report), bounces (MAILER-DAEMON / postmaster senders, a null Return-Path) and mail
  from the support address itself are recorded as skipped with the reason. So is the
  MAX_NEW_PER_SENDER-th new ticket within an hour from one address (a responder that labels
  nothing).
- Duplicates: a Message-ID already on a ticket of the workspace is recorded as skipped
  ("duplicate"), never a second ticket.
- Threading: In-Reply-To / References naming a stored TicketMessage pick its ticket; otherwise a
  "[#<number>]" in the subject picks that ticket when the sender is its requester (a stranger who
  quotes a number gets a ticket of their own). A reply to an open, pending, on-hold or solved
  ticket is added as a customer message (which reopens it); a reply to a closed ticket opens a new
  ticket linked to the old one as a follow-up. Anything else, an unknown number included, is a new
  ticket: a message is never lost.
- Who acts: the workspace's system principal (`rapport.service.system`). New tickets go to the
  queue of the first matching active routing rule, else to the support mailbox's queue, else to
  the workspace's default queue (`routing.route_ticket`), and are assigned there.
- Cost: the support mailbox and the system principal are read once per sync run (`SupportRun`);
  the duplicate check and the In-Reply-To / References threading are one query; the unique
  (workspace, Message-ID) of ticket messages is what finally guarantees one message, one row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

from django.utils import timezone

from rapport.activities.email_headers import message_ids
from rapport.contacts.models import ContactEmail
from rapport.core.principal import Principal
from rapport.integrations.mail_parse import ParsedMessage, clean_header
from rapport.integrations.mail_sync import plausible_date
from rapport.integrations.models import Mailbox
from rapport.service.models import (
    Channel,
    LinkKind,
    SupportMailbox,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from rapport.service.system import system_principal

SUBJECT_MAX = 250
NO_SUBJECT = "(no subject)"
NO_TEXT = "(no text)"
MAX_NEW_PER_SENDER = 30  # new tickets per sender address and hour; more is a loop or a flood
_TAG = re.compile(r"\s*\[#(\d{1,18})\]")
_BULK = {"bulk", "junk", "list", "auto_reply"}
_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


# --- reading ----------------------------------------------------------------------------------


def ticket_numbers(subject: str) -> list[int]:
    """The ticket numbers tagged "[#123]" in a subject, in order."""
    return [int(n) for n in _TAG.findall(subject or "")]


def strip_tags(subject: str) -> str:
    """The subject without its "[#123]" tags."""
    return _TAG.sub("", subject or "").strip()


def reference_tag(number: int) -> str:
    """The tag that names ticket `number` in a subject."""
    return f"[#{number}]"


def headers_of(raw: bytes) -> Message:
    """The header block of a raw message (no body parsing: cheap even for large mail)."""
    return BytesHeaderParser(policy=compat32).parsebytes(raw)


def loop_reason(headers: Message, sender: str, own: Iterable[str] = ()) -> str:
    """Why a message is automatic mail that must not become a ticket (nor be answered); "" when it
    is a person's. `sender` is the normalised From address, `own` the support addresses."""
    auto = clean_header(headers.get("Auto-Submitted", "")).lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"auto_reply: Auto-Submitted {auto}"
    precedence = clean_header(headers.get("Precedence", "")).lower()
    if precedence in _BULK:
        return f"auto_reply: Precedence {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if headers.get(name) is not None:
            return f"auto_reply: {name}"
    content_type = clean_header(headers.get("Content-Type", "")).lower()
    if content_type.startswith("multipart/report"):
        return "bounce: delivery report"
    local = sender.partition("@")[0].lower()
    if local in _DAEMONS:
        return f"bounce: sent by {local}"
    return_path = clean_header(headers.get("Return-Path", ""))
    if return_path and parseaddr(return_path)[1] == "" and "<>" in return_path:
        return "bounce: null sender"
    if sender in {address.lower() for address in own}:
        return "own_address: sent by the support address"
    return ""


# --- threading --------------------------------------------------------------------------------


def _is_requester(ticket: Ticket, sender: str) -> bool:
    if ticket.requester_email.lower() == sender:
        return True
    if ticket.contact_id is None:
        return False
    return ContactEmail.objects.filter(contact_id=ticket.contact_id, email__iexact=sender).exists()


def _tagged_ticket(org_id: int, parsed: ParsedMessage) -> Ticket | None:
    """The ticket a "[#n]" of the subject names, when the sender is its requester."""
    for number in ticket_numbers(parsed.subject)[:5]:
        ticket = Ticket.objects.filter(org_id=org_id, number=number, deleted_at__isnull=True).first()
        if ticket is not None and _is_requester(ticket, parsed.from_address):
            return ticket
    return None


def stored_and_thread(org_id: int, parsed: ParsedMessage) -> tuple[bool, Ticket | None]:
    """(whether the message's own Message-ID is already stored in the workspace, the living ticket
    whose stored message it answers by In-Reply-To / References, newest first): one query."""
    ids = message_ids(f"{parsed.in_reply_to} {parsed.references}")[-100:]
    rows = (
        TicketMessage.objects.filter(org_id=org_id, message_id__in=[parsed.message_id, *ids])
        .exclude(message_id="")  # states the unique index's condition, so SQLite can use that index
        .select_related("ticket")
        .order_by("-created_at", "-pk")
    )
    stored, thread = False, None
    for row in rows:
        if row.message_id == parsed.message_id:
            stored = True
        elif thread is None and row.ticket.deleted_at is None:
            thread = row.ticket
    return stored, thread


def find_ticket(org_id: int, parsed: ParsedMessage) -> Ticket | None:
    """The ticket a received message belongs to, or None for a new one (see the module)."""
    return stored_and_thread(org_id, parsed)[1] or _tagged_ticket(org_id, parsed)


# --- handling ---------------------------------------------------------------------------------


def _body(parsed: ParsedMessage) -> str:
    body = parsed.body.strip() or NO_TEXT
    names = [part.filename or part.content_type for part in parsed.attachments]
    if names:
        # Tickets keep text only: the note says what the customer attached, so nothing goes unseen.
        body += "\n\n[Attachments not imported: " + ", ".join(names[:20]) + "]"
    return body


def _subject(parsed: ParsedMessage) -> str:
    subject = strip_tags(parsed.subject) or NO_SUBJECT
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1].rstrip() + "…"


def _recipients(parsed: ParsedMessage) -> list[str]:
    """To and Cc, kept on the customer message: replies go out from the support address it was sent to."""
    return [address for _n, address in [*parsed.to, *parsed.cc]][:50]


def _new_ticket(support: SupportMailbox, parsed: ParsedMessage, *, actor: Principal) -> Ticket:
    from rapport.service.ticket_services import ticket_create

    return ticket_create(
        actor=actor,
        data={
            "subject": _subject(parsed),
            "description": _body(parsed),
            "requester_email": parsed.from_address,
            "requester_name": parsed.from_name,
        },
        channel=Channel.EMAIL,
        message={
            "message_id": parsed.message_id,
            "email_from": parsed.from_address,
            "in_reply_to": parsed.in_reply_to,
            "email_to": _recipients(parsed),
            "created_at": plausible_date(parsed.date),
        },
        # A matching routing rule wins; the support mailbox's queue comes before the default queue.
        fallback_queue=support.queue,
    )


def _recent_new_tickets(org_id: int, sender: str) -> int:
    since = timezone.now() - timedelta(hours=1)
    return Ticket.objects.filter(
        org_id=org_id, channel=Channel.EMAIL, requester_email__iexact=sender, created_at__gte=since
    ).count()


class SupportRun:
    """The handler of one sync run of a support mailbox (what `support_handler_for` hands the mail
    sync): the support mailbox (its address and queue) and the system principal are read once per
    run, not once per message. A support mailbox unlinked or changed during a run takes effect
    from the next run."""

    def __init__(self, support: SupportMailbox) -> None:
        self.support = support
        self._actor: Principal | None = None

    def actor(self) -> Principal:
        """The workspace's system principal, read on first use (NoActiveAdmin is raised again for
        every message, so each is recorded as refused and none is lost)."""
        if self._actor is None:
            self._actor = system_principal(self.support.org_id)
        return self._actor

    def __call__(self, mailbox: Mailbox, parsed: ParsedMessage, raw: bytes) -> str:
        return handle_support_message(mailbox, parsed, raw, run=self)


def handle_support_message(
    mailbox: Mailbox, parsed: ParsedMessage, raw: bytes, *, run: SupportRun | None = None
) -> str:
    """Turn one received message into a ticket or a customer message (see the module); the skip
    reason when it is ignored, "" when it was taken. Runs inside the sync's transaction. `run`
    carries what one sync run reads once (without it, it is read for this message)."""
    # Loaded when used: the ticket services load routing and the SLA clock.
    from rapport.service.ticket_services import ticket_customer_message, ticket_link

    if run is None:
        support = SupportMailbox.objects.select_related("queue").filter(mailbox=mailbox).first()
        if support is None:  # unlinked between the claim and this message: log nothing, lose nothing
            return "not_a_support_mailbox"
        run = SupportRun(support)
    support = run.support
    org_id = mailbox.org_id
    own = [support.address, mailbox.username] if "@" in mailbox.username else [support.address]
    reason = loop_reason(headers_of(raw), parsed.from_address, own)
    if reason:
        return reason
    stored, ticket = stored_and_thread(org_id, parsed)
    if stored:
        return "duplicate: the Message-ID is already on a ticket"
    actor = run.actor()
    ticket = ticket or _tagged_ticket(org_id, parsed)
    if ticket is not None and ticket.status != TicketStatus.CLOSED:
        ticket_customer_message(
            actor=actor,
            ticket=ticket,
            body=_body(parsed),
            channel=Channel.EMAIL,
            message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to,
            email_from=parsed.from_address,
            created_at=plausible_date(parsed.date),
            email_to=_recipients(parsed),
        )
        return ""
    if ticket is None and _recent_new_tickets(org_id, parsed.from_address) >= MAX_NEW_PER_SENDER:
        return f"flood: more than {MAX_NEW_PER_SENDER} new tickets in an hour from this sender"
    created = _new_ticket(support, parsed, actor=actor)
    if ticket is not None:  # a reply to a closed ticket: a follow-up, linked to it
        ticket_link(actor=actor, ticket=created, other=ticket, kind=LinkKind.FOLLOW_UP)
    return ""


def support_handler_for(mailbox: Mailbox) -> SupportRun | None:
    """The resolver registered with the mail sync (called once per sync run): a support mailbox's
    mail becomes tickets, through a handler that reads the support mailbox once for the run."""
    support = SupportMailbox.objects.select_related("queue").filter(mailbox_id=mailbox.pk).first()
    return SupportRun(support) if support is not None else None
