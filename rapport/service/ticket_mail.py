"""Email out for tickets: agents' public replies (and the service's automatic mail, surveys and
acknowledgements, through `support_email` / `send_support_email`) over the workspace's SMTP server.

A reply goes From the support address of the ticket (the support mailbox the customer wrote to,
else the one of the ticket's queue, else the workspace's first; without any, the SMTP server's
`from_email`, else the agent's own address, else DEFAULT_FROM_EMAIL), To the requester, with the subject
"Re: <subject> [#<number>]", our Message-ID (stored on the message, so the customer's answer
threads back), In-Reply-To the last customer message and References the thread. Human replies
carry no Auto-Submitted header; automatic mail carries one (RFC 3834), which our own intake and
well-behaved responders skip.

Exactly once, as rapport.integrations.sending does for email activities, with the fields a
TicketMessage has: a reply to send is `queued`; the run that sets `sent_at` on it while it is
queued with no `sent_at` (a conditional UPDATE, committed before any network I/O) holds the claim
and alone sends it; it then becomes `sent` (`sent_at` = when) or `failed` (`send_error`). A server
that cannot be reached puts it back (`sent_at` empty) and retries after RETRY_DELAYS; every other
failure fails it at once and notifies its author. `replies_recover` (every minute) fails replies
left claimed by a dead run ("may not have been sent": never resent automatically) and enqueues
again the ones whose task was lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.activities.markdown import render_markdown
from rapport.activities.models import NotificationKind
from rapport.activities.notifications import notify
from rapport.integrations.outbound import ERROR_MAX, SendFailure, deliver_message, new_message_id, one_line
from rapport.integrations.sending import CLAIM_TIMEOUT, RECOVER_BATCH, RETRY_DELAYS, UNCERTAIN, Outcome, SendResult
from rapport.integrations.smtp_services import smtp_server_of
from rapport.service.models import MessageKind, SendStatus, SupportMailbox, Ticket, TicketMessage

log = logging.getLogger(__name__)

# A queued reply older than this whose claim never came lost its task (every retry is due by then).
LOST_AFTER = timedelta(seconds=sum(RETRY_DELAYS)) + timedelta(minutes=5)
REFERENCES_MAX = 20  # Message-IDs in References: the first of the thread and the latest ones


# --- addresses and headers ----------------------------------------------------------------------


def support_mailbox_for(ticket: Ticket) -> SupportMailbox | None:
    """The support mailbox that answers for a ticket: the one the customer last wrote to, else the
    one of the ticket's queue, else the workspace's first (None when it has none)."""
    mailboxes = list(SupportMailbox.objects.filter(org_id=ticket.org_id).order_by("pk"))
    if not mailboxes:
        return None
    written_to = (
        TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER)
        .exclude(email_to=[])
        .order_by("-created_at", "-pk")
        .values_list("email_to", flat=True)
        .first()
    )
    addresses = {str(a).lower() for a in written_to or []}
    for candidate in mailboxes:
        if candidate.address.lower() in addresses:
            return candidate
    for candidate in mailboxes:
        if ticket.queue_id is not None and candidate.queue_id == ticket.queue_id:
            return candidate
    return mailboxes[0]


def sender_for(ticket: Ticket, *, fallback: str = "") -> str:
    """The From of the service's mail about a ticket: "<Workspace> <support address>" (see the
    module for the order; automatic mail falls back to DEFAULT_FROM_EMAIL); "" when there is none."""
    support = support_mailbox_for(ticket)
    server = smtp_server_of(ticket.org_id)
    address = (
        (support.address if support else "")
        or (server.from_email if server else "")
        or fallback
        or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    )
    if not address:
        return ""
    return formataddr((one_line(ticket.org.name), address))


def reply_subject(ticket: Ticket) -> str:
    """ "Re: <subject> [#<number>]" (no second "Re:")."""
    subject = one_line(ticket.subject)
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return f"{subject} [#{ticket.number}]"


def thread_ids(ticket: Ticket, *, before: TicketMessage | None = None) -> list[str]:
    """The Message-IDs of the ticket's emailed messages (customer mail and sent replies), oldest first."""
    messages = TicketMessage.objects.filter(ticket=ticket).exclude(message_id="").exclude(kind=MessageKind.NOTE)
    if before is not None:
        messages = messages.exclude(pk=before.pk).filter(created_at__lte=before.created_at)
    ids = list(messages.order_by("created_at", "pk").values_list("message_id", flat=True))
    return ids if len(ids) <= REFERENCES_MAX else [ids[0], *ids[-(REFERENCES_MAX - 1) :]]


