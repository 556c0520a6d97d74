"""Background work of customer service: the SLA breach scan, every minute."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from rapport.service.sla_scan import sla_scan


@db_periodic_task(crontab(minute="*"))
def scan_sla() -> None:
    """Every minute: record SLA warnings and breaches whose moment has come and escalate (see
    rapport.service.sla_scan; a late, repeated or concurrent run records each breach once)."""
    sla_scan()
