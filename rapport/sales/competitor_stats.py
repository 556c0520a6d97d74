"""Win/loss by competitor: for each competitor, the deals that list it — won, lost and still open —,
the win rate (won / (won + lost)) and the value won and lost in the base currency.

Counted over the living deals the actor may read (the deal levels of `deal_list`), of every
pipeline and every time: a sales rep sees the figures of their own and their team's deals.
Values convert with today's exchange rates (per-currency subtotals summed in SQL, converted
unrounded, rounded once); a currency without a rate leaves that competitor's value empty (None)
and puts the MissingRate message in `missing`.

Cost: one grouped query (competitor x outcome x currency) and one for the rates, whatever the
number of deals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity
from rapport.core.principal import Principal
from rapport.sales import money
from rapport.sales.deal_selectors import DealFilter, deal_list
from rapport.sales.models import Competitor, Deal, StageKind


@dataclass
class CompetitorStats:
    competitor_id: int
    won: int = 0
    lost: int = 0
    open: int = 0
    won_value: Decimal | None = Decimal(0)  # None: a currency has no rate
    lost_value: Decimal | None = Decimal(0)

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closed if self.closed else None


@dataclass
class CompetitorReport:
    base_currency: str
    stats: dict[int, CompetitorStats]
    missing: list[str] = field(default_factory=list)

    def of(self, competitor_id: int) -> CompetitorStats:
        """The figures of one competitor (zeros when no readable deal lists it)."""
        return self.stats.get(competitor_id) or CompetitorStats(competitor_id=competitor_id)


def competitor_stats(
    *, actor: Principal, competitor_ids: Iterable[int] | None = None, today: date | None = None
) -> CompetitorReport:
    """The win/loss figures of the workspace's competitors (of `competitor_ids` only, when given)."""
    require_entity(actor, Entity.DEAL, Mode.READ)
    day = today or timezone.localdate()
    org = actor.org
    deals = deal_list(actor=actor, filters=DealFilter()).select_related(None)
    links = Deal.competitors.through.objects.filter(deal__in=deals.values("pk"), competitor__org_id=actor.org_id)
    if competitor_ids is not None:
        links = links.filter(competitor_id__in=list(competitor_ids))
    grouped = (
        links.values("competitor_id", "deal__stage__kind", "deal__currency")
        .annotate(n=Count("deal_id"), total=Sum("deal__amount"))
        .order_by()
    )
    rows = [
        {"competitor_id": r["competitor_id"], "kind": r["deal__stage__kind"], "currency": r["deal__currency"], **r}
        for r in grouped
    ]
    rates = money.rates_for(org, {row["currency"] for row in rows}, day) if rows else {}
    stats: dict[int, CompetitorStats] = {}
    sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    unknown: set[tuple[int, str]] = set()
    missing: list[str] = []
    for row in rows:
        item = stats.setdefault(row["competitor_id"], CompetitorStats(competitor_id=row["competitor_id"]))
        kind = row["kind"]
        setattr(item, kind, getattr(item, kind) + row["n"])
        if kind == StageKind.OPEN:
            continue
        rate = rates.get(row["currency"])
        if rate is None:
            unknown.add((row["competitor_id"], kind))
            message = money.MissingRate(row["currency"], day, org.base_currency).message
            if message not in missing:
                missing.append(message)
        else:
            sums[(row["competitor_id"], kind)] += Decimal(row["total"]) * rate
    for competitor_id, item in stats.items():
        for kind in (StageKind.WON, StageKind.LOST):
            key = (competitor_id, str(kind))
            value = None if key in unknown else money.round_money(sums.get(key, Decimal(0)))
            setattr(item, f"{kind}_value", value)
    return CompetitorReport(base_currency=org.base_currency, stats=stats, missing=missing)


def competitor_deals(*, actor: Principal, competitor: Competitor) -> QuerySet[Deal]:
    """The living deals the actor may read that list `competitor` (fetch it with
    `competitor_get`), with pipeline, stage, owner and company joined: one query per page."""
    return deal_list(actor=actor, filters=DealFilter()).filter(competitors=competitor)
