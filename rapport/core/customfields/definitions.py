"""Custom field definitions: which entities have them, and the services that add, change and delete them.

Apps register their entities (`register_entity("contact", Contact)` from `AppConfig.ready`); the
model must have a `custom` JSONField and a `deleted_at` trash column. Only roles with the
`manage_settings` permission change definitions; every member reads them (they need the labels).

Renaming changes the label only: the key, used by the API, filters and storage, never changes,
so no value is touched. Deleting needs the field's key (or label) as confirmation, is recorded as
an event, and hides the field at once; a task then removes its values from every record in
batches and drops the definition (its key can be reused after that).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.text import slugify

from rapport.accounts.roles import Perm
from rapport.core.access import require
from rapport.core.customfields.types import CHOICE_TYPES, TYPES, FieldType, is_empty
from rapport.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.models import CustomField
from rapport.core.principal import Principal

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 100
MAX_OPTIONS = 200
PURGE_BATCH = 2000
EDITABLE = ("label", "help_text", "required", "unique", "default", "options", "position")


@dataclass(frozen=True)
class EntitySpec:
    name: str
    model: type[models.Model]
    label: str


ENTITIES: dict[str, EntitySpec] = {}


def register_entity(name: str, model: type[models.Model], label: str) -> None:
    """Let workspace admins add custom fields to `model` (stored in its `custom` JSONField)."""
    ENTITIES[name] = EntitySpec(name=name, model=model, label=label)


# --- reads -------------------------------------------------------------------------------------


def custom_field_list(*, actor: Principal, entity: str | None = None) -> QuerySet[CustomField]:
    """The workspace's live custom fields (of one entity), in display order."""
    qs = CustomField.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)
    return qs.filter(entity=entity) if entity else qs.order_by("entity", "position", "id")


def custom_field_get(*, actor: Principal, field_id: object) -> CustomField:
    """One live custom field of the actor's workspace; NotFound otherwise."""
    try:
        pk = int(str(field_id))
    except ValueError:
        raise NotFound("not_found", "No such custom field.") from None
    field = custom_field_list(actor=actor).filter(pk=pk).first()
    if field is None:
        raise NotFound("not_found", "No such custom field.")
    return field


def fields_of(org_id: int, entity: str) -> list[CustomField]:
    """The live definitions of one entity (for the write services, lists and forms)."""
    return list(CustomField.objects.filter(org_id=org_id, entity=entity, deleted_at__isnull=True))


# --- validation of a definition ----------------------------------------------------------------


def _key_from(label: str) -> str:
    """A key made of the label's ASCII letters and digits; "" when it has none (a key must be given)."""
    key = slugify(label).replace("-", "_")[:40].strip("_")
    if not key:
        return ""
    return key if key[0].isalpha() else f"f_{key}"[:40].strip("_")


def _text(data: Mapping[str, Any], name: str, max_length: int, errors: dict[str, str], *, required: bool) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or "\x00" in value or len(value.strip()) > max_length:
        errors[name] = f"Give text of at most {max_length} characters."
        return ""
    if required and not value.strip():
        errors[name] = "Required."
    return value.strip()


def _options(raw: Any, field_type: str, errors: dict[str, str]) -> list[str]:
    if field_type not in CHOICE_TYPES:
        if raw:
            errors["options"] = "Only choice fields have options."
        return []
    if not isinstance(raw, list) or not raw or len(raw) > MAX_OPTIONS:
        errors["options"] = f"Give 1 to {MAX_OPTIONS} options as a list."
        return []
    cleaned: list[str] = []
    for option in raw:
        if not isinstance(option, str) or not option.strip() or len(option.strip()) > 100 or "," in option:
            errors["options"] = "Each option is text of 1 to 100 characters, without commas."
            return []
        if option.strip().casefold() in {o.casefold() for o in cleaned}:
            errors["options"] = f"'{option.strip()}' is listed twice."
            return []
        cleaned.append(option.strip())
    return cleaned


def _bool(data: Mapping[str, Any], name: str, errors: dict[str, str]) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        errors[name] = "Enter true or false."
        return False
    return value


