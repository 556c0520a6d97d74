"""Email-to-ticket against a real IMAP server (Dovecot): new mail makes a ticket, replies thread onto
theirs, automatic mail never makes a ticket, and nothing is made twice."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from rapport.activities.models import Activity
from rapport.contacts.models import ContactEmail
from rapport.integrations.models import MailboxMessage
from rapport.service import email_in
from rapport.service.models import LinkKind, MessageKind, TicketLink, TicketMessage, TicketStatus
from rapport.service.tests.mail_support import SUPPORT, customer_mail, deliver_and_sync, sync, tickets
from rapport.service.ticket_services import ticket_set_status


def _last_skip() -> str:
    return MailboxMessage.objects.order_by("-uid").values_list("skipped", flat=True)[0]


def _first_skip() -> str:
    return MailboxMessage.objects.order_by("uid").values_list("skipped", flat=True)[0]


def test_new_mail_becomes_a_ticket_with_its_requester(org, support, imap_account):
    raw = customer_mail(subject="Printer on fire", body="It is on fire.", message_id="<n1@client.example>")

    report = deliver_and_sync(imap_account, support, raw)

    assert (report.handled, report.logged, report.skipped) == (1, 0, 0)
    (ticket,) = tickets(org)
    assert ticket.channel == "email" and ticket.subject == "Printer on fire"
    assert ticket.requester_email == "jane@client.example"
    assert ContactEmail.objects.filter(contact=ticket.contact, email="jane@client.example").exists()
    (message,) = ticket.messages.all()
    assert message.kind == MessageKind.CUSTOMER and message.body == "It is on fire."
    assert message.message_id == "<n1@client.example>" and message.email_from == "jane@client.example"
    assert message.email_to == [SUPPORT]
    assert not Activity.objects.filter(org=org, kind="email").exists()  # a ticket instead of an activity
    assert MailboxMessage.objects.get().skipped == ""


def test_syncing_again_and_the_same_message_id_twice_make_one_ticket(org, support, imap_account):
    raw = customer_mail(message_id="<dup@client.example>")
    deliver_and_sync(imap_account, support, raw)

    second = deliver_and_sync(imap_account, support, raw)  # delivered again: a new UID, same Message-ID
    third = sync(support.mailbox)

    assert len(tickets(org)) == 1
    assert (second.handled, second.skipped) == (0, 1) and (third.handled, third.skipped) == (0, 0)
    assert _last_skip().startswith("duplicate")


def test_a_reply_threads_by_in_reply_to_and_reopens_a_solved_ticket(org, admin, support, imap_account):
    deliver_and_sync(imap_account, support, customer_mail(subject="Help", message_id="<first@client.example>"))
    (ticket,) = tickets(org)
    ticket_set_status(actor=admin, ticket=ticket, status=TicketStatus.SOLVED)

    reply = customer_mail(
        subject="Re: something else entirely",
        body="Still broken.",
        message_id="<second@client.example>",
        in_reply_to="<first@client.example>",
    )
    deliver_and_sync(imap_account, support, reply)

    (ticket,) = tickets(org)
    assert ticket.status == TicketStatus.OPEN
    bodies = list(ticket.messages.order_by("created_at", "pk").values_list("body", "in_reply_to"))
    assert bodies[-1] == ("Still broken.", "<first@client.example>")


def test_a_reply_threads_by_the_number_in_the_subject_when_the_requester_sends_it(org, support, imap_account):
    deliver_and_sync(imap_account, support, customer_mail(subject="Help"))
    (ticket,) = tickets(org)

    deliver_and_sync(
        imap_account,
        support,
        customer_mail(subject=f"Re: Help [#{ticket.number}]", body="More details."),
        customer_mail(sender="mallory@else.example", subject=f"Re: Help [#{ticket.number}]", body="Let me in."),
    )

    first, other = tickets(org)
    assert first.pk == ticket.pk and first.messages.count() == 2
    assert other.requester_email == "mallory@else.example" and other.subject == "Re: Help"


def test_an_unknown_ticket_number_makes_a_new_ticket(org, support, imap_account):
    deliver_and_sync(imap_account, support, customer_mail(subject="Re: Old thing [#99999]", body="Hello?"))

    (ticket,) = tickets(org)
    assert ticket.subject == "Re: Old thing" and ticket.messages.get().body == "Hello?"


def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(org, admin, support, imap_account):
    deliver_and_sync(imap_account, support, customer_mail(subject="Help", message_id="<c1@client.example>"))
    (old,) = tickets(org)
    ticket_set_status(actor=admin, ticket=old, status=TicketStatus.CLOSED)

    deliver_and_sync(
        imap_account, support, customer_mail(subject=f"Re: Help [#{old.number}]", in_reply_to="<c1@client.example>")
    )

    old_again, follow_up = tickets(org)
    assert old_again.status == TicketStatus.CLOSED and old_again.messages.count() == 1
    assert follow_up.status == TicketStatus.NEW and follow_up.subject == "Re: Help"
    link = TicketLink.objects.get()
    assert (link.ticket_id, link.other_id, link.kind) == (follow_up.pk, old.pk, LinkKind.FOLLOW_UP)


def _with_headers(headers: dict[str, str], *, sender: str = "Jane Client <jane@client.example>") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = "Out of office"
    message["Message-ID"] = f"<auto-{abs(hash((sender, *headers.items())))}@client.example>"
    for name, value in headers.items():
        message[name] = value
    message.set_content("I am away until Monday.")
    return message.as_bytes()


def _bounce() -> bytes:
    return (
        b"From: Mail Delivery System <postmaster@mx.client.example>\r\n"
        b"To: " + SUPPORT.encode() + b"\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce-1@mx.client.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.client.example\r\n\r\n"
        b"--b1--\r\n"
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_with_headers({"Auto-Submitted": "auto-replied"}), "auto_reply: Auto-Submitted auto-replied"),
        (_with_headers({"Auto-Submitted": "auto-generated"}), "auto_reply: Auto-Submitted auto-generated"),
        (_with_headers({"Precedence": "bulk"}), "auto_reply: Precedence bulk"),
        (_with_headers({"Precedence": "list"}), "auto_reply: Precedence list"),
        (_with_headers({"X-Autoreply": "yes"}), "auto_reply: X-Autoreply"),
        (_with_headers({"X-Autorespond": "Out of office"}), "auto_reply: X-Autorespond"),
        (_bounce(), "bounce: delivery report"),
        (_with_headers({}, sender="MAILER-DAEMON@mx.client.example"), "bounce: sent by mailer-daemon"),
        (_with_headers({}, sender=f"Us <{SUPPORT}>"), "own_address: sent by the support address"),
    ],
)
def test_automatic_mail_and_bounces_make_no_ticket_and_get_no_reply(org, support, imap_account, smtp, raw, reason):
    report = deliver_and_sync(imap_account, support, raw)

    assert tickets(org) == [] and TicketMessage.objects.count() == 0
    assert report.skipped == 1 and MailboxMessage.objects.get().skipped == reason
    assert smtp.messages == []


def test_auto_submitted_no_is_a_person_writing(org, support, imap_account):
    deliver_and_sync(imap_account, support, _with_headers({"Auto-Submitted": "no"}))

    assert len(tickets(org)) == 1


def test_an_automatic_reply_to_an_existing_ticket_is_not_added_to_it(org, support, imap_account):
    deliver_and_sync(imap_account, support, customer_mail(subject="Help", message_id="<h1@client.example>"))
    (ticket,) = tickets(org)
    raw = _with_headers({"Auto-Submitted": "auto-replied", "In-Reply-To": "<h1@client.example>"})

    deliver_and_sync(imap_account, support, raw)

    assert ticket.messages.count() == 1


def test_malformed_mail_is_skipped_with_a_reason_and_the_sync_goes_on(org, support, imap_account):
    imap_account.deliver(b"Subject: no sender at all\r\n\r\nhello\r\n")
    report = deliver_and_sync(imap_account, support, customer_mail(subject="Fine"))

    assert report.handled == 1 and report.skipped == 1
    assert _first_skip().startswith("malformed")
    assert [t.subject for t in tickets(org)] == ["Fine"]


def test_a_flood_of_new_tickets_from_one_sender_is_cut(org, support, imap_account, monkeypatch):
    monkeypatch.setattr(email_in, "MAX_NEW_PER_SENDER", 2)

    report = deliver_and_sync(imap_account, support, *(customer_mail(subject=f"Spam {n}") for n in range(4)))

    assert len(tickets(org)) == 2 and report.skipped == 2
    assert _last_skip().startswith("flood")


def test_attachments_are_named_on_the_message(org, support, imap_account):
    raw = customer_mail(body="See the photo.", attachments=[("fire.jpg", "image/jpeg", b"\xff\xd8jpeg")])

    deliver_and_sync(imap_account, support, raw)

    (ticket,) = tickets(org)
    assert ticket.messages.get().body == "See the photo.\n\n[Attachments not imported: fire.jpg]"


def test_a_mailbox_that_is_not_a_support_mailbox_still_logs_activities(org, admin, support, imap_account):
    from rapport.integrations.tests.mailbox_support import make_contact

    support.delete()
    make_contact(admin, "jane@client.example")

    report = deliver_and_sync(imap_account, support, customer_mail())

    assert report.logged == 1 and tickets(org) == []


def test_mail_of_another_workspace_never_lands_on_this_workspaces_ticket(
    org, other_org, other_admin, support, imap_account, dovecot
):
    from rapport.integrations.tests.mailbox_support import connect_mailbox
    from rapport.service.models import SupportMailbox

    deliver_and_sync(imap_account, support, customer_mail(message_id="<a1@client.example>"))
    (acme_ticket,) = tickets(org)
    globex_account = dovecot.add_user()
    globex = SupportMailbox.objects.create(
        org=other_org,
        mailbox=connect_mailbox(None, globex_account, org=other_org),
        address="help@globex.example",
    )

    reply = customer_mail(
        to="help@globex.example", subject=f"Re: Help [#{acme_ticket.number}]", in_reply_to="<a1@client.example>"
    )
    deliver_and_sync(globex_account, globex, reply)

    assert acme_ticket.messages.count() == 1
    (globex_ticket,) = tickets(other_org)
    assert globex_ticket.subject == "Re: Help" and globex_ticket.messages.count() == 1


# --- routing of mail -----------------------------------------------------------------------------


def _queues(org):
    from rapport.service.models import Queue

    default = Queue.objects.create(org=org, name="Default", is_default=True, assignment="manual")
    mailbox_queue = Queue.objects.create(org=org, name="Mailbox queue", assignment="manual")
    billing = Queue.objects.create(org=org, name="Billing", assignment="manual")
    return default, mailbox_queue, billing


def test_a_matching_routing_rule_wins_over_the_support_mailboxs_queue(org, support, imap_account):
    from rapport.service.models import RoutingRule

    _default, mailbox_queue, billing = _queues(org)
    support.queue = mailbox_queue
    support.save()
    RoutingRule.objects.create(org=org, name="phone", position=1, queue=_default, channels=["phone"])
    RoutingRule.objects.create(org=org, name="off", position=2, queue=_default, active=False)
    RoutingRule.objects.create(org=org, name="mail", position=3, queue=billing, channels=["email"])

    deliver_and_sync(imap_account, support, customer_mail(subject="Invoice"))

    (ticket,) = tickets(org)
    assert ticket.queue_id == billing.pk


def test_without_a_matching_rule_mail_lands_in_the_mailbox_queue_else_the_default(org, support, imap_account):
    from rapport.service.models import RoutingRule

    default, mailbox_queue, billing = _queues(org)
    RoutingRule.objects.create(org=org, name="phone", position=1, queue=billing, channels=["phone"])
    support.queue = mailbox_queue
    support.save()
    deliver_and_sync(imap_account, support, customer_mail(subject="One", message_id="<q1@client.example>"))

    support.queue = None  # a support mailbox without a queue: the workspace's default queue
    support.save()
    deliver_and_sync(imap_account, support, customer_mail(subject="Two", message_id="<q2@client.example>"))

    mailbox_queue.deleted_at = mailbox_queue.created_at  # a deleted mailbox queue: the default too
    mailbox_queue.save()
    support.queue = mailbox_queue
    support.save()
    deliver_and_sync(imap_account, support, customer_mail(subject="Three", message_id="<q3@client.example>"))

    assert [(t.subject, t.queue_id) for t in tickets(org)] == [
        ("One", mailbox_queue.pk), ("Two", default.pk), ("Three", default.pk)
    ]  # fmt: skip


# --- cost per message ----------------------------------------------------------------------------


def test_one_message_costs_a_bounded_number_of_queries(
    org, admin, member_of, support, imap_account, django_assert_max_num_queries
):
    """What one sync run spends per message of a support mailbox (the run's own reads excluded):
    a new ticket from a known requester, assigned round robin in the mailbox's queue; a reply
    threading onto it; a new ticket from a stranger (who becomes a contact: about 20 of its
    statements are the contact service's). The bounds are today's counts, savepoints included
    (the first ticket also starts the workspace's number sequence): more means a look-up crept
    back in per message."""
    from django.db import transaction

    from rapport.integrations.mail_parse import parse_message
    from rapport.integrations.tests.mailbox_support import make_contact
    from rapport.service.models import Queue, QueueMember

    queue = Queue.objects.create(org=org, name="Support", is_default=True)
    for _ in range(3):
        QueueMember.objects.create(org=org, queue=queue, user=member_of("support").user)
    support.queue = queue
    support.save()
    make_contact(admin, "jane@client.example")
    handler = email_in.support_handler_for(support.mailbox)
    assert handler is not None
    handler.actor()  # read once per run, before the first message

    def handle(raw: bytes, budget: int) -> str:
        parsed = parse_message(raw)
        with django_assert_max_num_queries(budget), transaction.atomic():
            return handler(support.mailbox, parsed, raw)

    assert handle(customer_mail(subject="Help", message_id="<b1@client.example>"), 26) == ""
    reply = customer_mail(subject="Re: Help", message_id="<b2@client.example>", in_reply_to="<b1@client.example>")
    assert handle(reply, 13) == ""
    assert handle(customer_mail(sender="Bob Other <bob@other.example>", subject="Hi"), 45) == ""
    (first, second) = tickets(org)
    assert first.messages.count() == 2 and first.owner_id is not None and second.contact is not None
