"""The merge context of an email: the values an email template may use, as plain data.

`merge_context` is the only bridge between records and the sandboxed renderer
(rapport.core.merge): it copies the offered fields of one contact, its (or one) company, the
sender and today's date into plain dicts of strings and dates. Nothing else of a record — no
model instance, no other field, no related record — is ever handed to a template, so a template
can reach exactly these fields:

- contact: first_name, last_name, full_name, email (primary), phone (primary), job_title, city,
  country (its English name), company (the company's name), custom.<key> (custom fields, as shown
  on the contact page);
- company: name, website, industry (its label), city, custom.<key>;
- sender (the actor): first_name, last_name, full_name (from the member's name; first name is its
  first word), email;
- today: the date in the workspace's time zone.

A missing contact or company gives empty values, so `{{ contact.first_name|default:"there" }}`
reads "there".
"""

from __future__ import annotations

from typing import Any

import pycountry
from django.db import models
from django.utils import timezone

from rapport.accounts.roles import Entity
from rapport.contacts.models import Company, Contact
from rapport.core import merge
from rapport.core.access import scope
from rapport.core.customfields.definitions import fields_of
from rapport.core.customfields.types import display
from rapport.core.errors import NotFound
from rapport.core.principal import Principal


def _country(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return str(getattr(found, "common_name", None) or getattr(found, "name", code)) if code else ""


def _custom(org_id: int, entity: str, values: dict[str, Any]) -> dict[str, str]:
    """The record's values of the workspace's live custom fields, as people read them."""
    return {
        field.key: display(field.type, values.get(field.key))
        for field in fields_of(org_id, entity)
        if field.key in (values or {})
    }


def _readable(actor: Principal, qs: models.QuerySet[Any], obj: models.Model, entity: Entity) -> bool:
    return scope(actor, qs, entity).filter(pk=obj.pk).exists()


def contact_fields(actor: Principal, contact: Contact | None, company: Company | None) -> dict[str, Any]:
    if contact is None:
        return {name.split(".", 1)[1]: "" for name in merge.FIELD_NAMES if name.startswith("contact.")} | {"custom": {}}
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "email": contact.email,
        "phone": contact.phone,
        "job_title": contact.job_title,
        "city": contact.city,
        "country": _country(contact.country),
        "company": company.name if company is not None else "",
        "custom": _custom(actor.org_id, "contact", contact.custom),
    }


def company_fields(actor: Principal, company: Company | None) -> dict[str, Any]:
    if company is None:
        return {"name": "", "website": "", "industry": "", "city": "", "custom": {}}
    return {
        "name": company.name,
        "website": company.website,
        "industry": company.get_industry_display() if company.industry else "",
        "city": company.city,
        "custom": _custom(actor.org_id, "company", company.custom),
    }


def sender_fields(actor: Principal) -> dict[str, str]:
    name = " ".join(actor.user.name.split())
    first, _, last = name.partition(" ")
    return {"first_name": first, "last_name": last, "full_name": name, "email": actor.user.email}


def merge_context(
    *, actor: Principal, contact: Contact | None = None, company: Company | None = None
) -> dict[str, Any]:
    """The merge values for an email to `contact` (and/or about `company`) written by `actor`.

    Without `company`, the contact's company is used (when the actor may read it). A contact or
    company the actor may not read answers NotFound, like every other access.
    """
    if contact is not None and not _readable(actor, Contact.objects.alive(), contact, Entity.CONTACT):
        raise NotFound("not_found", "No such contact.")
    if company is not None and not _readable(actor, Company.objects.alive(), company, Entity.COMPANY):
        raise NotFound("not_found", "No such company.")
    own_company = None  # the contact's company, if the actor may read it
    if contact is not None and contact.company_id is not None:
        if company is not None and company.pk == contact.company_id:
            own_company = company
        else:
            own_company = scope(actor, Company.objects.alive(), Entity.COMPANY).filter(pk=contact.company_id).first()
    if company is None:
        company = own_company
    return {
        "contact": contact_fields(actor, contact, own_company),
        "company": company_fields(actor, company),
        "sender": sender_fields(actor),
        "today": timezone.localdate(),
    }


def merge_fields(*, actor: Principal) -> list[merge.MergeField]:
    """The fields a template of the actor's workspace may use: the catalogue and its custom fields."""
    extra = [
        merge.MergeField(f"{entity}.custom.{field.key}", f"{label} custom field “{field.label}”")
        for entity, label in (("contact", "Contact's"), ("company", "Company's"))
        for field in fields_of(actor.org_id, entity)
    ]
    return [*merge.FIELDS, *extra]
