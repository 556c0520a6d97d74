"""Email written in Rapport: compose (a new email, a reply, a meeting invitation) and send again.

`email_compose` validates everything first, then in one transaction logs the email activity (kind
email, outbound, `send_status` queued) with the headers it will be sent with, fixed now: From, To,
Cc, a fresh Message-ID in the sender's domain, and for a reply In-Reply-To / References (so the
thread is known before the email leaves). The worker sends it after the commit, exactly once (see
rapport.integrations.sending). Nothing is saved when anything is invalid.

Header injection is impossible by construction: the subject is refused when it holds a line break
or any other control character (422 on `subject`), addresses are parsed by email-validator, and
names are flattened to one line; `EmailHeaders` and Django's message refuse CR/LF once more.

Participants are the readable contacts whose email matches a recipient (and the contact the email
was written from); other addresses are recipients only.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from icalendar import Calendar

from rapport.accounts.roles import Entity, Mode
from rapport.activities.calendar import attendee_address, meeting_event
from rapport.activities.choices import Direction, Kind, SendStatus
from rapport.activities.email_headers import EmailHeaders, message_ids
from rapport.activities.models import Activity, Attachment
from rapport.activities.selectors import activity_get, visible_activities
from rapport.activities.services import BODY_MAX, MAX_PARTICIPANTS, SUBJECT_MAX, activity_create, activity_reload
from rapport.contacts.cleaning import FieldErrors
from rapport.contacts.models import Contact, ContactEmail
from rapport.core import normalize
from rapport.core.access import require_entity, scope
from rapport.core.errors import ApplicationError, Conflict
from rapport.core.events import record_event
from rapport.core.principal import Principal
from rapport.integrations.outbound import INVITE_CONTENT_TYPE, INVITE_FILENAME, new_message_id, sender_address
from rapport.integrations.smtp_services import SmtpNotConfigured, smtp_server_of

FIELDS = {
    "to",
    "cc",
    "subject",
    "body",
    "contact_id",
    "company_id",
    "reply_to_activity_id",
    "invite_for_activity_id",
}
MAX_RECIPIENTS = 50
REFERENCES_MAX = 20  # Message-IDs kept in References: the first and the latest (RFC 5322 §3.6.4)


# --- what a new email starts with ----------------------------------------------------------------


@dataclass
class ComposeDefaults:
    to: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""


def _address_of(value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(value)[1]


def reply_subject(subject: str) -> str:
    """ "Re: <subject>", once."""
    subject = subject.strip()
    return subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()


def reply_defaults(original: Activity) -> ComposeDefaults:
    """A reply goes to whoever wrote an incoming email, or to the recipients of an outgoing one."""
    if original.direction == Direction.INBOUND:
        to = [_address_of(original.email_from)] if original.email_from else []
    else:
        to = list(original.email_to)
    return ComposeDefaults(to=[a for a in to if a], subject=reply_subject(original.subject))


def invite_defaults(meeting: Activity) -> ComposeDefaults:
    """An invitation goes to the meeting's contacts (their primary emails) and says when and where."""
    to = []
    for link in meeting.contact_links.all():
        contact = link.contact
        if contact.deleted_at is None and contact.email and contact.email not in to:
            to.append(contact.email)
    start = timezone.localtime(meeting.occurred_at)
    when = f"{start:%Y-%m-%d %H:%M}"
    lines = [f"When: {when} ({timezone.get_current_timezone_name()})"]
    if meeting.duration:
        lines.append(f"Duration: {meeting.duration // 60} min")
    if meeting.location:
        lines.append(f"Where: {meeting.location}")
    body = "\n".join(lines) + ("\n\n" + meeting.body if meeting.body else "")
    return ComposeDefaults(
        to=to, subject=f"Invitation: {meeting.subject or 'Meeting'} ({when})"[:SUBJECT_MAX], body=body
    )


def contact_defaults(contact: Contact | None) -> ComposeDefaults:
    return ComposeDefaults(to=[contact.email] if contact is not None and contact.email else [])


# --- validation ------------------------------------------------------------------------------------


def _one_line_ok(value: str) -> bool:
    return not any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in value)


def _addresses(value: Any, name: str, errors: FieldErrors) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.add(name, "Give the addresses as a list of text.")
        return []
    out: list[str] = []
    for item in value:
        if not item.strip():
            continue
        try:
            address = normalize.email(item, field=name)
        except ApplicationError as exc:
            errors.add(name, f"{item.strip()[:80]}: {next(iter(exc.fields.values()), exc.message)}")
            continue
        if address not in out:
            out.append(address)
    return out


