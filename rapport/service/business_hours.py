"""Business-hours arithmetic for SLA timers (issue 6: customer service).

Pure Python, no models and no database. A :class:`Calendar` is a workspace's working week: a
time zone, working intervals per weekday in *local wall-clock time*, and holiday dates. The
functions answer the questions an SLA timer asks: when does a target of N business hours fall due
(:func:`add_business_time`), how much business time has elapsed (:func:`business_time_between`,
:func:`elapsed_business_time` with pauses while a ticket waits on the customer), is the desk open
(:func:`is_open`) and when does it open next (:func:`next_opening`).

Why hand-written: the PyPI candidates do not fit. ``businesstimedelta`` (last release 2019,
unmaintained, pytz-era time zone handling), ``business-calendar`` (2015) and ``businesshours``
(2010) are abandoned; ``workalendar`` (last release 2023) and ``holidays`` know holiday *dates*
but not working *hours*. The arithmetic is small, and the standard library's :mod:`zoneinfo`
handles the time zones.

Semantics (decisions):

* **Aware datetimes in, UTC out.** Every function takes aware datetimes (naive ones raise
  ``ValueError``) in any zone and returns datetimes in UTC.
* **Wall-clock hours.** An interval ``09:00-17:00`` means 09:00 to 17:00 local time on each
  working day, whatever the UTC offset that day. Business time is real elapsed time inside those
  intervals, so an interval spanning a DST change is an hour shorter (spring) or longer (autumn)
  than its nominal length; ``09:00-17:00`` is 8 hours every day in Europe/Paris because the
  changes happen at night. A local time that does not exist (in the spring gap) is read with the
  offset in force before the change (PEP 495, ``fold=0``), i.e. 02:30 on the spring-forward day
  in Paris means 03:30 CEST; an ambiguous time (autumn) means its first occurrence.
* **Midnight.** An interval ending at ``time(0, 0)`` runs until midnight at the end of the day
  (24:00); ``(time(0), time(0))`` is the whole day. ``time.max`` is not special (it ends one
  microsecond before midnight). An interval cannot cross midnight: split it across two weekdays.
  Touching intervals (``09:00-12:00``, ``12:00-17:00``) are merged.
* **Intervals are half-open**: open at the opening moment, closed at the closing moment.
* **Holidays** are local dates on which the whole day is closed.
* **Zero duration.** ``add_business_time(cal, start, timedelta(0))`` is ``next_opening(start)``:
  the result of :func:`add_business_time` is never a closed moment, so
  ``add_business_time(cal, start, d) == add_business_time(cal, next_opening(cal, start), d)`` for
  every ``d``. A positive duration that ends exactly at a closing time returns the closing time
  (Friday 16:00 + 1 h in a 9-17 week is Friday 17:00, not Monday 09:00). Negative durations raise.
* **Cost.** Each call walks the local days it spans (O(days)); whole weeks without a holiday and
  without a UTC-offset change between their first and last midnight are counted arithmetically, so
  a duration of many weeks costs O(weeks). (This assumes a zone never changes its offset and
  changes it back within the same seven days, which no zone does in practice.) The UTC intervals of
  a calendar day are cached. A calendar with no working hours is rejected when it is built, and
  every loop is bounded.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Calendar",
    "add_business_time",
    "business_time_between",
    "elapsed_business_time",
    "is_open",
    "next_opening",
]

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_ZERO = timedelta(0)
_MIDNIGHT = time(0, 0)

Interval = tuple[time, time]


def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _nominal(start: time, end: time) -> timedelta:
    """Wall-clock length of a local interval (end ``00:00`` = 24:00)."""
    return (_DAY if end == _MIDNIGHT else _since_midnight(end)) - _since_midnight(start)


def _normalize_day(weekday: int, intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    result: list[Interval] = []
    for item in intervals:
        try:
            start, end = item
        except (TypeError, ValueError):
            raise ValueError(f"weekday {weekday}: an interval must be a (start, end) pair, got {item!r}") from None
        if not isinstance(start, time) or not isinstance(end, time):
            raise ValueError(f"weekday {weekday}: interval bounds must be datetime.time, got {item!r}")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"weekday {weekday}: interval times must be naive local times, got {item!r}")
        if end != _MIDNIGHT and not start < end:
            raise ValueError(
                f"weekday {weekday}: interval {start.isoformat()}-{end.isoformat()} must start before it ends "
                "(use time(0, 0) as the end for 'until midnight'; intervals cannot cross midnight)"
            )
        if result:
            prev_start, prev_end = result[-1]
            if prev_end == _MIDNIGHT or start < prev_end:
                raise ValueError(
                    f"weekday {weekday}: intervals must be in order and not overlap: "
                    f"{prev_start.isoformat()}-{prev_end.isoformat()} then {start.isoformat()}-{end.isoformat()}"
                )
            if start == prev_end:  # touching intervals: merge
                result[-1] = (prev_start, end)
                continue
        result.append((start, end))
    return tuple(result)


@dataclass(frozen=True)
class Calendar:
    """A working week in a time zone, with holidays.

    ``hours`` maps a weekday (0 = Monday … 6 = Sunday) to its working intervals in local time,
    in order and not overlapping; weekdays not in the mapping are closed. ``holidays`` are local
    dates that are closed all day.
    """

    tz: str
    hours: Mapping[int, Sequence[Interval]]
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _week: tuple[tuple[Interval, ...], ...] = field(init=False, repr=False, compare=False)
    _sorted_holidays: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _week_total: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tz, str) or not self.tz:
            raise ValueError(f"time zone must be an IANA name such as 'Europe/Paris', got {self.tz!r}")
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.tz!r}") from None
        if not isinstance(self.hours, Mapping):
            raise ValueError("hours must be a mapping of weekday (0=Monday … 6=Sunday) to intervals")
        days: list[tuple[Interval, ...]] = [()] * 7
        for weekday, intervals in self.hours.items():
            if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
                raise ValueError(f"weekday must be an int from 0 (Monday) to 6 (Sunday), got {weekday!r}")
            days[weekday] = _normalize_day(weekday, intervals)
        holidays = frozenset(self.holidays)
        for day in holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"holidays must be datetime.date values, got {day!r}")
        week_total = sum((_nominal(s, e) for day_intervals in days for s, e in day_intervals), _ZERO)
        if week_total <= _ZERO:
            raise ValueError("calendar has no working hours on any weekday; business time would never elapse")
        object.__setattr__(self, "hours", {wd: days[wd] for wd in range(7) if days[wd]})
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_week", tuple(days))
        object.__setattr__(self, "_sorted_holidays", tuple(sorted(holidays)))
        object.__setattr__(self, "_week_total", week_total)

    def __hash__(self) -> int:
        return hash((self.tz, self._week, self.holidays))

    @classmethod
    def always(cls, tz: str = "UTC") -> Calendar:
        """A 24/7 calendar: business time equals elapsed time."""
        return cls(tz, {wd: [(_MIDNIGHT, _MIDNIGHT)] for wd in range(7)})

    def _has_holiday(self, first: date, last_excl: date) -> bool:
        i = bisect.bisect_left(self._sorted_holidays, first)
        return i < len(self._sorted_holidays) and self._sorted_holidays[i] < last_excl


# ---------------------------------------------------------------------------------------------
# internals


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with tzinfo), got naive {moment!r}")
    return moment.astimezone(UTC)


@functools.lru_cache(maxsize=65536)
def _midnight(cal: Calendar, day: date) -> datetime:
    """The UTC moment of local midnight starting ``day``."""
    return datetime.combine(day, _MIDNIGHT, tzinfo=cal._zone).astimezone(UTC)


@functools.lru_cache(maxsize=65536)
def _day_intervals(cal: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The open intervals of local ``day`` in UTC, ordered and disjoint (empty on holidays)."""
    if day in cal.holidays:
        return ()
    result: list[tuple[datetime, datetime]] = []
    zone = cal._zone
    for start, end in cal._week[day.weekday()]:
        s = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
        e = _midnight(cal, day + _DAY) if end == _MIDNIGHT else datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
        if result and s < result[-1][1]:  # only possible around a DST gap
            s = result[-1][1]
        if s < e:
            result.append((s, e))
    return tuple(result)


