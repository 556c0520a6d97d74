"""The sales forecast: per month or quarter, for the whole workspace, per team or per owner — closed
won, weighted pipeline, best case, quota and attainment, and for periods that have begun what the
forecast said at their start against what was won.

Definitions (the same in docs/sales.md):
- A deal falls in a period by its **closed_at** day when it is won, by its **expected close date**
  when it is open. Lost deals, and open deals without an expected close date, are in no period.
  Trashed deals count nowhere. Periods are calendar months and quarters in the server's time zone.
- **closed won**: the sum of the won deals closed in the period.
- **open pipeline**: the sum of the open deals expected to close in the period; **weighted
  pipeline**: the sum of their amount x their stage's win probability / 100.
- **forecast** = closed won + weighted pipeline (what we expect to win; there are no forecast
  categories, so there is no separate "commit"); **best case** = closed won + open pipeline (every
  open deal won).
- **quota**: the member's quota for the period; a quarter's quota is its quarter quota when set,
  else the sum of its months' quotas (a month has only its own). A team's quota is the sum of its
  members' quotas, the workspace's the sum of every member's (each counted once).
  **attainment** = closed won / quota x 100 (one decimal; none without a quota or with 0).
- **forecast at start** (periods that have begun): the weighted pipeline as it stood at the first
  moment of the period — the deals that were open then (from their stage history: the stage each
  deal was in at that moment and that stage's probability today), with their amounts and expected
  close dates of today, in the period. **variance** = closed won - forecast at start.
- **Currencies**: every amount converts to the base currency with the rate valid on its day (close
  day of a won deal, expected close date of an open one). Sums are taken in SQL per (group,
  currency, day), converted unrounded and rounded to the cent once per figure; forecast and best
  case are sums of the rounded figures shown. A figure that needs a missing rate is not given
  (None), and the missing rate is named: never a wrong total.
- Grouping follows the deals' owner or team today; the actor sees the deals their deal read level
  covers (a rep with "own" access sees only theirs), and the quotas of those members
  (rapport.sales.quota_services.quota_user_filter).

Cost: a fixed number of queries whatever the number of deals (won sums, open sums, the stage
history sums of all begun periods in one, rates, quotas, names, team members).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.accounts.models import Team
from rapport.accounts.roles import Entity, Mode
from rapport.contacts.cleaning import FieldErrors
from rapport.core.access import require_entity, scope
from rapport.core.principal import Principal
from rapport.sales import money
from rapport.sales.models import Deal, ExchangeRate, PeriodKind, Pipeline, Quota, Stage, StageKind
from rapport.sales.quota_services import period_start_of, quota_user_filter

GROUPS = ("workspace", "team", "owner")
DEFAULT_PERIODS = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4}
MAX_PERIODS = 24
HUNDRED = Decimal(100)
ZERO = Decimal(0)


# --- periods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter: [start, end)."""

    kind: str
    start: date
    end: date

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return f"{self.start:%b %Y}"

    def status(self, today: date) -> str:
        """past (ended), current (today is in it) or future."""
        if self.end <= today:
            return "past"
        return "current" if self.start <= today else "future"


def _next_start(kind: str, start: date) -> date:
    months = 3 if kind == PeriodKind.QUARTER else 1
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_range(kind: str, start: date, count: int) -> list[Period]:
    """`count` consecutive periods of `kind`, the first holding `start`."""
    periods = []
    first = period_start_of(kind, start)
    for _ in range(count):
        end = _next_start(kind, first)
        periods.append(Period(kind=kind, start=first, end=end))
        first = end
    return periods


def current_day() -> date:
    """Today in the current time zone (which periods are past, current or future)."""
    return timezone.localdate()


def moment(day: date) -> datetime:
    """The first moment of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


# --- input ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastQuery:
    """A validated forecast request (build it with `forecast_query`)."""

    period: str
    start: date
    periods: int
    group: str
    pipeline_id: int | None = None


def parse_start(value: Any) -> date | None:
    """A day (YYYY-MM-DD) or a month (YYYY-MM, its first day), or None."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 7:  # "2026-04": a month
        text += "-01"
    try:
        return parse_date(text)
    except ValueError:
        return None


