"""Agents' replies by email through a real SMTP server (aiosmtpd), and the round trip back through a
real IMAP server (Dovecot): the customer's answer threads onto the ticket and reopens it."""

from __future__ import annotations

from email.utils import parseaddr

from rapport.activities.models import Notification
from rapport.integrations.sending import Outcome
from rapport.integrations.tests.conftest import configure_smtp
from rapport.integrations.tests.mailbox_support import closed_port
from rapport.service import ticket_mail
from rapport.service.models import MessageKind, SendStatus, TicketStatus
from rapport.service.tests.mail_support import SUPPORT, customer_mail, deliver_and_sync, tickets
from rapport.service.ticket_services import ticket_reply


def test_email_round_trip_threads_the_reply_and_reopens_the_solved_ticket(
    org, admin, support, imap_account, workspace_smtp, django_capture_on_commit_callbacks
):
    first = customer_mail(subject="Printer on fire", body="Help!", message_id="<rt1@client.example>")
    deliver_and_sync(imap_account, support, first)
    (ticket,) = tickets(org)

    with django_capture_on_commit_callbacks(execute=True):
        reply = ticket_reply(actor=admin, ticket=ticket, body="Use the **extinguisher**.", status=TicketStatus.SOLVED)

    reply.refresh_from_db()
    assert reply.send_status == SendStatus.SENT and reply.sent_at is not None and reply.send_error == ""
    sent = [m for m in workspace_smtp.messages if "How did we do" not in str(m["Subject"])]
    (out,) = sent
    assert parseaddr(str(out["From"]))[1] == SUPPORT and str(out["To"]) == "jane@client.example"
    assert str(out["Subject"]) == f"Re: Printer on fire [#{ticket.number}]"
    assert str(out["Message-ID"]) == reply.message_id != ""
    assert str(out["In-Reply-To"]) == "<rt1@client.example>"
    assert "<rt1@client.example>" in str(out["References"])
    assert out["Auto-Submitted"] is None  # a person wrote it
    assert "<strong>extinguisher</strong>" in out.get_body(("html",)).get_content()

    answer = customer_mail(
        subject=str(out["Subject"]),
        body="It is still burning.",
        message_id="<rt2@client.example>",
        in_reply_to=reply.message_id,
        references=f"<rt1@client.example> {reply.message_id}",
    )
    deliver_and_sync(imap_account, support, answer)

    (ticket,) = tickets(org)
    assert ticket.status == TicketStatus.OPEN
    kinds = list(ticket.messages.order_by("created_at", "pk").values_list("kind", "body"))
    assert kinds[-1] == (MessageKind.CUSTOMER, "It is still burning.")
    assert [k for k, _ in kinds].count(MessageKind.CUSTOMER) == 2


def test_a_reply_is_sent_once_however_often_its_task_runs(
    org, admin, support, workspace_smtp, django_capture_on_commit_callbacks
):
    from rapport.service.tests.ticket_support import new_ticket

    ticket = new_ticket(admin, requester_email="jane@client.example")
    with django_capture_on_commit_callbacks(execute=True):
        reply = ticket_reply(actor=admin, ticket=ticket, body="On it.")

    again = ticket_mail.reply_send(message_id=reply.pk)
    ticket_mail.send_reply_task(reply.pk)

    assert again.outcome is Outcome.SKIPPED
    assert len(workspace_smtp.messages) == 1


def test_without_a_support_mailbox_the_reply_comes_from_the_smtp_from_address(
    org, admin, smtp, django_capture_on_commit_callbacks
):
    from rapport.service.tests.ticket_support import new_ticket

    configure_smtp(org, smtp.port, from_email="help@acme.example")
    ticket = new_ticket(admin, requester_email="jane@client.example")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(actor=admin, ticket=ticket, body="On it.")

    (out,) = smtp.messages
    assert parseaddr(str(out["From"]))[1] == "help@acme.example"


def test_an_unreachable_server_is_retried_then_the_reply_fails_and_the_author_is_told(org, admin):
    from rapport.service.tests.ticket_support import new_ticket

    configure_smtp(org, closed_port())
    ticket = new_ticket(admin, requester_email="jane@client.example")
    reply = ticket_reply(actor=admin, ticket=ticket, body="On it.")  # on-commit callbacks not run: sent by hand

    first = ticket_mail.reply_send(message_id=reply.pk, attempt=0)
    reply.refresh_from_db()
    assert first.outcome is Outcome.RETRY and first.delay == 60
    assert reply.send_status == SendStatus.QUEUED and reply.sent_at is None and "Trying again" in reply.send_error

    last = ticket_mail.reply_send(message_id=reply.pk, attempt=3)
    reply.refresh_from_db()
    assert last.outcome is Outcome.FAILED and reply.send_status == SendStatus.FAILED
    assert Notification.objects.filter(user=admin.user, kind="email_failed", url=f"/tickets/{ticket.pk}/").exists()


def test_no_smtp_server_fails_the_reply_with_a_reason(org, admin):
    from rapport.service.tests.ticket_support import new_ticket

    ticket = new_ticket(admin, requester_email="jane@client.example")
    reply = ticket_reply(actor=admin, ticket=ticket, body="On it.")

    result = ticket_mail.reply_send(message_id=reply.pk)

    reply.refresh_from_db()
    assert result.outcome is Outcome.FAILED and reply.send_status == SendStatus.FAILED
    assert "outgoing mail server" in reply.send_error or "sender address" in reply.send_error


def test_a_reply_left_claimed_by_a_dead_run_fails_and_is_never_resent(org, admin, workspace_smtp):
    from datetime import timedelta

    from django.utils import timezone

    from rapport.service.models import TicketMessage
    from rapport.service.tests.ticket_support import new_ticket

    ticket = new_ticket(admin, requester_email="jane@client.example")
    reply = ticket_reply(actor=admin, ticket=ticket, body="On it.")
    TicketMessage.objects.filter(pk=reply.pk).update(sent_at=timezone.now() - timedelta(hours=1))

    lost = ticket_mail.replies_recover()

    reply.refresh_from_db()
    assert lost == [] and reply.send_status == SendStatus.FAILED and "may or may not" in reply.send_error
    assert ticket_mail.reply_send(message_id=reply.pk).outcome is Outcome.SKIPPED
    assert workspace_smtp.messages == []
