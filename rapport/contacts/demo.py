"""Demo contacts and companies for `rapport demo`: ~10,000 people and ~1,000 companies.

Deterministic (fixed seeds), several countries and locales, a spread of ages, professions,
industries and lifecycle stages. Written with bulk inserts in batches so the whole demo stays well
under a minute; each record still gets its `contact.created` / `company.created` event so the
timeline and the audit trail are not empty. Run again, it leaves existing demo data as it is.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from faker import Faker

from rapport.accounts.models import Membership, Team
from rapport.contacts import choices
from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone, Tag
from rapport.core.customfields.definitions import custom_field_create
from rapport.core.models import CustomField, Event
from rapport.core.normalize import domain as normalize_domain
from rapport.core.normalize import full_name
from rapport.core.principal import Principal

CONTACTS = 10_000
COMPANIES = 1_000
BATCH = 2_000
SEED = 20261123
# (Faker locale, ISO country, phone region, share of records)
LOCALES = [
    ("en_US", "US", "US", 0.35),
    ("en_GB", "GB", "GB", 0.15),
    ("fr_FR", "FR", "FR", 0.15),
    ("de_DE", "DE", "DE", 0.15),
    ("es_ES", "ES", "ES", 0.1),
    ("it_IT", "IT", "IT", 0.05),
    ("nl_NL", "NL", "NL", 0.05),
]
TAGS = ["vip", "newsletter", "partner", "event-2026", "churn-risk", "referral", "enterprise", "trial"]
STAGE_WEIGHTS = {
    "subscriber": 12,
    "lead": 30,
    "marketing_qualified": 12,
    "sales_qualified": 8,
    "opportunity": 8,
    "customer": 22,
    "evangelist": 4,
    "other": 4,
}

Hook = Callable[[list[Contact], list[Company]], None]
# Called with the records the demo created, e.g. by the search index to index them in bulk.
AFTER_DEMO: list[Hook] = []


def _scaled(count: int) -> int:
    """The demo size times settings.DEMO_SCALE (the test suite uses a small fraction)."""
    return max(1, round(count * settings.DEMO_SCALE))


def _batched(items: list[Any], size: int = BATCH) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _phone(region: str, rng: random.Random) -> str:
    """A valid E.164 number of the region (the example number with randomised trailing digits)."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None, f"phonenumbers has no example mobile number for {region}"
    national = str(example.national_number)
    for _ in range(20):
        candidate = national[:-4] + f"{rng.randrange(10_000):04d}"
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _pick_locale(rng: random.Random) -> tuple[str, str, str, float]:
    return rng.choices(LOCALES, weights=[share for *_, share in LOCALES])[0]


def _company_rows(
    actor: Principal, fakers: dict[str, Faker], rng: random.Random, owners: list[int], teams: list[int | None]
) -> list[Company]:
    industries = list(choices.INDUSTRIES.values)
    sizes = list(choices.COMPANY_SIZES.values)
    rows: list[Company] = []
    seen: set[str] = set()
    while len(rows) < _scaled(COMPANIES):
        locale, country, region, _ = _pick_locale(rng)
        fake = fakers[locale]
        name = fake.company()
        if name in seen:
            continue
        seen.add(name)
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = "".join(ch for ch in ascii_name.lower() if ch.isalnum())[:30] or f"company{len(rows)}"
        domain = normalize_domain(f"{slug}.example", field="domain") if slug else ""
        rows.append(
            Company(
                org_id=actor.org_id,
                created_by=actor.user,
                owner_id=rng.choice(owners),
                team_id=rng.choice(teams),
                name=name,
                website=f"https://www.{domain}",
                domain=domain,
                email_domains=[domain],
                industry=rng.choice(industries),
                size=rng.choice(sizes),
                annual_revenue=Decimal(rng.randrange(50_000, 500_000_000)).quantize(Decimal("1.00")),
                revenue_currency="GBP" if country == "GB" else "USD" if country == "US" else "EUR",
                street=fake.street_address(),
                city=fake.city(),
                postal_code=fake.postcode(),
                country=country,
                phone=_phone(region, rng),
                external_id=f"demo-company-{len(rows) + 1}",
            )
        )
    return rows