def forecast_query(
    *,
    actor: Principal,
    period: Any = None,
    start: Any = None,
    periods: Any = None,
    group: Any = None,
    pipeline: Any = None,
    today: date | None = None,
) -> ForecastQuery:
    """Check a forecast request (from the API's or the page's query string) and fill in defaults:
    months, from the first period of this year, 12 months or 4 quarters, the whole workspace, all
    pipelines. `start` is a day (YYYY-MM-DD) or a month (YYYY-MM); it is moved to the first day of
    its period. Every bad parameter is reported at once (422 naming it); an unknown pipeline (or
    another workspace's) is a bad parameter too."""
    require_entity(actor, Entity.DEAL, Mode.READ)
    errors = FieldErrors()
    kind = PeriodKind.MONTH.value if period in (None, "") else period
    if kind not in PeriodKind.values:
        errors.add("period", "Choose month or quarter.")
        kind = PeriodKind.MONTH.value
    day = today or current_day()
    first = date(day.year, 1, 1) if start in (None, "") else parse_start(start)
    if first is None or first.year < 1900 or first.year > 9000:
        errors.add("start", "Enter the first period as a date (2026-01-01) or a month (2026-01).")
    count: Any = DEFAULT_PERIODS[PeriodKind(kind)] if periods in (None, "") else periods
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count.strip())
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PERIODS:
        errors.add("periods", f"Enter a number of periods from 1 to {MAX_PERIODS}.")
    grouping = "workspace" if group in (None, "") else group
    if grouping not in GROUPS:
        errors.add("group", "Group by workspace, team or owner.")
    pipeline_id: int | None = None
    if pipeline not in (None, ""):
        try:
            pipeline_id = int(pipeline)
        except (TypeError, ValueError):
            pipeline_id = 0
        alive = Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, pk=pipeline_id)
        if not 0 < pipeline_id < 2**63 or not alive.exists():
            errors.add("pipeline", "No such pipeline.")
    errors.raise_if_any()
    assert first is not None
    return ForecastQuery(
        period=kind, start=period_start_of(kind, first), periods=count, group=grouping, pipeline_id=pipeline_id
    )


