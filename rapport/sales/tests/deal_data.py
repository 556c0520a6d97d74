"""Deals with a known past, made directly (the deal services have their own tests): a path of
stages with the time each was entered, so reports can be checked against hand-counted numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rapport.accounts.roles import ROLES, Entity, Grant, Level, Role, RoleSpec
from rapport.core.principal import Principal
from rapport.sales.models import Competitor, Deal, DealStage, ExchangeRate, Stage, StageKind
from rapport.sales.tests.conftest import PipelineFixture


def member_without_deal_access(monkeypatch: Any, member_of: Any) -> Principal:
    """A viewer whose role (patched for the test) reads no deals."""
    spec = ROLES[Role.VIEWER]
    grants = {**spec.grants, Entity.DEAL: Grant(read=Level.NONE, write=Level.NONE)}
    monkeypatch.setitem(ROLES, Role.VIEWER, RoleSpec(grants=grants, perms=spec.perms))
    return member_of(Role.VIEWER)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def make_deal(
    owner: Principal,
    path: Sequence[tuple[Stage, datetime]],
    *,
    amount: str | Decimal = "0",
    currency: str = "EUR",
    name: str = "Deal",
    competitors: Sequence[Competitor] = (),
    team_id: int | None = None,
    **extra: Any,
) -> Deal:
    """A deal of `owner` that went through `path` (stage, entered at), created when it entered the
    first stage; closed when its last stage is won or lost."""
    stage, entered = path[-1]
    deal = Deal.objects.create(
        org_id=owner.org_id,
        owner=owner.user,
        team_id=team_id,
        name=name,
        amount=Decimal(amount),
        currency=currency,
        pipeline_id=stage.pipeline_id,
        stage=stage,
        stage_entered_at=entered,
        closed_at=entered if stage.kind != StageKind.OPEN else None,
        **extra,
    )
    Deal.objects.filter(pk=deal.pk).update(created_at=path[0][1])
    DealStage.objects.bulk_create(
        DealStage(
            org_id=owner.org_id,
            deal=deal,
            pipeline_id=step.pipeline_id,
            stage=step,
            entered_at=when,
            left_at=path[i + 1][1] if i + 1 < len(path) else None,
        )
        for i, (step, when) in enumerate(path)
    )
    if competitors:
        deal.competitors.set(competitors)
    deal.refresh_from_db()
    return deal


@dataclass
class Scene:
    admin: Principal
    rep: Principal
    fx: PipelineFixture
    deals: dict[str, Deal]


def march_scene(org: Any, admin: Principal, rep: Principal, fx: PipelineFixture) -> Scene:
    """Base EUR; 1 USD = 0.5 EUR from January, 0.4 from April. Stages: Qualified (rots after 14
    days), Proposal (21), Negotiation (14), Won, Lost. Ages in the comments are on 15 April 2026."""
    org.base_currency = "EUR"
    org.save()
    ExchangeRate.objects.create(org=org, currency="USD", rate=Decimal("0.5"), valid_from=date(2026, 1, 1))
    ExchangeRate.objects.create(org=org, currency="USD", rate=Decimal("0.4"), valid_from=date(2026, 4, 1))
    s = fx.stages
    q, p, n, won, lost = s["Qualified"], s["Proposal"], s["Negotiation"], s["Won"], s["Lost"]
    deals = {
        # Won in March after 10 days: 1000 EUR.
        "d1": make_deal(admin, [(q, at(2026, 3, 1)), (p, at(2026, 3, 5)), (won, at(2026, 3, 11))], amount="1000"),
        # Won in March after 20 days: 200 USD = 100 EUR at March's rate.
        "d2": make_deal(admin, [(q, at(2026, 3, 2)), (won, at(2026, 3, 22))], amount="200", currency="USD"),
        # Lost in March: 500 EUR.
        "d3": make_deal(admin, [(q, at(2026, 3, 3)), (p, at(2026, 3, 4)), (lost, at(2026, 3, 10))], amount="500"),
        # Won in February: outside the period and its cohort.
        "d4": make_deal(admin, [(q, at(2026, 2, 1)), (won, at(2026, 2, 20))], amount="999"),
        # Open in Qualified since 20 March: 26 days, rotting (12 over).
        "d5": make_deal(admin, [(q, at(2026, 3, 20))], amount="300"),
        # Open in Proposal since 10 April: 40 USD = 16 EUR at today's rate; not rotting.
        "d6": make_deal(admin, [(q, at(2026, 3, 25)), (p, at(2026, 4, 10))], amount="40", currency="USD"),
        # Open in Negotiation since 30 March: 16 days, rotting (2 over).
        "d7": make_deal(admin, [(q, at(2026, 3, 15)), (p, at(2026, 3, 20)), (n, at(2026, 3, 30))], amount="700"),
    }
    return Scene(admin=admin, rep=rep, fx=fx, deals=deals)
