"""Global search benchmark: seed N index entries in a throwaway workspace, time `search_entries`.

    python bench/fulltext_bench.py [N] [--queries 200] [--keep]

Runs against the configured database (SQLite in RAPPORT_DATA_DIR, or DATABASE_URL), migrating it
first. Prints JSON: seeding time and p50/p95 (ms) of prefix, two-word prefix, email, email prefix,
phone and fuzzy queries. The workspace is deleted at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from faker import Faker  # noqa: E402

from rapport.accounts.models import Organization  # noqa: E402
from rapport.core.fulltext import prepare_entry, search_entries, words  # noqa: E402
from rapport.core.models import SearchEntry  # noqa: E402

BATCH = 5000
LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL"]
DOMAINS = ["example.com", "mail.test", "acme.test", "globex.test", "initech.test", "umbrella.test"]


def _pools(seed: int) -> tuple[list[str], list[str], list[str]]:
    """Distinct first names, last names and company names from several Faker locales."""
    first: set[str] = set()
    last: set[str] = set()
    companies: set[str] = set()
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for _ in range(400):
            first.add(fake.first_name())
            last.add(fake.last_name())
            companies.add(fake.company())
    return sorted(first), sorted(last), sorted(companies)


def _record(rng: random.Random, pools: tuple[list[str], list[str], list[str]]) -> dict[str, str]:
    first, last, companies = pools
    fn, ln = rng.choice(first), rng.choice(last)
    local = ".".join(words(f"{fn} {ln}")) + (str(rng.randint(1, 999)) if rng.random() < 0.5 else "")
    phone = f"+1{rng.randint(200, 999)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
    return {
        "title": f"{fn} {ln}",
        "subtitle": rng.choice(companies),
        "email": f"{local}@{rng.choice(DOMAINS)}",
        "phone": phone,
    }


def seed(org: Organization, n: int, rng: random.Random) -> tuple[float, list[dict[str, str]]]:
    pools = _pools(rng.randint(0, 10_000))
    samples: list[dict[str, str]] = []
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        batch = []
        for object_id in range(start, min(start + BATCH, n)):
            rec = _record(rng, pools)
            if len(samples) < 5000 and rng.random() < 0.05:
                samples.append(rec)
            batch.append(
                prepare_entry(
                    org_id=org.pk,
                    kind="contact",
                    object_id=object_id,
                    title=rec["title"],
                    subtitle=rec["subtitle"],
                    keywords=[rec["email"], rec["phone"]],
                    owner_id=rng.randint(1, 50),
                )
            )
        with transaction.atomic():
            SearchEntry.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE core_searchentry")
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA optimize")
    return time.perf_counter() - started, samples


def _typo(text: str, rng: random.Random) -> str:
    """Swap two adjacent letters inside each word of 4+ letters."""
    out = []
    for word in text.split():
        if len(word) >= 4:
            i = rng.randint(1, len(word) - 3)
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        out.append(word)
    return " ".join(out)


def _phone_formatted(phone: str, rng: random.Random) -> str:
    d = phone[-10:]
    return rng.choice([f"({d[:3]}) {d[3:6]}-{d[6:]}", f"+1 {d[:3]} {d[3:6]} {d[6:]}", d, f"{d[3:6]} {d[6:]}"])


def measure(org: Organization, name: str, queries: list[str]) -> dict[str, float]:
    timings = []
    hits = 0
    for q in queries:
        started = time.perf_counter()
        result = search_entries(org_id=org.pk, q=q, limit=20)
        timings.append((time.perf_counter() - started) * 1000)
        hits += bool(result)
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "max_ms": round(timings[-1], 2),
        "found_ratio": round(hits / len(queries), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the seeded workspace")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    org = Organization.objects.create(name="fulltext bench", slug=f"bench-{uuid.uuid4().hex[:12]}")
    try:
        seconds, samples = seed(org, args.n, rng)
        picks = [rng.choice(samples) for _ in range(args.queries)]
        cases: dict[str, Callable[[dict[str, str]], str]] = {
            "prefix": lambda r: r["title"].split()[0][:3],
            "prefix_two_words": lambda r: " ".join(w[:3] for w in r["title"].split()[:2]),
            "email": lambda r: r["email"],
            "email_prefix": lambda r: r["email"][: r["email"].index("@") + 3],
            "phone": lambda r: _phone_formatted(r["phone"], rng),
            "fuzzy": lambda r: _typo(r["title"], rng),
        }
        figures = {name: measure(org, name, [make(r) for r in picks]) for name, make in cases.items()}
        print(
            json.dumps(
                {
                    "database": connection.vendor,
                    "entries": args.n,
                    "seed_seconds": round(seconds, 1),
                    "queries_per_case": args.queries,
                    "search": figures,
                },
                indent=2,
            )
        )
    finally:
        if not args.keep:
            with transaction.atomic():
                SearchEntry.objects.filter(org=org).delete()
                org.delete()


if __name__ == "__main__":
    main()
