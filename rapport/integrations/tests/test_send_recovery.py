"""Recovering emails a lost task left behind, against a real SMTP sink: a queued email whose enqueue was
lost is sent (once), an attempt that died mid-send is failed and never sent again, and a failure
notifies its author with a notification of its own kind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from rapport.activities.email_services import email_compose
from rapport.activities.models import Activity, Notification, NotificationKind, NotificationPreference
from rapport.activities.notifications import wants_email
from rapport.integrations import sending
from rapport.integrations.sending import CLAIM_TIMEOUT, SEND_GRACE, UNCERTAIN, Outcome, email_send, emails_recover
from rapport.integrations.tasks import recover_stuck_emails
from rapport.integrations.tests.conftest import configure_smtp

pytestmark = pytest.mark.django_db
EMAIL = {"to": ["ada@example.org"], "subject": "Renewal", "body": "Hello"}


def lost(actor: Any, django_capture_on_commit_callbacks: Any, **data: Any) -> Activity:
    """An email written and committed whose send task was never enqueued (the on-commit hook is lost)."""
    with django_capture_on_commit_callbacks(execute=False):
        email = email_compose(actor=actor, data={**EMAIL, **data})
    email.refresh_from_db()
    assert email.send_status == "queued" and email.send_attempt_at is not None
    return email


def to_recipients(smtp: Any) -> list[Any]:
    """The messages that reached the sink for the email's recipient (not the author's notifications)."""
    return [m for m in smtp.messages if m["To"] == "ada@example.org"]


def age(email: Activity, status: str, by: timedelta) -> None:
    Activity.objects.filter(pk=email.pk).update(send_status=status, send_attempt_at=timezone.now() - by)


# --- queued, its task lost ------------------------------------------------------------------------


def test_a_queued_email_whose_task_was_lost_is_enqueued_again_and_sent_once(
    admin, org, smtp, django_capture_on_commit_callbacks
):
    configure_smtp(org, smtp.port)
    email = lost(admin, django_capture_on_commit_callbacks)
    recover_stuck_emails()  # too early: its task may still be on its way
    assert to_recipients(smtp) == [] and Activity.objects.get(pk=email.pk).send_status == "queued"

    age(email, "queued", SEND_GRACE + timedelta(seconds=5))
    recover_stuck_emails()
    email.refresh_from_db()
    assert email.send_status == "sent" and email.sent_at is not None
    (message,) = to_recipients(smtp)
    assert message["Message-ID"] == email.message_id and message["Subject"] == "Renewal"

    age(email, "sent", timedelta(hours=1))
    recover_stuck_emails()
    assert len(to_recipients(smtp)) == 1


def test_a_recovered_email_is_claimed_so_a_second_run_does_not_enqueue_it_again(
    admin, org, smtp, django_capture_on_commit_callbacks
):
    configure_smtp(org, smtp.port)
    email = lost(admin, django_capture_on_commit_callbacks)
    later = timezone.now() + SEND_GRACE + timedelta(seconds=5)
    assert emails_recover(now=later).requeued == [email.pk]
    # That enqueue was lost too (nothing ran it): the next runs wait for another grace period.
    assert emails_recover(now=later + timedelta(seconds=30)).requeued == []
    assert emails_recover(now=later + SEND_GRACE + timedelta(seconds=5)).requeued == [email.pk]
    assert to_recipients(smtp) == []


def test_a_retry_waiting_for_its_delay_is_not_enqueued_early(admin, org, closed_port, run_on_commit):
    configure_smtp(org, closed_port)
    with run_on_commit():
        email = email_compose(actor=admin, data=EMAIL)
    email.refresh_from_db()
    # The first attempt found no server: queued again, due after the first retry delay.
    assert email.send_status == "queued" and "Trying again in 1 min" in email.send_error
    due = email.send_attempt_at
    assert due is not None and due > timezone.now() + timedelta(seconds=50)
    assert emails_recover(now=due + SEND_GRACE - timedelta(seconds=5)).requeued == []
    assert emails_recover(now=due + SEND_GRACE + timedelta(seconds=5)).requeued == [email.pk]


# --- sending, its attempt dead --------------------------------------------------------------------


def test_an_attempt_that_died_mid_send_fails_with_uncertain_delivery_and_is_never_sent_again(
    admin, org, smtp, django_capture_on_commit_callbacks
):
    configure_smtp(org, smtp.port)
    email = lost(admin, django_capture_on_commit_callbacks)
    version = email.version
    age(email, "sending", CLAIM_TIMEOUT - timedelta(minutes=1))
    recover_stuck_emails()  # the attempt may still be running: left alone
    assert Activity.objects.get(pk=email.pk).send_status == "sending"

    age(email, "sending", CLAIM_TIMEOUT + timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        recover_stuck_emails()
    email.refresh_from_db()
    assert email.send_status == "failed" and email.send_error == UNCERTAIN and email.version == version + 1
    assert "may or may not have reached" in email.send_error and "before you resend" in email.send_error
    (notification,) = Notification.objects.filter(user=admin.user)
    assert notification.kind == NotificationKind.EMAIL_FAILED and notification.url == f"/activities/{email.pk}/"
    assert "may not have been sent" in notification.title and "Renewal" in notification.title

    # Nothing sends it again by itself: neither a late task nor the next recoveries.
    assert email_send(activity_id=email.pk).outcome is Outcome.SKIPPED
    recover_stuck_emails()
    assert to_recipients(smtp) == [] and Notification.objects.filter(user=admin.user).count() == 1
    # The author's notification went out through the system mailer (reminder preference, on by default).
    assert [m["To"] for m in smtp.messages] == [admin.user.email]


def test_each_run_repairs_a_limited_batch_oldest_first(
    admin, org, smtp, monkeypatch, django_capture_on_commit_callbacks
):
    configure_smtp(org, smtp.port)
    monkeypatch.setattr(sending, "RECOVER_BATCH", 2)
    emails = [lost(admin, django_capture_on_commit_callbacks, subject=f"S{i}") for i in range(3)]
    for minutes, email in zip((40, 30, 20), emails, strict=True):
        age(email, "sending", timedelta(minutes=minutes))
    assert emails_recover().failed == [emails[0].pk, emails[1].pk]
    assert emails_recover().failed == [emails[2].pk]
    assert emails_recover().failed == []


def test_the_recovery_queries_walk_the_partial_indexes(admin, org, smtp):
    now = timezone.now()
    queued = Activity.objects.filter(send_status="queued", send_attempt_at__lt=now).order_by("send_attempt_at")
    sending_ = Activity.objects.filter(send_status="sending", send_attempt_at__lt=now).order_by("send_attempt_at")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: ask for the index plan
        plans = [queued.values("pk")[:200].explain(), sending_.values("pk")[:200].explain()]
    assert "activity_outbox" in plans[0] and "activity_sending" in plans[1], plans


# --- the notification of a failure ------------------------------------------------------------------


def test_a_failed_send_notifies_its_author_with_its_own_kind_in_the_bell_and_the_centre(
    admin, org, smtp, web, run_on_commit
):
    configure_smtp(org, smtp.port)
    smtp.sink.refuse.add("ghost@example.org")
    with run_on_commit():
        email = email_compose(actor=admin, data={**EMAIL, "to": ["ghost@example.org"]})
    email.refresh_from_db()
    assert email.send_status == "failed"
    (notification,) = Notification.objects.filter(user=admin.user)
    assert notification.kind == "email_failed" and notification.url == f"/activities/{email.pk}/"
    client = web(admin)
    page = client.get(reverse("tasks:notifications")).content.decode()
    assert "Email not sent" in page and "could not be sent" in page and "Renewal" in page
    home = client.get("/").content.decode()
    assert 'class="badge badge-warn bell-count">1<' in home


def test_failed_emails_follow_the_reminder_email_preference_and_always_show_in_the_app(admin, org, smtp, run_on_commit):
    assert wants_email(admin.user_id, NotificationKind.EMAIL_FAILED)
    NotificationPreference.objects.create(user=admin.user, email_reminders=False)
    assert not wants_email(admin.user_id, NotificationKind.EMAIL_FAILED)
    configure_smtp(org, smtp.port)
    smtp.sink.refuse.add("ghost@example.org")
    with run_on_commit():
        email_compose(actor=admin, data={**EMAIL, "to": ["ghost@example.org"]})
    assert Notification.objects.filter(user=admin.user, kind="email_failed").count() == 1
    assert smtp.messages == []  # nothing to the recipient (refused), nothing to the author


def test_an_unknown_notification_kind_is_shown_in_the_app_only(admin):
    assert wants_email(admin.user_id, "something_new") is False


# --- the ETag follows the way out -----------------------------------------------------------------


def test_each_step_of_the_way_out_changes_the_version(admin, org, smtp, django_capture_on_commit_callbacks):
    configure_smtp(org, smtp.port)
    email = lost(admin, django_capture_on_commit_callbacks)
    before = email.version
    assert email_send(activity_id=email.pk).outcome is Outcome.SENT
    email.refresh_from_db()
    assert email.version == before + 2  # claimed, then sent
