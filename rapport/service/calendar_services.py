"""Writes of the workspace's business calendar (time zone, working hours per weekday, holidays),
on which SLA targets are counted. The API and the settings pages share these; the SLA engine reads
the calendar through `rapport.service.sla.calendar_for` (24/7 in UTC while a workspace has none).

Only roles with `Perm.MANAGE_SETTINGS` change it. A workspace has at most one calendar, created by
its first `calendar_set` (an `expected_version` of 0 means "there is none yet"). Hours are stored
as the model says: {"0" (Monday) … "6" (Sunday): [["HH:MM", "HH:MM"], …]}, an end of "00:00" (or
"24:00" on input) meaning midnight; a closed weekday is left out. They are validated by building a
`business_hours.Calendar`, whose reason for refusing (overlap, order, no hours at all) becomes the
field's message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.accounts.roles import Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core.access import require
from rapport.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.service.business_hours import Calendar
from rapport.service.config_cleaning import clean_name, unknown_fields
from rapport.service.models import BusinessCalendar, Holiday

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_INTERVALS = 6
MAX_HOLIDAYS = 1000


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this system knows (read once)."""
    return frozenset(available_timezones())


def _time(text: str) -> time:
    return time(0) if text == "24:00" else time.fromisoformat(text)


def build_calendar(time_zone: str, hours: Mapping[str, Any], holidays: Iterable[date] = ()) -> Calendar:
    """The `business_hours.Calendar` of stored (or cleaned) calendar values; ValueError with the
    reason when they do not make one."""
    parsed = {int(day): [(_time(start), _time(end)) for start, end in pairs] for day, pairs in hours.items()}
    return Calendar(time_zone, parsed, frozenset(holidays))


def _clean_time_zone(value: Any, errors: FieldErrors) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.add("time_zone", "Give a time zone such as Europe/Paris.")
        return ""
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        errors.add("time_zone", f"Unknown time zone “{name[:64]}”: use an IANA name such as Europe/Paris.")
        return ""
    if name not in time_zones() and name != "UTC":
        errors.add("time_zone", f"Unknown time zone “{name[:64]}”: use an IANA name such as Europe/Paris.")
    return name


def _clean_hours(value: Any, errors: FieldErrors) -> dict[str, list[list[str]]]:
    """{"0".."6": [["HH:MM", "HH:MM"], …]} with closed weekdays left out and "24:00" as "00:00"."""
    if not isinstance(value, Mapping):
        errors.add("hours", 'Give an object of weekday ("0" = Monday … "6" = Sunday) to ["HH:MM", "HH:MM"] pairs.')
        return {}
    hours: dict[str, list[list[str]]] = {}
    for key, pairs in value.items():
        field = f"hours.{key}"
        if key not in {str(d) for d in range(7)}:
            errors.add("hours", f'Unknown weekday “{str(key)[:10]}”: use "0" (Monday) to "6" (Sunday).')
            continue
        if pairs is None:
            continue
        if not isinstance(pairs, list) or len(pairs) > MAX_INTERVALS:
            errors.add(field, f'Give at most {MAX_INTERVALS} ["HH:MM", "HH:MM"] pairs.')
            continue
        cleaned = []
        for pair in pairs:
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in pair)
            ):
                errors.add(field, f'{WEEKDAYS[int(key)]}: give each interval as ["HH:MM", "HH:MM"] (24-hour).')
                break
            cleaned.append(["00:00" if t == "24:00" else t for t in pair])
        if cleaned:
            hours[key] = cleaned
    return dict(sorted(hours.items()))


def _calendar_error(reason: str) -> tuple[str, str]:
    """The field and message of a business_hours.Calendar refusal."""
    match = re.match(r"weekday (\d): (.*)", reason)
    if match:
        day = int(match.group(1))
        return f"hours.{day}", f"{WEEKDAYS[day]}: {match.group(2)}"
    if "time zone" in reason:
        return "time_zone", reason
    return "hours", reason[0].upper() + reason[1:] + "."