def requester_address(ticket: Ticket) -> str:
    """Where mail to the customer goes: the ticket's requester email, else the contact's primary."""
    if ticket.requester_email:
        return ticket.requester_email
    if ticket.contact_id is None:
        return ""
    from rapport.contacts.models import ContactEmail

    found = (
        ContactEmail.objects.filter(contact_id=ticket.contact_id)
        .order_by("-is_primary", "pk")
        .values_list("email", flat=True)
        .first()
    )
    return found or ""


def support_email(
    ticket: Ticket,
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str = "",
    references: list[str] | None = None,
    auto_submitted: str = "",
    html: str | None = None,
) -> EmailMultiAlternatives:
    """A message about a ticket: a text part (the Markdown source) and an HTML part (it rendered
    safely, unless `html` is given); `auto_submitted` ("auto-replied", "auto-generated") marks
    automatic mail."""
    headers = {"Message-ID": message_id}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    if auto_submitted:
        headers["Auto-Submitted"] = auto_submitted
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=sender, to=[to], headers=headers)
    content = html if html is not None else str(render_markdown(body))
    message.attach_alternative(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{content}</body></html>', "text/html"
    )
    return message


# --- replies ------------------------------------------------------------------------------------


def _finish(message_id: int, **values: object) -> int:
    """Leave the claimed state; only the run holding the claim gets here."""
    return TicketMessage.objects.filter(pk=message_id, send_status=SendStatus.QUEUED, sent_at__isnull=False).update(
        **values
    )


def _fail(message: TicketMessage, text: str) -> SendResult:
    with transaction.atomic():
        if _finish(message.pk, send_status=SendStatus.FAILED, send_error=text[:ERROR_MAX], sent_at=None):
            _notify_failed(message, f"Your reply on ticket #{message.ticket.number} could not be sent: {text}")
    return SendResult(Outcome.FAILED)


def _notify_failed(message: TicketMessage, title: str) -> None:
    if message.author_id is not None:
        notify(
            org_id=message.org_id,
            user_id=message.author_id,
            kind=NotificationKind.EMAIL_FAILED,
            title=title,
            url=f"/tickets/{message.ticket_id}/",
        )


def reply_send(*, message_id: int, attempt: int = 0) -> SendResult:
    """Claim, send and mark one queued public reply (see the module). `attempt` counts from 0."""
    message = (
        TicketMessage.objects.select_related("ticket", "ticket__org", "author")
        .filter(pk=message_id, kind=MessageKind.REPLY)
        .first()
    )
    if message is None or message.send_status != SendStatus.QUEUED or message.sent_at is not None:
        return SendResult(Outcome.SKIPPED)
    ticket = message.ticket
    author_email = message.author.email if message.author is not None else ""
    sender = sender_for(ticket, fallback=author_email)
    our_id = message.message_id or new_message_id(parseaddr(sender)[1] or "rapport.invalid")
    claimed = TicketMessage.objects.filter(
        pk=message_id, send_status=SendStatus.QUEUED, sent_at__isnull=True, message_id=message.message_id
    ).update(sent_at=timezone.now(), message_id=our_id)
    if not claimed:
        return SendResult(Outcome.SKIPPED)
    message.message_id = our_id
    to = requester_address(ticket)
    if ticket.deleted_at is not None:
        return _fail(message, "The ticket was deleted before the reply was sent.")
    if not to:
        return _fail(message, "The ticket has no requester email address.")
    if not sender:
        return _fail(message, "No sender address: add a support mailbox or a From address to the SMTP server.")
    server = smtp_server_of(ticket.org_id)
    if server is None:
        return _fail(message, "No outgoing mail server is configured in this workspace.")
    references = thread_ids(ticket, before=message)
    customer_ids = list(
        TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER, created_at__lte=message.created_at)
        .exclude(message_id="")
        .exclude(pk=message.pk)
        .order_by("-created_at", "-pk")
        .values_list("message_id", flat=True)[:1]
    )
    in_reply_to = customer_ids[0] if customer_ids else ""

    def build() -> EmailMultiAlternatives:
        return support_email(
            ticket,
            sender=sender,
            to=to,
            subject=reply_subject(ticket),
            body=message.body,
            message_id=our_id,
            in_reply_to=in_reply_to,
            references=references,
        )

    try:
        refused = deliver_message(build, server)
    except SendFailure as exc:
        if exc.transient and attempt < len(RETRY_DELAYS):
            delay = RETRY_DELAYS[attempt]
            note = (
                f"{exc.message} Trying again in {delay // 60} min (attempt {attempt + 2} of {len(RETRY_DELAYS) + 1})."
            )
            _finish(message_id, send_error=note[:ERROR_MAX], sent_at=None)
            return SendResult(Outcome.RETRY, delay)
        log.info("ticket reply %s failed: %s", message_id, exc.message)
        return _fail(message, exc.message)
    note = "Sent, but the server refused: " + "; ".join(f"{a} ({why})" for a, why in refused.items()) if refused else ""
    _finish(
        message_id,
        send_status=SendStatus.SENT,
        sent_at=timezone.now(),
        send_error=note[:ERROR_MAX],
        email_to=[to],
        in_reply_to=in_reply_to,
    )
    return SendResult(Outcome.SENT)


