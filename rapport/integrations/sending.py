"""Sending one composed email, exactly once (run by the worker: `rapport.integrations.tasks`).

The claim is a conditional UPDATE from `queued` to `sending`, committed before any network I/O:
of all the runs that may see the same email (a retried task, a second worker, a repeated enqueue)
only the one whose UPDATE changed a row sends it. The run then marks it `sent` (with `sent_at`)
or `failed` (with `send_error`). A run that dies in between leaves the email in `sending`, and no
later run claims it again: it is shown as "may not have been sent" and is never sent twice.

A failure to reach the server before anything was transmitted (refused connection, timeout, a 4xx
greeting) puts the email back to `queued` and asks for another attempt after RETRY_DELAYS; after the
last one it fails. Every other failure (wrong password, refused recipients, a broken exchange) fails
at once. A failure notifies the author, who can "Send again" (`email_resend`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from rapport.activities.choices import Kind, SendStatus
from rapport.activities.models import Activity, NotificationKind
from rapport.activities.notifications import notify
from rapport.integrations.outbound import ERROR_MAX, SendFailure, deliver
from rapport.integrations.smtp_services import smtp_server_of

log = logging.getLogger(__name__)

# Seconds to wait before the 2nd, 3rd and 4th attempt when the server could not be reached.
RETRY_DELAYS = (60, 300, 1200)


class Outcome(StrEnum):
    SKIPPED = "skipped"  # not queued (already claimed, sent, failed, or no such email)
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"  # back in the queue: run again after `delay` seconds


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    delay: int = 0


def _mark(activity_id: int, **values: object) -> int:
    """Leave `sending` for another state; only the run holding the claim gets here."""
    return Activity.objects.filter(pk=activity_id, send_status=SendStatus.SENDING).update(**values)


def _fail(activity: Activity, message: str) -> SendResult:
    with transaction.atomic():
        _mark(activity.pk, send_status=SendStatus.FAILED, send_error=message[:ERROR_MAX])
        author_id = activity.created_by_id or activity.owner_id
        if author_id is not None:
            notify(
                org_id=activity.org_id,
                user_id=author_id,
                # No notification kind of its own: a failed email asks for attention like a reminder.
                kind=NotificationKind.REMINDER,
                title=f"Your email “{activity.subject}” could not be sent: {message}",
                url=f"/activities/{activity.pk}/",
            )
    return SendResult(Outcome.FAILED)


def email_send(*, activity_id: int, attempt: int = 0) -> SendResult:
    """Claim, send and mark one queued email (see the module). `attempt` counts from 0."""
    claimed = Activity.objects.filter(pk=activity_id, kind=Kind.EMAIL, send_status=SendStatus.QUEUED).update(
        send_status=SendStatus.SENDING
    )
    if not claimed:
        return SendResult(Outcome.SKIPPED)
    activity = Activity.objects.select_related("created_by").get(pk=activity_id)
    if activity.deleted_at is not None:
        return _fail(activity, "The email was moved to the trash before it was sent.")
    server = smtp_server_of(activity.org_id)
    if server is None:
        return _fail(activity, "No outgoing mail server is configured in this workspace any more.")
    try:
        refused = deliver(activity, server)
    except SendFailure as exc:
        if exc.transient and attempt < len(RETRY_DELAYS):
            delay = RETRY_DELAYS[attempt]
            note = (
                f"{exc.message} Trying again in {delay // 60} min (attempt {attempt + 2} of {len(RETRY_DELAYS) + 1})."
            )
            _mark(activity_id, send_status=SendStatus.QUEUED, send_error=note[:ERROR_MAX])
            return SendResult(Outcome.RETRY, delay)
        log.info("email %s failed: %s", activity_id, exc.message)
        return _fail(activity, exc.message)
    note = ""
    if refused:
        note = "Sent, but the server refused: " + "; ".join(f"{address} ({why})" for address, why in refused.items())
    _mark(activity_id, send_status=SendStatus.SENT, sent_at=timezone.now(), send_error=note[:ERROR_MAX])
    return SendResult(Outcome.SENT)
