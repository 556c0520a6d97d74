"""The service dashboard's figures for one period and (optionally) one queue, over the tickets the
actor may read (the ticket levels: OWN = assigned to me, TEAM = my teams' queues).

Now (whatever the period) — the backlog, the unsolved tickets (new, open, pending, on hold):
- how many by status, by priority and by queue;
- their age since creation in buckets: < 1 day, 1-3 days, 3-7 days, 7-30 days, > 30 days.
In the period (local days, as the sales dashboard's periods):
- first-response time of the tickets created in the period that were answered (created → first
  public reply) and resolution time of the tickets solved in the period (created → solved):
  median and 90th percentile, in hours of clock time (the SLA figures count business time);
- SLA compliance per metric, of the tickets created in the period under a policy with a target for
  that metric whose outcome is known: breached (a `SlaBreach` at stage "breached") or met (first
  response: answered without a breach; next response and resolution: solved without a breach).
  Compliance = 1 - breached / known; None when nothing is known yet;
- CSAT: the average rating (1 to 5) and the number of ratings answered in the period, the count of
  each rating, and the average per week (periods up to 92 days) or per month;
- tickets created and tickets solved per week or month.

Cost: a constant number of queries whatever the number of tickets — one grouped query for the
backlog, one column of durations each for first response and resolution (percentiles need the
values), one aggregate for SLA compliance, two grouped queries for CSAT and two for the
created / solved series. Nothing loops over tickets in Python but the duration columns.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity, scope
from rapport.core.errors import ValidationFailed
from rapport.core.principal import Principal
from rapport.sales.dashboard import PERIODS, Period, period_for
from rapport.service.models import (
    UNSOLVED,
    CsatSurvey,
    Queue,
    SlaBreach,
    SlaMetric,
    SlaStage,
    Ticket,
    TicketPriority,
    TicketStatus,
)

__all__ = ["PERIODS", "Period", "dashboard_queues", "period_for", "pick_queue", "service_dashboard"]

# (label, lower bound in days, upper bound in days or None)
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("<1 day", 0, 1),
    ("1-3 days", 1, 3),
    ("3-7 days", 3, 7),
    ("7-30 days", 7, 30),
    (">30 days", 30, None),
)
WEEKLY_UP_TO_DAYS = 92  # longer periods are told per month
# The policy field holding each metric's target: a ticket counts for a metric only under a target.
TARGET_FIELD = {
    SlaMetric.FIRST_RESPONSE: "sla_policy__first_response_minutes",
    SlaMetric.NEXT_RESPONSE: "sla_policy__next_response_minutes",
    SlaMetric.RESOLUTION: "sla_policy__resolution_minutes",
}


@dataclass
class Tally:
    key: str
    label: str
    count: int = 0


@dataclass
class Times:
    """Durations in hours: median and 90th percentile (None without a ticket)."""

    count: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None


@dataclass
class Compliance:
    metric: str
    label: str
    met: int = 0
    breached: int = 0

    @property
    def known(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        return self.met / self.known if self.known else None


@dataclass
class Bucket:
    """One week or month of the period: `start` is its first day."""

    start: date
    created: int = 0
    solved: int = 0
    csat_count: int = 0
    csat_average: float | None = None


@dataclass
class ServiceDashboard:
    period: Period
    queue: Queue | None
    open_count: int
    by_status: list[Tally]
    by_priority: list[Tally]
    by_queue: list[Tally]
    by_age: list[Tally]
    first_response: Times
    resolution: Times
    compliance: list[Compliance]
    csat_average: float | None
    csat_count: int
    csat_ratings: dict[int, int]
    granularity: str  # "week" or "month"
    buckets: list[Bucket] = field(default_factory=list)


# --- filters ------------------------------------------------------------------------------------


def dashboard_queues(*, actor: Principal) -> list[Queue]:
    """The workspace's live queues by name (the dashboard's queue choices)."""
    require_entity(actor, Entity.TICKET, Mode.READ)
    return list(Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).order_by("name", "id"))


def pick_queue(queues: list[Queue], queue_id: int | None) -> Queue | None:
    """`queue_id`'s queue among `queues` (None: every queue); 422 for one that is not there."""
    if queue_id is None:
        return None
    for queue in queues:
        if queue.pk == queue_id:
            return queue
    raise ValidationFailed("invalid_queue", "Choose one of the workspace's queues.", field="queue_id")


# --- figures ------------------------------------------------------------------------------------


def _tickets(actor: Principal, queue: Queue | None) -> QuerySet[Ticket]:
    qs = scope(actor, Ticket.objects.filter(deleted_at__isnull=True), Entity.TICKET)
    return qs.filter(queue_id=queue.pk) if queue is not None else qs


def _backlog(tickets: QuerySet[Ticket], now: datetime) -> tuple[list[Tally], list[Tally], list[Tally], list[Tally]]:
    """Unsolved tickets by status, priority, queue and age: one grouped query."""
    ages = {
        f"age{i}": Count(
            "id",
            filter=Q(created_at__lte=now - timedelta(days=low))
            & (Q(created_at__gt=now - timedelta(days=high)) if high is not None else Q()),
        )
        for i, (_, low, high) in enumerate(AGE_BUCKETS)
    }
    rows = (
        tickets.filter(status__in=UNSOLVED)
        .values("status", "priority", "queue_id", "queue__name")
        .annotate(n=Count("id"), **ages)
        .order_by()
    )
    statuses = {s.value: Tally(s.value, s.label) for s in TicketStatus if s in UNSOLVED}
    priorities = {p.value: Tally(p.value, p.label) for p in reversed(TicketPriority)}
    queues: dict[str, Tally] = {}
    by_age = [Tally(str(i), label) for i, (label, _, _) in enumerate(AGE_BUCKETS)]
    for row in rows:
        statuses[row["status"]].count += row["n"]
        if row["priority"] in priorities:
            priorities[row["priority"]].count += row["n"]
        key = str(row["queue_id"] or "")
        queues.setdefault(key, Tally(key, row["queue__name"] or "No queue")).count += row["n"]
        for i, bucket in enumerate(by_age):
            bucket.count += row[f"age{i}"]
    by_queue = sorted(queues.values(), key=lambda c: (-c.count, c.key == "", c.label.lower()))
    return list(statuses.values()), list(priorities.values()), by_queue, by_age


