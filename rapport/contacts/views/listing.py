"""What the contact and company list pages share: columns (standard and custom), the generic filter
row, and turning a list's query string (filter bar, `filter=field:op:value`, a saved view) into conditions.

The list, its bulk actions and "save this view" all read the same query string through
`conditions_for`, so "all matching" in a bulk action is exactly what the list shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, QueryDict
from django.urls import reverse

from rapport.accounts.roles import Entity
from rapport.contacts import saved_views
from rapport.contacts.models import SavedView
from rapport.contacts.selectors import COMPANY_FILTERS, CONTACT_FILTERS
from rapport.core import normalize
from rapport.core.customfields.types import TYPES, FieldType, display
from rapport.core.customfields.values import PREFIX
from rapport.core.errors import ValidationFailed
from rapport.core.filtering import KINDS, Condition, FilterField, parse_conditions
from rapport.core.models import CustomField
from rapport.core.principal import Principal

MAX_FILTERS = 50
# The "select all N matching" count stops here: beyond it the page says "more than …".
COUNT_CAP = 10000

OPERATORS = {
    "eq": "is",
    "ne": "is not",
    "contains": "contains",
    "startswith": "starts with",
    "in": "is one of (a,b,…)",
    "lt": "is less than",
    "lte": "is at most",
    "gt": "is more than",
    "gte": "is at least",
    "between": "is between (low,high)",
    "before": "is before",
    "after": "is after",
    "empty": "is empty",
    "not_empty": "is not empty",
}
NO_VALUE = {"empty", "not_empty"}
FIELD_LABELS = {
    "full_name": "Name",
    "any_email": "Any email",
    "owner_id": "Owner (user id)",
    "team_id": "Team (id)",
    "company_id": "Company (id)",
    "company": "Company name",
    "parent_id": "Parent company (id)",
    "external_id": "External id",
    "do_not_email": "Do not email",
    "do_not_call": "Do not call",
    "do_not_sms": "Do not text",
    "created_at": "Created",
    "updated_at": "Last changed",
}


@dataclass(frozen=True)
class ListSpec:
    """One list page: its record kind, columns (key, label, sort key or ""), filter bar and actions."""

    kind: str
    entity: Entity
    noun: str
    plural: str
    columns: list[tuple[str, str, str]]
    filter_form: type[Any]
    select: Callable[..., Any]
    text_fields: tuple[str, str]
    choice_field: str
    template: str
    default_sort: str
    list_route: str
    bulk_route: str
    view_save_route: str
    bulk_service: Callable[..., Any]
    bulk_actions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name_key(self) -> str:
        return self.columns[0][0]

    @property
    def filters(self) -> dict[str, FilterField]:
        return CONTACT_FILTERS if self.kind == "contact" else COMPANY_FILTERS


# --- conditions ---------------------------------------------------------------------------------


def bar_conditions(spec: ListSpec, data: dict[str, Any]) -> list[Condition]:
    """The conditions of the filter bar's own fields (quick search, stage or industry, owner, country, tag)."""
    conditions = []
    q = (data.get("q") or "").strip()
    if q:
        by_email, by_name = spec.text_fields
        conditions.append(Condition(by_email if "@" in q else by_name, "contains", q))
    if data.get(spec.choice_field):
        conditions.append(Condition(spec.choice_field, "eq", data[spec.choice_field]))
    if data.get("owner"):
        conditions.append(Condition("owner_id", "eq", data["owner"]))
    if data.get("country"):
        conditions.append(Condition("country", "eq", normalize.country(data["country"], field="filter.country")))
    if data.get("tag"):
        conditions.append(Condition("tag", "eq", data["tag"].strip()))
    return conditions


def view_of(views: Iterable[SavedView], query: QueryDict) -> SavedView | None:
    """The saved view the query string opens (`view=<id>`), among the actor's visible views."""
    wanted = query.get("view")
    return next((v for v in views if str(v.pk) == wanted), None) if wanted else None


def form_error(form: Any) -> ValidationFailed:
    message = "Some filters are not valid: " + "; ".join(
        f"{form.fields[name].label or name}: {' '.join(errs)}" if name in form.fields else " ".join(errs)
        for name, errs in form.errors.items()
    )
    return ValidationFailed("invalid_filter", message, field="filter")


def conditions_for(
    spec: ListSpec, form: Any, query: QueryDict, view: SavedView | None
) -> tuple[list[Condition], list[str]]:
    """(conditions, the same as `field:op:value` text) of a list's query string; ValidationFailed if invalid."""
    if form.is_bound and not form.is_valid():
        raise form_error(form)
    bar = bar_conditions(spec, form.cleaned_data if form.is_bound else {})
    raw = [f"{c.field}:{c.op}:{c.value}" for c in bar] + query.getlist("filter")[:MAX_FILTERS]
    if view is not None:
        raw += list(view.conditions)
    return bar + parse_conditions(raw[len(bar) :]), raw


def visible_views(actor: Principal, spec: ListSpec) -> list[SavedView]:
    return list(saved_views.saved_view_list(actor=actor, entity=spec.kind).order_by("name", "id"))


# --- columns ------------------------------------------------------------------------------------


def shown_columns(
    spec: ListSpec, definitions: list[CustomField], requested: list[str], view: SavedView | None
) -> list[str]:
    """The keys of the columns to show, in the page's order: chosen (`columns=`), the view's, or the defaults."""
    allowed = [key for key, _label, _sort in spec.columns] + [PREFIX + d.key for d in definitions]
    chosen = [c for c in requested if c in allowed]
    if not chosen and view is not None:
        chosen = [c for c in view.columns if c in allowed]
    picked = set(chosen or [key for key, _label, _sort in spec.columns]) | {spec.name_key}
    return [key for key in allowed if key in picked]


