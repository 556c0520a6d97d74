"""Every sortable field of the contact and company lists sorts, both ways, across cursor pages.

Three records get three distinct values of the field (one of them empty where the field may be
empty); the API must list them in that order ascending and in the reverse order descending, one
record per page, so the cursor over each sort is exercised too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from rapport.contacts.models import Company, Contact
from rapport.contacts.selectors import COMPANY_FILTERS, CONTACT_FILTERS
from rapport.contacts.tests.factories import CompanyFactory, ContactFactory

# field → three stored values in ascending order (the first is the "empty" one where possible)
CONTACT_VALUES: dict[str, tuple[Any, Any, Any]] = {
    "first_name": ("Ann", "Bob", "Cyd"),
    "last_name": ("Abe", "Bach", "Cole"),
    "full_name": ("Ann Abe", "Bob Bach", "Cyd Cole"),
    "email": ("", "a@example.org", "b@example.org"),
    "phone": ("", "+33123456789", "+44207946000"),
    "job_title": ("", "Buyer", "Director"),
    "profession": ("", "Chemist", "Dentist"),
    "birth_date": (None, date(1970, 1, 2), date(1990, 5, 6)),
    "gender": ("female", "male", "unspecified"),
    "language": ("", "de", "fr"),
    "lifecycle_stage": ("customer", "lead", "subscriber"),
    "lead_status": ("", "new", "open"),
    "lead_source": ("", "advertising", "referral"),
    "do_not_email": (False, False, True),
    "do_not_call": (False, False, True),
    "do_not_sms": (False, False, True),
    "city": ("", "Berlin", "Paris"),
    "region": ("", "Bavaria", "Occitanie"),
    "postal_code": ("", "10115", "75001"),
    "country": ("", "DE", "FR"),
    "external_id": (None, "crm-1", "crm-2"),
    "company": (None, "Acme", "Globex"),
}
COMPANY_VALUES: dict[str, tuple[Any, Any, Any]] = {
    "name": ("Acme", "Globex", "Initech"),
    "domain": ("", "acme.example", "globex.example"),
    "industry": ("", "construction", "retail"),
    "size": ("", "1-10", "11-50"),
    "annual_revenue": (None, Decimal("1000.00"), Decimal("25000.50")),
    "city": ("", "Berlin", "Paris"),
    "region": ("", "Bavaria", "Occitanie"),
    "postal_code": ("", "10115", "75001"),
    "country": ("", "DE", "FR"),
    "external_id": (None, "erp-1", "erp-2"),
}
TIMESTAMPS = {"created_at", "updated_at"}


def _sortable(fields: dict[str, Any]) -> list[str]:
    return sorted(name for name, spec in fields.items() if spec.sortable and name not in TIMESTAMPS)


def test_the_value_tables_cover_every_sortable_field():
    assert set(CONTACT_VALUES) == set(_sortable(CONTACT_FILTERS))
    assert set(COMPANY_VALUES) == set(_sortable(COMPANY_FILTERS))


def _walk(client: Any, url: str, sort: str) -> list[int]:
    ids: list[int] = []
    cursor = ""
    for _ in range(10):
        query = urlencode({"sort": sort, "limit": 1, **({"cursor": cursor} if cursor else {})})
        resp = client.get(f"{url}?{query}")
        assert resp.status_code == 200, resp.content
        body = resp.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return ids
    raise AssertionError("the pages never ended")


def _contact(org: Any, field: str, value: Any, rank: int) -> Contact:
    # Ties on the sorted value (booleans) are broken by id, so records are made in rank order.
    if field == "company":
        company = CompanyFactory.create(org=org, name=value) if value else None
        return ContactFactory.create(org=org, company=company)
    if field == "full_name":
        return ContactFactory.create(org=org, full_name=value)
    return ContactFactory.create(org=org, **{field: value})


@pytest.mark.parametrize("field", sorted(CONTACT_VALUES))
def test_contacts_sort_by_each_sortable_field_both_ways(api, admin, org, field):
    made = [_contact(org, field, value, rank).pk for rank, value in enumerate(CONTACT_VALUES[field])]
    client = api(admin)
    assert _walk(client, "/api/v1/contacts", field) == made
    descending = _walk(client, "/api/v1/contacts", f"-{field}")
    if CONTACT_VALUES[field][0] == CONTACT_VALUES[field][1]:  # a tie: the id breaks it, descending too
        assert descending == [made[2], made[1], made[0]]
    else:
        assert descending == made[::-1]


@pytest.mark.parametrize("field", sorted(COMPANY_VALUES))
def test_companies_sort_by_each_sortable_field_both_ways(api, admin, org, field):
    values = COMPANY_VALUES[field]
    made = []
    for value in values:
        extra = {} if field == "name" else {"name": "Same name"}
        made.append(CompanyFactory.create(org=org, **{field: value, **extra}).pk)
    client = api(admin)
    assert _walk(client, "/api/v1/companies", field) == made
    assert _walk(client, "/api/v1/companies", f"-{field}") == made[::-1]


def test_a_sort_on_a_field_that_cannot_sort_names_the_sortable_ones(api, admin):
    resp = api(admin).get("/api/v1/contacts?sort=tag")
    assert resp.status_code == 422
    assert "job_title" in resp.json()["error"]["message"]
    assert Company.objects.count() == 0
