"""Demo customer service for `rapport demo`: a business calendar, three queues with routing rules,
three SLA policies, canned replies, support tiers on companies, and ~5,000 tickets over two years
with their threads, SLA outcomes, breaches, satisfaction ratings and links.

Deterministic (a fixed seed). Tickets arrive with the seasons (a January and an autumn peak, a
summer dip), the week (few at weekends), the working day of the workspace's time zone and the
growth of the customer base, plus a few outage days that bring a problem ticket and a burst of
related incidents. Each ticket's thread is simulated on the demo calendar: the first reply comes
after some business time drawn against its policy's first-response target (mostly in time, a few
late); each further exchange is a question to the customer (the ticket waits, pending, and its SLA
clock pauses), the customer's answer, and the next reply (against the next-response target); the
last reply solves it, and a solved ticket closes four days later. What is still running today is
the backlog: new, open, pending or on hold, with due times and `sla_check_at` as the SLA engine
keeps them, so the breach scan takes over from there. Every target that was missed has its
`SlaBreach` row (and its warning before). About 40 % of solved tickets have a CSAT rating, lower
when the SLA was missed. Written with one bulk insert per table (COPY on PostgreSQL), numbered from
one reserved block, one `ticket.created` event each, and indexed for global search. Run again, it
leaves an existing demo service desk as it is.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from rapport.accounts.models import Membership, Organization, Team
from rapport.contacts.models import Company, Contact
from rapport.core.bulk import insert_rows
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales.order_demo import EVENT_COLUMNS
from rapport.sales.order_services import next_number
from rapport.service import business_hours as bh
from rapport.service import demo_text as text
from rapport.service.demo_thread import DemoTicket, Policy, simulate
from rapport.service.models import (
    BusinessCalendar,
    CannedReply,
    CsatSurvey,
    Holiday,
    Queue,
    QueueMember,
    RoutingRule,
    SlaBreach,
    SlaPolicy,
    Ticket,
    TicketLink,
    TicketMessage,
)
from rapport.service.routing import matches
from rapport.service.ticket_search import index_in_bulk

TICKETS = 5_000
SEED = 20261215
DAYS = 730
OUTAGES = 8  # days with a problem ticket and a burst of incidents, over the two years
RECENT_DAYS, RECENT_FLOOR = 10, 40  # a backlog even at small scales
DUPLICATES = 0.01  # share of tickets sent twice (the second one closed as a duplicate)
TIME_ZONES = {"US": "America/New_York", "GB": "Europe/London", "FR": "Europe/Paris", "DE": "Europe/Berlin"}
TIME_ZONES |= {"ES": "Europe/Madrid", "IT": "Europe/Rome", "NL": "Europe/Amsterdam"}
# Tickets per month and weekday (Monday first), relative: renewals in January, projects in autumn.
SEASON = {1: 1.3, 2: 1.1, 3: 1.0, 4: 0.95, 5: 0.95, 6: 0.9, 7: 0.75, 8: 0.7, 9: 1.1, 10: 1.2, 11: 1.15, 12: 0.9}
WEEKDAY = (1.25, 1.15, 1.1, 1.05, 0.95, 0.2, 0.15)
PEAK = max(SEASON.values()) * max(WEEKDAY)
HOURS = [0.2] * 7 + [0.6, 1.4, 2.0, 2.0, 1.8, 1.3, 1.7, 1.8, 1.6, 1.2, 0.7, 0.5, 0.4, 0.3, 0.3, 0.2, 0.2]
CHANNELS = {"email": 45, "web": 22, "chat": 15, "phone": 12, "api": 6}
PRIORITIES = {  # by type: low, normal, high, urgent
    "question": (30, 62, 7, 1),
    "task": (35, 58, 6, 1),
    "incident": (5, 45, 36, 14),
    "problem": (0, 35, 48, 17),
}
# How likely each kind of contact is to ask for help, and each support tier.
REQUESTER_WEIGHT = {"customer": 6.0, "evangelist": 6.0, "opportunity": 2.0, "sales_qualified": 1.0}
TIER_WEIGHT = {"enterprise": 3.0, "premium": 2.0}
TIERS = (("enterprise", 0.1), ("premium", 0.25))  # share of companies; the others are standard
# (name, priorities, tiers, first response, next response, resolution in business minutes, warn before)
POLICIES: tuple[tuple[str, list[str], list[str], int, int, int, int], ...] = (
    ("Urgent", ["urgent"], [], 30, 60, 480, 15),
    ("Premium and enterprise", [], ["enterprise", "premium"], 120, 240, 1440, 30),
    ("Standard", [], [], 480, 960, 2880, 60),
)
QUEUES = (
    ("Support", "Questions, how-tos, accounts and everything no rule routes elsewhere", True),
    ("Billing", "Invoices, payments, refunds and plan changes", False),
    ("Technical", "Incidents and problems: logins, sync, API, performance", False),
)


def _scaled(count: int) -> int:
    return max(1, round(count * settings.DEMO_SCALE))


@transaction.atomic
def add_demo_service(actor: Principal) -> None:
    """Fill the demo workspace with its service desk and ticket history, once (after the contacts)."""
    org_id = actor.org_id
    if Queue.objects.filter(org_id=org_id).exists() or Ticket.objects.filter(org_id=org_id).exists():
        return
    org = Organization.objects.get(pk=org_id)
    rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
    now = timezone.now()
    calendar = _calendar(org, now)
    queues = _queues(actor)
    policies = _policies(actor)
    _canned_replies(actor)
    tiers = _tiers(org_id, rng)
    requesters = list(
        Contact.objects.filter(org_id=org_id, deleted_at__isnull=True)
        .order_by("id")
        .values_list("pk", "first_name", "company_id", "email", "lifecycle_stage", "full_name")
    )
    if not requesters:
        return
    tickets = _tickets(rng, requesters, tiers, queues, policies, calendar, now)
    first = next_number(org_id, kind="ticket", count=len(tickets))
    for number, ticket in enumerate(tickets, start=first):  # in arrival order
        ticket.number = number
        simulate(rng, ticket, calendar, now, lateness=SEASON[ticket.created_at.month])
    _write(actor, tickets, first)


# --- configuration -------------------------------------------------------------------------------


def _holidays(region: str, years: Sequence[int]) -> dict[date, str]:
    """A few public holidays of the region (moved to the nearest weekday when on a weekend)."""
    days: dict[date, str] = {}
    for year in years:
        if region == "US":
            nov_first = date(year, 11, 1)
            sept_first = date(year, 9, 1)
            may_last = date(year, 5, 31)
            days[nov_first + timedelta(days=(3 - nov_first.weekday()) % 7 + 21)] = "Thanksgiving"
            days[sept_first + timedelta(days=-sept_first.weekday() % 7)] = "Labor Day"
            days[may_last - timedelta(days=may_last.weekday())] = "Memorial Day"
            fixed = [(1, 1, "New Year's Day"), (7, 4, "Independence Day"), (12, 25, "Christmas Day")]
        else:
            fixed = [(1, 1, "New Year's Day"), (5, 1, "Labour Day"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")]
        for month, day, name in fixed:
            when = date(year, month, day)
            shift = {5: -1, 6: 1}.get(when.weekday(), 0) if region == "US" else 0
            days[when + timedelta(days=shift)] = name
    return {day: name for day, name in days.items() if day.weekday() < 5}


def _calendar(org: Organization, now: datetime) -> bh.Calendar:
    """Monday to Friday 09:00-17:00 in the workspace's time zone, with the region's holidays."""
    zone = TIME_ZONES.get(org.default_region, "UTC")
    row = BusinessCalendar.objects.create(
        org=org, time_zone=zone, hours={str(wd): [["09:00", "17:00"]] for wd in range(5)}
    )
    holidays = _holidays(org.default_region, range(now.year - 2, now.year + 2))
    Holiday.objects.bulk_create(
        [Holiday(org=org, calendar=row, date=day, name=name) for day, name in sorted(holidays.items())]
    )
    return bh.Calendar(zone, {wd: [(time(9), time(17))] for wd in range(5)}, frozenset(holidays))


def _queues(actor: Principal) -> dict[str, tuple[Queue, list[tuple[int, str]]]]:
    """The three queues (for the support team; the manager hears of breaches) with their members,
    and the routing rules: incidents and problems to Technical, trials and churn risks to Billing."""
    org_id = actor.org_id
    rows = Membership.objects.filter(org_id=org_id, is_active=True).values_list("user__email", "user_id", "user__name")
    members = {email: uid for email, uid, _ in rows}
    names = {uid: (name or email).split()[0] for email, uid, name in rows}
    support = [uid for email, uid in members.items() if email.startswith("support@")] or [actor.user_id]
    manager = members.get("manager@example.com", actor.user_id)
    team = Team.objects.filter(org_id=org_id, name="Support").first()
    extra = {"Support": [actor.user_id], "Billing": [manager], "Technical": [actor.user_id]}
    result = {}
    for name, description, default in QUEUES:
        queue = Queue.objects.create(
            org_id=org_id,
            created_by_id=actor.user_id,
            name=name,
            description=description,
            team=team,
            manager_id=manager,
            is_default=default,
        )
        agents = sorted(set(support) | set(extra[name]))
        QueueMember.objects.bulk_create([QueueMember(org_id=org_id, queue=queue, user_id=uid) for uid in agents])
        ordered = support + [uid for uid in agents if uid not in support]
        result[name] = (queue, [(uid, names.get(uid, "")) for uid in ordered])
    rules = [
        ("Incidents and problems to Technical", {"types": ["incident", "problem"]}, "Technical"),
        ("Trials and churn risks to Billing", {"tags": ["trial", "churn-risk"]}, "Billing"),
        ("Urgent API tickets to Technical", {"channels": ["api"], "priorities": ["urgent"]}, "Technical"),
    ]
    RoutingRule.objects.bulk_create(
        [
            RoutingRule(org_id=org_id, created_by_id=actor.user_id, name=n, position=i, queue=result[q][0], **cond)
            for i, (n, cond, q) in enumerate(rules)
        ]
    )
    return result


def _policies(actor: Principal) -> list[Policy]:
    result = []
    for position, (name, priorities, tiers, first, nxt, resolution, warn) in enumerate(POLICIES):
        row = SlaPolicy.objects.create(
            org_id=actor.org_id,
            created_by_id=actor.user_id,
            name=name,
            position=position,
            priorities=priorities,
            tiers=tiers,
            first_response_minutes=first,
            next_response_minutes=nxt,
            resolution_minutes=resolution,
            warn_before_minutes=warn,
        )
        result.append(Policy(row, timedelta(minutes=first), timedelta(minutes=nxt), timedelta(minutes=resolution)))
    return result


def _policy_for(policies: list[Policy], priority: str, tier: str) -> Policy:
    """The first policy by position whose conditions hold (the last one has none)."""
    return next(p for p in policies if matches(p.row.priorities, priority) and matches(p.row.tiers, tier))


def _canned_replies(actor: Principal) -> None:
    CannedReply.objects.bulk_create(
        [
            CannedReply(
                org_id=actor.org_id,
                created_by_id=actor.user_id,
                name=name,
                body=body,
                set_status=status,
                set_priority=priority,
                add_tags=list(tags),
                usage_count=0,
            )
            for name, body, status, priority, tags in text.CANNED_REPLIES
        ]
    )


def _tiers(org_id: int, rng: random.Random) -> dict[int, str]:
    """Give every demo company a support tier (a tenth enterprise, a quarter premium); id → tier."""
    ids = list(Company.objects.filter(org_id=org_id).order_by("id").values_list("pk", flat=True))
    result: dict[int, str] = {}
    for pk in ids:
        draw, tier = rng.random(), "standard"
        for name, share in TIERS:
            if draw < share:
                tier = name
                break
            draw -= share
        result[pk] = tier
    for tier in ("standard", "premium", "enterprise"):
        chosen = [pk for pk, t in result.items() if t == tier]
        for start in range(0, len(chosen), 900):  # SQLite's bound-parameter limit
            Company.objects.filter(pk__in=chosen[start : start + 900]).update(support_tier=tier)
    return result


# --- tickets -------------------------------------------------------------------------------------


def _arrivals(rng: random.Random, count: int, zone: ZoneInfo, now: datetime, days: int = DAYS) -> list[datetime]:
    """`count` arrival times over the last `days` days: a growing customer base, the season, the
    week, and the hour of the day in the desk's time zone (thinning a uniform draw)."""
    start = now - timedelta(days=days)
    hours = list(range(24))
    result: list[datetime] = []
    while len(result) < count:
        offset = rng.random()
        day = (start + timedelta(days=days * offset)).astimezone(zone)
        growth = 0.55 + 0.45 * (DAYS - days + days * offset) / DAYS
        if rng.random() * PEAK > growth * SEASON[day.month] * WEEKDAY[day.weekday()]:
            continue
        hour = rng.choices(hours, HOURS)[0]
        local = datetime.combine(day.date(), time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=zone)
        when = local.astimezone(UTC)
        if when < now:
            result.append(when)
    return result


