"""Email in against a real IMAP server (Dovecot): what a sync logs, and that it logs it once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities.models import Activity, Attachment
from rapport.contacts.models import Contact, ContactEmail
from rapport.integrations.mail_sync import mailbox_sync
from rapport.integrations.models import MailboxFolder, MailboxMessage
from rapport.integrations.tests.mailbox_support import connect_mailbox, make_contact, make_message
from rapport.testing.factories import make_principal


def emails(org):
    return Activity.objects.filter(org=org, kind="email").order_by("occurred_at", "pk")


def test_first_sync_logs_matching_mail_as_private_email_activities(org, member_of, imap_account):
    owner = member_of(Role.SALES)
    jane = make_contact(owner, "jane@client.example")
    imap_account.deliver(
        make_message(
            sender="Jane Client <Jane@Client.example>",
            to=owner.user.email,
            subject="Quote request",
            body="Could you send a quote for 20 seats?",
            message_id="<q1@client.example>",
        )
    )
    imap_account.deliver(make_message(sender="stranger@nowhere.example", to=owner.user.email))
    mailbox = connect_mailbox(owner, imap_account)

    report = mailbox_sync(mailbox_id=mailbox.pk)

    assert report is not None and (report.logged, report.skipped) == (1, 1)
    (activity,) = emails(org)
    assert activity.direction == "inbound"
    assert activity.subject == "Quote request"
    assert activity.body == "Could you send a quote for 20 seats?"
    assert activity.message_id == activity.thread_key == "<q1@client.example>"
    assert activity.email_from == "jane@client.example"
    assert activity.email_to == [owner.user.email]
    assert activity.private is True and activity.owner_id == owner.user_id
    assert list(activity.contact_links.values_list("contact_id", flat=True)) == [jane.pk]
    skipped = MailboxMessage.objects.get(activity__isnull=True)
    assert skipped.skipped == "no_contact"
    mailbox.refresh_from_db()
    assert mailbox.failures == 0 and mailbox.last_error == "" and mailbox.last_success_at is not None
    assert mailbox.next_attempt_at is not None
    assert mailbox.next_attempt_at > timezone.now() + timedelta(minutes=4)


def test_syncing_twice_logs_each_message_once(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    for n in range(3):
        imap_account.deliver(make_message(subject=f"Message {n}"))
    mailbox = connect_mailbox(admin, imap_account)

    mailbox_sync(mailbox_id=mailbox.pk)
    second = mailbox_sync(mailbox_id=mailbox.pk)

    assert emails(org).count() == 3
    assert second is not None and (second.logged, second.linked, second.skipped) == (0, 0, 0)
    assert MailboxMessage.objects.count() == 3


def test_new_messages_after_a_sync_are_fetched_incrementally(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message(subject="First"))
    mailbox = connect_mailbox(admin, imap_account)
    mailbox_sync(mailbox_id=mailbox.pk)
    folder = MailboxFolder.objects.get(mailbox=mailbox, name="INBOX")
    assert folder.last_uid == 1

    imap_account.deliver(make_message(subject="Second"))
    imap_account.deliver(make_message(subject="Third"))
    report = mailbox_sync(mailbox_id=mailbox.pk)

    assert report is not None and report.logged == 2
    assert list(emails(org).values_list("subject", flat=True)) == ["First", "Second", "Third"]
    folder.refresh_from_db()
    assert folder.last_uid == 3


def test_a_changed_uidvalidity_starts_over_without_logging_twice(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    messages = [make_message(subject=f"Archived {n}", message_id=f"<a{n}@client.example>") for n in range(2)]
    imap_account.deliver_many(messages, folder="Archive")
    mailbox = connect_mailbox(admin, imap_account, folders=["Archive"])
    mailbox_sync(mailbox_id=mailbox.pk)
    before = MailboxFolder.objects.get(mailbox=mailbox).uidvalidity

    # The folder is deleted and made again: same messages, new UIDVALIDITY, UIDs from 1 again.
    imap_account.recreate_folder("Archive")
    imap_account.deliver_many([*messages, make_message(subject="New one")], folder="Archive")
    report = mailbox_sync(mailbox_id=mailbox.pk)

    folder = MailboxFolder.objects.get(mailbox=mailbox)
    assert folder.uidvalidity != before and folder.last_uid == 3
    assert report is not None and (report.logged, report.linked) == (1, 2)
    assert sorted(emails(org).values_list("subject", flat=True)) == ["Archived 0", "Archived 1", "New one"]


def test_unknown_senders_are_skipped_unless_the_mailbox_creates_contacts(org, admin, member_of, imap_account):
    colleague = member_of(Role.SALES)
    imap_account.deliver(make_message(sender="Nina Newman <nina@new.example>", to=admin.user.email))
    imap_account.deliver(make_message(sender=colleague.user.email, to=admin.user.email, subject="Internal"))
    mailbox = connect_mailbox(admin, imap_account, create_unknown_contacts=True)

    report = mailbox_sync(mailbox_id=mailbox.pk)

    assert report is not None and (report.logged, report.skipped) == (1, 1)
    nina = Contact.objects.get(org=org, email="nina@new.example")
    assert (nina.first_name, nina.last_name) == ("Nina", "Newman")
    # No contact for members' own addresses.
    assert not ContactEmail.objects.filter(email__in=[colleague.user.email, admin.user.email]).exists()
    (activity,) = emails(org)
    assert list(activity.contact_links.values_list("contact_id", flat=True)) == [nina.pk]


def test_without_the_option_no_contact_is_created(org, admin, imap_account):
    imap_account.deliver(make_message(sender="nina@new.example"))
    mailbox = connect_mailbox(admin, imap_account)

    mailbox_sync(mailbox_id=mailbox.pk)

    assert not Contact.objects.filter(org=org).exists()
    assert not emails(org).exists()
    assert MailboxMessage.objects.get().skipped == "no_contact"


def test_mail_sent_by_the_owner_is_outbound_and_matched_by_recipient(org, admin, imap_account):
    jane = make_contact(admin, "jane@client.example")
    imap_account.deliver(
        make_message(sender=admin.user.email, to="Jane <jane@client.example>", cc="ops@elsewhere.example"),
        folder="Sent",
    )
    mailbox = connect_mailbox(admin, imap_account, folders=["Sent"])

    mailbox_sync(mailbox_id=mailbox.pk)

    (activity,) = emails(org)
    assert activity.direction == "outbound"
    assert activity.email_cc == ["ops@elsewhere.example"]
    assert list(activity.contact_links.values_list("contact_id", flat=True)) == [jane.pk]


def test_a_reply_threads_with_the_original(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message(message_id="<orig@client.example>", subject="Quote"))
    imap_account.deliver(
        make_message(
            message_id="<reply@client.example>",
            subject="Re: Quote",
            in_reply_to="<orig@client.example>",
            references="<orig@client.example>",
        )
    )
    mailbox = connect_mailbox(admin, imap_account)

    mailbox_sync(mailbox_id=mailbox.pk)

    reply = Activity.objects.get(message_id="<reply@client.example>")
    assert reply.in_reply_to == "<orig@client.example>"
    assert reply.thread_key == "<orig@client.example>"
    assert Activity.objects.get(message_id="<orig@client.example>").thread_key == "<orig@client.example>"


def test_a_malformed_message_is_skipped_and_the_rest_synced(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message(subject="Before"))
    imap_account.deliver(b"this is not an email at all\r\n\r\n\x00\xff")
    imap_account.deliver(make_message(subject="After"))
    mailbox = connect_mailbox(admin, imap_account)

    report = mailbox_sync(mailbox_id=mailbox.pk)

    assert report is not None and (report.logged, report.skipped) == (2, 1)
    assert list(emails(org).values_list("subject", flat=True)) == ["Before", "After"]
    assert MailboxMessage.objects.get(uid=2).skipped.startswith("malformed")
    mailbox.refresh_from_db()
    assert mailbox.last_error == "" and mailbox.failures == 0


def test_a_message_over_the_size_cap_is_skipped(org, admin, imap_account, settings):
    settings.MAILBOX_MESSAGE_MAX_BYTES = 5000
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message(subject="Huge", body="x" * 10000))
    imap_account.deliver(make_message(subject="Small"))
    mailbox = connect_mailbox(admin, imap_account)

    mailbox_sync(mailbox_id=mailbox.pk)

    assert list(emails(org).values_list("subject", flat=True)) == ["Small"]
    assert MailboxMessage.objects.get(uid=1).skipped == "too_large"


def test_header_line_breaks_are_removed_and_html_becomes_text(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    raw = (
        b"From: jane@client.example\r\nTo: owner@acme.example\r\n"
        b"Subject: =?utf-8?q?Line_one=0D=0ABcc:_evil@x.example?=\r\nMessage-ID: <h1@client.example>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Hello &amp; welcome</p><script>alert(1)</script><p>Second<br>line</p>\r\n"
    )
    imap_account.deliver(raw)
    mailbox = connect_mailbox(admin, imap_account)

    mailbox_sync(mailbox_id=mailbox.pk)

    (activity,) = emails(org)
    assert activity.subject == "Line one Bcc: evil@x.example"
    assert activity.body == "Hello & welcome\nSecond\nline"


def test_attachments_are_stored_with_the_activity(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message(attachments=[("quote.pdf", "application/pdf", b"%PDF-1.4 quote")]))
    mailbox = connect_mailbox(admin, imap_account)

    mailbox_sync(mailbox_id=mailbox.pk)

    (attachment,) = Attachment.objects.filter(activity__in=emails(org))
    assert (attachment.filename, attachment.content_type, attachment.size) == ("quote.pdf", "application/pdf", 14)
    with attachment.file.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4 quote"


def test_mail_of_a_shared_mailbox_is_not_private(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox = connect_mailbox(None, imap_account, org=org)

    mailbox_sync(mailbox_id=mailbox.pk)

    (activity,) = emails(org)
    assert activity.private is False and activity.owner_id == admin.user_id


def test_a_personal_mailbox_that_shares_its_mail_logs_it_for_everyone(org, member_of, imap_account):
    owner = member_of(Role.SALES)
    make_contact(owner, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox = connect_mailbox(owner, imap_account, share_synced=True)

    mailbox_sync(mailbox_id=mailbox.pk)

    assert emails(org).get().private is False


def test_the_sync_does_not_mark_mail_as_read(admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox_sync(mailbox_id=connect_mailbox(admin, imap_account).pk)

    conn = imap_account.connect()
    try:
        conn.select("INBOX", readonly=True)
        _status, data = conn.uid("SEARCH", "UNSEEN")
    finally:
        conn.logout()
    assert data[0].split() == [b"1"]


def test_mail_from_a_member_on_a_reserved_domain_is_still_recognised_as_sent(org, member_of, imap_account):
    owner = make_principal(org, Role.SALES, email="me@intranet.test")
    jane = make_contact(owner, "jane@client.example")
    imap_account.deliver(make_message(sender="Me <me@intranet.test>", to="jane@client.example"))
    mailbox = connect_mailbox(owner, imap_account)

    mailbox_sync(mailbox_id=mailbox.pk)

    (activity,) = emails(org)
    assert activity.direction == "outbound" and activity.email_from == "me@intranet.test"
    assert list(activity.contact_links.values_list("contact_id", flat=True)) == [jane.pk]
