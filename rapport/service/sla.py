"""SLA timers of tickets (issue 6): which policy applies, when each target falls due, pauses.

A ticket's policy is the first active `SlaPolicy` by position whose conditions all match: the
ticket's priority, its company's `support_tier`, and tags (any of the ticket's own tags, the
requester's or the company's). Its targets are counted in business time of the workspace calendar
(`calendar_for`) when `policy.business_hours` is on, else in clock time. Three targets:

* first response — from the ticket's creation until the first public reply;
* next response — from a customer message (after the first reply) until the next public reply;
* resolution — from creation until the ticket is solved; counted once (a reopened ticket gets
  response targets again, not a second resolution target).

The due times live on the ticket (`*_due_at`; empty when the policy has no such target or it was
met). While the ticket is pending on the customer the timers pause (`sla_paused_at`); leaving
pending moves every unmet due time out by the business time that was left at the pause, counted
from the resume. A target already missed when the pause began stays missed.

`sla_check_at` is the next moment the breach scan (`rapport.service.sla_scan`) must look at the
ticket: the earliest warning moment (due time minus `warn_before_minutes`, in clock time) or due
time of the unmet targets; empty while paused or when nothing is pending. The write functions set
it to the earliest of all those moments, even a past one: the scan then looks, finds what it has
already recorded, and moves it on to the next moment after its run.

Every function here changes the in-memory ticket only (the fields in `SLA_FIELDS`); the caller
saves it in its own transaction. A target found missed when it is met or stopped (a reply or a
solve after the due time, before the scan saw it) is recorded as a breach row right away, so every
breach is recorded even when the scan did not run in between; escalation actions run only from the
scan.

Changing the priority, tags or requester re-picks the policy (`sla_apply`); due times are kept
when the policy stays the same and recomputed from the ticket's start moments when it changes
(earlier pauses are then not credited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from rapport.service.business_hours import Calendar, add_business_time, business_time_between
from rapport.service.calendar_services import build_calendar
from rapport.service.models import (
    BusinessCalendar,
    Holiday,
    SlaBreach,
    SlaMetric,
    SlaPolicy,
    SlaStage,
    Ticket,
    TicketStatus,
)
from rapport.service.routing import customer_tags, matches, tags_match

__all__ = [
    "DUE_FIELDS",
    "SLA_FIELDS",
    "SlaTarget",
    "calendar_for",
    "format_duration",
    "policy_calendar",
    "policy_for",
    "sla_apply",
    "sla_clock",
    "sla_on_agent_reply",
    "sla_on_customer_message",
    "sla_on_status",
]

# The ticket fields these functions may change (for `save(update_fields=...)`).
SLA_FIELDS = (
    "sla_policy",
    "first_response_due_at",
    "first_responded_at",
    "next_response_due_at",
    "resolution_due_at",
    "sla_paused_at",
    "sla_check_at",
)
# Each metric and the ticket field holding its due time.
DUE_FIELDS: dict[str, str] = {
    SlaMetric.FIRST_RESPONSE: "first_response_due_at",
    SlaMetric.NEXT_RESPONSE: "next_response_due_at",
    SlaMetric.RESOLUTION: "resolution_due_at",
}
DONE = (TicketStatus.SOLVED, TicketStatus.CLOSED)
PAUSING = TicketStatus.PENDING


# ---------------------------------------------------------------------------------------------
# calendar and policy


def calendar_for(org_id: int) -> Calendar:
    """The workspace's business calendar (working hours per weekday, time zone, holidays) as a
    `business_hours.Calendar`; 24/7 in UTC when the workspace has none or it has no working hours.
    Two queries."""
    stored = BusinessCalendar.objects.filter(org_id=org_id).first()
    if stored is None:
        return Calendar.always("UTC")
    hours = {weekday: pairs for weekday, pairs in (stored.hours or {}).items() if pairs}
    if not hours:
        return Calendar.always(stored.time_zone or "UTC")
    holidays = Holiday.objects.filter(calendar_id=stored.pk).values_list("date", flat=True)
    return build_calendar(stored.time_zone or "UTC", hours, holidays)


def policy_calendar(policy: SlaPolicy, business: Calendar | None = None) -> Calendar:
    """The calendar a policy's targets count in: the workspace's (`business`, else loaded) when
    `business_hours` is on, else 24/7."""
    if not policy.business_hours:
        return Calendar.always("UTC")
    return business if business is not None else calendar_for(policy.org_id)


def policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The first active policy by position that matches the ticket's priority, its company's
    support tier and the tags of the ticket, requester or company; None when none does."""
    policies = SlaPolicy.objects.filter(org_id=ticket.org_id, active=True, deleted_at__isnull=True).order_by(
        "position", "id"
    )
    tags: set[str] | None = None
    tier: str | None = None
    for policy in policies:
        if not matches(policy.priorities, ticket.priority):
            continue
        if policy.tiers:
            if tier is None:
                tier = (ticket.company.support_tier if ticket.company_id and ticket.company else "") or ""
            if tier not in policy.tiers:
                continue
        if policy.tags:
            if tags is None:
                tags = customer_tags(ticket) | {str(tag).casefold() for tag in ticket.tags or []}
            if not tags_match(policy.tags, tags):
                continue
        return policy
    return None