def _arrival_times(rng: random.Random, count: int, calendar: bh.Calendar, now: datetime) -> list[datetime]:
    """The arrivals, with at least RECENT_FLOOR of them in the last RECENT_DAYS (in place of
    older ones) so that a small-scale demo still has a backlog to show."""
    zone = ZoneInfo(calendar.tz)
    result = _arrivals(rng, count, zone, now)
    cutoff = now - timedelta(days=RECENT_DAYS)
    missing = min(RECENT_FLOOR, count // 4) - sum(when > cutoff for when in result)
    if missing > 0:
        older = [when for when in result if when <= cutoff]
        rng.shuffle(older)
        result = older[missing:] + [when for when in result if when > cutoff]
        result += _arrivals(rng, missing, zone, now, RECENT_DAYS)
    return result


def _tickets(
    rng: random.Random,
    requesters: list[tuple[Any, ...]],
    tiers: dict[int, str],
    queues: dict[str, tuple[Queue, list[tuple[int, str]]]],
    policies: list[Policy],
    calendar: bh.Calendar,
    now: datetime,
) -> list[DemoTicket]:
    total = _scaled(TICKETS)
    weights = list(
        itertools.accumulate(
            REQUESTER_WEIGHT.get(stage, 0.5) * TIER_WEIGHT.get(tiers.get(company or 0, ""), 1.0)
            for _, _, company, _, stage, _ in requesters
        )
    )  # cumulative: one bisect per draw
    topics = list(text.TOPICS)
    technical = [t for t in topics if t.queue == "Technical"]
    tickets: list[DemoTicket] = []
    outages = sorted(rng.sample(range(DAYS - 3), _scaled(OUTAGES))) if total >= 200 else []
    for day in outages:  # a problem ticket, then a burst of incidents of the same topic
        topic = rng.choice(technical)
        first = now - timedelta(days=DAYS - day, hours=rng.randrange(6))
        burst = [first + timedelta(minutes=rng.randrange(5, 300)) for _ in range(rng.randrange(5, 15))]
        for n, when in enumerate([first, *sorted(burst)]):
            kind = "problem" if n == 0 else "incident"
            tickets.append(_ticket(rng, requesters, weights, tiers, queues, policies, when, topic, kind))
        for other in tickets[-len(burst) :]:
            other.related_to = tickets[-len(burst) - 1]
    for when in _arrival_times(rng, total - len(tickets), calendar, now):
        topic = rng.choices(topics, [t.weight for t in topics])[0]
        kind = rng.choices(list(topic.types), list(topic.types.values()))[0]
        tickets.append(_ticket(rng, requesters, weights, tiers, queues, policies, when, topic, kind))
    tickets.sort(key=lambda t: t.created_at)
    for index, ticket in enumerate(tickets[:-1]):  # a few customers write twice about the same thing
        later = tickets[index + 1]
        if rng.random() < DUPLICATES and ticket.related_to is None and later.related_to is None:
            later.duplicate_of = ticket
            for name in ("topic", "type", "priority", "contact", "queue", "owner_id", "agent_name", "policy"):
                setattr(later, name, getattr(ticket, name))
    return tickets


def _ticket(
    rng: random.Random,
    requesters: list[tuple[Any, ...]],
    weights: list[float],
    tiers: dict[int, str],
    queues: dict[str, tuple[Queue, list[tuple[int, str]]]],
    policies: list[Policy],
    when: datetime,
    topic: text.Topic,
    kind: str,
) -> DemoTicket:
    contact = rng.choices(requesters, cum_weights=weights)[0]
    tier = tiers.get(contact[2] or 0, "")
    priority = rng.choices(["low", "normal", "high", "urgent"], PRIORITIES[kind])[0]
    if tier == "enterprise" and priority == "normal" and rng.random() < 0.3:
        priority = "high"
    queue_name = "Technical" if kind in ("incident", "problem") else topic.queue
    queue, agents = queues[queue_name]
    channel = rng.choices(list(CHANNELS), list(CHANNELS.values()))[0]
    # The queue's own agents answer most tickets; the admin and the manager help out.
    owner, name = agents[0] if rng.random() < 0.75 else rng.choice(agents)
    return DemoTicket(
        created_at=when,
        topic=topic,
        type=kind,
        priority=priority,
        channel=channel if contact[3] or channel != "email" else "web",
        contact=contact,
        queue=queue,
        owner_id=owner,
        agent_name=name,
        policy=_policy_for(policies, priority, tier),
    )


# --- writing -------------------------------------------------------------------------------------

TICKET_COLUMNS: tuple[str, ...] = (
    "org",
    "created_at",
    "updated_at",
    "created_by",
    "version",
    "owner",
    "team",
    "number",
)
TICKET_COLUMNS += ("subject", "description", "contact", "company", "requester_email", "channel", "status")
TICKET_COLUMNS += ("priority", "type", "queue", "tags", "custom", "external_id", "sla_policy")
TICKET_COLUMNS += ("first_response_due_at", "first_responded_at", "next_response_due_at", "resolution_due_at")
TICKET_COLUMNS += ("sla_paused_at", "sla_check_at", "last_customer_message_at", "last_agent_reply_at")
TICKET_COLUMNS += ("solved_at", "closed_at")
MESSAGE_COLUMNS: tuple[str, ...] = (
    "org",
    "ticket",
    "kind",
    "author",
    "contact",
    "body",
    "channel",
    "created_at",
    "message_id",
)
MESSAGE_COLUMNS += ("in_reply_to", "email_from", "email_to", "send_status", "send_error", "sent_at")
BREACH_COLUMNS = ("org", "ticket", "policy", "metric", "stage", "due_at", "detected_at", "assignee", "queue")
CSAT_COLUMNS = ("org", "ticket", "sent_at", "rating", "comment", "answered_at", "created_at")
LINK_COLUMNS = ("org", "ticket", "other", "kind", "created_at")


def _write(actor: Principal, tickets: list[DemoTicket], first: int) -> None:
    """Insert the tickets (numbered from `first`) with their messages, breaches, surveys, links,
    `ticket.created` events and search entries."""
    org_id = actor.org_id
    at = connection.ops.adapt_datetimefield_value
    rows = []
    for t in tickets:
        rows.append(
            (org_id, at(t.created_at), at(t.updated_at), actor.user_id, 1 + len(t.messages), t.owner_id,
             t.queue.team_id, t.number, t.subject, t.description, t.contact[0], t.contact[2], t.contact[3] or "",
             t.channel, t.status, t.priority, t.type, t.queue.pk, json.dumps(t.tags), "{}",
             t.external_id, t.policy.row.pk,
             at(t.first_response_due_at), at(t.first_responded_at), at(t.next_response_due_at),
             at(t.resolution_due_at), at(t.sla_paused_at), at(t.sla_check_at), at(t.last_customer_message_at),
             at(t.last_agent_reply_at), at(t.solved_at), at(t.closed_at))
        )  # fmt: skip
    insert_rows(Ticket, TICKET_COLUMNS, rows)
    ids = dict(Ticket.objects.filter(org_id=org_id, number__gte=first).values_list("number", "pk"))
    for t in tickets:
        t.pk = ids[t.number]
    messages, breaches, surveys, links, events = [], [], [], [], []
    for t in tickets:
        messages += [
            (org_id, t.pk, m.kind, m.author_id, m.contact_id, m.body, m.channel, at(m.created_at), m.message_id,
             m.in_reply_to, m.email_from, json.dumps(m.email_to), m.send_status, "", at(m.sent_at))
            for m in t.messages
        ]  # fmt: skip
        breaches += [
            (org_id, t.pk, t.policy.row.pk, b.metric, b.stage, at(b.due_at), at(b.detected_at), t.owner_id, t.queue.pk)
            for b in t.breaches
        ]
        if t.survey is not None:
            s = t.survey
            surveys.append((org_id, t.pk, at(s.sent_at), s.rating, s.comment, at(s.answered_at), at(s.sent_at)))
        for other, kind in ((t.duplicate_of, "duplicate_of"), (t.related_to, "related")):
            if other is not None:
                links.append((org_id, t.pk, other.pk, kind, at(t.created_at)))
        changes = {"number": [None, t.number], "subject": [None, t.subject], "channel": [None, t.channel]}
        changes |= {"priority": [None, t.priority], "type": [None, t.type], "queue_id": [None, t.queue.pk]}
        events.append(
            (org_id, actor.user_id, "ticket.created", "ticket", t.pk, json.dumps(changes), "", at(t.created_at))
        )
    insert_rows(TicketMessage, MESSAGE_COLUMNS, messages)
    insert_rows(SlaBreach, BREACH_COLUMNS, breaches)
    insert_rows(CsatSurvey, CSAT_COLUMNS, surveys)
    insert_rows(TicketLink, LINK_COLUMNS, links)
    insert_rows(Event, EVENT_COLUMNS, events)
    names = {t.contact[0]: t.contact[5] for t in tickets}
    index_in_bulk(
        [
            Ticket(
                pk=t.pk, org_id=org_id, number=t.number, subject=t.subject, status=t.status, owner_id=t.owner_id,
                team_id=t.queue.team_id, contact_id=t.contact[0], requester_email=t.contact[3] or "",
                external_id=t.external_id,
            )
            for t in tickets
        ],
        names,
    )  # fmt: skip
