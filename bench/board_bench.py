"""The kanban board with many open deals: a pipeline holding `--deals` open deals (5,000 by default).

    python bench/board_bench.py [--deals 5000] [--database-url postgres://…/rapport_board_bench]
        [--data-dir DIR] [--queries 50]

Seeds one workspace with a five-stage pipeline, `--deals` open deals spread over its open stages
(three currencies, so the totals convert) with their stage-history rows, and monthly rates. Then
times, over `--queries` runs after 3 warm-ups, the board page (every column's count and total and
its first cards) and one column's "Show more" fragment through the Django test client, as an
admin. SQLite in a temporary directory by default, PostgreSQL with --database-url (that database
is dropped and recreated). Prints one JSON object with p50/p95 (ms) per case (the query count of a
board page is asserted by rapport/sales/tests/test_board.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contacts_bench import _log, _prewarm, _setup, _stats

SEED = 11
BATCH = 2000


def _seed(deals: int) -> tuple[Any, Any, Any]:
    """(org, admin membership, pipeline) of a fresh workspace with `deals` open deals."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from rapport.accounts.models import Membership, Organization, User
    from rapport.sales.models import Deal, DealStage, ExchangeRate, Pipeline, Stage, StageKind

    _log(f"migrating ({connection.vendor})")
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Board bench", slug="board-bench")
    user = User.objects.create_user(email="admin@board.test", password="bench-password-1")  # noqa: S106
    admin = Membership.objects.create(org=org, user=user, role="admin")
    pipeline = Pipeline.objects.create(org=org, name="New business")
    spec = [("Qualified", 10, "open"), ("Proposal", 40, "open"), ("Negotiation", 70, "open")]
    spec += [("Won", 100, StageKind.WON), ("Lost", 0, StageKind.LOST)]
    stages = [
        Stage.objects.create(org=org, pipeline=pipeline, name=n, position=i, probability=p, kind=k, rotting_days=21)
        for i, (n, p, k) in enumerate(spec)
    ]
    today = date.today()
    for currency, rate in (("EUR", "1.08"), ("GBP", "1.27")):
        since = today - timedelta(days=400)
        ExchangeRate.objects.create(org=org, currency=currency, rate=Decimal(rate), valid_from=since)
    rng = random.Random(SEED)
    now = timezone.now()
    _log(f"seeding {deals} open deals")
    for start in range(0, deals, BATCH):
        rows = []
        for n in range(start, min(deals, start + BATCH)):
            stage = stages[n % 3]
            entered = now - timedelta(days=rng.randrange(60), minutes=rng.randrange(1440))
            rows.append(
                Deal(
                    org=org,
                    owner=user,
                    name=f"Deal {n}",
                    amount=Decimal(rng.randrange(1_000, 200_000)),
                    currency=rng.choice(["USD", "USD", "EUR", "GBP"]),
                    expected_close_date=today + timedelta(days=rng.randrange(90)),
                    pipeline=pipeline,
                    stage=stage,
                    stage_entered_at=entered,
                )
            )
        created = Deal.objects.bulk_create(rows)
        DealStage.objects.bulk_create(
            DealStage(org=org, deal=d, pipeline=pipeline, stage=d.stage, entered_at=d.stage_entered_at) for d in created
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org, admin, pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deals", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    args.reuse = False  # always a fresh database (see _setup)
    _setup(args)
    from django.db import connection
    from django.test import Client

    started = time.perf_counter()
    org, admin, pipeline = _seed(args.deals)
    seeding = time.perf_counter() - started
    _prewarm(os.environ["RAPPORT_DATA_DIR"])
    web = Client()
    web.force_login(admin.user)
    session = web.session
    session["rapport_org_id"] = org.pk
    session.save()
    first_stage = pipeline.stages.order_by("position").first()
    board_url = f"/deals/board/{pipeline.pk}/"
    column_url = f"/deals/board/stages/{first_stage.pk}/"

    def page(url: str, **headers: str) -> None:
        response = web.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])

    page(board_url)
    gc.collect()
    gc.freeze()
    results: dict[str, Any] = {}
    for name, url, headers in (
        ("board page GET", board_url, {}),
        ("one column's first page (HTMX)", column_url, {"HTTP_HX_REQUEST": "true"}),
    ):
        timings = []
        for i in range(args.queries + 3):
            t0 = time.perf_counter()
            page(url, **headers)
            if i >= 3:
                timings.append((time.perf_counter() - t0) * 1000)
        results[name] = _stats(timings)
        _log(f"{name}: {results[name]}")
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "open_deals": args.deals,
                "seeding_s": round(seeding, 1),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