def _local_day(cal: Calendar, moment_utc: datetime) -> date:
    return moment_utc.astimezone(cal._zone).date()


def _clean_week(cal: Calendar, day: date) -> bool:
    """True when the week starting at local ``day`` has exactly the nominal weekly business time."""
    return (
        _midnight(cal, day + _WEEK) - _midnight(cal, day) == _WEEK
        and not cal._has_holiday(day, day + _WEEK)
        and _midnight(cal, day + timedelta(days=3)) - _midnight(cal, day) == timedelta(days=3)
    )


def _max_idle_days(cal: Calendar) -> int:
    # Longest run of days without open time: holidays can close at most len(holidays) extra days
    # beyond the closed weekdays; DST clipping never empties every working day of a week.
    return 7 * (len(cal.holidays) + 2)


def _no_hours_error(cal: Calendar) -> ValueError:
    return ValueError(f"calendar {cal.tz!r} has no open business hours in the searched range")


# ---------------------------------------------------------------------------------------------
# public API


def is_open(cal: Calendar, moment: datetime) -> bool:
    """Whether ``moment`` falls inside working hours (opening inclusive, closing exclusive)."""
    at = _aware(moment, "moment")
    day = _local_day(cal, at)
    for d in (day - _DAY, day):
        for s, e in _day_intervals(cal, d):
            if s <= at < e:
                return True
    return False


