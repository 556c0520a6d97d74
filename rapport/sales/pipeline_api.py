"""Pipelines and stages API. (No `from __future__ import annotations` in API modules.)

Everyone who may read deals reads the pipelines; only roles with the manage-settings permission
change them. Updates need the record's ETag in If-Match: a stage's for PATCH /stages/{id}, the
pipeline's for PATCH /pipelines/{id} and for a new stage order (every stage change bumps the
pipeline's version too). DELETE /stages/{id} of a stage that holds deals needs `?move_to=<id>`
of another stage of the same pipeline and kind.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn
from rapport.sales import pipeline_selectors as selectors
from rapport.sales import pipeline_services as services
from rapport.sales.models import Pipeline, Stage

router = Router(tags=["pipelines"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
KIND = Field(None, max_length=10, description="open, won or lost")
PROBABILITY = Field(None, ge=0, le=100, description="Win probability of a deal in the stage, in percent")
ROTTING = Field(None, ge=1, le=3650, description="Days in the stage after which a deal is rotting (open stages)")


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class NewPipelineStage(StrictIn):
    name: str = Field(..., max_length=100)
    probability: int | None = PROBABILITY
    kind: str | None = KIND
    rotting_days: int | None = ROTTING


class PipelineIn(StrictIn):
    name: str = Field(..., max_length=100)
    position: int | None = Field(None, ge=0, le=10000, description="Place among the pipelines (ascending)")
    stages: list[NewPipelineStage] | None = Field(
        None,
        max_length=30,
        description="The stages in board order; at least one open, one won and one lost. "
        "Left out: Qualified, Proposal, Negotiation, Won, Lost.",
    )


class PipelinePatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    position: int | None = Field(None, ge=0, le=10000)


class StagePatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    probability: int | None = PROBABILITY
    kind: str | None = KIND
    rotting_days: int | None = ROTTING
    position: int | None = Field(None, ge=0, le=10000, description="Index on the board, from 0")


class StageIn(StagePatch):
    name: str = Field(..., max_length=100)


class StageOrderIn(StrictIn):
    stage_ids: list[Id] = Field(..., max_length=30, description="Every stage of the pipeline, once, in the new order")


class StageOut(Schema):
    id: int
    pipeline_id: int
    name: str
    position: int
    probability: int
    kind: str
    rotting_days: int | None
    deal_count: int = Field(0, description="Living deals in the stage that the caller may read")
    version: int

    @staticmethod
    def resolve_deal_count(obj: Any) -> int:
        return getattr(obj, "deal_count", 0)


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    stages: list[StageOut]
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_stages(obj: Any) -> list[Any]:
        return list(obj.stages.all())


class PipelineListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


class StageDeleteParams(Schema):
    move_to: Id | None = Field(None, description="Another stage of the same pipeline and kind to move the deals to")


@router.get("/pipelines", response={200: PageOut[PipelineOut], **ERRORS}, summary="List pipelines")
def list_pipelines(request: HttpRequest, params: Query[PipelineListParams]) -> Any:
    """In their order, each with its stages in board order. A workspace without a pipeline gets the
    default "Sales" pipeline on its first list."""
    actor = _actor(request)
    page = paginate(
        selectors.pipeline_list(actor=actor), cursor=params.cursor, limit=params.limit, ordering=selectors.ORDERING
    )
    return {"items": selectors.with_deal_counts(actor=actor, pipelines=page.items), "next_cursor": page.next_cursor}


@router.post("/pipelines", response={201: PipelineOut, **ERRORS}, summary="Create a pipeline with its stages")
@idempotent(PipelineOut)
def create_pipeline(request: HttpRequest, payload: PipelineIn) -> Pipeline:
    actor = _actor(request)
    pipeline = services.pipeline_create(actor=actor, data=payload.dict(exclude_unset=True))
    return selectors.pipeline_detail(actor=actor, pipeline=pipeline)


@router.get("/pipelines/{pipeline_id}", response={200: PipelineOut, **ERRORS}, summary="Get a pipeline")
def get_pipeline(request: HttpRequest, response: HttpResponse, pipeline_id: int) -> Pipeline:
    actor = _actor(request)
    pipeline = selectors.pipeline_detail(
        actor=actor, pipeline=selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    )
    with_etag(response, pipeline)
    return pipeline


@router.patch("/pipelines/{pipeline_id}", response={200: PipelineOut, **ERRORS}, summary="Rename or move a pipeline")
def update_pipeline(request: HttpRequest, response: HttpResponse, pipeline_id: int, payload: PipelinePatch) -> Pipeline:
    actor = _actor(request)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    pipeline = services.pipeline_update(
        actor=actor, pipeline=pipeline, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    pipeline = selectors.pipeline_detail(actor=actor, pipeline=pipeline)
    with_etag(response, pipeline)
    return pipeline


@router.delete("/pipelines/{pipeline_id}", response={204: None, **ERRORS}, summary="Delete a pipeline")
def delete_pipeline(request: HttpRequest, pipeline_id: int) -> Status[None]:
    """Refused (409) while the pipeline holds living deals, and for the workspace's last pipeline."""
    actor = _actor(request)
    services.pipeline_delete(actor=actor, pipeline=selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id))
    return Status(204, None)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut, **ERRORS}, summary="Add a stage to a pipeline")
@idempotent(StageOut)
def create_stage(request: HttpRequest, pipeline_id: int, payload: StageIn) -> Stage:
    actor = _actor(request)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    return services.stage_create(actor=actor, pipeline=pipeline, data=payload.dict(exclude_unset=True))


@router.post(
    "/pipelines/{pipeline_id}/stages/order",
    response={200: PipelineOut, **ERRORS},
    summary="Put a pipeline's stages in a new order",
)
def reorder_stages(request: HttpRequest, response: HttpResponse, pipeline_id: int, payload: StageOrderIn) -> Pipeline:
    """Needs the pipeline's ETag in If-Match."""
    actor = _actor(request)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    pipeline = services.stages_reorder(
        actor=actor, pipeline=pipeline, stage_ids=payload.stage_ids, expected_version=if_match(request)
    )
    pipeline = selectors.pipeline_detail(actor=actor, pipeline=pipeline)
    with_etag(response, pipeline)
    return pipeline


@router.get("/stages/{stage_id}", response={200: StageOut, **ERRORS}, summary="Get a stage")
def get_stage(request: HttpRequest, response: HttpResponse, stage_id: int) -> Stage:
    actor = _actor(request)
    stage = selectors.stage_with_deal_count(actor=actor, stage=selectors.stage_get(actor=actor, stage_id=stage_id))
    with_etag(response, stage)
    return stage


@router.patch("/stages/{stage_id}", response={200: StageOut, **ERRORS}, summary="Change a stage")
def update_stage(request: HttpRequest, response: HttpResponse, stage_id: int, payload: StagePatch) -> Stage:
    actor = _actor(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id)
    stage = services.stage_update(
        actor=actor, stage=stage, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    stage = selectors.stage_with_deal_count(actor=actor, stage=stage)
    with_etag(response, stage)
    return stage


@router.delete("/stages/{stage_id}", response={204: None, **ERRORS}, summary="Delete a stage")
def delete_stage(request: HttpRequest, stage_id: int, params: Query[StageDeleteParams]) -> Status[None]:
    """A stage that holds deals (the trash counts) needs `move_to`: 409 without it."""
    actor = _actor(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id)
    services.stage_delete(actor=actor, stage=stage, move_to=params.move_to)
    return Status(204, None)
