"""The sales dashboard's figures for one pipeline, one period and (optionally) one owner or team,
over the deals the actor may read (the deal levels of `deal_list`).

Now (whatever the period):
- pipeline value by stage: the open deals of each open stage, their count and value;
- rotting deals: open deals longer in their stage than its `rotting_days` (as the board marks them).
In the period (deals closed between the first and the last day of the period, local time):
- won and lost: count and value; win rate = won / (won + lost);
- average won deal size = won value / won deals;
- average sales cycle: the mean days from a won deal's creation to its close;
- won value by month (the chart);
- stage-to-stage conversion of the deals created in the period (`deal_stats.funnel`: of the deals
  that entered a stage, the share that later entered the next one; open stages in board order,
  then the won stage).

Money: every value is in the workspace's base currency. Open deals convert with today's rates,
closed deals with the rate of the last day of the month they closed in (today for this month):
per-currency subtotals are summed in SQL and converted unrounded, each figure rounded once. A
currency without a rate leaves the figures it is part of empty (None) and adds the MissingRate
message to `missing` — never a total that silently leaves it out.

Cost: a bounded number of queries whatever the number of deals — the pipeline's stages, one
grouped query for the open deals, one for the closed deals, the exchange rates (one query per
month with foreign currencies), the funnel (one, plus two per pair of stages), the rotting deals
(two).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from rapport.accounts.models import Membership, Organization, Team
from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity
from rapport.core.errors import ValidationFailed
from rapport.core.principal import Principal
from rapport.sales import deal_stats, money, pipeline_selectors
from rapport.sales.board_selectors import days_in_stage
from rapport.sales.deal_selectors import DealFilter, deal_list
from rapport.sales.models import Deal, Pipeline, Stage, StageKind

PERIODS = {
    "month": "This month",
    "quarter": "This quarter",
    "year": "This year",
    "last12": "Last 12 months",
    "custom": "Custom",
}
MAX_CUSTOM_DAYS = 731  # two years: the monthly chart and its exchange rates stay small
ROTTING_SHOWN = 20
MIN_YEAR, MAX_YEAR = 1900, 9998


# --- the period -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both days included (local dates)."""

    key: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.key == "custom":
            return f"{self.start.day} {self.start:%b %Y} to {self.end.day} {self.end:%b %Y}"
        return PERIODS[self.key]

    def bounds(self) -> tuple[datetime, datetime]:
        """[first moment, first moment after) as aware datetimes of the current time zone."""
        start = timezone.make_aware(datetime.combine(self.start, time.min))
        return start, timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def months(self) -> list[date]:
        """The first day of every month the period touches, in order."""
        months, month = [], self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = _next_month(month)
        return months


def _next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def _month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def period_for(key: str | None, *, today: date, start: date | None = None, end: date | None = None) -> Period:
    """The period named `key` around `today` (default: this quarter); "custom" needs `start` and
    `end` (at most two years apart). ValidationFailed (422, naming the field) otherwise."""
    key = key or ("custom" if start or end else "quarter")
    if key not in PERIODS:
        raise ValidationFailed("invalid_period", f"Choose a period: {', '.join(PERIODS)}.", field="period")
    if key != "custom":
        if start or end:
            raise ValidationFailed("invalid_period", "Give from and to only with period=custom.", field="period")
        if key == "month":
            first = today.replace(day=1)
            return Period(key, first, _month_end(first))
        if key == "quarter":
            first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
            return Period(key, first, _month_end(date(first.year, first.month + 2, 1)))
        if key == "year":
            return Period(key, date(today.year, 1, 1), date(today.year, 12, 31))
        first = today.replace(day=1)
        for _ in range(11):
            first = (first - timedelta(days=1)).replace(day=1)
        return Period(key, first, _month_end(today))
    if start is None or end is None:
        field_name = "from" if start is None else "to"
        raise ValidationFailed("invalid_period", "A custom period needs a from and a to date.", field=field_name)
    for name, day in (("from", start), ("to", end)):
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValidationFailed("invalid_period", f"Enter a date between {MIN_YEAR} and {MAX_YEAR}.", field=name)
    if end < start:
        raise ValidationFailed("invalid_period", "The end of the period is before its start.", field="to")
    if (end - start).days >= MAX_CUSTOM_DAYS:
        raise ValidationFailed("invalid_period", "A custom period can span at most two years.", field="to")
    return Period(key, start, end)


# --- the figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardFilter:
    """What the dashboard covers: a pipeline (None: the first), a period, an owner, a team."""

    period: Period
    pipeline_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None


@dataclass
class StageValue:
    stage: Stage
    count: int = 0
    value: Decimal | None = Decimal(0)  # None: a currency has no rate


@dataclass
class Outcome:
    count: int = 0
    value: Decimal | None = Decimal(0)


@dataclass
class MonthValue:
    month: date
    count: int = 0
    value: Decimal | None = Decimal(0)


@dataclass
class FunnelStep:
    stage: Stage
    entered: int
    rate: float | None = None  # to the next step; None for the last step or when no deal entered


