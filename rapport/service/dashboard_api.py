"""The service dashboard's figures as JSON: GET /api/v1/service/dashboard. (No `from __future__
import annotations` in API modules.)

The same figures as the page (rapport.service.dashboard), over the tickets the token's member may
read. Durations are hours of clock time; rates are 0 to 1.
"""

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn, refuse_unknown_params
from rapport.service import dashboard

router = Router(tags=["service dashboard"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 422)}


class DashboardParams(StrictIn):
    period: str | None = Field(
        None, max_length=10, description="month, quarter (default), year, last12 or custom (with from and to)"
    )
    date_from: date | None = Field(None, alias="from", description="First day of a custom period")
    date_to: date | None = Field(None, alias="to", description="Last day of a custom period (at most two years on)")
    queue_id: Id | None = Field(None, description="Only this queue's tickets")


class PeriodOut(Schema):
    key: str
    label: str
    start: date
    end: date


class TallyOut(Schema):
    key: str = Field(..., description="Status, priority, queue id (empty: no queue) or age bucket index")
    label: str
    count: int


class TimesOut(Schema):
    count: int = Field(..., description="Tickets measured")
    median_hours: float | None
    p90_hours: float | None


class ComplianceOut(Schema):
    metric: str
    met: int
    breached: int
    rate: float | None = Field(..., description="met / (met + breached); null when none is known yet")


class BucketOut(Schema):
    start: date = Field(..., description="First day of the week (Monday) or month")
    created: int
    solved: int
    csat_count: int
    csat_average: float | None


class DashboardOut(Schema):
    period: PeriodOut
    queue_id: int | None
    open_count: int
    by_status: list[TallyOut]
    by_priority: list[TallyOut]
    by_queue: list[TallyOut]
    by_age: list[TallyOut]
    first_response: TimesOut = Field(..., description="Created in the period → first public reply")
    resolution: TimesOut = Field(..., description="Solved in the period: created → solved")
    sla_compliance: list[ComplianceOut]
    csat_average: float | None
    csat_count: int
    csat_ratings: dict[str, int] = Field(..., description="Answers per rating, 5 to 1")
    granularity: str = Field(..., description="week or month: the size of each bucket")
    buckets: list[BucketOut]


def _tally(items: list[dashboard.Tally]) -> list[dict[str, Any]]:
    return [{"key": t.key, "label": t.label, "count": t.count} for t in items]


def _times(times: dashboard.Times) -> dict[str, Any]:
    return {"count": times.count, "median_hours": times.median_hours, "p90_hours": times.p90_hours}


def _out(board: dashboard.ServiceDashboard) -> dict[str, Any]:
    period = board.period
    return {
        "period": {"key": period.key, "label": period.label, "start": period.start, "end": period.end},
        "queue_id": board.queue.pk if board.queue else None,
        "open_count": board.open_count,
        "by_status": _tally(board.by_status),
        "by_priority": _tally(board.by_priority),
        "by_queue": _tally(board.by_queue),
        "by_age": _tally(board.by_age),
        "first_response": _times(board.first_response),
        "resolution": _times(board.resolution),
        "sla_compliance": [
            {"metric": c.metric, "met": c.met, "breached": c.breached, "rate": c.rate} for c in board.compliance
        ],
        "csat_average": board.csat_average,
        "csat_count": board.csat_count,
        "csat_ratings": {str(k): v for k, v in board.csat_ratings.items()},
        "granularity": board.granularity,
        "buckets": [
            {
                "start": b.start,
                "created": b.created,
                "solved": b.solved,
                "csat_count": b.csat_count,
                "csat_average": b.csat_average,
            }
            for b in board.buckets
        ],
    }


@router.get("/service/dashboard", response={200: DashboardOut, **ERRORS}, summary="Service dashboard figures")
def service_dashboard(request: HttpRequest, params: Query[DashboardParams]) -> dict[str, Any]:
    """Open tickets by status, priority, queue and age; first-response and resolution times
    (median, p90); SLA compliance per metric; CSAT average and trend; created vs solved. 422 for an
    unknown period or parameter, a bad custom range or a queue that is not the workspace's; 403
    for a role that reads no tickets."""
    actor: Principal = request.auth  # type: ignore[attr-defined]
    require_entity(actor, Entity.TICKET, Mode.READ)
    refuse_unknown_params(request, DashboardParams)
    period = dashboard.period_for(params.period, today=timezone.localdate(), start=params.date_from, end=params.date_to)
    queue = dashboard.pick_queue(dashboard.dashboard_queues(actor=actor), params.queue_id)
    return _out(dashboard.service_dashboard(actor=actor, period=period, queue=queue))