def column_headers(
    request: HttpRequest, spec: ListSpec, definitions: list[CustomField], shown: list[str], current: str
) -> list[dict[str, Any]]:
    """Headers of the shown columns: a sortable one links to the list sorted by it (again: the other way)."""
    labels = {key: (label, sort) for key, label, sort in spec.columns}
    labels |= {PREFIX + d.key: (d.label, PREFIX + d.key) for d in definitions}
    query = request.GET.copy()
    query.pop("cursor", None)
    headers = []
    for key in shown:
        label, sort = labels[key]
        header: dict[str, Any] = {"label": label, "url": "", "sort": "", "key": key}
        if sort:
            query["sort"] = f"-{sort}" if current == sort else sort
            header["url"] = "?" + query.urlencode()
            header["sort"] = "ascending" if current == sort else "descending" if current == f"-{sort}" else ""
        headers.append(header)
    return headers


def sort_options(spec: ListSpec, definitions: list[CustomField], shown: list[str], current: str) -> list[Any]:
    """The choices of the "Sort by" select: standard sorts, shown custom columns, and always the current sort."""
    options = []
    for _key, label, sort in spec.columns:
        if sort == "created_at":
            options += [(f"-{sort}", "Newest first"), (sort, "Oldest first")]
        elif sort:
            options += [(sort, f"{label} A to Z"), (f"-{sort}", f"{label} Z to A")]
    for d in definitions:
        name = PREFIX + d.key
        if name in shown or current.lstrip("-") == name:
            options += [(name, f"{d.label} (lowest first)"), (f"-{name}", f"{d.label} (highest first)")]
    if current and current not in {value for value, _ in options}:
        options.append((current, current))
    return options


def custom_cells(records: list[Any], definitions: list[CustomField], shown: list[str]) -> list[dict[str, Any]]:
    """Each record with the shown values of its custom columns (from its `custom` column: no query)."""
    columns = [d for d in definitions if PREFIX + d.key in shown]
    return [
        {
            "record": record,
            "custom": [{"label": d.label, "value": display(d.type, (record.custom or {}).get(d.key))} for d in columns],
        }
        for record in records
    ]


def column_choices(spec: ListSpec, definitions: list[CustomField]) -> list[tuple[str, str]]:
    """What the column chooser offers (the name column is always shown)."""
    standard = [(key, label) for key, label, _sort in spec.columns if key != spec.name_key]
    return standard + [(PREFIX + d.key, d.label) for d in definitions]


# --- the generic "field / condition / value" filter row ------------------------------------------


def filter_field_choices(spec: ListSpec, definitions: list[CustomField]) -> list[dict[str, str]]:
    """Every filterable field of the list (standard, then custom) with its operators, for the filter row."""
    choices = [
        {
            "name": name,
            "label": FIELD_LABELS.get(name, name.replace("_", " ").capitalize()),
            "ops": " ".join(f.operators),
            "group": "Standard fields",
        }
        for name, f in sorted(spec.filters.items(), key=lambda item: FIELD_LABELS.get(item[0], item[0]))
    ]
    for d in definitions:
        kind = TYPES[FieldType(d.type)].filter_kind
        choices.append(
            {"name": PREFIX + d.key, "label": d.label, "ops": " ".join(KINDS[kind][0]), "group": "Custom fields"}
        )
    return choices


def added_filter(query: QueryDict) -> QueryDict:
    """The query string with the filter row's field/condition/value (`ff`, `fo`, `fv`) made one `filter=`."""
    result = query.copy()
    name, op, value = (result.pop(k, [""])[-1].strip() for k in ("ff", "fo", "fv"))
    result.pop("cursor", None)
    if name and op:
        result.appendlist("filter", f"{name}:{op}" if op in NO_VALUE else f"{name}:{op}:{value}")
    return result


def active_filters(
    spec: ListSpec, definitions: list[CustomField], query: QueryDict, list_url: str
) -> list[dict[str, str]]:
    """The `filter=` conditions of the query string, readable, each with a link that removes it."""
    labels = {c["name"]: c["label"] for c in filter_field_choices(spec, definitions)}
    raw = query.getlist("filter")[:MAX_FILTERS]
    chips = []
    for index, item in enumerate(raw):
        name, _, rest = item.partition(":")
        op, _, value = rest.partition(":")
        shown = ", ".join(v for v in str(value).split(",") if v) if op in {"in", "between"} else value
        verb = OPERATORS.get(op, op).split(" (")[0]  # without the "(a,b,…)" hint of the select
        text = f"{labels.get(name, name)} {verb}" + (f" {shown}" if op not in NO_VALUE else "")
        remaining = query.copy()
        remaining.pop("cursor", None)
        remaining.setlist("filter", raw[:index] + raw[index + 1 :])
        chips.append({"text": text, "remove_url": list_url + ("?" + remaining.urlencode() if remaining else "")})
    return chips


def count_label(count: int | None) -> str:
    """The count as shown ("1,234"), or "more than 10,000" when it reached the cap."""
    if count is None:
        return ""
    return f"more than {COUNT_CAP:,}" if count > COUNT_CAP else f"{count:,}"


def list_url(spec: ListSpec) -> str:
    return reverse(spec.list_route)