def _minutes(value: int | None) -> timedelta | None:
    return timedelta(minutes=value) if value else None


# ---------------------------------------------------------------------------------------------
# the check moment


def check_moments(ticket: Ticket, policy: SlaPolicy) -> list[datetime]:
    """The moments the scan must look at the ticket: warning and due time of each unmet target."""
    warn = _minutes(policy.warn_before_minutes)
    moments: list[datetime] = []
    for name in DUE_FIELDS.values():
        due = getattr(ticket, name)
        if due is not None:
            moments.append(due)
            if warn:
                moments.append(due - warn)
    return moments


def next_check(ticket: Ticket, policy: SlaPolicy | None, *, after: datetime | None = None) -> datetime | None:
    """The earliest check moment (after `after` when given); None while paused or stopped."""
    if policy is None or ticket.sla_paused_at is not None or ticket.status in DONE:
        return None
    moments = check_moments(ticket, policy)
    if after is not None:
        moments = [m for m in moments if m > after]
    return min(moments, default=None)


def _refresh_check(ticket: Ticket) -> None:
    ticket.sla_check_at = next_check(ticket, ticket.sla_policy)


# ---------------------------------------------------------------------------------------------
# breaches found outside the scan


def breach_row(ticket: Ticket, metric: str, stage: str, due_at: datetime, *, now: datetime) -> SlaBreach:
    """An unsaved breach row for a target of the ticket as it is now (assignee, queue, policy)."""
    return SlaBreach(
        org_id=ticket.org_id,
        ticket_id=ticket.pk,
        policy_id=ticket.sla_policy_id,
        metric=metric,
        stage=stage,
        due_at=due_at,
        detected_at=now,
        assignee_id=ticket.owner_id,
        queue_id=ticket.queue_id,
    )


def record_breach(ticket: Ticket, metric: str, stage: str, due_at: datetime, *, now: datetime) -> bool:
    """Record a warning or breach row once per (ticket, metric, stage, due time); False when it was
    already recorded. Runs in a savepoint so a concurrent duplicate leaves the caller's
    transaction usable."""
    if ticket.pk is None:
        return False
    if SlaBreach.objects.filter(ticket_id=ticket.pk, metric=metric, stage=stage, due_at=due_at).exists():
        return False
    try:
        with transaction.atomic():
            breach_row(ticket, metric, stage, due_at, now=now).save()
    except IntegrityError:
        return False
    return True


