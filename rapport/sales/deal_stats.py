"""Stage-history statistics: time in stage, sales velocity and stage-to-stage conversion.

Every function takes a queryset of `DealStage` rows (the stays of deals in stages) and computes
from those rows alone, grouping and filtering in SQL; only the final averages over a handful of
grouped rows are taken in Python. `deal_stage_rows` gives the rows of the deals an actor may read;
tests and reports may pass any narrower queryset (one pipeline, one period …).

Definitions (the same in the docs, docs/sales.md):
- time in stage: for one deal and stage, the sum of its stays there (left - entered; a stay that
  is still open counts until `now`);
- average time in stage: the mean, over the deals that stayed in the stage, of their time in it;
- velocity: the mean number of days from a deal's first stay (its start in the pipeline) to its
  entry into the won stage it is in now, over the deals whose current stay is in a won stage;
- conversion from stage A to stage B: of the deals that entered A, the share that entered B at a
  later time (one deal counts once however often it went back and forth).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from rapport.accounts.roles import Entity
from rapport.core.access import scope
from rapport.core.principal import Principal
from rapport.sales.models import Deal, DealStage, StageKind

DAY = timedelta(days=1)


def deal_stage_rows(*, actor: Principal, pipeline_id: int | None = None) -> QuerySet[DealStage]:
    """The stage-history rows of the living deals the actor may read (of one pipeline's stays)."""
    deals = scope(actor, Deal.objects.filter(deleted_at__isnull=True), Entity.DEAL)
    rows = DealStage.objects.filter(org_id=actor.org_id, deal__in=deals.values("pk"))
    if pipeline_id is not None:
        rows = rows.filter(pipeline_id=pipeline_id)
    return rows


def _stay(now: datetime) -> ExpressionWrapper:
    left = Coalesce(F("left_at"), Value(now, output_field=DateTimeField()))
    return ExpressionWrapper(left - F("entered_at"), output_field=DurationField())


def time_in_stage(rows: QuerySet[DealStage], *, now: datetime) -> dict[int, dict[int, timedelta]]:
    """{deal id: {stage id: total time spent there}}: one grouped query (stays in a stage that has
    since been deleted are left out: there is no stage to name)."""
    grouped = rows.filter(stage__isnull=False).values("deal_id", "stage_id").annotate(spent=Sum(_stay(now))).order_by()
    result: dict[int, dict[int, timedelta]] = defaultdict(dict)
    for row in grouped:
        result[row["deal_id"]][row["stage_id"]] = row["spent"]
    return dict(result)


def average_time_in_stage(rows: QuerySet[DealStage], *, now: datetime) -> dict[int, timedelta]:
    """{stage id: mean over the deals that stayed there of their time in it}."""
    totals: dict[int, list[timedelta]] = defaultdict(list)
    for stages in time_in_stage(rows, now=now).values():
        for stage_id, spent in stages.items():
            totals[stage_id].append(spent)
    return {stage_id: sum(spent, timedelta()) / len(spent) for stage_id, spent in totals.items()}


@dataclass(frozen=True)
class Velocity:
    won_deals: int
    average_days: float | None  # None when no deal is won


def velocity(rows: QuerySet[DealStage]) -> Velocity:
    """Mean days from a deal's first stay to its entry into the won stage it is in now."""
    grouped = (
        rows.values("deal_id")
        .annotate(
            started=Min("entered_at"),
            won=Max("entered_at", filter=Q(left_at__isnull=True, stage__kind=StageKind.WON)),
        )
        .filter(won__isnull=False)
        .order_by()
    )
    cycles = [row["won"] - row["started"] for row in grouped]
    if not cycles:
        return Velocity(won_deals=0, average_days=None)
    return Velocity(won_deals=len(cycles), average_days=sum(cycles, timedelta()) / len(cycles) / DAY)


@dataclass(frozen=True)
class Conversion:
    from_stage_id: int
    to_stage_id: int
    entered: int  # deals that entered the first stage
    converted: int  # of those, deals that entered the second one later
    rate: float | None  # converted / entered (None when no deal entered)


def conversion(rows: QuerySet[DealStage], from_stage_id: int, to_stage_id: int) -> Conversion:
    """Of the deals that entered `from_stage_id`, the share that later entered `to_stage_id`: two
    counting queries."""
    entries = rows.filter(stage_id=from_stage_id)
    later = rows.filter(deal_id=OuterRef("deal_id"), stage_id=to_stage_id, entered_at__gt=OuterRef("entered_at"))
    entered = entries.values("deal_id").distinct().count()
    converted = entries.filter(Exists(later)).values("deal_id").distinct().count()
    return Conversion(
        from_stage_id=from_stage_id,
        to_stage_id=to_stage_id,
        entered=entered,
        converted=converted,
        rate=converted / entered if entered else None,
    )


def funnel(rows: QuerySet[DealStage], stage_ids: list[int]) -> list[Conversion]:
    """Conversion between each pair of consecutive stages of `stage_ids` (a pipeline's stages in
    order, usually its open stages followed by its won stage)."""
    return [conversion(rows, a, b) for a, b in pairwise(stage_ids)]
