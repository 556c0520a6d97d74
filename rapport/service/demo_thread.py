"""One demo ticket's life (rapport.service.demo): its thread simulated on the business calendar
against its SLA policy, cut at today, with the due times, SLA pauses, breaches and survey that
follow from it. Pure Python: no database.

A thread is a script — the customer's message, then exchanges of (an optional internal note) an
agent's reply and the customer's answer to it — played out in time: agents reply after business
time drawn against the policy's targets (mostly well inside them, a few late: `lateness` scales
how many), customers answer after clock time (evenings and weekends too) while the ticket waits
on them (pending: the SLA clock pauses), and the last reply solves the ticket. Tickets that need
more work go on hold before their last reply, which then comes against what is left of the
resolution target. Whatever lies after `now` has not happened yet: that is the backlog's state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapport.service import business_hours as bh
from rapport.service import demo_text as text
from rapport.service.models import Queue, SlaPolicy

SUPPORT_ADDRESS = "support@acme-demo.example"
CLOSE_AFTER = timedelta(days=4)  # a solved ticket closes this long after (no reopening by then)
FIRST_LATE, NEXT_LATE, WORK_LATE = 0.045, 0.03, 0.2  # chance a reply misses its target (times lateness)
NEEDS_WORK = {"incident": 0.3, "problem": 0.55, "question": 0.05, "task": 0.2}
EXCHANGES = (1, 2, 3)
EXCHANGE_WEIGHTS = (52, 32, 16)
NOTE = 0.3  # chance of an internal note before a reply
MAX_MESSAGES = 6
ANSWER_MINUTES, ANSWER_WEIGHTS = (240, 2_880, 8_640), (50, 30, 20)  # the customer's mean answer time
SURVEYED, ANSWERED = timedelta(minutes=3), 0.42
RATINGS = (1, 2, 3, 4, 5)
RATING_WEIGHTS = {False: (2, 3, 8, 30, 57), True: (14, 16, 25, 25, 20)}  # by "an SLA target was missed"
PRODUCTS = ("Rapport Cloud", "Rapport Mobile", "the Outlook add-in", "the API", "Rapport Analytics")
COUNTRIES = ("France", "Germany", "the UK", "Spain", "the US")
NEW_HIRES = ("Lena Vogel", "Marc Dubois", "Priya Shah", "Tom Becker", "Ana Ruiz")


@dataclass
class Policy:
    row: SlaPolicy
    first: timedelta
    next: timedelta
    resolution: timedelta


@dataclass
class Message:
    kind: str
    created_at: datetime
    body: str
    author_id: int | None = None
    contact_id: int | None = None
    channel: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    email_from: str = ""
    email_to: list[str] = field(default_factory=list)
    send_status: str = ""
    sent_at: datetime | None = None


@dataclass
class Breach:
    metric: str
    stage: str
    due_at: datetime
    detected_at: datetime


@dataclass
class Survey:
    sent_at: datetime
    rating: int | None = None
    comment: str = ""
    answered_at: datetime | None = None


@dataclass
class DemoTicket:
    """A ticket to write; `contact` is the requester row (id, first name, company id, email, …)."""

    created_at: datetime
    topic: text.Topic
    type: str
    priority: str
    channel: str
    contact: tuple[Any, ...]
    queue: Queue
    owner_id: int
    agent_name: str
    policy: Policy
    number: int = 0
    pk: int = 0
    subject: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    external_id: str = ""
    status: str = "new"
    updated_at: datetime | None = None
    first_response_due_at: datetime | None = None
    first_responded_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    sla_paused_at: datetime | None = None
    sla_check_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    messages: list[Message] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    survey: Survey | None = None
    duplicate_of: DemoTicket | None = None
    related_to: DemoTicket | None = None


def _late(rng: random.Random, target: timedelta, chance: float) -> timedelta:
    """Business time until a reply: usually a fraction of the target, with `chance` past it."""
    if rng.random() < chance:
        return target * rng.uniform(1.05, 2.5)
    return max(timedelta(minutes=1), target * rng.betavariate(1.3, 3.5))


def _fill(rng: random.Random, t: DemoTicket) -> dict[str, str]:
    return {
        "first": t.contact[1] or "there",
        "agent": t.agent_name,
        "email": t.contact[3] or "my usual address",
        "invoice": f"INV-{t.created_at.year}-{rng.randrange(1000, 9999)}",
        "po": f"PO-{rng.randrange(10000, 99999)}",
        "order": str(rng.randrange(1001, 60000)),
        "product": rng.choice(PRODUCTS),
        "digits": f"{rng.randrange(10000):04d}",
        "plan": rng.choice(text.PLANS),
        "n": str(rng.randrange(3, 40)),
        "date": (t.created_at - timedelta(days=rng.randrange(1, 4))).strftime("%B %d"),
        "error": rng.choice(text.ERRORS),
        "request_id": f"req_{rng.getrandbits(48):012x}",
        "feature": rng.choice(text.FEATURES),
        "name": rng.choice(NEW_HIRES),
        "country": rng.choice(COUNTRIES),
    }


def _script(rng: random.Random, t: DemoTicket, fill: dict[str, str]) -> list[tuple[str, str]]:
    """The thread's steps as (kind, body): customer, [note], reply, customer, …, reply."""
    topic = t.topic
    t.subject = rng.choice(topic.subjects).format_map(fill)
    t.description = rng.choice(topic.asks).format_map(fill)
    if t.duplicate_of is not None:
        original = t.duplicate_of
        t.subject, t.description = original.subject, original.description
        ref = f"#{original.number}"
        return [
            ("customer", t.description),
            ("note", f"Duplicate of {ref}, answered there."),
            ("reply", f"Hi {fill['first']},\n\nWe are already on this in ticket {ref}; I'm closing this copy so "
                      f"everything stays in one place.\n\nBest regards,\n{t.agent_name}"),
        ]  # fmt: skip
    steps = [("customer", t.description)]
    exchanges = rng.choices(EXCHANGES, EXCHANGE_WEIGHTS)[0]
    for n in range(exchanges):
        last = n == exchanges - 1
        if rng.random() < NOTE:
            steps.append(("note", rng.choice(topic.notes).format_map(fill)))
        if last and rng.random() < NEEDS_WORK[t.type]:
            steps.append(("hold", rng.choice(text.HOLD_NOTES)))
        steps.append(("reply", rng.choice(topic.fixes if last else topic.replies).format_map(fill)))
        if not last:
            steps.append(("customer", rng.choice(topic.followups).format_map(fill)))
    while len(steps) > MAX_MESSAGES:  # drop notes (the hold last) until the thread fits
        kind = "note" if any(kind == "note" for kind, _ in steps) else "hold"
        steps.remove(next(step for step in steps if step[0] == kind))
    return steps


