"""Background tasks of the core: event dispatch and the worker heartbeat."""

from __future__ import annotations

from datetime import timedelta

from django.db import close_old_connections, connection
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, on_startup

from rapport.core.events import deliver, subscriptions_for
from rapport.core.models import Event, IdempotencyRecord, WorkerHeartbeat

HEARTBEAT_NAME = "worker"


@db_task()
def dispatch_event(event_id: int) -> None:
    """Fan a committed event out to one delivery task per subscribed consumer."""
    verb = Event.objects.filter(pk=event_id).values_list("verb", flat=True).first()
    if verb is None:
        return
    for sub in subscriptions_for(verb):
        deliver_event(event_id, sub.name)


@db_task(retries=5, retry_delay=30)
def deliver_event(event_id: int, consumer_name: str) -> None:
    deliver(event_id, consumer_name)


def beat() -> None:
    WorkerHeartbeat.objects.update_or_create(name=HEARTBEAT_NAME, defaults={"last_seen": timezone.now()})


@on_startup()
def heartbeat_on_start() -> None:
    """A worker reports itself as soon as it starts, not only at the next minute."""
    close_old_connections()
    try:
        beat()
    finally:
        close_old_connections()


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    """Record that a worker is alive; /healthz reports it stale after a few missed minutes."""
    beat()


@db_periodic_task(crontab(minute="17"))
def purge_idempotency_records() -> None:
    """Forget Idempotency-Key answers older than the replay window."""
    from django.conf import settings

    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()


def refresh_planner_statistics() -> None:
    """Bring the query planner's statistics up to date (the list indexes are chosen from them).

    SQLite keeps none unless asked: ANALYZE, sampling each index (analysis_limit) so it takes
    seconds, not minutes, at a million rows. PostgreSQL's autovacuum analyzes by itself.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA analysis_limit=2000")
            cursor.execute("ANALYZE")


@db_periodic_task(crontab(hour="3", minute="41"))
def refresh_statistics() -> None:
    """Nightly: keep the planner's statistics current as the data grows."""
    refresh_planner_statistics()


@db_task(retries=3, retry_delay=60)
def purge_custom_field(field_id: int) -> None:
    """Remove a deleted custom field's values from every record, then the field (idempotent)."""
    from rapport.core.customfields.definitions import purge_values

    purge_values(field_id)
