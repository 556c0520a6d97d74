"""Reads of contacts and companies: permission-scoped, filterable, sortable lists in one query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models import Exists, F, Func, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce

from rapport.accounts.roles import Entity, Mode
from rapport.contacts import choices
from rapport.contacts.models import Company, Contact, ContactEmail
from rapport.core.access import access, scope
from rapport.core.customfields.values import filter_fields, wants_custom
from rapport.core.filtering import Condition, FilterField, apply_filters, condition_q, ordering_for, with_sort
from rapport.core.normalize import age as age_of
from rapport.core.principal import Principal


def _keys(options: object) -> tuple[str, ...]:
    pairs = getattr(options, "choices", options)
    return tuple(str(value) for value, _label in pairs)  # type: ignore[attr-defined]


def _nullable_sort(spec: FilterField, empty: Any, output_field: Any) -> FilterField:
    """`spec` sorted with empty values (NULL) as `empty`: cursor pagination needs non-null values."""
    column = spec.lookup.replace("__", "_")
    sorted_on = Coalesce(F(spec.lookup), Value(empty), output_field=output_field)
    return replace(spec, sortable=True, sort_annotation=sorted_on, sort_alias=f"{column}_sorted")


_ADDRESS = [
    FilterField("city", "text", sortable=True),
    FilterField("region", "text", sortable=True),
    FilterField("postal_code", "text", sortable=True),
    FilterField("country", "text", sortable=True),
]
_COMMON = [
    FilterField("owner_id", "id"),
    FilterField("team_id", "id"),
    FilterField("tag", "text", path="tags__name"),
    FilterField("created_at", "datetime", sortable=True),
    FilterField("updated_at", "datetime", sortable=True),
    _nullable_sort(FilterField("external_id", "text"), "", models.CharField()),
]

CONTACT_FILTERS: dict[str, FilterField] = {
    f.name: f
    for f in [
        FilterField("first_name", "text", sortable=True),
        FilterField("last_name", "text", sortable=True),
        FilterField("full_name", "text", sortable=True),
        FilterField("email", "text", sortable=True),
        FilterField("any_email", "text", path="emails__email"),
        FilterField("phone", "text", sortable=True),
        FilterField("company_id", "id"),
        _nullable_sort(FilterField("company", "text", path="company__name"), "", models.CharField()),
        FilterField("job_title", "text", sortable=True),
        FilterField("profession", "text", sortable=True),
        _nullable_sort(FilterField("birth_date", "date"), date(1, 1, 1), models.DateField()),
        FilterField("gender", "choice", sortable=True, choices=_keys(choices.GENDERS)),
        FilterField("language", "text", sortable=True),
        FilterField("lifecycle_stage", "choice", sortable=True, choices=_keys(choices.LIFECYCLE_STAGES)),
        FilterField("lead_status", "choice", sortable=True, choices=_keys(choices.LEAD_STATUSES)),
        FilterField("lead_source", "choice", sortable=True, choices=_keys(choices.LEAD_SOURCES)),
        FilterField("do_not_email", "bool", sortable=True),
        FilterField("do_not_call", "bool", sortable=True),
        FilterField("do_not_sms", "bool", sortable=True),
        *_ADDRESS,
        *_COMMON,
    ]
}

COMPANY_FILTERS: dict[str, FilterField] = {
    f.name: f
    for f in [
        FilterField("name", "text", sortable=True),
        FilterField("domain", "text", sortable=True),
        FilterField("industry", "choice", sortable=True, choices=_keys(choices.INDUSTRIES)),
        FilterField("size", "choice", sortable=True, choices=_keys(choices.COMPANY_SIZES)),
        _nullable_sort(
            FilterField("annual_revenue", "decimal"),
            Decimal("-1"),
            models.DecimalField(max_digits=18, decimal_places=2),
        ),
        FilterField("parent_id", "id"),
        *_ADDRESS,
        *_COMMON,
    ]
}

# The sorts with an index of their own (a test checks the plans). The other sortable fields sort the
# filtered rows: quick after a narrowing filter, a scan of the workspace without one.
INDEXED_SORTS = {
    "contact": {"first_name", "last_name", "full_name", "email", "lifecycle_stage", "city", "country"}
    | {"created_at", "updated_at"},
    "company": {"name", "domain", "industry", "city", "country", "created_at", "updated_at"},
}

CONTACT_DEFAULT_ORDER = ("-created_at", "-id")
COMPANY_DEFAULT_ORDER = ("name", "id")
# Filters on a to-many relation: field → (related model, its link to the record, path of the value).
TO_MANY: dict[Any, dict[str, tuple[Any, str, str]]] = {
    Contact: {
        "tag": (Contact.tags.through, "contact_id", "tag__name"),
        "any_email": (ContactEmail, "contact_id", "email"),
    },
    Company: {"tag": (Company.tags.through, "company_id", "tag__name")},
}


def list_fields(actor: Principal, entity: str, conditions: list[Condition], sort: str | None) -> dict[str, FilterField]:
    """The entity's filter fields, with its custom fields when the request names one (one query more)."""
    base = CONTACT_FILTERS if entity == "contact" else COMPANY_FILTERS
    return {**base, **filter_fields(actor.org_id, entity)} if wants_custom(conditions, sort) else base


