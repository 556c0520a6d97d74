"""Reads behind the task pages: the filtered, paged task list, the open tasks of one contact or
company, and the meetings of "My day".

The list sorts by due date with undated tasks last. `paginate` (rapport.core.pagination) needs
non-null ordering fields, so a list sorted by due date is two keyset walks: the dated tasks by
`(due_at, id)`, then the undated ones by `(-created_at, -id)`. The page's cursor names its walk
("d." or "n." before the inner cursor), so every page is one or two indexed queries at any depth.
Day boundaries ("today", "this week") are those of the active time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.activities.choices import Kind
from rapport.activities.models import Activity, Task, TaskStatus
from rapport.activities.selectors import visible_activities
from rapport.activities.task_services import task_list
from rapport.core.access import level_filter
from rapport.core.errors import ValidationFailed
from rapport.core.pagination import Page, paginate
from rapport.core.principal import Principal

DUE_CHOICES = (("", "Any time"), ("overdue", "Overdue"), ("today", "Today"), ("week", "This week"), ("none", "No date"))
SORT_CHOICES = (("due", "Due date, soonest first"), ("-due", "Due date, latest first"), ("-created", "Newest first"))
STATUS_CHOICES = (("open", "Open"), ("done", "Done"), ("cancelled", "Cancelled"), ("all", "Any status"))
UNDATED_ORDER = ("-created_at", "-id")
RECORD_CARD_LIMIT = 10
MEETINGS_LIMIT = 20


@dataclass(frozen=True)
class TaskQuery:
    """The filters of the task list. `assignee`: "me", "anyone" or a member's user id."""

    assignee: str | int = "me"
    status: str = "open"
    due: str = ""
    sort: str = "due"
    contact_id: int | None = None
    company_id: int | None = None


def _linked(record: Any) -> Any:
    """A task's contact or company, unless it is in the trash (its page would answer 404)."""
    return record if record is not None and record.deleted_at is None else None


def task_row(task: Task, now: Any, today_end: Any) -> dict[str, Any]:
    """What a line of a task list shows: the task, its live links, whether it is overdue or due today."""
    open_ = task.status == TaskStatus.OPEN
    return {
        "task": task,
        "contact": _linked(task.contact),
        "company": _linked(task.company),
        "overdue": open_ and task.due_at is not None and task.due_at < now,
        "due_today": open_ and task.due_at is not None and now <= task.due_at < today_end,
    }


def day_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start of today and of tomorrow, in the active time zone."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def week_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Monday 00:00 of this week and of the next, in the active time zone."""
    start, _ = day_bounds(now)
    monday = start - timedelta(days=start.weekday())
    return monday, monday + timedelta(days=7)


def with_editable(actor: Principal, qs: QuerySet[Task]) -> QuerySet[Task]:
    """Annotate `editable`: whether the actor may change each task (in the same query)."""
    condition = level_filter(actor, Task, actor.level(Entity.ACTIVITY, Mode.WRITE))
    if condition is None:
        return qs.annotate(editable=Value(False, output_field=BooleanField()))
    return qs.annotate(editable=Case(When(condition, then=Value(True)), default=Value(False)))


def task_query_set(*, actor: Principal, query: TaskQuery, now: datetime | None = None) -> QuerySet[Task]:
    """The tasks the actor may read that match `query` (unordered), with `editable` annotated."""
    now = now or timezone.now()
    if query.assignee == "me":
        owner_id: int | None = actor.user_id
    elif query.assignee == "anyone":
        owner_id = None
    else:
        owner_id = int(query.assignee)
    qs = task_list(
        actor=actor,
        status=None if query.status == "all" else query.status,
        owner_id=owner_id,
        contact_id=query.contact_id,
        company_id=query.company_id,
    )
    if query.due == "overdue":
        qs = qs.filter(status=TaskStatus.OPEN, due_at__lt=now)
    elif query.due == "today":
        start, end = day_bounds(now)
        qs = qs.filter(due_at__gte=start, due_at__lt=end)
    elif query.due == "week":
        start, end = week_bounds(now)
        qs = qs.filter(due_at__gte=start, due_at__lt=end)
    elif query.due == "none":
        qs = qs.filter(due_at__isnull=True)
    return with_editable(actor, qs)


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("invalid_cursor", "The page link is not valid; start again from the first page.")


def task_page(
    *, actor: Principal, query: TaskQuery, cursor: str | None, limit: int, now: datetime | None = None
) -> Page[Task]:
    """One page of the task list (see the module's note on the two walks of a due-date sort)."""
    qs = task_query_set(actor=actor, query=query, now=now)
    if query.sort == "-created":
        return paginate(qs, cursor=cursor, limit=limit, ordering=UNDATED_ORDER)
    dated_order = ("due_at", "id") if query.sort == "due" else ("-due_at", "-id")
    walk, _, inner = (cursor or "d.").partition(".")
    if walk not in {"d", "n"} or (cursor and "." not in cursor):
        raise _bad_cursor()
    items: list[Task] = []
    if walk == "d" and query.due != "none":
        dated = paginate(qs.filter(due_at__isnull=False), cursor=inner or None, limit=limit, ordering=dated_order)
        if dated.next_cursor:
            return Page(items=dated.items, next_cursor=f"d.{dated.next_cursor}")
        items, inner = dated.items, ""
    if query.due not in {"", "none"}:  # a due filter with dates: no undated task matches
        return Page(items=items, next_cursor=None)
    undated_qs = qs.filter(due_at__isnull=True)
    room = limit - len(items)
    if room == 0:
        more = undated_qs.exists()
        return Page(items=items, next_cursor="n." if more else None)
    undated = paginate(undated_qs, cursor=inner or None, limit=room, ordering=UNDATED_ORDER)
    return Page(items=items + undated.items, next_cursor=f"n.{undated.next_cursor}" if undated.next_cursor else None)


def task_open_for_record(
    *, actor: Principal, contact_id: int | None = None, company_id: int | None = None
) -> list[Task]:
    """Up to RECORD_CARD_LIMIT + 1 open tasks linked to one contact or company that the actor may
    read, soonest due first (undated last), with `editable` annotated: one query."""
    if contact_id is None and company_id is None:
        return []
    qs = task_list(actor=actor, status=TaskStatus.OPEN, contact_id=contact_id, company_id=company_id)
    ordered = with_editable(actor, qs).order_by(F("due_at").asc(nulls_last=True), "id")
    return list(ordered[: RECORD_CARD_LIMIT + 1])


def meetings_today(*, actor: Principal, now: datetime | None = None) -> list[Activity]:
    """The meetings of today (active time zone) that the actor owns or takes part in and may read,
    by start time: one query."""
    start, end = day_bounds(now)
    mine = Q(owner_id=actor.user_id) | Q(users__id=actor.user_id)
    qs = visible_activities(actor, Activity.objects.alive()).filter(
        mine, kind=Kind.MEETING, occurred_at__gte=start, occurred_at__lt=end
    )
    return list(qs.distinct().order_by("occurred_at", "id")[:MEETINGS_LIMIT])


def meeting_end(meeting: Activity) -> Any:
    """When a meeting ends (None without a duration)."""
    return meeting.occurred_at + timedelta(seconds=meeting.duration) if meeting.duration else None
