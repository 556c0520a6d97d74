"""Contacts and companies in the global search: kept current by the write services, found by the
command palette (rapport.core.search) and GET /api/v1/search.

Entries carry the record's owner and team so results are permission-filtered in the index query.
A trashed record leaves the index; restoring it puts it back.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rapport.accounts.roles import Entity
from rapport.contacts import demo, services
from rapport.contacts.models import Company, Contact
from rapport.core import fulltext
from rapport.core.models import SearchEntry
from rapport.core.principal import Principal
from rapport.core.search import SearchHit, register_provider

KINDS = {"contact": Entity.CONTACT, "company": Entity.COMPANY}
URL_NAMES = {"contact": "contacts:detail", "company": "contacts:company_detail"}


def _contact_fields(contact: Contact, company_name: str) -> dict[str, Any]:
    prefetched = getattr(contact, "_prefetched_objects_cache", {})
    emails = [e.email for e in contact.emails.all()] if "emails" in prefetched else [contact.email]
    phones = [p.number for p in contact.phones.all()] if "phones" in prefetched else [contact.phone]
    subtitle = " · ".join(part for part in (contact.job_title, company_name, contact.email) if part)
    return {
        "org_id": contact.org_id,
        "kind": "contact",
        "object_id": contact.pk,
        "title": contact.full_name or contact.email or f"Contact {contact.pk}",
        "subtitle": subtitle,
        "keywords": [*emails, *phones, company_name, contact.city],
        "owner_id": contact.owner_id,
        "team_id": contact.team_id,
    }


def _company_fields(company: Company) -> dict[str, Any]:
    return {
        "org_id": company.org_id,
        "kind": "company",
        "object_id": company.pk,
        "title": company.name,
        "subtitle": " · ".join(part for part in (company.domain, company.city) if part),
        "keywords": [company.domain, *company.email_domains, company.website, company.phone],
        "owner_id": company.owner_id,
        "team_id": company.team_id,
    }


def reindex(record: Contact | Company) -> None:
    """Bring one record's entry up to date (or remove it when trashed). Runs inside the write's transaction."""
    kind = "contact" if isinstance(record, Contact) else "company"
    if record.deleted_at is not None:
        fulltext.remove_entry(org_id=record.org_id, kind=kind, object_id=record.pk)
    elif isinstance(record, Contact):
        company_name = record.company.name if record.company_id and record.company else ""
        fulltext.index_entry(**_contact_fields(record, company_name))
    else:
        fulltext.index_entry(**_company_fields(record))


def index_in_bulk(contacts: list[Contact], companies: list[Company]) -> None:
    """Index freshly bulk-created records (demo data, imports) in batches."""
    names = {c.pk: c.name for c in companies}
    entries = [fulltext.prepare_entry(**_company_fields(c)) for c in companies]
    entries += [fulltext.prepare_entry(**_contact_fields(c, names.get(c.company_id or 0, ""))) for c in contacts]
    for start in range(0, len(entries), 2000):
        SearchEntry.objects.bulk_create(entries[start : start + 2000])


@register_provider(priority=10)
def records(actor: Principal, q: str, limit: int) -> list[SearchHit]:
    visible = fulltext.visibility_for(actor, KINDS)
    hits = fulltext.search_entries(org_id=actor.org_id, q=q, visible=visible, limit=limit)
    return [
        SearchHit(
            kind=hit.kind,
            label=hit.title,
            detail=hit.subtitle,
            url=reverse(
                "contacts:detail" if hit.kind == "contact" else "contacts:company_detail", args=[hit.object_id]
            ),
        )
        for hit in hits
    ]


if reindex not in services.AFTER_WRITE:
    services.AFTER_WRITE.append(reindex)
if index_in_bulk not in demo.AFTER_DEMO:
    demo.AFTER_DEMO.append(index_in_bulk)
