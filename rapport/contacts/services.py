"""Writes of contacts and companies. Every path (pages, API, bulk, import) goes through here.

Input is a mapping of field → value; every value is validated and normalised, and all field
errors of one record are reported together (ValidationFailed with `fields`). Nothing is written
unless the whole record is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.contacts.cleaning import (
    COMPANY_FIELDS,
    CONTACT_FIELDS,
    FieldErrors,
    clean_emails,
    clean_fields,
    clean_phones,
    clean_tags,
    default_region,
)
from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone, Tag, set_tag_names, tag_names_of
from rapport.core import normalize
from rapport.core.access import can_write, require_entity, scope
from rapport.core.customfields.values import clean_custom
from rapport.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal

TRASH_DAYS = 30


def _require_write(actor: Principal, record: Contact | Company, entity: Entity) -> None:
    if record.org_id != actor.org_id or not can_write(actor, record, entity):
        raise PermissionDenied()


def _company_ref(actor: Principal, value: Any, errors: FieldErrors) -> Company | None:
    if value is None:
        return None
    company = (
        scope(actor, Company.objects.alive(), Entity.COMPANY).filter(pk=value).first()
        if isinstance(value, int)
        else None
    )
    if company is None:
        errors.add("company_id", "No company with this id.")
    return company


def _snapshot(contact: Contact) -> dict[str, Any]:
    values = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    values.update(owner_id=contact.owner_id, team_id=contact.team_id, company_id=contact.company_id)
    values["emails"] = [e.email for e in contact.emails.all()]
    values["phones"] = [p.number for p in contact.phones.all()]
    values["tags"] = sorted(t.name for t in contact.tags.all())
    values.update(_custom_snapshot(contact))
    return values


def _custom_snapshot(record: Contact | Company) -> dict[str, Any]:
    """Custom values as `custom.<key>` entries, so events show each field's old → new value."""
    return {f"custom.{key}": value for key, value in sorted((record.custom or {}).items())}


def _custom(
    actor: Principal, entity: str, data: Mapping[str, Any], instance: Contact | Company | None, errors: FieldErrors
) -> dict[str, Any] | None:
    """The record's new custom values (None: unchanged). On create, defaults and required fields apply."""
    if instance is not None and "custom" not in data:
        return None
    return clean_custom(
        org_id=actor.org_id,
        entity=entity,
        raw=data.get("custom"),
        current=None if instance is None else dict(instance.custom or {}),
        record_pk=None if instance is None else instance.pk,
        errors=errors.fields,
    )


def _apply_children(
    contact: Contact, emails: list[dict[str, Any]] | None, phones: list[dict[str, Any]] | None, tags: list[Tag] | None
) -> None:
    if emails is not None:
        contact.emails.all().delete()
        ContactEmail.objects.bulk_create(
            [ContactEmail(org_id=contact.org_id, contact=contact, **item) for item in emails]
        )
        contact.email = next((e["email"] for e in emails if e["is_primary"]), "")
    if phones is not None:
        contact.phones.all().delete()
        ContactPhone.objects.bulk_create(
            [ContactPhone(org_id=contact.org_id, contact=contact, **item) for item in phones]
        )
        contact.phone = next((p["number"] for p in phones if p["is_primary"]), "")
    denormalised: dict[str, Any] = {}
    if tags is not None:
        contact.tags.set(tags)
        denormalised["tag_names"] = contact.tag_names = tag_names_of(tags)
    contact.full_name = normalize.full_name(contact.first_name, contact.last_name)
    Contact.objects.filter(pk=contact.pk).update(
        email=contact.email, phone=contact.phone, full_name=contact.full_name, **denormalised
    )


def _clean_contact(
    actor: Principal, data: Mapping[str, Any], instance: Contact | None = None
) -> tuple[dict[str, Any], Any, Any, Any, Any]:
    values, errors = clean_fields(actor, data, CONTACT_FIELDS, {"emails", "phones", "tags", "company_id", "custom"})
    custom = _custom(actor, "contact", data, instance, errors)
    if custom is not None:
        values["custom"] = custom
    emails = clean_emails(data.get("emails"), errors) if "emails" in data else None
    phones = clean_phones(actor, data.get("phones"), errors) if "phones" in data else None
    tags = clean_tags(actor, data.get("tags"), errors) if "tags" in data else None
    company = _company_ref(actor, data.get("company_id"), errors) if data.get("company_id") is not None else None
    errors.raise_if_any()
    if "company_id" in data:
        values["company"] = company
    return values, emails, phones, tags, company


def _unique_external_id(
    model: type[Contact] | type[Company], actor: Principal, external_id: Any, exclude: int | None = None
) -> None:
    if external_id and model.objects.filter(org_id=actor.org_id, external_id=external_id).exclude(pk=exclude).exists():
        raise Conflict("external_id_taken", "Another record already has this external id.", field="external_id")


