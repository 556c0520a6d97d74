"""Deals on the 360° view: the "deal" timeline source and the open-deal facts.

A deal reaches the timeline of its primary contact, of every contact with a role in it, and of its
company (so also a company page's roll-up of its people, once: items carry the stay as their
`key`). The items are its stage history: "Deal created" for the first stay, then "Deal moved",
"Deal won" or "Deal lost" for each later one. One query whatever the number of items or subjects.

The facts are the count and the value of the open deals (per currency: amounts are not converted
here), one query; nothing when there are none. Both show only the deals the actor may read.
Imported from SalesConfig.ready.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from rapport.accounts.roles import Entity
from rapport.contacts.facts import Fact, register_fact_source
from rapport.contacts.timeline import SubjectIds, TimelineItem, register_timeline_source
from rapport.core.access import scope
from rapport.core.principal import Principal
from rapport.sales.models import Deal, DealContact, DealStage, StageKind


def _deals_of(actor: Principal, subject_type: str, subject_ids: Any) -> QuerySet[Deal]:
    deals = scope(actor, Deal.objects.filter(deleted_at__isnull=True), Entity.DEAL)
    if subject_type == "contact":
        linked = DealContact.objects.filter(deal_id=OuterRef("pk"), contact_id__in=subject_ids)
        return deals.filter(Q(contact_id__in=subject_ids) | Exists(linked))
    return deals.filter(company_id__in=subject_ids)


def money(amount: Any, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


DELETED_STAGE = "a deleted stage"


def deal_items(
    actor: Principal, subject_type: str, subject_ids: SubjectIds, limit: int, before: datetime | None
) -> list[TimelineItem]:
    """The newest `limit` stage-history entries (older than `before`) of the deals of the contacts
    or companies, that the actor may read."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity.DEAL):
        return []
    deals = _deals_of(actor, subject_type, subject_ids)
    previous = DealStage.objects.filter(deal_id=OuterRef("deal_id"), entered_at__lt=OuterRef("entered_at")).order_by(
        "-entered_at", "-id"
    )
    rows = DealStage.objects.filter(org_id=actor.org_id, deal__in=deals.values("pk"))
    if before is not None:
        rows = rows.filter(entered_at__lt=before)
    rows = rows.annotate(
        has_previous=Exists(previous), previous_stage=Subquery(previous.values("stage__name")[:1])
    ).select_related("deal", "stage", "actor")
    items = []
    for row in rows.order_by("-entered_at", "-id")[:limit]:
        deal, stage = row.deal, row.stage
        # A stay in a stage deleted since has no stage: it reads "a deleted stage".
        name, kind = (stage.name, stage.kind) if stage is not None else (DELETED_STAGE, StageKind.OPEN)
        lines = [f"Amount: {money(deal.amount, deal.currency)}"]
        if not row.has_previous:
            title = f"Deal created: {deal.name}"
            lines.insert(0, f"Stage: {name}")
        else:
            verb = {StageKind.WON: "won", StageKind.LOST: "lost"}.get(StageKind(kind), "moved")
            title = f"Deal {verb}: {deal.name}"
            lines.insert(0, f"Stage: {row.previous_stage or DELETED_STAGE} → {name}")
            if kind == StageKind.LOST and row.left_at is None and deal.lost_reason:
                lines.append(f"Lost reason: {deal.lost_reason}")
        items.append(
            TimelineItem(
                at=row.entered_at,
                kind="deal",
                title=title,
                actor_name=row.actor.display_name if row.actor else "",
                icon="deal",
                lines=tuple(lines),
                key=f"deal-stage:{row.pk}",
            )
        )
    return items


def deal_facts(actor: Principal, subject_type: str, record: Any) -> list[Fact]:
    """ "Open deals": how many, and their value per currency (no fact when there are none)."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity.DEAL):
        return []
    open_deals = _deals_of(actor, subject_type, [record.pk]).filter(stage__kind=StageKind.OPEN)
    sums = list(open_deals.values("currency").annotate(n=Count("id"), total=Sum("amount")).order_by("currency"))
    count = sum(row["n"] for row in sums)
    if not count:
        return []  # nothing to say: the page stays short
    value = " + ".join(money(row["total"], row["currency"]) for row in sums)
    return [Fact(label="Open deals", value=f"{count} · {value}")]


register_timeline_source("deal", deal_items, label="Deals")
register_fact_source("deals", deal_facts)
