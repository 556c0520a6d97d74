"""Reads of pipelines and stages. Everyone who may read deals (Entity.DEAL) reads the pipelines of
their workspace; a deleted pipeline, and its stages, answer NotFound like a missing one.

`deal_count` on a stage counts the living deals in it that the actor may read (the deal levels),
so a pipeline's page never tells a member about deals they cannot see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity, scope
from rapport.core.errors import NotFound
from rapport.core.principal import Principal
from rapport.sales.models import Deal, Pipeline, Stage
from rapport.sales.pipeline_services import ensure_default_pipeline

ORDERING = ("position", "id")


def _stages() -> Prefetch[Any]:
    return Prefetch("stages", queryset=Stage.objects.order_by("position", "id"))


def pipeline_list(*, actor: Principal) -> QuerySet[Pipeline]:
    """The workspace's living pipelines with their stages (prefetched in board order), unordered:
    the caller pages them by `ORDERING`. A workspace without any first gets the default one."""
    require_entity(actor, Entity.DEAL, Mode.READ)
    ensure_default_pipeline(actor.org, actor=actor)
    return Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).prefetch_related(_stages())


def pipeline_get(*, actor: Principal, pipeline_id: object) -> Pipeline:
    """One living pipeline of the actor's workspace, with its stages; NotFound otherwise."""
    require_entity(actor, Entity.DEAL, Mode.READ)
    pk = pipeline_id if isinstance(pipeline_id, int) and 0 < pipeline_id < 2**63 else None
    pipeline = (
        Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, pk=pk).prefetch_related(_stages()).first()
        if pk
        else None
    )
    if pipeline is None:
        raise NotFound()
    return pipeline


def stage_get(*, actor: Principal, stage_id: object) -> Stage:
    """One stage of a living pipeline of the actor's workspace; NotFound otherwise."""
    require_entity(actor, Entity.DEAL, Mode.READ)
    pk = stage_id if isinstance(stage_id, int) and 0 < stage_id < 2**63 else None
    stage = (
        Stage.objects.select_related("pipeline")
        .filter(org_id=actor.org_id, pipeline__deleted_at__isnull=True, pk=pk)
        .first()
        if pk
        else None
    )
    if stage is None:
        raise NotFound()
    return stage


def with_deal_counts(*, actor: Principal, pipelines: Iterable[Pipeline]) -> list[Pipeline]:
    """The pipelines, each stage carrying `deal_count` (living deals the actor may read): one query."""
    pipelines = list(pipelines)
    counts = dict(
        scope(actor, Deal.objects.filter(deleted_at__isnull=True, pipeline__in=pipelines), Entity.DEAL)
        .values_list("stage_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for pipeline in pipelines:
        for stage in pipeline.stages.all():
            stage.deal_count = counts.get(stage.pk, 0)  # type: ignore[attr-defined]
    return pipelines


def stage_with_deal_count(*, actor: Principal, stage: Stage) -> Stage:
    """The stage carrying `deal_count` (living deals the actor may read)."""
    stage.deal_count = (  # type: ignore[attr-defined]
        scope(actor, Deal.objects.filter(deleted_at__isnull=True, stage=stage), Entity.DEAL).count()
    )
    return stage


def pipeline_detail(*, actor: Principal, pipeline: Pipeline) -> Pipeline:
    """The pipeline re-read with its stages in board order and their deal counts (after a write)."""
    return with_deal_counts(actor=actor, pipelines=[pipeline_get(actor=actor, pipeline_id=pipeline.pk)])[0]
