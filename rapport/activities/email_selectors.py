"""Reads of emails: one email, and the other messages of its thread, as far as the actor may see them."""

from __future__ import annotations

from django.db.models import QuerySet

from rapport.activities.choices import Kind
from rapport.activities.models import Activity
from rapport.activities.selectors import activity_get, visible_activities
from rapport.core.errors import NotFound
from rapport.core.principal import Principal

THREAD_MAX = 100


def email_get(*, actor: Principal, activity_id: object) -> Activity:
    """One email activity the actor may read; 404 for anything else (another kind included)."""
    activity = activity_get(actor=actor, activity_id=activity_id)
    if activity.kind != Kind.EMAIL:
        raise NotFound()
    return activity


def email_thread(*, actor: Principal, activity: Activity) -> QuerySet[Activity]:
    """The other live activities of the activity's thread (same `thread_key`) that the actor may
    read, oldest first (at most THREAD_MAX): one walk of the thread index."""
    if not activity.thread_key:
        return Activity.objects.none()
    return (
        visible_activities(actor, Activity.objects.alive())
        .filter(org_id=actor.org_id, thread_key=activity.thread_key)
        .exclude(pk=activity.pk)
        .select_related("owner")
        .order_by("occurred_at", "id")[:THREAD_MAX]
    )
