"""Business calendar API. (No `from __future__ import annotations` in API modules.)

GET /service/calendar answers the workspace's time zone and working hours (version 0 and
`configured: false` while it has none: SLA targets then count clock time, 24/7 in UTC). PUT
replaces both and needs the ETag in If-Match (`"v0"` creates the calendar). Holidays are listed,
added and deleted under /service/calendar/holidays; each change bumps the calendar's version.
"""

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.core.http import if_match
from rapport.core.pagination import PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn
from rapport.service import calendar_services as services
from rapport.service import config_selectors as selectors
from rapport.service.models import Holiday
from rapport.service.queue_api import ERRORS, ListParams

router = Router(tags=["service settings"])
HOURS = Field(
    ...,
    description='Weekday ("0" = Monday … "6" = Sunday) → list of ["HH:MM", "HH:MM"] local intervals; '
    'an end of "00:00" or "24:00" is midnight; a weekday left out is closed.',
)


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class CalendarIn(StrictIn):
    time_zone: str = Field(..., max_length=64, description="IANA name, such as Europe/Paris")
    hours: dict[str, list[list[str]] | None] = HOURS


class HolidayIn(StrictIn):
    date: date
    name: str = Field("", max_length=100)


class HolidayOut(Schema):
    id: int
    date: date
    name: str


class CalendarOut(Schema):
    configured: bool
    time_zone: str
    hours: dict[str, list[list[str]]]
    holidays: list[HolidayOut]
    version: int


def _calendar(actor: Principal, response: HttpResponse) -> dict[str, Any]:
    calendar = selectors.calendar_get(actor=actor)
    version = calendar.version if calendar else 0
    response["ETag"] = f'"v{version}"'
    if calendar is None:
        return {"configured": False, "time_zone": "UTC", "hours": {}, "holidays": [], "version": 0}
    return {
        "configured": True,
        "time_zone": calendar.time_zone,
        "hours": calendar.hours,
        "holidays": list(calendar.holidays.all()),
        "version": version,
    }


@router.get("/service/calendar", response={200: CalendarOut, **ERRORS}, summary="Get the business calendar")
def get_calendar(request: HttpRequest, response: HttpResponse) -> Any:
    return _calendar(_actor(request), response)


@router.put("/service/calendar", response={200: CalendarOut, **ERRORS}, summary="Set time zone and working hours")
def set_calendar(request: HttpRequest, response: HttpResponse, payload: CalendarIn) -> Any:
    """Needs the ETag in If-Match ("v0" while there is no calendar). Open tickets keep their due times."""
    actor = _actor(request)
    services.calendar_set(actor=actor, data=payload.dict(), expected_version=if_match(request))
    return _calendar(actor, response)


@router.get("/service/calendar/holidays", response={200: PageOut[HolidayOut], **ERRORS}, summary="List holidays")
def list_holidays(request: HttpRequest, params: Query[ListParams]) -> Any:
    qs = selectors.holiday_list(actor=_actor(request))
    return paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("date", "id"))


@router.post("/service/calendar/holidays", response={201: HolidayOut, **ERRORS}, summary="Add a holiday")
def create_holiday(request: HttpRequest, payload: HolidayIn) -> Status[Holiday]:
    """409 while the workspace has no calendar (set the working hours first)."""
    return Status(201, services.holiday_create(actor=_actor(request), data=payload.dict()))


@router.delete("/service/calendar/holidays/{holiday_id}", response={204: None, **ERRORS}, summary="Delete a holiday")
def delete_holiday(request: HttpRequest, holiday_id: int) -> Status[None]:
    actor = _actor(request)
    services.holiday_delete(actor=actor, holiday=selectors.holiday_get(actor=actor, holiday_id=holiday_id))
    return Status(204, None)