@dataclass
class _Timers:
    """The SLA timers while a thread plays out, kept as `rapport.service.sla` keeps them."""

    first_due: datetime
    resolution_due: datetime
    next_due: datetime | None = None
    waiting_since: datetime | None = None  # pending: the customer is to answer the last reply
    targets: list[tuple[str, datetime, datetime | None]] = field(default_factory=list)  # (metric, due, met at)

    def resume(self, cal: bh.Calendar, at: datetime) -> None:
        """Leaving pending at `at`: an unmet due time moves out by the business time that was
        left at the pause (one missed before the pause stays where it was)."""
        paused = self.waiting_since
        assert paused is not None
        if self.resolution_due > paused:
            self.resolution_due = bh.add_business_time(
                cal, at, bh.business_time_between(cal, paused, self.resolution_due)
            )
        self.waiting_since = None


def _when(
    rng: random.Random, t: DemoTicket, cal: bh.Calendar, step: str, clock: datetime, timers: _Timers, late: float
) -> datetime:
    """When the next step of the thread happens (agents within business hours, customers any time)."""
    policy = t.policy
    if step == "customer":  # most answer within hours, some after days
        return clock + timedelta(minutes=10 + rng.expovariate(1 / rng.choices(ANSWER_MINUTES, ANSWER_WEIGHTS)[0]))
    if step in ("note", "hold"):
        return bh.add_business_time(cal, clock, timedelta(minutes=rng.randrange(5, 90)))
    if t.first_responded_at is None:
        return max(bh.add_business_time(cal, t.created_at, _late(rng, policy.first, FIRST_LATE * late)), clock)
    if any(m.body in text.HOLD_NOTES for m in t.messages):  # the work left, against the resolution target
        left = max(bh.business_time_between(cal, clock, timers.resolution_due), policy.next)
        work = left * rng.uniform(1.05, 2) if rng.random() < WORK_LATE * late else left * rng.uniform(0.3, 0.95)
        return bh.add_business_time(cal, clock, work)
    return bh.add_business_time(cal, clock, _late(rng, policy.next, NEXT_LATE * late))