@db_task()
def send_reply_task(message_id: int, attempt: int = 0) -> None:
    """Send one queued public reply once; an unreachable server is tried again later, a few times.

    Takes an id: a repeated or retried run finds the reply already claimed and does nothing."""
    result = reply_send(message_id=message_id, attempt=attempt)
    if result.outcome is Outcome.RETRY:
        send_reply_task.schedule(args=(message_id,), kwargs={"attempt": attempt + 1}, delay=result.delay)


def replies_recover(*, now: datetime | None = None) -> list[int]:
    """Fail the replies a dead run left claimed (never resent) and return the queued ones whose
    task was lost, for the caller to enqueue again (their last attempt). At most RECOVER_BATCH each."""
    now = now or timezone.now()
    stuck = TicketMessage.objects.filter(
        kind=MessageKind.REPLY, send_status=SendStatus.QUEUED, sent_at__lt=now - CLAIM_TIMEOUT
    )
    for pk in list(stuck.order_by("sent_at").values_list("pk", flat=True)[:RECOVER_BATCH]):
        with transaction.atomic():
            if stuck.filter(pk=pk).update(send_status=SendStatus.FAILED, send_error=UNCERTAIN[:ERROR_MAX]):
                message = TicketMessage.objects.select_related("ticket").get(pk=pk)
                _notify_failed(message, f"Your reply on ticket #{message.ticket.number} may not have been sent.")
    lost = TicketMessage.objects.filter(
        kind=MessageKind.REPLY,
        send_status=SendStatus.QUEUED,
        sent_at__isnull=True,
        created_at__lt=now - LOST_AFTER,
        created_at__gte=now - timedelta(days=2),
    )
    return list(lost.order_by("created_at").values_list("pk", flat=True)[:RECOVER_BATCH])


@db_periodic_task(crontab(minute="*"))
def recover_ticket_replies() -> None:
    """Every minute: see replies_recover."""
    for message_id in replies_recover():
        send_reply_task(message_id, attempt=len(RETRY_DELAYS))


# --- automatic mail ---------------------------------------------------------------------------


def send_support_email(ticket: Ticket, *, subject: str, body: str, html: str | None, auto_submitted: str) -> None:
    """Send one automatic email about a ticket to its requester (a survey, an acknowledgement);
    raises SendFailure (transient when a later try may work)."""
    to = requester_address(ticket)
    sender = sender_for(ticket)
    server = smtp_server_of(ticket.org_id)
    if not to or not sender or server is None:
        raise SendFailure("No requester address, sender address or outgoing mail server.")

    def build() -> EmailMultiAlternatives:
        return support_email(
            ticket,
            sender=sender,
            to=to,
            subject=subject,
            body=body,
            html=html,
            message_id=new_message_id(parseaddr(sender)[1]),
            references=thread_ids(ticket)[-1:],
            auto_submitted=auto_submitted,
        )

    deliver_message(build, server)