def _stop(ticket: Ticket, metric: str, *, now: datetime) -> None:
    """End one target's timer (met or stopped at `now`), recording a breach if it was missed."""
    name = DUE_FIELDS[metric]
    due = getattr(ticket, name)
    if due is not None and due < (ticket.sla_paused_at or now):
        record_breach(ticket, metric, SlaStage.BREACHED, due, now=now)
    setattr(ticket, name, None)


# ---------------------------------------------------------------------------------------------
# the write hooks


def _clear(ticket: Ticket) -> None:
    for name in DUE_FIELDS.values():
        setattr(ticket, name, None)
    ticket.sla_paused_at = None
    ticket.sla_check_at = None


def sla_apply(ticket: Ticket, *, now: datetime) -> None:
    """(Re)pick the ticket's policy and, when it changed, set the due times from the ticket's start
    moments (creation; the last customer message for the next response) and the check moment.
    A pending ticket starts paused; a solved or closed one has no running targets."""
    policy = policy_for(ticket)
    changed = policy is None or policy.pk != ticket.sla_policy_id
    ticket.sla_policy = policy
    if policy is None:
        _clear(ticket)
        return
    if ticket.status in DONE:
        _clear(ticket)
        return
    if changed:
        cal = policy_calendar(policy)
        start = ticket.created_at or now
        first = _minutes(policy.first_response_minutes)
        nxt = _minutes(policy.next_response_minutes)
        resolution = _minutes(policy.resolution_minutes)
        waiting = ticket.last_customer_message_at is not None and (
            ticket.last_agent_reply_at is None or ticket.last_customer_message_at > ticket.last_agent_reply_at
        )
        ticket.first_response_due_at = (
            add_business_time(cal, start, first) if first and ticket.first_responded_at is None else None
        )
        ticket.next_response_due_at = (
            add_business_time(cal, ticket.last_customer_message_at, nxt)
            if nxt and waiting and ticket.first_responded_at is not None and ticket.last_customer_message_at
            else None
        )
        ticket.resolution_due_at = add_business_time(cal, start, resolution) if resolution else None
    if ticket.status == PAUSING and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    _refresh_check(ticket)


def sla_on_agent_reply(ticket: Ticket, *, now: datetime) -> None:
    """A public reply: meets the first response (sets `first_responded_at`) and stops the
    next-response timer; either one missed is recorded as a breach."""
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
        _stop(ticket, SlaMetric.FIRST_RESPONSE, now=now)
    _stop(ticket, SlaMetric.NEXT_RESPONSE, now=now)
    _refresh_check(ticket)


def sla_on_customer_message(ticket: Ticket, *, now: datetime) -> None:
    """A customer message: the customer waits for an answer. Starts the next-response timer (or,
    before any reply, a first-response timer that is not running, e.g. after a reopen). A timer
    already running keeps its due time."""
    policy = ticket.sla_policy
    if policy is None or ticket.status in DONE:
        return
    # Started at the pause moment while paused, so the resume credits exactly the full target.
    start = ticket.sla_paused_at or now
    if ticket.first_responded_at is None:
        metric, minutes = SlaMetric.FIRST_RESPONSE, policy.first_response_minutes
    else:
        metric, minutes = SlaMetric.NEXT_RESPONSE, policy.next_response_minutes
    name = DUE_FIELDS[metric]
    target = _minutes(minutes)
    if target and getattr(ticket, name) is None:
        setattr(ticket, name, add_business_time(policy_calendar(policy), start, target))
    _refresh_check(ticket)


