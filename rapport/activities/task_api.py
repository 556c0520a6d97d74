"""Tasks and notifications API. (No `from __future__ import annotations` in API modules.)

Tasks follow the activity permissions (the assignee is the owner); notifications are always the
caller's own, in the workspace of the token.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.activities import notifications, task_services
from rapport.activities.models import Notification, NotificationPreference, Task
from rapport.contacts.schemas import Ref, UserRef
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn

router = Router(tags=["tasks"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
ID = Field(None, ge=1, le=2**63 - 1)


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class TaskPatch(StrictIn):
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    due_at: datetime | None = None
    remind_at: datetime | None = Field(None, description="When to remind the assignee (once)")
    priority: str | None = Field(None, max_length=10, description="low, normal or high")
    status: str | None = Field(None, max_length=10, description="open, done or cancelled")
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1, description="The assignee (a member)")
    contact_id: int | None = ID
    company_id: int | None = ID


class TaskIn(TaskPatch):
    title: str = Field(..., max_length=200)


class TaskOut(Schema):
    id: int
    title: str
    description: str
    due_at: datetime | None
    remind_at: datetime | None
    reminded_at: datetime | None
    priority: str
    status: str
    completed_at: datetime | None
    assignee: UserRef | None
    contact: Ref | None
    company: Ref | None
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_assignee(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner else None

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.contact.pk, "name": str(obj.contact)} if obj.contact else None

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.company.pk, "name": obj.company.name} if obj.company else None


class TaskListParams(Schema):
    status: str | None = Field(None, max_length=10)
    assignee_id: int | None = Field(None, ge=1, le=2**63 - 1)
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1)
    company_id: int | None = Field(None, ge=1, le=2**63 - 1)
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool = False
    mine: bool = Field(False, description="Only tasks assigned to the caller")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


@router.get("/tasks", response={200: PageOut[TaskOut], **ERRORS}, summary="List tasks")
def list_tasks(request: HttpRequest, params: Query[TaskListParams]) -> Any:
    """Newest first; one query per page."""
    actor = _actor(request)
    qs = task_services.task_list(
        actor=actor,
        status=params.status,
        owner_id=actor.user_id if params.mine else params.assignee_id,
        contact_id=params.contact_id,
        company_id=params.company_id,
        due_before=params.due_before,
        due_after=params.due_after,
        overdue=params.overdue,
    )
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("-created_at", "-id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/tasks", response={201: TaskOut, **ERRORS}, summary="Create a task")
@idempotent(TaskOut)
def create_task(request: HttpRequest, payload: TaskIn) -> Task:
    return task_services.task_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="Get a task")
def get_task(request: HttpRequest, response: HttpResponse, task_id: int) -> Task:
    task = task_services.task_get(actor=_actor(request), task_id=task_id)
    with_etag(response, task)
    return task


@router.patch("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="Update a task")
def update_task(request: HttpRequest, response: HttpResponse, task_id: int, payload: TaskPatch) -> Task:
    actor = _actor(request)
    task = task_services.task_get(actor=actor, task_id=task_id, mode=Mode.WRITE)
    task = task_services.task_update(
        actor=actor, task=task, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, task)
    return task


@router.post("/tasks/{task_id}/complete", response={200: TaskOut, **ERRORS}, summary="Mark a task done")
def complete_task(request: HttpRequest, response: HttpResponse, task_id: int) -> Task:
    actor = _actor(request)
    task = task_services.task_complete(
        actor=actor, task=task_services.task_get(actor=actor, task_id=task_id, mode=Mode.WRITE)
    )
    with_etag(response, task)
    return task


@router.delete("/tasks/{task_id}", response={204: None, **ERRORS}, summary="Move a task to the trash")
def delete_task(request: HttpRequest, task_id: int) -> Status[None]:
    actor = _actor(request)
    task_services.task_delete(actor=actor, task=task_services.task_get(actor=actor, task_id=task_id, mode=Mode.WRITE))
    return Status(204, None)


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    url: str
    read_at: datetime | None
    created_at: datetime


class NotificationListParams(Schema):
    unread: bool | None = Field(None, description="true: only unread; false: only read")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


class ReadAllOut(Schema):
    marked: int


@router.get("/notifications", response={200: PageOut[NotificationOut], **ERRORS}, summary="List my notifications")
def list_notifications(request: HttpRequest, params: Query[NotificationListParams]) -> Any:
    """The caller's notifications, newest first (`unread=true` for the unread ones only)."""
    qs = notifications.notification_list(actor=_actor(request), unread=params.unread)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("-created_at", "-id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/notifications/read-all", response={200: ReadAllOut, **ERRORS}, summary="Mark all my notifications read")
def read_all_notifications(request: HttpRequest) -> dict[str, int]:
    return {"marked": notifications.notification_read_all(actor=_actor(request))}


class PreferencesOut(Schema):
    email_reminders: bool
    email_mentions: bool
    email_assignments: bool


class PreferencesPatch(StrictIn):
    email_reminders: bool | None = None
    email_mentions: bool | None = None
    email_assignments: bool | None = None


@router.get("/notifications/preferences", response={200: PreferencesOut, **ERRORS}, summary="My email preferences")
def get_preferences(request: HttpRequest) -> NotificationPreference:
    return notifications.preference_get(actor=_actor(request))


@router.patch(
    "/notifications/preferences", response={200: PreferencesOut, **ERRORS}, summary="Change my email preferences"
)
def update_preferences(request: HttpRequest, payload: PreferencesPatch) -> NotificationPreference:
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return notifications.preference_update(actor=_actor(request), data=data)


@router.post(
    "/notifications/{notification_id}/read", response={200: NotificationOut, **ERRORS}, summary="Mark one read"
)
def read_notification(request: HttpRequest, notification_id: int) -> Notification:
    return notifications.notification_read(actor=_actor(request), notification_id=notification_id)