def simulate(rng: random.Random, t: DemoTicket, cal: bh.Calendar, now: datetime, lateness: float) -> None:
    """Play the ticket's thread out until `now` and set everything that follows from it."""
    fill = _fill(rng, t)
    steps = _script(rng, t, fill)
    t.tags = list(t.topic.tags[: rng.randrange(1, len(t.topic.tags) + 1)])
    if t.duplicate_of is not None:
        t.tags.append("duplicate")
    if t.related_to is not None or (t.type == "problem" and rng.random() < 0.5):
        t.tags.append("outage")
    policy = t.policy
    timers = _Timers(
        first_due=bh.add_business_time(cal, t.created_at, policy.first),
        resolution_due=bh.add_business_time(cal, t.created_at, policy.resolution),
    )
    clock, state = t.created_at, "solved"
    for index, (kind, body) in enumerate(steps):
        when = t.created_at if index == 0 else _when(rng, t, cal, kind, clock, timers, lateness)
        if when > now:
            state = _state_before(t, kind)
            break
        if kind == "customer" and index > 0:
            timers.resume(cal, when)
            timers.next_due = bh.add_business_time(cal, when, policy.next)
        elif kind == "reply":
            if t.first_responded_at is None:
                timers.targets.append(("first_response", timers.first_due, when))
                t.first_responded_at = when
            elif timers.next_due is not None:
                timers.targets.append(("next_response", timers.next_due, when))
            timers.next_due, timers.waiting_since = None, when
        clock = when
        t.messages.append(_message(rng, t, kind, body, when))
    _settle(t, timers, state, clock, now)
    _outcomes(rng, t, timers.targets, timedelta(minutes=policy.row.warn_before_minutes), now)
    if t.solved_at is not None:
        t.survey = _survey(rng, t, now, missed=any(b.stage == "breached" for b in t.breaches))
    customer = [m.created_at for m in t.messages if m.kind == "customer"]
    replies = [m.created_at for m in t.messages if m.kind == "reply"]
    t.last_customer_message_at = customer[-1] if customer else None
    t.last_agent_reply_at = replies[-1] if replies else None
    t.updated_at = max([clock, *([t.closed_at] if t.closed_at else [])])
    t.external_id = f"CHAT-{t.number}" if t.channel == "api" else ""


def _state_before(t: DemoTicket, step: str) -> str:
    """The status of a ticket whose next step has not happened yet."""
    if step == "customer":
        return "pending"  # an agent asked; the customer has not answered
    if any(m.body in text.HOLD_NOTES for m in t.messages):
        return "on_hold"
    return "open" if t.messages[1:] else "new"