# Which index serves a filtered list with a sort other than the default (which has an index with
# each common filter). Neither planner gets this right on its own at a million rows:
# - A broad filter (few values, each shared by many records: stage, country, owner…) is best checked
#   while walking the sort's own index, which stops after one page. SQLite's planner does not weigh
#   LIMIT: it reads every match through the filter's index and sorts them all (a third of a million
#   rows). So on SQLite such a filter is made unindexed. PostgreSQL weighs LIMIT and is left alone.
# - A narrow filter (many values, each shared by few records: city, company, email…) is best read
#   through its own index, its matches sorted. PostgreSQL, expecting matches spread evenly along the
#   sort's index, walks it instead (25,000 rows for a city of 2,000 contacts); so on both databases the
#   sort is made unindexed when a narrow filter is present.
BROAD_FILTERS = {
    "contact": {
        "lifecycle_stage",
        "lead_status",
        "lead_source",
        "gender",
        "language",
        "country",
        "owner_id",
        "team_id",
    },
    "company": {"industry", "size", "country", "owner_id", "team_id"},
}
NARROW_FILTERS = {
    "contact": {"city", "postal_code", "company_id", "email", "phone", "external_id", "first_name", "last_name"},
    "company": {"city", "postal_code", "domain", "name", "parent_id", "external_id"},
}


class _Unindexed(Func):
    """A column's value as an expression that no index serves: COALESCE(column, column)."""

    function = "COALESCE"

    def __init__(self, column: str, output_field: Any) -> None:
        super().__init__(F(column), F(column), output_field=output_field)


def _unindexed(spec: FilterField, model: Any, *, sort: bool) -> FilterField:
    column: Any = model._meta.get_field(spec.lookup.removesuffix("_id"))
    value = _Unindexed(spec.lookup, column.target_field if column.is_relation else column)
    alias = f"{spec.lookup}_unindexed"
    return (
        replace(spec, sort_annotation=value, sort_alias=alias) if sort else replace(spec, path=alias, annotation=value)
    )


def _access_path(
    fields: dict[str, FilterField], entity: str, conditions: list[Condition], sort: str | None, default: tuple[str, ...]
) -> tuple[dict[str, FilterField], dict[str, FilterField]]:
    """The fields to filter with and the fields to sort with, unindexed where the other index should serve."""
    sorted_on = (sort or "").removeprefix("-")
    spec = fields.get(sorted_on)
    if spec is None or spec.sort_annotation is not None or ordering_for(fields, sort, default) == default:
        return fields, fields
    model = Contact if entity == "contact" else Company
    plain = [c for c in conditions if c.field != sorted_on and (f := fields.get(c.field)) and f.annotation is None]
    if any(c.field in NARROW_FILTERS[entity] and c.op in {"eq", "in"} for c in plain):
        return fields, {**fields, sorted_on: _unindexed(spec, model, sort=True)}
    if connection.vendor != "sqlite":
        return fields, fields
    broad = {c.field: _unindexed(fields[c.field], model, sort=False) for c in plain if c.field in BROAD_FILTERS[entity]}
    return {**fields, **broad}, fields