@dataclass
class Dashboard:
    pipeline: Pipeline
    period: Period
    base_currency: str
    stages: list[StageValue]
    open_count: int
    open_value: Decimal | None
    won: Outcome
    lost: Outcome
    win_rate: float | None
    average_won: Decimal | None
    average_cycle_days: float | None
    by_month: list[MonthValue]
    funnel: list[FunnelStep]
    rotting: list[Deal]
    rotting_count: int
    missing: list[str] = field(default_factory=list)


class _Converter:
    """Converts per-currency subtotals with the rates of a date, collecting MissingRate messages."""

    def __init__(self, org: Organization) -> None:
        self.org = org
        self.missing: list[str] = []
        self._rates: dict[date, dict[str, Decimal]] = defaultdict(dict)
        self._asked: dict[date, set[str]] = defaultdict(set)

    def prefetch(self, currencies: set[str], on: date) -> None:
        """Read the rates of `currencies` on `on` (one query for all; none for those already read)."""
        wanted = currencies - self._asked[on]
        if wanted:
            self._rates[on].update(money.rates_for(self.org, wanted, on))
            self._asked[on] |= wanted

    def unrounded(self, amounts: dict[str, Decimal], on: date) -> Decimal | None:
        """The sum of `amounts` in the base currency, not yet rounded; None if a rate is missing."""
        if not amounts:
            return Decimal(0)
        self.prefetch(set(amounts), on)
        rates = self._rates[on]
        total = Decimal(0)
        ok = True
        for currency in sorted(amounts):
            rate = rates.get(currency)
            if rate is None:
                message = money.MissingRate(currency, on, self.org.base_currency).message
                if message not in self.missing:
                    self.missing.append(message)
                ok = False
                continue
            total += Decimal(amounts[currency]) * rate
        return total if ok else None


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a + b


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else money.round_money(value)


def check_member_filters(*, actor: Principal, owner_id: int | None, team_id: int | None) -> None:
    """422 unless `owner_id` is a member and `team_id` a team of the actor's workspace."""
    if owner_id is not None and not Membership.objects.filter(org_id=actor.org_id, user_id=owner_id).exists():
        raise ValidationFailed("invalid_owner", "No member of this workspace has that id.", field="owner_id")
    if team_id is not None and not Team.objects.filter(org_id=actor.org_id, pk=team_id).exists():
        raise ValidationFailed("invalid_team", "No team of this workspace has that id.", field="team_id")


def dashboard_pipelines(*, actor: Principal) -> list[Pipeline]:
    """The workspace's pipelines in board order, with their stages (the dashboard's choices)."""
    return list(pipeline_selectors.pipeline_list(actor=actor).order_by(*pipeline_selectors.ORDERING))


def pick_pipeline(pipelines: list[Pipeline], pipeline_id: int | None) -> Pipeline:
    """The pipeline the dashboard shows: `pipeline_id`'s, or the first; 422 for a pipeline that is
    not one of `pipelines` (missing and other workspaces' alike)."""
    if pipeline_id is None:
        return pipelines[0]
    for pipeline in pipelines:
        if pipeline.pk == pipeline_id:
            return pipeline
    raise ValidationFailed("invalid_pipeline", "Choose one of the workspace's pipelines.", field="pipeline_id")


