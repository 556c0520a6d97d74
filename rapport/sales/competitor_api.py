"""Win/loss by competitor: GET /api/v1/competitors/stats and /api/v1/competitors/{id}/stats. (No
`from __future__ import annotations` in API modules.)

Counted over the deals the token's member may read (rapport.sales.competitor_stats); values are
strings in the base currency, null when an exchange rate is missing (`missing` says which).
Registered before the catalogue's router, so that "stats" is not taken for a competitor's id.
"""

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity
from rapport.core.pagination import DEFAULT_LIMIT, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn, refuse_unknown_params
from rapport.sales import catalog_services
from rapport.sales.competitor_stats import CompetitorReport, competitor_stats
from rapport.sales.models import Competitor

router = Router(tags=["products, competitors and currencies"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 422)}


class CompetitorStatsParams(StrictIn):
    q: str | None = Field(None, max_length=150, description="Part of the name")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


class CompetitorStatsOut(Schema):
    competitor_id: int
    name: str
    won: int
    lost: int
    open: int
    win_rate: float | None = Field(..., description="won / (won + lost), 0 to 1; null before any is closed")
    won_value: Decimal | None
    lost_value: Decimal | None


class CompetitorStatsPage(Schema):
    base_currency: str
    missing: list[str] = Field(..., description="Missing exchange rates: the values they affect are null")
    items: list[CompetitorStatsOut]
    next_cursor: str | None


class OneCompetitorStats(CompetitorStatsOut):
    base_currency: str
    missing: list[str]


def _row(competitor: Competitor, report: CompetitorReport) -> dict[str, Any]:
    stats = report.of(competitor.pk)
    return {
        "competitor_id": competitor.pk,
        "name": competitor.name,
        "won": stats.won,
        "lost": stats.lost,
        "open": stats.open,
        "win_rate": stats.win_rate,
        "won_value": stats.won_value,
        "lost_value": stats.lost_value,
    }


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


@router.get("/competitors/stats", response={200: CompetitorStatsPage, **ERRORS}, summary="Win/loss by competitor")
def list_competitor_stats(request: HttpRequest, params: Query[CompetitorStatsParams]) -> dict[str, Any]:
    """Each competitor (by name, cursor-paginated) with the deals that list it: won, lost, open,
    win rate and the value won and lost. 403 for a role that reads no deals."""
    actor = _actor(request)
    require_entity(actor, Entity.DEAL, Mode.READ)
    refuse_unknown_params(request, CompetitorStatsParams)
    page = paginate(
        catalog_services.competitor_list(actor=actor, q=params.q),
        cursor=params.cursor,
        limit=params.limit,
        ordering=("name", "id"),
    )
    report = competitor_stats(actor=actor, competitor_ids=[c.pk for c in page.items])
    return {
        "base_currency": report.base_currency,
        "missing": report.missing,
        "items": [_row(c, report) for c in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/competitors/{competitor_id}/stats",
    response={200: OneCompetitorStats, **ERRORS},
    summary="Win/loss against one competitor",
)
def get_competitor_stats(request: HttpRequest, competitor_id: int) -> dict[str, Any]:
    """404 for a competitor that is missing, in the trash or of another workspace."""
    actor = _actor(request)
    competitor = catalog_services.competitor_get(actor=actor, competitor_id=competitor_id)
    report = competitor_stats(actor=actor, competitor_ids=[competitor.pk])
    return {**_row(competitor, report), "base_currency": report.base_currency, "missing": report.missing}