def sla_on_status(ticket: Ticket, old_status: str, *, now: datetime) -> None:
    """A status change (the ticket already has the new one): pending pauses the timers, leaving
    pending resumes them (unmet due times move out by the business time left at the pause),
    solved or closed stops them (missed targets are recorded as breaches)."""
    new = ticket.status
    if new == old_status:
        return
    if new in DONE:
        if old_status not in DONE:
            for metric in DUE_FIELDS:
                _stop(ticket, metric, now=now)
        _clear(ticket)
        return
    if new == PAUSING:
        if ticket.sla_paused_at is None:
            ticket.sla_paused_at = now
        ticket.sla_check_at = None
        return
    paused_at = ticket.sla_paused_at
    if paused_at is not None:
        policy = ticket.sla_policy
        cal = policy_calendar(policy) if policy is not None else None
        for name in DUE_FIELDS.values():
            due = getattr(ticket, name)
            if cal is not None and due is not None and due > paused_at:
                setattr(ticket, name, add_business_time(cal, now, business_time_between(cal, paused_at, due)))
        ticket.sla_paused_at = None
    _refresh_check(ticket)


# ---------------------------------------------------------------------------------------------
# the clock (read)


@dataclass(frozen=True)
class SlaTarget:
    """One target of a ticket as its page and the API show it. `left` is the business time left
    (while running or paused), `overdue` the business time past the due time (when breached and
    still unmet), `met_at` when it was met; `breached` also tells whether a met target was late."""

    metric: str
    label: str
    state: str  # "met", "ok", "due soon", "breached", "paused"
    due_at: datetime | None
    met_at: datetime | None = None
    left: timedelta | None = None
    overdue: timedelta | None = None
    breached: bool = False

    @property
    def text(self) -> str:
        """A short human summary, e.g. "2 h 15 min left", "overdue 1 h", "met"."""
        if self.state == "met":
            return "met late" if self.breached else "met"
        if self.overdue is not None:
            return f"overdue {format_duration(self.overdue)}"
        if self.left is not None:
            prefix = "paused, " if self.state == "paused" else ""
            return f"{prefix}{format_duration(self.left)} left"
        return self.state


def format_duration(span: timedelta) -> str:
    """A business-time span as "3 d 2 h", "2 h 15 min", "5 min" (days of 24 h of business time)."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _running(metric: str, due: datetime, ticket: Ticket, policy: SlaPolicy, cal: Calendar, now: datetime) -> SlaTarget:
    label = SlaMetric(metric).label
    paused_at = ticket.sla_paused_at
    at = paused_at or now
    if at >= due:
        return SlaTarget(metric, label, "breached", due, overdue=business_time_between(cal, due, at), breached=True)
    left = business_time_between(cal, at, due)
    if paused_at is not None:
        state = "paused"
    elif policy.warn_before_minutes and now >= due - timedelta(minutes=policy.warn_before_minutes):
        state = "due soon"
    else:
        state = "ok"
    return SlaTarget(metric, label, state, due, left=left)


def sla_clock(ticket: Ticket, *, now: datetime) -> list[SlaTarget]:
    """The ticket's SLA targets with their state (met / ok / due soon / breached / paused) and the
    business time left or overdue, in the order first response, next response, resolution. Empty
    without a policy. One query for the breaches recorded (plus the calendar's two)."""
    policy = ticket.sla_policy
    if policy is None:
        return []
    cal = policy_calendar(policy)
    late = (
        set(SlaBreach.objects.filter(ticket_id=ticket.pk, stage=SlaStage.BREACHED).values_list("metric", flat=True))
        if ticket.pk
        else set()
    )
    targets: list[SlaTarget] = []
    met: dict[str, datetime | None] = {
        SlaMetric.FIRST_RESPONSE: ticket.first_responded_at if policy.first_response_minutes else None,
        SlaMetric.NEXT_RESPONSE: None,
        SlaMetric.RESOLUTION: ticket.solved_at if policy.resolution_minutes else None,
    }
    for metric, name in DUE_FIELDS.items():
        due = getattr(ticket, name)
        if due is not None:
            targets.append(_running(metric, due, ticket, policy, cal, now))
        elif met[metric] is not None:
            label = SlaMetric(metric).label
            targets.append(SlaTarget(metric, label, "met", None, met_at=met[metric], breached=metric in late))
    return targets
