"""Forecast and quotas API. (No `from __future__ import annotations` in API modules: ninja reads the
annotations.)

GET /forecast answers the forecast of rapport.sales.forecast (its docstring has the definitions)
for whoever may read deals, narrowed to the deals and quotas their level covers. Quotas: read like
the forecast; set, changed and deleted by admins and managers (rapport.sales.quota_services).
Amounts are JSON strings in the workspace's base currency ("2100.00"), never floats.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.contacts.schemas import UserRef
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn
from rapport.sales import forecast as selectors
from rapport.sales import quota_services as services
from rapport.sales.models import Quota

router = Router(tags=["forecast and quotas"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


# --- forecast ---------------------------------------------------------------------------------------


class ForecastParams(Schema):
    period: str | None = Field(None, max_length=10, description="month (default) or quarter")
    start: str | None = Field(
        None, max_length=10, description="The first period: a day (2026-01-01) or a month (2026-01); default: January"
    )
    periods: str | None = Field(
        None, max_length=4, description="How many periods, 1 to 24 (default 12 months, 4 quarters)"
    )
    group: str | None = Field(None, max_length=10, description="workspace (default), team or owner")
    pipeline: str | None = Field(None, max_length=20, description="Only the deals of this pipeline (its id)")


class PeriodOut(Schema):
    key: str = Field(..., description="2026-01 or 2026-Q1")
    label: str
    start: date
    end: date = Field(..., description="The day after the period")
    status: str = Field(..., description="past, current or future")


class FiguresOut(Schema):
    closed_won: Decimal | None = Field(..., description="Won deals closed in the period; null: a rate is missing")
    won_deals: int
    open_pipeline: Decimal | None = Field(..., description="Open deals expected to close in the period")
    weighted_pipeline: Decimal | None = Field(..., description="Their amount x stage probability")
    open_deals: int
    forecast: Decimal | None = Field(..., description="closed_won + weighted_pipeline")
    best_case: Decimal | None = Field(..., description="closed_won + open_pipeline")
    quota: Decimal | None
    attainment: Decimal | None = Field(..., description="closed_won / quota in percent, one decimal")
    forecast_at_start: Decimal | None = Field(
        ..., description="Weighted pipeline at the period's start (begun periods)"
    )
    best_case_at_start: Decimal | None
    variance: Decimal | None = Field(..., description="closed_won - forecast_at_start")
    missing: list[str] = Field(..., description="Currencies without a rate for this figure")


class CellOut(FiguresOut):
    period: str

    @staticmethod
    def resolve_period(obj: Any) -> str:
        return str(obj.period.key)


class RowOut(Schema):
    key: str = Field(..., description="workspace, team:<id>, owner:<id>, team:none or owner:none")
    kind: str
    id: int | None
    name: str
    cells: list[CellOut] = Field(..., description="One per period, in the order of `periods`")
    total: FiguresOut = Field(..., description="Over all the periods")


class RateGapOut(Schema):
    currency: str
    on: date
    message: str


class ForecastOut(Schema):
    period: str
    start: date
    group: str
    pipeline_id: int | None
    base_currency: str
    periods: list[PeriodOut]
    rows: list[RowOut]
    total: RowOut = Field(..., description="The whole workspace (as far as the caller sees it)")
    missing_rates: list[RateGapOut]


@router.get("/forecast", response={200: ForecastOut, **ERRORS}, summary="Sales forecast")
def get_forecast(request: HttpRequest, params: Query[ForecastParams]) -> dict[str, Any]:
    """Closed won, weighted pipeline, best case, quota and attainment per period and group, and
    for begun periods the forecast at their start against what was won. A bounded number of
    queries whatever the number of deals."""
    actor = _actor(request)
    query = selectors.forecast_query(
        actor=actor,
        period=params.period,
        start=params.start,
        periods=params.periods,
        group=params.group,
        pipeline=params.pipeline,
    )
    result = selectors.forecast(actor=actor, query=query)
    return {
        "period": query.period,
        "start": query.start,
        "group": query.group,
        "pipeline_id": query.pipeline_id,
        "base_currency": result.base_currency,
        "periods": [
            {"key": p.key, "label": p.label, "start": p.start, "end": p.end, "status": s}
            for p, s in zip(result.periods, result.statuses, strict=True)
        ],
        "rows": result.rows,
        "total": result.total,
        "missing_rates": result.missing_rates,
    }


# --- quotas -----------------------------------------------------------------------------------------


class QuotaIn(StrictIn):
    user_id: Id = Field(..., description="An active member of the workspace")
    period: str = Field(..., max_length=10, description="month or quarter")
    period_start: date = Field(..., description="The first day of the month or quarter")
    amount: Decimal = Field(..., description="In the base currency; 0 or more, at most 2 decimals")


class QuotaPatch(StrictIn):
    amount: Decimal = Field(..., description="In the base currency; 0 or more, at most 2 decimals")


class QuotaOut(Schema):
    id: int
    user: UserRef
    period: str
    period_start: date
    amount: Decimal
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_user(obj: Any) -> dict[str, Any]:
        return {"id": obj.user.pk, "name": obj.user.display_name, "email": obj.user.email}


class QuotaListParams(Schema):
    user_id: Id | None = None
    period: str | None = Field(None, max_length=10, description="month or quarter")
    start_from: date | None = Field(None, description="Periods starting on or after this day")
    start_to: date | None = Field(None, description="Periods starting on or before this day")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


@router.get("/quotas", response={200: PageOut[QuotaOut], **ERRORS}, summary="List quotas")
def list_quotas(request: HttpRequest, params: Query[QuotaListParams]) -> Any:
    """By period start, then member; one query per page."""
    qs = services.quota_list(
        actor=_actor(request),
        user_id=params.user_id,
        period=params.period,
        start_from=params.start_from,
        start_to=params.start_to,
    )
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("period_start", "user_id", "id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/quotas", response={201: QuotaOut, **ERRORS}, summary="Set a quota")
@idempotent(QuotaOut)
def create_quota(request: HttpRequest, payload: QuotaIn) -> Quota:
    """409 `quota_exists` when the member already has a quota for that period (PATCH it)."""
    quota = services.quota_create(actor=_actor(request), data=payload.dict())
    return Quota.objects.select_related("user").get(pk=quota.pk)


@router.get("/quotas/{quota_id}", response={200: QuotaOut, **ERRORS}, summary="Get a quota")
def get_quota(request: HttpRequest, response: HttpResponse, quota_id: int) -> Quota:
    quota = services.quota_get(actor=_actor(request), quota_id=quota_id)
    with_etag(response, quota)
    return quota


@router.patch("/quotas/{quota_id}", response={200: QuotaOut, **ERRORS}, summary="Change a quota's amount")
def update_quota(request: HttpRequest, response: HttpResponse, quota_id: int, payload: QuotaPatch) -> Quota:
    actor = _actor(request)
    quota = services.quota_get(actor=actor, quota_id=quota_id, mode=Mode.WRITE)
    quota = services.quota_update(
        actor=actor, quota=quota, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, quota)
    return quota


@router.delete("/quotas/{quota_id}", response={204: None, **ERRORS}, summary="Delete a quota")
def delete_quota(request: HttpRequest, quota_id: int) -> Status[None]:
    actor = _actor(request)
    services.quota_delete(actor=actor, quota=services.quota_get(actor=actor, quota_id=quota_id, mode=Mode.WRITE))
    return Status(204, None)
