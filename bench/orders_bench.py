"""Bulk upsert of orders: N batches of 1,000 orders x 5 lines, target >= 2,000 orders/s.

    python bench/orders_bench.py [--batches 5] [--batch-size 1000] [--lines 5] [--customers 5000] \
        [--database-url postgres://postgres@127.0.0.1:5432/rapport_orders_bench] [--data-dir DIR] \
        [--via api|service]

Seeds one workspace (an admin, `--customers` contacts with an email each, 500 products), then
times three passes over the same `--batches` batches of `--batch-size` orders with `--lines` lines
each, the customers named by email and the products by SKU, as a shop sends them:

- `insert`: every order is new (created);
- `resend`: the same batches again (every order unchanged: nothing written);
- `change10`: the same batches with 10% of the orders changed (status and one line's quantity).

`--via api` (the default) sends each batch as JSON to POST /api/v1/orders/bulk through Django's
test client with a bearer token (the schema validation, the service and the JSON answer);
`--via service` calls rapport.sales.order_bulk.order_bulk_upsert directly. SQLite in a temporary
directory by default, PostgreSQL with --database-url (that database is dropped and recreated).
Prints one JSON object: sizes, vendor, per pass the seconds, orders/s and queries per batch, and
whether each pass meets the target. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contacts_bench import _log, _setup

SEED = 11
PRODUCTS = 500
TARGET_ORDERS_PER_S = 2000.0
STATUSES = ["confirmed", "shipped", "completed"]


def _price(k: int) -> str:
    return f"{1 + k % 97}.{k % 100:02d}"


def _workspace(customers: int) -> tuple[Any, Any]:
    from django.core.management import call_command
    from django.db import connection

    from rapport.accounts.models import Membership, Organization, User
    from rapport.accounts.roles import Role
    from rapport.contacts.models import Contact, ContactEmail
    from rapport.sales.models import Product

    _log(f"migrating ({connection.vendor})")
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Orders bench", slug="orders-bench", base_currency="EUR")
    user = User.objects.create_user(email="admin@orders.example.com", password=None)
    membership = Membership.objects.create(org=org, user=user, role=Role.ADMIN)
    _log(f"seeding {customers} customers and {PRODUCTS} products")
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                org=org, owner=user, first_name=f"Buyer{n}", full_name=f"Buyer{n}", email=f"buyer{n}@shop.example.com"
            )
            for n in range(customers)
        ],
        batch_size=2000,
    )
    ContactEmail.objects.bulk_create(
        [ContactEmail(org=org, contact=c, email=c.email, is_primary=True) for c in contacts], batch_size=2000
    )
    Product.objects.bulk_create(
        [
            Product(org=org, sku=f"SKU-{k:04d}", name=f"Product {k}", unit_price=_price(k), currency="EUR")
            for k in range(PRODUCTS)
        ]
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # planner statistics, as autovacuum keeps them on a live database
    return org, membership


def _batches(args: argparse.Namespace) -> list[list[dict[str, Any]]]:
    rng = random.Random(SEED)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    batches = []
    for b in range(args.batches):
        items = []
        for n in range(args.batch_size):
            lines = []
            for _ in range(args.lines):
                k = rng.randrange(PRODUCTS)
                lines.append(
                    {
                        "sku": f"SKU-{k:04d}",
                        "name": f"Product {k}",
                        "quantity": rng.randint(1, 5),
                        "unit_price": _price(k),
                        "discount_percent": rng.choice([0, 0, 0, 5, 10, 12.5]),
                    }
                )
            items.append(
                {
                    "external_id": f"web-{b}-{n}",
                    "customer_email": f"buyer{rng.randrange(args.customers)}@shop.example.com",
                    "ordered_at": (start + timedelta(minutes=rng.randrange(525_600))).isoformat(),
                    "status": rng.choice(STATUSES),
                    "currency": "EUR",
                    "lines": lines,
                }
            )
        batches.append(items)
    return batches


def _changed(batches: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    out = []
    for items in batches:
        copy = json.loads(json.dumps(items))
        for item in copy[::10]:  # every tenth order: 10%
            item["status"] = "refunded"
            item["lines"][0]["quantity"] += 1
        out.append(copy)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--via", choices=["api", "service"], default="api")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    args.reuse = False
    _setup(args)

    from django.db import connection
    from django.test import Client

    from rapport.accounts.services import token_create
    from rapport.core.principal import Principal
    from rapport.sales.models import Order, OrderLine
    from rapport.sales.order_bulk import order_bulk_upsert

    org, membership = _workspace(args.customers)
    actor = Principal.for_membership(membership)
    _, secret = token_create(actor=actor, name="bench", scope="write")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    batches = _batches(args)
    passes = {"insert": batches, "resend": batches, "change10": _changed(batches)}
    expected = {"insert": "created", "resend": "unchanged", "change10": None}

    def send(items: list[dict[str, Any]]) -> list[str]:
        if args.via == "service":
            return [r.status for r in order_bulk_upsert(actor=actor, items=items)]
        resp = client.post("/api/v1/orders/bulk", json.dumps({"items": items}), content_type="application/json")
        if resp.status_code != 200:
            raise SystemExit(f"bulk upsert answered {resp.status_code}: {resp.content[:500]!r}")
        return [item["status"] for item in resp.json()["items"]]

    send(_batches(argparse.Namespace(batches=1, batch_size=5, lines=1, customers=args.customers))[0])  # warm-up
    Order.objects.filter(org=org).delete()
    gc.collect()
    gc.freeze()
    results: dict[str, Any] = {}
    for name, data in passes.items():
        seconds = 0.0
        queries: list[int] = []
        statuses: dict[str, int] = {}
        for items in data:
            # Counted by a wrapper, not CaptureQueriesContext: that one renders every statement's
            # SQL with its parameters, which on a 5,000-line insert costs more than the insert.
            counter = [0]

            def count(
                execute: Any, sql: Any, params: Any, many: Any, context: Any, counter: list[int] = counter
            ) -> Any:
                counter[0] += 1
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                started = time.perf_counter()
                got = send(items)
                seconds += time.perf_counter() - started
            queries.append(counter[0])
            for status in got:
                statuses[status] = statuses.get(status, 0) + 1
        orders = sum(len(items) for items in data)
        if expected[name] and statuses != {expected[name]: orders}:
            raise SystemExit(f"{name}: unexpected statuses {statuses}")
        rate = orders / seconds
        results[name] = {
            "seconds": round(seconds, 3),
            "orders_per_s": round(rate, 1),
            "queries_per_batch": max(queries),
            "statuses": statuses,
            "meets_target": rate >= TARGET_ORDERS_PER_S,
        }
        _log(f"{name}: {orders} orders in {seconds:.2f} s ({rate:,.0f}/s)")
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "via": args.via,
                "batches": args.batches,
                "batch_size": args.batch_size,
                "lines_per_order": args.lines,
                "orders": Order.objects.filter(org=org).count(),
                "lines": OrderLine.objects.filter(org=org).count(),
                "target_orders_per_s": TARGET_ORDERS_PER_S,
                "passes": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
