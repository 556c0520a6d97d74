"""Email in at scale: a mailbox of N messages on a real Dovecot, its first sync and an incremental one.

    python bench/mailbox_bench.py [--messages 10000] [--incremental 100] [--contacts 2000] \
        [--database-url postgres://postgres@127.0.0.1:5432/rapport_mailbench] [--data-dir DIR]

Starts a throwaway Dovecot (rapport.testing.imap, Debian's dovecot-imapd), APPENDs --messages
generated messages to one user's INBOX (most from or to the workspace's contacts, some replies in
threads, some from unknown senders, a few with an attachment), connects that mailbox in a new
workspace and times: the first sync, a sync with nothing new, and an incremental sync after
--incremental new messages. SQLite in a temporary directory by default; with --database-url the
named database is dropped and recreated. Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
SEED = 42
OWNER_EMAIL = "owner@bench.example"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = [
    "quote",
    "renewal",
    "invoice",
    "meeting",
    "contract",
    "proposal",
    "delivery",
    "pricing",
    "seats",
    "discount",
    "onboarding",
    "support",
    "training",
    "schedule",
    "thanks",
    "question",
    "follow-up",
    "agenda",
    "budget",
    "timeline",
    "order",
    "shipment",
    "review",
]


def _setup(args: argparse.Namespace) -> None:
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="rapport-mailbench-")
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    os.environ["RAPPORT_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.config.settings")
    if args.database_url:
        import psycopg

        url = urlparse(args.database_url)
        name = url.path.lstrip("/") or "rapport_mailbench"
        if name in {"rapport", "test_rapport", "postgres"}:
            raise SystemExit(f"Refusing to use the database '{name}': give the benchmark its own database.")
        with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url._replace(path=f"/{name}").geturl()
    else:
        os.environ.pop("DATABASE_URL", None)
        for suffix in ("", "-wal", "-shm"):
            Path(data_dir, f"rapport.sqlite3{suffix}").unlink(missing_ok=True)
    import django

    django.setup()


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _workspace(contacts: int) -> tuple[Any, Any, list[str]]:
    """A workspace with an admin (the mailbox owner) and `contacts` contacts; their addresses."""
    from django.core.management import call_command
    from django.db import connection

    from rapport.accounts.models import Membership, Organization, User
    from rapport.contacts.models import Contact, ContactEmail
    from rapport.core.principal import Principal

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Mail bench", slug="mailbench")
    user = User.objects.create_user(email=OWNER_EMAIL, password="bench-password-1")  # noqa: S106
    membership = Membership.objects.create(org=org, user=user, role="admin")
    addresses = [f"client{i}@customer{i % 97}.example" for i in range(contacts)]
    people = Contact.objects.bulk_create(
        [
            Contact(org=org, owner=user, first_name=f"Client{i}", full_name=f"Client{i}", email=address)
            for i, address in enumerate(addresses)
        ],
        batch_size=1000,
    )
    ContactEmail.objects.bulk_create(
        [ContactEmail(org=org, contact=c, email=c.email, kind="work", is_primary=True) for c in people],
        batch_size=1000,
    )
    # Planner statistics as a live workspace has them (autovacuum on PostgreSQL, the nightly
    # refresh_statistics task on SQLite), as the other benchmarks do: the sync's plans are then
    # those of a real database, not of freshly bulk-loaded tables.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org, Principal.for_membership(membership), addresses


def _messages(rng: random.Random, count: int, start: int, addresses: list[str]) -> list[bytes]:
    """Generated mail: 75% from contacts, 10% sent to contacts, 15% from unknown senders; a third of
    the known ones reply to an earlier message, one in fifty carries a small PDF."""
    out: list[bytes] = []
    for n in range(start, start + count):
        kind = rng.random()
        message = EmailMessage()
        contact = rng.choice(addresses)
        if kind < 0.75:
            message["From"], message["To"] = f"Client <{contact}>", OWNER_EMAIL
        elif kind < 0.85:
            message["From"], message["To"] = OWNER_EMAIL, contact
        else:
            message["From"], message["To"] = f"stranger{n}@unknown.example", OWNER_EMAIL
        words = [rng.choice(WORDS) for _ in range(rng.randrange(3, 8))]
        message["Subject"] = " ".join(words).capitalize()
        message["Message-ID"] = f"<bench{n}@bench.test>"
        message["Date"] = format_datetime(EPOCH + timedelta(minutes=n))
        if n > 10 and kind < 0.85 and rng.random() < 0.33:
            parent = f"<bench{rng.randrange(max(0, n - 200), n)}@bench.test>"
            message["In-Reply-To"], message["References"] = parent, parent
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(50, 300)))
        message.set_content(f"Hello,\n\n{body}\n\nBest regards\n")
        if rng.random() < 0.02:
            message.add_attachment(b"%PDF-1.4 " + bytes(rng.randrange(256) for _ in range(2048)), "application", "pdf",
                                   filename=f"doc{n}.pdf")  # fmt: skip
        out.append(message.as_bytes())
    return out


def _timed(label: str, func: Any) -> tuple[float, Any]:
    """(seconds, (result, number of SQL statements)) of one call."""
    from django.db import connection

    count = 0

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - started
    _log(f"{label}: {elapsed:.1f}s, {count} queries")
    return elapsed, (result, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--incremental", type=int, default=100)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    _setup(args)

    from django.db import connection

    from rapport.core import crypto
    from rapport.integrations.mail_sync import mailbox_sync
    from rapport.integrations.models import Mailbox, MailboxMessage, Security
    from rapport.testing.imap import Dovecot

    rng = random.Random(SEED)
    _log(f"migrating and seeding {args.contacts} contacts ({connection.vendor})")
    org, principal, addresses = _workspace(args.contacts)
    server = Dovecot()
    server.start()
    try:
        account = server.add_user()
        _log(f"delivering {args.messages} messages over IMAP APPEND")
        started = time.perf_counter()
        account.deliver_many(_messages(rng, args.messages, 0, addresses))
        delivering = time.perf_counter() - started
        mailbox = Mailbox.objects.create(
            org=org,
            user=principal.user,
            created_by=principal.user,
            host=account.host,
            port=account.port,
            security=Security.NONE,
            username=account.username,
            password_secret=crypto.encrypt(account.password),
        )
        first_s, (first, first_q) = _timed("first sync", lambda: mailbox_sync(mailbox_id=mailbox.pk))
        idle_s, (_idle, idle_q) = _timed("sync with nothing new", lambda: mailbox_sync(mailbox_id=mailbox.pk))
        account.deliver_many(_messages(rng, args.incremental, args.messages, addresses))
        inc_s, (inc, inc_q) = _timed("incremental sync", lambda: mailbox_sync(mailbox_id=mailbox.pk))
    finally:
        server.stop()
    mailbox.refresh_from_db()
    if first is None or inc is None:
        raise SystemExit(f"The sync failed: {mailbox.last_error}")
    figures = {
        "vendor": connection.vendor,
        "messages": args.messages,
        "contacts": args.contacts,
        "deliver_s": round(delivering, 1),
        "first_sync": {
            "seconds": round(first_s, 1),
            "messages_per_s": round(args.messages / first_s),
            "logged": first.logged,
            "linked": first.linked,
            "skipped": first.skipped,
            "queries": first_q,
        },
        "idle_sync": {"seconds": round(idle_s, 3), "queries": idle_q},
        "incremental_sync": {
            "new_messages": args.incremental,
            "seconds": round(inc_s, 2),
            "logged": inc.logged,
            "skipped": inc.skipped,
            "queries": inc_q,
        },
        "recorded_messages": MailboxMessage.objects.filter(folder__mailbox=mailbox).count(),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
