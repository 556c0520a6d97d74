"""Background work of email in: every minute, each enabled mailbox whose next attempt is due gets a
sync task of its own (see rapport.integrations.mail_sync), so one failing mailbox never holds up
the others. Imported by rapport.integrations.tasks, where Huey finds tasks."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.integrations.mail_sync import mailbox_sync, mailboxes_claim_due


@db_periodic_task(crontab(minute="*"))
def enqueue_mailbox_syncs() -> None:
    """Claim the due mailboxes and enqueue one sync task per mailbox."""
    for mailbox_id in mailboxes_claim_due():
        sync_mailbox(mailbox_id)


@db_task()
def sync_mailbox(mailbox_id: int) -> None:
    """Sync one mailbox; the outcome (success, or the error and the next attempt) is recorded on it.

    Takes an id: a mailbox deleted or disabled meanwhile is skipped."""
    mailbox_sync(mailbox_id=mailbox_id)
