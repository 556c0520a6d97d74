"""Background work of the integrations: sending composed emails and recovering the ones a lost task
left behind (see rapport.integrations.sending)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.integrations.sending import Outcome, email_send, emails_recover
from rapport.integrations.sync_tasks import enqueue_mailbox_syncs, sync_mailbox  # noqa: F401 (email in: registered with Huey here)


@db_task()
def send_email(activity_id: int, attempt: int = 0) -> None:
    """Send one queued email once; an unreachable server is tried again later, a few times.

    Takes an id: a repeated or retried run finds the email already claimed and does nothing."""
    result = email_send(activity_id=activity_id, attempt=attempt)
    if result.outcome is Outcome.RETRY:
        send_email.schedule(args=(activity_id,), kwargs={"attempt": attempt + 1}, delay=result.delay)


@db_periodic_task(crontab(minute="*"))
def recover_stuck_emails() -> None:
    """Every minute: enqueue again the queued emails whose task was lost, and fail (never resend) the
    ones an attempt died in the middle of sending (see emails_recover)."""
    for activity_id in emails_recover().requeued:
        send_email(activity_id)