# --- the answer -------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One group's figures in one period (amounts in the base currency, rounded to the cent).
    Money figures are None when a rate they need is missing (`missing` names the currencies);
    the "at start" figures are None for periods that have not begun."""

    period: Period
    closed_won: Decimal | None = ZERO
    won_deals: int = 0
    open_pipeline: Decimal | None = ZERO
    weighted_pipeline: Decimal | None = ZERO
    open_deals: int = 0
    forecast: Decimal | None = ZERO
    best_case: Decimal | None = ZERO
    quota: Decimal | None = None
    attainment: Decimal | None = None
    forecast_at_start: Decimal | None = None
    best_case_at_start: Decimal | None = None
    variance: Decimal | None = None
    missing: list[str] = field(default_factory=list)


@dataclass
class Row:
    """The whole workspace, one team or one owner (id None: deals without a team or an owner)."""

    key: str
    kind: str
    id: int | None
    name: str
    cells: list[Cell]
    total: Cell


@dataclass(frozen=True)
class RateGap:
    """A currency without a rate on or before `on` (the first day that needed one)."""

    currency: str
    on: date
    message: str


@dataclass
class Forecast:
    query: ForecastQuery
    periods: list[Period]
    statuses: list[str]
    base_currency: str
    rows: list[Row]
    total: Row  # the whole workspace (as far as the actor sees it)
    missing_rates: list[RateGap]


class RateBook:
    """Every rate of the workspace's currencies that matters for [first, end), from one query:
    `rate(currency, day)` is the latest rate on or before `day` (1 for the base currency, None
    when there is none); `changes` are the days in (first, end) on which some rate changes."""

    def __init__(self, org: Any, first: date, end: date) -> None:
        self.base = org.base_currency
        self._days: dict[str, list[date]] = defaultdict(list)
        self._rates: dict[str, list[Decimal]] = defaultdict(list)
        before = (
            ExchangeRate.objects.filter(org_id=org.pk, currency=OuterRef("currency"), valid_from__lte=first)
            .order_by("-valid_from")
            .values("valid_from")[:1]
        )
        rows = (
            ExchangeRate.objects.filter(org_id=org.pk, valid_from__lt=end)
            .exclude(currency=self.base)
            .filter(Q(valid_from__gt=first) | Q(valid_from=Subquery(before)))
            .order_by("currency", "valid_from")
            .values_list("currency", "valid_from", "rate")
        )
        for currency, valid_from, rate in rows:
            self._days[currency].append(valid_from)
            self._rates[currency].append(rate)
        self.changes = sorted({d for days in self._days.values() for d in days if d > first})

    def rate(self, currency: str, day: date) -> Decimal | None:
        if currency == self.base:
            return money.ONE
        days = self._days.get(currency)
        if not days:
            return None
        index = bisect.bisect_right(days, day) - 1
        return self._rates[currency][index] if index >= 0 else None


@dataclass
class _Sums:
    """Unrounded base-currency sums of one (row, period)."""

    won: Decimal = ZERO
    won_n: int = 0
    open: Decimal = ZERO
    weighted: Decimal = ZERO  # x 100 (probabilities are percent)
    open_n: int = 0
    start_open: Decimal = ZERO
    start_weighted: Decimal = ZERO
    missing: set[str] = field(default_factory=set)


_KEYS = {"workspace": (), "team": ("team_id",), "owner": ("owner_id",)}


def _deals(actor: Principal, query: ForecastQuery) -> QuerySet[Deal]:
    deals = scope(actor, Deal.objects.filter(deleted_at__isnull=True), Entity.DEAL)
    return deals.filter(pipeline_id=query.pipeline_id) if query.pipeline_id else deals


def _stages(actor: Principal) -> tuple[list[int], list[int], dict[int, int]]:
    """(won stage ids, open stage ids, {stage id: probability}) of the workspace: the sums below
    filter and group by stage id rather than join the stages (a join the planner would start from)."""
    won: list[int] = []
    opened: list[int] = []
    probability: dict[int, int] = {}
    for pk, kind, percent in Stage.objects.filter(org_id=actor.org_id).values_list("pk", "kind", "probability"):
        probability[pk] = percent
        if kind == StageKind.WON:
            won.append(pk)
        elif kind == StageKind.OPEN:
            opened.append(pk)
    return won, opened, probability


def _bucket(field: str, points: list[date], moments: bool) -> Case:
    """The index of the segment [points[i], points[i + 1]) that `field` (a date, or with `moments`
    a date-time compared with the first moment of each day) falls in; rows are already within
    [points[0], points[-1])."""
    whens = [
        When(**{f"{field}__lt": moment(point) if moments else point}, then=Value(i))
        for i, point in enumerate(points[1:-1])
    ]
    return Case(*whens, default=Value(len(points) - 2), output_field=IntegerField())


def _won(deals: QuerySet[Deal], points: list[date], key: tuple[str, ...], won: list[int]) -> list[dict[str, Any]]:
    """Won deals closed in [points[0], points[-1]): count, sum and first close per (group,
    currency, segment)."""
    closed = deals.filter(stage_id__in=won, closed_at__gte=moment(points[0]), closed_at__lt=moment(points[-1]))
    return list(
        closed.annotate(segment=_bucket("closed_at", points, moments=True))
        .values(*key, "currency", "segment")
        .annotate(n=Count("id"), total=Sum("amount"), first=Min("closed_at"))
        .order_by()
    )


def _open(deals: QuerySet[Deal], points: list[date], key: tuple[str, ...], opened: list[int]) -> list[dict[str, Any]]:
    """Open deals expected to close in [points[0], points[-1]): count, sum and first expected
    close date per (group, currency, segment, stage)."""
    open_deals = deals.filter(
        stage_id__in=opened, expected_close_date__gte=points[0], expected_close_date__lt=points[-1]
    )
    return list(
        open_deals.annotate(segment=_bucket("expected_close_date", points, moments=False))
        .values(*key, "currency", "segment", "stage_id")
        .annotate(n=Count("id"), total=Sum("amount"), first=Min("expected_close_date"))
        .order_by()
    )


def _at_start(
    deals: QuerySet[Deal],
    periods: list[Period],
    begun: list[int],
    points: list[date],
    key: tuple[str, ...],
    opened: list[int],
) -> list[dict[str, Any]]:
    """For every begun period at once: the deals expected to close in it that were in an open stage
    at its first moment (their stage-history stay covering that moment) - count, sum and first
    expected close date per (group, currency, segment, the stage they were in). Driven by the
    deals' close-date index, then each deal's stays."""
    if not begun:
        return []
    covering = Q()
    for index in begun:
        period = periods[index]
        at = moment(period.start)
        in_period = Q(expected_close_date__gte=period.start, expected_close_date__lt=period.end)
        stay = Q(stage_history__entered_at__lte=at) & (
            Q(stage_history__left_at__gt=at) | Q(stage_history__left_at__isnull=True)
        )
        covering |= in_period & stay
    # One filter() call: every condition on `stage_history` is about the same stay (one join),
    # and the stage grouped by below is that stay's.
    window = deals.filter(
        expected_close_date__gte=periods[begun[0]].start, expected_close_date__lt=periods[begun[-1]].end
    )
    held = window.filter(covering, stage_history__stage_id__in=opened)
    return list(
        held.annotate(segment=_bucket("expected_close_date", points, moments=False))
        .values(*key, "currency", "segment", stay_stage=F("stage_history__stage_id"))
        .annotate(n=Count("id"), total=Sum("amount"), first=Min("expected_close_date"))
        .order_by()
    )


def _quotas(actor: Principal, query: ForecastQuery, periods: list[Period]) -> dict[int, list[Decimal | None]]:
    """{user id: [quota of each period or None]} of the members whose quotas the actor may read."""
    visible = quota_user_filter(actor)
    if visible is None:
        return {}
    rows = Quota.objects.filter(
        visible, org_id=actor.org_id, period_start__gte=periods[0].start, period_start__lt=periods[-1].end
    )
    if query.period == PeriodKind.MONTH:
        rows = rows.filter(period=PeriodKind.MONTH)
    starts = [p.start for p in periods]
    own: dict[int, list[Decimal | None]] = {}
    months: dict[int, list[Decimal | None]] = {}
    for user_id, kind, start, value in rows.values_list("user_id", "period", "period_start", "amount"):
        amount = cast(Decimal, value)
        index = bisect.bisect_right(starts, start) - 1
        if kind == query.period:
            own.setdefault(user_id, [None] * len(periods))[index] = amount
        else:  # a month of a quarter
            slot = months.setdefault(user_id, [None] * len(periods))
            slot[index] = (slot[index] or ZERO) + amount
    result = {}
    for user_id in own.keys() | months.keys():
        mine = own.get(user_id, [None] * len(periods))
        summed = months.get(user_id, [None] * len(periods))
        result[user_id] = [m if m is not None else s for m, s in zip(mine, summed, strict=True)]
    return result


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None:
        return b
    return a if b is None else a + b


def _percent(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return (part * HUNDRED / whole).quantize(Decimal("0.1"))


def _cell(period: Period, sums: _Sums, quota: Decimal | None, begun: bool) -> Cell:
    cell = Cell(period=period, won_deals=sums.won_n, open_deals=sums.open_n, quota=quota)
    cell.missing = sorted(sums.missing)
    if cell.missing:
        cell.closed_won = cell.open_pipeline = cell.weighted_pipeline = cell.forecast = cell.best_case = None
        return cell
    cell.closed_won = money.round_money(sums.won)
    cell.open_pipeline = money.round_money(sums.open)
    cell.weighted_pipeline = money.round_money(sums.weighted / HUNDRED)
    cell.forecast = cell.closed_won + cell.weighted_pipeline
    cell.best_case = cell.closed_won + cell.open_pipeline
    cell.attainment = _percent(cell.closed_won, quota)
    if begun:
        cell.forecast_at_start = money.round_money(sums.start_weighted / HUNDRED)
        cell.best_case_at_start = money.round_money(sums.start_open)
        cell.variance = cell.closed_won - cell.forecast_at_start
    return cell


def _total(periods: list[Period], cells: list[Cell]) -> Cell:
    """The row's figures over the whole range (a period without a quota adds nothing to it)."""
    span = Period(kind=periods[0].kind, start=periods[0].start, end=periods[-1].end)
    total = Cell(period=span, quota=None, forecast_at_start=None, best_case_at_start=None, variance=None)
    total.missing = sorted({c for cell in cells for c in cell.missing})
    total.won_deals = sum(c.won_deals for c in cells)
    total.open_deals = sum(c.open_deals for c in cells)
    for cell in cells:
        total.quota = _add(total.quota, cell.quota)
        if not total.missing:
            total.forecast_at_start = _add(total.forecast_at_start, cell.forecast_at_start)
            total.best_case_at_start = _add(total.best_case_at_start, cell.best_case_at_start)
            total.variance = _add(total.variance, cell.variance)
    if total.missing:
        total.closed_won = total.open_pipeline = total.weighted_pipeline = total.forecast = total.best_case = None
        return total
    for name in ("closed_won", "open_pipeline", "weighted_pipeline", "forecast", "best_case"):
        setattr(total, name, sum((getattr(c, name) for c in cells), ZERO))
    total.attainment = _percent(total.closed_won, total.quota)
    return total


