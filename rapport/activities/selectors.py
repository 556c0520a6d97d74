"""Reads of activities: the filtered list and one activity, both limited to what the actor may read.

Read access follows the role's level for activities like every owned record: own / team / all.
On top of it, a private activity (`Activity.private`: email synced from a personal mailbox unless
its owner shares it) is seen by its owner only, whatever the role's level, an admin's included.
Every read of activities goes through `visible_activities` (or `visible_q`), so that rule holds
in the lists, the timelines, the search, the calendar feed and the single-activity fetch alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from rapport.accounts.roles import Entity, Mode
from rapport.activities.choices import Direction, Kind, Outcome
from rapport.activities.models import Activity, ActivityContact
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


def visible_q(actor: Principal, prefix: str = "") -> Q:
    """The privacy rule as a condition: shared activities, and the actor's own private ones.
    `prefix` ("activity__") applies it through a relation, such as a participant link."""
    return Q(**{f"{prefix}private": False}) | Q(**{f"{prefix}owner_id": actor.user_id})


def visible_activities(actor: Principal, qs: QuerySet[Activity], mode: Mode = Mode.READ) -> QuerySet[Activity]:
    """The activities of `qs` the actor may read (or write): the role's level, then privacy."""
    return scope(actor, qs, Entity.ACTIVITY, mode).filter(visible_q(actor))


def activity_list(
    *, actor: Principal, conditions: Iterable[Condition] = (), sort: str | None = None, trashed: bool = False
) -> tuple[QuerySet[Activity], tuple[str, ...]]:
    """The activities the actor may read, filtered and sorted (newest first by default); the queryset
    and its ordering (for cursor paging). One query for the rows (owner, team and company joined)
    plus one each for contacts and users, whatever the page size."""
    conditions = list(conditions)
    base = Activity.objects.trashed() if trashed else Activity.objects.alive()
    qs = apply_filters(visible_activities(actor, base), FILTERS, conditions)
    if any(c.field == "contact_id" for c in conditions):
        qs = qs.distinct()  # a join through the participants: one row per activity
    qs, ordering = with_sort(qs, FILTERS, sort, DEFAULT_ORDER)
    return qs.select_related("owner", "team", "company").prefetch_related("contact_links__contact", "users"), ordering


def activity_get(*, actor: Principal, activity_id: object, mode: Mode = Mode.READ, trashed: bool = False) -> Activity:
    """One activity the actor may read (or write); 404 for missing, trashed, someone else's private
    and not-yours alike."""
    base = Activity.objects.trashed() if trashed else Activity.objects.alive()
    qs = (
        base.filter(visible_q(actor))
        .select_related("owner", "team", "company")
        .prefetch_related("contact_links__contact", "users")
    )
    return access(actor, qs, activity_id, Entity.ACTIVITY, mode)


TRASH_ORDER = ("-deleted_at", "-id")


def activity_trash(*, actor: Principal) -> tuple[QuerySet[Activity], tuple[str, ...]]:
    """The trashed activities the actor may restore (write access, privacy), most recently trashed
    first (a walk of the `activity_trash` index); the queryset and its ordering, for cursor paging.
    One query for the rows, one for their participants."""
    qs = visible_activities(actor, Activity.objects.trashed(), Mode.WRITE)
    links = ActivityContact.objects.select_related("contact").order_by("id")
    qs = qs.select_related("owner", "company").prefetch_related(Prefetch("contact_links", queryset=links))
    return qs.order_by(*TRASH_ORDER), TRASH_ORDER