def _filter(qs: QuerySet[Any], fields: dict[str, FilterField], conditions: list[Condition]) -> QuerySet[Any]:
    """`qs` narrowed by `conditions`; those on a to-many relation (tags, emails) become EXISTS subqueries.

    A join would repeat a record once per matching tag and need a DISTINCT over every column, which
    PostgreSQL answers by sorting the matches; a semi-join walks the list's index and stops at a page.
    "Has a tag matching" for the positive operators, "has no tag equal to" for `ne`, "has no tag" for
    `empty`, "has a tag" for `not_empty`.
    """
    related = TO_MANY[qs.model]
    qs = apply_filters(qs, fields, [c for c in conditions if c.field not in related])
    for cond in conditions:
        if cond.field not in related:
            continue
        model, link, path = related[cond.field]
        rows = model.objects.filter(**{link: OuterRef("pk")})
        spec = replace(fields[cond.field], path=path)
        if cond.op in {"empty", "not_empty"}:
            qs = qs.filter(Exists(rows) if cond.op == "not_empty" else ~Exists(rows))
        elif cond.op == "ne":
            qs = qs.filter(~Exists(rows.filter(condition_q(spec, replace(cond, op="eq")))))
        else:
            qs = qs.filter(Exists(rows.filter(condition_q(spec, cond))))
    return qs


def contact_list(
    *, actor: Principal, conditions: Iterable[Condition] = (), sort: str | None = None, trashed: bool = False
) -> tuple[QuerySet[Contact], tuple[str, ...]]:
    """The contacts the actor may read, filtered; returns the queryset and its ordering (for paging).

    One query whatever the page shows: company, owner and team are joined; tags are read from the
    denormalised `tag_names`, the primary email and phone from their columns (all emails and phones
    are on `contact_get`).
    """
    conditions = list(conditions)
    base = Contact.objects.trashed() if trashed else Contact.objects.alive()
    fields = list_fields(actor, "contact", conditions, sort)
    filters, sorts = _access_path(fields, "contact", conditions, sort, CONTACT_DEFAULT_ORDER)
    qs = _filter(scope(actor, base, Entity.CONTACT), filters, conditions)
    qs, ordering = with_sort(qs, sorts, sort, CONTACT_DEFAULT_ORDER)
    return qs.select_related("company", "owner", "team"), ordering


def contact_get(*, actor: Principal, contact_id: object, mode: Mode = Mode.READ, trashed: bool = False) -> Contact:
    """One contact the actor may read (or write); 404 for missing, trashed and not-yours alike."""
    base = Contact.objects.trashed() if trashed else Contact.objects.alive()
    qs = base.select_related("company", "owner", "team").prefetch_related("emails", "phones", "tags")
    return access(actor, qs, contact_id, Entity.CONTACT, mode)


def company_list(
    *, actor: Principal, conditions: Iterable[Condition] = (), sort: str | None = None, trashed: bool = False
) -> tuple[QuerySet[Company], tuple[str, ...]]:
    """The companies the actor may read, filtered; the queryset (one query: parent, owner and team
    joined, tags from `tag_names`) and its ordering (for paging)."""
    conditions = list(conditions)
    base = Company.objects.trashed() if trashed else Company.objects.alive()
    fields = list_fields(actor, "company", conditions, sort)
    filters, sorts = _access_path(fields, "company", conditions, sort, COMPANY_DEFAULT_ORDER)
    qs = _filter(scope(actor, base, Entity.COMPANY), filters, conditions)
    qs, ordering = with_sort(qs, sorts, sort, COMPANY_DEFAULT_ORDER)
    return qs.select_related("parent", "owner", "team"), ordering


def company_get(*, actor: Principal, company_id: object, mode: Mode = Mode.READ, trashed: bool = False) -> Company:
    base = Company.objects.trashed() if trashed else Company.objects.alive()
    return access(
        actor, base.select_related("parent", "owner", "team").prefetch_related("tags"), company_id, Entity.COMPANY, mode
    )


COMPANY_SUGGESTIONS = 10


@dataclass(frozen=True)
class CompanySuggestion:
    """A company offered while typing a company's name; `shared`: another suggestion has its name."""

    id: int
    name: str
    city: str
    domain: str
    shared: bool

    @property
    def value(self) -> str:
        """What picking it puts in the input: its name, or "name (#id)" when the name is not unique."""
        return f"{self.name} (#{self.id})" if self.shared else self.name

    @property
    def detail(self) -> str:
        """What tells apart companies of one name: city and domain ("" for a name that is unique)."""
        return " · ".join(part for part in (self.city, self.domain) if part) if self.shared else ""