def _subject(value: Any, errors: FieldErrors) -> str:
    if not isinstance(value, str):
        errors.add("subject", "Enter a subject.")
        return ""
    if not _one_line_ok(value):
        errors.add("subject", "The subject must be one line: line breaks and control characters are not allowed.")
        return ""
    value = value.strip()
    if not value:
        errors.add("subject", "Enter a subject.")
    elif len(value) > SUBJECT_MAX:
        errors.add("subject", f"At most {SUBJECT_MAX} characters.")
    return value


def _body(value: Any, errors: FieldErrors) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        errors.add("body", "Enter text (without NUL characters).")
        return ""
    if len(value) > BODY_MAX:
        errors.add("body", f"At most {BODY_MAX} characters.")
    return value.strip("\n")


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _contact(actor: Principal, value: Any, errors: FieldErrors) -> Contact | None:
    if value is None:
        return None
    pk = _id(value)
    contact = scope(actor, Contact.objects.alive(), Entity.CONTACT).filter(pk=pk).first() if pk else None
    if contact is None:
        errors.add("contact_id", f"No contact with the id {value}.")
    return contact


def _related(actor: Principal, value: Any, kind: str, name: str, errors: FieldErrors) -> Activity | None:
    if value is None:
        return None
    pk = _id(value)
    found = (
        visible_activities(actor, Activity.objects.alive())
        .filter(pk=pk, kind=kind)
        .prefetch_related("contact_links__contact")
        .first()
        if pk
        else None
    )
    if found is None or (kind == Kind.EMAIL and not found.message_id):
        errors.add(name, f"No {'email' if kind == Kind.EMAIL else 'meeting'} with the id {value}.")
        return None
    return found


def _participant_ids(actor: Principal, addresses: Sequence[str], contact: Contact | None) -> list[int]:
    readable = scope(actor, Contact.objects.alive(), Entity.CONTACT).values("pk")
    ids = [contact.pk] if contact is not None else []
    matched = (
        ContactEmail.objects.filter(org_id=actor.org_id, email__in=list(addresses), contact_id__in=readable)
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
    )
    for pk in matched:
        if pk not in ids:
            ids.append(pk)
    return ids[:MAX_PARTICIPANTS]


def _references(original: Activity) -> str:
    ids = [i for i in message_ids(original.references) if i != original.message_id] + [original.message_id]
    if len(ids) > REFERENCES_MAX:
        ids = ids[:1] + ids[-(REFERENCES_MAX - 1) :]
    return " ".join(ids)


# --- the invitation --------------------------------------------------------------------------------


