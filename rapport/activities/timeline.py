"""The "activity" source of the 360° timeline (see rapport.contacts.timeline).

An activity shows on the timeline of each contact taking part, of its company, and so on a
company page's roll-up of its people (shown once there: items carry the activity as their `key`).
Two queries whatever the number of items or subjects: the activities (with their owners), then
their participants; a third when failed emails are shown, for which of them the actor may resend.
The body is rendered from Markdown and sanitised (rapport.activities.markdown).

An email written in Rapport shows where it is on its way out above its body ("Queued", "Sending",
"Failed: <reason>" with a Resend button, or only the time it was sent), from
activities/_email_status.html, whose text is escaped by the template engine.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.template.loader import render_to_string

from rapport.accounts.roles import Entity, Mode
from rapport.activities.choices import Direction, Kind, Outcome, SendStatus
from rapport.activities.markdown import render_markdown
from rapport.activities.models import Activity, ActivityContact, Attachment
from rapport.activities.selectors import visible_activities
from rapport.contacts.timeline import SubjectIds, TimelineItem, register_timeline_source
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
    files = getattr(activity, "attachment_count", None) or 0
    if files:
        lines.append(f"Attachments: {files}")
    return tuple(lines)


def activity_items(
    actor: Principal, subject_type: str, subject_ids: SubjectIds, limit: int, before: datetime | None
) -> list[TimelineItem]:
    """The newest `limit` activities (older than `before`) of the contacts or companies the actor may read."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity.ACTIVITY):
        return []
    # The role's level and privacy apply to the activities; the participant links are only the
    # index walk that finds a contact's activities (see the model's docstring).
    qs = visible_activities(actor, Activity.objects.alive())
    order: tuple[str, ...] = ("-occurred_at", "-id")
    if subject_type == "contact" and isinstance(subject_ids, (list, tuple)) and len(subject_ids) == 1:
        # One contact (its page): walk its participant links newest first on the
        # (org, contact, -occurred_at) index, joined to each activity, and stop after `limit` rows
        # that pass the access and privacy conditions: no sort of the contact's whole history.
        walk: dict[str, object] = {"contact_links__org_id": actor.org_id, "contact_links__contact_id": subject_ids[0]}
        if before is not None:
            walk["contact_links__occurred_at__lt"] = before
        qs = qs.filter(**walk)
        order = ("-contact_links__occurred_at", "-id")
    elif subject_type == "contact":
        # Many contacts (a company's people): their links as a subquery, so that an activity with
        # several of them comes once.
        links = ActivityContact.objects.filter(org_id=actor.org_id, contact_id__in=subject_ids)
        if before is not None:
            links = links.filter(occurred_at__lt=before)
        qs = qs.filter(pk__in=links.values("activity_id"))
    else:
        qs = qs.filter(company_id__in=subject_ids)
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    # How many files each activity holds, in the same query (a correlated count on the
    # attachment_activity index), for its "Attachments: n" line.
    files = Attachment.objects.filter(org_id=OuterRef("org_id"), activity_id=OuterRef("pk"))
    qs = qs.annotate(attachment_count=Subquery(files.values("activity_id").annotate(n=Count("id")).values("n")[:1]))
    activities = list(
        qs.select_related("owner")
        .prefetch_related(
            # Participants in the order they were given (the "With:" line).
            Prefetch("contact_links", queryset=ActivityContact.objects.select_related("contact").order_by("id"))
        )
        .order_by(*order)[:limit]
    )
    failed = [a.pk for a in activities if a.send_status == SendStatus.FAILED]
    resendable = (
        set(visible_activities(actor, Activity.objects.filter(pk__in=failed), Mode.WRITE).values_list("pk", flat=True))
        if failed
        else set()
    )
    items = []
    for activity in activities:
        label = Kind(activity.kind).label
        html = render_markdown(activity.body)
        if activity.send_status:
            status = render_to_string(
                "activities/_email_status.html",
                {"activity": activity, "inline": True, "can_resend": activity.pk in resendable},
            )
            html = status + html  # both SafeString: the template escaped, the Markdown sanitised
        items.append(
            TimelineItem(
                at=activity.occurred_at,
                kind="activity",
                title=f"{label}: {activity.subject}" if activity.subject else label,
                actor_name=activity.owner.display_name if activity.owner else "",
                icon=activity.kind,
                lines=_lines(activity),
                html=html,
                key=f"activity:{activity.pk}",
            )
        )
    return items


register_timeline_source("activity", activity_items, label="Activities")
