"""API schemas of contacts and companies. Fields are listed explicitly: no mass assignment.

Input values are checked for shape here and for meaning in the services (one code path with the
pages and the importer), which name every invalid field in one 422.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from rapport.core.customfields.schemas import CustomIn, CustomOut
from rapport.core.schemas import StrictIn

ID = Field(None, ge=1, le=2**63 - 1)


class EmailIn(StrictIn):
    email: str = Field(..., max_length=320)
    kind: str | None = Field(None, max_length=20)
    is_primary: bool = False


class PhoneIn(StrictIn):
    number: str = Field(..., max_length=40)
    kind: str | None = Field(None, max_length=20)
    is_primary: bool = False


class AddressFields(StrictIn):
    street: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=60, description="ISO 3166-1 alpha-2 (alpha-3 and names accepted)")


class ContactPatch(AddressFields):
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    emails: list[EmailIn] | None = Field(None, max_length=10)
    phones: list[PhoneIn] | None = Field(None, max_length=10)
    company_id: int | None = ID
    job_title: str | None = Field(None, max_length=150)
    profession: str | None = Field(None, max_length=150)
    birth_date: date | None = None
    gender: str | None = Field(None, max_length=20)
    language: str | None = Field(None, max_length=40)
    time_zone: str | None = Field(None, max_length=64)
    lifecycle_stage: str | None = Field(None, max_length=30)
    lead_status: str | None = Field(None, max_length=30)
    lead_source: str | None = Field(None, max_length=30)
    social_profiles: dict[str, str] | None = None
    do_not_email: bool | None = None
    do_not_call: bool | None = None
    do_not_sms: bool | None = None
    notes: str | None = Field(None, max_length=20000)
    tags: list[str] | None = Field(None, max_length=50)
    owner_id: int | None = ID
    team_id: int | None = ID
    external_id: str | None = Field(None, max_length=100)
    custom: CustomIn | None = Field(
        None,
        description="Custom field values by key (null or empty removes one); see GET /api/v1/custom-fields/schema/…",
    )


class ContactIn(ContactPatch):
    pass


class Ref(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    name: str
    email: str


class EmailOut(Schema):
    email: str
    kind: str
    is_primary: bool


class PhoneOut(Schema):
    number: str
    kind: str
    is_primary: bool


class ContactListItem(Schema):
    """A contact in a list: everything but the arrays of emails and phones (`email` and `phone` are the
    primary ones; GET /contacts/{id} has all of them), so a list page is one query."""

    id: int
    first_name: str
    last_name: str
    full_name: str
    email: str
    phone: str
    company: Ref | None
    job_title: str
    profession: str
    birth_date: date | None
    age: int | None
    gender: str
    street: str
    city: str
    region: str
    postal_code: str
    country: str
    language: str
    time_zone: str
    lifecycle_stage: str
    lead_status: str
    lead_source: str
    social_profiles: dict[str, str]
    do_not_email: bool
    do_not_call: bool
    do_not_sms: bool
    notes: str
    tags: list[str]
    owner: UserRef | None
    team: Ref | None
    custom: CustomOut
    external_id: str | None
    last_contacted_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return list(obj.tag_names)

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        company = obj.live_company
        return None if company is None else {"id": company.pk, "name": company.name}

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner else None


class ContactOut(ContactListItem):
    emails: list[EmailOut]
    phones: list[PhoneOut]

    @staticmethod
    def resolve_emails(obj: Any) -> list[Any]:
        return list(obj.emails.all())

    @staticmethod
    def resolve_phones(obj: Any) -> list[Any]:
        return list(obj.phones.all())


class CompanyPatch(AddressFields):
    name: str | None = Field(None, max_length=200)
    website: str | None = Field(None, max_length=300)
    domain: str | None = Field(None, max_length=253)
    email_domains: list[str] | None = Field(None, max_length=20)
    industry: str | None = Field(None, max_length=40)
    size: str | None = Field(None, max_length=20)
    support_tier: str | None = Field(None, max_length=20, description="standard, premium or enterprise; empty for none")
    annual_revenue: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    revenue_currency: str | None = Field(None, max_length=3)
    parent_id: int | None = ID
    phone: str | None = Field(None, max_length=40)
    description: str | None = Field(None, max_length=20000)
    tags: list[str] | None = Field(None, max_length=50)
    owner_id: int | None = ID
    team_id: int | None = ID
    external_id: str | None = Field(None, max_length=100)
    custom: CustomIn | None = Field(
        None,
        description="Custom field values by key (null or empty removes one); see GET /api/v1/custom-fields/schema/…",
    )


class CompanyIn(CompanyPatch):
    name: str = Field(..., min_length=1, max_length=200)


class CompanyOut(Schema):
    id: int
    name: str
    website: str
    domain: str
    email_domains: list[str]
    industry: str
    size: str
    support_tier: str
    annual_revenue: Decimal | None
    revenue_currency: str
    parent: Ref | None
    phone: str
    description: str
    street: str
    city: str
    region: str
    postal_code: str
    country: str
    tags: list[str]
    owner: UserRef | None
    team: Ref | None
    custom: CustomOut
    external_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return list(obj.tag_names)

    @staticmethod
    def resolve_parent(obj: Any) -> dict[str, Any] | None:
        parent = obj.live_parent
        return None if parent is None else {"id": parent.pk, "name": parent.name}

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner else None


class BulkResult(Schema):
    index: int
    status: str  # created | updated | error
    id: int | None = None
    error: dict[str, Any] | None = None