def invite_ics(meeting: Activity, *, organizer: Any, attendees: Sequence[str]) -> bytes:
    """The iCalendar REQUEST for a meeting: the feed's UID (calendars see one event), the meeting's
    version as SEQUENCE (a later invitation updates the event), the recipients as attendees."""
    cal = Calendar()
    cal.add("prodid", "-//Rapport//Rapport CRM//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = meeting_event(meeting, stamp=timezone.now())
    event.add("sequence", int(meeting.version))
    event.add("status", "CONFIRMED")
    event.add("organizer", attendee_address(organizer.email, organizer.display_name))
    for address in attendees:
        attendee = attendee_address(address)
        attendee.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"})
        event.add("attendee", attendee)
    cal.add_component(event)
    return bytes(cal.to_ical())


def _store_invite(actor: Principal, email: Activity, data: bytes) -> Attachment:
    attachment = Attachment(
        org_id=actor.org_id,
        activity=email,
        filename=INVITE_FILENAME,
        content_type=INVITE_CONTENT_TYPE,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_by_id=actor.user_id,
    )
    attachment.file.save(INVITE_FILENAME, ContentFile(data), save=True)
    return attachment


# --- the services ----------------------------------------------------------------------------------


def _enqueue(activity_id: int) -> None:
    from rapport.integrations.tasks import send_email

    transaction.on_commit(lambda: send_email(activity_id))


@transaction.atomic
def email_compose(*, actor: Principal, data: Mapping[str, Any], files: Sequence[Any] = ()) -> Activity:
    """Write an email and queue it for sending (see the module). Keys of `data`: to, cc (lists of
    addresses), subject, body (Markdown), contact_id, company_id, reply_to_activity_id,
    invite_for_activity_id. A reply or an invitation fills in what is not given (recipients,
    subject). `files` are uploads attached to it (checked like any attachment). Refuses with 409
    `smtp_not_configured` when the workspace has no SMTP server; records `email.queued`."""
    require_entity(actor, Entity.ACTIVITY, Mode.WRITE)
    server = smtp_server_of(actor.org_id)
    if server is None:
        raise SmtpNotConfigured()
    errors = FieldErrors()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "Unknown field.")
    original = _related(actor, data.get("reply_to_activity_id"), Kind.EMAIL, "reply_to_activity_id", errors)
    meeting = _related(actor, data.get("invite_for_activity_id"), Kind.MEETING, "invite_for_activity_id", errors)
    if original is not None and meeting is not None:
        errors.add("invite_for_activity_id", "An email is either a reply or an invitation, not both.")
    defaults = reply_defaults(original) if original else invite_defaults(meeting) if meeting else ComposeDefaults()
    to = _addresses(data.get("to") if data.get("to") else defaults.to, "to", errors)
    cc = _addresses(data.get("cc"), "cc", errors)
    subject = _subject(data["subject"] if data.get("subject") is not None else defaults.subject, errors)
    body = _body(data["body"] if data.get("body") is not None else defaults.body, errors)
    contact = _contact(actor, data.get("contact_id"), errors)
    if not to and "to" not in errors.fields:
        errors.add("to", "Give at least one recipient.")
    if len(to) + len(cc) > MAX_RECIPIENTS:
        errors.add("to", f"At most {MAX_RECIPIENTS} recipients (to and cc together).")
    errors.raise_if_any()

    email_from = sender_address(server, actor.user)
    headers = EmailHeaders(
        message_id=new_message_id(email_from),
        email_from=email_from,
        email_to=to,
        email_cc=cc,
        in_reply_to=original.message_id if original else "",
        references=_references(original) if original else "",
    )
    activity_data: dict[str, Any] = {
        "kind": Kind.EMAIL.value,
        "direction": Direction.OUTBOUND.value,
        "subject": subject,
        "body": body,
        "participants": [{"contact_id": pk} for pk in _participant_ids(actor, to + cc, contact)],
    }
    if data.get("company_id") is not None:
        activity_data["company_id"] = data["company_id"]
    elif contact is not None and contact.company_id and contact.live_company is not None:
        activity_data["company_id"] = contact.company_id
    elif original is not None and original.company_id:
        activity_data["company_id"] = original.company_id
    activity = activity_create(actor=actor, data=activity_data, email=headers, send_status=SendStatus.QUEUED)
    if files:
        from rapport.activities.attachments import attachment_add

        for upload in files:
            attachment_add(actor=actor, activity=activity, file=upload)
    if meeting is not None:
        _store_invite(actor, activity, invite_ics(meeting, organizer=actor.user, attendees=to + cc))
    record_event(
        actor,
        "email.queued",
        activity,
        {
            "to": [None, to],
            "cc": [None, cc],
            "message_id": [None, headers.message_id],
            "reply_to_activity_id": [None, original.pk if original else None],
            "invite_for_activity_id": [None, meeting.pk if meeting else None],
        },
    )
    _enqueue(activity.pk)
    return activity_reload(activity)


@transaction.atomic
def email_resend(*, actor: Principal, activity: Activity) -> Activity:
    """Queue a failed email again ("Resend"), as it is now (a failed email's subject and message may
    have been corrected); the actor must be able to change it. Only a failed email can be: one queued
    or being sent is on its way and one sent is done (409 for all of them). An attempt that died
    mid-send is failed by the recovery task with a warning that it may have gone out: resending it
    is the user's decision. Records `email.requeued`."""
    activity = activity_get(actor=actor, activity_id=activity.pk, mode=Mode.WRITE)
    if activity.kind != Kind.EMAIL or not activity.send_status:
        raise Conflict("not_an_outgoing_email", "Only an email written in Rapport can be sent again.")
    if smtp_server_of(actor.org_id) is None:
        raise SmtpNotConfigured()
    updated = Activity.objects.filter(pk=activity.pk, send_status=SendStatus.FAILED).update(
        send_status=SendStatus.QUEUED, send_error="", send_attempt_at=timezone.now(), version=F("version") + 1
    )
    if not updated:
        raise Conflict("not_failed", "Only an email that failed to send can be sent again.")
    record_event(actor, "email.requeued", activity, {"send_status": [SendStatus.FAILED, SendStatus.QUEUED]})
    _enqueue(activity.pk)
    return activity_reload(activity)
