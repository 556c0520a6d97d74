"""A busy contact's timeline: one contact with 5,000 activities among 200,000, first page in ≤ 100 ms.

    python bench/timeline_bench.py [--activities 200000] [--contact-activities 5000] \
        [--contacts 20000] [--database-url postgres://postgres@127.0.0.1:5432/rapport_timeline_bench] \
        [--data-dir DIR] [--queries 100] [--reuse] [--explain]

Seeds one workspace: `--contacts` contacts, `--activities` activities (calls, emails, meetings,
notes; one in ten private, as synced mailboxes leave them) with their participant links, of which
`--contact-activities` are the busy contact's. Then times, over `--queries` runs after 3 warm-up
runs, what the contact page shows: the timeline registry's first page (the call the page makes),
the activity source alone, an older page deep in the history, the same as a sales member (team
scope and privacy apply), and the contact page and its timeline fragment through the Django test
client. SQLite in a temporary directory by default, PostgreSQL with --database-url (that database
is dropped and recreated unless --reuse). Prints one JSON object: sizes, vendor, seeding time,
p50/p95 (ms) per case and whether each meets its target. Progress (and plans) go to stderr.
"""

from __future__ import annotations

import argparse
import gc
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

from contacts_bench import Inserter, _explain, _log, _prewarm, _setup, _stats

BATCH = 5000
SEED = 7
ORG_SLUG = "timeline-bench"
YEARS = 3
TARGETS_MS = {"timeline": 100.0}
KINDS = {"call": 35, "email": 35, "meeting": 10, "note": 15, "sms": 5}
SUBJECTS = ["Renewal", "Pricing", "Onboarding", "Follow-up", "Quarterly review", "Support question", "Invoice"]


def _workspace(args: argparse.Namespace) -> tuple[Any, Any, Any, int, float | None]:
    """(org, admin membership, sales membership, busy contact id, seeding seconds or None when reused)."""
    from django.core.management import call_command
    from django.db import connection

    from rapport.accounts.models import Membership, Organization, Team, User
    from rapport.contacts.models import Contact

    _log(f"migrating ({connection.vendor})")
    call_command("migrate", verbosity=0)
    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is not None and args.reuse:
        _log("reusing the seeded workspace")
        admin = Membership.objects.get(org=org, user__email="admin@timeline.test")
        sales = Membership.objects.get(org=org, user__email="rep0@timeline.test")
        busy = Contact.objects.get(org=org, email="busy@timeline.test").pk
        return org, admin, sales, busy, None
    if org is not None:
        raise SystemExit("The database already holds a bench workspace: use --reuse, or a fresh database.")
    org = Organization.objects.create(name="Timeline bench", slug=ORG_SLUG)
    admin_user = User.objects.create_user(email="admin@timeline.test", password="bench-password-1")  # noqa: S106
    admin = Membership.objects.create(org=org, user=admin_user, role="admin")
    teams = [Team.objects.create(org=org, name=f"Team {n}") for n in ("North", "South")]
    users = {admin_user.pk: None}
    sales = None
    for i in range(9):
        user = User.objects.create_user(email=f"rep{i}@timeline.test", name=f"Rep {i}")
        member = Membership.objects.create(org=org, user=user, role="sales")
        member.teams.add(teams[i % 2])
        users[user.pk] = teams[i % 2].pk
        sales = sales or member
    started = time.perf_counter()
    busy = _seed(args, org, users)
    _log("analyzing")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeding = time.perf_counter() - started
    _log(f"seeded in {seeding:.0f}s")
    return org, admin, sales, busy, seeding