def _clean(data: Mapping[str, Any], holidays: Iterable[date]) -> dict[str, Any]:
    errors = FieldErrors()
    unknown_fields(data, {"time_zone", "hours"}, errors)
    values: dict[str, Any] = {
        "time_zone": _clean_time_zone(data.get("time_zone"), errors),
        "hours": _clean_hours(data.get("hours"), errors),
    }
    if not errors.fields:
        try:
            build_calendar(values["time_zone"], values["hours"], holidays)
        except ValueError as exc:
            errors.add(*_calendar_error(str(exc)))
    errors.raise_if_any()
    return values


def _snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    return {"time_zone": calendar.time_zone, "hours": calendar.hours}


@transaction.atomic
def calendar_set(*, actor: Principal, data: Mapping[str, Any], expected_version: int | None) -> BusinessCalendar:
    """Set the workspace's time zone and working hours (both required: the whole calendar is
    replaced). `expected_version` 0 creates it; otherwise a stale version is refused. Records
    `business_calendar.updated` (or `.created`). Due times of open tickets are not recomputed."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = BusinessCalendar.objects.select_for_update().filter(org_id=actor.org_id).first()
    have = current.version if current else 0
    if expected_version is not None and expected_version != have:
        raise StaleVersion()
    holidays = Holiday.objects.filter(calendar=current).values_list("date", flat=True) if current else []
    values = _clean(data, holidays)
    if current is None:
        try:
            with transaction.atomic():
                current = BusinessCalendar.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
        except IntegrityError:  # another admin created it at the same moment
            raise StaleVersion() from None
        record_event(actor, "business_calendar.created", current, diff({}, _snapshot(current)))
        return current
    before = _snapshot(current)
    BusinessCalendar.objects.filter(pk=current.pk).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    current.refresh_from_db()
    changes = diff(before, _snapshot(current))
    if changes:
        record_event(actor, "business_calendar.updated", current, changes)
    return current


def _touch(calendar: BusinessCalendar) -> None:
    BusinessCalendar.objects.filter(pk=calendar.pk).update(version=F("version") + 1, updated_at=timezone.now())


@transaction.atomic
def holiday_create(*, actor: Principal, data: Mapping[str, Any]) -> Holiday:
    """Close the desk on a local date (`date`, `name`). Needs a calendar (Conflict otherwise: set the
    working hours first); a date already closed is a field error. Bumps the calendar's version and
    records `holiday.created`."""
    require(actor, Perm.MANAGE_SETTINGS)
    calendar = BusinessCalendar.objects.select_for_update().filter(org_id=actor.org_id).first()
    if calendar is None:
        raise Conflict("no_calendar", "Set the working hours first: holidays belong to the business calendar.")
    errors = FieldErrors()
    unknown_fields(data, {"date", "name"}, errors)
    raw = data.get("date")
    day = raw if isinstance(raw, date) else (parse_date(raw) if isinstance(raw, str) else None)
    if day is None:
        errors.add("date", "Give a date as YYYY-MM-DD.")
    elif Holiday.objects.filter(calendar=calendar, date=day).exists():
        errors.add("date", f"{day.isoformat()} is already a holiday.")
    name = clean_name(data.get("name"), "name", errors, required=False)
    if Holiday.objects.filter(calendar=calendar).count() >= MAX_HOLIDAYS:
        errors.add("date", f"A calendar has at most {MAX_HOLIDAYS} holidays; delete past ones first.")
    errors.raise_if_any()
    try:
        with transaction.atomic():
            holiday = Holiday.objects.create(org_id=actor.org_id, calendar=calendar, date=day or date.min, name=name)
    except IntegrityError:
        raise ValidationFailed("holiday_taken", "This date is already a holiday.", field="date") from None
    _touch(calendar)
    record_event(actor, "holiday.created", holiday, {"date": [None, day], "name": [None, name]})
    return holiday


@transaction.atomic
def holiday_delete(*, actor: Principal, holiday: Holiday) -> None:
    """Open the desk again on a holiday's date. Bumps the calendar's version and records
    `holiday.deleted`."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = Holiday.objects.select_for_update().filter(pk=holiday.pk, org_id=actor.org_id).first()
    if current is None:
        raise NotFound()
    record_event(actor, "holiday.deleted", current, {"date": [current.date, None], "name": [current.name, None]})
    _touch(current.calendar)
    current.delete()
