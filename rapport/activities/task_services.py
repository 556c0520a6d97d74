"""Writes and reads of tasks. The API and the pages share these.

Access follows the activity levels (rapport.accounts.roles, Entity.ACTIVITY): a task's `owner` is
its assignee, so at the OWN level a member reads and changes the tasks assigned to them. A member
may create a task for a colleague (who is notified) even at the OWN level; it is then theirs.
Input is a mapping of field → value; all invalid fields are reported together (ValidationFailed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.accounts.roles import Entity, Mode
from rapport.activities.models import Task, TaskPriority, TaskStatus
from rapport.activities.notifications import notify_assigned
from rapport.activities.services import clean_when
from rapport.contacts.cleaning import FieldErrors, clean_text
from rapport.contacts.models import Company, Contact
from rapport.core.access import access, can_write, require_entity, scope
from rapport.core.errors import PermissionDenied, StaleVersion
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal

FIELDS = {"title", "description", "due_at", "remind_at", "priority", "status", "owner_id", "contact_id", "company_id"}
TITLE_MAX = 200
DESCRIPTION_MAX = 5000
FUTURE_LIMIT = timedelta(days=10 * 366)
SNAPSHOT = ("title", "description", "priority", "status", "owner_id", "contact_id", "company_id")


def _when(value: Any, name: str, errors: FieldErrors) -> datetime | None:
    if value is None or value == "":
        return None
    return clean_when(value, name, errors, limit=FUTURE_LIMIT, words="ten years")


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _clean(actor: Principal, data: Mapping[str, Any], instance: Task | None) -> dict[str, Any]:
    errors = FieldErrors()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "Unknown field.")
    values: dict[str, Any] = {}
    if "title" in data or instance is None:
        values["title"] = clean_text(data.get("title"), "title", TITLE_MAX, errors, required=True)
    if "description" in data:
        values["description"] = clean_text(data["description"], "description", DESCRIPTION_MAX, errors)
    for name in ("due_at", "remind_at"):
        if name in data:
            values[name] = _when(data[name], name, errors)
    if "priority" in data:
        if data["priority"] not in TaskPriority.values:
            errors.add("priority", f"Choose one of: {', '.join(TaskPriority.values)}.")
        else:
            values["priority"] = data["priority"]
    if "status" in data:
        if data["status"] not in TaskStatus.values:
            errors.add("status", f"Choose one of: {', '.join(TaskStatus.values)}.")
        else:
            values["status"] = data["status"]
    if data.get("owner_id") is not None:
        pk = _id(data["owner_id"])
        if pk is None or not Membership.objects.filter(org_id=actor.org_id, is_active=True, user_id=pk).exists():
            errors.add("owner_id", f"No member with the id {data['owner_id']}.")
        else:
            values["owner_id"] = pk
    elif "owner_id" in data:
        errors.add("owner_id", "A task needs an assignee.")
    if "contact_id" in data:
        pk = _id(data["contact_id"])
        contact = scope(actor, Contact.objects.alive(), Entity.CONTACT).filter(pk=pk).first() if pk else None
        if data["contact_id"] is not None and contact is None:
            errors.add("contact_id", f"No contact with the id {data['contact_id']}.")
        values["contact"] = contact
    if "company_id" in data:
        pk = _id(data["company_id"])
        company = scope(actor, Company.objects.alive(), Entity.COMPANY).filter(pk=pk).first() if pk else None
        if data["company_id"] is not None and company is None:
            errors.add("company_id", f"No company with the id {data['company_id']}.")
        values["company"] = company
    errors.raise_if_any()
    if "status" in values:
        done = values["status"] == TaskStatus.DONE
        if not (instance and instance.status == values["status"]):
            values["completed_at"] = timezone.now() if done else None
    if "remind_at" in values and (instance is None or values["remind_at"] != instance.remind_at):
        values["reminded_at"] = None  # a new reminder time fires again
    return values


def _snapshot(task: Task) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(task, name) for name in SNAPSHOT}
    for name in ("due_at", "remind_at"):
        when = getattr(task, name)
        values[name] = when.isoformat() if when else None
    return values


def task_reload(task: Task) -> Task:
    """The task with its assignee, team, contact and company joined."""
    return Task.objects.select_related("owner", "team", "contact", "company").get(pk=task.pk)


def _require_write(actor: Principal, task: Task) -> None:
    if task.org_id != actor.org_id or not can_write(actor, task, Entity.ACTIVITY):
        raise PermissionDenied()


@transaction.atomic
def task_create(*, actor: Principal, data: Mapping[str, Any]) -> Task:
    """Create a task, assigned to the actor unless `owner_id` names another member (who is then
    notified). Records `task.created`."""
    require_entity(actor, Entity.ACTIVITY, Mode.WRITE)
    values = _clean(actor, data, None)
    values.setdefault("owner_id", actor.user_id)
    if len(actor.team_ids) == 1:
        values["team_id"] = next(iter(actor.team_ids))
    task = Task.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    task = task_reload(task)
    record_event(actor, "task.created", task, diff({}, _snapshot(task)))
    notify_assigned(actor=actor, task=task)
    return task


@transaction.atomic
def task_update(*, actor: Principal, task: Task, data: Mapping[str, Any], expected_version: int | None) -> Task:
    """Change some fields of a task; refuses a stale version. A new assignee is notified.
    Records `task.updated` when anything changed."""
    _require_write(actor, task)
    before = _snapshot(task)
    values = _clean(actor, data, task)
    qs = Task.objects.filter(pk=task.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        raise StaleVersion()
    task = task_reload(task)
    changes = diff(before, _snapshot(task))
    if changes:
        record_event(actor, "task.updated", task, changes)
    if "owner_id" in changes:
        notify_assigned(actor=actor, task=task)
    return task


@transaction.atomic
def task_complete(*, actor: Principal, task: Task) -> Task:
    """Mark a task done (again: no change). Records `task.completed`."""
    _require_write(actor, task)
    if task.status != TaskStatus.DONE:
        now = timezone.now()
        Task.objects.filter(pk=task.pk).update(
            status=TaskStatus.DONE, completed_at=now, version=F("version") + 1, updated_at=now
        )
        record_event(actor, "task.completed", task, {"status": [task.status, TaskStatus.DONE.value]})
    return task_reload(task)


@transaction.atomic
def task_delete(*, actor: Principal, task: Task) -> Task:
    """Move a task to the trash; records `task.trashed`."""
    _require_write(actor, task)
    if task.deleted_at is None:
        task.deleted_at = timezone.now()
        Task.objects.filter(pk=task.pk).update(deleted_at=task.deleted_at, version=F("version") + 1)
        record_event(actor, "task.trashed", task, {"deleted_at": [None, task.deleted_at.isoformat()]})
    return task


# Reads.


def task_list(
    *,
    actor: Principal,
    status: str | None = None,
    owner_id: int | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    overdue: bool = False,
) -> QuerySet[Task]:
    """The living tasks the actor may read, filtered; one query with assignee, contact and company."""
    qs = scope(actor, Task.objects.filter(deleted_at__isnull=True), Entity.ACTIVITY)
    if status:
        qs = qs.filter(status=status)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if contact_id:
        qs = qs.filter(contact_id=contact_id)
    if company_id:
        qs = qs.filter(company_id=company_id)
    if due_before:
        qs = qs.filter(due_at__lt=due_before)
    if due_after:
        qs = qs.filter(due_at__gte=due_after)
    if overdue:
        qs = qs.filter(status=TaskStatus.OPEN, due_at__lt=timezone.now())
    return qs.select_related("owner", "team", "contact", "company")


def task_my_open(*, actor: Principal) -> QuerySet[Task]:
    """The actor's open tasks, by due time (undated last)."""
    return task_list(actor=actor, status=TaskStatus.OPEN, owner_id=actor.user_id).order_by(
        F("due_at").asc(nulls_last=True), "id"
    )


def task_my_day(*, actor: Principal) -> list[Task]:
    """The actor's open tasks due by the end of today (overdue ones first), for the home page."""
    end = timezone.localtime().replace(hour=23, minute=59, second=59, microsecond=999999)
    return list(task_my_open(actor=actor).filter(Q(due_at__lte=end))[:50])


def task_get(*, actor: Principal, task_id: object, mode: Mode = Mode.READ) -> Task:
    """One living task the actor may read (or write); 404 for missing and not-yours alike."""
    qs = Task.objects.filter(deleted_at__isnull=True).select_related("owner", "team", "contact", "company")
    return access(actor, qs, task_id, Entity.ACTIVITY, mode)
