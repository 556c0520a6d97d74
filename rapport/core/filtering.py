"""Declarative list filters and sorts, shared by pages and the API.

A list declares its fields once (`FilterField`); clients send conditions as (field, operator,
value) and a sort key. Unknown fields, operators the field does not offer, values of the wrong
type and sorts on non-sortable fields answer ValidationFailed naming the problem; nothing here
builds SQL from input (every condition becomes an ORM lookup on a declared path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Upper
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from rapport.core.errors import ValidationFailed

TEXT_OPS = ("eq", "ne", "contains", "startswith", "in", "empty", "not_empty")
CHOICE_OPS = ("eq", "ne", "in", "empty", "not_empty")
ORDERED_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "between", "before", "after", "empty", "not_empty")
BOOL_OPS = ("eq",)
MULTI_OPS = ("eq", "in", "empty", "not_empty")
ID_OPS = ("eq", "ne", "in", "empty", "not_empty")
MAX_IN_VALUES = 500


def _text(value: str) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    if len(value) > 500:
        raise ValueError("at most 500 characters")
    return value


def _int(value: Any) -> int:
    number = int(value)
    if not -(2**63) < number < 2**63:
        raise ValueError("out of range")
    return number


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("expected a number") from None
    if not number.is_finite():
        raise ValueError("expected a finite number")
    # Beyond what any stored amount can be, and beyond what PostgreSQL's numeric can compare.
    if number and not Decimal("1e-20") <= abs(number) < Decimal("1e20"):
        raise ValueError("expected a number between 1e-20 and 1e20 in size")
    return number


def _date(value: Any) -> date:
    parsed = parse_date(str(value)) if not isinstance(value, date) else value
    if parsed is None:
        raise ValueError("expected a date as YYYY-MM-DD")
    return parsed


def _datetime(value: Any) -> datetime | date:
    """An aware date-time, or a date (a whole day, in the current time zone; see `_day_q`)."""
    text = str(value)
    try:
        # A date first: parse_datetime would read "2026-01-01" as midnight, not as the whole day.
        parsed = parse_date(text) or parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("expected a date (YYYY-MM-DD) or a date-time (ISO 8601)")
    if not 1 < parsed.year < 9999:  # a whole day or a time zone shift must stay representable
        raise ValueError("expected a year between 2 and 9998")
    if isinstance(parsed, datetime) and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _day_q(path: str, op: str, day: date) -> Q:
    """A date-time field compared with a whole day: 'after D' starts the next day, 'eq D' is all of D."""
    start, end = _day_bounds(day)
    if op in {"eq", "ne"}:
        return Q(**{f"{path}__gte": start, f"{path}__lt": end})
    if op in {"gt", "after"}:
        return Q(**{f"{path}__gte": end})
    if op == "lte":
        return Q(**{f"{path}__lt": end})
    return Q(**{f"{path}__lt" if op in {"lt", "before"} else f"{path}__gte": start})


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ValueError("expected true or false")


KINDS: dict[str, tuple[tuple[str, ...], Callable[[Any], Any]]] = {
    "text": (TEXT_OPS, _text),
    "choice": (CHOICE_OPS, _text),
    "int": (ORDERED_OPS, _int),
    "decimal": (ORDERED_OPS, _decimal),
    "date": (ORDERED_OPS, _date),
    "datetime": (ORDERED_OPS, _datetime),
    "bool": (BOOL_OPS, _bool),
    "id": (ID_OPS, _int),
    # A list of options stored as JSON text: "eq" means "has this option", "in" "has any of them".
    "multichoice": (MULTI_OPS, _text),
}


@dataclass(frozen=True)
class FilterField:
    """A filterable (and maybe sortable) field of a list.

    `path` is an ORM lookup path; for a computed field (such as a custom field inside a JSON
    column) `annotation` is the expression aliased as `path`, and `sort_annotation` a never-null
    expression annotated as `sort_alias` to sort on (cursor pagination needs non-null values).
    """

    name: str
    kind: str
    path: str = ""
    sortable: bool = False
    choices: tuple[str, ...] = field(default_factory=tuple)
    annotation: Any = None
    sort_annotation: Any = None
    sort_alias: str = ""

    @property
    def lookup(self) -> str:
        return self.path or self.name

    @property
    def operators(self) -> tuple[str, ...]:
        return KINDS[self.kind][0]


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None


def _fail(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed("invalid_filter", message, field=f"filter.{field_name}")


def _coerce(spec: FilterField, value: Any) -> Any:
    parse = KINDS[spec.kind][1]
    try:
        result = parse(value)
    except (TypeError, ValueError) as exc:
        raise _fail(spec.name, f"{spec.name}: {exc}.") from None
    if spec.choices and result not in spec.choices:
        raise _fail(spec.name, f"{spec.name}: '{result}' is not one of {', '.join(spec.choices)}.")
    return result


def condition_q(spec: FilterField, cond: Condition) -> Q:
    """The ORM condition for one validated (field, op, value)."""
    if cond.op not in spec.operators:
        raise _fail(spec.name, f"{spec.name} does not support '{cond.op}'; use one of: {', '.join(spec.operators)}.")
    path = spec.lookup
    empty_value: Q = Q(**{f"{path}__isnull": True})
    if spec.kind in {"text", "choice"}:
        empty_value |= Q(**{path: ""})
    if cond.op == "empty":
        return empty_value
    if cond.op == "not_empty":
        return ~empty_value
    if spec.kind == "multichoice" and cond.op in {"eq", "in"}:
        values = cond.value if isinstance(cond.value, list | tuple) else str(cond.value or "").split(",")
        options = [_coerce(spec, v) for v in values if v != ""][:MAX_IN_VALUES]
        if not options:
            raise _fail(spec.name, f"{spec.name}: give at least one option.")
        has_any = Q()
        for option in options:
            # As JSON text: SQLite keeps the \u escapes of the stored text, PostgreSQL prints the characters.
            for quoted in {json.dumps(option), json.dumps(option, ensure_ascii=False)}:
                has_any |= Q(**{f"{path}__contains": quoted})
        return has_any
    if cond.op in {"in", "between"}:
        values = cond.value if isinstance(cond.value, list | tuple) else str(cond.value or "").split(",")
        if cond.op == "in":
            values = [v for v in values if v != ""]
        if cond.op == "between" and len(values) != 2:
            raise _fail(spec.name, f"{spec.name}: 'between' takes two values, low and high.")
        if cond.op == "in" and not 0 < len(values) <= MAX_IN_VALUES:
            raise _fail(spec.name, f"{spec.name}: 'in' takes 1 to {MAX_IN_VALUES} values.")
        coerced = [_coerce(spec, v) for v in values]
        if cond.op == "between":
            low, high = coerced
            if spec.kind == "datetime" and not isinstance(low, datetime):
                low = _day_bounds(low)[0]
            if spec.kind == "datetime" and not isinstance(high, datetime):
                return Q(**{f"{path}__gte": low, f"{path}__lt": _day_bounds(high)[1]})
            return Q(**{f"{path}__gte": low, f"{path}__lte": high})
        return Q(**{f"{path}__in": coerced})
    value = _coerce(spec, cond.value)
    lookups = {
        "eq": "",
        "ne": "",
        "contains": "__icontains",
        "startswith": "__istartswith",
        "lt": "__lt",
        "lte": "__lte",
        "gt": "__gt",
        "gte": "__gte",
        "before": "__lt",
        "after": "__gt",
    }
    if spec.kind == "datetime" and not isinstance(value, datetime):
        q = _day_q(path, cond.op, value)
    elif spec.kind == "text" and cond.op == "eq":
        # UPPER(column) = UPPER(value): PostgreSQL's iexact, and on SQLite (where iexact is a LIKE,
        # equally ASCII-only) the form an index on UPPER(column) serves in sort order.
        return Q(Exact(Upper(path), Upper(Value(value))))
    elif spec.kind == "text" and cond.op == "ne":
        q = Q(**{f"{path}__iexact": value})
    else:
        q = Q(**{f"{path}{lookups[cond.op]}": value})
    if cond.op == "ne" and spec.annotation is not None:
        # Records without a value are "not equal" too. Django adds this for a nullable column by
        # itself, but cannot know that a computed field (such as a custom field) may be null.
        return ~q | Q(**{f"{path}__isnull": True})
    return ~q if cond.op == "ne" else q


def apply_filters(qs: QuerySet[Any], fields: dict[str, FilterField], conditions: Iterable[Condition]) -> QuerySet[Any]:
    """`qs` narrowed by every condition (AND)."""
    combined = Q()
    aliases: dict[str, Any] = {}
    for cond in conditions:
        spec = fields.get(cond.field)
        if spec is None:
            known = ", ".join(sorted(fields))
            raise _fail(cond.field[:100], f"Unknown filter field '{cond.field[:100]}'; filterable fields: {known}.")
        combined &= condition_q(spec, cond)
        if spec.annotation is not None:
            aliases[spec.lookup] = spec.annotation
    return qs.alias(**aliases).filter(combined) if aliases else qs.filter(combined)


def ordering_for(fields: dict[str, FilterField], sort: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """The ordering for a sort key like 'last_name' or '-created_at' (always ending with the id)."""
    if not sort:
        return default
    name = sort.removeprefix("-")
    spec = fields.get(name)
    if spec is None or not spec.sortable:
        sortable = ", ".join(sorted(n for n, f in fields.items() if f.sortable))
        raise ValidationFailed("invalid_sort", f"Cannot sort by '{name}'; sortable fields: {sortable}.", field="sort")
    direction = "-" if sort.startswith("-") else ""
    return (f"{direction}{spec.sort_alias or spec.lookup}", f"{direction}id")


def with_sort(
    qs: QuerySet[Any], fields: dict[str, FilterField], sort: str | None, default: tuple[str, ...]
) -> tuple[QuerySet[Any], tuple[str, ...]]:
    """`qs` ready to be ordered by `sort` (a computed sort field is annotated), and the ordering."""
    ordering = ordering_for(fields, sort, default)
    spec = fields.get((sort or "").removeprefix("-"))
    if spec is not None and spec.sort_annotation is not None:
        qs = qs.annotate(**{spec.sort_alias: spec.sort_annotation})
    return qs.order_by(*ordering), ordering


def parse_conditions(raw: Iterable[str]) -> list[Condition]:
    """Conditions from query-string items 'field:op:value' (the value may contain ':')."""
    conditions = []
    for item in raw:
        parts = item.split(":", 2)
        if len(parts) < 2 or not parts[0]:
            raise ValidationFailed("invalid_filter", f"'{item[:80]}' is not field:operator:value.", field="filter")
        conditions.append(Condition(field=parts[0], op=parts[1], value=parts[2] if len(parts) == 3 else None))
    return conditions
