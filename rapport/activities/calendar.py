"""Calendars: a member's private iCalendar feed of their meetings, and the import of .ics files.

A feed is addressed by a secret in its URL; only the SHA-256 of the secret is stored (the helper
of the API tokens), so a lost database dump does not expose the feeds. A revoked or unknown secret
answers 404. The feed holds the meetings of one workspace that the member owns or attends, from
`FEED_PAST` back onward, at most `FEED_MAX` of them, in three queries whatever their number.

An import turns each VEVENT of a file into a meeting through `activity_create` (attendees matched
to the workspace's contacts by email; unknown ones are reported, not refused). Events are keyed by
their UID, so importing the same file twice creates each meeting once. An import is all or
nothing: a file that is not a calendar, or an event that is not valid, writes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress

from rapport.accounts.models import Membership
from rapport.accounts.roles import Entity, Mode
from rapport.accounts.services import hash_secret
from rapport.activities.choices import Kind
from rapport.activities.models import Activity, ActivityContact, CalendarFeed
from rapport.activities.services import (
    BODY_MAX,
    DURATION_MAX,
    LOCATION_MAX,
    MAX_PARTICIPANTS,
    SUBJECT_MAX,
    activity_create,
)
from rapport.contacts.models import Contact, ContactEmail
from rapport.core import normalize
from rapport.core.access import require_entity, scope
from rapport.core.errors import ApplicationError, ValidationFailed
from rapport.core.principal import Principal

FEED_PAST = timedelta(days=90)
FEED_MAX = 2000
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_EVENTS = 500
UID_MAX = 255


# --- the feed ---------------------------------------------------------------------------------


def calendar_feed_active(*, actor: Principal) -> CalendarFeed | None:
    """The actor's feed of this workspace that is not revoked, if any."""
    return (
        CalendarFeed.objects.filter(org_id=actor.org_id, user_id=actor.user_id, revoked_at__isnull=True)
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def calendar_feed_create(*, actor: Principal) -> tuple[CalendarFeed, str]:
    """A new feed for the actor in this workspace and its secret (shown once, never stored);
    revokes the actor's previous feed of the workspace."""
    calendar_feed_revoke(actor=actor)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(org_id=actor.org_id, user_id=actor.user_id, token_hash=hash_secret(secret))
    return feed, secret


@transaction.atomic
def calendar_feed_revoke(*, actor: Principal) -> int:
    """Revoke the actor's feeds of this workspace; the number revoked."""
    return CalendarFeed.objects.filter(org_id=actor.org_id, user_id=actor.user_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def calendar_feed_lookup(*, secret: str) -> CalendarFeed | None:
    """The live feed of a secret (its member still active in the workspace), or None."""
    if not secret or len(secret) > 200:
        return None
    wanted = hash_secret(secret)
    feed = CalendarFeed.objects.select_related("org", "user").filter(token_hash=wanted, revoked_at__isnull=True).first()
    if feed is None or not hmac.compare_digest(feed.token_hash, wanted):
        return None
    if (
        not feed.user.is_active
        or not Membership.objects.filter(org_id=feed.org_id, user_id=feed.user_id, is_active=True).exists()
    ):
        return None
    return feed


def calendar_feed_meetings(*, feed: CalendarFeed) -> list[Activity]:
    """The live meetings of the feed's workspace its member owns or attends (shared ones only when
    attending), oldest first."""
    since = timezone.now() - FEED_PAST
    ids = (
        Activity.objects.alive()
        .filter(org_id=feed.org_id, kind=Kind.MEETING, occurred_at__gte=since)
        # A private meeting is in its owner's feed only, not in its attendees' (see selectors.visible_q).
        .filter(Q(owner_id=feed.user_id) | Q(users=feed.user_id, private=False))
        .values("pk")
    )
    links = ActivityContact.objects.select_related("contact").order_by("id")
    return list(
        Activity.objects.filter(pk__in=ids)
        .select_related("owner")
        .prefetch_related(Prefetch("contact_links", queryset=links), "users")
        .order_by("occurred_at", "id")[:FEED_MAX]
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def attendee_address(email: str, name: str = "") -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    return address


def meeting_event(meeting: Activity, *, stamp: datetime) -> Event:
    """The VEVENT of a meeting, as the feed and an email invitation both send it: one stable UID (a
    calendar sees one event), times in UTC; organizer and attendees are the caller's to add."""
    event = Event()
    event.add("uid", f"activity-{meeting.pk}@org-{meeting.org_id}.rapport")
    event.add("dtstamp", _utc(stamp))
    start = _utc(meeting.occurred_at)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(seconds=meeting.duration or 0))
    event.add("summary", meeting.subject or "Meeting")
    if meeting.location:
        event.add("location", meeting.location)
    if meeting.body:
        event.add("description", meeting.body)
    return event


def calendar_feed_ics(*, feed: CalendarFeed) -> bytes:
    """The iCalendar text of a feed: one VEVENT per meeting, times in UTC, stable UIDs."""
    cal = Calendar()
    cal.add("prodid", "-//Rapport//Rapport CRM//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Rapport — {feed.org.name}")
    stamp = timezone.now()
    for meeting in calendar_feed_meetings(feed=feed):
        event = meeting_event(meeting, stamp=stamp)
        if meeting.owner is not None and meeting.owner.email:
            event.add("organizer", attendee_address(meeting.owner.email, meeting.owner.display_name))
        for user in meeting.users.all():
            if user.email:
                event.add("attendee", attendee_address(user.email, user.display_name))
        for link in meeting.contact_links.all():
            contact = link.contact
            if contact.deleted_at is None and contact.email:
                event.add("attendee", attendee_address(contact.email, str(contact)))
        cal.add_component(event)
    return cal.to_ical()


# --- the import -------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: list[Activity] = field(default_factory=list)
    skipped_uids: list[str] = field(default_factory=list)
    unknown_attendees: list[str] = field(default_factory=list)


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, time.min))
    return None


