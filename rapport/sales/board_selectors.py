"""Reads of the deal pages: the board's columns (count and total in the base currency per stage),
one column's page of cards, the list's sorts, and a deal's events.

Everything goes through `deal_list` (the deal levels and filters live there). A board costs a
bounded number of queries whatever the number of deals: one for every column's count and
per-currency sums, one for the exchange rates, and one per column for its first page of cards
(the `deal_board` index: newest in the stage first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, DateField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from rapport.core.models import Event
from rapport.core.pagination import Page, paginate
from rapport.core.principal import Principal
from rapport.sales import money
from rapport.sales.deal_selectors import SORTS, DealFilter, deal_list
from rapport.sales.models import Deal, Pipeline, Stage

CARDS_PER_COLUMN = 50
# Newest in the stage first: the order of the `deal_board` index.
COLUMN_ORDER = ("-stage_entered_at", "-id")
# Deals without a close date sort after those with one, both ways (keyset needs non-null keys).
_LATE, _EARLY = date(9999, 12, 31), date(1, 1, 1)
LIST_SORTS: dict[str, tuple[str, ...]] = {
    "-created": SORTS["-created"],
    "created": SORTS["created"],
    "-amount": SORTS["-amount"],
    "amount": SORTS["amount"],
    "close": ("close_sort", "id"),
    "-close": ("-close_sort", "-id"),
}
SORT_LABELS = {
    "-created": "Newest first",
    "created": "Oldest first",
    "-amount": "Largest amount",
    "amount": "Smallest amount",
    "close": "Close date, soonest",
    "-close": "Close date, latest",
}


@dataclass
class Column:
    """One stage of the board: its deals' count, their total in the base currency (None with the
    currencies that have no rate in `missing`), and its first page of cards."""

    stage: Stage
    count: int = 0
    total: Decimal | None = Decimal(0)
    missing: list[str] = field(default_factory=list)
    page: Page[Deal] | None = None


def column_cards(*, actor: Principal, stage: Stage, filters: DealFilter, cursor: str | None = None) -> Page[Deal]:
    """One page of a column's cards (the deals in `stage` matching `filters`), newest in the stage
    first, after `cursor`: one query."""
    scoped = DealFilter(**{**filters.__dict__, "pipeline_id": stage.pipeline_id, "stage_id": stage.pk})
    return paginate(
        deal_list(actor=actor, filters=scoped), cursor=cursor, limit=CARDS_PER_COLUMN, ordering=COLUMN_ORDER
    )


def board_columns(
    *, actor: Principal, pipeline: Pipeline, filters: DealFilter, stage: Stage | None = None, today: date | None = None
) -> list[Column]:
    """The columns of `pipeline` (its stages in board order; only `stage`'s when given) with
    counts, totals converted with the rates of `today`, and their first page of cards."""
    day = today or timezone.localdate()
    stages = [stage] if stage is not None else list(pipeline.stages.all())
    scoped = DealFilter(**{**filters.__dict__, "pipeline_id": pipeline.pk, "stage_id": stage.pk if stage else None})
    sums = (
        deal_list(actor=actor, filters=scoped)
        .select_related(None)
        .values("stage_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    )
    rows = list(sums)
    rates = money.rates_for(actor.org, {row["currency"] for row in rows}, day) if rows else {}
    columns = {stage.pk: Column(stage=stage) for stage in stages}
    unrounded: dict[int, Decimal] = {}
    for row in rows:
        column = columns.get(row["stage_id"])
        if column is None:
            continue
        column.count += row["n"]
        rate = rates.get(row["currency"])  # the base currency maps to 1
        if rate is None:
            column.missing.append(row["currency"])
        else:
            unrounded[column.stage.pk] = unrounded.get(column.stage.pk, Decimal(0)) + Decimal(row["total"]) * rate
    for column in columns.values():
        column.missing.sort()
        column.total = None if column.missing else money.round_money(unrounded.get(column.stage.pk, Decimal(0)))
        column.page = column_cards(actor=actor, stage=column.stage, filters=filters) if column.count else None
    return [columns[stage.pk] for stage in stages]


def deal_rows(*, actor: Principal, filters: DealFilter, sort: str, cursor: str | None, limit: int = 50) -> Page[Deal]:
    """One page of the deal list in `sort` (a key of LIST_SORTS), keyset-paged: one query."""
    qs: QuerySet[Deal] = deal_list(actor=actor, filters=filters)
    if sort in {"close", "-close"}:
        fallback = _LATE if sort == "close" else _EARLY
        qs = qs.annotate(close_sort=Coalesce("expected_close_date", Value(fallback), output_field=DateField()))
    return paginate(qs, cursor=cursor, limit=limit, ordering=LIST_SORTS[sort])


def deal_events(*, actor: Principal, deal: Deal, limit: int = 50) -> list[Event]:
    """The newest `limit` events of a deal the actor may read (fetch it with `deal_get`): one query."""
    return list(
        Event.objects.filter(org_id=actor.org_id, subject_type="deal", subject_id=deal.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def days_in_stage(deal: Deal, now: Any = None) -> int:
    """Whole days since the deal entered its stage."""
    return max(0, ((now or timezone.now()) - deal.stage_entered_at).days)