@transaction.atomic
def contact_create(*, actor: Principal, data: Mapping[str, Any]) -> Contact:
    """Create a contact; the actor owns it unless `owner_id` says otherwise."""
    require_entity(actor, Entity.CONTACT, Mode.WRITE)
    values, emails, phones, tags, _company = _clean_contact(actor, data)
    if not (values.get("first_name") or values.get("last_name") or emails):
        raise ValidationFailed(
            "name_or_email_required",
            "A contact needs a name or an email address.",
            fields={"first_name": "Give a name or an email address."},
        )
    _unique_external_id(Contact, actor, values.get("external_id"))
    values.setdefault("owner_id", actor.user_id)
    if "team_id" not in values and len(actor.team_ids) == 1:
        values["team_id"] = next(iter(actor.team_ids))
    contact = Contact.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    _apply_children(contact, emails or [], phones or [], tags or [])
    contact = contact_reload(contact)
    record_event(actor, "contact.created", contact, diff({}, _snapshot(contact)))
    _after_write(contact)
    return contact


@transaction.atomic
def contact_update(
    *, actor: Principal, contact: Contact, data: Mapping[str, Any], expected_version: int | None
) -> Contact:
    """Change some fields of a contact (only the keys present in `data`); refuses a stale version."""
    _require_write(actor, contact, Entity.CONTACT)
    before = _snapshot(contact)
    values, emails, phones, tags, _company = _clean_contact(actor, data, contact)
    if "external_id" in values:
        _unique_external_id(Contact, actor, values["external_id"], exclude=contact.pk)
    qs = Contact.objects.filter(pk=contact.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    try:
        with transaction.atomic():
            updated = qs.update(version=F("version") + 1, updated_at=timezone.now(), **values)
    except IntegrityError:
        raise Conflict(
            "external_id_taken", "Another record already has this external id.", field="external_id"
        ) from None
    if not updated:
        raise StaleVersion()
    contact.refresh_from_db()
    _apply_children(contact, emails, phones, tags)
    contact = contact_reload(contact)
    changes = diff(before, _snapshot(contact))
    if changes:
        record_event(actor, "contact.updated", contact, changes)
    _after_write(contact)
    return contact


def contact_reload(contact: Contact) -> Contact:
    return (
        Contact.objects.select_related("company", "owner", "team")
        .prefetch_related("emails", "phones", "tags")
        .get(pk=contact.pk)
    )


@transaction.atomic
def contact_delete(*, actor: Principal, contact: Contact) -> Contact:
    """Move a contact to the trash for 30 days; it can be restored until then."""
    _require_write(actor, contact, Entity.CONTACT)
    if contact.deleted_at is None:
        contact.deleted_at = timezone.now()
        Contact.objects.filter(pk=contact.pk).update(deleted_at=contact.deleted_at, version=F("version") + 1)
        record_event(actor, "contact.trashed", contact, {"deleted_at": [None, contact.deleted_at.isoformat()]})
        _after_write(contact)
    return contact


@transaction.atomic
def contact_restore(*, actor: Principal, contact: Contact) -> Contact:
    """Bring a contact back from the trash, with its emails, phones, tags and company link."""
    _require_write(actor, contact, Entity.CONTACT)
    if contact.deleted_at is not None:
        old = contact.deleted_at
        Contact.objects.filter(pk=contact.pk).update(deleted_at=None, version=F("version") + 1)
        contact.refresh_from_db()
        record_event(actor, "contact.restored", contact, {"deleted_at": [old.isoformat(), None]})
        _after_write(contact)
    return contact


def purge_cutoff() -> Any:
    return timezone.now() - timedelta(days=TRASH_DAYS)


def _after_write(record: Contact | Company) -> None:
    """Keep derived stores (the search index) current; registered by the search integration."""
    for hook in AFTER_WRITE:
        hook(record)


AFTER_WRITE: list[Callable[[Contact | Company], None]] = []


# --- companies ------------------------------------------------------------------------------


def _company_snapshot(company: Company) -> dict[str, Any]:
    values = {name: getattr(company, name) for name in COMPANY_FIELDS}
    values.update(
        owner_id=company.owner_id,
        team_id=company.team_id,
        parent_id=company.parent_id,
        email_domains=list(company.email_domains),
    )
    values["tags"] = sorted(t.name for t in company.tags.all())
    values.update(_custom_snapshot(company))
    return values


def _clean_company(actor: Principal, data: Mapping[str, Any], instance: Company | None) -> tuple[dict[str, Any], Any]:
    values, errors = clean_fields(
        actor, data, COMPANY_FIELDS, {"tags", "parent_id", "email_domains", "phone", "custom"}
    )
    custom = _custom(actor, "company", data, instance, errors)
    if custom is not None:
        values["custom"] = custom
    if instance is None and not (values.get("name") or "").strip():
        errors.add("name", "A company needs a name.")
    if "name" in values and instance is not None and not values["name"]:
        errors.add("name", "A company needs a name.")
    if "parent_id" in data:
        parent_id = data["parent_id"]
        parent = None
        if parent_id is not None:
            parent = (
                Company.objects.alive().filter(org_id=actor.org_id, pk=parent_id).first()
                if isinstance(parent_id, int)
                else None
            )
            if parent is None:
                errors.add("parent_id", "No company with this id.")
            elif instance is not None and _creates_cycle(instance, parent):
                errors.add("parent_id", "A company cannot be its own parent or a parent of its parents.")
        values["parent"] = parent
    if "email_domains" in data:
        raw = data["email_domains"] or []
        if not isinstance(raw, list) or len(raw) > 20:
            errors.add("email_domains", "Give at most 20 domains as a list.")
        else:
            domains = [errors.run("email_domains", normalize.domain, d) for d in raw]
            values["email_domains"] = list(dict.fromkeys(d for d in domains if d))
    if "phone" in data:
        values["phone"] = (
            (errors.run("phone", normalize.phone, data["phone"], region=default_region(actor)) or ("",))[0]
            if data["phone"]
            else ""
        )
    tags = clean_tags(actor, data.get("tags"), errors) if "tags" in data else None
    if values.get("website") and not values.get("domain") and "domain" not in data:
        values["domain"] = errors.run("website", normalize.domain, values["website"])
    errors.raise_if_any()
    return values, tags


def _creates_cycle(company: Company, parent: Company) -> bool:
    seen = {company.pk}
    node: Company | None = parent
    while node is not None:
        if node.pk in seen:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


@transaction.atomic
def company_create(*, actor: Principal, data: Mapping[str, Any]) -> Company:
    """Create a company; the actor owns it unless `owner_id` says otherwise."""
    require_entity(actor, Entity.COMPANY, Mode.WRITE)
    values, tags = _clean_company(actor, data, None)
    _unique_external_id(Company, actor, values.get("external_id"))
    values.setdefault("owner_id", actor.user_id)
    if "team_id" not in values and len(actor.team_ids) == 1:
        values["team_id"] = next(iter(actor.team_ids))
    company = Company.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    if tags:
        company.tags.set(tags)
        set_tag_names(company, tags)
    record_event(actor, "company.created", company, diff({}, _company_snapshot(company)))
    _after_write(company)
    return company


@transaction.atomic
def company_update(
    *, actor: Principal, company: Company, data: Mapping[str, Any], expected_version: int | None
) -> Company:
    """Change some fields of a company (only the keys present in `data`); refuses a stale version."""
    _require_write(actor, company, Entity.COMPANY)
    before = _company_snapshot(company)
    values, tags = _clean_company(actor, data, company)
    if "external_id" in values:
        _unique_external_id(Company, actor, values["external_id"], exclude=company.pk)
    qs = Company.objects.filter(pk=company.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        raise StaleVersion()
    company.refresh_from_db()
    if tags is not None:
        company.tags.set(tags)
        set_tag_names(company, tags)
    changes = diff(before, _company_snapshot(company))
    if changes:
        record_event(actor, "company.updated", company, changes)
    _after_write(company)
    return company


@transaction.atomic
def company_delete(*, actor: Principal, company: Company) -> Company:
    """Move a company to the trash for 30 days (its contacts stay, still linked)."""
    _require_write(actor, company, Entity.COMPANY)
    if company.deleted_at is None:
        company.deleted_at = timezone.now()
        Company.objects.filter(pk=company.pk).update(deleted_at=company.deleted_at, version=F("version") + 1)
        record_event(actor, "company.trashed", company, {"deleted_at": [None, company.deleted_at.isoformat()]})
        _after_write(company)
    return company


@transaction.atomic
def company_restore(*, actor: Principal, company: Company) -> Company:
    """Bring a company back from the trash."""
    _require_write(actor, company, Entity.COMPANY)
    if company.deleted_at is not None:
        old = company.deleted_at
        Company.objects.filter(pk=company.pk).update(deleted_at=None, version=F("version") + 1)
        company.refresh_from_db()
        record_event(actor, "company.restored", company, {"deleted_at": [old.isoformat(), None]})
        _after_write(company)
    return company


@transaction.atomic
def trash_purge() -> tuple[int, int]:
    """Delete for good what has been in the trash for more than 30 days (run by a periodic task)."""
    cutoff = purge_cutoff()
    contacts, _ = Contact.objects.filter(deleted_at__lt=cutoff).delete()
    companies, _ = Company.objects.filter(deleted_at__lt=cutoff).delete()
    return contacts, companies
