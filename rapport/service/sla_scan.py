"""The SLA breach scan (issue 6), run every minute by the worker (`tasks.scan_sla`).

It reads only the tickets whose `sla_check_at` has come (the partial index `ticket_sla_check`),
in batches of `batch` tickets, one transaction per batch with the batch's ticket rows locked
(skipping rows another scan holds). For each unmet target of a ticket:

* due time passed → a `SlaBreach` row of stage "breached" and the policy's escalation: the
  assignee and the queue's manager are notified (`notify_on_breach`), the priority goes up one
  step (`raise_priority`), the ticket moves to `escalate_to_queue` and is assigned there afresh;
  the ticket's policy and due times stay as they were;
* within `warn_before_minutes` of the due time → a row of stage "warning" and a notification to
  the assignee (the queue's manager when nobody is assigned).

Rows are unique per (ticket, metric, stage, due time) and written only when missing, so a re-run,
a retry or a second worker records each breach once and escalates once; a due time that moved
(a pause, a new policy) is a new target. Each row comes with an event on the ticket
(`ticket.sla_warning` / `ticket.sla_breached`, and `ticket.escalated` when fields changed), acted
by the workspace's system principal. Then `sla_check_at` moves to the ticket's next check moment
after `now` (empty when none is left): a ticket whose targets were all handled is not read again
until a write changes its timers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from rapport.activities.models import NotificationKind
from rapport.activities.notifications import notify
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.service import routing, ticket_search
from rapport.service.models import (
    PRIORITY_ORDER,
    Queue,
    SlaBreach,
    SlaMetric,
    SlaPolicy,
    SlaStage,
    Ticket,
)
from rapport.service.sla import DONE, DUE_FIELDS, breach_row, next_check
from rapport.service.system import NoActiveAdmin, system_principal

log = logging.getLogger(__name__)

SCAN_BATCH = 500
UPDATE_BATCH = 250  # rows per UPDATE … CASE statement (SQLite's expression depth stays small)
ESCALATED_FIELDS = ("priority", "queue_id", "team_id", "owner_id")


@dataclass
class ScanReport:
    """What one scan did: tickets read, rows recorded, tickets escalated, notifications sent."""

    now: datetime
    checked: int = 0
    warnings: int = 0
    breaches: int = 0
    escalated: int = 0
    notified: int = 0
    batches: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["now"] = self.now.isoformat()
        return data


@dataclass
class _Run:
    """Per-run caches: one system principal per workspace (None when it has no admin)."""

    now: datetime
    report: ScanReport
    principals: dict[int, Principal | None] = field(default_factory=dict)

    def principal(self, org_id: int) -> Principal | None:
        if org_id not in self.principals:
            try:
                self.principals[org_id] = system_principal(org_id)
            except NoActiveAdmin:
                log.warning("workspace %s has no active admin: SLA events are not recorded", org_id)
                self.principals[org_id] = None
        return self.principals[org_id]


def ticket_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/"


def _due_targets(ticket: Ticket, policy: SlaPolicy, now: datetime) -> list[tuple[str, str, datetime]]:
    """(metric, stage, due time) of each target that needs a row at `now`: breached when due,
    a warning when within the warning window."""
    warn = policy.warn_before_minutes
    found = []
    for metric, name in DUE_FIELDS.items():
        due: datetime | None = getattr(ticket, name)
        if due is None:
            continue
        if due <= now:
            found.append((metric, SlaStage.BREACHED.value, due))
        elif warn and due.timestamp() - warn * 60 <= now.timestamp():
            found.append((metric, SlaStage.WARNING.value, due))
    return found


def _label(metric: str) -> str:
    return str(SlaMetric(metric).label).lower()


def _notify_all(run: _Run, ticket: Ticket, user_ids: list[int | None], title: str) -> None:
    seen: set[int] = set()
    for user_id in user_ids:
        if user_id is not None and user_id not in seen:
            seen.add(user_id)
            notify(
                org_id=ticket.org_id,
                user_id=user_id,
                kind=NotificationKind.SLA,
                title=title,
                url=ticket_url(ticket),
            )
            run.report.notified += 1


def _manager_of(queue_id: int | None) -> int | None:
    if queue_id is None:
        return None
    return Queue.objects.filter(pk=queue_id).values_list("manager_id", flat=True).first()


def _escalate(run: _Run, ticket: Ticket, policy: SlaPolicy, metrics: list[str]) -> dict[str, list[Any]]:
    """Run the policy's breach actions on the in-memory ticket; the changed fields as a diff."""
    before = {name: getattr(ticket, name) for name in ESCALATED_FIELDS}
    notified = [ticket.owner_id, _manager_of(ticket.queue_id)]
    if policy.raise_priority and ticket.priority in PRIORITY_ORDER:
        step = PRIORITY_ORDER.index(ticket.priority) + 1
        ticket.priority = PRIORITY_ORDER[min(step, len(PRIORITY_ORDER) - 1)]
    target = policy.escalate_to_queue
    if target is not None and target.deleted_at is None and ticket.queue_id != target.pk:
        ticket.queue = target
        ticket.team_id = target.team_id
        ticket.owner_id = None
        routing.assign_in_queue(ticket)
        notified += [ticket.owner_id, target.manager_id]
    if policy.notify_on_breach:
        names = ", ".join(_label(m) for m in metrics)
        _notify_all(run, ticket, notified, f"SLA breached ({names}): #{ticket.number} {ticket.subject}")
    return diff(before, {name: getattr(ticket, name) for name in ESCALATED_FIELDS})


