"""Demo activities for `rapport demo`: ~40,000 calls, meetings, emails, notes, SMS and chats over two years.

Deterministic choices (a fixed seed); times are spread over the two years before the day the demo
runs, on working days and hours, more of them recently. Customers and open opportunities are
contacted more often than subscribers. Written with bulk inserts in batches (activities, their
participants, one `activity.created` event each), then `Contact.last_contacted_at` is set for all
demo contacts by one UPDATE. Run again, it leaves existing demo activities as they are.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rapport.accounts.models import Membership, User
from rapport.activities.choices import Direction, Kind, Outcome, SendStatus
from rapport.activities.models import Activity, ActivityContact
from rapport.activities.search import index_in_bulk
from rapport.activities.services import last_contacted_subquery
from rapport.contacts.models import Contact
from rapport.core.models import Event
from rapport.core.principal import Principal

ACTIVITIES = 40_000
BATCH = 2_000
SEED = 20261202
DAYS = 730

KIND_WEIGHTS = {Kind.CALL: 30, Kind.EMAIL: 30, Kind.MEETING: 12, Kind.NOTE: 18, Kind.SMS: 5, Kind.CHAT: 5}
STAGE_WEIGHTS = {
    "subscriber": 1,
    "lead": 3,
    "marketing_qualified": 4,
    "sales_qualified": 6,
    "opportunity": 8,
    "customer": 7,
    "evangelist": 5,
    "other": 1,
}
OUTCOME_WEIGHTS = {
    Outcome.CONNECTED: 55,
    Outcome.VOICEMAIL: 15,
    Outcome.NO_ANSWER: 14,
    Outcome.LEFT_MESSAGE: 9,
    Outcome.BUSY: 5,
    Outcome.WRONG_NUMBER: 2,
}
TOPICS = [
    "the renewal",
    "pricing for next year",
    "the onboarding plan",
    "the support ticket backlog",
    "a product demo",
    "the integration with their ERP",
    "contract terms",
    "the pilot results",
    "training for their team",
    "the Q3 order",
    "an upgrade to the premium plan",
    "the invoice question",
]
NEXT_STEPS = [
    "Send the updated proposal",
    "Book a follow-up call in two weeks",
    "Loop in the solutions engineer",
    "Share the case study",
    "Check the contract with legal",
    "Prepare a quote",
    "Invite them to the user group",
]
MOODS = ["Positive", "Cautious but interested", "Busy this quarter", "Very keen", "Comparing with a competitor"]


def _scaled(count: int) -> int:
    return max(1, round(count * settings.DEMO_SCALE))


def _when(rng: random.Random, end: datetime) -> datetime:
    """A working-day moment in the last two years, skewed towards the recent past."""
    day = end - timedelta(days=int(DAYS * (1 - rng.random() ** 0.7)))
    if day.weekday() >= 5:
        day -= timedelta(days=day.weekday() - 4)  # the weekend's work is logged on Friday
    return day.replace(hour=rng.randrange(8, 18), minute=rng.randrange(0, 60, 5), second=0, microsecond=0)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _subject_and_body(rng: random.Random, kind: str, outcome: str, first_name: str) -> tuple[str, str]:
    topic, step, mood = rng.choice(TOPICS), rng.choice(NEXT_STEPS), rng.choice(MOODS)
    if kind == Kind.CALL:
        if outcome != Outcome.CONNECTED:
            return f"Call about {topic}", rng.choice(["", f"Tried to reach {first_name} about {topic}."])
        body = f"Talked with {first_name} about **{topic}**.\n\n- Mood: {mood}\n- Next: {step}"
        return f"Call about {topic}", body
    if kind == Kind.MEETING:
        agenda = "\n".join(f"{n}. {_upper_first(point)}" for n, point in enumerate(rng.sample(TOPICS, 3), 1))
        body = f"### Agenda\n\n{agenda}\n\n### Outcome\n\n{mood}. **Next step:** {step.lower()}."
        return rng.choice(["Catch-up", "Quarterly review", "Workshop", "Lunch"]) + f": {topic}", body
    if kind == Kind.EMAIL:
        body = (
            f"Hi {first_name},\n\nFollowing up on {topic}. {step}? "
            f"Details are on [our site](https://www.example.com/).\n\nBest regards"
        )
        return f"Re: {topic}", body
    if kind == Kind.NOTE:
        body = rng.choice(
            [
                f"{first_name} mentioned *{topic}* again. {mood}.",
                f"Internal note: {step.lower()} before the end of the month.\n\n> {mood}.",
                f"- Interested in {topic}\n- Prefers email over calls\n- {mood}",
            ]
        )
        return "", body
    return "", rng.choice([f"Quick question about {topic}.", f"{step}? Sounds good.", f"Thanks, {first_name}!"])


@transaction.atomic
def add_demo_activities(actor: Principal) -> None:
    """Fill the demo workspace's contacts with an activity history, once (after the demo contacts)."""
    if Activity.objects.filter(org_id=actor.org_id).exists():
        return
    contacts = list(
        Contact.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)
        .order_by("id")
        .values_list("pk", "first_name", "company_id", "owner_id", "team_id", "lifecycle_stage", "email")
    )
    if not contacts:
        return
    rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
    owners = list(
        Membership.objects.filter(
            org_id=actor.org_id, is_active=True, role__in=["admin", "manager", "sales", "support", "marketing"]
        ).values_list("user_id", flat=True)
    ) or [actor.user_id]
    user_emails = dict(User.objects.filter(pk__in=owners).values_list("pk", "email"))
    colleagues: dict[int, list[int]] = defaultdict(list)
    for pk, _first, company_id, *_ in contacts:
        if company_id:
            colleagues[company_id].append(pk)
    kinds, kind_weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    outcomes, outcome_weights = list(OUTCOME_WEIGHTS), list(OUTCOME_WEIGHTS.values())
    end = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    count = _scaled(ACTIVITIES)
    picked = rng.choices(contacts, weights=[STAGE_WEIGHTS.get(c[5], 1) for c in contacts], k=count)

    activities: list[Activity] = []
    participants: list[list[int]] = []
    for n, (pk, first_name, company_id, contact_owner, team_id, _stage, email) in enumerate(picked):
        kind = rng.choices(kinds, kind_weights)[0]
        direction = outcome = ""
        duration: int | None = None
        if kind in (Kind.CALL, Kind.EMAIL, Kind.SMS, Kind.CHAT):
            direction = Direction.OUTBOUND if rng.random() < 0.6 else Direction.INBOUND
        if kind == Kind.CALL:
            # An inbound call was answered; an outbound one may not have been.
            inbound = direction == Direction.INBOUND
            outcome = Outcome.CONNECTED if inbound else rng.choices(outcomes, outcome_weights)[0]
            if outcome == Outcome.CONNECTED:
                duration = int(rng.triangular(60, 2700, 420))
            elif outcome in (Outcome.VOICEMAIL, Outcome.LEFT_MESSAGE):
                duration = rng.randrange(20, 90)
            else:
                duration = 0
        elif kind == Kind.MEETING:
            duration = rng.choice([30, 45, 60, 60, 90, 120]) * 60
        subject, body = _subject_and_body(rng, kind, outcome, first_name)
        people = [pk]
        if kind == Kind.MEETING and company_id and rng.random() < 0.4:
            other = rng.choice(colleagues[company_id])
            if other != pk:
                people.append(other)
        owner_id = contact_owner if contact_owner and rng.random() < 0.8 else rng.choice(owners)
        activity = Activity(
            org_id=actor.org_id,
            created_by=actor.user,
            owner_id=owner_id,
            team_id=team_id,
            kind=kind,
            direction=direction,
            subject=subject,
            body=body,
            occurred_at=_when(rng, end),
            duration=duration,
            outcome=outcome,
            company_id=company_id,
        )
        if kind == Kind.EMAIL:
            _email_headers(activity, n, user_emails.get(owner_id, ""), email, org_id=actor.org_id)
        activities.append(activity)
        participants.append(people)

    links: list[ActivityContact] = []
    events: list[Event] = []
    now = timezone.now()
    for start in range(0, len(activities), BATCH):
        batch = Activity.objects.bulk_create(activities[start : start + BATCH])
        for activity, people in zip(batch, participants[start : start + BATCH], strict=True):
            links += [
                ActivityContact(
                    org_id=actor.org_id, activity_id=activity.pk, contact_id=pk, occurred_at=activity.occurred_at
                )
                for pk in people
            ]
            events.append(_event(actor, activity, people, now))
    for start in range(0, len(links), BATCH):
        ActivityContact.objects.bulk_create(links[start : start + BATCH])
    for start in range(0, len(events), BATCH):
        Event.objects.bulk_create(events[start : start + BATCH])
    index_in_bulk(activities)
    Contact.objects.filter(org_id=actor.org_id).update(last_contacted_at=last_contacted_subquery())


def _email_headers(activity: Activity, n: int, user_email: str, contact_email: str, *, org_id: int) -> None:
    """What a demo email carries as an email: its own Message-ID (one thread each), sender and
    recipient by direction, and "sent" for the outgoing ones."""
    activity.message_id = activity.thread_key = f"<demo-{n}.{org_id}@demo.rapport.example>"
    ours, theirs = user_email or "sales@demo.rapport.example", contact_email or "customer@example.com"
    if activity.direction == Direction.OUTBOUND:
        activity.email_from, activity.email_to = ours, [theirs]
        activity.send_status, activity.sent_at = SendStatus.SENT, activity.occurred_at
    else:
        activity.email_from, activity.email_to = theirs, [ours]


def _event(actor: Principal, activity: Activity, people: list[int], now: datetime) -> Event:
    changes: dict[str, Any] = {
        "kind": [None, activity.kind],
        "occurred_at": [None, activity.occurred_at.isoformat()],
        "contact_ids": [None, people],
    }
    return Event(
        org_id=actor.org_id,
        actor_id=actor.user_id,
        verb="activity.created",
        subject_type="activity",
        subject_id=activity.pk,
        changes=changes,
        created_at=now,
    )
