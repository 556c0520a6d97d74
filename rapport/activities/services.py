"""Writes of activities. Every path (the API, the contact and company pages) goes through here.

Input is a mapping of field → value; every value is validated, and all field errors of one
activity are reported together (ValidationFailed with `fields`). Nothing is written unless the
whole activity is valid, and every write records its event in the same transaction.

Participants are given as a list of references, each naming one contact by `contact_id`, `email`
or `phone` (matched to the workspace's contacts through their emails and phones; a phone is
normalised in the workspace's default region). A reference matches only living contacts the actor
may read; one that matches none is refused by name. An email or phone shared by several contacts
links each of them: the activity then shows on each of their timelines.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.accounts.models import Membership, Organization
from rapport.accounts.roles import Entity, Level, Mode
from rapport.activities.choices import Direction, Kind, Outcome, SendStatus
from rapport.activities.email_headers import EmailHeaders
from rapport.activities.models import Activity, ActivityContact
from rapport.activities.notifications import notify_mentions
from rapport.activities.search import reindex
from rapport.contacts.cleaning import FieldErrors, default_region
from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone
from rapport.core import normalize
from rapport.core.access import can_write, require_entity, scope
from rapport.core.errors import ApplicationError, Conflict, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal

FIELDS = {
    "kind",
    "direction",
    "subject",
    "body",
    "occurred_at",
    "duration",
    "outcome",
    "location",
    "company_id",
    "owner_id",
    "participants",
    "user_ids",
    "private",
}
SUBJECT_MAX = 200
LOCATION_MAX = 300
BODY_MAX = 20000
DURATION_MAX = 24 * 3600
MAX_PARTICIPANTS = 50
MAX_USERS = 50
FUTURE_LIMIT = timedelta(days=5 * 366)


def _choice(value: Any, allowed: type[Kind] | type[Direction] | type[Outcome], name: str, errors: FieldErrors) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value not in allowed.values:
        errors.add(name, f"Choose one of: {', '.join(allowed.values)}.")
        return ""
    return value


def _text(value: Any, name: str, max_length: int, errors: FieldErrors) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(name, "Enter text.")
        return ""
    if "\x00" in value:
        errors.add(name, "Text may not contain NUL characters.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(name, f"At most {max_length} characters.")
    return value


def clean_when(
    value: Any, name: str, errors: FieldErrors, *, limit: timedelta = FUTURE_LIMIT, words: str = "five years"
) -> datetime | None:
    """An aware date-time from an ISO 8601 string (or a datetime) between 1900 and now + `limit`."""
    parsed: datetime | None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is None:
        errors.add(name, "Enter a date and time (ISO 8601).")
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if parsed.year < 1900 or parsed > timezone.now() + limit:
        errors.add(name, f"Enter a date between 1900 and {words} from now.")
        return None
    return parsed


def _duration(value: Any, errors: FieldErrors) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add("duration", "Enter a whole number of seconds.")
        return None
    if not 0 <= value <= DURATION_MAX:
        errors.add("duration", f"Enter between 0 and {DURATION_MAX} seconds (24 hours).")
        return None
    return value


def _company(actor: Principal, value: Any, errors: FieldErrors) -> Company | None:
    if value is None:
        return None
    company = (
        scope(actor, Company.objects.alive(), Entity.COMPANY).filter(pk=value).first()
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
        else None
    )
    if company is None:
        errors.add("company_id", f"No company with the id {value}.")
    return company


def _member_ids(actor: Principal, ids: list[int]) -> set[int]:
    return set(
        Membership.objects.filter(org_id=actor.org_id, is_active=True, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    )


def _owner(actor: Principal, value: Any, errors: FieldErrors) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        errors.add("owner_id", "Give a user id.")
        return None
    if not _member_ids(actor, [value]):
        errors.add("owner_id", f"No member with the id {value}.")
        return None
    if value != actor.user_id and actor.level(Entity.ACTIVITY, Mode.WRITE) is Level.OWN:
        errors.add("owner_id", "Your role lets you log activities only as their owner.")
        return None
    return value


def _users(actor: Principal, value: Any, errors: FieldErrors) -> list[int] | None:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_USERS:
        errors.add("user_ids", f"Give at most {MAX_USERS} user ids as a list.")
        return None
    ids = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**63:
            errors.add("user_ids", "Give user ids.")
            return None
        if item not in ids:
            ids.append(item)
    known = _member_ids(actor, ids)
    missing = [str(pk) for pk in ids if pk not in known]
    if missing:
        errors.add("user_ids", f"No member with the id {', '.join(missing)}.")
        return None
    return ids


def _participant(actor: Principal, readable: Any, index: int, ref: Any, errors: FieldErrors) -> list[int]:
    """The ids of the contacts one reference names; [] with an error naming it when none."""
    name = f"participants.{index}"
    if not isinstance(ref, Mapping):
        errors.add(name, "Give a contact_id, an email or a phone.")
        return []
    given = {key: ref[key] for key in ("contact_id", "email", "phone") if ref.get(key) not in (None, "")}
    unknown = set(ref) - {"contact_id", "email", "phone"}
    if len(given) != 1 or unknown:
        errors.add(name, "Give exactly one of contact_id, email or phone.")
        return []
    ((key, value),) = given.items()
    try:
        if key == "contact_id":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
                raise ValidationFailed("invalid", "contact_id must be a contact's id.")
            ids = list(readable.filter(pk=value).values_list("pk", flat=True))
            label = f"the id {value}"
        elif key == "email":
            if not isinstance(value, str):
                raise ValidationFailed("invalid", "email must be text.")
            address = normalize.email(value, field=name)
            ids = list(
                readable.filter(
                    pk__in=ContactEmail.objects.filter(org_id=actor.org_id, email=address).values("contact_id")
                ).values_list("pk", flat=True)
            )
            label = f"the email {address}"
        else:
            if not isinstance(value, str):
                raise ValidationFailed("invalid", "phone must be text.")
            number, _national = normalize.phone(value, region=default_region(actor), field=name)
            ids = list(
                readable.filter(
                    pk__in=ContactPhone.objects.filter(org_id=actor.org_id, number=number).values("contact_id")
                ).values_list("pk", flat=True)
            )
            label = f"the phone {number}"
    except ApplicationError as exc:
        errors.add(name, next(iter(exc.fields.values()), exc.message))
        return []
    if not ids:
        errors.add(name, f"No contact with {label} in this workspace.")
    return ids


def _participants(actor: Principal, value: Any, errors: FieldErrors) -> list[int] | None:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_PARTICIPANTS:
        errors.add("participants", f"Give at most {MAX_PARTICIPANTS} participants as a list.")
        return None
    readable = scope(actor, Contact.objects.alive(), Entity.CONTACT)
    ids: list[int] = []
    for index, ref in enumerate(value):
        for pk in _participant(actor, readable, index, ref, errors):
            if pk not in ids:
                ids.append(pk)
    return ids


def _clean(
    actor: Principal, data: Mapping[str, Any], instance: Activity | None
) -> tuple[dict[str, Any], list[int] | None, list[int] | None]:
    """(column values, contact ids or None, user ids or None) of valid input.

    Raises ValidationFailed naming every invalid field at once.
    """
    errors = FieldErrors()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "Unknown field.")
    values: dict[str, Any] = {}
    if "kind" in data or instance is None:
        if data.get("kind") in (None, ""):
            errors.add("kind", f"Choose one of: {', '.join(Kind.values)}.")
        else:
            values["kind"] = _choice(data["kind"], Kind, "kind", errors)
    if "direction" in data:
        values["direction"] = _choice(data["direction"], Direction, "direction", errors)
    if "outcome" in data:
        values["outcome"] = _choice(data["outcome"], Outcome, "outcome", errors)
    if "subject" in data:
        values["subject"] = _text(data["subject"], "subject", SUBJECT_MAX, errors)
    if "body" in data:
        values["body"] = _text(data["body"], "body", BODY_MAX, errors)
    if "location" in data:
        values["location"] = _text(data["location"], "location", LOCATION_MAX, errors)
    if data.get("occurred_at") is not None:
        values["occurred_at"] = clean_when(data["occurred_at"], "occurred_at", errors)
    elif "occurred_at" in data and instance is not None:
        errors.add("occurred_at", "Enter a date and time (ISO 8601).")
    if "duration" in data:
        values["duration"] = _duration(data["duration"], errors)
    if "company_id" in data:
        values["company"] = _company(actor, data["company_id"], errors)
    if data.get("owner_id") is not None:
        values["owner_id"] = _owner(actor, data["owner_id"], errors)
    elif "owner_id" in data:
        errors.add("owner_id", "An activity needs an owner.")
    if "private" in data:
        if isinstance(data["private"], bool):
            values["private"] = data["private"]
        else:
            errors.add("private", "Give true or false.")
    contact_ids = _participants(actor, data["participants"], errors) if "participants" in data else None
    user_ids = _users(actor, data["user_ids"], errors) if "user_ids" in data else None

    # Rules across fields, on the activity as it would be after the change.
    def current(name: str, default: Any = "") -> Any:
        return values[name] if name in values else getattr(instance, name, default)

    kind, outcome = current("kind"), current("outcome")
    if outcome and kind and kind != Kind.CALL and "outcome" not in errors.fields and "kind" not in errors.fields:
        errors.add("outcome", "Only calls have an outcome.")
    if kind == Kind.NOTE and not current("body") and "body" not in errors.fields:
        errors.add("body", "A note needs some text.")
    # Who sees an activity is its owner's choice alone (not even an admin's): making it private or
    # sharing it needs the actor to be its owner, before and after the change.
    if values.get("private", getattr(instance, "private", False)) != getattr(instance, "private", False):
        owners = {instance.owner_id if instance is not None else actor.user_id, current("owner_id", actor.user_id)}
        if owners != {actor.user_id}:
            errors.add("private", "Only the activity's owner can make it private or share it.")
    errors.raise_if_any()
    return values, contact_ids, user_ids


def _snapshot(activity: Activity) -> dict[str, Any]:
    values = {
        name: getattr(activity, name)
        for name in ("kind", "direction", "subject", "body", "duration", "outcome", "location", "private")
    }
    values.update(
        occurred_at=activity.occurred_at.isoformat() if activity.occurred_at else None,
        company_id=activity.company_id,
        owner_id=activity.owner_id,
        team_id=activity.team_id,
        contact_ids=sorted(link.contact_id for link in activity.contact_links.all()),
        user_ids=sorted(user.pk for user in activity.users.all()),
    )
    return values


# What a private activity says stays out of its events (the audit trail, webhooks): only which
# of these fields changed is recorded, not their values.
PRIVATE_CONTENT = ("subject", "body", "location")
REDACTED = "(private)"


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes = diff(before, after)
    if before.get("private") or after.get("private"):
        for name in PRIVATE_CONTENT:
            if name in changes:
                changes[name] = [REDACTED if value else value for value in changes[name]]
    return changes


def _set_contacts(activity: Activity, contact_ids: list[int]) -> None:
    ActivityContact.objects.filter(activity=activity).delete()
    ActivityContact.objects.bulk_create(
        [
            ActivityContact(org_id=activity.org_id, activity=activity, contact_id=pk, occurred_at=activity.occurred_at)
            for pk in contact_ids
        ]
    )


# The kinds that count as being in touch with a contact (either way round) for
# `Contact.last_contacted_at`; a note (or "other") is written about a contact, not with them.
CONTACT_KINDS = (Kind.CALL, Kind.MEETING, Kind.EMAIL, Kind.SMS, Kind.CHAT)


def refresh_last_contacted(org_id: int, contact_ids: set[int] | list[int], *, now: datetime | None = None) -> None:
    """Set `last_contacted_at` of the given contacts to the latest `occurred_at` of their live
    activities of a CONTACT_KINDS kind (None when there is none): one UPDATE with a subquery for
    all of them. The field is derived, so neither the contact's version nor updated_at changes."""
    if not contact_ids:
        return
    Contact.objects.filter(org_id=org_id, pk__in=list(contact_ids)).update(
        last_contacted_at=last_contacted_subquery(now)
    )


