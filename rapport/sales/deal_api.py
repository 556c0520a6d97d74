"""Deals API. (No `from __future__ import annotations` in API modules.)

Deals follow the deal permissions (Entity.DEAL: own / team / all). Updates and moves need the
deal's ETag in If-Match; the stage changes only through POST /deals/{id}/move, which validates
the target stage and keeps the stage history.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from rapport.accounts.roles import Mode
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import PageOut, paginate
from rapport.core.principal import Principal
from rapport.sales import deal_selectors, deal_services
from rapport.sales.deal_schemas import DealIn, DealListParams, DealMoveIn, DealOut, DealPatch, DealStageOut
from rapport.sales.models import Deal, DealStage

router = Router(tags=["deals"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


@router.get("/deals", response={200: PageOut[DealOut], **ERRORS}, summary="List deals")
def list_deals(request: HttpRequest, params: Query[DealListParams]) -> Any:
    """Filtered and keyset-paged (newest first unless `sort` says otherwise); one query per page."""
    actor = _actor(request)
    filters = deal_selectors.DealFilter(
        pipeline_id=params.pipeline_id,
        stage_id=params.stage_id,
        owner_id=actor.user_id if params.mine else params.owner_id,
        team_id=params.team_id,
        status=params.status,
        close_from=params.close_from,
        close_to=params.close_to,
        amount_min=params.amount_min,
        amount_max=params.amount_max,
        contact_id=params.contact_id,
        company_id=params.company_id,
    )
    qs = deal_selectors.deal_list(actor=actor, filters=filters, trashed=params.trashed)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=deal_selectors.deal_ordering(params.sort))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/deals", response={201: DealOut, **ERRORS}, summary="Create a deal")
@idempotent(DealOut)
def create_deal(request: HttpRequest, payload: DealIn) -> Deal:
    return deal_services.deal_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/deals/{deal_id}", response={200: DealOut, **ERRORS}, summary="Get a deal")
def get_deal(request: HttpRequest, response: HttpResponse, deal_id: int) -> Deal:
    deal = deal_selectors.deal_get(actor=_actor(request), deal_id=deal_id)
    with_etag(response, deal)
    return deal


@router.patch("/deals/{deal_id}", response={200: DealOut, **ERRORS}, summary="Update a deal")
def update_deal(request: HttpRequest, response: HttpResponse, deal_id: int, payload: DealPatch) -> Deal:
    actor = _actor(request)
    deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id, mode=Mode.WRITE)
    deal = deal_services.deal_update(
        actor=actor, deal=deal, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, deal)
    return deal


@router.post("/deals/{deal_id}/move", response={200: DealOut, **ERRORS}, summary="Move a deal to another stage")
def move_deal(request: HttpRequest, response: HttpResponse, deal_id: int, payload: DealMoveIn) -> Deal:
    """The target stage must belong to the deal's pipeline (or to `pipeline_id`, to change
    pipelines); a lost stage needs `lost_reason`. Needs If-Match: of two moves from the same
    version, the second is refused (412)."""
    actor = _actor(request)
    deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id, mode=Mode.WRITE)
    deal = deal_services.deal_move(
        actor=actor,
        deal=deal,
        stage_id=payload.stage_id,
        expected_version=if_match(request),
        lost_reason=payload.lost_reason,
        pipeline_id=payload.pipeline_id,
    )
    with_etag(response, deal)
    return deal


@router.get("/deals/{deal_id}/history", response={200: list[DealStageOut], **ERRORS}, summary="A deal's stage history")
def deal_history(request: HttpRequest, deal_id: int) -> list[DealStage]:
    """Every stay of the deal in a stage, oldest first (`left_at` is null for the current one)."""
    actor = _actor(request)
    return deal_selectors.deal_history(actor=actor, deal=deal_selectors.deal_get(actor=actor, deal_id=deal_id))


@router.delete("/deals/{deal_id}", response={204: None, **ERRORS}, summary="Move a deal to the trash")
def delete_deal(request: HttpRequest, deal_id: int) -> Status[None]:
    actor = _actor(request)
    deal_services.deal_delete(actor=actor, deal=deal_selectors.deal_get(actor=actor, deal_id=deal_id, mode=Mode.WRITE))
    return Status(204, None)


@router.post("/deals/{deal_id}/restore", response={200: DealOut, **ERRORS}, summary="Restore a deal from the trash")
def restore_deal(request: HttpRequest, response: HttpResponse, deal_id: int) -> Deal:
    actor = _actor(request)
    deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id, mode=Mode.WRITE, trashed=True)
    deal = deal_services.deal_restore(actor=actor, deal=deal)
    with_etag(response, deal)
    return deal
