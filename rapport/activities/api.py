"""Activities API: log, list, read, change and trash calls, meetings, emails, notes, SMS and chats.

`POST /activities` is also what telephony and chat systems call: participants may be named by
contact id, email or phone number. (No `from __future__ import annotations` in API modules.)
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from rapport.accounts.roles import Mode
from rapport.activities import calendar, selectors, services
from rapport.activities.models import Activity
from rapport.activities.schemas import ActivityIn, ActivityOut, ActivityPatch
from rapport.core.errors import ValidationFailed
from rapport.core.filtering import Condition, parse_conditions
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal

router = Router(tags=["activities"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class ActivityListParams(Schema):
    kind: str | None = Field(None, max_length=20)
    direction: str | None = Field(None, max_length=10)
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1)
    company_id: int | None = Field(None, ge=1, le=2**63 - 1)
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    filter: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="More conditions as field:operator:value (kind, direction, outcome, contact_id, company_id, "
        "owner_id, occurred_at, created_at, duration).",
    )
    sort: str | None = Field(None, max_length=60, description="occurred_at or created_at, '-' for descending.")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT
    trashed: bool = False


def _conditions(params: ActivityListParams) -> list[Condition]:
    conditions = parse_conditions(params.filter)
    for name in ("kind", "direction", "contact_id", "company_id", "owner_id"):
        value = getattr(params, name)
        if value is not None:
            conditions.append(Condition(field=name, op="eq", value=value))
    if params.occurred_after is not None:
        conditions.append(Condition(field="occurred_at", op="after", value=params.occurred_after.isoformat()))
    if params.occurred_before is not None:
        conditions.append(Condition(field="occurred_at", op="before", value=params.occurred_before.isoformat()))
    return conditions


@router.get("/activities", response={200: PageOut[ActivityOut], **ERRORS}, summary="List activities")
def list_activities(request: HttpRequest, params: Query[ActivityListParams]) -> Any:
    """Newest first. Three queries per page (rows, contacts, users) whatever its size."""
    qs, ordering = selectors.activity_list(
        actor=_actor(request), conditions=_conditions(params), sort=params.sort, trashed=params.trashed
    )
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=ordering)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/activities", response={201: ActivityOut, **ERRORS}, summary="Log an activity")
@idempotent(ActivityOut)
def create_activity(request: HttpRequest, payload: ActivityIn) -> Activity:
    return services.activity_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


class CalendarImportOut(Schema):
    created: list[ActivityOut]
    skipped_uids: list[str]
    unknown_attendees: list[str]


@router.post(
    "/activities/import-ics",
    response={200: CalendarImportOut, **ERRORS},
    summary="Import the events of an iCalendar (.ics) file as meetings",
)
def import_ics(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Multipart, field `file` (at most 1 MB). Each VEVENT becomes a meeting the caller owns; an event
    whose UID was imported before is skipped. All or nothing: an invalid file or event is a 422."""
    if file.size is not None and file.size > calendar.IMPORT_MAX_BYTES:
        raise ValidationFailed(fields={"file": f"The file is larger than {calendar.IMPORT_MAX_BYTES // 1024} KB."})
    result = calendar.calendar_import(actor=_actor(request), content=file.read(calendar.IMPORT_MAX_BYTES + 1))
    return {
        "created": result.created,
        "skipped_uids": result.skipped_uids,
        "unknown_attendees": result.unknown_attendees,
    }


@router.get("/activities/{activity_id}", response={200: ActivityOut, **ERRORS}, summary="Get an activity")
def get_activity(request: HttpRequest, response: HttpResponse, activity_id: int) -> Activity:
    activity = selectors.activity_get(actor=_actor(request), activity_id=activity_id)
    with_etag(response, activity)
    return activity


@router.patch("/activities/{activity_id}", response={200: ActivityOut, **ERRORS}, summary="Update an activity")
def update_activity(request: HttpRequest, response: HttpResponse, activity_id: int, payload: ActivityPatch) -> Activity:
    actor = _actor(request)
    activity = selectors.activity_get(actor=actor, activity_id=activity_id, mode=Mode.WRITE)
    version = if_match(request)
    activity = services.activity_update(
        actor=actor, activity=activity, data=payload.dict(exclude_unset=True), expected_version=version
    )
    with_etag(response, activity)
    return activity


@router.delete("/activities/{activity_id}", response={204: None, **ERRORS}, summary="Move an activity to the trash")
def delete_activity(request: HttpRequest, activity_id: int) -> Status[None]:
    actor = _actor(request)
    services.activity_delete(
        actor=actor, activity=selectors.activity_get(actor=actor, activity_id=activity_id, mode=Mode.WRITE)
    )
    return Status(204, None)


@router.post(
    "/activities/{activity_id}/restore",
    response={200: ActivityOut, **ERRORS},
    summary="Restore an activity from the trash",
)
def restore_activity(request: HttpRequest, response: HttpResponse, activity_id: int) -> Activity:
    actor = _actor(request)
    activity = selectors.activity_get(actor=actor, activity_id=activity_id, mode=Mode.WRITE, trashed=True)
    activity = services.activity_restore(actor=actor, activity=activity)
    with_etag(response, activity)
    return activity