def _times(durations: list[timedelta]) -> Times:
    """Median and 90th percentile (linear interpolation between the closest ranks, as numpy's
    default and `statistics.quantiles(method="inclusive")`) of `durations`, in hours."""
    hours = sorted(d / timedelta(hours=1) for d in durations if d is not None)
    if not hours:
        return Times()
    p90 = hours[0] if len(hours) == 1 else statistics.quantiles(hours, n=10, method="inclusive")[8]
    return Times(count=len(hours), median_hours=statistics.median(hours), p90_hours=p90)


def _duration(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _compliance(cohort: QuerySet[Ticket]) -> list[Compliance]:
    """Met and breached per metric of the cohort's tickets under a target (one aggregate query)."""
    done = {
        SlaMetric.FIRST_RESPONSE: Q(first_responded_at__isnull=False),
        SlaMetric.NEXT_RESPONSE: Q(solved_at__isnull=False),
        SlaMetric.RESOLUTION: Q(solved_at__isnull=False),
    }
    aggregates = {}
    for metric in SlaMetric:
        breached = Exists(
            SlaBreach.objects.filter(ticket_id=OuterRef("pk"), metric=metric.value, stage=SlaStage.BREACHED)
        )
        target = Q(**{f"{TARGET_FIELD[metric]}__isnull": False})
        aggregates[f"{metric.value}_breached"] = Count("id", filter=target & Q(breached))
        aggregates[f"{metric.value}_met"] = Count("id", filter=target & done[metric] & ~Q(breached))
    totals = cohort.filter(sla_policy__isnull=False).aggregate(**aggregates)
    return [
        Compliance(metric=m.value, label=m.label, met=totals[f"{m.value}_met"], breached=totals[f"{m.value}_breached"])
        for m in SlaMetric
    ]


def _as_day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return value


def _bucket_starts(period: Period, granularity: str) -> list[date]:
    if granularity == "month":
        return period.months()
    first = period.start - timedelta(days=period.start.weekday())
    return [first + timedelta(weeks=i) for i in range((period.end - first).days // 7 + 1)]


def service_dashboard(
    *, actor: Principal, period: Period, queue: Queue | None = None, now: datetime | None = None
) -> ServiceDashboard:
    """Every figure of the service dashboard (see the module's docstring) for `period` and
    `queue` (one of `dashboard_queues`, or None for all)."""
    require_entity(actor, Entity.TICKET, Mode.READ)
    now = now or timezone.now()
    tickets = _tickets(actor, queue)
    by_status, by_priority, by_queue, by_age = _backlog(tickets, now)

    start, end = period.bounds()
    created = tickets.filter(created_at__gte=start, created_at__lt=end)
    solved = tickets.filter(solved_at__gte=start, solved_at__lt=end)
    first_response = _times(
        list(
            created.filter(first_responded_at__isnull=False)
            .annotate(d=_duration("created_at", "first_responded_at"))
            .values_list("d", flat=True)
        )
    )
    resolution = _times(list(solved.annotate(d=_duration("created_at", "solved_at")).values_list("d", flat=True)))

    granularity = "week" if (period.end - period.start).days < WEEKLY_UP_TO_DAYS else "month"
    trunc = TruncWeek if granularity == "week" else TruncMonth
    buckets = {day: Bucket(start=day) for day in _bucket_starts(period, granularity)}

    def bucket(value: date | datetime) -> Bucket | None:
        return buckets.get(_as_day(value))

    for row in created.annotate(b=trunc("created_at")).values("b").annotate(n=Count("id")).order_by():
        if (item := bucket(row["b"])) is not None:
            item.created += row["n"]
    for row in solved.annotate(b=trunc("solved_at")).values("b").annotate(n=Count("id")).order_by():
        if (item := bucket(row["b"])) is not None:
            item.solved += row["n"]

    surveys = CsatSurvey.objects.filter(
        org_id=actor.org_id,
        ticket__in=tickets.values("pk"),
        rating__isnull=False,
        answered_at__gte=start,
        answered_at__lt=end,
    )
    ratings = {r: 0 for r in range(5, 0, -1)}
    for row in surveys.values("rating").annotate(n=Count("id")).order_by():
        ratings[row["rating"]] = row["n"]
    csat_count = sum(ratings.values())
    csat_average = sum(r * n for r, n in ratings.items()) / csat_count if csat_count else None
    trend = surveys.annotate(b=trunc("answered_at")).values("b").annotate(n=Count("id"), avg=Avg("rating")).order_by()
    for row in trend:
        if (item := bucket(row["b"])) is not None:
            item.csat_count, item.csat_average = row["n"], float(row["avg"])

    return ServiceDashboard(
        period=period,
        queue=queue,
        open_count=sum(c.count for c in by_status),
        by_status=by_status,
        by_priority=by_priority,
        by_queue=by_queue,
        by_age=by_age,
        first_response=first_response,
        resolution=resolution,
        compliance=_compliance(created),
        csat_average=csat_average,
        csat_count=csat_count,
        csat_ratings=ratings,
        granularity=granularity,
        buckets=list(buckets.values()),
    )