def _names(kind: str, ids: set[int]) -> dict[int, str]:
    if kind == "owner":
        users = get_user_model().objects.filter(pk__in=ids).values_list("pk", "name", "email")
        return {pk: name or email for pk, name, email in users}
    return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))


def forecast(*, actor: Principal, query: ForecastQuery, today: date | None = None) -> Forecast:
    """The forecast of `query` as the actor sees it: one row per group (the whole workspace, each
    team, each owner; deals without a team or owner in a row of their own) with a cell per period
    and a total over the range, plus the workspace's total row. Groups appear when they have deals
    or (for owners and teams) quotas in the range; rows by name."""
    require_entity(actor, Entity.DEAL, Mode.READ)
    day = today or current_day()
    periods = period_range(query.period, query.start, query.periods)
    statuses = [p.status(day) for p in periods]
    begun = [i for i, status in enumerate(statuses) if status != "future"]
    key = _KEYS[query.group]
    field_name = key[0] if key else None
    deals = _deals(actor, query)
    won_stages, open_stages, probability = _stages(actor)
    starts = [p.start for p in periods]
    book = RateBook(actor.org, starts[0], periods[-1].end)
    # Segments: the periods cut at every rate change, so one rate converts a whole segment.
    points = sorted({*starts, *book.changes, periods[-1].end})
    won = _won(deals, points, key, won_stages)
    open_ = _open(deals, points, key, open_stages)
    start = _at_start(deals, periods, begun, points, key, open_stages)
    sums: dict[tuple[Any, int], _Sums] = defaultdict(_Sums)
    gaps: dict[str, date] = {}
    for kind, rows in (("won", won), ("open", open_), ("start", start)):
        for row in rows:
            segment_start = points[row["segment"]]
            index = bisect.bisect_right(starts, segment_start) - 1
            targets = [sums[("workspace", index)]]
            if field_name:
                targets.append(sums[(row[field_name], index)])
            rate = book.rate(row["currency"], segment_start)
            if rate is None:
                first = row["first"]
                first = timezone.localtime(first).date() if isinstance(first, datetime) else first
                gaps[row["currency"]] = min(gaps.get(row["currency"], first), first)
                for target in targets:
                    target.missing.add(row["currency"])
                continue
            amount = Decimal(row["total"]) * rate
            for target in targets:
                if kind == "won":
                    target.won += amount
                    target.won_n += row["n"]
                elif kind == "open":
                    target.open += amount
                    target.weighted += amount * probability[row["stage_id"]]
                    target.open_n += row["n"]
                else:
                    target.start_open += amount
                    target.start_weighted += amount * probability[row["stay_stage"]]
    return _assemble(actor, query, periods, statuses, sums, gaps)


