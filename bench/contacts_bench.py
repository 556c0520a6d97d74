"""Contacts at scale: seed N contacts and M companies, then time the list API, global search and pages.

    python bench/contacts_bench.py --contacts 1000000 --companies 100000 \
        [--database-url postgres://postgres@127.0.0.1:5432/rapport_bench] [--data-dir DIR] \
        [--queries 100] [--reuse] [--explain]

SQLite in a temporary directory by default (or in --data-dir); with --database-url the named
database is dropped and recreated. --reuse keeps a database seeded by an earlier run (same
--data-dir / --database-url) and only migrates it, so code and index changes can be measured
without seeding again. Prints one JSON object: sizes, vendor, seeding time, p50/p95 (ms) per case
and whether each case meets its target. Progress (and with --explain the query plans) go to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BATCH = 5000
SEED = 42
ORG_SLUG = "bench"
# (Faker locale, ISO country, share of records)
LOCALES = [("en_US", "US", 35), ("en_GB", "GB", 15), ("fr_FR", "FR", 15), ("de_DE", "DE", 15)]
LOCALES += [("es_ES", "ES", 10), ("it_IT", "IT", 5), ("nl_NL", "NL", 5)]
STAGES = {"subscriber": 12, "lead": 30, "marketing_qualified": 12, "sales_qualified": 8, "opportunity": 8}
STAGES |= {"customer": 22, "evangelist": 4, "other": 4}
TAGS = ["vip", "newsletter", "partner", "event-2026", "churn-risk", "referral", "enterprise", "trial"]
TAGS += ["webinar", "beta", "upsell", "renewal-q1", "renewal-q3", "trade-show", "inbound"]
MAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de", "orange.fr"]
TARGETS_MS = {"list": 50.0, "search": 50.0, "page": 100.0}
YEARS = 5  # records were created over the last five years


def _setup(args: argparse.Namespace) -> None:
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="rapport-bench-")
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    os.environ["RAPPORT_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.config.settings")
    if args.database_url:
        import psycopg

        url = urlparse(args.database_url)
        name = url.path.lstrip("/") or "rapport_bench"
        if name in {"rapport", "test_rapport", "postgres"}:
            raise SystemExit(f"Refusing to use the database '{name}': give the benchmark its own database.")
        admin_url = url._replace(path="/postgres").geturl()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not (args.reuse and exists):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url._replace(path=f"/{name}").geturl()
    else:
        os.environ.pop("DATABASE_URL", None)
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(data_dir, f"rapport.sqlite3{suffix}").unlink(missing_ok=True)
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


# --- seeding ---------------------------------------------------------------------------------


class Inserter:
    """Multi-row INSERTs of model instances, one `executemany` per table and batch, ids given up front.

    What `bulk_create` writes, without its per-value Python overhead (which dominated seeding at
    ~1,400 rows/s): column values are read from the instances, with only date-times, dates and
    JSON converted for the database. Ids are allocated here so children can point at their parents
    without reading ids back; `finish()` moves PostgreSQL's sequences past them. The database's
    own triggers (SQLite's full-text tables) and indexes are maintained as for any insert.
    """

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.next_id: dict[Any, int] = {}
        self.models: list[Any] = []

    def allocate(self, model: Any, objs: list[Any]) -> None:
        if model not in self.next_id:
            last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
            self.next_id[model] = (last or 0) + 1
            self.models.append(model)
        for obj in objs:
            obj.pk = self.next_id[model]
            self.next_id[model] += 1

    def insert(self, model: Any, objs: list[Any]) -> None:
        from django.db import models

        if not objs:
            return
        if getattr(objs[0], "pk", None) is None:
            self.allocate(model, objs)
        ops = self.connection.ops
        fields = model._meta.concrete_fields
        converters: list[Callable[[Any], Any] | None] = []
        for field in fields:
            if isinstance(field, models.JSONField):
                converters.append(lambda v, f=field: f.get_db_prep_save(v, self.connection))
            elif isinstance(field, models.DateTimeField):
                converters.append(ops.adapt_datetimefield_value)
            elif isinstance(field, models.DateField):
                converters.append(ops.adapt_datefield_value)
            else:
                converters.append(None)
        attnames = [f.attname for f in fields]
        rows = [
            tuple(
                value if convert is None or value is None else convert(value)
                for value, convert in zip((getattr(o, a) for a in attnames), converters, strict=True)
            )
            for o in objs
        ]
        quote = ops.quote_name
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"  # noqa: S608
            f" VALUES ({', '.join(['%s'] * len(fields))})"
        )
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def finish(self) -> None:
        from django.core.management.color import no_style

        statements = self.connection.ops.sequence_reset_sql(no_style(), self.models)
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


class Pools:
    """Per-locale pools of names, cities, streets, jobs and valid mobile numbers, drawn from Faker once
    (calling Faker per row would dominate seeding time)."""

    def __init__(self, rng: random.Random) -> None:
        import phonenumbers
        from faker import Faker

        from rapport.core.fulltext import words

        self.rng = rng
        self.by_country: dict[str, dict[str, list[str]]] = {}
        for locale, country, _ in LOCALES:
            fake = Faker(locale)
            fake.seed_instance(SEED)
            example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
            assert example is not None
            self.by_country[country] = {
                "female": sorted({fake.first_name_female() for _ in range(1500)}),
                "male": sorted({fake.first_name_male() for _ in range(1500)}),
                "last": sorted({fake.last_name() for _ in range(3000)}),
                "city": sorted({fake.city() for _ in range(150)}),
                "street": [fake.street_address() for _ in range(2000)],
                "postcode": [fake.postcode() for _ in range(500)],
                "job": sorted({fake.job()[:150] for _ in range(600)}),
                "company_word": sorted({fake.last_name() for _ in range(1500)}),
                "phone": [f"+{example.country_code}", str(example.national_number)],
            }
        self.words = words
        self.phonenumbers = phonenumbers
        weights = [w for *_, w in LOCALES]
        self.countries = [c for _, c, _ in LOCALES]
        self._country_weights = list(weights)

    def country(self) -> str:
        return self.rng.choices(self.countries, self._country_weights)[0]

    def pick(self, country: str, kind: str) -> str:
        return self.rng.choice(self.by_country[country][kind])

    def phone(self, country: str) -> str:
        """A valid mobile number of the country in E.164: its example number with 6 random trailing digits."""
        code, national = self.by_country[country]["phone"]
        for _ in range(20):
            candidate = f"{code}{national[:-6]}{self.rng.randrange(10**6):06d}"
            if self.phonenumbers.is_valid_number(self.phonenumbers.parse(candidate)):
                return candidate
        return f"{code}{national}"

    def ascii(self, text: str) -> str:
        return "".join(self.words(text))


def _seed(args: argparse.Namespace, org: Any, owners: list[int], teams: dict[int, int | None]) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.contacts import choices
    from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone, Tag, tag_names_of
    from rapport.contacts.search import _company_fields, _contact_fields
    from rapport.core.fulltext import prepare_entry
    from rapport.core.models import SearchEntry

    rng = random.Random(SEED)
    pools = Pools(rng)
    now = timezone.now()
    span = YEARS * 365 * 86400
    tags = [Tag.objects.create(org=org, name=name) for name in TAGS]
    tag_weights = [1 / (i + 1) for i in range(len(tags))]  # a few tags are common, most are rare
    industries, sizes = list(choices.INDUSTRIES.values), list(choices.COMPANY_SIZES.values)
    sources = list(choices.LEAD_SOURCES.values)
    stages, stage_w = list(STAGES), list(STAGES.values())
    segments = ["smb", "mid-market", "enterprise", "public", "nonprofit"]

    def stamps(i: int, n: int) -> tuple[datetime, datetime]:
        """Mostly in insertion order (with a few days of jitter); one record in five imported with an older date."""
        if rng.random() < 0.2:
            created = now - timedelta(seconds=rng.randrange(span))
        else:
            created = now - timedelta(seconds=span * (1 - i / max(n, 1)) + rng.randrange(3 * 86400))
        age = (now - created).total_seconds()
        updated = created + timedelta(seconds=rng.random() * age) if rng.random() < 0.5 else created
        return created, updated

    def tag_ids() -> list[int]:
        count = rng.choices([0, 1, 2, 3], [70, 18, 8, 4])[0]
        return sorted({t.pk for t in rng.choices(tags, tag_weights, k=count)})

    tag_name = {t.pk: t.name for t in tags}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB of page cache while seeding
    started = time.perf_counter()
    company_ids: list[int] = []
    company_info: dict[int, tuple[str, str]] = {}  # id -> (name, domain)
    db = Inserter()
    Through = Company.tags.through
    for start in range(0, args.companies, BATCH):
        rows, links = [], []
        for i in range(start, min(start + BATCH, args.companies)):
            country = pools.country()
            suffix = rng.choice(["Ltd", "Group", "& Co", "Partners", "Systems", "Labs", "Holding", "Consulting"])
            name = f"{pools.pick(country, 'company_word')} {pools.pick(country, 'company_word')} {suffix}"
            domain = f"{pools.ascii(name.rsplit(' ', 1)[0])}{i}.example"
            created, updated = stamps(i, args.companies)
            owner = rng.choice(owners)
            ids = tag_ids() if rng.random() < 0.7 else []
            rows.append(
                Company(
                    org=org,
                    owner_id=owner,
                    team_id=teams[owner],
                    name=name,
                    domain=domain,
                    email_domains=[domain],
                    website=f"https://www.{domain}",
                    industry=rng.choice(industries),
                    size=rng.choice(sizes),
                    phone=pools.phone(country),
                    street=pools.pick(country, "street"),
                    postal_code=pools.pick(country, "postcode"),
                    city=pools.pick(country, "city"),
                    country=country,
                    tag_names=tag_names_of(tag_name[t] for t in ids),
                    custom={"tier": rng.choice(["gold", "silver", "bronze"])} if rng.random() < 0.5 else {},
                    created_at=created,
                    updated_at=updated,
                )
            )
            links.append(ids)
        db.allocate(Company, rows)
        entries = [prepare_entry(**_company_fields(c)) for c in rows]
        for entry, c in zip(entries, rows, strict=True):
            entry.updated_at = c.updated_at
        with transaction.atomic():
            db.insert(Company, rows)
            db.insert(
                Through, [Through(company_id=c.pk, tag_id=t) for c, ids in zip(rows, links, strict=True) for t in ids]
            )
            db.insert(SearchEntry, entries)
        for c in rows:
            company_ids.append(c.pk)
            company_info[c.pk] = (c.name, c.domain)
        _log(f"companies {len(company_ids)}/{args.companies}")

    Through = Contact.tags.through
    genders = ["female", "male", "female", "male", "non_binary", "unspecified"]
    for start in range(0, args.contacts, BATCH):
        rows, links, extra = [], [], []
        for i in range(start, min(start + BATCH, args.contacts)):
            country = pools.country()
            gender = rng.choice(genders)
            first = pools.pick(country, gender if gender in {"female", "male"} else rng.choice(["female", "male"]))
            last = pools.pick(country, "last")
            company_id = rng.choice(company_ids) if company_ids and rng.random() < 0.7 else None
            local = f"{pools.ascii(first)}.{pools.ascii(last)}"
            if company_id and rng.random() < 0.8:
                email = f"{local}@{company_info[company_id][1]}"
            else:
                email = f"{local}{rng.randrange(1000)}@{rng.choice(MAIL_DOMAINS)}"
            second = f"{local}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}" if rng.random() < 0.2 else ""
            created, updated = stamps(i, args.contacts)
            owner = rng.choice(owners)
            ids = tag_ids()
            custom: dict[str, Any] = {}
            if rng.random() < 0.6:
                custom["segment"] = rng.choice(segments)
            if rng.random() < 0.4:
                custom["score"] = rng.randrange(101)
            rows.append(
                Contact(
                    org=org,
                    owner_id=owner,
                    team_id=teams[owner],
                    first_name=first,
                    last_name=last,
                    full_name=f"{first} {last}",
                    company_id=company_id,
                    job_title=pools.pick(country, "job"),
                    gender=gender,
                    language=country.lower() if country not in {"US", "GB"} else "en",
                    lifecycle_stage=rng.choices(stages, stage_w)[0],
                    lead_source=rng.choice(sources),
                    email=email,
                    phone=pools.phone(country),
                    street=pools.pick(country, "street"),
                    postal_code=pools.pick(country, "postcode"),
                    city=pools.pick(country, "city"),
                    country=country,
                    tag_names=tag_names_of(tag_name[t] for t in ids),
                    custom=custom,
                    created_at=created,
                    updated_at=updated,
                )
            )
            links.append(ids)
            extra.append(second)
        db.allocate(Contact, rows)
        emails = [
            ContactEmail(org=org, contact_id=c.pk, email=c.email, is_primary=True, created_at=c.created_at)
            for c in rows
        ]
        emails += [
            ContactEmail(org=org, contact_id=c.pk, email=e, kind="personal", created_at=c.created_at)
            for c, e in zip(rows, extra, strict=True)
            if e
        ]
        phones = [
            ContactPhone(org=org, contact_id=c.pk, number=c.phone, is_primary=True, created_at=c.created_at)
            for c in rows
        ]
        for child in (*emails, *phones):
            child.updated_at = child.created_at
        entries = []
        for c, e in zip(rows, extra, strict=True):
            fields = _contact_fields(c, company_info[c.company_id][0] if c.company_id else "")
            if e:
                fields["keywords"].insert(1, e)
            entries.append(prepare_entry(**fields))
            entries[-1].updated_at = c.updated_at
        with transaction.atomic():
            db.insert(Contact, rows)
            db.insert(ContactEmail, emails)
            db.insert(ContactPhone, phones)
            db.insert(
                Through, [Through(contact_id=c.pk, tag_id=t) for c, ids in zip(rows, links, strict=True) for t in ids]
            )
            db.insert(SearchEntry, entries)
        done = start + len(rows)
        rate = done / (time.perf_counter() - started)
        _log(f"contacts {done}/{args.contacts} ({rate:.0f} rows/s incl. companies)")
    db.finish()


def _workspace(args: argparse.Namespace) -> tuple[Any, Any, float | None]:
    """The bench workspace and its admin membership; seeds it unless --reuse finds it seeded."""
    from django.core.management import call_command
    from django.db import connection

    from rapport.accounts.models import Membership, Organization, Team, User
    from rapport.core.customfields.definitions import custom_field_create
    from rapport.core.principal import Principal

    _log(f"migrating ({connection.vendor})")
    call_command("migrate", verbosity=0)
    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is not None and args.reuse:
        membership = Membership.objects.get(org=org, user__email="admin@bench.test")
        _log("reusing the seeded workspace")
        return org, membership, None
    if org is not None:
        raise SystemExit("The database already holds a bench workspace: use --reuse, or a fresh database.")
    org = Organization.objects.create(name="Bench", slug=ORG_SLUG)
    admin = User.objects.create_user(email="admin@bench.test", password="bench-password-1")  # noqa: S106
    membership = Membership.objects.create(org=org, user=admin, role="admin")
    principal = Principal.for_membership(membership)
    custom_field_create(
        actor=principal,
        data={
            "entity": "contact",
            "key": "segment",
            "label": "Segment",
            "type": "choice",
            "options": ["smb", "mid-market", "enterprise", "public", "nonprofit"],
        },
    )
    custom_field_create(actor=principal, data={"entity": "contact", "key": "score", "label": "Score", "type": "number"})
    custom_field_create(
        actor=principal,
        data={
            "entity": "company",
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "options": ["gold", "silver", "bronze"],
        },
    )
    team_list = [Team.objects.create(org=org, name=f"Team {n}") for n in ("North", "South", "West")]
    owners = [admin.pk]
    teams: dict[int, int | None] = {admin.pk: None}
    for i in range(19):
        user = User.objects.create_user(email=f"rep{i}@bench.test", name=f"Rep {i}")
        member = Membership.objects.create(org=org, user=user, role="sales")
        member.teams.add(team_list[i % 3])
        owners.append(user.pk)
        teams[user.pk] = team_list[i % 3].pk
    started = time.perf_counter()
    _seed(args, org, owners, teams)
    _log("analyzing")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeding = time.perf_counter() - started
    _log(f"seeded in {seeding:.0f}s")
    return org, membership, seeding


# --- measuring -------------------------------------------------------------------------------


def _prewarm(data_dir: str) -> None:
    """Read the database into the OS page cache once, as a server that has been answering for a while
    has it (the machine has room for it); cold-cache figures are higher and vary with the disk."""
    from django.db import DatabaseError, connection

    if connection.vendor == "sqlite":
        for suffix in ("", "-wal"):
            path = Path(data_dir, f"rapport.sqlite3{suffix}")
            if path.exists():
                with path.open("rb") as f:
                    while f.read(1 << 24):
                        pass
        return
    with connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except DatabaseError:  # the contrib package is not installed: measure without
            _log("pg_prewarm is not available; measuring with a cold cache")
            return
        cursor.execute(
            "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 't')"
        )


def _explain(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--queries", type=int, default=100, help="timed runs per case (after 3 warm-up runs)")
    parser.add_argument("--reuse", action="store_true", help="keep a database seeded by an earlier run")
    parser.add_argument("--explain", action="store_true", help="print each list query's plan to stderr")
    args = parser.parse_args()
    _setup(args)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from rapport.accounts import services as account_services
    from rapport.accounts.models import Membership
    from rapport.contacts import choices
    from rapport.contacts.models import Company, Contact
    from rapport.core.models import SearchEntry
    from rapport.core.principal import Principal

    org, membership, seeding = _workspace(args)
    _log("reading the database into the page cache")
    _prewarm(os.environ["RAPPORT_DATA_DIR"])
    rng = random.Random(SEED + 1)
    contact_ids = list(Contact.objects.filter(org=org).values_list("pk", flat=True).order_by("?")[:5000])
    samples = list(Contact.objects.filter(pk__in=contact_ids[:2000]).values("full_name", "email", "phone"))
    cities = list(Contact.objects.filter(pk__in=contact_ids[:2000]).values_list("city", flat=True))
    company_cities = list(Company.objects.filter(org=org).order_by("?").values_list("city", flat=True)[:500])
    owner_ids = list(Membership.objects.filter(org=org).values_list("user_id", flat=True))

    principal = Principal.for_membership(membership)
    _, secret = account_services.token_create(actor=principal, name="bench", scope="read")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    web = Client()
    web.force_login(membership.user)
    gc.collect()
    gc.freeze()  # as a long-running server's startup objects are: out of the collector's way

    def timed(client: Client, url: str) -> tuple[float, Any]:
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return elapsed, response

    n = args.queries
    results: dict[str, dict[str, Any]] = {}

    def record(name: str, kind: str, timings: list[float]) -> None:
        stats: dict[str, Any] = _stats(timings)
        if kind in TARGETS_MS:  # "info" cases have no target
            stats["target_ms"] = TARGETS_MS[kind]
            stats["met"] = stats["p95_ms"] <= TARGETS_MS[kind]
        results[name] = stats
        _log(f"{name}: {stats}")

    countries = [c for _, c, _ in LOCALES]
    stages = list(STAGES)
    industries = list(choices.INDUSTRIES.values)
    list_cases: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
        "contacts country+stage,-created_at": (
            "/api/v1/contacts",
            lambda: {
                "filter": [f"country:eq:{rng.choice(countries)}", f"lifecycle_stage:eq:{rng.choice(stages)}"],
                "sort": "-created_at",
            },
        ),
        "contacts city,last_name": (
            "/api/v1/contacts",
            lambda: {"filter": f"city:eq:{rng.choice(cities)}", "sort": "last_name"},
        ),
        "contacts stage,-updated_at": (
            "/api/v1/contacts",
            lambda: {"filter": f"lifecycle_stage:eq:{rng.choice(stages)}", "sort": "-updated_at"},
        ),
        "contacts country,email": (
            "/api/v1/contacts",
            lambda: {"filter": f"country:eq:{rng.choice(countries)}", "sort": "email"},
        ),
        "contacts owner (default sort)": (
            "/api/v1/contacts",
            lambda: {"filter": f"owner_id:eq:{rng.choice(owner_ids)}"},
        ),
        "contacts tag (default sort)": ("/api/v1/contacts", lambda: {"filter": f"tag:eq:{rng.choice(TAGS[:4])}"}),
        "contacts no filter,-created_at": ("/api/v1/contacts", lambda: {"sort": "-created_at"}),
        "contacts no filter,full_name": ("/api/v1/contacts", lambda: {"sort": "full_name"}),
        "companies no filter (default sort)": ("/api/v1/companies", lambda: {}),
        "companies country (default sort)": (
            "/api/v1/companies",
            lambda: {"filter": f"country:eq:{rng.choice(countries)}"},
        ),
        "companies industry,-created_at": (
            "/api/v1/companies",
            lambda: {"filter": f"industry:eq:{rng.choice(industries)}", "sort": "-created_at"},
        ),
        "companies city,name": (
            "/api/v1/companies",
            lambda: {"filter": f"city:eq:{rng.choice(company_cities)}", "sort": "name"},
        ),
    }
    for name, (path, make) in list_cases.items():
        first_page, next_page = [], []
        for run in range(n + 3):
            url = f"{path}?{urlencode({**make(), 'limit': 50}, doseq=True)}"
            if run == 0 and args.explain:
                with CaptureQueriesContext(connection) as ctx:
                    timed(api, url)
                table = "contacts_contact" if "contacts" in path else "contacts_company"
                listing = [q for q in ctx.captured_queries if f'FROM "{table}"' in q["sql"]]
                _log(f"{name}: {len(ctx.captured_queries)} queries; list query plan:")
                for q in listing:
                    sql = q["sql"]
                    # Re-run the captured statement (parameters are inlined by the capture) under EXPLAIN.
                    print(_explain(sql, None), file=sys.stderr)
            ms, response = timed(api, url)
            cursor = response.json().get("next_cursor")
            if cursor:
                ms_next, _ = timed(api, f"{url}&cursor={cursor}")
            if run >= 3:  # the first runs warm caches up
                first_page.append(ms)
                if cursor:
                    next_page.append(ms_next)
        record(f"list {name}", "list", first_page)
        if next_page:
            record(f"list {name} next page", "list", next_page)

    search_cases: dict[str, Callable[[dict[str, str]], str]] = {
        "prefix": lambda s: s["full_name"].split()[0][:3],
        "two-word prefix": lambda s: " ".join(w[:3] for w in s["full_name"].split()[:2]),
        "full name": lambda s: s["full_name"],
        "email": lambda s: s["email"],
        "phone": lambda s: s["phone"],
        "phone last digits": lambda s: s["phone"][-7:],
    }
    for name, make_q in search_cases.items():
        timings = [timed(api, f"/api/v1/search?q={quote(make_q(rng.choice(samples)))}")[0] for _ in range(n + 3)]
        record(f"search {name}", "search", timings[3:])

    timings = [timed(web, f"/contacts/{rng.choice(contact_ids)}/")[0] for _ in range(n + 3)]
    record("contact page", "page", timings[3:])
    timings = [timed(web, "/contacts/?" + urlencode({"country": rng.choice(countries)}))[0] for _ in range(n + 3)]
    record("contacts list page (country filter)", "info", timings[3:])

    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "contacts": Contact.objects.count(),
                "companies": Company.objects.count(),
                "search_entries": SearchEntry.objects.count(),
                "seeding_s": round(seeding, 1) if seeding is not None else None,
                "queries": n,
                "all_targets_met": all(r.get("met", True) for r in results.values()),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
