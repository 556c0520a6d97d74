"""Lead conversion API. (No `from __future__ import annotations` in API modules.)

POST /contacts/{id}/convert turns a lead into an opportunity with a deal, in one transaction
(rapport.sales.lead_services.lead_convert). Needs the contact's ETag in If-Match; takes an
Idempotency-Key. Contacts the actor cannot read answer 404; a role that may not change the contact
or add deals answers 403; a contact that is not a lead answers 409 not_a_lead.
"""

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from rapport.contacts.selectors import contact_get
from rapport.core.http import idempotent, if_match
from rapport.core.schemas import Id, StrictIn
from rapport.sales import lead_services
from rapport.sales.deal_schemas import DealOut

router = Router(tags=["leads"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


class LeadConvertIn(StrictIn):
    pipeline_id: Id
    stage_id: Id | None = Field(None, description="Default: the pipeline's first open stage")
    deal_name: str | None = Field(None, max_length=200, description="Default: “<company or contact> deal”")
    amount: Decimal = Field(Decimal(0), ge=0, lt=Decimal("1e16"), max_digits=18, decimal_places=2)
    currency: str | None = Field(None, max_length=60, description="Default: the workspace's base currency")
    company_id: Id | None = Field(None, description="Link an existing company")
    company_name: str | None = Field(None, max_length=200, description="Create a company with this name")
    owner_id: Id | None = Field(None, description="Default: you")


class LeadConvertOut(Schema):
    contact_id: int
    contact_version: int
    lifecycle_stage: str
    company_id: int | None
    deal: DealOut


@router.post(
    "/contacts/{contact_id}/convert",
    response={201: LeadConvertOut, **ERRORS},
    summary="Convert a lead into a deal",
)
@idempotent(LeadConvertOut)
def convert_lead(request: HttpRequest, contact_id: int, payload: LeadConvertIn) -> dict[str, Any]:
    """Links `company_id`, or creates `company_name`, or keeps the contact's company; moves the
    contact to "opportunity" and creates the deal with it as primary contact. All or nothing."""
    actor = request.auth  # type: ignore[attr-defined]
    contact = contact_get(actor=actor, contact_id=contact_id)
    contact, deal, company = lead_services.lead_convert(
        actor=actor, contact=contact, expected_version=if_match(request), **payload.dict()
    )
    return {
        "contact_id": contact.pk,
        "contact_version": contact.version,
        "lifecycle_stage": contact.lifecycle_stage,
        "company_id": company.pk if company is not None else None,
        "deal": deal,
    }
