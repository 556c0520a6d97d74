"""Sending one composed email, exactly once (run by the worker: `rapport.integrations.tasks`).

The claim is a conditional UPDATE from `queued` to `sending`, committed before any network I/O:
of all the runs that may see the same email (a retried task, a second worker, a repeated enqueue)
only the one whose UPDATE changed a row sends it. The run then marks it `sent` (with `sent_at`)
or `failed` (with `send_error`). A run that dies in between leaves the email in `sending`, and no
later run claims it again: the recovery below fails it as "may not have been sent", and nothing
sends it twice.

A failure to reach the server before anything was transmitted (refused connection, timeout, a 4xx
greeting) puts the email back to `queued` and asks for another attempt after RETRY_DELAYS; after the
last one it fails. Every other failure (wrong password, refused recipients, a broken exchange) fails
at once. A failure notifies the author (a notification of its own kind, `email_failed`), who can
resend it (`email_resend`).

Every change of state bumps the email's `version` (its ETag). `send_attempt_at` says, while it is
queued, when the next attempt is due, and while it is sending, when the attempt claimed it.

`emails_recover` (run every minute by the worker) repairs what a lost task leaves behind:

- an email still `queued` SEND_GRACE after its attempt was due lost its task (the enqueue after the
  commit never happened, or a scheduled retry was lost with the queue): it is enqueued again (its
  `send_attempt_at` moves to now first, so the next run does not enqueue it once more). A repeated
  enqueue is harmless: only one run claims it.
- an email still `sending` CLAIM_TIMEOUT after its claim belongs to an attempt that died mid-send:
  nobody can tell whether the server took it, so it is never sent again automatically. It becomes
  `failed` with a send_error saying delivery is uncertain, and its author is notified: they check and
  resend it if need be.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.activities.choices import Kind, SendStatus
from rapport.activities.models import Activity, NotificationKind
from rapport.activities.notifications import notify
from rapport.integrations.outbound import ERROR_MAX, SendFailure, deliver
from rapport.integrations.smtp_services import smtp_server_of

log = logging.getLogger(__name__)

# Seconds to wait before the 2nd, 3rd and 4th attempt when the server could not be reached.
RETRY_DELAYS = (60, 300, 1200)
# A queued email whose attempt was due this long ago has lost its task (the worker takes seconds).
SEND_GRACE = timedelta(minutes=5)
# A claim this old belongs to an attempt that died: every SMTP step times out after EMAIL_TIMEOUT
# (20 s by default), so even a slow send of large attachments is done long before.
CLAIM_TIMEOUT = timedelta(minutes=15)
# Emails repaired per state and per run; the rest wait for the next run (one minute later).
RECOVER_BATCH = 200
UNCERTAIN = (
    "Rapport lost track of this email while sending it (the attempt stopped before the server answered), "
    "so it may or may not have reached its recipients. Check your Sent folder, or ask a recipient, "
    "before you resend it."
)


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
    return Activity.objects.filter(pk=activity_id, send_status=SendStatus.SENDING).update(
        version=F("version") + 1, **values
    )


def _notify_failed(activity: Activity, title: str) -> None:
    """Tell the author (or else the owner) that their email did not go out, with a link to it."""
    author_id = activity.created_by_id or activity.owner_id
    if author_id is not None:
        notify(
            org_id=activity.org_id,
            user_id=author_id,
            kind=NotificationKind.EMAIL_FAILED,
            title=title,
            url=f"/activities/{activity.pk}/",
        )


def _fail(activity: Activity, message: str) -> SendResult:
    with transaction.atomic():
        if _mark(activity.pk, send_status=SendStatus.FAILED, send_error=message[:ERROR_MAX]):
            _notify_failed(activity, f"Your email “{activity.subject}” could not be sent: {message}")
    return SendResult(Outcome.FAILED)


def email_send(*, activity_id: int, attempt: int = 0) -> SendResult:
    """Claim, send and mark one queued email (see the module). `attempt` counts from 0."""
    claimed = Activity.objects.filter(pk=activity_id, kind=Kind.EMAIL, send_status=SendStatus.QUEUED).update(
        send_status=SendStatus.SENDING, send_attempt_at=timezone.now(), version=F("version") + 1
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
            _mark(
                activity_id,
                send_status=SendStatus.QUEUED,
                send_error=note[:ERROR_MAX],
                send_attempt_at=timezone.now() + timedelta(seconds=delay),
            )
            return SendResult(Outcome.RETRY, delay)
        log.info("email %s failed: %s", activity_id, exc.message)
        return _fail(activity, exc.message)
    note = ""
    if refused:
        note = "Sent, but the server refused: " + "; ".join(f"{address} ({why})" for address, why in refused.items())
    _mark(activity_id, send_status=SendStatus.SENT, sent_at=timezone.now(), send_error=note[:ERROR_MAX])
    return SendResult(Outcome.SENT)


@dataclass(frozen=True)
class Recovery:
    requeued: list[int]  # queued emails whose task was lost: the caller enqueues them again
    failed: list[int]  # emails left sending by a dead attempt, now failed ("may not have been sent")


def emails_recover(*, now: datetime | None = None) -> Recovery:
    """Repair the emails a lost task left behind (see the module): claim the queued ones that are
    overdue for the caller to enqueue again, and fail (with a notification) the ones whose attempt
    died mid-send. At most RECOVER_BATCH of each, oldest first; each row is claimed by a conditional
    UPDATE, so two workers running this at once never handle one email twice."""
    now = now or timezone.now()
    overdue = Activity.objects.filter(send_status=SendStatus.QUEUED, send_attempt_at__lt=now - SEND_GRACE)
    requeued = []
    for activity_id in list(overdue.order_by("send_attempt_at").values_list("pk", flat=True)[:RECOVER_BATCH]):
        # The next attempt is due now: a later run leaves it alone unless this enqueue is lost too.
        if overdue.filter(pk=activity_id).update(send_attempt_at=now):
            requeued.append(activity_id)
    stuck = Activity.objects.filter(send_status=SendStatus.SENDING, send_attempt_at__lt=now - CLAIM_TIMEOUT)
    failed = []
    for activity_id in list(stuck.order_by("send_attempt_at").values_list("pk", flat=True)[:RECOVER_BATCH]):
        with transaction.atomic():
            if not stuck.filter(pk=activity_id).update(
                send_status=SendStatus.FAILED, send_error=UNCERTAIN[:ERROR_MAX], version=F("version") + 1
            ):
                continue
            activity = Activity.objects.get(pk=activity_id)
            _notify_failed(
                activity,
                f"Your email “{activity.subject}” may not have been sent: check before you resend it.",
            )
            failed.append(activity_id)
    if requeued or failed:
        log.warning("emails recovered: %d enqueued again, %d failed mid-send", len(requeued), len(failed))
    return Recovery(requeued=requeued, failed=failed)
