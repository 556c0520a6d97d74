"""Custom field values on records: checked on every write, and made filterable and sortable.

`clean_custom` is called by an entity's write services (so pages, the API, bulk upserts and
imports share it); `filter_fields` gives the list selectors one `FilterField` per custom field,
named `custom.<key>`, backed by an expression over the `custom` JSON column that works on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Case, Q, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact

from rapport.core.customfields.definitions import ENTITIES, fields_of
from rapport.core.customfields.types import MAX_INT, TYPES, FieldType, is_empty
from rapport.core.errors import ApplicationError
from rapport.core.filtering import FilterField
from rapport.core.models import CustomField

PREFIX = "custom."
LOWEST_NUMBER = -1e300


def clean_custom(
    *,
    org_id: int,
    entity: str,
    raw: Any,
    current: dict[str, Any] | None,
    record_pk: int | None,
    errors: dict[str, str],
    definitions: Iterable[CustomField] | None = None,
) -> dict[str, Any]:
    """The record's new `custom` object: `current` with the given keys set (or, when empty, removed).

    On create (`current` is None) missing fields take their default and required ones must be
    given. Problems go into `errors` as `custom.<key>` → message; nothing is written here.
    """
    creating = current is None
    result = dict(current or {})
    if raw is None and not creating:
        return result
    if raw is not None and not isinstance(raw, dict):
        errors["custom"] = "Give custom fields as an object {key: value}."
        return result
    given: dict[str, Any] = dict(raw or {})
    fields = {f.key: f for f in (definitions if definitions is not None else fields_of(org_id, entity))}
    # Values of a deleted field are on their way out (a task purges them): a write that read the
    # record before the purge must not put them back.
    result = {key: value for key, value in result.items() if key in fields}
    for key in sorted(set(given) - set(fields)):
        known = ", ".join(sorted(fields)) or "none yet"
        errors[f"{PREFIX}{key}"[:100]] = f"Unknown custom field; this workspace's fields are: {known}."
    for key, field in fields.items():
        name = f"{PREFIX}{key}"
        if key not in given:
            if creating and not is_empty(field.default):
                result[key] = field.default
            elif creating and field.required:
                errors[name] = "Required."
            continue
        value = given[key]
        if is_empty(value):
            if field.required:
                errors[name] = "Required."
            result.pop(key, None)
            continue
        try:
            result[key] = TYPES[FieldType(field.type)].clean(value, name, field)
        except ApplicationError as exc:
            errors[name] = next(iter(exc.fields.values()), exc.message)
            continue
        if field.unique and result[key] != (current or {}).get(key):
            model: Any = ENTITIES[entity].model
            taken = model.objects.filter(org_id=org_id, **{f"custom__{key}": result[key]})
            if record_pk is not None:
                taken = taken.exclude(pk=record_pk)
            if taken.exists():
                errors[name] = "Another record already has this value (it may be in the trash)."
    return result


def _text(key: str) -> Any:
    # Cast: lookups on a bare KeyTextTransform are JSON lookups (on SQLite `exact`, `in` and
    # `isnull` compare with JSON_EXTRACT(value) and fail on plain text); on the cast they are text ones.
    return Cast(KeyTextTransform(key, "custom"), models.TextField())


def _filter_expression(field: CustomField) -> tuple[str, Any]:
    """(lookup path, annotation or None) to filter on the field."""
    key = field.key
    if field.type == FieldType.BOOLEAN:
        return f"custom__{key}", None
    if field.type == FieldType.NUMBER:
        return f"cf_{key}", Cast(_text(key), models.BigIntegerField())
    if field.type == FieldType.DECIMAL:
        return f"cf_{key}", Cast(_text(key), models.FloatField())
    if field.type == FieldType.MONEY:
        return f"cf_{key}", Cast(KeyTextTransform("amount", KeyTransform(key, "custom")), models.FloatField())
    return f"cf_{key}", _text(key)


def _sort_expression(field: CustomField, path: str, annotation: Any) -> Any:
    """A never-null expression to sort on (cursor pagination needs one): empty sorts lowest."""
    if field.type == FieldType.BOOLEAN:
        return Case(
            When(Q(**{path: True}), then=Value(1)),
            When(Q(**{path: False}), then=Value(0)),
            default=Value(-1),
            output_field=models.IntegerField(),
        )
    if field.type == FieldType.NUMBER:
        return Coalesce(annotation, Value(-MAX_INT - 1), output_field=models.BigIntegerField())
    if field.type in {FieldType.DECIMAL, FieldType.MONEY}:
        return Coalesce(annotation, Value(LOWEST_NUMBER), output_field=models.FloatField())
    if field.type == FieldType.CHOICE:  # in the order the admin gave the options (Bronze < Silver < Gold)
        return Case(
            *(When(Exact(annotation, Value(option)), then=Value(rank)) for rank, option in enumerate(field.options)),
            default=Value(-1),
            output_field=models.IntegerField(),
        )
    return Coalesce(annotation, Value(""), output_field=models.TextField())


def filter_fields(org_id: int, entity: str) -> dict[str, FilterField]:
    """One filterable, sortable `custom.<key>` field per live custom field of the entity."""
    specs = {}
    for field in fields_of(org_id, entity):
        path, annotation = _filter_expression(field)
        kind = TYPES[FieldType(field.type)].filter_kind
        specs[f"{PREFIX}{field.key}"] = FilterField(
            f"{PREFIX}{field.key}",
            kind,
            path=path,
            sortable=True,
            choices=tuple(field.options),
            annotation=annotation,
            sort_annotation=_sort_expression(field, path, annotation),
            sort_alias=f"cfs_{field.key}",
        )
    return specs


def wants_custom(conditions: Iterable[Any], sort: str | None) -> bool:
    """Whether a list request names a custom field (only then are the definitions read)."""
    return (sort or "").lstrip("-").startswith(PREFIX) or any(c.field.startswith(PREFIX) for c in conditions)
