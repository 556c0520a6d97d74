"""Email-to-ticket throughput: a support mailbox of N messages on a real Dovecot, synced into tickets.

    python bench/service_mail_bench.py [--messages 2000] [--incremental 100] \
        [--database-url postgres://postgres@127.0.0.1:5432/rapport_servicemailbench] [--data-dir DIR]

Starts a throwaway Dovecot (rapport.testing.imap), APPENDs --messages generated messages to a
support mailbox's INBOX (70% new requests from many customers, 25% replies threading onto an
earlier request by In-Reply-To, 5% auto-replies that must be skipped), marks the mailbox as the
support mailbox of a new workspace with a queue of five agents (round robin) and times the first
sync (every message: loop check, threading, ticket or customer message, routing, assignment, SLA,
search index), a sync with nothing new and an incremental sync of --incremental more. SQLite in a
temporary directory by default; with --database-url the named database is dropped and recreated.
Prints one JSON object (messages/s); progress goes to stderr. Setup and timing are the mail sync
benchmark's (bench/mailbox_bench.py).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.mailbox_bench import _log, _setup, _timed

SEED = 42
SUPPORT = "support@bench.example"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TOPICS = ["login", "invoice", "export", "printer", "password", "upgrade", "refund", "shipping", "api", "sync"]


def _messages(rng: random.Random, count: int, start: int, customers: int) -> list[bytes]:
    out: list[bytes] = []
    for n in range(start, start + count):
        message = EmailMessage()
        sender = f"customer{rng.randrange(customers)}@client{n % 53}.example"
        message["From"] = f"Customer {n} <{sender}>"
        message["To"] = SUPPORT
        message["Date"] = format_datetime(EPOCH + timedelta(minutes=n))
        message["Message-ID"] = f"<m{n}@client.example>"
        roll = rng.random()
        topic = rng.choice(TOPICS)
        if roll < 0.05:
            message["Subject"] = "Automatic reply: out of office"
            message["Auto-Submitted"] = "auto-replied"
        elif roll < 0.30 and n > start + 10:
            earlier = rng.randrange(start, n)
            message["Subject"] = f"Re: Problem with {topic}"
            message["In-Reply-To"] = f"<m{earlier}@client.example>"
            message["References"] = f"<m{earlier}@client.example>"
        else:
            message["Subject"] = f"Problem with {topic} #{n}"
        message.set_content(f"Hello,\n\nI have a problem with the {topic}. Request {n}.\n\nThanks")
        out.append(message.as_bytes())
    return out


def _workspace() -> tuple[Any, Any]:
    from django.core.management import call_command

    from rapport.accounts.models import Membership, Organization, User
    from rapport.service.models import Queue, QueueMember

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Service mail bench", slug="servicemailbench")
    admin = User.objects.create_user(email="admin@bench.example", password="bench-password-1")  # noqa: S106
    Membership.objects.create(org=org, user=admin, role="admin")
    queue = Queue.objects.create(org=org, name="Support", is_default=True)
    for n in range(5):
        agent = User.objects.create_user(email=f"agent{n}@bench.example", password="bench-password-1")  # noqa: S106
        Membership.objects.create(org=org, user=agent, role="support")
        QueueMember.objects.create(org=org, queue=queue, user=agent)
    return org, queue


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--incremental", type=int, default=100)
    parser.add_argument("--customers", type=int, default=1_500)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    if args.database_url and "/" not in args.database_url.rsplit(":", 1)[-1]:
        raise SystemExit("Give the database a name of its own in --database-url.")
    _setup(args)

    from django.db import connection

    from rapport.core import crypto
    from rapport.integrations.mail_sync import mailbox_sync
    from rapport.integrations.models import Mailbox, Security
    from rapport.service.models import SupportMailbox, Ticket, TicketMessage
    from rapport.testing.imap import Dovecot

    rng = random.Random(SEED)
    _log(f"migrating ({connection.vendor})")
    org, queue = _workspace()
    server = Dovecot()
    server.start()
    try:
        account = server.add_user()
        _log(f"delivering {args.messages} messages over IMAP APPEND")
        started = time.perf_counter()
        account.deliver_many(_messages(rng, args.messages, 0, args.customers))
        delivering = time.perf_counter() - started
        mailbox = Mailbox.objects.create(
            org=org,
            host=account.host,
            port=account.port,
            security=Security.NONE,
            username=account.username,
            password_secret=crypto.encrypt(account.password),
        )
        SupportMailbox.objects.create(org=org, mailbox=mailbox, address=SUPPORT, queue=queue)
        first_s, (first, first_q) = _timed("first sync", lambda: mailbox_sync(mailbox_id=mailbox.pk))
        idle_s, (_idle, idle_q) = _timed("sync with nothing new", lambda: mailbox_sync(mailbox_id=mailbox.pk))
        account.deliver_many(_messages(rng, args.incremental, args.messages, args.customers))
        inc_s, (inc, _inc_q) = _timed("incremental sync", lambda: mailbox_sync(mailbox_id=mailbox.pk))
    finally:
        server.stop()
    mailbox.refresh_from_db()
    if first is None or inc is None:
        raise SystemExit(f"The sync failed: {mailbox.last_error}")
    figures = {
        "vendor": connection.vendor,
        "messages": args.messages,
        "deliver_s": round(delivering, 1),
        "first_sync": {
            "seconds": round(first_s, 1),
            "messages_per_s": round(args.messages / first_s, 1),
            "handled": first.handled,
            "skipped": first.skipped,
            "queries_per_message": round(first_q / max(args.messages, 1), 1),
        },
        "idle_sync": {"seconds": round(idle_s, 2), "queries": idle_q},
        "incremental_sync": {
            "messages": args.incremental,
            "seconds": round(inc_s, 2),
            "messages_per_s": round(args.incremental / inc_s, 1),
            "handled": inc.handled,
            "skipped": inc.skipped,
        },
        "tickets": Ticket.objects.filter(org=org).count(),
        "customer_messages": TicketMessage.objects.filter(org=org).count(),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