def _settle(t: DemoTicket, timers: _Timers, state: str, clock: datetime, now: datetime) -> None:
    """The ticket's status and SLA fields where the thread stands: a solved ticket has no running
    targets (closed four days on); a pending one keeps its due times, paused; an active one has
    the due times of its unmet targets."""
    if state == "solved":
        t.solved_at = clock
        timers.targets.append(("resolution", timers.resolution_due, clock))
        if clock + CLOSE_AFTER <= now:
            state, t.closed_at = "closed", clock + CLOSE_AFTER
    elif state == "pending":  # nothing comes due while paused; a target missed before stays missed
        t.sla_paused_at = timers.waiting_since
        t.resolution_due_at = timers.resolution_due
        timers.targets.append(("resolution", timers.resolution_due, timers.waiting_since))
    else:
        if t.first_responded_at is None:
            t.first_response_due_at = timers.first_due
            timers.targets.append(("first_response", timers.first_due, None))
        if timers.next_due is not None:
            t.next_response_due_at = timers.next_due
            timers.targets.append(("next_response", timers.next_due, None))
        t.resolution_due_at = timers.resolution_due
        timers.targets.append(("resolution", timers.resolution_due, None))
    t.status = state


def _outcomes(
    rng: random.Random,
    t: DemoTicket,
    targets: list[tuple[str, datetime, datetime | None]],
    warn: timedelta,
    now: datetime,
) -> None:
    """What the breach scan (run every minute) and the SLA hooks recorded for each target: a
    warning once it came within `warn` of its due time, a breach once it was missed. Then
    `sla_check_at` as a write leaves it: the earliest warning moment of the unmet targets, even a
    past one (the scan looks, finds it recorded, and moves on); empty while paused or solved."""
    checks: list[datetime] = []
    for metric, due, met in targets:
        end = met or now
        lag = timedelta(seconds=rng.randrange(5, 60))
        warned = max(due - warn, t.created_at)
        if warned <= end and warned < due:
            t.breaches.append(Breach(metric, "warning", due, min(warned + lag, due, end)))
        if due <= end:
            t.breaches.append(Breach(metric, "breached", due, min(due + lag, end)))
        if met is None:
            checks.append(due - warn)
    t.sla_check_at = min(checks) if checks else None


def _message(rng: random.Random, t: DemoTicket, kind: str, body: str, when: datetime) -> Message:
    contact_id, _, _, email, *_ = t.contact
    if kind == "customer":
        by_email = bool(email) and (t.channel == "email" or len(t.messages) > 0)
        return Message(
            "customer", when, body, contact_id=contact_id, channel="email" if by_email else t.channel,
            message_id=f"<{rng.getrandbits(64):016x}@{email.rsplit('@', 1)[-1]}>" if by_email else "",
            in_reply_to=_last_id(t, "reply") if by_email and t.messages else "",
            email_from=email if by_email else "", email_to=[SUPPORT_ADDRESS] if by_email else [],
        )  # fmt: skip
    if kind in ("note", "hold"):
        return Message("note", when, body, author_id=t.owner_id)
    if not email:
        return Message("reply", when, body, author_id=t.owner_id, channel=t.channel)
    return Message(
        "reply", when, body, author_id=t.owner_id, channel="email",
        message_id=f"<ticket-{t.number}.{len(t.messages)}@acme-demo.example>", in_reply_to=_last_id(t, "customer"),
        email_from=SUPPORT_ADDRESS, email_to=[email], send_status="sent", sent_at=when,
    )  # fmt: skip


def _last_id(t: DemoTicket, kind: str) -> str:
    return next((m.message_id for m in reversed(t.messages) if m.kind == kind and m.message_id), "")


def _survey(rng: random.Random, t: DemoTicket, now: datetime, *, missed: bool) -> Survey | None:
    """Sent when solved to a requester with an address; about 40 % of them answer, less happily
    when an SLA target was missed."""
    assert t.solved_at is not None
    sent = t.solved_at + SURVEYED
    if not t.contact[3] or sent > now:
        return None
    survey = Survey(sent_at=sent)
    if rng.random() < ANSWERED:
        answered = sent + timedelta(minutes=2 + rng.expovariate(1 / 300))
        if answered <= now:
            rating = rng.choices(RATINGS, RATING_WEIGHTS[missed])[0]
            comments = text.GOOD_COMMENTS if rating >= 4 else text.MIXED_COMMENTS if rating == 3 else text.BAD_COMMENTS
            survey.rating, survey.comment, survey.answered_at = rating, rng.choice(comments), answered
    return survey
