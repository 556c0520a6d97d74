"""Contacts at scale: seed N contacts and M companies in a throwaway database, time list, search, page.

    python bench/contacts_bench.py --contacts 1000000 --companies 100000 \
        [--database-url postgres://postgres@127.0.0.1:5432/rapport_bench] [--data-dir DIR] [--queries 100]

SQLite in a temporary directory by default; with --database-url the named database is dropped and
recreated. Prints one JSON object: sizes, vendor, seeding time and p50/p95 (ms) per case.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BATCH = 5000
COUNTRIES = [("US", "+1", 35), ("GB", "+44", 15), ("FR", "+33", 15), ("DE", "+49", 15), ("ES", "+34", 10)]
COUNTRIES += [("IT", "+39", 5), ("NL", "+31", 5)]
STAGES = {"subscriber": 12, "lead": 30, "marketing_qualified": 12, "sales_qualified": 8, "opportunity": 8}
STAGES |= {"customer": 22, "evangelist": 4, "other": 4}


def _setup(args: argparse.Namespace) -> None:
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="rapport-bench-")
    os.environ["RAPPORT_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.config.settings")
    if args.database_url:
        import psycopg

        url = urlparse(args.database_url)
        name = url.path.lstrip("/") or "rapport_bench"
        admin_url = url._replace(path="/postgres").geturl()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url._replace(path=f"/{name}").geturl()
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings

    # Page timings without a collectstatic run: plain static storage (no manifest lookup).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _stats(timings: list[float]) -> dict[str, float]:
    timings = sorted(timings)
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[max(0, math.ceil(len(timings) * 0.95) - 1)], 2),
        "n": len(timings),
        "max_ms": round(timings[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    _setup(args)

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from faker import Faker

    from rapport.accounts import services as account_services
    from rapport.accounts.models import Membership, Organization, User
    from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone
    from rapport.core.fulltext import prepare_entry
    from rapport.core.models import SearchEntry
    from rapport.core.principal import Principal

    _log(f"migrating ({connection.vendor})")
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Bench", slug="bench")
    admin = User.objects.create_user(email="admin@bench.test", password="bench-password-1")  # noqa: S106
    membership = Membership.objects.create(org=org, user=admin, role="admin")
    owners = [admin.pk]
    for i in range(19):
        user = User.objects.create_user(email=f"rep{i}@bench.test")
        Membership.objects.create(org=org, user=user, role="sales")
        owners.append(user.pk)

    rng = random.Random(42)
    fake = Faker()
    fake.seed_instance(42)
    firsts = sorted({fake.first_name() for _ in range(3000)})
    lasts = sorted({fake.last_name() for _ in range(3000)})
    words_ = sorted({fake.word() for _ in range(3000)})
    cities = sorted({fake.city() for _ in range(500)})
    country_w = [w for *_, w in COUNTRIES]
    stages, stage_w = list(STAGES), list(STAGES.values())
    started = time.perf_counter()

    company_ids: list[int] = []
    company_names: dict[int, str] = {}
    for start in range(0, args.companies, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, args.companies)):
            country = rng.choices(COUNTRIES, country_w)[0][0]
            name = f"{rng.choice(words_).title()} {rng.choice(lasts)} {i}"
            domain = f"{name.split()[0].lower()}{i}.example"
            rows.append(
                Company(
                    org=org,
                    owner_id=rng.choice(owners),
                    name=name,
                    domain=domain,
                    email_domains=[domain],
                    website=f"https://{domain}",
                    country=country,
                    city=rng.choice(cities),
                )
            )
        with transaction.atomic():
            Company.objects.bulk_create(rows)
            SearchEntry.objects.bulk_create(
                prepare_entry(
                    org_id=org.pk,
                    kind="company",
                    object_id=c.pk,
                    title=c.name,
                    subtitle=f"{c.domain} · {c.city}",
                    keywords=[c.domain, c.website],
                    owner_id=c.owner_id,
                )
                for c in rows
            )
        for c in rows:
            company_ids.append(c.pk)
            if len(company_names) < 200_000:
                company_names[c.pk] = c.name
        _log(f"companies {len(company_ids)}/{args.companies}")

    names = company_names
    samples: list[dict[str, str]] = []
    contact_ids: list[int] = []
    for start in range(0, args.contacts, BATCH):
        rows, points = [], []
        for i in range(start, min(start + BATCH, args.contacts)):
            country, prefix, _ = rng.choices(COUNTRIES, country_w)[0]
            first, last = rng.choice(firsts), rng.choice(lasts)
            company_id = rng.choice(company_ids) if company_ids and rng.random() < 0.7 else None
            email = f"{first.lower()}.{last.lower()}{i}@mail{i % 50}.example"
            phone = f"{prefix}6{rng.randrange(10**8):08d}"
            stage = rng.choices(stages, stage_w)[0]
            rows.append(
                Contact(
                    org=org,
                    owner_id=rng.choice(owners),
                    first_name=first,
                    last_name=last,
                    full_name=f"{first} {last}",
                    company_id=company_id,
                    job_title=rng.choice(words_).title(),
                    lifecycle_stage=stage,
                    email=email,
                    phone=phone,
                    country=country,
                    city=rng.choice(cities),
                )
            )
            points.append((email, phone))
        with transaction.atomic():
            Contact.objects.bulk_create(rows)
            ContactEmail.objects.bulk_create(
                ContactEmail(org=org, contact_id=c.pk, email=e, is_primary=True)
                for c, (e, _) in zip(rows, points, strict=True)
            )
            ContactPhone.objects.bulk_create(
                ContactPhone(org=org, contact_id=c.pk, number=p, is_primary=True)
                for c, (_, p) in zip(rows, points, strict=True)
            )
            SearchEntry.objects.bulk_create(
                prepare_entry(
                    org_id=org.pk,
                    kind="contact",
                    object_id=c.pk,
                    title=c.full_name,
                    subtitle=" · ".join(p for p in (c.job_title, names.get(c.company_id or 0, ""), c.email) if p),
                    keywords=[c.email, c.phone, names.get(c.company_id or 0, ""), c.city],
                    owner_id=c.owner_id,
                )
                for c in rows
            )
        for c in rows:
            contact_ids.append(c.pk)
            if rng.random() < 0.01 and len(samples) < 5000:
                samples.append({"name": c.full_name, "email": c.email, "phone": c.phone})
        _log(f"contacts {len(contact_ids)}/{args.contacts}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeding = time.perf_counter() - started
    _log(f"seeded in {seeding:.0f}s")

    principal = Principal.for_membership(membership)
    _, secret = account_services.token_create(actor=principal, name="bench", scope="read")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    web = Client()
    web.force_login(admin)

    def timed(client: Client, url: str) -> tuple[float, object]:
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return elapsed, response

    n = args.queries
    results: dict[str, object] = {}
    country_codes = [c for c, *_ in COUNTRIES]
    list_cases: dict[str, Callable[[], str]] = {
        "country+stage,-created_at": lambda: (
            f"filter=country:eq:{rng.choice(country_codes)}&filter=lifecycle_stage:eq:{rng.choice(stages)}"
            "&sort=-created_at"
        ),
        "city,last_name": lambda: f"filter=city:eq:{quote(rng.choice(cities))}&sort=last_name",
        "stage,-updated_at": lambda: f"filter=lifecycle_stage:eq:{rng.choice(stages)}&sort=-updated_at",
        "country,email": lambda: f"filter=country:eq:{rng.choice(country_codes)}&sort=email",
        "no filter,-created_at": lambda: "sort=-created_at",
    }
    for name, make in list_cases.items():
        first_page, next_page = [], []
        for _ in range(n):
            url = f"/api/v1/contacts?{make()}&limit=50"
            ms, response = timed(api, url)
            first_page.append(ms)
            cursor = response.json().get("next_cursor")  # type: ignore[attr-defined]
            if cursor:
                ms, _ = timed(api, f"{url}&cursor={cursor}")
                next_page.append(ms)
        results[f"list {name}"] = _stats(first_page)
        if next_page:
            results[f"list {name} next page"] = _stats(next_page)
        _log(f"list {name}: {results[f'list {name}']}")

    search_cases: dict[str, Callable[[dict[str, str]], str]] = {
        "prefix": lambda s: s["name"].split()[0][:3],
        "two-word prefix": lambda s: " ".join(w[:3] for w in s["name"].split()[:2]),
        "full name": lambda s: s["name"],
        "email": lambda s: s["email"],
        "phone": lambda s: s["phone"],
        "phone last digits": lambda s: s["phone"][-7:],
    }

    for name, make_q in search_cases.items():
        timings = [timed(api, f"/api/v1/search?q={quote(make_q(rng.choice(samples)))}")[0] for _ in range(n)]
        results[f"search {name}"] = _stats(timings)
        _log(f"search {name}: {results[f'search {name}']}")

    timings = [timed(web, f"/contacts/{rng.choice(contact_ids)}/")[0] for _ in range(n)]
    results["contact page"] = _stats(timings)
    _log(f"contact page: {results['contact page']}")

    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "contacts": Contact.objects.count(),
                "companies": Company.objects.count(),
                "search_entries": SearchEntry.objects.count(),
                "seeding_s": round(seeding, 1),
                "queries": n,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