def _text(component: Event, name: str, limit: int) -> str:
    value = component.get(name)
    if value is None:
        return ""
    return str(value).replace("\x00", "").strip()[:limit]


def _emails(component: Event) -> list[str]:
    raw = component.get("attendee")
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    out = []
    for value in values:
        text = str(value).strip()
        if text.lower().startswith("mailto:"):
            text = text[7:]
        if text and text not in out:
            out.append(text)
    return out


def _parse(content: bytes) -> list[Event]:
    if len(content) > IMPORT_MAX_BYTES:
        raise ValidationFailed(fields={"file": f"The file is larger than {IMPORT_MAX_BYTES // 1024} KB."})
    try:
        cal = Calendar.from_ical(content.decode("utf-8-sig"))
        events = [c for c in cal.walk("VEVENT") if isinstance(c, Event)]
    except Exception as exc:  # icalendar raises many kinds of error on garbled input
        raise ValidationFailed(fields={"file": "This is not a valid iCalendar (.ics) file."}) from exc
    if not events:
        raise ValidationFailed(fields={"file": "The file holds no events."})
    if len(events) > IMPORT_MAX_EVENTS:
        raise ValidationFailed(fields={"file": f"At most {IMPORT_MAX_EVENTS} events per file."})
    return events


def calendar_import(*, actor: Principal, content: bytes) -> ImportResult:
    """Import the events of an .ics file as meetings the actor owns; all or nothing.

    Events whose UID was imported into the workspace before are skipped; attendees are linked to
    the readable contacts with their email, the others are listed in `unknown_attendees`. A
    concurrent import of the same events is refused (409) rather than creating them twice."""
    try:
        return _import(actor, content)
    except IntegrityError as exc:
        raise ApplicationError(
            "conflict", "The same events are being imported at this moment; try again.", status=409
        ) from exc


@transaction.atomic
def _import(actor: Principal, content: bytes) -> ImportResult:
    require_entity(actor, Entity.ACTIVITY, Mode.WRITE)
    events = _parse(content)
    errors: dict[str, str] = {}
    parsed: list[tuple[str, dict[str, Any], list[str]]] = []
    for index, event in enumerate(events):
        name = f"events.{index}"
        uid = _text(event, "uid", 10_000)
        start = _when(event.decoded("dtstart", None)) if "dtstart" in event else None
        if not uid or len(uid) > UID_MAX:
            errors[name] = f"An event needs a UID of at most {UID_MAX} characters."
            continue
        if start is None:
            errors[name] = f"The event {uid} has no valid start (DTSTART)."
            continue
        end = _when(event.decoded("dtend", None)) if "dtend" in event else None
        seconds = 0
        if end is not None:
            seconds = int((end - start).total_seconds())
        elif "duration" in event:
            length = event.decoded("duration", None)
            seconds = int(length.total_seconds()) if isinstance(length, timedelta) else 0
        data = {
            "kind": Kind.MEETING.value,
            "subject": _text(event, "summary", SUBJECT_MAX),
            "body": _text(event, "description", BODY_MAX),
            "location": _text(event, "location", LOCATION_MAX),
            "occurred_at": start,
            "duration": max(0, min(seconds, DURATION_MAX)),
        }
        parsed.append((uid, data, _emails(event)))
    if errors:
        raise ValidationFailed(fields=errors)

    result = ImportResult()
    existing = set(
        Activity.objects.filter(org_id=actor.org_id, external_uid__in=[uid for uid, _, _ in parsed]).values_list(
            "external_uid", flat=True
        )
    )
    addresses: dict[str, str] = {}
    for _, _, emails in parsed:
        for email in emails:
            try:
                addresses[email] = normalize.email(email, field="attendee")
            except ApplicationError:
                continue
    readable = scope(actor, Contact.objects.alive(), Entity.CONTACT).values("pk")
    by_email: dict[str, list[int]] = {}
    for email, contact_id in ContactEmail.objects.filter(
        org_id=actor.org_id, email__in=set(addresses.values()), contact_id__in=readable
    ).values_list("email", "contact_id"):
        by_email.setdefault(email, []).append(contact_id)
    seen: set[str] = set()
    for index, (uid, data, emails) in enumerate(parsed):
        if uid in existing or uid in seen:
            result.skipped_uids.append(uid)
            continue
        seen.add(uid)
        contact_ids: list[int] = []
        for email in emails:
            matched = by_email.get(addresses.get(email, ""), [])
            if not matched and email not in result.unknown_attendees:
                result.unknown_attendees.append(email)
            contact_ids.extend(pk for pk in matched if pk not in contact_ids)
        data["participants"] = [{"contact_id": pk} for pk in contact_ids[:MAX_PARTICIPANTS]]
        try:
            result.created.append(activity_create(actor=actor, data=data, external_uid=uid))
        except ValidationFailed as exc:
            summary = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
            raise ValidationFailed(fields={f"events.{index}": f"The event {uid}: {summary}"}) from exc
    return result
