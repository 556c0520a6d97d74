"""Email in when things go wrong: errors shown on the mailbox, backoff, and other mailboxes unharmed."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.activities.models import Activity
from rapport.core import crypto
from rapport.integrations.mail_sync import backoff, mailbox_sync
from rapport.integrations.models import Mailbox, Security
from rapport.integrations.sync_tasks import enqueue_mailbox_syncs
from rapport.integrations.tests.mailbox_support import closed_port, connect_mailbox, make_contact, make_message


def assert_failed_once(mailbox: Mailbox, fragment: str) -> None:
    mailbox.refresh_from_db()
    assert fragment in mailbox.last_error
    assert mailbox.failures == 1
    assert mailbox.last_success_at is None
    expected = timezone.now() + timedelta(minutes=1)
    assert mailbox.next_attempt_at is not None
    assert expected - timedelta(seconds=30) < mailbox.next_attempt_at <= expected


def test_a_wrong_password_is_shown_and_retried_later_while_other_mailboxes_sync(org, admin, dovecot):
    make_contact(admin, "jane@client.example")
    good_account, bad_account = dovecot.add_user(), dovecot.add_user()
    good_account.deliver(make_message())
    # `bad` comes first in the queue: its failure must not keep `good` from syncing.
    bad = connect_mailbox(admin, bad_account, password_secret=crypto.encrypt("not-the-password-123"))
    good = connect_mailbox(admin, good_account)

    enqueue_mailbox_syncs()

    assert_failed_once(bad, "refused the login")
    assert "not-the-password-123" not in bad.last_error
    good.refresh_from_db()
    assert good.last_error == "" and good.last_success_at is not None
    assert Activity.objects.filter(org=org, kind="email").count() == 1


def test_an_unreachable_server_is_an_error_on_the_mailbox(admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account, port=closed_port())

    assert mailbox_sync(mailbox_id=mailbox.pk) is None

    assert_failed_once(mailbox, "refused the connection")


def test_a_server_that_never_answers_times_out(admin, imap_account, settings):
    settings.MAILBOX_TIMEOUT_SECONDS = 0.5
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        mailbox = connect_mailbox(admin, imap_account, port=silent.getsockname()[1])

        mailbox_sync(mailbox_id=mailbox.pk)

    assert_failed_once(mailbox, "did not answer within 0.5 seconds")


def test_tls_to_a_plain_server_is_a_clear_error(admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account, security=Security.SSL)

    mailbox_sync(mailbox_id=mailbox.pk)

    assert_failed_once(mailbox, "TLS connection")


def test_a_missing_folder_is_an_error_but_the_other_folders_sync(org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox = connect_mailbox(admin, imap_account, folders=["INBOX", "No such folder"])

    mailbox_sync(mailbox_id=mailbox.pk)

    assert_failed_once(mailbox, "“No such folder”")
    assert Activity.objects.filter(org=org, kind="email").count() == 1


def test_failures_back_off_exponentially_and_a_success_resets_them(admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account, port=closed_port())
    mailbox_sync(mailbox_id=mailbox.pk)
    mailbox_sync(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert mailbox.failures == 2
    assert mailbox.next_attempt_at is not None
    assert mailbox.next_attempt_at > timezone.now() + timedelta(seconds=90)

    Mailbox.objects.filter(pk=mailbox.pk).update(port=imap_account.port)
    mailbox_sync(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert (mailbox.failures, mailbox.last_error) == (0, "")
    assert mailbox.last_success_at is not None


@pytest.mark.parametrize(("failures", "minutes"), [(1, 1), (2, 2), (3, 4), (6, 32), (9, 256), (10, 360), (500, 360)])
def test_backoff_doubles_up_to_six_hours(failures, minutes):
    assert backoff(failures) == timedelta(minutes=minutes)


def test_only_enabled_mailboxes_that_are_due_are_synced(admin, dovecot):
    later = connect_mailbox(admin, dovecot.add_user(), next_attempt_at=timezone.now() + timedelta(minutes=3))
    off = connect_mailbox(admin, dovecot.add_user(), enabled=False)
    due = connect_mailbox(admin, dovecot.add_user(), next_attempt_at=timezone.now() - timedelta(seconds=1))

    enqueue_mailbox_syncs()

    for mailbox in (later, off, due):
        mailbox.refresh_from_db()
    assert due.last_attempt_at is not None
    assert later.last_attempt_at is None and off.last_attempt_at is None


def test_an_unreadable_stored_password_asks_for_it_again(admin, imap_account):
    other_key = Fernet(Fernet.generate_key())
    mailbox = connect_mailbox(admin, imap_account, password_secret=other_key.encrypt(b"pw").decode())

    mailbox_sync(mailbox_id=mailbox.pk)

    assert_failed_once(mailbox, "enter it again")


def test_a_mailbox_of_someone_who_left_is_not_synced(admin, member_of, imap_account):
    leaver = member_of("sales")
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox = connect_mailbox(leaver, imap_account)
    Membership.objects.filter(pk=leaver.membership_id).update(is_active=False)

    mailbox_sync(mailbox_id=mailbox.pk)

    assert_failed_once(mailbox, "no longer a member")
    assert not Activity.objects.filter(kind="email").exists()
