"""Periodic work of the contacts app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from rapport.contacts.services import trash_purge


@db_periodic_task(crontab(minute="23", hour="3"))
def purge_trash() -> None:
    """Delete for good the contacts and companies that have been in the trash for 30 days."""
    trash_purge()
