"""Writes of contacts and companies. Every path (pages, API, bulk, import) goes through here.

Input is a mapping of field → value; every value is validated and normalised, and all field
errors of one record are reported together (ValidationFailed with `fields`). Nothing is written
unless the whole record is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.accounts.models import Membership, Team
from rapport.accounts.roles import Entity, Mode
from rapport.contacts import choices, normalize
from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone, Tag
from rapport.core.access import can_write, require_entity, scope
from rapport.core.errors import ApplicationError, Conflict, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal

TRASH_DAYS = 30
MAX_EMAILS = 10
MAX_PHONES = 10
MAX_TAGS = 50


class _Errors:
    """Collects per-field messages so one answer names every problem of a record."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def run(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """func(*args, **kwargs), or None with its message recorded under `name`."""
        kwargs.setdefault("field", name)
        try:
            return func(*args, **kwargs)
        except ApplicationError as exc:
            self.fields[name] = next(iter(exc.fields.values()), exc.message)
            return None

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.fields:
            summary = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
            raise ValidationFailed("validation_error", f"Some fields are not valid — {summary}", fields=self.fields)


def _text(max_length: int) -> Callable[[Any, str], str]:
    def clean(value: Any, field: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValidationFailed("invalid", "Enter text.", field=field)
        return normalize.name_part(value, field=field, max_length=max_length)

    return clean


def _long_text(max_length: int) -> Callable[[Any, str], str]:
    def clean(value: Any, field: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValidationFailed("invalid", "Enter text.", field=field)
        if "\x00" in value:
            raise ValidationFailed("invalid", "Text may not contain NUL characters.", field=field)
        if len(value) > max_length:
            raise ValidationFailed("too_long", f"At most {max_length} characters.", field=field)
        return value.strip()

    return clean


def _choice(options: Any, *, blank: bool = True) -> Callable[[Any, str], str]:
    def clean(value: Any, field: str) -> str:
        if value in (None, "") and blank:
            return ""
        return normalize.choice(value, options, field=field)

    return clean


def _optional(func: Callable[..., Any]) -> Callable[[Any, str], Any]:
    def clean(value: Any, field: str) -> Any:
        if value in (None, ""):
            return ""
        return func(value, field=field)

    return clean


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationFailed("invalid", "Enter true or false.", field=field)


def _birth_date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, date) else parse_date(str(value)) if isinstance(value, str) else None
    if parsed is None:
        raise ValidationFailed("invalid_date", "Enter a date as YYYY-MM-DD.", field=field)
    return normalize.birth_date(parsed, field=field)


def _external_id(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 100 or "\x00" in value:
        raise ValidationFailed("invalid", "An external id is text of at most 100 characters.", field=field)
    return value.strip()


def _social(value: Any, field: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed("invalid", "Give social profiles as {network: url}.", field=field)
    cleaned = {}
    for network, link in value.items():
        key = normalize.choice(network, choices.SOCIAL_NETWORKS, field=field)
        cleaned[key] = normalize.url(link, field=field)
    return cleaned


def _revenue(value: Any, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed("invalid", "Enter an amount such as 1250000.00.", field=field) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e16"):
        raise ValidationFailed("invalid", "Enter a positive amount below 10^16.", field=field)
    return amount.quantize(Decimal("0.01"))


ADDRESS: dict[str, Callable[[Any, str], Any]] = {
    "street": _long_text(200),
    "city": _text(100),
    "region": _text(100),
    "postal_code": _text(20),
    "country": _optional(normalize.country),
}

CONTACT_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "first_name": _text(100),
    "last_name": _text(100),
    "job_title": _text(150),
    "profession": _text(150),
    "birth_date": _birth_date,
    "gender": _choice(choices.GENDERS, blank=False),
    "language": _optional(normalize.language),
    "time_zone": _optional(normalize.time_zone),
    "lifecycle_stage": _choice(choices.LIFECYCLE_STAGES, blank=False),
    "lead_status": _choice(choices.LEAD_STATUSES),
    "lead_source": _choice(choices.LEAD_SOURCES),
    "social_profiles": _social,
    "do_not_email": _bool,
    "do_not_call": _bool,
    "do_not_sms": _bool,
    "notes": _long_text(20000),
    "external_id": _external_id,
    **ADDRESS,
}

COMPANY_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "name": _text(200),
    "website": _optional(normalize.url),
    "domain": _optional(normalize.domain),
    "industry": _choice(choices.INDUSTRIES),
    "size": _choice(choices.COMPANY_SIZES),
    "annual_revenue": _revenue,
    "revenue_currency": _optional(normalize.currency),
    "description": _long_text(20000),
    "external_id": _external_id,
    **ADDRESS,
}
RELATIONS = {"owner_id", "team_id"}


def _relations(actor: Principal, data: Mapping[str, Any], errors: _Errors) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "owner_id" in data:
        owner_id = data["owner_id"]
        if (
            owner_id is not None
            and not Membership.objects.filter(org_id=actor.org_id, user_id=owner_id, is_active=True).exists()
        ):
            errors.add("owner_id", "No active member of this workspace has this id.")
        values["owner_id"] = owner_id
    if "team_id" in data:
        team_id = data["team_id"]
        if team_id is not None and not Team.objects.filter(org_id=actor.org_id, pk=team_id).exists():
            errors.add("team_id", "No team of this workspace has this id.")
        values["team_id"] = team_id
    return values


def _clean(
    actor: Principal, data: Mapping[str, Any], spec: dict[str, Callable[[Any, str], Any]], extra: set[str]
) -> tuple[dict[str, Any], _Errors]:
    errors = _Errors()
    unknown = sorted(set(data) - set(spec) - RELATIONS - extra)
    for name in unknown:
        errors.add(name, "Unknown field.")
    values = {name: errors.run(name, spec[name], data[name]) for name in data if name in spec}
    values.update(_relations(actor, data, errors))
    return values, errors


def _tags(actor: Principal, names: Any, errors: _Errors) -> list[Tag] | None:
    if names is None:
        return None
    if not isinstance(names, list) or len(names) > MAX_TAGS:
        errors.add("tags", f"Give at most {MAX_TAGS} tag names as a list.")
        return None
    cleaned = []
    for raw in names:
        name = errors.run("tags", normalize.name_part, raw, max_length=60)
        if name:
            cleaned.append(name)
    if errors.fields.get("tags"):
        return None
    # Tag names are case-insensitive: "VIP" links the existing "vip" rather than making a second tag.
    unique: dict[str, str] = {}
    for name in cleaned:
        unique.setdefault(name.casefold(), name)
    matching = Q()
    for name in unique.values():
        matching |= Q(name__iexact=name)
    existing = {t.name.casefold(): t for t in Tag.objects.filter(matching, org_id=actor.org_id)} if unique else {}
    tags = []
    for key, name in unique.items():
        tag = existing.get(key)
        if tag is None:
            tag, _ = Tag.objects.get_or_create(org_id=actor.org_id, name=name, defaults={"created_by": actor.user})
        tags.append(tag)
    return tags


def _default_region(actor: Principal) -> str | None:
    return getattr(actor.org, "default_region", None) or None


def _emails(raw: Any, errors: _Errors) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_EMAILS:
        errors.add("emails", f"Give at most {MAX_EMAILS} emails as a list.")
        return None
    items = []
    for i, entry in enumerate(raw):
        entry = {"email": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            errors.add(f"emails.{i}", "Give {email, kind, is_primary}.")
            continue
        address = errors.run(f"emails.{i}.email", normalize.email, entry.get("email"))
        kind = errors.run(f"emails.{i}.kind", normalize.choice, entry.get("kind") or "work", choices.EMAIL_KINDS)
        items.append({"email": address, "kind": kind, "is_primary": bool(entry.get("is_primary"))})
    return _one_primary(items, "email")


def _phones(actor: Principal, raw: Any, errors: _Errors) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_PHONES:
        errors.add("phones", f"Give at most {MAX_PHONES} phone numbers as a list.")
        return None
    region = _default_region(actor)
    items = []
    for i, entry in enumerate(raw):
        entry = {"number": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            errors.add(f"phones.{i}", "Give {number, kind, is_primary}.")
            continue
        number = errors.run(f"phones.{i}.number", normalize.phone, entry.get("number"), region=region)
        kind = errors.run(f"phones.{i}.kind", normalize.choice, entry.get("kind") or "mobile", choices.PHONE_KINDS)
        items.append(
            {
                "number": number[0] if isinstance(number, tuple) else number,
                "kind": kind,
                "is_primary": bool(entry.get("is_primary")),
            }
        )
    return _one_primary(items, "number")


def _one_primary(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    unique: dict[Any, dict[str, Any]] = {}
    for item in items:
        unique.setdefault(item[key], item)
    result = list(unique.values())
    if result and not any(item["is_primary"] for item in result):
        result[0]["is_primary"] = True
    seen = False
    for item in result:
        item["is_primary"] = item["is_primary"] and not seen
        seen = seen or item["is_primary"]
    return result


def _require_write(actor: Principal, record: Contact | Company, entity: Entity) -> None:
    if record.org_id != actor.org_id or not can_write(actor, record, entity):
        raise PermissionDenied()


def _company_ref(actor: Principal, value: Any, errors: _Errors) -> Company | None:
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
    return values


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
    if tags is not None:
        contact.tags.set(tags)
    contact.full_name = normalize.full_name(contact.first_name, contact.last_name)
    Contact.objects.filter(pk=contact.pk).update(email=contact.email, phone=contact.phone, full_name=contact.full_name)


def _clean_contact(actor: Principal, data: Mapping[str, Any]) -> tuple[dict[str, Any], Any, Any, Any, Any]:
    values, errors = _clean(actor, data, CONTACT_FIELDS, {"emails", "phones", "tags", "company_id"})
    emails = _emails(data.get("emails"), errors) if "emails" in data else None
    phones = _phones(actor, data.get("phones"), errors) if "phones" in data else None
    tags = _tags(actor, data.get("tags"), errors) if "tags" in data else None
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
    values, emails, phones, tags, _company = _clean_contact(actor, data)
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
    return values


def _clean_company(actor: Principal, data: Mapping[str, Any], instance: Company | None) -> tuple[dict[str, Any], Any]:
    values, errors = _clean(actor, data, COMPANY_FIELDS, {"tags", "parent_id", "email_domains", "phone"})
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
            (errors.run("phone", normalize.phone, data["phone"], region=_default_region(actor)) or ("",))[0]
            if data["phone"]
            else ""
        )
    tags = _tags(actor, data.get("tags"), errors) if "tags" in data else None
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