def sales_dashboard(
    *, actor: Principal, pipeline: Pipeline, filters: DashboardFilter, now: datetime | None = None
) -> Dashboard:
    """Every figure of the dashboard (see the module's docstring) for `pipeline` (one of
    `dashboard_pipelines`, stages prefetched) and `filters`."""
    require_entity(actor, Entity.DEAL, Mode.READ)
    now = now or timezone.now()
    today = timezone.localdate(now)
    org = actor.org
    convert = _Converter(org)
    deals = deal_list(
        actor=actor, filters=DealFilter(pipeline_id=pipeline.pk, owner_id=filters.owner_id, team_id=filters.team_id)
    ).select_related(None)
    stages = list(pipeline.stages.all())
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]

    # Pipeline value by stage: open deals now, today's rates.
    per_stage: dict[int, dict[str, Decimal]] = defaultdict(dict)
    values = {s.pk: StageValue(stage=s) for s in open_stages}
    rows = (
        deals.filter(stage__kind=StageKind.OPEN)
        .values("stage_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        if row["stage_id"] in values:
            values[row["stage_id"]].count += row["n"]
            per_stage[row["stage_id"]][row["currency"]] = row["total"]
    convert.prefetch({currency for amounts in per_stage.values() for currency in amounts}, today)
    open_value: Decimal | None = Decimal(0)
    for stage_id, item in values.items():
        unrounded = convert.unrounded(per_stage.get(stage_id, {}), today)
        item.value = _round(unrounded)
        open_value = _add(open_value, unrounded)

    # Won and lost in the period, by month and currency.
    start, end = filters.period.bounds()
    duration = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    closed = (
        deals.filter(stage__kind__in=[StageKind.WON, StageKind.LOST], closed_at__gte=start, closed_at__lt=end)
        .annotate(month=TruncMonth("closed_at"))
        .values("stage__kind", "month", "currency")
        .annotate(n=Count("id"), total=Sum("amount"), cycle=Sum(duration))
        .order_by()
    )
    groups: dict[tuple[str, date], dict[str, Decimal]] = defaultdict(dict)
    counts: dict[tuple[str, date], int] = defaultdict(int)
    cycle_total, won_count = timedelta(), 0
    for row in closed:
        month = _as_month(row["month"])
        key = (row["stage__kind"], month)
        groups[key][row["currency"]] = row["total"]
        counts[key] += row["n"]
        if row["stage__kind"] == StageKind.WON:
            cycle_total += row["cycle"] or timedelta()
            won_count += row["n"]
    outcomes: dict[str, Outcome] = {StageKind.WON: Outcome(), StageKind.LOST: Outcome()}
    unrounded_outcomes: dict[str, Decimal | None] = {StageKind.WON: Decimal(0), StageKind.LOST: Decimal(0)}
    by_month = {m: MonthValue(month=m) for m in filters.period.months()}
    for (_, month), amounts in groups.items():
        convert.prefetch(set(amounts), min(_month_end(month), today))  # won and lost of a month: one query
    for (kind, month), amounts in sorted(groups.items()):
        value = convert.unrounded(amounts, min(_month_end(month), today))
        outcomes[kind].count += counts[(kind, month)]
        unrounded_outcomes[kind] = _add(unrounded_outcomes[kind], value)
        if kind == StageKind.WON and month in by_month:
            by_month[month].count += counts[(kind, month)]
            by_month[month].value = _round(value)
    for kind, outcome in outcomes.items():
        outcome.value = _round(unrounded_outcomes[kind])
    won, lost = outcomes[StageKind.WON], outcomes[StageKind.LOST]
    win_rate = won.count / (won.count + lost.count) if won.count + lost.count else None
    won_total = unrounded_outcomes[StageKind.WON]
    average_won = money.round_money(won_total / won.count) if won.count and won_total is not None else None
    average_cycle = (cycle_total / won_count) / timedelta(days=1) if won_count else None
    rotting, rotting_count = _rotting(deals, open_stages, now)
    return Dashboard(
        pipeline=pipeline,
        period=filters.period,
        base_currency=org.base_currency,
        stages=list(values.values()),
        open_count=sum(v.count for v in values.values()),
        open_value=_round(open_value),
        won=won,
        lost=lost,
        win_rate=win_rate,
        average_won=average_won,
        average_cycle_days=average_cycle,
        by_month=list(by_month.values()),
        funnel=_funnel(actor, deals, pipeline, stages, start, end),
        rotting=rotting,
        rotting_count=rotting_count,
        missing=convert.missing,
    )


def _as_month(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date().replace(day=1)
    return value.replace(day=1)


def _funnel(
    actor: Principal, deals: QuerySet[Deal], pipeline: Pipeline, stages: list[Stage], start: datetime, end: datetime
) -> list[FunnelStep]:
    """Stage-to-stage conversion of the deals created in the period: open stages, then the won one."""
    won = [s for s in stages if s.kind == StageKind.WON]
    path = [s for s in stages if s.kind == StageKind.OPEN] + won[:1]
    cohort = deals.filter(created_at__gte=start, created_at__lt=end).values("pk")
    rows = deal_stats.deal_stage_rows(actor=actor, pipeline_id=pipeline.pk).filter(deal__in=cohort)
    entered = dict(
        rows.filter(stage_id__in=[s.pk for s in path])
        .values_list("stage_id")
        .annotate(n=Count("deal_id", distinct=True))
        .order_by()
    )
    rates = [c.rate for c in deal_stats.funnel(rows, [s.pk for s in path])] if any(entered.values()) else []
    return [
        FunnelStep(stage=s, entered=entered.get(s.pk, 0), rate=rates[i] if i < len(rates) else None)
        for i, s in enumerate(path)
    ]


def _rotting(deals: QuerySet[Deal], open_stages: list[Stage], now: datetime) -> tuple[list[Deal], int]:
    """The open deals longer in their stage than its rotting days (the longest first), and how many."""
    condition = Q()
    for stage in open_stages:
        if stage.rotting_days is not None:
            # As the board marks them: more than `rotting_days` whole days in the stage.
            limit = now - timedelta(days=stage.rotting_days + 1)
            condition |= Q(stage_id=stage.pk, stage_entered_at__lte=limit)
    if not condition:
        return [], 0
    rotting = deals.filter(condition)
    shown = list(rotting.select_related("stage", "owner").order_by("stage_entered_at", "id")[:ROTTING_SHOWN])
    for deal in shown:
        deal.days = days_in_stage(deal, now)  # type: ignore[attr-defined]
        deal.days_over = deal.days - (deal.stage.rotting_days or 0)  # type: ignore[attr-defined]
    count = len(shown) if len(shown) < ROTTING_SHOWN else rotting.count()
    return shown, count
