"""The sales dashboard's figures as JSON: GET /api/v1/sales/dashboard. (No `from __future__ import
annotations` in API modules.)

The same figures as the page (rapport.sales.dashboard), over the deals the token's member may
read. Amounts are strings in the base currency; a figure that needs a missing exchange rate is
null and `missing` says which rate to add.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn, refuse_unknown_params
from rapport.sales import dashboard

router = Router(tags=["sales dashboard"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 422)}


class DashboardParams(StrictIn):
    pipeline_id: Id | None = Field(None, description="Default: the first pipeline")
    period: str | None = Field(
        None, max_length=10, description="month (default), quarter, year, last12 or custom (with from and to)"
    )
    date_from: date | None = Field(None, alias="from", description="First day of a custom period")
    date_to: date | None = Field(None, alias="to", description="Last day of a custom period (at most two years on)")
    owner_id: Id | None = Field(None, description="Only this member's deals (a user id)")
    team_id: Id | None = None


class PeriodOut(Schema):
    key: str
    label: str
    start: date
    end: date


class StageValueOut(Schema):
    stage_id: int
    name: str
    count: int
    value: Decimal | None


class OutcomeOut(Schema):
    count: int
    value: Decimal | None


class MonthOut(Schema):
    month: date
    count: int
    value: Decimal | None


class FunnelStepOut(Schema):
    stage_id: int
    name: str
    entered: int
    rate_to_next: float | None = Field(..., description="0 to 1; null for the last step or when no deal entered")


class RottingOut(Schema):
    id: int
    name: str
    stage_id: int
    stage: str
    days_in_stage: int
    amount: Decimal
    currency: str
    owner_id: int | None


class DashboardOut(Schema):
    pipeline_id: int
    period: PeriodOut
    base_currency: str
    open_count: int
    open_value: Decimal | None
    by_stage: list[StageValueOut]
    won: OutcomeOut
    lost: OutcomeOut
    win_rate: float | None = Field(..., description="won / (won + lost) closed in the period, 0 to 1")
    average_won: Decimal | None
    average_cycle_days: float | None = Field(..., description="Creation to close of the won deals, in days")
    won_by_month: list[MonthOut]
    funnel: list[FunnelStepOut]
    rotting_count: int
    rotting: list[RottingOut] = Field(..., description=f"The {dashboard.ROTTING_SHOWN} longest in their stage")
    missing: list[str] = Field(..., description="Missing exchange rates: the figures they affect are null")


def _out(board: dashboard.Dashboard) -> dict[str, Any]:
    period = board.period
    return {
        "pipeline_id": board.pipeline.pk,
        "period": {"key": period.key, "label": period.label, "start": period.start, "end": period.end},
        "base_currency": board.base_currency,
        "open_count": board.open_count,
        "open_value": board.open_value,
        "by_stage": [
            {"stage_id": s.stage.pk, "name": s.stage.name, "count": s.count, "value": s.value} for s in board.stages
        ],
        "won": {"count": board.won.count, "value": board.won.value},
        "lost": {"count": board.lost.count, "value": board.lost.value},
        "win_rate": board.win_rate,
        "average_won": board.average_won,
        "average_cycle_days": board.average_cycle_days,
        "won_by_month": [{"month": m.month, "count": m.count, "value": m.value} for m in board.by_month],
        "funnel": [
            {"stage_id": f.stage.pk, "name": f.stage.name, "entered": f.entered, "rate_to_next": f.rate}
            for f in board.funnel
        ],
        "rotting_count": board.rotting_count,
        "rotting": [
            {
                "id": d.pk,
                "name": d.name,
                "stage_id": d.stage_id,
                "stage": d.stage.name,
                "days_in_stage": d.days,  # type: ignore[attr-defined]
                "amount": d.amount,
                "currency": d.currency,
                "owner_id": d.owner_id,
            }
            for d in board.rotting
        ],
        "missing": board.missing,
    }


@router.get("/sales/dashboard", response={200: DashboardOut, **ERRORS}, summary="Sales dashboard figures")
def sales_dashboard(request: HttpRequest, params: Query[DashboardParams]) -> dict[str, Any]:
    """Pipeline value by stage, won and lost in the period, win rate, average won deal, average
    sales cycle, won value by month, stage-to-stage conversion and rotting deals. 422 for an
    unknown period or parameter, a bad custom range, or a pipeline, owner or team that is not the
    workspace's; 403 for a role that reads no deals."""
    actor: Principal = request.auth  # type: ignore[attr-defined]
    require_entity(actor, Entity.DEAL, Mode.READ)
    refuse_unknown_params(request, DashboardParams)
    period = dashboard.period_for(params.period, today=timezone.localdate(), start=params.date_from, end=params.date_to)
    dashboard.check_member_filters(actor=actor, owner_id=params.owner_id, team_id=params.team_id)
    pipeline = dashboard.pick_pipeline(dashboard.dashboard_pipelines(actor=actor), params.pipeline_id)
    filters = dashboard.DashboardFilter(
        period=period, pipeline_id=pipeline.pk, owner_id=params.owner_id, team_id=params.team_id
    )
    return _out(dashboard.sales_dashboard(actor=actor, pipeline=pipeline, filters=filters))