def _seed(args: argparse.Namespace, org: Any, users: dict[int, int | None]) -> int:
    """Contacts, then activities with their participant links; the busy contact's id."""
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.activities.models import Activity, ActivityContact
    from rapport.contacts.models import Contact

    rng = random.Random(SEED)
    now = timezone.now()
    span = YEARS * 365 * 86400
    owners = list(users)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -1000000")
    db = Inserter()
    contact_ids: list[int] = []
    for start in range(0, args.contacts, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, args.contacts)):
            owner = rng.choice(owners)
            first, last = f"First{i}", f"Last{i}"
            email = "busy@timeline.test" if i == 0 else f"c{i}@timeline.test"
            rows.append(
                Contact(
                    org=org,
                    owner_id=owner,
                    team_id=users[owner],
                    first_name=first,
                    last_name=last,
                    full_name=f"{first} {last}",
                    email=email,
                    created_at=now,
                    updated_at=now,
                )
            )
        with transaction.atomic():
            db.insert(Contact, rows)
        contact_ids += [c.pk for c in rows]
    busy = contact_ids[0]
    others = contact_ids[1:] or [busy]
    _log(f"contacts {len(contact_ids)}")

    kinds, weights = list(KINDS), list(KINDS.values())
    done = 0
    # The busy contact's activities are spread through the insertion order, as a long history is.
    busy_every = max(1, args.activities // max(1, args.contact_activities))
    busy_left = args.contact_activities
    while done < args.activities:
        rows, people = [], []
        for i in range(done, min(done + BATCH, args.activities)):
            owner = rng.choice(owners)
            kind = rng.choices(kinds, weights)[0]
            occurred = now - timedelta(seconds=rng.randrange(span))
            rows.append(
                Activity(
                    org=org,
                    owner_id=owner,
                    team_id=users[owner],
                    created_by_id=owner,
                    kind=kind,
                    direction="outbound" if kind in {"call", "email", "sms"} else "",
                    subject=f"{rng.choice(SUBJECTS)} {i}",
                    body="Talked about the *renewal* and next steps.\n\n- pricing\n- timeline",
                    occurred_at=occurred,
                    duration=rng.randrange(60, 1800) if kind in {"call", "meeting"} else None,
                    private=kind == "email" and rng.random() < 0.3,
                    created_at=occurred,
                    updated_at=occurred,
                )
            )
            is_busy = busy_left > 0 and i % busy_every == 0
            busy_left -= is_busy
            people.append([busy] if is_busy else [rng.choice(others)])
        db.allocate(Activity, rows)
        links = [
            ActivityContact(org_id=org.pk, activity_id=a.pk, contact_id=pk, occurred_at=a.occurred_at)
            for a, ids in zip(rows, people, strict=True)
            for pk in ids
        ]
        with transaction.atomic():
            db.insert(Activity, rows)
            db.insert(ActivityContact, links)
        done += len(rows)
        _log(f"activities {done}/{args.activities}")
    db.finish()
    return busy


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--contact-activities", type=int, default=5_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--queries", type=int, default=100, help="timed runs per case (after 3 warm-up runs)")
    parser.add_argument("--reuse", action="store_true", help="keep a database seeded by an earlier run")
    parser.add_argument("--explain", action="store_true", help="print the activity query's plan to stderr")
    args = parser.parse_args()
    _setup(args)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from rapport.activities.models import ActivityContact
    from rapport.activities.timeline import activity_items
    from rapport.contacts.timeline import timeline
    from rapport.contacts.views.detail import TIMELINE_PAGE
    from rapport.core.principal import Principal

    org, admin, sales, busy, seeding = _workspace(args)
    _log("reading the database into the page cache")
    _prewarm(os.environ["RAPPORT_DATA_DIR"])
    admin_p, sales_p = Principal.for_membership(admin), Principal.for_membership(sales)
    busy_count = ActivityContact.objects.filter(contact_id=busy).count()
    # An older page deep in the history: the one after the busy contact's 2,500th newest activity.
    deep = (
        ActivityContact.objects.filter(contact_id=busy)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)[busy_count // 2]
    )
    web = Client()
    web.force_login(admin.user)
    session = web.session
    session["rapport_org_id"] = org.pk
    session.save()
    gc.collect()
    gc.freeze()

    results: dict[str, dict[str, Any]] = {}

    def run(name: str, call: Any, target: str | None = "timeline") -> None:
        timings = []
        for i in range(args.queries + 3):
            t0 = time.perf_counter()
            call()
            if i >= 3:
                timings.append((time.perf_counter() - t0) * 1000)
        stats: dict[str, Any] = _stats(timings)
        if target:
            stats["target_ms"] = TARGETS_MS[target]
            stats["met"] = stats["p95_ms"] <= TARGETS_MS[target]
        results[name] = stats
        _log(f"{name}: {stats}")

    def page(url: str, **headers: str) -> None:
        response = web.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])

    subjects = [("contact", [busy])]
    first = timeline(actor=admin_p, subjects=subjects, limit=TIMELINE_PAGE)
    assert len(first) == TIMELINE_PAGE and all(i.kind == "activity" for i in first), len(first)
    if args.explain:
        with CaptureQueriesContext(connection) as ctx:
            activity_items(admin_p, "contact", [busy], TIMELINE_PAGE, None)
        _log(f"activity source: {len(ctx.captured_queries)} queries; first plan:")
        query = ctx.captured_queries[0]["sql"]
        print(_explain(query, None) if "%s" not in query else query, file=sys.stderr)

    run(
        "timeline registry, first page (admin)", lambda: timeline(actor=admin_p, subjects=subjects, limit=TIMELINE_PAGE)
    )
    run("activity source, first page (admin)", lambda: activity_items(admin_p, "contact", [busy], TIMELINE_PAGE, None))
    run(
        "timeline registry, first page (sales member: team scope and privacy)",
        lambda: timeline(actor=sales_p, subjects=subjects, limit=TIMELINE_PAGE),
    )
    run(
        "timeline registry, an older page halfway down (admin)",
        lambda: timeline(actor=admin_p, subjects=subjects, limit=TIMELINE_PAGE, before=deep),
    )
    run("contact page GET (admin)", lambda: page(f"/contacts/{busy}/"))
    run("timeline fragment GET (admin)", lambda: page(f"/contacts/{busy}/timeline/", HTTP_HX_REQUEST="true"))

    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "activities": args.activities,
                "contacts": args.contacts,
                "busy_contact_activities": busy_count,
                "page_size": TIMELINE_PAGE,
                "seeding_s": None if seeding is None else round(seeding, 1),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