def next_opening(cal: Calendar, moment: datetime) -> datetime:
    """``moment`` (in UTC) when open, else the next moment working hours begin."""
    at = _aware(moment, "moment")
    day = _local_day(cal, at) - _DAY
    for _ in range(_max_idle_days(cal) + 2):
        for s, e in _day_intervals(cal, day):
            if e > at:
                return max(s, at)
        day += _DAY
    raise _no_hours_error(cal)


def add_business_time(cal: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The UTC moment at which ``duration`` of business time has elapsed after ``start``.

    A start outside working hours counts from the next opening; a zero duration returns
    ``next_opening(cal, start)``.
    """
    at = _aware(start, "start")
    if not isinstance(duration, timedelta):
        raise ValueError(f"duration must be a timedelta, got {duration!r}")
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    remaining = duration
    day = _local_day(cal, at) - _DAY
    idle = 0
    limit = _max_idle_days(cal)
    while True:
        if at <= _midnight(cal, day):
            # At a whole local day: skip whole weeks arithmetically while more than a week is left.
            week = cal._week_total
            while remaining > week and _clean_week(cal, day):
                remaining -= week
                day += _WEEK
            at = max(at, _midnight(cal, day))
        intervals = _day_intervals(cal, day)
        for s, e in intervals:
            if e <= at:
                continue
            s = max(s, at)
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
            at = e
        idle = 0 if intervals else idle + 1
        if idle > limit:
            raise _no_hours_error(cal)
        day += _DAY


def business_time_between(cal: Calendar, start: datetime, end: datetime) -> timedelta:
    """Business time between ``start`` and ``end`` (zero when ``end <= start``)."""
    lo = _aware(start, "start")
    hi = _aware(end, "end")
    if hi <= lo:
        return _ZERO
    total = _ZERO
    day = _local_day(cal, lo) - _DAY
    last = _local_day(cal, hi)
    week = cal._week_total
    while day <= last:
        if lo <= _midnight(cal, day):
            while day + _WEEK <= last and _midnight(cal, day + _WEEK) <= hi and _clean_week(cal, day):
                total += week
                day += _WEEK
            if day > last:
                break
        for s, e in _day_intervals(cal, day):
            s, e = max(s, lo), min(e, hi)
            if s < e:
                total += e - s
        day += _DAY
    return total


def elapsed_business_time(
    cal: Calendar,
    start: datetime,
    end: datetime,
    pauses: Sequence[tuple[datetime, datetime | None]] = (),
) -> timedelta:
    """Business time between ``start`` and ``end`` minus the paused spans.

    A pause ``(begin, None)`` is still open (it runs to ``end``). Pauses may overlap each other
    and extend outside ``[start, end]``; they are clipped and merged.
    """
    lo = _aware(start, "start")
    hi = _aware(end, "end")
    if hi <= lo:
        return _ZERO
    spans: list[tuple[datetime, datetime]] = []
    for i, (p_start, p_end) in enumerate(pauses):
        ps = max(_aware(p_start, f"pauses[{i}] start"), lo)
        pe = hi if p_end is None else min(_aware(p_end, f"pauses[{i}] end"), hi)
        if ps < pe:
            spans.append((ps, pe))
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for ps, pe in spans:
        if merged and ps <= merged[-1][1]:
            if pe > merged[-1][1]:
                merged[-1] = (merged[-1][0], pe)
        else:
            merged.append((ps, pe))
    total = _ZERO
    cursor = lo
    for ps, pe in merged:
        total += business_time_between(cal, cursor, ps)
        cursor = pe
    return total + business_time_between(cal, cursor, hi)
