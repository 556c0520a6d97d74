"""Notifications: what one member should see (assigned a task, mentioned in a note, a task reminder,
an email of theirs that could not be sent).

`notify` writes the notification in the caller's transaction and, when the user's preference asks
for it, emails it once the transaction commits (a Huey task that takes the notification's id).

Mentions: in an activity's body, `@` followed by a member's email address (`@ada@example.org`) or
by a member's full name as shown in Rapport (`@Ada Lovelace`), case-insensitive, and not followed by
a letter or digit. Only active members of the activity's workspace are matched; nobody is notified
of their own mention, and each member at most once per activity: an edit of the body notifies only
the members it newly mentions. Mentions in a private activity notify nobody (nobody else may read it).

Reminders: `reminders_fire` (run every minute by the worker) notifies the assignee of every open
task whose `remind_at` has passed. Each task is claimed by setting `reminded_at` with a conditional
UPDATE in the same transaction as its notification, so a retry or a second worker never notifies
twice; the email is enqueued only after that commit.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.activities.models import (
    Activity,
    Notification,
    NotificationKind,
    NotificationPreference,
    Task,
    TaskStatus,
)
from rapport.core.errors import NotFound
from rapport.core.principal import Principal

REMINDER_BATCH = 500
_EMAIL_MENTION = re.compile(r"@([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# Every notification is shown in the app (the bell, the notification centre); these preferences only
# decide which kinds are also emailed. An email that could not be sent asks for action like a
# reminder does, so it follows the reminder preference (on by default); it is emailed through the
# system mailer (`EMAIL_*`), not through the workspace's SMTP server that may be what failed.
_PREFERENCE: dict[str, str] = {
    NotificationKind.ASSIGNED: "email_assignments",
    NotificationKind.MENTIONED: "email_mentions",
    NotificationKind.REMINDER: "email_reminders",
    NotificationKind.EMAIL_FAILED: "email_reminders",
    NotificationKind.SLA: "email_reminders",  # a ticket about to miss (or missing) its SLA asks for action
}


def wants_email(user_id: int, kind: str) -> bool:
    """Whether the user asked for `kind` notifications by email (reminders and failed emails yes,
    others no by default). A kind without a preference is shown in the app only."""
    name = _PREFERENCE.get(kind)
    if name is None:
        return False
    pref = NotificationPreference.objects.filter(user_id=user_id).first()
    if pref is None:
        pref = NotificationPreference(user_id=user_id)
    return bool(getattr(pref, name))


def notify(*, org_id: int, user_id: int, kind: str, title: str, url: str = "") -> Notification:
    """Record a notification for one member; email it after commit if their preference says so."""
    notification = Notification.objects.create(org_id=org_id, user_id=user_id, kind=kind, title=title[:300], url=url)
    if wants_email(user_id, kind):
        from rapport.activities.tasks import send_notification_email

        notification_id = notification.pk
        transaction.on_commit(lambda: send_notification_email(notification_id))
    return notification


def task_url(task: Task) -> str:
    return f"/tasks/{task.pk}/"


def notify_assigned(*, actor: Principal, task: Task) -> None:
    """Tell a task's assignee it was given to them by someone else."""
    if task.owner_id and task.owner_id != actor.user_id:
        notify(
            org_id=task.org_id,
            user_id=task.owner_id,
            kind=NotificationKind.ASSIGNED,
            title=f"{actor.user.display_name} assigned you a task: {task.title}",
            url=task_url(task),
        )


def mentioned_user_ids(*, org_id: int, body: str) -> list[int]:
    """Active members of the workspace that `body` mentions (see the module's rule)."""
    if "@" not in body:
        return []
    emails = {m.lower() for m in _EMAIL_MENTION.findall(body)}
    lowered = body.lower()
    found: list[int] = []
    members = Membership.objects.filter(org_id=org_id, is_active=True).select_related("user")
    for membership in members:
        user = membership.user
        hit = user.email and user.email.lower() in emails
        name = (user.name or "").strip().lower()
        if not hit and name:
            hit = re.search("@" + re.escape(name) + r"(?![\w])", lowered) is not None
        if hit and user.pk not in found:
            found.append(user.pk)
    return found


