"""The SLA breach scan over many open tickets: `--tickets` open tickets (100,000 by default).

    python bench/service_sla_bench.py [--tickets 100000] [--minutes 10]
        [--database-url postgres://…/rapport_sla_bench] [--data-dir DIR]

Seeds one workspace with a business calendar (Europe/Paris, 09:00-17:00 on weekdays), four queues
of 25 agents, four SLA policies by priority (the urgent one raises the priority and escalates to
another queue) and `--tickets` unsolved tickets created over the last 20 days: most already have a
first reply, some wait for a next response, some are pending (paused). Their due times are
computed with the business-hours arithmetic and their `sla_check_at` is what a scan that has been
running every minute leaves (the next check moment after the start, a Tuesday morning in office
hours), so the figures are those of a steady state. Then times `sla_scan`:

* every minute for `--minutes` minutes (the periodic task's normal load): p50/p95 ms and tickets
  checked per run;
* after the worker was down for an hour, and for a day (a backlog of warnings, breaches,
  notifications and escalations): tickets checked, rows recorded, seconds, tickets per second;
* once more right after (nothing due: the cost of the index lookup alone).

SQLite in a temporary directory by default, PostgreSQL with --database-url (that database is
dropped and recreated). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contacts_bench import _log, _prewarm, _setup, _stats

SEED = 6
BATCH = 5000
AGENTS_PER_QUEUE = 25
# priority → (first response, next response, resolution) in business minutes, and its weight.
TARGETS = {
    "urgent": ((60, 120, 480), 5),
    "high": ((240, 480, 1440), 15),
    "normal": ((480, 960, 4800), 60),
    "low": ((1440, 2880, 9600), 20),
}


def _seed(tickets: int) -> tuple[Any, Any]:
    """(workspace, the moment the seeded state is current at) with `tickets` unsolved tickets."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from rapport.accounts.models import Membership, Organization, User
    from rapport.core.bulk import insert_rows
    from rapport.service.business_hours import add_business_time
    from rapport.service.models import BusinessCalendar, Queue, QueueMember, SlaPolicy, Ticket
    from rapport.service.sla import calendar_for, next_check

    _log(f"migrating ({connection.vendor})")
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="SLA bench", slug="sla-bench")
    admin = User.objects.create_user(email="admin@sla.test", password="bench-password-1")  # noqa: S106
    Membership.objects.create(org=org, user=admin, role="admin")
    BusinessCalendar.objects.create(
        org=org, time_zone="Europe/Paris", hours={str(wd): [["09:00", "17:00"]] for wd in range(5)}
    )
    cal = calendar_for(org.pk)
    queues = []
    for n, name in enumerate(("General", "Billing", "Technical", "Escalations")):
        users = [
            User.objects.create_user(email=f"agent{n}-{i}@sla.test", password="bench-password-1")  # noqa: S106
            for i in range(AGENTS_PER_QUEUE)
        ]
        Membership.objects.bulk_create(Membership(org=org, user=u, role="support") for u in users)
        queue = Queue.objects.create(org=org, name=name, manager=users[0], is_default=n == 0)
        QueueMember.objects.bulk_create(QueueMember(org=org, queue=queue, user=u) for u in users)
        queues.append((queue, [u.pk for u in users]))
    escalations = queues[3][0]
    policies = {
        priority: SlaPolicy.objects.create(
            org=org,
            name=f"{priority.title()} tickets",
            position=i,
            priorities=[priority],
            first_response_minutes=first,
            next_response_minutes=nxt,
            resolution_minutes=resolution,
            warn_before_minutes=30,
            raise_priority=priority == "urgent",
            escalate_to_queue=escalations if priority == "urgent" else None,
        )
        for i, (priority, ((first, nxt, resolution), _)) in enumerate(TARGETS.items())
    }
    rng = random.Random(SEED)
    # A Tuesday 09:30 UTC (10:30 or 11:30 in Paris) of last week: the desk is open, so the figures do
    # not depend on the hour the benchmark runs at.
    today = timezone.now().replace(hour=9, minute=30, second=0, microsecond=0)
    now = today - timedelta(days=(today.weekday() - 1) % 7 + 7)
    at = connection.ops.adapt_datetimefield_value
    names: tuple[str, ...] = (
        "org",
        "created_at",
        "updated_at",
        "version",
        "owner",
        "number",
        "subject",
        "status",
        "priority",
    )
    names += ("queue", "tags", "custom", "sla_policy", "first_response_due_at", "first_responded_at")
    names += ("next_response_due_at", "resolution_due_at", "sla_paused_at", "sla_check_at")
    names += ("last_customer_message_at", "last_agent_reply_at", "channel", "type", "description")
    names += ("requester_email", "external_id")
    priorities = list(TARGETS)
    weights = [w for _, w in TARGETS.values()]
    _log(f"seeding {tickets} open tickets")
    for start in range(0, tickets, BATCH):
        rows = []
        for n in range(start, min(tickets, start + BATCH)):
            priority = rng.choices(priorities, weights)[0]
            policy = policies[priority]
            queue, agents = queues[rng.randrange(3)]
            created = now - timedelta(minutes=rng.randrange(20 * 24 * 60))
            t = Ticket(org=org, created_at=created, priority=priority, sla_policy=policy, status="open")
            first = timedelta(minutes=policy.first_response_minutes or 0)
            t.resolution_due_at = add_business_time(cal, created, timedelta(minutes=policy.resolution_minutes or 0))
            if rng.random() < 0.7:  # answered; a third of those wait for the next response
                t.first_responded_at = created + (now - created) * rng.random() * 0.5
                t.last_agent_reply_at = t.first_responded_at
                if rng.random() < 0.33:
                    t.last_customer_message_at = t.first_responded_at + (now - t.first_responded_at) * rng.random()
                    nxt = timedelta(minutes=policy.next_response_minutes or 0)
                    t.next_response_due_at = add_business_time(cal, t.last_customer_message_at, nxt)
            else:
                t.first_response_due_at = add_business_time(cal, created, first)
            if rng.random() < 0.08:
                t.status = "pending"
                t.sla_paused_at = now - timedelta(minutes=rng.randrange(60 * 24))
            t.sla_check_at = next_check(t, policy, after=now)
            rows.append(
                (org.pk, at(created), at(created), 1, rng.choice(agents), n + 1, f"Ticket {n + 1}", t.status,
                 priority, queue.pk, "[]", "{}", policy.pk, at(t.first_response_due_at), at(t.first_responded_at),
                 at(t.next_response_due_at), at(t.resolution_due_at), at(t.sla_paused_at), at(t.sla_check_at),
                 at(t.last_customer_message_at), at(t.last_agent_reply_at), "email", "question", "", "", "")
            )  # fmt: skip
        insert_rows(Ticket, names, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org, now


def _scan(now: Any) -> dict[str, Any]:
    from rapport.service.sla_scan import sla_scan

    report = sla_scan(now=now).as_dict()
    report["tickets_per_s"] = round(report["checked"] / report["seconds"], 1) if report["seconds"] else None
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    args.reuse = False  # always a fresh database (see _setup)
    _setup(args)
    from django.db import connection

    from rapport.service.models import Ticket

    started = time.perf_counter()
    _org, now = _seed(args.tickets)
    seeding = time.perf_counter() - started
    _prewarm(os.environ["RAPPORT_DATA_DIR"])
    minute = timedelta(minutes=1)
    timings, checked = [], []
    for i in range(1, args.minutes + 1):
        t0 = time.perf_counter()
        report = _scan(now + i * minute)
        timings.append((time.perf_counter() - t0) * 1000)
        checked.append(report["checked"])
    every_minute = {**_stats(timings), "tickets_checked_per_run": round(sum(checked) / max(1, len(checked)), 1)}
    _log(f"every minute: {every_minute}")
    hour_later = now + args.minutes * minute + timedelta(hours=1)
    after_hour = _scan(hour_later)
    _log(f"after an hour's outage: {after_hour}")
    after_day = _scan(hour_later + timedelta(days=1))
    _log(f"after a day's outage: {after_day}")
    t0 = time.perf_counter()
    idle = _scan(hour_later + timedelta(days=1))
    idle_ms = round((time.perf_counter() - t0) * 1000, 2)
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "open_tickets": Ticket.objects.exclude(status__in=["solved", "closed"]).count(),
                "seeding_s": round(seeding, 1),
                "every_minute": every_minute,
                "after_1h_outage": after_hour,
                "after_1d_outage": after_day,
                "nothing_due_ms": idle_ms,
                "nothing_due_checked": idle["checked"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