def _assemble(
    actor: Principal,
    query: ForecastQuery,
    periods: list[Period],
    statuses: list[str],
    sums: dict[tuple[Any, int], _Sums],
    gaps: dict[str, date],
) -> Forecast:
    quotas = _quotas(actor, query, periods)
    members: dict[int, set[int]] = defaultdict(set)  # team id → user ids
    if query.group == "team":
        links = Team.members.through.objects.filter(team__org_id=actor.org_id).values_list(
            "team_id", "membership__user_id"
        )
        for team_id, user_id in links:
            members[team_id].add(user_id)
    empty = [None] * len(periods)

    def quota_of(users: Iterable[int]) -> list[Decimal | None]:
        result: list[Decimal | None] = list(empty)
        for user_id in users:
            result = [_add(a, b) for a, b in zip(result, quotas.get(user_id, empty), strict=True)]
        return result

    def row(kind: str, group_id: Any, name: str, quota: list[Decimal | None]) -> Row:
        key = "workspace" if kind == "workspace" else group_id
        cells = [
            _cell(p, sums.get((key, i)) or _Sums(), quota[i], statuses[i] != "future") for i, p in enumerate(periods)
        ]
        row_key = kind if kind == "workspace" else f"{kind}:{group_id if group_id is not None else 'none'}"
        return Row(key=row_key, kind=kind, id=group_id, name=name, cells=cells, total=_total(periods, cells))

    total = row("workspace", None, "Whole workspace", quota_of(quotas))
    rows = [total]
    if query.group != "workspace":
        ids = {group_id for group_id, _ in sums if group_id != "workspace"}
        if query.group == "owner":
            ids |= set(quotas)
        else:
            ids |= {team_id for team_id, users in members.items() if users & set(quotas)}
        names = _names(query.group, {i for i in ids if i is not None})
        nobody = "No owner" if query.group == "owner" else "No team"
        ordered = sorted(ids, key=lambda i: (i is None, (names.get(i) or "").lower(), i or 0))
        rows = [
            row(
                query.group,
                group_id,
                names.get(group_id, nobody) if group_id is not None else nobody,
                quota_of([group_id] if query.group == "owner" else members.get(group_id, set()))
                if group_id is not None
                else list(empty),
            )
            for group_id in ordered
        ]
    missing = [
        RateGap(currency=c, on=on, message=money.MissingRate(c, on, actor.org.base_currency).message)
        for c, on in sorted(gaps.items())
    ]
    return Forecast(
        query=query,
        periods=periods,
        statuses=statuses,
        base_currency=actor.org.base_currency,
        rows=rows,
        total=total,
        missing_rates=missing,
    )