def _clean(actor: Principal, data: Mapping[str, Any], field: CustomField | None) -> dict[str, Any]:
    """The definition's values from `data` (all fields on create, the keys given on update)."""
    errors: dict[str, str] = {}
    allowed = set(EDITABLE) | ({"entity", "key", "type"} if field is None else set())
    for name in sorted(set(data) - allowed):
        errors[name] = "Cannot be changed." if name in {"entity", "key", "type"} else "Unknown field."
    values: dict[str, Any] = {}
    if field is None:
        entity = data.get("entity")
        if entity not in ENTITIES:
            errors["entity"] = f"Choose one of: {', '.join(sorted(ENTITIES))}."
        field_type = data.get("type")
        if field_type not in {t.value for t in FieldType}:
            errors["type"] = f"Choose one of: {', '.join(t.value for t in FieldType)}."
        values.update(entity=entity, type=field_type)
        label = _text(data, "label", 100, errors, required=True)
        key = data.get("key") or (_key_from(label) if label else "")
        if label and not key:
            errors["key"] = "Give a key: the label has no letters or digits to make one from."
        elif not isinstance(key, str) or not KEY_PATTERN.match(key):
            errors["key"] = "A key starts with a letter and has at most 40 lower-case letters, digits and '_'."
        values.update(label=label, key=key)
    elif "label" in data:
        values["label"] = _text(data, "label", 100, errors, required=True)
    field_type = values.get("type") or (field.type if field else "")
    if "help_text" in data:
        values["help_text"] = _text(data, "help_text", 300, errors, required=False)
    for name in ("required", "unique"):
        if name in data or field is None:
            values[name] = _bool(data, name, errors)
    if values.get("unique") and field_type in TYPES and not TYPES[FieldType(field_type)].uniqueable:
        errors["unique"] = f"A {FieldType(field_type).label.lower()} field cannot be unique."
    if "options" in data or field is None:
        values["options"] = _options(data.get("options") or [], field_type, errors)
    if "position" in data:
        position = data["position"]
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 10000:
            errors["position"] = "Give a position between 0 and 10000."
        values["position"] = position
    # New options are checked against the default too: a default that is no longer an option
    # would be written into every new record.
    options_changed = field is not None and values.get("options", field.options) != field.options
    if ("default" in data or options_changed) and field_type in TYPES and "options" not in errors:
        default = data.get("default", field.default if field else None)
        if is_empty(default):
            values["default"] = None
        else:
            spec = _Spec(values.get("options", field.options if field else []))
            try:
                values["default"] = TYPES[FieldType(field_type)].clean(default, "default", spec)
            except ValidationFailed as exc:
                errors["default"] = (
                    exc.fields.get("default", exc.message)
                    if "default" in data
                    else "The default value is not one of the new options; change or clear the default as well."
                )
    unique = values.get("unique", field.unique if field else False)
    default_value = values.get("default", field.default if field else None)
    if unique and not is_empty(default_value):
        errors["default"] = "A unique field cannot have a default value (every record would share it)."
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise ValidationFailed("validation_error", f"The custom field is not valid — {summary}", fields=errors)
    return values


@dataclass(frozen=True)
class _Spec:
    options: list[str]


def _has_option(field: CustomField, option: str) -> Q:
    """Records whose value is (choice) or includes (multiple choice) `option`."""
    if field.type == FieldType.CHOICE:
        return Q(**{f"custom__{field.key}": option})
    # The list as JSON text holds the option quoted and escaped: SQLite keeps the stored text's
    # \u escapes, PostgreSQL prints the characters themselves.
    has = Q()
    for quoted in {json.dumps(option), json.dumps(option, ensure_ascii=False)}:
        has |= Q(**{f"custom__{field.key}__icontains": quoted})
    return has


def _snapshot(field: CustomField) -> dict[str, Any]:
    return {name: getattr(field, name) for name in ("entity", "key", "type", *EDITABLE)}


# --- writes ------------------------------------------------------------------------------------


