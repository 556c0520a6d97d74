"""Business-hours arithmetic: known numbers, DST, holidays, pauses, and properties."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rapport.service.business_hours import (
    Calendar,
    add_business_time,
    business_time_between,
    elapsed_business_time,
    is_open,
    next_opening,
)

PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)
NINE_TO_FIVE = {wd: [(time(9), time(17))] for wd in range(5)}
SPLIT = {wd: [(time(9), time(12)), (time(13), time(17))] for wd in range(5)}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def brute_force_between(cal: Calendar, start: datetime, end: datetime, step: timedelta) -> timedelta:
    """Independent oracle: sample wall-clock local time at the middle of each ``step``."""
    zone = ZoneInfo(cal.tz)
    total = timedelta(0)
    t = start
    while t < end:
        local = (t + step / 2).astimezone(zone)
        if local.date() not in cal.holidays:
            for s, e in cal.hours.get(local.weekday(), ()):
                if s <= local.time() and (e == time(0) or local.time() < e):
                    total += step
                    break
        t += step
    return total


# --- known numbers -----------------------------------------------------------------------------


def test_friday_afternoon_plus_two_hours_is_monday_ten() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    assert add_business_time(cal, utc(2026, 12, 4, 16), 2 * H) == utc(2026, 12, 7, 10)
    assert business_time_between(cal, utc(2026, 12, 4, 16), utc(2026, 12, 7, 10)) == 2 * H


def test_duration_ending_at_closing_time_returns_closing_time() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    assert add_business_time(cal, utc(2026, 12, 4, 16), H) == utc(2026, 12, 4, 17)


def test_start_outside_hours_counts_from_next_opening() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    assert add_business_time(cal, utc(2026, 12, 5, 11), 2 * H) == utc(2026, 12, 7, 11)  # Saturday
    assert add_business_time(cal, utc(2026, 12, 7, 6), 2 * H) == utc(2026, 12, 7, 11)  # Monday early


def test_zero_duration_is_next_opening() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    assert add_business_time(cal, utc(2026, 12, 5, 11), timedelta(0)) == utc(2026, 12, 7, 9)
    assert add_business_time(cal, utc(2026, 12, 7, 10, 30), timedelta(0)) == utc(2026, 12, 7, 10, 30)
    assert add_business_time(cal, utc(2026, 12, 4, 17), timedelta(0)) == utc(2026, 12, 7, 9)


def test_multi_day_and_multi_week_durations() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    # 3 business days from Wednesday 10:00 -> Monday 10:00
    assert add_business_time(cal, utc(2026, 12, 2, 10), 24 * H) == utc(2026, 12, 7, 10)
    # 10 weeks of 40 h from a Monday opening -> Friday close, 10 weeks minus 3 days later
    assert add_business_time(cal, utc(2026, 1, 5, 9), 400 * H) == utc(2026, 3, 13, 17)
    assert business_time_between(cal, utc(2026, 1, 5, 9), utc(2026, 3, 13, 17)) == 400 * H


def test_holiday_is_skipped() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE, frozenset({date(2026, 12, 7)}))
    assert add_business_time(cal, utc(2026, 12, 4, 16), 2 * H) == utc(2026, 12, 8, 10)
    assert business_time_between(cal, utc(2026, 12, 4, 9), utc(2026, 12, 9, 9)) == 16 * H
    assert not is_open(cal, utc(2026, 12, 7, 12))


def test_holidays_are_local_dates() -> None:
    cal = Calendar("America/New_York", NINE_TO_FIVE, frozenset({date(2026, 12, 7)}))
    # Monday 2026-12-07 14:00 UTC is 09:00 in New York, a holiday; Tuesday is open.
    assert not is_open(cal, utc(2026, 12, 7, 14))
    assert is_open(cal, utc(2026, 12, 8, 14))
    assert next_opening(cal, utc(2026, 12, 7, 14)) == utc(2026, 12, 8, 14)


def test_split_days() -> None:
    cal = Calendar("UTC", SPLIT)
    monday = datetime(2026, 12, 7, tzinfo=UTC)
    assert add_business_time(cal, monday + 11 * H, 2 * H) == monday + 14 * H
    assert add_business_time(cal, monday + 11 * H, H) == monday + 12 * H
    assert business_time_between(cal, monday + 8 * H, monday + 18 * H) == 7 * H
    assert not is_open(cal, monday + 12.5 * H)
    assert is_open(cal, monday + 13 * H)
    assert next_opening(cal, monday + 12.5 * H) == monday + 13 * H
    # Friday 16:00 + 3 h -> Monday 11:00: 1 h on Friday, 2 h in the Monday morning block
    assert add_business_time(cal, utc(2026, 12, 4, 16), 3 * H) == monday + 11 * H


def test_is_open_is_half_open_and_next_opening() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    assert is_open(cal, utc(2026, 12, 7, 9))
    assert not is_open(cal, utc(2026, 12, 7, 17))
    assert next_opening(cal, utc(2026, 12, 7, 17)) == utc(2026, 12, 8, 9)
    assert next_opening(cal, utc(2026, 12, 7, 12)) == utc(2026, 12, 7, 12)
    # any input zone, UTC out
    out = next_opening(cal, datetime(2026, 12, 7, 18, tzinfo=PARIS))
    assert out == utc(2026, 12, 8, 9) and out.tzinfo is UTC


def test_until_midnight_is_contiguous_with_next_day() -> None:
    cal = Calendar("UTC", {0: [(time(22), time(0))], 1: [(time(0), time(2))]})
    assert add_business_time(cal, utc(2026, 12, 7, 23), 2 * H) == utc(2026, 12, 8, 1)
    assert business_time_between(cal, utc(2026, 12, 7), utc(2026, 12, 9)) == 4 * H
    assert is_open(cal, utc(2026, 12, 7, 23, 59, 59))
    assert is_open(cal, utc(2026, 12, 8, 0))


def test_always_equals_plain_timedelta() -> None:
    cal = Calendar.always()
    rng = random.Random(6)
    for _ in range(200):
        start = utc(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 600_000))
        d = timedelta(minutes=rng.randrange(0, 200_000))
        assert add_business_time(cal, start, d) == start + d
        assert business_time_between(cal, start, start + d) == d
        assert is_open(cal, start)


def test_always_in_a_dst_zone_counts_real_time() -> None:
    cal = Calendar.always("Europe/Paris")
    start = utc(2026, 3, 1)
    assert business_time_between(cal, start, utc(2026, 5, 1)) == utc(2026, 5, 1) - start
    assert add_business_time(cal, start, timedelta(days=60)) == start + timedelta(days=60)


# --- DST ---------------------------------------------------------------------------------------


def test_paris_spring_forward_weekday_hours_are_wall_clock() -> None:
    cal = Calendar("Europe/Paris", NINE_TO_FIVE)
    # Friday 2026-03-27 16:00 CET (15:00 UTC) + 2 h -> Monday 10:00 CEST (08:00 UTC)
    assert add_business_time(cal, utc(2026, 3, 27, 15), 2 * H) == utc(2026, 3, 30, 8)
    assert business_time_between(cal, utc(2026, 3, 27, 15), utc(2026, 3, 30, 8)) == 2 * H
    assert is_open(cal, datetime(2026, 3, 30, 9, tzinfo=PARIS))
    assert not is_open(cal, utc(2026, 3, 30, 15, 30))  # 17:30 CEST


def test_paris_fall_back_weekday_hours_are_wall_clock() -> None:
    cal = Calendar("Europe/Paris", NINE_TO_FIVE)
    # Friday 2026-10-23 16:00 CEST (14:00 UTC) + 2 h -> Monday 10:00 CET (09:00 UTC)
    assert add_business_time(cal, utc(2026, 10, 23, 14), 2 * H) == utc(2026, 10, 26, 9)
    assert business_time_between(cal, utc(2026, 10, 19), utc(2026, 11, 2)) == 80 * H


def test_paris_night_interval_on_dst_sundays() -> None:
    cal = Calendar("Europe/Paris", {6: [(time(1), time(5))]})
    # spring: 01:00-05:00 local is 3 real hours; autumn: 5 real hours
    assert business_time_between(cal, utc(2026, 3, 28), utc(2026, 3, 30)) == 3 * H
    assert business_time_between(cal, utc(2026, 10, 24), utc(2026, 10, 26)) == 5 * H
    assert add_business_time(cal, utc(2026, 3, 28), 3 * H) == utc(2026, 3, 29, 3)  # 05:00 CEST
    # 24 h Sundays: the spring day is 23 h, the autumn one 25 h
    full = Calendar("Europe/Paris", {6: [(time(0), time(0))]})
    assert business_time_between(full, utc(2026, 3, 27), utc(2026, 4, 1)) == 23 * H
    assert business_time_between(full, utc(2026, 10, 23), utc(2026, 10, 28)) == 25 * H


def test_opening_inside_the_spring_gap_uses_the_pre_change_offset() -> None:
    # 02:30 does not exist in Paris on 2026-03-29; it is read as 02:30 CET = 03:30 CEST = 01:30 UTC.
    cal = Calendar("Europe/Paris", {6: [(time(2, 30), time(4))]})
    assert next_opening(cal, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 30)
    assert business_time_between(cal, utc(2026, 3, 28), utc(2026, 3, 30)) == timedelta(minutes=30)
    assert business_time_between(cal, utc(2026, 4, 4), utc(2026, 4, 6)) == timedelta(minutes=90)


def test_new_york_dst_ticket_opened_in_utc() -> None:
    cal = Calendar("America/New_York", NINE_TO_FIVE)
    # Friday 2026-03-06 20:00 UTC = 15:00 EST, + 4 h -> Monday 11:00 EDT = 15:00 UTC
    assert add_business_time(cal, utc(2026, 3, 6, 20), 4 * H) == utc(2026, 3, 9, 15)
    # Friday 2026-10-30 20:00 UTC = 16:00 EDT, + 3 h -> Monday 11:00 EST = 16:00 UTC
    assert add_business_time(cal, utc(2026, 10, 30, 20), 3 * H) == utc(2026, 11, 2, 16)
    sundays = Calendar("America/New_York", {6: [(time(0), time(0))]})
    assert business_time_between(sundays, utc(2026, 3, 7), utc(2026, 3, 10)) == 23 * H
    assert business_time_between(sundays, utc(2026, 10, 31), utc(2026, 11, 3)) == 25 * H


# --- pauses ------------------------------------------------------------------------------------


def test_elapsed_without_pauses_equals_between() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    assert elapsed_business_time(cal, utc(2026, 12, 7, 9), utc(2026, 12, 8, 17), []) == 16 * H


def test_elapsed_with_closed_pause() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    pauses = [(utc(2026, 12, 7, 10), utc(2026, 12, 7, 12))]
    assert elapsed_business_time(cal, utc(2026, 12, 7, 9), utc(2026, 12, 7, 17), pauses) == 6 * H


def test_elapsed_with_open_pause() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    pauses: list[tuple[datetime, datetime | None]] = [(utc(2026, 12, 7, 14), None)]
    assert elapsed_business_time(cal, utc(2026, 12, 7, 9), utc(2026, 12, 8, 17), pauses) == 5 * H


def test_elapsed_with_overlapping_and_out_of_range_pauses() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    pauses: list[tuple[datetime, datetime | None]] = [
        (utc(2026, 12, 7, 11), utc(2026, 12, 7, 13)),
        (utc(2026, 12, 7, 10), utc(2026, 12, 7, 12)),  # overlaps the first, out of order
        (utc(2026, 12, 7, 12), utc(2026, 12, 7, 12, 30)),  # inside
        (utc(2026, 12, 6), utc(2026, 12, 7, 9, 30)),  # starts before start
        (utc(2026, 12, 8, 16), utc(2026, 12, 20)),  # extends beyond end
        (utc(2026, 12, 1), utc(2026, 12, 2)),  # entirely before
    ]
    # 16 h minus 09:00-09:30, 10:00-13:00 on Monday and 16:00-17:00 on Tuesday
    got = elapsed_business_time(cal, utc(2026, 12, 7, 9), utc(2026, 12, 8, 17), pauses)
    assert got == 16 * H - timedelta(minutes=30) - 3 * H - H


def test_elapsed_pause_outside_hours_costs_nothing() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    pauses = [(utc(2026, 12, 4, 17), utc(2026, 12, 7, 9))]  # the weekend
    assert elapsed_business_time(cal, utc(2026, 12, 4, 9), utc(2026, 12, 7, 17), pauses) == 16 * H
    assert elapsed_business_time(cal, utc(2026, 12, 7, 17), utc(2026, 12, 7, 9), pauses) == timedelta(0)


# --- properties --------------------------------------------------------------------------------

CALENDARS = [
    Calendar("UTC", NINE_TO_FIVE),
    Calendar("Europe/Paris", SPLIT, frozenset({date(2026, 4, 6), date(2026, 5, 1), date(2026, 11, 11)})),
    Calendar("America/New_York", {**NINE_TO_FIVE, 5: [(time(10), time(14))]}, frozenset({date(2026, 11, 26)})),
    Calendar("Europe/Paris", {6: [(time(1), time(5))], 2: [(time(0), time(0))]}),
]


@pytest.mark.parametrize("cal", CALENDARS, ids=["utc", "paris-split", "new-york", "paris-nights"])
def test_round_trip_add_then_between(cal: Calendar) -> None:
    rng = random.Random(42)
    durations = [timedelta(0), timedelta(seconds=1), H, 8 * H, 41 * H, 400 * H]
    durations += [timedelta(minutes=rng.randrange(1, 60 * 2000)) for _ in range(60)]
    for d in durations:
        start = utc(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
        end = add_business_time(cal, start, d)
        assert end.tzinfo is UTC
        assert business_time_between(cal, start, end) == d, (start, d)
        if d:
            assert is_open(cal, end - timedelta(microseconds=1))


@pytest.mark.parametrize("cal", CALENDARS[1:], ids=["paris-split", "new-york", "paris-nights"])
def test_between_matches_brute_force_across_dst(cal: Calendar) -> None:
    rng = random.Random(7)
    step = timedelta(minutes=30)
    for anchor in (utc(2026, 3, 1), utc(2026, 10, 10)):
        for _ in range(6):
            start = anchor + step * rng.randrange(0, 48 * 14)
            end = start + step * rng.randrange(0, 48 * 40)
            assert business_time_between(cal, start, end) == brute_force_between(cal, start, end, step), (start, end)


@pytest.mark.parametrize("cal", CALENDARS, ids=["utc", "paris-split", "new-york", "paris-nights"])
def test_long_durations_skip_weeks_exactly(cal: Calendar) -> None:
    """Week skipping (long spans) agrees with summing the span one day at a time (no skipping)."""
    start = utc(2026, 1, 1, 10)
    for total in (100 * H, 1500 * H):
        end = add_business_time(cal, start, total)
        assert business_time_between(cal, start, end) == total
        days = (end - start).days + 1
        bounds = [min(start + timedelta(days=i), end) for i in range(days + 1)]
        day_by_day = sum((business_time_between(cal, a, b) for a, b in itertools.pairwise(bounds)), H * 0)
        assert day_by_day == total


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "hours", "holidays", "message"),
    [
        ("Mars/Olympus", NINE_TO_FIVE, frozenset(), "unknown time zone"),
        ("", NINE_TO_FIVE, frozenset(), "IANA name"),
        ("UTC", {}, frozenset(), "no working hours"),
        ("UTC", {0: []}, frozenset(), "no working hours"),
        ("UTC", {7: [(time(9), time(17))]}, frozenset(), "weekday must be an int"),
        ("UTC", {0: [(time(17), time(9))]}, frozenset(), "must start before it ends"),
        ("UTC", {0: [(time(9), time(9))]}, frozenset(), "must start before it ends"),
        ("UTC", {0: [(time(13), time(17)), (time(9), time(12))]}, frozenset(), "in order and not overlap"),
        ("UTC", {0: [(time(9), time(13)), (time(12), time(17))]}, frozenset(), "in order and not overlap"),
        ("UTC", {0: [(time(9), time(0)), (time(10), time(11))]}, frozenset(), "in order and not overlap"),
        ("UTC", {0: [(time(9, tzinfo=UTC), time(17))]}, frozenset(), "naive local times"),
        ("UTC", {0: [(9, 17)]}, frozenset(), "must be datetime.time"),
        ("UTC", {0: [(time(9),)]}, frozenset(), "pair"),
        ("UTC", NINE_TO_FIVE, frozenset({datetime(2026, 1, 1)}), "datetime.date"),
    ],
)
def test_invalid_calendar_raises(tz: str, hours: dict, holidays: frozenset, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Calendar(tz, hours, holidays)


def test_invalid_arguments_raise() -> None:
    cal = Calendar("UTC", NINE_TO_FIVE)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(cal, datetime(2026, 12, 7, 9), H)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(cal, utc(2026, 12, 7, 9), -H)
    with pytest.raises(ValueError, match="aware"):
        business_time_between(cal, utc(2026, 12, 7), datetime(2026, 12, 8))


def test_calendar_is_normalised_hashable_and_comparable() -> None:
    a = Calendar("UTC", {0: [(time(9), time(12)), (time(12), time(17))]})
    b = Calendar("UTC", {0: ((time(9), time(17)),), 3: []})
    assert a == b and hash(a) == hash(b)
    assert a.hours == {0: ((time(9), time(17)),)}
    assert business_time_between(a, utc(2026, 12, 7), utc(2026, 12, 8)) == 8 * H
