"""Background work of activities: due task reminders (every minute), the hourly catch-up of contacts'
last-contacted dates, notification emails, and a daily sweep of orphaned attachment files."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.activities.attachments import attachment_sweep_orphans
from rapport.activities.models import Notification
from rapport.activities.notifications import reminders_fire
from rapport.activities.services import refresh_last_contacted_since


@db_periodic_task(crontab(minute="*"))
def fire_reminders() -> None:
    """Notify assignees of due task reminders; each reminder fires once (see reminders_fire)."""
    reminders_fire()


@db_periodic_task(crontab(minute="7"))
def catch_up_last_contacted() -> None:
    """Hourly: meetings planned ahead that have now happened count as the contact's last contact
    (a window of two hours, so a late or skipped run loses nothing)."""
    refresh_last_contacted_since(timezone.now() - timedelta(hours=2))


@db_periodic_task(crontab(minute="17", hour="3"))
def sweep_attachment_files() -> None:
    """Daily: remove stored attachment files no row names (see attachment_sweep_orphans)."""
    attachment_sweep_orphans()


@db_task(retries=3, retry_delay=60)
def send_notification_email(notification_id: int) -> None:
    """Email one notification to its user (takes an id: a missing notification is skipped)."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or not notification.user.email:
        return
    base = getattr(settings, "BASE_URL", "")
    link = f"\n\n{base}{notification.url}" if notification.url else ""
    send_mail(
        subject=f"[Rapport] {notification.title}"[:200],
        message=f"{notification.title}{link}\n",
        from_email=None,
        recipient_list=[notification.user.email],
    )