@transaction.atomic
def custom_field_create(*, actor: Principal, data: Mapping[str, Any]) -> CustomField:
    """Add a custom field to an entity of the actor's workspace."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean(actor, data, None)
    siblings = CustomField.objects.select_for_update().filter(org_id=actor.org_id, entity=values["entity"])
    if siblings.filter(deleted_at__isnull=True).count() >= MAX_FIELDS:
        raise Conflict("too_many_fields", f"An entity has at most {MAX_FIELDS} custom fields.", field="entity")
    if siblings.filter(key=values["key"]).exists():
        raise Conflict(
            "key_taken",
            f"Another custom field of this entity already uses the key '{values['key']}' (a deleted field "
            "keeps its key until its values are removed); choose another key.",
            field="key",
        )
    if "position" not in values:
        values["position"] = (siblings.aggregate(top=Max("position"))["top"] or 0) + 1
    try:
        with transaction.atomic():  # a concurrent create of the same key loses here, not with a 500
            field = CustomField.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    except IntegrityError:
        raise Conflict("key_taken", f"The key '{values['key']}' was just taken; choose another.", field="key") from None
    record_event(actor, "custom_field.created", field, diff({}, _snapshot(field)))
    return field


@transaction.atomic
def custom_field_update(
    *, actor: Principal, field: CustomField, data: Mapping[str, Any], expected_version: int | None
) -> CustomField:
    """Change a field's label, help, rules, default, options or position; its key and type stay."""
    require(actor, Perm.MANAGE_SETTINGS)
    if field.org_id != actor.org_id:
        raise NotFound("not_found", "No such custom field.")
    values = _clean(actor, data, field)
    model = ENTITIES[field.entity].model
    in_use = model.objects.filter(org_id=actor.org_id, **{f"custom__{field.key}__isnull": False})  # type: ignore[attr-defined]
    removed = [o for o in field.options if o not in values.get("options", field.options)]
    for option in removed:
        count = in_use.filter(_has_option(field, option)).count()
        if count:
            raise Conflict(
                "option_in_use",
                f"{count} record(s) use the option '{option}'; change them before removing it.",
                field="options",
            )
    if values.get("unique") and not field.unique:
        duplicates = in_use.values(f"custom__{field.key}").annotate(n=models.Count("id")).filter(n__gt=1).order_by()[:1]
        if duplicates:
            raise Conflict(
                "duplicates_exist",
                "Some records share a value of this field; make them distinct before making it unique.",
                field="unique",
            )
    before = _snapshot(field)
    qs = CustomField.objects.filter(pk=field.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        raise StaleVersion()
    field.refresh_from_db()
    changes = diff(before, _snapshot(field))
    if changes:
        record_event(actor, "custom_field.updated", field, changes)
    return field


@transaction.atomic
def custom_field_delete(*, actor: Principal, field: CustomField, confirm: str) -> None:
    """Delete a field and (in the background) its values; `confirm` must be the field's key or label."""
    require(actor, Perm.MANAGE_SETTINGS)
    if field.org_id != actor.org_id or field.deleted_at is not None:
        raise NotFound("not_found", "No such custom field.")
    if not isinstance(confirm, str) or confirm.strip() not in {field.key, field.label}:
        raise ValidationFailed(
            "confirmation_required",
            f"Deleting '{field.label}' removes its values from every record; confirm by giving its key '{field.key}'.",
            field="confirm",
        )
    field.deleted_at = timezone.now()
    CustomField.objects.filter(pk=field.pk).update(deleted_at=field.deleted_at, version=F("version") + 1)
    record_event(actor, "custom_field.deleted", field, diff(_snapshot(field), {}))
    from rapport.core.tasks import purge_custom_field

    transaction.on_commit(partial(purge_custom_field, field.pk))


class JSONRemove(models.Func):
    """`custom` without one key: json_remove() on SQLite, the jsonb `-` operator on PostgreSQL."""

    output_field = models.JSONField()

    def __init__(self, column: str, key: str) -> None:
        super().__init__(F(column))
        self.key = key

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        (column,) = self.source_expressions
        path = models.Value(f'$."{self.key}"')
        return models.Func(column, path, function="JSON_REMOVE").as_sql(compiler, connection, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        (column,) = self.source_expressions
        text_key = Cast(models.Value(self.key), models.TextField())
        return models.Func(column, text_key, template="(%(expressions)s)", arg_joiner=" - ").as_sql(
            compiler, connection, **extra
        )


def purge_values(field_id: int) -> int:
    """Remove a deleted field's values from its records in batches, then the definition; returns the count."""
    field = CustomField.objects.filter(pk=field_id, deleted_at__isnull=False).first()
    if field is None or field.entity not in ENTITIES:
        return 0
    model: Any = ENTITIES[field.entity].model
    holders = model.objects.filter(org_id=field.org_id, **{"custom__has_key": field.key})
    total = 0
    while ids := list(holders.values_list("pk", flat=True)[:PURGE_BATCH]):
        with transaction.atomic():
            total += model.objects.filter(pk__in=ids).update(
                custom=JSONRemove("custom", field.key), version=F("version") + 1
            )
    CustomField.objects.filter(pk=field.pk).delete()
    return total