def _contact_rows(
    actor: Principal,
    fakers: dict[str, Faker],
    rng: random.Random,
    owners: list[int],
    teams: list[int | None],
    companies: list[Company],
) -> tuple[list[Contact], list[tuple[str, str]]]:
    stages, weights = list(STAGE_WEIGHTS), list(STAGE_WEIGHTS.values())
    genders = ["female", "male", "female", "male", "non_binary", "unspecified"]
    sources = list(choices.LEAD_SOURCES.values)
    today = date(2026, 11, 1)
    rows, contact_points = [], []
    for i in range(_scaled(CONTACTS)):
        locale, country, region, _ = _pick_locale(rng)
        fake = fakers[locale]
        gender = rng.choice(genders)
        first = (
            fake.first_name_female()
            if gender == "female"
            else fake.first_name_male()
            if gender == "male"
            else fake.first_name()
        )
        last = fake.last_name()
        company = rng.choice(companies) if rng.random() < 0.7 else None
        ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
        local = "".join(ch for ch in ascii_name.lower() if ch.isalnum() or ch == ".")
        email = f"{local}{i}@{company.domain if company else 'mail.example'}"
        age_days = int(rng.triangular(18 * 365, 80 * 365, 38 * 365))
        stage = rng.choices(stages, weights)[0]
        rows.append(
            Contact(
                org_id=actor.org_id,
                created_by=actor.user,
                owner_id=rng.choice(owners),
                team_id=rng.choice(teams),
                first_name=first,
                last_name=last,
                full_name=full_name(first, last),
                company=company,
                job_title=fake.job()[:150],
                profession=fake.job()[:150],
                birth_date=today - timedelta(days=age_days),
                gender=gender,
                language=locale[:2],
                lifecycle_stage=stage,
                lead_source=rng.choice(sources),
                lead_status="new" if stage in {"lead", "subscriber"} else "",
                email=email,
                phone=_phone(region, rng),
                street=fake.street_address(),
                city=fake.city(),
                postal_code=fake.postcode(),
                country=country,
                do_not_email=rng.random() < 0.04,
                do_not_call=rng.random() < 0.06,
                external_id=f"demo-contact-{i + 1}",
            )
        )
        contact_points.append((email, rows[-1].phone))
    return rows, contact_points


DEMO_CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"entity": "contact", "key": "loyalty_tier", "label": "Loyalty tier", "type": "choice"}
    | {"options": ["Bronze", "Silver", "Gold", "Platinum"], "help_text": "Their tier in the loyalty programme."},
    {"entity": "contact", "key": "newsletter", "label": "Newsletter", "type": "boolean"},
    {"entity": "contact", "key": "interests", "label": "Interests", "type": "multi_choice"}
    | {"options": ["Hardware", "Software", "Services", "Training"]},
    {"entity": "company", "key": "contract_renewal", "label": "Contract renewal", "type": "date"},
    {"entity": "company", "key": "seats", "label": "Seats", "type": "number"},
]


def _demo_custom_fields(actor: Principal) -> None:
    """A few custom fields, so the demo shows them in forms, lists and filters."""
    existing = set(CustomField.objects.filter(org_id=actor.org_id).values_list("entity", "key"))
    for spec in DEMO_CUSTOM_FIELDS:
        if (spec["entity"], spec["key"]) not in existing:
            custom_field_create(actor=actor, data=spec)


