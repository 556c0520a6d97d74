"""The "activity" source of the 360° timeline (see rapport.contacts.timeline).

An activity shows on the timeline of each contact taking part, of its company, and so on a
company page's roll-up of its people (shown once there: items carry the activity as their `key`).
Two queries whatever the number of items or subjects: the activities (with their owners), then
their participants. The body is rendered from Markdown and sanitised (rapport.activities.markdown).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch

from rapport.accounts.roles import Entity
from rapport.activities.choices import Direction, Kind, Outcome
from rapport.activities.markdown import render_markdown
from rapport.activities.models import Activity, ActivityContact
from rapport.contacts.timeline import SubjectIds, TimelineItem, register_timeline_source
from rapport.core.access import scope
from rapport.core.principal import Principal


def duration_text(seconds: int | None) -> str:
    """ "1 h 5 min", "12 min 5 s", "40 s"."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p) or "0 s"


def _lines(activity: Activity) -> tuple[str, ...]:
    lines = []
    if activity.direction:
        lines.append(f"Direction: {Direction(activity.direction).label}")
    if activity.outcome:
        lines.append(f"Outcome: {Outcome(activity.outcome).label}")
    if activity.duration is not None:
        lines.append(f"Duration: {duration_text(activity.duration)}")
    people = [str(link.contact) for link in activity.contact_links.all() if link.contact.deleted_at is None]
    if people:
        lines.append(f"With: {', '.join(people)}")
    return tuple(lines)


def activity_items(
    actor: Principal, subject_type: str, subject_ids: SubjectIds, limit: int, before: datetime | None
) -> list[TimelineItem]:
    """The newest `limit` activities (older than `before`) of the contacts or companies the actor may read."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity.ACTIVITY):
        return []
    qs = scope(actor, Activity.objects.alive(), Entity.ACTIVITY)
    if subject_type == "contact":
        links = ActivityContact.objects.filter(org_id=actor.org_id, contact_id__in=subject_ids)
        if before is not None:
            links = links.filter(occurred_at__lt=before)
        qs = qs.filter(pk__in=links.values("activity_id"))
    else:
        qs = qs.filter(company_id__in=subject_ids)
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    activities = list(
        qs.select_related("owner")
        .prefetch_related(Prefetch("contact_links", queryset=ActivityContact.objects.select_related("contact")))
        .order_by("-occurred_at", "-id")[:limit]
    )
    items = []
    for activity in activities:
        label = Kind(activity.kind).label
        items.append(
            TimelineItem(
                at=activity.occurred_at,
                kind="activity",
                title=f"{label}: {activity.subject}" if activity.subject else label,
                actor_name=activity.owner.display_name if activity.owner else "",
                icon=activity.kind,
                lines=_lines(activity),
                html=render_markdown(activity.body),
                key=f"activity:{activity.pk}",
            )
        )
    return items


register_timeline_source("activity", activity_items, label="Activities")
