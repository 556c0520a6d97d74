"""API schemas of activities. Fields are listed explicitly: no mass assignment.

Shapes are checked here, meanings (choices, ranges, references) in the services, which name every
invalid field in one 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from rapport.activities.markdown import render_markdown
from rapport.contacts.schemas import Ref, UserRef
from rapport.core.schemas import StrictIn

ID = Field(None, ge=1, le=2**63 - 1)


class ParticipantIn(StrictIn):
    """One contact taking part: exactly one of its id, an email address or a phone number of it."""

    contact_id: int | None = ID
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)


class ActivityPatch(StrictIn):
    kind: str | None = Field(None, max_length=20, description="call, meeting, email, note, sms, chat or other")
    direction: str | None = Field(None, max_length=10, description="inbound, outbound or empty")
    subject: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=20000, description="Markdown")
    occurred_at: datetime | None = Field(None, description="When it happened (ISO 8601); now by default")
    duration: int | None = Field(None, description="Seconds")
    outcome: str | None = Field(
        None, max_length=20, description="Calls only: connected, voicemail, no_answer, busy, wrong_number, left_message"
    )
    location: str | None = Field(None, max_length=300, description="Meetings: where")
    company_id: int | None = ID
    owner_id: int | None = ID
    participants: list[ParticipantIn] | None = Field(
        None, max_length=50, description="Contacts by id, email or phone (replaces the list on PATCH)"
    )
    user_ids: list[int] | None = Field(None, max_length=50, description="Members who took part")
    private: bool | None = Field(
        None, description="Only its owner sees it (whatever anyone's role); only the owner may change this"
    )


class ActivityIn(ActivityPatch):
    kind: str = Field(..., max_length=20, description="call, meeting, email, note, sms, chat or other")


class ContactRef(Schema):
    id: int
    name: str


class ActivityOut(Schema):
    id: int
    kind: str
    direction: str
    subject: str
    body: str
    body_html: str
    occurred_at: datetime
    duration: int | None
    outcome: str
    location: str
    company: Ref | None
    contacts: list[ContactRef]
    users: list[UserRef]
    owner: UserRef | None
    team: Ref | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    private: bool

    @staticmethod
    def resolve_body_html(obj: Any) -> str:
        return str(render_markdown(obj.body))

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        company = obj.company
        return None if company is None or company.deleted_at else {"id": company.pk, "name": company.name}

    @staticmethod
    def resolve_contacts(obj: Any) -> list[dict[str, Any]]:
        return [{"id": link.contact_id, "name": str(link.contact)} for link in obj.contact_links.all()]

    @staticmethod
    def resolve_users(obj: Any) -> list[dict[str, Any]]:
        return [{"id": u.pk, "name": u.display_name, "email": u.email} for u in obj.users.all()]

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner else None

    @staticmethod
    def resolve_team(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.team.pk, "name": obj.team.name} if obj.team else None
