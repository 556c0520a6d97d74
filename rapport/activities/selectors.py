"""Reads of activities: the filtered list and one activity, both limited to what the actor may read.

Read access follows the role's level for activities like every owned record: own / team / all.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from rapport.accounts.roles import Entity, Mode
from rapport.activities.choices import Direction, Kind, Outcome
from rapport.activities.models import Activity
from rapport.core.access import access, scope
from rapport.core.filtering import Condition, FilterField, apply_filters, with_sort
from rapport.core.principal import Principal

DEFAULT_ORDER = ("-occurred_at", "-id")

FILTERS: dict[str, FilterField] = {
    spec.name: spec
    for spec in (
        FilterField("kind", "choice", choices=tuple(Kind.values)),
        FilterField("direction", "choice", choices=tuple(Direction.values)),
        FilterField("outcome", "choice", choices=tuple(Outcome.values)),
        FilterField("contact_id", "id", path="contact_links__contact_id"),
        FilterField("company_id", "id", path="company_id"),
        FilterField("owner_id", "id", path="owner_id"),
        FilterField("occurred_at", "datetime", sortable=True),
        FilterField("created_at", "datetime", sortable=True),
        FilterField("duration", "int"),
    )
}


def activity_list(
    *, actor: Principal, conditions: Iterable[Condition] = (), sort: str | None = None, trashed: bool = False
) -> tuple[QuerySet[Activity], tuple[str, ...]]:
    """The activities the actor may read, filtered and sorted (newest first by default); the queryset
    and its ordering (for cursor paging). One query for the rows (owner, team and company joined)
    plus one each for contacts and users, whatever the page size."""
    conditions = list(conditions)
    base = Activity.objects.trashed() if trashed else Activity.objects.alive()
    qs = apply_filters(scope(actor, base, Entity.ACTIVITY), FILTERS, conditions)
    if any(c.field == "contact_id" for c in conditions):
        qs = qs.distinct()  # a join through the participants: one row per activity
    qs, ordering = with_sort(qs, FILTERS, sort, DEFAULT_ORDER)
    return qs.select_related("owner", "team", "company").prefetch_related("contact_links__contact", "users"), ordering


def activity_get(*, actor: Principal, activity_id: object, mode: Mode = Mode.READ, trashed: bool = False) -> Activity:
    """One activity the actor may read (or write); 404 for missing, trashed and not-yours alike."""
    base = Activity.objects.trashed() if trashed else Activity.objects.alive()
    qs = base.select_related("owner", "team", "company").prefetch_related("contact_links__contact", "users")
    return access(actor, qs, activity_id, Entity.ACTIVITY, mode)
