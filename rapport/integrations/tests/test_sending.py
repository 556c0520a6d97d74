"""Sending composed emails through real SMTP servers: what arrives, once, and every way it can fail."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from icalendar import Calendar

from rapport.activities.email_services import email_compose
from rapport.activities.models import Activity, Attachment, Notification
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import contact_with
from rapport.integrations.models import SmtpServer
from rapport.integrations.sending import RETRY_DELAYS, Outcome, email_send
from rapport.integrations.tasks import send_email
from rapport.integrations.tests.conftest import SMTP_PASSWORD, SMTP_USER, configure_smtp


def compose(actor: Any, run_on_commit: Any, **data: Any) -> Activity:
    data.setdefault("to", ["ada@example.org"])
    data.setdefault("subject", "Renewal")
    data.setdefault("body", "Hello **Ada**,\n\nsee you soon.")
    with run_on_commit():
        email = email_compose(actor=actor, data=data)
    email.refresh_from_db()
    return email


def _parts(message: EmailMessage) -> dict[str, Any]:
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


def test_the_message_arrives_with_the_headers_and_parts_stored_on_the_activity(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port)
    email = compose(admin, run_on_commit, to=["ada@example.org"], cc=["boss@example.org"])
    assert email.send_status == "sent" and email.sent_at is not None and email.send_error == ""
    (message,) = smtp.messages
    assert message["Message-ID"] == email.message_id
    assert email.message_id.endswith(f"@{admin.user.email.split('@')[1]}>")
    assert message["From"] == f"{admin.user.name} <{admin.user.email}>" == email.email_from
    assert message["To"] == "ada@example.org" and message["Cc"] == "boss@example.org"
    assert message["Subject"] == "Renewal" and message["Reply-To"] is None
    assert smtp.sink.envelopes == [(admin.user.email, ["ada@example.org", "boss@example.org"])]
    parts = _parts(message)
    assert parts["text/plain"].get_content().replace("\r\n", "\n").strip() == "Hello **Ada**,\n\nsee you soon."
    assert "<strong>Ada</strong>" in parts["text/html"].get_content()


def test_a_shared_sender_address_sends_as_the_workspace_with_the_member_as_reply_to(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port, from_email="sales@acme.example")
    email = compose(admin, run_on_commit)
    (message,) = smtp.messages
    assert message["From"] == f"{admin.user.name} <sales@acme.example>"
    assert message["Reply-To"] == f"{admin.user.name} <{admin.user.email}>"
    assert email.message_id.endswith("@acme.example>")


def test_a_reply_threads_by_in_reply_to_and_references(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port)
    first = compose(admin, run_on_commit, subject="Pricing")
    second = compose(admin, run_on_commit, reply_to_activity_id=first.pk, to=[], subject=None)
    third = compose(admin, run_on_commit, reply_to_activity_id=second.pk, to=[], subject=None)
    messages = smtp.messages
    assert messages[1]["Subject"] == "Re: Pricing" and messages[2]["Subject"] == "Re: Pricing"
    assert messages[1]["In-Reply-To"] == first.message_id
    assert messages[1]["References"] == first.message_id
    assert messages[2]["In-Reply-To"] == second.message_id
    assert messages[2]["References"].split() == [first.message_id, second.message_id]
    assert first.thread_key == second.thread_key == third.thread_key == first.message_id
    assert messages[2]["To"] == "ada@example.org"


def test_file_attachments_go_out_with_their_names_and_contents(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port)
    with run_on_commit():
        email = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Quote", "body": "Attached."})
        # Attached in the same transaction (as the compose page does): sent after the commit.
        attachment = Attachment(
            org=org, activity=email, filename="quote 2026.pdf", content_type="application/pdf", size=9, sha256="x"
        )
        attachment.file.save("quote.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    (message,) = smtp.messages
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "quote 2026.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_content() == b"%PDF-1.4\n"


def test_a_meeting_invitation_carries_an_ics_request(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port)
    ada = contact_with(org, email="ada@example.org", first_name="Ada")
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    meeting = log(
        admin,
        kind="meeting",
        subject="Kick-off",
        location="Room 4",
        occurred_at=start.isoformat(),
        duration=3600,
        participants=[{"contact_id": ada.pk}],
    )
    email = compose(admin, run_on_commit, invite_for_activity_id=meeting.pk, to=[], subject=None, body=None)
    assert email.email_to == ["ada@example.org"] and email.subject.startswith("Invitation: Kick-off")
    (message,) = smtp.messages
    calendar_part = _parts(message)["text/calendar"]
    assert calendar_part.get_param("method") == "REQUEST"
    cal = Calendar.from_ical(calendar_part.get_content())
    assert str(cal["method"]) == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert str(event["uid"]) == f"activity-{meeting.pk}@org-{org.pk}.rapport"
    assert str(event["summary"]) == "Kick-off" and str(event["location"]) == "Room 4"
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(hours=1)
    assert str(event["attendee"]) == "mailto:ada@example.org"
    assert str(event["organizer"]) == f"mailto:{admin.user.email}"
    assert [a.get_filename() for a in message.iter_attachments()] == ["invite.ics"]


def test_sending_twice_sends_once(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port)
    email = compose(admin, run_on_commit)
    send_email(email.pk)
    send_email(email.pk)
    assert len(smtp.messages) == 1
    assert email_send(activity_id=email.pk).outcome is Outcome.SKIPPED


def test_an_email_left_sending_by_a_crash_is_never_sent_again(admin, org, smtp, django_capture_on_commit_callbacks):
    configure_smtp(org, smtp.port)
    with django_capture_on_commit_callbacks(execute=False):
        email = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Hi", "body": ""})
    # A worker claimed it and died before marking it.
    Activity.objects.filter(pk=email.pk).update(send_status="sending")
    send_email(email.pk)
    assert smtp.messages == []
    email.refresh_from_db()
    assert email.send_status == "sending"


def test_an_unreachable_server_is_retried_then_fails_with_a_message(admin, org, closed_port, run_on_commit):
    configure_smtp(org, closed_port)
    email = compose(admin, run_on_commit)
    # The first attempt ran after the commit: back in the queue, another attempt scheduled.
    assert email.send_status == "queued"
    assert "the connection was refused" in email.send_error and "Trying again in 1 min" in email.send_error
    for attempt in range(1, len(RETRY_DELAYS)):
        assert email_send(activity_id=email.pk, attempt=attempt).outcome is Outcome.RETRY
    result = email_send(activity_id=email.pk, attempt=len(RETRY_DELAYS))
    email.refresh_from_db()
    assert result.outcome is Outcome.FAILED and email.send_status == "failed"
    assert email.send_error == (
        f"Could not connect to 127.0.0.1:{closed_port}: the connection was refused (check the host and the port)."
    )
    (notification,) = Notification.objects.filter(user=admin.user)
    assert "could not be sent" in notification.title and notification.url == f"/activities/{email.pk}/"


def test_wrong_credentials_fail_at_once_with_a_clear_message(admin, org, smtp_auth, run_on_commit):
    configure_smtp(org, smtp_auth.port, username=SMTP_USER, password="not-the-password")
    email = compose(admin, run_on_commit)
    assert email.send_status == "failed"
    assert "refused the username or password" in email.send_error and "not-the-password" not in email.send_error
    assert smtp_auth.messages == []
    assert Notification.objects.filter(user=admin.user).count() == 1


def test_the_right_credentials_log_in_and_send(admin, org, smtp_auth, run_on_commit):
    configure_smtp(org, smtp_auth.port, username=SMTP_USER, password=SMTP_PASSWORD)
    assert compose(admin, run_on_commit).send_status == "sent"
    assert len(smtp_auth.messages) == 1


def test_refused_recipients_fail_the_email_naming_them(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port)
    smtp.sink.refuse.add("ghost@example.org")
    email = compose(admin, run_on_commit, to=["ghost@example.org"])
    assert email.send_status == "failed"
    assert email.send_error.startswith("The server refused every recipient: ghost@example.org (550")
    # Only the author's notification went out (the sink is also the system's mail server here).
    assert [m["To"] for m in smtp.messages] == [admin.user.email]


def test_a_partly_refused_email_is_sent_and_names_who_did_not_get_it(admin, org, smtp, run_on_commit):
    configure_smtp(org, smtp.port)
    smtp.sink.refuse.add("ghost@example.org")
    email = compose(admin, run_on_commit, to=["ada@example.org", "ghost@example.org"])
    assert email.send_status == "sent" and "ghost@example.org (550" in email.send_error
    assert smtp.sink.envelopes[0][1] == ["ada@example.org"]


def test_an_email_trashed_or_without_a_server_before_sending_fails_instead(admin, org, smtp):
    server = configure_smtp(org, smtp.port)
    email = email_compose(actor=admin, data={"to": ["a@example.org"], "subject": "S", "body": ""})
    Activity.objects.filter(pk=email.pk).update(deleted_at=timezone.now())
    assert email_send(activity_id=email.pk).outcome is Outcome.FAILED
    other = email_compose(actor=admin, data={"to": ["a@example.org"], "subject": "S", "body": ""})
    SmtpServer.objects.filter(pk=server.pk).delete()
    assert email_send(activity_id=other.pk).outcome is Outcome.FAILED
    other.refresh_from_db()
    assert "No outgoing mail server" in other.send_error and smtp.messages == []


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@example.org", "Hi\nX-Injected: 1", "Hi\rthere", "a\u2028b"])
def test_a_subject_with_a_line_break_never_reaches_the_wire(admin, org, smtp, run_on_commit, subject):
    configure_smtp(org, smtp.port)
    from rapport.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught, run_on_commit():
        email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": subject, "body": "x"})
    assert "subject" in caught.value.fields
    assert not Activity.objects.filter(kind="email").exists() and smtp.messages == []
