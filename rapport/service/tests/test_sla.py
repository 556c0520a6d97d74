"""SLA timers: the workspace calendar, policy matching, due times in business hours across
weekends, holidays, time zones and DST, pause/resume while pending, replies and customer
messages, solving, and the clock shown on the ticket. Times are frozen: every call gets `now`,
and tickets created through the ORM get their `created_at` under time-machine's frozen clock."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from rapport.accounts.models import Organization
from rapport.service.business_hours import Calendar
from rapport.service.models import (
    BusinessCalendar,
    Holiday,
    SlaBreach,
    SlaPolicy,
    SlaStage,
    Ticket,
    TicketStatus,
)
from rapport.service.sla import (
    calendar_for,
    format_duration,
    policy_for,
    sla_apply,
    sla_clock,
    sla_on_agent_reply,
    sla_on_customer_message,
    sla_on_status,
)
from rapport.service.tests.engine_support import company, contact, policy, ticket, utc

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
WEEKDAYS_9_TO_5 = {str(wd): [["09:00", "17:00"]] for wd in range(5)}


def paris_calendar(org: Organization, *holidays: date) -> BusinessCalendar:
    cal = BusinessCalendar.objects.create(org=org, time_zone="Europe/Paris", hours=WEEKDAYS_9_TO_5)
    for day in holidays:
        Holiday.objects.create(org=org, calendar=cal, date=day, name="Holiday")
    return cal


def standard(org: Organization, **fields: object) -> SlaPolicy:
    values: dict[str, object] = {
        "first_response_minutes": 120,
        "next_response_minutes": 60,
        "resolution_minutes": 16 * 60,
        "warn_before_minutes": 30,
    }
    values.update(fields)
    return policy(org, "Standard", **values)


def status(t: Ticket, new: str, at: object) -> None:
    old, t.status = t.status, new
    sla_on_status(t, old, now=at)  # type: ignore[arg-type]


# --- calendar --------------------------------------------------------------------------------


def test_a_workspace_without_a_calendar_counts_around_the_clock_in_utc(org: Organization) -> None:
    assert calendar_for(org.pk) == Calendar.always("UTC")


def test_the_stored_calendar_becomes_a_business_hours_calendar(org: Organization, other_org: Organization) -> None:
    stored = BusinessCalendar.objects.create(
        org=org, time_zone="America/New_York", hours={"0": [["08:00", "12:00"], ["13:00", "24:00"]], "5": []}
    )
    Holiday.objects.create(org=org, calendar=stored, date=date(2026, 12, 25))
    paris_calendar(other_org, date(2026, 1, 1))
    cal = calendar_for(org.pk)
    assert cal.tz == "America/New_York"
    assert dict(cal.hours) == {0: ((time(8), time(12)), (time(13), time(0)))}
    assert cal.holidays == frozenset({date(2026, 12, 25)})


def test_a_calendar_with_no_working_hours_falls_back_to_around_the_clock(org: Organization) -> None:
    BusinessCalendar.objects.create(org=org, time_zone="Asia/Tokyo", hours={"0": []})
    assert calendar_for(org.pk) == Calendar.always("Asia/Tokyo")


# --- policy matching -----------------------------------------------------------------------------


def test_the_first_active_matching_policy_by_position_applies(org: Organization) -> None:
    policy(org, "Deleted", position=0, deleted_at=timezone.now())
    policy(org, "Inactive", position=1, active=False)
    urgent = policy(org, "Urgent", position=2, priorities=["urgent", "high"])
    catch_all = policy(org, "Everything else", position=3)
    assert policy_for(ticket(org, save=False, priority="high")) == urgent
    assert policy_for(ticket(org, save=False, priority="low")) == catch_all


def test_policies_match_the_companys_support_tier(org: Organization) -> None:
    premium = policy(org, "Premium", position=1, tiers=["premium", "enterprise"])
    policy(org, "Fallback", position=2, priorities=["urgent"])
    big = company(org, tier="enterprise")
    small = company(org, tier="standard")
    assert policy_for(ticket(org, save=False, company=big)) == premium
    assert policy_for(ticket(org, save=False, company=small)) is None
    assert policy_for(ticket(org, save=False)) is None


def test_policies_match_tags_of_the_ticket_requester_or_company(org: Organization) -> None:
    vip = policy(org, "VIP", position=1, tags=["VIP"])
    acme = company(org, tags=["vip"])
    assert policy_for(ticket(org, save=False, tags=["Vip"])) == vip
    assert policy_for(ticket(org, save=False, contact=contact(org, tags=["VIP"]))) == vip
    assert policy_for(ticket(org, save=False, company=acme)) == vip
    assert policy_for(ticket(org, save=False, tags=["other"], contact=contact(org, tags=["x"]))) is None


def test_all_conditions_of_a_policy_must_hold(org: Organization) -> None:
    both = policy(org, "Urgent premium", position=1, priorities=["urgent"], tiers=["premium"])
    premium = company(org, tier="premium")
    assert policy_for(ticket(org, save=False, priority="urgent", company=premium)) == both
    assert policy_for(ticket(org, save=False, priority="normal", company=premium)) is None


def test_policies_of_another_workspace_never_apply(org: Organization, other_org: Organization) -> None:
    policy(other_org, "Theirs")
    assert policy_for(ticket(org, save=False)) is None


# --- due times -------------------------------------------------------------------------------


def test_due_times_skip_the_weekend_in_the_workspace_time_zone(org: Organization) -> None:
    paris_calendar(org)
    p = standard(org)
    created = utc(2026, 1, 9, 15)  # Friday 16:00 in Paris
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    assert t.sla_policy == p
    assert t.first_response_due_at == utc(2026, 1, 12, 9)  # 1 h on Friday, 1 h on Monday: 10:00 Paris
    assert t.resolution_due_at == utc(2026, 1, 13, 15)  # 1 + 8 + 7 h: Tuesday 16:00 Paris
    assert t.next_response_due_at is None
    assert t.sla_check_at == utc(2026, 1, 12, 8, 30)  # the first-response warning


def test_due_times_skip_holidays(org: Organization) -> None:
    paris_calendar(org, date(2026, 1, 12))
    standard(org)
    created = utc(2026, 1, 9, 15)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    assert t.first_response_due_at == utc(2026, 1, 13, 9)  # Monday is a holiday: Tuesday 10:00 Paris


def test_due_times_follow_the_calendars_time_zone_and_dst(org: Organization) -> None:
    BusinessCalendar.objects.create(org=org, time_zone="America/New_York", hours=WEEKDAYS_9_TO_5)
    standard(org)
    winter = ticket(org, created_at=utc(2026, 1, 9, 21))  # Friday 16:00 in New York (UTC-5)
    sla_apply(winter, now=winter.created_at)
    assert winter.first_response_due_at == utc(2026, 1, 12, 15)  # Monday 10:00 New York
    spring = ticket(org, created_at=utc(2026, 3, 6, 21))  # Friday 16:00 EST; DST starts on Sunday 8 March
    sla_apply(spring, now=spring.created_at)
    assert spring.first_response_due_at == utc(2026, 3, 9, 14)  # Monday 10:00 EDT (UTC-4)


def test_a_clock_time_policy_ignores_the_calendar(org: Organization) -> None:
    paris_calendar(org)
    standard(org, business_hours=False)
    created = utc(2026, 1, 9, 15)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    assert t.first_response_due_at == created + 2 * H
    assert t.resolution_due_at == created + 16 * H


def test_a_frozen_clock_sets_the_start_of_a_new_ticket(org: Organization) -> None:
    paris_calendar(org)
    standard(org)
    with time_machine.travel(utc(2026, 1, 12, 16, 30), tick=False):  # Monday 17:30 in Paris: closed
        t = ticket(org)
        sla_apply(t, now=timezone.now())
    assert t.created_at == utc(2026, 1, 12, 16, 30)
    assert t.first_response_due_at == utc(2026, 1, 13, 10)  # from Tuesday's opening: 11:00 Paris


def test_without_a_matching_policy_there_are_no_targets(org: Organization) -> None:
    standard(org, priorities=["urgent"])
    t = ticket(org, created_at=utc(2026, 1, 12, 8))
    sla_apply(t, now=t.created_at)
    assert (t.sla_policy, t.first_response_due_at, t.resolution_due_at, t.sla_check_at) == (None, None, None, None)


def test_reapplying_the_same_policy_keeps_the_due_times_and_a_new_policy_recomputes_them(org: Organization) -> None:
    standard(org, position=2, business_hours=False)
    urgent = policy(org, "Urgent", position=1, priorities=["urgent"], first_response_minutes=15, business_hours=False)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    t.first_response_due_at = created + 3 * H  # as a resume would have moved it
    t.tags = ["billing"]
    sla_apply(t, now=created + H)
    assert t.first_response_due_at == created + 3 * H
    t.priority = "urgent"
    sla_apply(t, now=created + H)
    assert t.sla_policy == urgent
    assert t.first_response_due_at == created + timedelta(minutes=15)
    assert t.resolution_due_at is None


# --- replies and messages ------------------------------------------------------------------------


def test_a_reply_meets_the_first_response_and_a_customer_message_starts_the_next(org: Organization) -> None:
    standard(org, business_hours=False, resolution_minutes=None)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    sla_on_agent_reply(t, now=created + H)
    assert t.first_responded_at == created + H
    assert (t.first_response_due_at, t.next_response_due_at, t.sla_check_at) == (None, None, None)
    sla_on_customer_message(t, now=created + 2 * H)
    assert t.next_response_due_at == created + 3 * H
    assert t.sla_check_at == created + 3 * H - timedelta(minutes=30)
    sla_on_customer_message(t, now=created + 2.5 * H)  # a second message keeps the running timer
    assert t.next_response_due_at == created + 3 * H
    sla_on_agent_reply(t, now=created + 2.5 * H)
    assert t.next_response_due_at is None and t.first_responded_at == created + H
    assert not SlaBreach.objects.exists()


def test_a_late_reply_records_the_breach_once(org: Organization) -> None:
    standard(org, business_hours=False)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    due = t.first_response_due_at
    sla_on_agent_reply(t, now=created + 3 * H)
    breach = SlaBreach.objects.get()
    assert (breach.metric, breach.stage, breach.due_at, breach.ticket_id) == ("first_response", "breached", due, t.pk)
    assert t.resolution_due_at is not None and t.sla_check_at == t.resolution_due_at - timedelta(minutes=30)


# --- pause and resume ----------------------------------------------------------------------------


def test_pending_pauses_and_resuming_moves_the_due_time_by_the_business_time_left(org: Organization) -> None:
    paris_calendar(org)
    standard(org, resolution_minutes=8 * 60)
    created = utc(2026, 1, 12, 8)  # Monday 09:00 Paris
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    assert t.resolution_due_at == utc(2026, 1, 12, 16)
    sla_on_agent_reply(t, now=created + H / 2)
    status(t, TicketStatus.PENDING, utc(2026, 1, 12, 10))  # 11:00 Paris: 6 business hours left
    assert t.sla_paused_at == utc(2026, 1, 12, 10) and t.sla_check_at is None
    status(t, TicketStatus.OPEN, utc(2026, 1, 14, 14))  # Wednesday 15:00 Paris
    assert t.sla_paused_at is None
    assert t.resolution_due_at == utc(2026, 1, 15, 12)  # 2 h on Wednesday + 4 h on Thursday: 13:00 Paris
    assert t.sla_check_at == t.resolution_due_at - timedelta(minutes=30)


def test_a_pause_over_the_weekend_with_a_clock_time_policy(org: Organization) -> None:
    standard(org, business_hours=False, first_response_minutes=None, resolution_minutes=24 * 60)
    created = utc(2026, 1, 9, 10)  # Friday
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    status(t, TicketStatus.PENDING, utc(2026, 1, 9, 12))  # 22 h left
    status(t, TicketStatus.ON_HOLD, utc(2026, 1, 12, 8))  # on hold runs the clock again
    assert t.resolution_due_at == utc(2026, 1, 13, 6)


def test_a_target_already_missed_when_paused_stays_missed(org: Organization) -> None:
    standard(org, business_hours=False)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    missed = t.first_response_due_at
    status(t, TicketStatus.PENDING, created + 3 * H)
    status(t, TicketStatus.OPEN, created + 10 * H)
    assert t.first_response_due_at == missed
    assert t.resolution_due_at == created + 23 * H  # 13 h were left at the pause


def test_a_customer_message_while_paused_gets_its_full_target_after_the_resume(org: Organization) -> None:
    standard(org, business_hours=False)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    sla_on_agent_reply(t, now=created + H)
    status(t, TicketStatus.PENDING, created + 2 * H)
    sla_on_customer_message(t, now=created + 5 * H)
    assert t.sla_check_at is None
    status(t, TicketStatus.OPEN, created + 6 * H)
    assert t.next_response_due_at == created + 7 * H


def test_a_new_ticket_created_pending_starts_paused(org: Organization) -> None:
    standard(org, business_hours=False)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created, status=TicketStatus.PENDING)
    sla_apply(t, now=created)
    assert t.sla_paused_at == created and t.sla_check_at is None


# --- solving -----------------------------------------------------------------------------------


def test_solving_stops_every_timer_and_records_a_missed_resolution(org: Organization) -> None:
    standard(org, business_hours=False, resolution_minutes=60)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    sla_on_agent_reply(t, now=created + timedelta(minutes=10))
    due = t.resolution_due_at
    status(t, TicketStatus.SOLVED, created + 2 * H)
    assert (t.first_response_due_at, t.resolution_due_at, t.sla_check_at, t.sla_paused_at) == (None,) * 4
    assert list(SlaBreach.objects.values_list("metric", "stage", "due_at")) == [("resolution", "breached", due)]


def test_solving_in_time_records_nothing_and_a_reopen_waits_for_the_customer(org: Organization) -> None:
    standard(org, business_hours=False)
    created = utc(2026, 1, 12, 8)
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    sla_on_agent_reply(t, now=created + H)
    status(t, TicketStatus.SOLVED, created + 2 * H)
    status(t, TicketStatus.OPEN, created + 3 * H)
    assert t.sla_check_at is None
    sla_on_customer_message(t, now=created + 3 * H)
    assert t.next_response_due_at == created + 4 * H and t.resolution_due_at is None
    assert not SlaBreach.objects.exists()


# --- the clock ---------------------------------------------------------------------------------


def test_the_clock_shows_each_target_with_business_time_left_or_overdue(org: Organization) -> None:
    paris_calendar(org)
    standard(org)
    created = utc(2026, 1, 9, 15)  # Friday 16:00 Paris
    t = ticket(org, created_at=created)
    sla_apply(t, now=created)
    clock = sla_clock(t, now=utc(2026, 1, 10, 12))  # Saturday: nothing elapses
    assert [(c.metric, c.state, c.left) for c in clock] == [
        ("first_response", "ok", 1 * H),
        ("resolution", "ok", 15 * H),
    ]
    soon = sla_clock(t, now=utc(2026, 1, 12, 8, 45))  # Monday 09:45 Paris
    assert (soon[0].state, soon[0].left, soon[0].text) == ("due soon", H / 4, "15 min left")
    late = sla_clock(t, now=utc(2026, 1, 12, 11))  # Monday 12:00 Paris
    assert (late[0].state, late[0].overdue, late[0].text) == ("breached", 2 * H, "overdue 2 h")
    assert late[1].text == "12 h left"


def test_the_clock_of_a_paused_and_of_a_met_ticket(org: Organization) -> None:
    standard(org, business_hours=False)
    created = utc(2026, 1, 12, 8)
    t = Ticket.objects.get(pk=ticket(org, created_at=created).pk)
    sla_apply(t, now=created)
    sla_on_agent_reply(t, now=created + 3 * H)  # late
    status(t, TicketStatus.PENDING, created + 4 * H)
    clock = sla_clock(t, now=created + 9 * H)
    assert [(c.metric, c.state, c.text) for c in clock] == [
        ("first_response", "met", "met late"),
        ("resolution", "paused", "paused, 12 h left"),
    ]
    t.solved_at = created + 10 * H
    status(t, TicketStatus.SOLVED, created + 10 * H)
    assert [(c.state, c.met_at, c.breached) for c in sla_clock(t, now=created + 11 * H)] == [
        ("met", created + 3 * H, True),
        ("met", created + 10 * H, False),
    ]
    assert SlaBreach.objects.filter(stage=SlaStage.BREACHED).count() == 1


def test_the_clock_without_a_policy_is_empty(org: Organization) -> None:
    assert sla_clock(ticket(org, save=False), now=utc(2026, 1, 1)) == []


def test_durations_read_in_days_hours_and_minutes() -> None:
    assert [format_duration(d) for d in (timedelta(minutes=5), 2 * H, 2.25 * H, 26 * H, 48 * H)] == [
        "5 min",
        "2 h",
        "2 h 15 min",
        "1 d 2 h",
        "2 d",
    ]