def company_suggest(*, actor: Principal, prefix: str, limit: int = COMPANY_SUGGESTIONS) -> list[CompanySuggestion]:
    """Up to `limit` live companies the actor may read whose name starts with `prefix` (any case), by name.

    One query. It reads one row more than it returns, so that a name the last suggestion shares with
    the next company is known to be shared; names equal but for case count as the same name (the
    look-up by name ignores case too).
    """
    prefix = prefix.strip()[:200]
    if not prefix or limit < 1:
        return []
    rows = list(
        scope(actor, Company.objects.alive(), Entity.COMPANY)
        .filter(name__istartswith=prefix)
        .order_by("name", "id")
        .values_list("id", "name", "city", "domain")[: limit + 1]
    )
    counts: dict[str, int] = {}
    for _pk, name, _city, _domain in rows:
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    return [
        CompanySuggestion(id=pk, name=name, city=city, domain=domain, shared=counts[name.casefold()] > 1)
        for pk, name, city, domain in rows[:limit]
    ]


def company_subsidiaries(*, actor: Principal, company: Company) -> QuerySet[Company]:
    return scope(actor, Company.objects.alive(), Entity.COMPANY).filter(parent=company).order_by("name")


def company_contacts(*, actor: Principal, company: Company) -> QuerySet[Contact]:
    return (
        scope(actor, Contact.objects.alive(), Entity.CONTACT)
        .filter(company=company)
        .order_by("last_name", "first_name", "id")
    )


# --- list rows as plain values ----------------------------------------------------------------
# The list API reads a page as `.values()` of exactly the columns its items show (the names of
# company, owner and team joined in the same query) and builds each item as a dict: no model
# instances, no per-field schema resolution. `ContactListItem` / `CompanyOut` document the shape;
# a test holds the items equal to what those schemas give for the same records.

_ADDRESS_COLUMNS: tuple[str, ...] = ("street", "city", "region", "postal_code", "country")
_RECORD_COLUMNS: tuple[str, ...] = ("custom", "external_id", "version", "created_at", "updated_at", "deleted_at")
_JOINED_COLUMNS: tuple[str, ...] = ("tag_names", "owner_id", "owner__name", "owner__email", "team_id", "team__name")
CONTACT_ITEM_COLUMNS: tuple[str, ...] = (
    *("id", "first_name", "last_name", "full_name", "email", "phone", "job_title", "profession", "birth_date"),
    *("gender", *_ADDRESS_COLUMNS, "language", "time_zone", "lifecycle_stage", "lead_status", "lead_source"),
    *("social_profiles", "do_not_email", "do_not_call", "do_not_sms", "notes", "last_contacted_at", *_RECORD_COLUMNS),
)
COMPANY_ITEM_COLUMNS: tuple[str, ...] = (
    *("id", "name", "website", "domain", "email_domains", "industry", "size", "annual_revenue", "revenue_currency"),
    *("phone", "description", "support_tier", *_ADDRESS_COLUMNS, *_RECORD_COLUMNS),
)


def list_values(qs: QuerySet[Any], ordering: tuple[str, ...]) -> QuerySet[Any]:
    """`qs` (of contact_list / company_list) as dict rows of what a list item shows, in one query,
    plus the ordering values (the next page's cursor is made of them)."""
    columns, joined = (
        (CONTACT_ITEM_COLUMNS, ("company_id", "company__name", "company__deleted_at"))
        if qs.model is Contact
        else (COMPANY_ITEM_COLUMNS, ("parent_id", "parent__name", "parent__deleted_at"))
    )
    extra = [name.lstrip("-") for name in ordering if name.lstrip("-") not in columns]
    return qs.values(*columns, *joined, *_JOINED_COLUMNS, *extra)


def _ref(row: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A joined record as {id, name}; None when there is none, or it is in the trash."""
    pk = row[f"{name}_id"]
    return None if pk is None or row.get(f"{name}__deleted_at") else {"id": pk, "name": row[f"{name}__name"]}


def _related(item: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    owner = row["owner_id"]
    item["tags"] = row["tag_names"]
    item["owner"] = (
        None
        if owner is None
        else {"id": owner, "name": row["owner__name"] or row["owner__email"], "email": row["owner__email"]}
    )
    item["team"] = _ref(row, "team")
    return item


def contact_list_item(row: dict[str, Any]) -> dict[str, Any]:
    """One contact of a list page (the shape of `ContactListItem`) from a row of `list_values`."""
    item = {name: row[name] for name in CONTACT_ITEM_COLUMNS}
    item["company"] = _ref(row, "company")
    item["age"] = age_of(row["birth_date"]) if row["birth_date"] is not None else None
    return _related(item, row)


def company_list_item(row: dict[str, Any]) -> dict[str, Any]:
    """One company of a list page (the shape of `CompanyOut`) from a row of `list_values`."""
    item = {name: row[name] for name in COMPANY_ITEM_COLUMNS}
    item["parent"] = _ref(row, "parent")
    return _related(item, row)
