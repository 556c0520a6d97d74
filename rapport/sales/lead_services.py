"""Lead conversion: a lead (a contact in the lifecycle stage lead, marketing_qualified or
sales_qualified) becomes an opportunity with a deal, in one transaction.

`lead_convert` links an existing company (or creates one by name, or keeps the contact's own),
moves the contact to "opportunity" (with the version the caller read) and creates the deal through
`deal_create`. Any refusal on the way — a stale version, a deal that does not validate, a company
that cannot be created — rolls everything back: no company, no stage change, no events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from rapport.accounts.roles import Entity, Mode
from rapport.contacts import services as contact_services
from rapport.contacts.models import Company, Contact
from rapport.core.access import can_write, require_entity, scope
from rapport.core.errors import Conflict, PermissionDenied, ValidationFailed
from rapport.core.events import record_event
from rapport.core.principal import Principal
from rapport.sales import deal_services
from rapport.sales.models import Deal

LEAD_STAGES = frozenset({"lead", "marketing_qualified", "sales_qualified"})
CONVERTED_STAGE = "opportunity"


def is_lead(contact: Contact) -> bool:
    return contact.lifecycle_stage in LEAD_STAGES


def default_deal_name(contact: Contact, company: Company | None) -> str:
    """ "<company> deal", or "<contact> deal" for a contact without a company."""
    return f"{company.name if company is not None else contact} deal"


def _company(
    actor: Principal, contact: Contact, company_id: int | None, company_name: str | None
) -> tuple[Company | None, bool]:
    """The company of the deal and whether it is new: `company_id` (readable by the actor), a new
    one named `company_name`, or the contact's own company."""
    name = (company_name or "").strip()
    if company_id is not None and name:
        raise ValidationFailed(
            "company_ambiguous", "Give either company_id or company_name, not both.", field="company_name"
        )
    if company_id is not None:
        found = (
            scope(actor, Company.objects.alive(), Entity.COMPANY).filter(pk=company_id).first()
            if isinstance(company_id, int) and 0 < company_id < 2**63
            else None
        )
        if found is None:
            raise ValidationFailed("unknown_company", f"No company with the id {company_id}.", field="company_id")
        return found, False
    if name:
        return contact_services.company_create(actor=actor, data={"name": name}), True
    company = contact.company if contact.company_id else None
    return (company if company is not None and company.deleted_at is None else None), False


@transaction.atomic
def lead_convert(
    *,
    actor: Principal,
    contact: Contact,
    expected_version: int | None,
    pipeline_id: int,
    stage_id: int | None = None,
    deal_name: str | None = None,
    amount: Decimal | int | str = 0,
    currency: str | None = None,
    company_id: int | None = None,
    company_name: str | None = None,
    owner_id: int | None = None,
) -> tuple[Contact, Deal, Company | None]:
    """Convert a lead: link or create its company, move it to "opportunity" and create a deal in
    `pipeline_id` (its first open stage unless `stage_id`) with the contact as primary contact.
    Records `contact.converted` naming the deal. All or nothing; returns (contact, deal, company).

    Refuses a contact that is not a lead (409 not_a_lead), a stale version (412), a role that may
    not change the contact or add deals (403) and invalid deal data (422, nothing written)."""
    if contact.org_id != actor.org_id or not can_write(actor, contact, Entity.CONTACT):
        raise PermissionDenied()
    require_entity(actor, Entity.DEAL, Mode.WRITE)
    if not is_lead(contact):
        raise Conflict(
            "not_a_lead",
            f"Only leads can be converted; this contact is in the stage “{contact.get_lifecycle_stage_display()}”.",
        )
    old_stage = contact.lifecycle_stage
    company, created = _company(actor, contact, company_id, company_name)
    changes: dict[str, Any] = {"lifecycle_stage": CONVERTED_STAGE}
    if company is not None and contact.company_id is None:
        changes["company_id"] = company.pk
    contact = contact_services.contact_update(
        actor=actor, contact=contact, data=changes, expected_version=expected_version
    )
    data: dict[str, Any] = {
        "name": deal_name if deal_name is not None and deal_name.strip() else default_deal_name(contact, company),
        "amount": amount,
        "pipeline_id": pipeline_id,
        "contact_id": contact.pk,
        "company_id": company.pk if company is not None else None,
    }
    if stage_id is not None:
        data["stage_id"] = stage_id
    if currency:
        data["currency"] = currency
    if owner_id is not None:
        data["owner_id"] = owner_id
    deal = deal_services.deal_create(actor=actor, data=data)
    event: dict[str, Any] = {"lifecycle_stage": [old_stage, CONVERTED_STAGE], "deal_id": [None, deal.pk]}
    if created and company is not None:
        event["company_id"] = [None, company.pk]
    record_event(actor, "contact.converted", contact, event)
    return contact, deal, company