def notify_mentions(*, actor: Principal, activity: Activity, previous_body: str | None = None) -> None:
    """Notify every member mentioned in the activity's body (not the author). After an edit, give
    the body as it was in `previous_body`: only the members it did not mention yet are notified.
    A private activity notifies nobody: only its owner may read it."""
    if activity.private:
        return
    already = set(mentioned_user_ids(org_id=activity.org_id, body=previous_body)) if previous_body else set()
    link = activity.contact_links.first()
    url = f"/contacts/{link.contact_id}/" if link else ""
    for user_id in mentioned_user_ids(org_id=activity.org_id, body=activity.body):
        if user_id != actor.user_id and user_id not in already:
            notify(
                org_id=activity.org_id,
                user_id=user_id,
                kind=NotificationKind.MENTIONED,
                title=f"{actor.user.display_name} mentioned you: {activity}",
                url=url,
            )


def _due_reminders(now: datetime) -> QuerySet[Task]:
    return Task.objects.filter(
        remind_at__lte=now, reminded_at__isnull=True, deleted_at__isnull=True, status=TaskStatus.OPEN
    )


def reminders_fire(*, now: datetime | None = None) -> int:
    """Notify the assignee of each open task whose reminder is due, once; the number notified."""
    now = now or timezone.now()
    fired = 0
    for task_id in list(_due_reminders(now).order_by("remind_at").values_list("pk", flat=True)[:REMINDER_BATCH]):
        with transaction.atomic():
            # The claim: only one run (of any worker) turns reminded_at from NULL to a time.
            if not _due_reminders(now).filter(pk=task_id).update(reminded_at=now):
                continue
            task = Task.objects.get(pk=task_id)
            if task.owner_id is None:
                continue
            due = f" (due {timezone.localtime(task.due_at):%Y-%m-%d %H:%M})" if task.due_at else ""
            notify(
                org_id=task.org_id,
                user_id=task.owner_id,
                kind=NotificationKind.REMINDER,
                title=f"Reminder: {task.title}{due}",
                url=task_url(task),
            )
            fired += 1
    return fired


# Reads and marks of one's own notifications: a member only ever sees their own, in this workspace.


def notification_list(*, actor: Principal, unread: bool | None = None) -> QuerySet[Notification]:
    """The actor's notifications in this workspace, newest first (optionally only unread / read)."""
    qs = Notification.objects.filter(org_id=actor.org_id, user_id=actor.user_id)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs


def notification_unread_count(*, actor: Principal) -> int:
    """How many of the actor's notifications are unread (one query)."""
    return Notification.objects.filter(org_id=actor.org_id, user_id=actor.user_id, read_at__isnull=True).count()


def notification_read(*, actor: Principal, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read; 404 for anyone else's."""
    try:
        notification = notification_list(actor=actor).get(pk=notification_id)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk).update(read_at=notification.read_at)
    return notification


def notification_read_all(*, actor: Principal) -> int:
    """Mark all the actor's notifications in this workspace read; how many were unread."""
    return notification_list(actor=actor, unread=True).update(read_at=timezone.now())


def preference_get(*, actor: Principal) -> NotificationPreference:
    """The actor's email preferences (the defaults when never saved)."""
    return NotificationPreference.objects.filter(user_id=actor.user_id).first() or NotificationPreference(
        user_id=actor.user_id
    )


@transaction.atomic
def preference_update(*, actor: Principal, data: dict[str, bool]) -> NotificationPreference:
    """Change some of the actor's email preferences (keys: email_reminders, email_mentions,
    email_assignments)."""
    pref, _ = NotificationPreference.objects.get_or_create(user_id=actor.user_id)
    for name in ("email_reminders", "email_mentions", "email_assignments"):
        if name in data:
            setattr(pref, name, bool(data[name]))
    pref.save()
    return pref