def _demo_custom_values(contacts: list[Contact], companies: list[Company]) -> None:
    rng = random.Random(SEED + 1)  # noqa: S311 (its own stream: the other demo data stays as it was)
    interests = ["Hardware", "Software", "Services", "Training"]
    for contact in contacts:
        values: dict[str, Any] = {}
        if contact.lifecycle_stage in {"customer", "evangelist"}:
            values["loyalty_tier"] = rng.choices(["Bronze", "Silver", "Gold", "Platinum"], [50, 30, 15, 5])[0]
        if rng.random() < 0.6:
            values["newsletter"] = rng.random() < 0.7
        if rng.random() < 0.4:
            values["interests"] = [i for i in interests if rng.random() < 0.4] or [rng.choice(interests)]
        contact.custom = values
    today = date(2026, 11, 1)
    for company in companies:
        company.custom = {
            "contract_renewal": (today + timedelta(days=rng.randrange(-60, 400))).isoformat(),
            "seats": rng.randrange(1, 500),
        }


@transaction.atomic
def add_demo_contacts(actor: Principal) -> None:
    """Fill the demo workspace with companies and contacts, once."""
    if Contact.objects.filter(org_id=actor.org_id).exists():
        return
    rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
    fakers = {}
    for locale, *_ in LOCALES:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(SEED)
    owners = list(
        Membership.objects.filter(
            org_id=actor.org_id, is_active=True, role__in=["admin", "manager", "sales", "support", "marketing"]
        ).values_list("user_id", flat=True)
    )
    teams: list[int | None] = [None, *Team.objects.filter(org_id=actor.org_id).values_list("pk", flat=True)]
    tags = [Tag.objects.get_or_create(org_id=actor.org_id, name=name)[0] for name in TAGS]

    _demo_custom_fields(actor)
    companies = _company_rows(actor, fakers, rng, owners, teams)
    for batch in _batched(companies):
        Company.objects.bulk_create(batch)
    companies = list(Company.objects.filter(org_id=actor.org_id).order_by("id"))
    for child in companies[50:150]:  # some subsidiaries
        child.parent = companies[rng.randrange(50)]
    Company.objects.bulk_update(companies[50:150], ["parent"])

    contacts, points = _contact_rows(actor, fakers, rng, owners, teams, companies)
    _demo_custom_values(contacts, companies)
    Company.objects.bulk_update(companies, ["custom"], batch_size=BATCH)

    for batch in _batched(contacts):
        Contact.objects.bulk_create(batch)
    contacts = list(Contact.objects.filter(org_id=actor.org_id).order_by("id"))
    emails = [
        ContactEmail(org_id=actor.org_id, contact=c, email=e, kind="work", is_primary=True)
        for c, (e, _) in zip(contacts, points, strict=True)
    ]
    phones = [
        ContactPhone(org_id=actor.org_id, contact=c, number=p, kind="mobile", is_primary=True)
        for c, (_, p) in zip(contacts, points, strict=True)
    ]
    for batch in _batched(emails):
        ContactEmail.objects.bulk_create(batch)
    for batch in _batched(phones):
        ContactPhone.objects.bulk_create(batch)
    through = Contact.tags.through
    links = [through(contact_id=c.pk, tag_id=rng.choice(tags).pk) for c in contacts if rng.random() < 0.3]
    for batch in _batched(links):
        through.objects.bulk_create(batch, ignore_conflicts=True)
    by_id, names = {c.pk: c for c in contacts}, {t.pk: t.name for t in tags}
    for link in links:
        by_id[link.contact_id].tag_names = [names[link.tag_id]]
    Contact.objects.bulk_update([by_id[link.contact_id] for link in links], ["tag_names"], batch_size=1000)

    now = timezone.now()
    events = [
        Event(
            org_id=actor.org_id,
            actor_id=actor.user_id,
            verb="company.created",
            subject_type="company",
            subject_id=c.pk,
            changes={"name": [None, c.name]},
            created_at=now,
        )
        for c in companies
    ]
    events += [
        Event(
            org_id=actor.org_id,
            actor_id=actor.user_id,
            verb="contact.created",
            subject_type="contact",
            subject_id=c.pk,
            changes={"full_name": [None, c.full_name]},
            created_at=now,
        )
        for c in contacts
    ]
    for batch in _batched(events):
        Event.objects.bulk_create(batch)
    for hook in AFTER_DEMO:
        hook(contacts, companies)