def _process(run: _Run, ticket: Ticket, recorded: set[tuple[int, str, str, datetime]]) -> bool:
    """Handle one locked ticket; True when it was saved whole (escalated), else only its check
    moment changed in memory."""
    now = run.now
    policy = ticket.sla_policy
    if policy is None or ticket.deleted_at is not None or ticket.status in DONE or ticket.sla_paused_at:
        ticket.sla_check_at = None
        return False
    new_rows: list[SlaBreach] = []
    for metric, stage, due in _due_targets(ticket, policy, now):
        if (ticket.pk, metric, stage, due) in recorded:
            continue
        if stage == SlaStage.WARNING and (ticket.pk, metric, SlaStage.BREACHED.value, due) in recorded:
            continue
        new_rows.append(breach_row(ticket, metric, stage, due, now=now))
    ticket.sla_check_at = next_check(ticket, policy, after=now)
    if not new_rows:
        return False
    # The rows were missing under the ticket's row lock; the unique constraint is the backstop.
    SlaBreach.objects.bulk_create(new_rows, ignore_conflicts=True)
    actor = run.principal(ticket.org_id)
    warnings = [row for row in new_rows if row.stage == SlaStage.WARNING]
    breaches = [row for row in new_rows if row.stage == SlaStage.BREACHED]
    run.report.warnings += len(warnings)
    run.report.breaches += len(breaches)
    for row in new_rows:
        if actor is not None:
            verb = "ticket.sla_breached" if row.stage == SlaStage.BREACHED else "ticket.sla_warning"
            record_event(actor, verb, ticket, {"metric": [None, row.metric], "due_at": [None, row.due_at.isoformat()]})
    if warnings:
        names = ", ".join(_label(row.metric) for row in warnings)
        recipient = ticket.owner_id or _manager_of(ticket.queue_id)
        _notify_all(run, ticket, [recipient], f"SLA due soon ({names}): #{ticket.number} {ticket.subject}")
    if not breaches:
        return False
    changes = _escalate(run, ticket, policy, [row.metric for row in breaches])
    if not changes:
        return False
    run.report.escalated += 1
    ticket.version += 1
    ticket.save(update_fields=["priority", "queue", "team", "owner", "version", "updated_at", "sla_check_at"])
    if actor is not None:
        record_event(actor, "ticket.escalated", ticket, changes)
    ticket_search.reindex(ticket)
    return True


def _scan_batch(run: _Run, ids: list[int]) -> None:
    now = run.now
    qs = Ticket.objects.filter(pk__in=ids, sla_check_at__lte=now).select_related(
        "sla_policy", "sla_policy__escalate_to_queue"
    )
    if connection.features.has_select_for_update:
        skip = connection.features.has_select_for_update_skip_locked
        qs = qs.select_for_update(of=("self",), skip_locked=skip)
    tickets = list(qs.order_by("pk"))
    if not tickets:
        return
    recorded = {
        (row[0], row[1], row[2], row[3])
        for row in SlaBreach.objects.filter(ticket_id__in=[t.pk for t in tickets]).values_list(
            "ticket_id", "metric", "stage", "due_at"
        )
    }
    only_check: list[Ticket] = []
    for ticket in tickets:
        run.report.checked += 1
        if not _process(run, ticket, recorded):
            only_check.append(ticket)
    # Bookkeeping only: no version bump, so an agent's open form does not go stale.
    Ticket.objects.bulk_update(only_check, ["sla_check_at"], batch_size=UPDATE_BATCH)


def sla_scan(*, now: datetime | None = None, batch: int = SCAN_BATCH, limit: int | None = None) -> ScanReport:
    """Look at every ticket whose SLA check moment has come (at most `limit`): record warnings and
    breaches once, run the escalation actions, move each ticket's check moment on. Safe to run
    again at any time and from several workers at once (see the module docstring)."""
    now = now or timezone.now()
    started = time.perf_counter()
    run = _Run(now=now, report=ScanReport(now=now))
    due = Ticket.objects.filter(sla_check_at__lte=now).order_by("sla_check_at", "pk").values_list("pk", flat=True)
    ids = list(due[:limit] if limit is not None else due)
    for start in range(0, len(ids), max(1, batch)):
        with transaction.atomic():
            _scan_batch(run, ids[start : start + batch])
        run.report.batches += 1
    run.report.seconds = round(time.perf_counter() - started, 3)
    return run.report
