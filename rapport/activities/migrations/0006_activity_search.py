"""Activities join the global search index (rapport.activities.search): index the living
activities with a subject that exist already. From here on the write services keep the index
current. No schema change: activities use the generic `core.SearchEntry` and its full-text
structures (SQLite FTS5 kept by triggers, PostgreSQL tsvector/pg_trgm), so `bulk_create` is enough.

The entry's fields are built as `rapport.activities.search._fields` builds them (kind
"activity", or "activity_private" for a private activity, searched by its owner only).
"""

from typing import Any

from django.db import migrations
from django.utils import timezone

BATCH = 2000


def index_activities(apps: Any, schema_editor: Any) -> None:
    from rapport.core import fulltext

    Activity = apps.get_model("activities", "Activity")
    SearchEntry = apps.get_model("core", "SearchEntry")
    labels = {
        "call": "Call", "meeting": "Meeting", "email": "Email", "note": "Note",
        "sms": "SMS", "chat": "Chat", "other": "Other",
    }  # fmt: skip
    indexed = set(
        SearchEntry.objects.filter(kind__in=["activity", "activity_private"]).values_list("object_id", flat=True)
    )
    activities = Activity.objects.filter(deleted_at__isnull=True).exclude(subject="").order_by("pk")
    batch: list[Any] = []
    for activity in activities.iterator(chunk_size=BATCH):
        if activity.pk in indexed:
            continue
        when = timezone.localtime(activity.occurred_at).strftime("%Y-%m-%d")
        subtitle = " · ".join(p for p in (labels.get(activity.kind, activity.kind), when, activity.email_from) if p)
        entry = fulltext.prepare_entry(
            org_id=activity.org_id,
            kind="activity_private" if activity.private else "activity",
            object_id=activity.pk,
            title=activity.subject,
            subtitle=subtitle,
            keywords=[activity.email_from] if activity.email_from else [],
            owner_id=activity.owner_id,
            team_id=activity.team_id,
        )
        batch.append(
            SearchEntry(
                org_id=entry.org_id,
                kind=entry.kind,
                object_id=entry.object_id,
                title=entry.title,
                title_folded=entry.title_folded,
                subtitle=entry.subtitle,
                keywords=entry.keywords,
                owner_id=entry.owner_id,
                team_id=entry.team_id,
            )
        )
        if len(batch) >= BATCH:
            SearchEntry.objects.bulk_create(batch)
            batch = []
    if batch:
        SearchEntry.objects.bulk_create(batch)


def unindex_activities(apps: Any, schema_editor: Any) -> None:
    apps.get_model("core", "SearchEntry").objects.filter(kind__in=["activity", "activity_private"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0005_email_templates"),
        ("core", "0004_customfield"),
    ]

    operations = [migrations.RunPython(index_activities, unindex_activities)]
