"""Reads of contacts and companies: permission-scoped, filterable, sortable lists in one query."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from rapport.accounts.roles import Entity, Mode
from rapport.contacts import choices
from rapport.contacts.models import Company, Contact, Tag
from rapport.core.access import access, scope
from rapport.core.filtering import Condition, FilterField, apply_filters, ordering_for
from rapport.core.principal import Principal


def _keys(options: object) -> tuple[str, ...]:
    pairs = getattr(options, "choices", options)
    return tuple(str(value) for value, _label in pairs)  # type: ignore[attr-defined]


_ADDRESS = [
    FilterField("city", "text", sortable=True),
    FilterField("region", "text"),
    FilterField("postal_code", "text"),
    FilterField("country", "text", sortable=True),
]
_COMMON = [
    FilterField("owner_id", "id"),
    FilterField("team_id", "id"),
    FilterField("tag", "text", path="tags__name"),
    FilterField("created_at", "datetime", sortable=True),
    FilterField("updated_at", "datetime", sortable=True),
    FilterField("external_id", "text"),
]

CONTACT_FILTERS: dict[str, FilterField] = {
    f.name: f
    for f in [
        FilterField("first_name", "text", sortable=True),
        FilterField("last_name", "text", sortable=True),
        FilterField("full_name", "text", sortable=True),
        FilterField("email", "text", sortable=True),
        FilterField("any_email", "text", path="emails__email"),
        FilterField("phone", "text"),
        FilterField("company_id", "id"),
        FilterField("company", "text", path="company__name"),
        FilterField("job_title", "text"),
        FilterField("profession", "text"),
        FilterField("birth_date", "date"),
        FilterField("gender", "choice", choices=_keys(choices.GENDERS)),
        FilterField("language", "text"),
        FilterField("lifecycle_stage", "choice", sortable=True, choices=_keys(choices.LIFECYCLE_STAGES)),
        FilterField("lead_status", "choice", choices=_keys(choices.LEAD_STATUSES)),
        FilterField("lead_source", "choice", choices=_keys(choices.LEAD_SOURCES)),
        FilterField("do_not_email", "bool"),
        FilterField("do_not_call", "bool"),
        FilterField("do_not_sms", "bool"),
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
        FilterField("size", "choice", choices=_keys(choices.COMPANY_SIZES)),
        FilterField("annual_revenue", "decimal"),
        FilterField("parent_id", "id"),
        *_ADDRESS,
        *_COMMON,
    ]
}

CONTACT_DEFAULT_ORDER = ("-created_at", "-id")
COMPANY_DEFAULT_ORDER = ("name", "id")


def _distinct_if_joined(qs: QuerySet[Contact], conditions: list[Condition], many: set[str]) -> QuerySet[Contact]:
    return qs.distinct() if any(c.field in many for c in conditions) else qs


def contact_list(
    *, actor: Principal, conditions: Iterable[Condition] = (), sort: str | None = None, trashed: bool = False
) -> tuple[QuerySet[Contact], tuple[str, ...]]:
    """The contacts the actor may read, filtered; returns the queryset and its ordering (for paging).

    One query for the rows (company, owner and team joined), plus one per prefetched relation.
    """
    conditions = list(conditions)
    base = Contact.objects.trashed() if trashed else Contact.objects.alive()
    qs = apply_filters(scope(actor, base, Entity.CONTACT), CONTACT_FILTERS, conditions)
    qs = _distinct_if_joined(qs, conditions, {"tag", "any_email"})
    ordering = ordering_for(CONTACT_FILTERS, sort, CONTACT_DEFAULT_ORDER)
    qs = qs.select_related("company", "owner", "team").prefetch_related(
        "emails", "phones", Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )
    return qs.order_by(*ordering), ordering


def contact_get(*, actor: Principal, contact_id: object, mode: Mode = Mode.READ, trashed: bool = False) -> Contact:
    """One contact the actor may read (or write); 404 for missing, trashed and not-yours alike."""
    base = Contact.objects.trashed() if trashed else Contact.objects.alive()
    qs = base.select_related("company", "owner", "team").prefetch_related("emails", "phones", "tags")
    return access(actor, qs, contact_id, Entity.CONTACT, mode)


def company_list(
    *, actor: Principal, conditions: Iterable[Condition] = (), sort: str | None = None, trashed: bool = False
) -> tuple[QuerySet[Company], tuple[str, ...]]:
    conditions = list(conditions)
    base = Company.objects.trashed() if trashed else Company.objects.alive()
    qs = apply_filters(scope(actor, base, Entity.COMPANY), COMPANY_FILTERS, conditions)
    if any(c.field == "tag" for c in conditions):
        qs = qs.distinct()
    ordering = ordering_for(COMPANY_FILTERS, sort, COMPANY_DEFAULT_ORDER)
    qs = qs.select_related("parent", "owner", "team").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )
    return qs.order_by(*ordering), ordering


def company_get(*, actor: Principal, company_id: object, mode: Mode = Mode.READ, trashed: bool = False) -> Company:
    base = Company.objects.trashed() if trashed else Company.objects.alive()
    return access(
        actor, base.select_related("parent", "owner", "team").prefetch_related("tags"), company_id, Entity.COMPANY, mode
    )


def company_subsidiaries(*, actor: Principal, company: Company) -> QuerySet[Company]:
    return scope(actor, Company.objects.alive(), Entity.COMPANY).filter(parent=company).order_by("name")


def company_contacts(*, actor: Principal, company: Company) -> QuerySet[Contact]:
    return (
        scope(actor, Contact.objects.alive(), Entity.CONTACT)
        .filter(company=company)
        .order_by("last_name", "first_name", "id")
    )
