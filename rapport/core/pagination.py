"""Cursor (keyset) pagination: stable under inserts, one indexed query per page at any depth.

A cursor encodes the ordering values of the last row of the previous page; the next page is the
rows strictly after it in the ordering. Ordering fields must be non-null and end with a unique
field (the id), so that every row has exactly one place.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q
from ninja import Schema

from rapport.core.errors import ValidationFailed

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageOut(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("invalid_cursor", "The cursor is not valid; start again without it.", field="cursor")


def _encode(values: list[Any]) -> str:
    plain = [v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, Decimal) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, fields: list[models.Field[Any, Any]]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != len(fields):
        raise _bad_cursor()
    try:
        decoded = [field.to_python(value) for field, value in zip(fields, values, strict=True)]
    except (DjangoValidationError, TypeError, ValueError):
        raise _bad_cursor() from None
    if any(value is None for value in decoded):  # ordering fields are never null: no row sits there
        raise _bad_cursor()
    return decoded


def paginate(
    qs: models.QuerySet[M],
    *,
    cursor: str | None,
    limit: int = DEFAULT_LIMIT,
    ordering: tuple[str, ...] = ("-created_at", "-id"),
) -> Page[M]:
    """One page of `qs` in `ordering`, after `cursor`; `next_cursor` is None on the last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    names = [name.lstrip("-") for name in ordering]
    # An ordering name is a model field, or an annotation (a computed sort such as a custom field).
    fields = [
        qs.query.annotations[name].output_field if name in qs.query.annotations else qs.model._meta.get_field(name)
        for name in names
    ]
    qs = qs.order_by(*ordering)
    if cursor:
        values = _decode(cursor, fields)  # type: ignore[arg-type]
        after = Q()
        for i, spec in enumerate(ordering):
            op = "lt" if spec.startswith("-") else "gt"
            step = Q(**{f"{names[i]}__{op}": values[i]})
            for j in range(i):
                step &= Q(**{names[j]: values[j]})
            after |= step
        qs = qs.filter(after)
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        attnames = [name if name in qs.query.annotations else f.attname for name, f in zip(names, fields, strict=True)]  # type: ignore[union-attr]
        # Rows are model instances, or dicts from `.values()` (whose keys are the ordering names).
        values = [last[name] for name in names] if isinstance(last, dict) else [getattr(last, a) for a in attnames]
        next_cursor = _encode(values)
    return Page(items=rows, next_cursor=next_cursor)