def last_contacted_subquery(now: datetime | None = None) -> Subquery:
    """The latest past `occurred_at` of the outer contact's live CONTACT_KINDS activities (a walk of
    the participants' timeline index), for an UPDATE of contacts. A meeting planned for later counts
    once it has happened (`refresh_last_contacted_since` catches up). Private activities count too:
    the contact only shows the derived date, never the activity, its owner or what it says."""
    latest = (
        ActivityContact.objects.filter(
            contact_id=OuterRef("pk"),
            occurred_at__lte=now or Now(),
            activity__deleted_at__isnull=True,
            activity__kind__in=CONTACT_KINDS,
        )
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    return Subquery(latest)


def refresh_last_contacted_since(since: datetime, *, now: datetime | None = None) -> int:
    """Catch up `last_contacted_at` for the contacts of activities that were in the future when
    they were logged and have happened between `since` and now (run by the worker every hour,
    workspace by workspace on the activities' time index). The number of contacts refreshed."""
    now = now or timezone.now()
    done = 0
    for org_id in Organization.objects.values_list("pk", flat=True).iterator():
        happened = Activity.objects.filter(
            org_id=org_id, deleted_at__isnull=True, occurred_at__gt=since, occurred_at__lte=now, kind__in=CONTACT_KINDS
        )
        ids = set(ActivityContact.objects.filter(activity__in=happened).values_list("contact_id", flat=True))
        refresh_last_contacted(org_id, ids, now=now)
        done += len(ids)
    return done


def _contact_ids(activity: Activity) -> set[int]:
    return set(ActivityContact.objects.filter(activity=activity).values_list("contact_id", flat=True))


def activity_reload(activity: Activity) -> Activity:
    """The activity with what the API and the pages show: owner, team, company, contacts, users."""
    return (
        Activity.objects.select_related("owner", "team", "company")
        .prefetch_related("contact_links__contact", "users")
        .get(pk=activity.pk)
    )


# An email written in Rapport records what was sent. Its kind, direction and participants (the
# contacts among its recipients, which are fixed when it is written) never change; its subject and
# message are frozen once it is queued, and stay editable only while it has failed (to correct it
# before resending). Everything else (when, company, owner, members, privacy) is about filing it in
# the CRM and stays editable. A value equal to the stored one is no change (an edit form sends
# every field back).
EMAIL_FIXED = ("kind", "direction")
EMAIL_CONTENT = ("subject", "body")
CONTENT_FROZEN = (SendStatus.QUEUED, SendStatus.SENDING, SendStatus.SENT)
_FROZEN_BECAUSE: dict[str, str] = {
    SendStatus.QUEUED: "This email is queued for sending",
    SendStatus.SENDING: "This email is being sent",
    SendStatus.SENT: "This email was sent",
}


def _same(old: Any, new: Any) -> bool:
    """Equal values; texts compared as a form sends them back (CRLF line ends, trimmed)."""
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new.replace("\r\n", "\n").strip()
    return bool(old == new)


def email_frozen_fields(activity: Activity) -> tuple[str, ...]:
    """The fields of `activity` that an update may not change (see EMAIL_FIXED): none for an
    activity that is not an email written in Rapport."""
    if not activity.send_status:
        return ()
    return EMAIL_FIXED + ("participants",) + (EMAIL_CONTENT if activity.send_status in CONTENT_FROZEN else ())


def _email_lock(activity: Activity, values: dict[str, Any], contact_ids: list[int] | None) -> bool:
    """Refuse (409 `email_locked`, naming the fields) a change of what an email written in Rapport
    sent (see EMAIL_FIXED above); drop the unchanged values of those fields from `values`. Whether
    the update touches the frozen content (so it must still find the email unfrozen when it writes)."""
    if not activity.send_status:
        return False
    frozen = activity.send_status in CONTENT_FROZEN
    refused: dict[str, str] = {}
    for name in EMAIL_FIXED + EMAIL_CONTENT:
        if name not in values:
            continue
        if _same(getattr(activity, name), values[name]):
            del values[name]
        elif name in EMAIL_FIXED:
            refused[name] = "An email written in Rapport stays an outgoing email: this cannot be changed."
        elif frozen:
            refused[name] = "Cannot be changed once the email is queued or sent."
    if contact_ids is not None and set(contact_ids) != {link.contact_id for link in activity.contact_links.all()}:
        refused["participants"] = "The contacts among the email's recipients: they cannot be changed."
    if refused:
        message = (
            f"{_FROZEN_BECAUSE[activity.send_status]}: its recipients, subject and message cannot be changed. "
            "Write a new email instead."
            if frozen
            else "An email written in Rapport keeps its kind, direction and participants (its recipients)."
        )
        raise Conflict("email_locked", message, fields=refused)
    return any(name in values for name in EMAIL_CONTENT)


def _require_write(actor: Principal, activity: Activity) -> None:
    if activity.org_id != actor.org_id or not can_write(actor, activity, Entity.ACTIVITY):
        raise PermissionDenied()
    if activity.private and activity.owner_id != actor.user_id:
        raise PermissionDenied()


@transaction.atomic
def activity_create(
    *,
    actor: Principal,
    data: Mapping[str, Any],
    external_uid: str = "",
    email: EmailHeaders | None = None,
    private: bool = False,
    send_status: str = "",
) -> Activity:
    """Log an activity; the actor owns it unless `owner_id` says otherwise, and it happened now
    unless `occurred_at` says when. `external_uid` names the calendar event it comes from (unique
    in the workspace). `email` carries the headers of an email activity (its Message-ID is unique
    in the workspace), `private` hides it from everyone but its owner, and `send_status` queues an
    email written in Rapport for sending. Records `activity.created`."""
    require_entity(actor, Entity.ACTIVITY, Mode.WRITE)
    values, contact_ids, user_ids = _clean(actor, data, None)
    if email is not None:
        values.update(email.columns())
    values.update(private=values.get("private", False) or private, send_status=send_status)
    if send_status:
        values["send_attempt_at"] = timezone.now()  # due at once: the recovery task's clock
    values.setdefault("occurred_at", timezone.now())
    values.setdefault("owner_id", actor.user_id)
    if len(actor.team_ids) == 1:
        values["team_id"] = next(iter(actor.team_ids))
    activity = Activity.objects.create(
        org_id=actor.org_id, created_by=actor.user, external_uid=external_uid[:255], **values
    )
    _set_contacts(activity, contact_ids or [])
    refresh_last_contacted(actor.org_id, contact_ids or [])
    activity.users.set(user_ids or [])
    activity = activity_reload(activity)
    record_event(actor, "activity.created", activity, _changes({}, _snapshot(activity)))
    reindex(activity)
    notify_mentions(actor=actor, activity=activity)
    return activity


@transaction.atomic
def activity_update(
    *, actor: Principal, activity: Activity, data: Mapping[str, Any], expected_version: int | None
) -> Activity:
    """Change some fields of an activity (only the keys in `data`; `participants` and `user_ids`
    replace the lists); refuses a stale version, and (409 `email_locked`) a change of what an email
    written in Rapport sent (see EMAIL_FIXED). Records `activity.updated` when anything changed."""
    _require_write(actor, activity)
    activity = activity_reload(activity)
    before = _snapshot(activity)
    values, contact_ids, user_ids = _clean(actor, data, activity)
    content = _email_lock(activity, values, contact_ids)
    if contact_ids is not None and activity.send_status:
        contact_ids = None  # unchanged (checked above): the links stay as they are
    qs = Activity.objects.filter(pk=activity.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if content:
        # Resent (queued) meanwhile: the worker may be sending this very text.
        qs = qs.exclude(send_status__in=CONTENT_FROZEN)
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        if content and Activity.objects.filter(pk=activity.pk, send_status__in=CONTENT_FROZEN).exists():
            _email_lock(Activity.objects.get(pk=activity.pk), values, None)
        raise StaleVersion()
    activity.refresh_from_db()
    if contact_ids is not None:
        _set_contacts(activity, contact_ids)
    elif "occurred_at" in values:
        ActivityContact.objects.filter(activity=activity).update(occurred_at=activity.occurred_at)
    if user_ids is not None:
        activity.users.set(user_ids)
    refresh_last_contacted(actor.org_id, set(before["contact_ids"]) | _contact_ids(activity))
    activity = activity_reload(activity)
    changes = _changes(before, _snapshot(activity))
    if changes:
        record_event(actor, "activity.updated", activity, changes)
        reindex(activity)
    if "body" in changes or "private" in changes:
        # Members newly mentioned by the edit; everyone mentioned once a private activity is shared.
        notify_mentions(actor=actor, activity=activity, previous_body=None if before["private"] else before["body"])
    return activity


@transaction.atomic
def activity_delete(*, actor: Principal, activity: Activity) -> Activity:
    """Move an activity to the trash (it leaves every timeline); records `activity.trashed`."""
    _require_write(actor, activity)
    if activity.deleted_at is None:
        activity.deleted_at = timezone.now()
        Activity.objects.filter(pk=activity.pk).update(deleted_at=activity.deleted_at, version=F("version") + 1)
        refresh_last_contacted(actor.org_id, _contact_ids(activity))
        record_event(actor, "activity.trashed", activity, {"deleted_at": [None, activity.deleted_at.isoformat()]})
        reindex(activity)
    return activity


@transaction.atomic
def activity_restore(*, actor: Principal, activity: Activity) -> Activity:
    """Bring an activity back from the trash; records `activity.restored`."""
    _require_write(actor, activity)
    if activity.deleted_at is not None:
        old = activity.deleted_at
        Activity.objects.filter(pk=activity.pk).update(deleted_at=None, version=F("version") + 1)
        refresh_last_contacted(actor.org_id, _contact_ids(activity))
        activity.refresh_from_db()
        record_event(actor, "activity.restored", activity, {"deleted_at": [old.isoformat(), None]})
        reindex(activity)
    return activity_reload(activity)
