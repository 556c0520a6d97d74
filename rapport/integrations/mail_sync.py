"""Email in: fetch new messages of a mailbox over IMAP and log them as email activities.

Contract:
- Incremental: per folder, only UIDs above `MailboxFolder.last_uid` are fetched, in batches of
  `BATCH`; `last_uid` moves after each batch, once its messages are recorded. A changed UIDVALIDITY
  starts the folder over from UID 1.
- Idempotent: each fetched message gets one MailboxMessage row (unique per folder, UIDVALIDITY and
  UID), written in the same transaction as the activity it logged; a message whose Message-ID is
  already an activity of the workspace is linked to it, never logged twice.
- Matching: From, To and Cc addresses are matched to living contacts through their emails.
  Addresses of the workspace's members (and the mailbox's own) never count. No match: skipped
  ("no_contact") unless the mailbox creates contacts from unknown senders.
- Privacy: mail of a personal mailbox is private to its owner unless the mailbox shares it; mail
  of a shared workspace mailbox is not private.
- Hand-over: a mailbox that another app claims (`rapport.integrations.mail_handlers`, e.g. a
  support mailbox whose mail becomes tickets) hands each parsed message to that app's handler
  instead of logging it; the same MailboxMessage bookkeeping keeps it incremental and idempotent.
- Failures: a message that cannot be read, is too large or is refused is recorded as skipped with
  a reason and the sync goes on. A connection, login or server error stops this mailbox's sync
  only: it is recorded on the mailbox (`last_error`, never the password) and retried later with
  exponential backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.accounts.roles import Entity, Role
from rapport.activities import services as activity_services
from rapport.activities.attachments import attachment_store_bytes
from rapport.activities.choices import Direction, Kind
from rapport.activities.email_headers import EmailHeaders
from rapport.activities.models import Activity
from rapport.contacts import services as contact_services
from rapport.contacts.models import Contact, ContactEmail
from rapport.core.access import scope
from rapport.core.crypto import SecretUnreadable, decrypt
from rapport.core.errors import ApplicationError
from rapport.core.principal import Principal
from rapport.integrations.imap import ImapFailure, ImapSession
from rapport.integrations.mail_handlers import MessageHandler, message_handler_for
from rapport.integrations.mail_parse import Malformed, ParsedMessage, parse_message
from rapport.integrations.models import Mailbox, MailboxFolder, MailboxMessage

log = logging.getLogger(__name__)

BATCH = 200
FETCH_BYTES = 20 * 1024 * 1024  # at most this much raw mail is held in memory at once
MAX_NEW_CONTACTS = 10  # contacts made from one message's unknown addresses
BACKOFF_CAP = timedelta(hours=6)
LEASE = timedelta(minutes=15)  # a claimed mailbox is not claimed again before this, unless it finishes


class SyncProblem(Exception):
    """The sync cannot run for a reason of ours (not the server's); `str(exc)` is shown to the user."""


@dataclass
class SyncReport:
    logged: int = 0
    linked: int = 0
    skipped: int = 0
    handled: int = 0  # taken by the mailbox's handler (see rapport.integrations.mail_handlers)
    folders: list[str] = field(default_factory=list)


def sync_interval() -> timedelta:
    return timedelta(minutes=getattr(settings, "MAILBOX_SYNC_INTERVAL_MINUTES", 5))


def message_max_bytes() -> int:
    """Messages larger than this are skipped ("too_large"): room for an attachment of the largest
    allowed size once base64-encoded (4/3 of it), plus the rest of the message."""
    default = settings.ATTACHMENT_MAX_BYTES * 4 // 3 + 1024 * 1024
    return int(getattr(settings, "MAILBOX_MESSAGE_MAX_BYTES", default))


def backoff(failures: int) -> timedelta:
    """The wait after `failures` consecutive failures: 1, 2, 4 … minutes, at most BACKOFF_CAP."""
    return min(timedelta(minutes=2 ** min(max(failures - 1, 0), 20)), BACKOFF_CAP)


# --- scheduling -------------------------------------------------------------------------------


def mailboxes_claim_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of enabled mailboxes whose next attempt is due, each claimed for LEASE (its next attempt
    moved out by a conditional UPDATE), so a mailbox is never handed out twice at once."""
    now = now or timezone.now()
    due = (
        Mailbox.objects.filter(enabled=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    claimed = []
    for pk, when in due:
        if Mailbox.objects.filter(pk=pk, next_attempt_at=when).update(next_attempt_at=now + LEASE):
            claimed.append(pk)
    return claimed


def _record_failure(mailbox: Mailbox, message: str) -> None:
    now = timezone.now()
    failures = mailbox.failures + 1
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_error=message[:500], failures=failures, next_attempt_at=now + backoff(failures)
    )


def _record_success(mailbox: Mailbox) -> None:
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_error="", failures=0, last_success_at=now, next_attempt_at=now + sync_interval()
    )


def mailbox_sync(*, mailbox_id: int) -> SyncReport | None:
    """Sync one mailbox now and record the outcome on it (success, or the error and the next
    attempt after backoff). None when the mailbox is gone, disabled, or the sync failed."""
    mailbox = Mailbox.objects.select_related("org", "user").filter(pk=mailbox_id, enabled=True).first()
    if mailbox is None:
        return None
    Mailbox.objects.filter(pk=mailbox.pk).update(last_attempt_at=timezone.now())
    try:
        report = _sync(mailbox)
    except (ImapFailure, SyncProblem) as exc:
        _record_failure(mailbox, str(exc))
        return None
    except Exception:
        log.exception("Sync of mailbox %s stopped by an unexpected error", mailbox.pk)
        _record_failure(mailbox, "An unexpected error stopped the sync; it will be retried.")
        return None
    _record_success(mailbox)
    return report


# --- one mailbox --------------------------------------------------------------------------------


@dataclass
class _Context:
    mailbox: Mailbox
    actor: Principal
    own: frozenset[str]  # addresses of the workspace's members and of the mailbox itself
    max_bytes: int
    report: SyncReport
    handler: MessageHandler | None = None


def principal_for(mailbox: Mailbox) -> Principal:
    """Who logs a mailbox's mail: its owner; for a shared mailbox, the admin who connected it while
    they are still an active admin, else the workspace's longest-standing active admin."""
    members = Membership.objects.filter(org_id=mailbox.org_id, is_active=True).select_related("user", "org")
    if mailbox.user_id is not None:
        membership = members.filter(user_id=mailbox.user_id).first()
        if membership is None:
            raise SyncProblem("The owner of this mailbox is no longer a member of the workspace.")
    else:
        admins = members.filter(role=Role.ADMIN).order_by("pk")
        creator = admins.filter(user_id=mailbox.created_by_id) if mailbox.created_by_id else admins.none()
        membership = creator.first() or admins.first()
        if membership is None:
            raise SyncProblem("The workspace has no active admin to log a shared mailbox's mail.")
    return Principal.for_membership(membership)


def own_addresses(mailbox: Mailbox) -> frozenset[str]:
    """Members' addresses (active or not) and the mailbox's own username when it is an address."""
    emails = Membership.objects.filter(org_id=mailbox.org_id).values_list("user__email", flat=True)
    found = {address.strip().lower() for address in emails if address}
    if "@" in mailbox.username:
        found.add(mailbox.username.strip().lower())
    return frozenset(found)


def _sync(mailbox: Mailbox) -> SyncReport:
    actor = principal_for(mailbox)
    try:
        password = decrypt(mailbox.password_secret) if mailbox.password_secret else ""
    except SecretUnreadable:
        raise SyncProblem(
            "The stored password can no longer be decrypted (the encryption key changed): enter it again."
        ) from None
    context = _Context(
        mailbox=mailbox,
        actor=actor,
        own=own_addresses(mailbox),
        max_bytes=message_max_bytes(),
        report=SyncReport(),
        handler=message_handler_for(mailbox),
    )
    problems: list[str] = []
    with ImapSession.open(
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=password,
        timeout=float(getattr(settings, "MAILBOX_TIMEOUT_SECONDS", 30)),
    ) as session:
        for name in mailbox.folders or ["INBOX"]:
            try:
                _sync_folder(session, context, name)
            except ImapFailure as exc:  # one folder's problem; the others still sync
                problems.append(str(exc))
    if problems:
        raise ImapFailure(" ".join(problems))
    return context.report


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _by_size(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """Groups of `uids` whose messages together stay under FETCH_BYTES (one at least)."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if group and total + size > FETCH_BYTES:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def _sync_folder(session: ImapSession, context: _Context, name: str) -> None:
    uidvalidity = session.select(name)
    folder, _created = MailboxFolder.objects.get_or_create(mailbox=context.mailbox, name=name)
    if folder.uidvalidity != uidvalidity:
        # The server renumbered the folder: start over (Message-IDs keep it from logging twice).
        folder.uidvalidity, folder.last_uid = uidvalidity, 0
        folder.save(update_fields=["uidvalidity", "last_uid"])
    context.report.folders.append(name)
    uids = session.uids_after(folder.last_uid)
    for batch in _chunks(uids, BATCH):
        seen = set(
            MailboxMessage.objects.filter(folder=folder, uidvalidity=uidvalidity, uid__in=batch).values_list(
                "uid", flat=True
            )
        )
        todo = [uid for uid in batch if uid not in seen]
        sizes = session.sizes(todo)
        for uid in todo:
            if sizes.get(uid, 0) > context.max_bytes:
                _skip(folder, uidvalidity, uid, "too_large", context)
        wanted = [uid for uid in todo if uid in sizes and sizes[uid] <= context.max_bytes]
        for group in _by_size(wanted, sizes):
            raws = session.fetch(group)
            for uid in group:
                if uid in raws:  # a message expunged meanwhile is simply gone
                    _import(context, folder, uidvalidity, uid, raws[uid])
        MailboxFolder.objects.filter(pk=folder.pk).update(last_uid=batch[-1])
        folder.last_uid = batch[-1]


def _skip(folder: MailboxFolder, uidvalidity: int, uid: int, reason: str, context: _Context) -> None:
    try:
        with transaction.atomic():
            _obj, created = MailboxMessage.objects.get_or_create(
                folder=folder, uidvalidity=uidvalidity, uid=uid, defaults={"skipped": reason[:100]}
            )
    except IntegrityError:  # recorded meanwhile by a concurrent sync
        return
    if created:
        context.report.skipped += 1


def _import(context: _Context, folder: MailboxFolder, uidvalidity: int, uid: int, raw: bytes) -> None:
    """Record one message: logged, linked to the activity that has its Message-ID, or skipped."""
    try:
        parsed = parse_message(raw)
    except Malformed as exc:
        _skip(folder, uidvalidity, uid, str(exc), context)
        return
    if context.handler is not None:
        _hand_over(context, context.handler, folder, uidvalidity, uid, parsed, raw)
        return
    try:
        with transaction.atomic():
            _log(context, folder, uidvalidity, uid, parsed)
    except IntegrityError:
        # A concurrent sync recorded the same message (or logged its Message-ID) first: a second
        # look settles it.
        existing = _activity_with(context.actor.org_id, parsed.message_id)
        if existing is None:
            _skip(folder, uidvalidity, uid, "conflict", context)
        else:
            _link(folder, uidvalidity, uid, existing, context)
    except ApplicationError as exc:
        _skip(folder, uidvalidity, uid, f"refused: {exc.message}", context)
    except DatabaseError:
        raise
    except Exception as exc:
        log.exception("Message %s of mailbox %s could not be logged", uid, context.mailbox.pk)
        _skip(folder, uidvalidity, uid, f"error: {type(exc).__name__}", context)


def _hand_over(
    context: _Context,
    handler: MessageHandler,
    folder: MailboxFolder,
    uidvalidity: int,
    uid: int,
    parsed: ParsedMessage,
    raw: bytes,
) -> None:
    """Give one message to the mailbox's handler and record it in the same transaction. The batch
    left out the UIDs already recorded and the MailboxMessage row is unique, so the first try looks
    nothing up; a conflict (a concurrent run took the same message) rolls back and is settled by a
    second look: the row is there, or the handler recognises what it already took."""
    for last_try in (False, True):
        try:
            with transaction.atomic():
                if last_try and MailboxMessage.objects.filter(folder=folder, uidvalidity=uidvalidity, uid=uid).exists():
                    return
                reason = handler(context.mailbox, parsed, raw)[:100]
                MailboxMessage.objects.create(folder=folder, uidvalidity=uidvalidity, uid=uid, skipped=reason)
        except IntegrityError:
            if last_try:
                _skip(folder, uidvalidity, uid, "conflict", context)
                return
            continue
        except ApplicationError as exc:
            _skip(folder, uidvalidity, uid, f"refused: {exc.message}", context)
            return
        except DatabaseError:
            raise
        except Exception as exc:
            log.exception("Message %s of mailbox %s could not be handed over", uid, context.mailbox.pk)
            _skip(folder, uidvalidity, uid, f"error: {type(exc).__name__}", context)
            return
        if reason:
            context.report.skipped += 1
        else:
            context.report.handled += 1
        return


def _activity_with(org_id: int, message_id: str) -> int | None:
    return Activity.objects.filter(org_id=org_id, message_id=message_id).values_list("pk", flat=True).first()


def _link(folder: MailboxFolder, uidvalidity: int, uid: int, activity_id: int, context: _Context) -> None:
    try:
        with transaction.atomic():
            MailboxMessage.objects.create(folder=folder, uidvalidity=uidvalidity, uid=uid, activity_id=activity_id)
    except IntegrityError:
        return
    context.report.linked += 1


def _log(context: _Context, folder: MailboxFolder, uidvalidity: int, uid: int, parsed: ParsedMessage) -> None:
    mailbox, actor = context.mailbox, context.actor
    if MailboxMessage.objects.filter(folder=folder, uidvalidity=uidvalidity, uid=uid).exists():
        return
    existing = _activity_with(actor.org_id, parsed.message_id)
    if existing is not None:
        MailboxMessage.objects.create(folder=folder, uidvalidity=uidvalidity, uid=uid, activity_id=existing)
        context.report.linked += 1
        return
    outbound = parsed.from_address in context.own
    contact_ids = _matching_contacts(actor, [a for a in parsed.addresses() if a not in context.own])
    if not contact_ids and mailbox.create_unknown_contacts:
        contact_ids = _create_contacts(context, parsed, outbound)
    if not contact_ids:
        MailboxMessage.objects.create(folder=folder, uidvalidity=uidvalidity, uid=uid, skipped="no_contact")
        context.report.skipped += 1
        return
    activity = activity_services.activity_create(
        actor=actor,
        data={
            "kind": Kind.EMAIL,
            "direction": Direction.OUTBOUND if outbound else Direction.INBOUND,
            "subject": _cap(parsed.subject, activity_services.SUBJECT_MAX),
            "body": _cap(parsed.body, activity_services.BODY_MAX),
            "occurred_at": plausible_date(parsed.date),
            "participants": [{"contact_id": pk} for pk in contact_ids],
        },
        email=EmailHeaders(
            message_id=parsed.message_id,
            email_from=parsed.from_address,
            email_to=[address for _name, address in parsed.to],
            email_cc=[address for _name, address in parsed.cc],
            in_reply_to=parsed.in_reply_to,
            references=parsed.references,
        ),
        private=mailbox.user_id is not None and not mailbox.share_synced,
    )
    for part in parsed.attachments:
        attachment_store_bytes(
            actor=actor, activity=activity, filename=part.filename, content_type=part.content_type, data=part.data
        )
    MailboxMessage.objects.create(folder=folder, uidvalidity=uidvalidity, uid=uid, activity=activity)
    context.report.logged += 1


def _cap(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plausible_date(date: datetime | None) -> datetime:
    """The Date header when it is plausible (1900 to a day ahead), else now."""
    now = timezone.now()
    if date is None or date.year < 1900 or date > now + timedelta(days=1):
        return now
    return date


def _matching_contacts(actor: Principal, addresses: list[str]) -> list[int]:
    """Living contacts the actor may read with one of `addresses`, oldest first (at most the
    activity's participant limit)."""
    if not addresses:
        return []
    readable = scope(actor, Contact.objects.alive(), Entity.CONTACT)
    emails = ContactEmail.objects.filter(org_id=actor.org_id, email__in=addresses).values("contact_id")
    ids = readable.filter(pk__in=emails).order_by("pk").values_list("pk", flat=True)
    return list(ids[: activity_services.MAX_PARTICIPANTS])


def _name_parts(display: str) -> dict[str, str]:
    words = display.replace('"', "").split()
    if not words or "@" in display:
        return {}
    return {"first_name": words[0][:100], "last_name": " ".join(words[1:])[:100]}


def _create_contacts(context: _Context, parsed: ParsedMessage, outbound: bool) -> list[int]:
    """Contacts for the other side of an email nobody in the workspace knows: the sender of mail
    received, the To recipients of mail sent. Members' and the mailbox's own addresses never."""
    people = parsed.to if outbound else [(parsed.from_name, parsed.from_address)]
    ids: list[int] = []
    for display, address in people[:MAX_NEW_CONTACTS]:
        if address in context.own:
            continue
        email_ = [{"email": address, "kind": "work", "is_primary": True}]
        try:
            with transaction.atomic():
                contact = contact_services.contact_create(
                    actor=context.actor, data={**_name_parts(display), "emails": email_}
                )
        except ApplicationError:
            # A display name the contact rules refuse: the address alone makes the contact.
            contact = contact_services.contact_create(actor=context.actor, data={"emails": email_})
        ids.append(contact.pk)
    return ids
