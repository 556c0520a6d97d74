"""Activities in the global search (the command palette, the search page, GET /api/v1/search).

Activities live in the same full-text index as contacts and companies (`rapport.core.fulltext`:
SQLite FTS5 / PostgreSQL tsvector + pg_trgm), so a search is one index query whatever the number of
activities: word prefixes of the subject, the sender's address (`email_from`, also found by a
prefix of it) and typo tolerance on the subject. Activities without a subject (most notes) are
not indexed; their text is found on the timelines.

The write services keep the index current (`reindex`, in their transaction): a trashed activity
leaves it, a restored one comes back. Entries carry the owner and team, so results are filtered by
the activity read level in the index query. Privacy is an index kind of its own: a private
activity is indexed as `activity_private`, which is searched for its owner only, whatever the
role's level (see rapport.activities.selectors).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils import timezone

from rapport.accounts.roles import Entity
from rapport.activities.choices import Kind
from rapport.activities.models import Activity
from rapport.core import fulltext
from rapport.core.models import SearchEntry
from rapport.core.principal import Principal
from rapport.core.search import SearchHit, register_provider

KIND = "activity"
PRIVATE_KIND = "activity_private"
BULK_BATCH = 2000


def _fields(activity: Activity) -> dict[str, Any]:
    when = timezone.localtime(activity.occurred_at).strftime("%Y-%m-%d")
    label = Kind(activity.kind).label if activity.kind in Kind.values else activity.kind
    return {
        "org_id": activity.org_id,
        "kind": PRIVATE_KIND if activity.private else KIND,
        "object_id": activity.pk,
        "title": activity.subject,
        "subtitle": " · ".join(part for part in (label, when, activity.email_from) if part),
        "keywords": [activity.email_from] if activity.email_from else [],
        "owner_id": activity.owner_id,
        "team_id": activity.team_id,
    }


def _indexed(activity: Activity) -> bool:
    return activity.deleted_at is None and bool(activity.subject)


def reindex(activity: Activity) -> None:
    """Bring one activity's entry up to date: indexed under the kind its privacy says, or removed
    (trashed, or no subject). Runs inside the write's transaction."""
    for kind in (KIND, PRIVATE_KIND):
        if not _indexed(activity) or kind != _fields(activity)["kind"]:
            fulltext.remove_entry(org_id=activity.org_id, kind=kind, object_id=activity.pk)
    if _indexed(activity):
        fulltext.index_entry(**_fields(activity))


def index_in_bulk(activities: Iterable[Activity]) -> int:
    """Index freshly bulk-created activities (demo data, imports) in batches; how many were indexed."""
    entries = [fulltext.prepare_entry(**_fields(a)) for a in activities if _indexed(a)]
    for start in range(0, len(entries), BULK_BATCH):
        SearchEntry.objects.bulk_create(entries[start : start + BULK_BATCH])
    return len(entries)


def visibility(actor: Principal) -> dict[str, fulltext.Visibility]:
    """What the actor may find: shared activities by the role's read level, private ones of their own."""
    visible = fulltext.visibility_for(actor, {KIND: Entity.ACTIVITY})
    if KIND in visible:  # reading no activities at all means not even one's own private ones
        visible[PRIVATE_KIND] = fulltext.Visibility(owner_id=actor.user_id)
    return visible


@register_provider(priority=20)
def activities(actor: Principal, q: str, limit: int) -> list[SearchHit]:
    """Activities whose subject or sender matches `q` (after contacts and companies)."""
    visible = visibility(actor)
    if not visible:
        return []
    hits = fulltext.search_entries(org_id=actor.org_id, q=q, visible=visible, limit=limit)
    return [
        SearchHit(
            kind=KIND,
            label=hit.title,
            detail=hit.subtitle,
            url=reverse("activities:detail", args=[hit.object_id]),
        )
        for hit in hits
    ]
