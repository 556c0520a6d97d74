"""API schemas of deals. (No `from __future__ import annotations`: ninja reads the annotations.)"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from rapport.contacts.schemas import Ref, UserRef
from rapport.core.pagination import DEFAULT_LIMIT
from rapport.core.schemas import Id, StrictIn
from rapport.sales.models import DealRole

Amount = Field(None, ge=0, lt=Decimal("1e16"), max_digits=18, decimal_places=2)


class DealContactIn(StrictIn):
    contact_id: Id
    role: DealRole = DealRole.OTHER


class DealPatch(StrictIn):
    """The fields a PATCH may change; the stage and pipeline change through /move."""

    name: str | None = Field(None, max_length=200)
    amount: Decimal | None = Amount
    currency: str | None = Field(None, max_length=60, description="ISO 4217 code, e.g. EUR")
    expected_close_date: date | None = None
    owner_id: Id | None = Field(None, description="A member; sales reps can only own deals themselves")
    team_id: Id | None = None
    contact_id: Id | None = Field(None, description="The primary contact")
    company_id: Id | None = None
    contacts: list[DealContactIn] | None = Field(None, max_length=50, description="Other contacts and their roles")
    competitor_ids: list[Id] | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=100)
    lost_reason: str | None = Field(None, max_length=500)
    custom: dict[str, Any] | None = None


class DealIn(DealPatch):
    name: str = Field(..., max_length=200)
    amount: Decimal = Field(Decimal(0), ge=0, lt=Decimal("1e16"), max_digits=18, decimal_places=2)
    currency: str | None = Field(None, max_length=60, description="Default: the workspace's base currency")
    pipeline_id: Id
    stage_id: Id | None = Field(None, description="Default: the pipeline's first open stage")


class DealMoveIn(StrictIn):
    stage_id: Id
    lost_reason: str | None = Field(None, max_length=500, description="Required when the stage is a lost stage")
    pipeline_id: Id | None = Field(None, description="To move the deal into another pipeline")


class StageRef(Schema):
    id: int
    name: str
    kind: str
    probability: int


class DealContactOut(Schema):
    contact: Ref
    role: str

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any]:
        return {"id": obj.contact.pk, "name": str(obj.contact)}


class DealOut(Schema):
    id: int
    name: str
    amount: Decimal
    currency: str
    expected_close_date: date | None
    pipeline: Ref
    stage: StageRef
    stage_entered_at: datetime
    closed_at: datetime | None
    owner: UserRef | None
    team: Ref | None
    contact: Ref | None
    company: Ref | None
    contacts: list[DealContactOut] | None = None
    competitor_ids: list[int] | None = None
    source: str
    lost_reason: str
    custom: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_pipeline(obj: Any) -> dict[str, Any]:
        return {"id": obj.pipeline.pk, "name": obj.pipeline.name}

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner else None

    @staticmethod
    def resolve_team(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.team.pk, "name": obj.team.name} if obj.team else None

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.contact.pk, "name": str(obj.contact)} if obj.contact else None

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.company.pk, "name": obj.company.name} if obj.company else None

    @staticmethod
    def resolve_contacts(obj: Any) -> list[Any] | None:
        """On one deal; lists leave it out (null) to stay one query per page."""
        cache = getattr(obj, "_prefetched_objects_cache", {})
        return list(obj.contact_links.all()) if "contact_links" in cache else None

    @staticmethod
    def resolve_competitor_ids(obj: Any) -> list[int] | None:
        cache = getattr(obj, "_prefetched_objects_cache", {})
        return sorted(c.pk for c in obj.competitors.all()) if "competitors" in cache else None


class DealStageOut(Schema):
    pipeline: Ref
    stage: StageRef | None = Field(None, description="null once the stage has been deleted")
    entered_at: datetime
    left_at: datetime | None
    seconds: int | None = Field(None, description="Time spent in the stage (null while the deal is still there)")
    moved_by: UserRef | None

    @staticmethod
    def resolve_pipeline(obj: Any) -> dict[str, Any]:
        return {"id": obj.pipeline.pk, "name": obj.pipeline.name}

    @staticmethod
    def resolve_seconds(obj: Any) -> int | None:
        return int((obj.left_at - obj.entered_at).total_seconds()) if obj.left_at else None

    @staticmethod
    def resolve_moved_by(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.actor.pk, "name": obj.actor.display_name, "email": obj.actor.email} if obj.actor else None


class DealListParams(Schema):
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    owner_id: Id | None = None
    team_id: Id | None = None
    mine: bool = Field(False, description="Only the caller's deals")
    status: str | None = Field(None, max_length=10, description="open, won or lost")
    close_from: date | None = Field(None, description="Expected close date on or after")
    close_to: date | None = Field(None, description="Expected close date on or before")
    amount_min: Decimal | None = Field(None, ge=0, lt=Decimal("1e16"))
    amount_max: Decimal | None = Field(None, ge=0, lt=Decimal("1e16"))
    contact_id: Id | None = Field(None, description="The primary contact or a contact with a role")
    company_id: Id | None = None
    trashed: bool = Field(False, description="The deals in the trash instead")
    sort: str | None = Field(None, max_length=20, description="-created (default), created, -amount, amount, …")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT
