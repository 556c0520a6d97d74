"""Reads of deals: the filtered list (one query, keyset-paged by the caller), one deal, and its
stage history. Everything is narrowed to what the actor may read (Entity.DEAL levels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet

from rapport.accounts.roles import Entity, Mode
from rapport.core.access import access, scope
from rapport.core.errors import ValidationFailed
from rapport.core.principal import Principal
from rapport.sales.models import Deal, DealContact, DealStage, StageKind

# API sort key → keyset ordering (non-null fields ending with the id, see rapport.core.pagination).
SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-amount": ("-amount", "-id"),
    "amount": ("amount", "id"),
    "-stage_entered": ("-stage_entered_at", "-id"),
    "-updated": ("-updated_at", "-id"),
}


@dataclass(frozen=True)
class DealFilter:
    """The filters of the deal list; None means "any". `status`: open, won or lost (the kind of
    the deal's stage). `contact_id` matches the primary contact and the contacts with a role."""

    pipeline_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    status: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    contact_id: int | None = None
    company_id: int | None = None


def deal_ordering(sort: str | None) -> tuple[str, ...]:
    """The keyset ordering of a sort key (default: newest first); 422 for an unknown key."""
    if sort is None or sort == "":
        return SORTS["-created"]
    if sort not in SORTS:
        raise ValidationFailed("invalid_sort", f"Sort by one of: {', '.join(SORTS)}.", field="sort")
    return SORTS[sort]


def deal_list(*, actor: Principal, filters: DealFilter | None = None, trashed: bool = False) -> QuerySet[Deal]:
    """The deals the actor may read that match `filters` (unordered), with pipeline, stage, owner,
    team, contact and company joined: one query per page."""
    f = filters or DealFilter()
    if f.status is not None and f.status not in StageKind.values:
        raise ValidationFailed("invalid_status", f"Choose one of: {', '.join(StageKind.values)}.", field="status")
    base = Deal.objects.filter(deleted_at__isnull=not trashed)
    qs = scope(actor, base, Entity.DEAL)
    exact = {
        "pipeline_id": f.pipeline_id,
        "stage_id": f.stage_id,
        "owner_id": f.owner_id,
        "team_id": f.team_id,
        "stage__kind": f.status,
        "company_id": f.company_id,
        "expected_close_date__gte": f.close_from,
        "expected_close_date__lte": f.close_to,
        "amount__gte": f.amount_min,
        "amount__lte": f.amount_max,
    }
    qs = qs.filter(**{key: value for key, value in exact.items() if value is not None})
    if f.contact_id is not None:
        linked = DealContact.objects.filter(deal_id=OuterRef("pk"), contact_id=f.contact_id)
        qs = qs.filter(Q(contact_id=f.contact_id) | Exists(linked))
    return qs.select_related("pipeline", "stage", "owner", "team", "contact", "company")


def deal_get(*, actor: Principal, deal_id: object, mode: Mode = Mode.READ, trashed: bool = False) -> Deal:
    """One deal the actor may read (or write); 404 for missing, trashed (or, with `trashed`, not
    trashed) and not-yours alike. Contacts with roles and competitors are prefetched."""
    qs = (
        Deal.objects.filter(deleted_at__isnull=not trashed)
        .select_related("pipeline", "stage", "owner", "team", "contact", "company")
        .prefetch_related("contact_links__contact", "competitors")
    )
    return access(actor, qs, deal_id, Entity.DEAL, mode)


def deal_history(*, actor: Principal, deal: Deal) -> list[DealStage]:
    """The stage history of a deal the actor may read (fetch it with `deal_get`), oldest first,
    with stage, pipeline and the member who moved it: one query."""
    return list(
        DealStage.objects.filter(org_id=actor.org_id, deal_id=deal.pk)
        .select_related("stage", "pipeline", "actor")
        .order_by("entered_at", "id")
    )
