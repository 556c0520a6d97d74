"""Input cleaning of the contacts and companies write services: one function per field.

Each cleaner takes what a page, the API or an importer sent and returns the stored form, or
records a message under the field's name in `FieldErrors`, so one answer names every problem of a
record. The services (rapport.contacts.services) are the only callers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_date

from rapport.accounts.models import Membership, Team
from rapport.accounts.roles import Entity
from rapport.contacts import choices
from rapport.contacts.models import Tag
from rapport.core import normalize
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, ValidationFailed
from rapport.core.principal import Principal

MAX_EMAILS = 10
MAX_PHONES = 10
MAX_TAGS = 50


class FieldErrors:
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


def clean_text(value: Any, name: str, max_length: int, errors: FieldErrors, *, required: bool = False) -> str:
    """A text field of a service's input, trimmed: "" for nothing (an error when `required`), and
    an error under `name` for what is not text, holds a NUL, or is longer than `max_length`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(name, "This field is required.")
        return ""
    if not isinstance(value, str) or "\x00" in value:
        errors.add(name, "Enter text.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(name, f"At most {max_length} characters.")
    return value


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
    "support_tier": _choice(choices.SUPPORT_TIERS),
    "annual_revenue": _revenue,
    "revenue_currency": _optional(normalize.currency),
    "description": _long_text(20000),
    "external_id": _external_id,
    **ADDRESS,
}
RELATIONS = {"owner_id", "team_id"}


def _relations(actor: Principal, data: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
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


def clean_fields(
    actor: Principal, data: Mapping[str, Any], spec: dict[str, Callable[[Any, str], Any]], extra: set[str]
) -> tuple[dict[str, Any], FieldErrors]:
    errors = FieldErrors()
    unknown = sorted(set(data) - set(spec) - RELATIONS - extra)
    for name in unknown:
        errors.add(name, "Unknown field.")
    values = {name: errors.run(name, spec[name], data[name]) for name in data if name in spec}
    values.update(_relations(actor, data, errors))
    return values, errors


def clean_tags(actor: Principal, names: Any, errors: FieldErrors) -> list[Tag] | None:
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


def default_region(actor: Principal) -> str | None:
    return getattr(actor.org, "default_region", None) or None


def clean_emails(raw: Any, errors: FieldErrors) -> list[dict[str, Any]] | None:
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


def clean_phones(actor: Principal, raw: Any, errors: FieldErrors) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_PHONES:
        errors.add("phones", f"Give at most {MAX_PHONES} phone numbers as a list.")
        return None
    region = default_region(actor)
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


def readable_record(actor: Principal, model: Any, entity: Entity, value: Any, name: str, errors: FieldErrors) -> Any:
    """The living `model` record with the id `value` that the actor may read (None for null); an
    error on `name` when there is none, so another workspace's id reads as unknown."""
    if value is None:
        return None
    pk = value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None
    record = scope(actor, model.objects.alive(), entity).filter(pk=pk).first() if pk else None
    if record is None:
        errors.add(name, f"No {model._meta.verbose_name} with the id {value}.")
    return record
