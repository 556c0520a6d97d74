"""The sales forecast over many deals: `--deals` deals (100,000 by default) over two years.

    python bench/forecast_bench.py [--deals 100000] [--database-url postgres://…/rapport_forecast_bench]
        [--data-dir DIR] [--queries 30]

Seeds one workspace (base USD) with an admin, a manager and 20 sales reps in 4 teams, one
five-stage pipeline, monthly EUR and GBP rates, and `--deals` deals created over the last two
years in USD, EUR and GBP, each with the stage history of its walk through the pipeline (about
2.5 stays a deal): older deals are mostly won or lost, recent ones still open; monthly quotas for
every rep. Then times, over `--queries` runs after 3 warm-ups, the forecast selector
(rapport.sales.forecast: query check + forecast) for the last 12 months and the last 4 quarters
(both ending with the current one, so every period but the future ones also reconstructs the
forecast at its start from the stage history), grouped by workspace, team and owner, as the
admin; the same for one rep (own and team deals); and the forecast page through the Django test
client. SQLite in a temporary directory by default, PostgreSQL with --database-url (that database
is dropped and recreated). Prints one JSON object with p50/p95 (ms) and the query count per case.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contacts_bench import Inserter, _log, _prewarm, _setup, _stats

SEED = 23
BATCH = 5000
REPS = 20
TEAMS = 4
DAYS = 730
STAGES = [("Qualified", 10, "open"), ("Proposal", 40, "open"), ("Negotiation", 70, "open")]
STAGES += [("Won", 100, "won"), ("Lost", 0, "lost")]


def _month_starts(first: date, count: int) -> list[date]:
    index = first.year * 12 + first.month - 1
    return [date((index + i) // 12, (index + i) % 12 + 1, 1) for i in range(count)]


def _seed(deals: int) -> tuple[Any, Any, Any]:
    """(org, admin membership, a rep's membership) of a fresh workspace with `deals` deals."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from rapport.accounts.models import Membership, Organization, Team, User
    from rapport.sales.models import Deal, DealStage, ExchangeRate, Pipeline, Quota, Stage

    _log(f"migrating ({connection.vendor})")
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Forecast bench", slug="forecast-bench", base_currency="USD")
    admin_user = User.objects.create_user(email="admin@forecast.test", password="bench-password-1")  # noqa: S106
    admin = Membership.objects.create(org=org, user=admin_user, role="admin")
    Membership.objects.create(org=org, user=User.objects.create_user(email="manager@forecast.test"), role="manager")
    teams = [Team.objects.create(org=org, name=f"Team {n + 1}") for n in range(TEAMS)]
    reps = []
    for n in range(REPS):
        user = User.objects.create_user(email=f"rep{n}@forecast.test", name=f"Rep {n:02d}")
        membership = Membership.objects.create(org=org, user=user, role="sales")
        membership.teams.add(teams[n % TEAMS])
        reps.append((user.pk, teams[n % TEAMS].pk, membership))
    pipeline = Pipeline.objects.create(org=org, name="New business")
    stages = [
        Stage.objects.create(org=org, pipeline=pipeline, name=name, position=i, probability=p, kind=kind)
        for i, (name, p, kind) in enumerate(STAGES)
    ]
    opens, won, lost = stages[:3], stages[3], stages[4]
    today = date.today()
    months = _month_starts(date(today.year - 3, today.month, 1), 40)
    for currency, value in (("EUR", 1.08), ("GBP", 1.27)):
        ExchangeRate.objects.bulk_create(
            ExchangeRate(org=org, currency=currency, rate=Decimal(str(round(value + 0.002 * (i % 7), 4))), valid_from=m)
            for i, m in enumerate(months)
        )
    Quota.objects.bulk_create(
        Quota(org=org, user_id=user_id, period="month", period_start=m, amount=Decimal(150_000))
        for user_id, _, _ in reps
        for m in months
    )
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    inserter = Inserter()
    _log(f"seeding {deals} deals with their stage histories")
    stays_total = 0
    for start in range(0, deals, BATCH):
        rows: list[Any] = []
        histories: list[list[tuple[Any, datetime, datetime | None]]] = []
        for n in range(start, min(deals, start + BATCH)):
            created = now - timedelta(days=DAYS * rng.random(), minutes=rng.randrange(1440))
            history: list[tuple[Any, datetime, datetime | None]] = []
            when = created
            for index, stage in enumerate(opens):
                stay = timedelta(days=rng.expovariate(1 / 14), minutes=rng.randrange(1440))
                if when + stay > now:
                    history.append((stage, when, None))
                    break
                history.append((stage, when, when + stay))
                when += stay
                if rng.random() < 0.3 or index == len(opens) - 1:
                    history.append((won if index == len(opens) - 1 or rng.random() < 0.3 else lost, when, None))
                    break
            final, entered, _ = history[-1]
            user_id, team_id, _ = reps[n % REPS]
            rows.append(
                Deal(
                    org_id=org.pk,
                    owner_id=user_id,
                    team_id=team_id if rng.random() < 0.9 else None,
                    name=f"Deal {n}",
                    amount=Decimal(rng.randrange(1_000, 100_000)),
                    currency=rng.choice(["USD", "USD", "EUR", "GBP"]),
                    expected_close_date=(created + timedelta(days=rng.randrange(20, 120))).date(),
                    pipeline_id=pipeline.pk,
                    stage_id=final.pk,
                    stage_entered_at=entered,
                    closed_at=entered if final.kind != "open" else None,
                    created_at=created,
                    updated_at=entered,
                )
            )
            histories.append(history)
        with transaction.atomic():
            inserter.insert(Deal, rows)
            stays = [
                DealStage(
                    org_id=org.pk, deal_id=deal.pk, pipeline_id=pipeline.pk, stage_id=s.pk, entered_at=e, left_at=left
                )
                for deal, history in zip(rows, histories, strict=True)
                for s, e, left in history
            ]
            inserter.insert(DealStage, stays)
            stays_total += len(stays)
    inserter.finish()
    _log(f"{stays_total} stage-history rows")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org, admin, reps[0][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    args.reuse = False  # always a fresh database (see _setup)
    _setup(args)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from rapport.core.principal import Principal
    from rapport.sales.forecast import forecast, forecast_query

    started = time.perf_counter()
    org, admin_membership, rep_membership = _seed(args.deals)
    seeding = time.perf_counter() - started
    _prewarm(os.environ["RAPPORT_DATA_DIR"])
    admin = Principal.for_membership(admin_membership)
    rep = Principal.for_membership(rep_membership)
    today = date.today()
    first_month = _month_starts(date(today.year - 1, today.month, 1), 2)[1]  # 11 months ago
    first_quarter = date(first_month.year, (first_month.month - 1) // 3 * 3 + 1, 1)
    cases: list[tuple[str, Any, dict[str, Any]]] = []
    for period, start, count in (("month", first_month, 12), ("quarter", first_quarter, 4)):
        for group in ("workspace", "team", "owner"):
            cases.append(
                (
                    f"{count} {period}s by {group}",
                    admin,
                    {"period": period, "start": start, "periods": count, "group": group},
                )
            )
    cases.append(
        (
            "12 months by owner, as a rep",
            rep,
            {"period": "month", "start": first_month, "periods": 12, "group": "owner"},
        )
    )

    def run(actor: Any, params: dict[str, Any]) -> Any:
        return forecast(actor=actor, query=forecast_query(actor=actor, **params))

    gc.collect()
    gc.freeze()
    results: dict[str, Any] = {}
    for name, actor, params in cases:
        timings = []
        for i in range(args.queries + 3):
            t0 = time.perf_counter()
            result = run(actor, params)
            if i >= 3:
                timings.append((time.perf_counter() - t0) * 1000)
        with CaptureQueriesContext(connection) as ctx:
            run(actor, params)
        results[name] = {**_stats(timings), "queries": len(ctx.captured_queries)}
        assert result.missing_rates == [], result.missing_rates
        _log(f"{name}: {results[name]}")
    web = Client()
    web.force_login(admin_membership.user)
    session = web.session
    session["rapport_org_id"] = org.pk
    session.save()
    url = f"/sales/forecast/?period=month&start={first_month:%Y-%m}&periods=12&group=team"
    timings = []
    for i in range(args.queries + 3):
        t0 = time.perf_counter()
        response = web.get(url)
        assert response.status_code == 200, (response.status_code, response.content[:300])
        if i >= 3:
            timings.append((time.perf_counter() - t0) * 1000)
    results["forecast page GET (12 months by team)"] = _stats(timings)
    _log(f"page: {results['forecast page GET (12 months by team)']}")
    total = run(admin, {"period": "month", "start": first_month, "periods": 12, "group": "workspace"}).total.total
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "deals": args.deals,
                "seeding_s": round(seeding, 1),
                "check_12_months": {"closed_won": str(total.closed_won), "won_deals": total.won_deals},
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
