"""Base models and the few shared tables: the event log, idempotency records, worker heartbeats."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class OrgScopedModel(models.Model):
    """Base of every domain model: belongs to one workspace, carries a version for optimistic locking.

    `version` starts at 1 and is bumped by every update service (`F("version") + 1`); the API
    exposes it as the ETag and demands it back in If-Match.
    """

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class OwnedModel(OrgScopedModel):
    """A domain record with an owner and a team; OWN and TEAM access levels are decided on these."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        abstract = True


class AppendOnlyQuerySet(models.QuerySet["Event"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Events are append-only: they are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Events are append-only: they are never deleted.")


class Event(models.Model):
    """One write, as it happened: who did what to which record, with old → new values.

    Rows are written by `rapport.core.events.record_event` inside the write's own transaction and
    never changed afterwards. They feed the audit trail, timelines, automation and webhooks.
    """

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=80)
    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField()
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["org", "-created_at", "-id"], name="event_org_time"),
            models.Index(fields=["org", "subject_type", "subject_id", "-created_at"], name="event_subject"),
            models.Index(fields=["org", "verb", "-created_at"], name="event_verb"),
            models.Index(fields=["org", "actor", "-created_at"], name="event_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.subject_type}#{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Events are append-only: they are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Events are append-only: they are never deleted.")


class IdempotencyRecord(models.Model):
    """The stored answer to a POST sent with an Idempotency-Key, replayed when the key is sent again."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return self.key


class WorkerHeartbeat(models.Model):
    """When a worker last ran its periodic heartbeat; /healthz reads it."""

    name = models.CharField(max_length=100, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class SearchEntry(models.Model):
    """One record in the global search index (rapport.core.fulltext), whatever its kind.

    Write services keep it current through `fulltext.index_entry` / `fulltext.remove_entry`.
    `owner_id` / `team_id` are copies of the record's own, so results are permission-filtered
    without joining the record's table. The full-text structures live beside this table and are
    created by migration 0003 only: on SQLite two FTS5 tables (words; trigrams of
    `title_folded`) kept in sync by triggers (a later
    migration that rebuilds this table on SQLite must recreate those triggers), on PostgreSQL a
    generated `search_vector` tsvector column with a GIN index and a pg_trgm index on `title_folded`.
    """

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    # The title's words folded (lower case, no diacritics), space-separated: what typo-tolerant
    # matching compares against, so "alvraez" can find "Álvarez" on both databases.
    title_folded = models.CharField(max_length=300, blank=True, default="")
    subtitle = models.CharField(max_length=300, blank=True, default="")
    keywords = models.TextField(blank=True, default="")
    owner_id = models.BigIntegerField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "kind", "object_id"], name="searchentry_unique_object"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}#{self.object_id} {self.title}"


class CustomField(OrgScopedModel):
    """A field a workspace admin added to an entity (contact, company, …); values live in its `custom` JSON.

    `key` is the stable name in the API, filters and storage and never changes; `label` is what
    people see and may be renamed freely. A deleted field keeps its row (with `deleted_at`) until
    a task has removed its values from every record, so its key cannot be reused in between.
    """

    entity = models.CharField(max_length=30)
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=20)
    help_text = models.CharField(max_length=300, blank=True, default="")
    required = models.BooleanField(default=False)
    unique = models.BooleanField(default=False)
    default = models.JSONField(null=True, blank=True)
    options = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "entity", "key"], name="customfield_unique_key")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label
