"""Core API: the audit trail (admins)."""

from django.http import HttpRequest
from ninja import Query, Router

from rapport.core import selectors
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.schemas import EventFilter, EventOut

router = Router(tags=["audit"])
ERRORS = {code: dict for code in (401, 403, 404, 422)}


@router.get("/events", response={200: PageOut[EventOut], **ERRORS}, summary="The audit trail")
def list_events(
    request: HttpRequest, filters: Query[EventFilter], cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> object:
    qs = selectors.event_list(actor=request.auth, **filters.dict())  # type: ignore[attr-defined]
    return paginate(qs, cursor=cursor, limit=limit)
