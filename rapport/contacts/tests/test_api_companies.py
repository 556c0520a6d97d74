"""The companies API: validation (422 naming the field, nothing written), normalisation, hierarchy,
ETag / If-Match, Idempotency-Key, events, trash and restore."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.contacts.models import Company, Tag
from rapport.contacts.tests.factories import CompanyFactory, api_error, contact_with
from rapport.core.models import Event
from rapport.testing.factories import TeamFactory

URL = "/api/v1/companies"


def written() -> tuple[int, ...]:
    return (
        Company.objects.count(),
        Tag.objects.count(),
        Event.objects.filter(subject_type__in=["contact", "company"]).count(),
    )


def detail(company: Company) -> str:
    return f"{URL}/{company.pk}"


BAD_COMPANY_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"website": "javascript:alert(1)"}, "website"),
    ({"website": "ftp://files.example.com"}, "website"),
    ({"website": "https://exa mple.com"}, "website"),
    ({"domain": "not a domain"}, "domain"),
    ({"email_domains": ["example.com", "bad domain"]}, "email_domains"),
    ({"industry": "spaceflight"}, "industry"),
    ({"size": "huge"}, "size"),
    ({"annual_revenue": "-5"}, "annual_revenue"),
    ({"annual_revenue": "lots"}, "annual_revenue"),
    ({"revenue_currency": "XYZ"}, "revenue_currency"),
    ({"revenue_currency": "EURO"}, "revenue_currency"),
    ({"country": "Atlantis"}, "country"),
    ({"phone": "12"}, "phone"),
    ({"description": "x" * 20001}, "description"),
    ({"owner_id": 987654321}, "owner_id"),
    ({"team_id": 987654321}, "team_id"),
    ({"parent_id": 987654321}, "parent_id"),
    ({"tags": ["x" * 61]}, "tags"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_COMPANY_FIELDS)
def test_create_with_an_invalid_field_answers_422_naming_it_and_writes_nothing(api, admin, payload, field):
    before = written()
    err = api_error(api(admin).post(URL, {"name": "Initech", **payload}), 422)
    assert field in err["fields"], err
    assert written() == before


@pytest.mark.parametrize(("payload", "field"), BAD_COMPANY_FIELDS)
def test_patch_with_an_invalid_field_answers_422_and_changes_nothing(api, admin, org, payload, field):
    company = CompanyFactory.create(org=org, name="Initech", industry="information")
    before = written()
    err = api_error(api(admin).patch(detail(company), payload, **{"If-Match": '"v1"'}), 422)
    assert field in err["fields"], err
    assert written() == before
    fresh = Company.objects.get(pk=company.pk)
    assert (fresh.name, fresh.industry, fresh.version) == ("Initech", "information", 1)


def test_a_company_needs_a_name(api, admin):
    err = api_error(api(admin).post(URL, {"website": "https://initech.example"}), 422)
    assert "name" in err["fields"]
    assert not Company.objects.exists()


def test_ids_of_another_workspace_are_refused_as_unknown(api, admin, other_admin, other_org):
    other_parent = CompanyFactory.create(org=other_org)
    other_team = TeamFactory.create(org=other_org)
    err = api_error(
        api(admin).post(
            URL,
            {
                "name": "Initech",
                "parent_id": other_parent.pk,
                "team_id": other_team.pk,
                "owner_id": other_admin.user_id,
            },
        ),
        422,
    )
    assert {"parent_id", "team_id", "owner_id"} <= set(err["fields"])
    assert not Company.objects.filter(org_id=admin.org_id).exists()


def test_create_normalises_values_and_derives_the_domain_from_the_website(api, admin):
    resp = api(admin).post(
        URL,
        {
            "name": "  Initech  ",
            "website": "https://www.Initech.Example/about",
            "email_domains": ["Initech.example", "mail.initech.example", "initech.example"],
            "industry": "Information",
            "size": "51-200",
            "annual_revenue": "1250000.5",
            "revenue_currency": "eur",
            "phone": "(212) 555-0134",
            "country": "GBR",
            "tags": ["key account"],
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["name"] == "Initech"
    assert body["domain"] == "initech.example"
    assert body["email_domains"] == ["initech.example", "mail.initech.example"]
    assert (body["industry"], body["size"], body["revenue_currency"]) == ("information", "51-200", "EUR")
    assert Decimal(str(body["annual_revenue"])) == Decimal("1250000.50")
    assert (body["phone"], body["country"]) == ("+12125550134", "GB")
    assert body["tags"] == ["key account"]
    assert body["owner"]["id"] == admin.user_id
    assert Event.objects.filter(verb="company.created", subject_id=body["id"]).count() == 1


def test_an_explicit_domain_wins_over_the_website(api, admin):
    body = api(admin).post(URL, {"name": "Initech", "website": "initech.example", "domain": "initech.com"}).json()
    assert (body["website"], body["domain"]) == ("https://initech.example", "initech.com")


def test_a_parent_makes_a_hierarchy_and_cycles_are_refused(api, admin, org):
    client = api(admin)
    parent = CompanyFactory.create(org=org, name="Holding")
    child = client.post(URL, {"name": "Subsidiary", "parent_id": parent.pk}).json()
    assert child["parent"] == {"id": parent.pk, "name": "Holding"}
    err = api_error(client.patch(detail(parent), {"parent_id": child["id"]}, **{"If-Match": '"v1"'}), 422)
    assert "parent_id" in err["fields"]
    assert Company.objects.get(pk=parent.pk).parent_id is None
    err = api_error(client.patch(detail(parent), {"parent_id": parent.pk}, **{"If-Match": '"v1"'}), 422)
    assert "parent_id" in err["fields"]


def test_patch_changes_only_named_fields_and_records_old_and_new(api, admin, org):
    company = CompanyFactory.create(org=org, name="Initech", industry="information", country="FR")
    resp = api(admin).patch(detail(company), {"industry": "manufacturing"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert resp["ETag"] == '"v2"'
    fresh = Company.objects.get(pk=company.pk)
    assert (fresh.name, fresh.industry, fresh.country) == ("Initech", "manufacturing", "FR")
    assert Event.objects.get(verb="company.updated").changes == {"industry": ["information", "manufacturing"]}


def test_patch_without_if_match_is_428_and_a_stale_one_is_412(api, admin, org):
    company = CompanyFactory.create(org=org, name="Initech")
    client = api(admin)
    api_error(client.patch(detail(company), {"name": "Initrode"}), 428)
    Company.objects.filter(pk=company.pk).update(version=2)
    api_error(client.patch(detail(company), {"name": "Initrode"}, **{"If-Match": '"v1"'}), 412)
    fresh = Company.objects.get(pk=company.pk)
    assert (fresh.name, fresh.version) == ("Initech", 2)
    assert not Event.objects.filter(verb="company.updated").exists()


def test_repeating_a_create_with_the_same_idempotency_key_creates_one_company(api, admin):
    client = api(admin)
    first = client.post(URL, {"name": "Initech"}, **{"Idempotency-Key": "co-1"})
    again = client.post(URL, {"name": "Initech"}, **{"Idempotency-Key": "co-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Company.objects.count() == 1


def test_trash_and_restore_a_company(api, admin, org):
    company = CompanyFactory.create(org=org, name="Initech")
    contact = contact_with(org, first_name="Jo", company=company)
    client = api(admin)
    assert client.delete(detail(company)).status_code == 204
    api_error(client.get(detail(company)), 404)
    assert client.get(URL).json()["items"] == []
    assert [c["id"] for c in client.get(f"{URL}?trashed=true").json()["items"]] == [company.pk]
    resp = client.post(f"{detail(company)}/restore")
    assert resp.status_code == 200 and resp.json()["deleted_at"] is None
    assert [c["id"] for c in client.get(URL).json()["items"]] == [company.pk]
    assert Company.objects.get(pk=company.pk).contacts.get() == contact
    assert [e.verb for e in Event.objects.filter(subject_type="company").order_by("id")] == [
        "company.trashed",
        "company.restored",
    ]


def test_a_trashed_company_is_not_a_valid_parent(api, admin, org):
    parent = CompanyFactory.create(org=org, deleted_at=timezone.now())
    err = api_error(api(admin).post(URL, {"name": "Sub", "parent_id": parent.pk}), 422)
    assert "parent_id" in err["fields"]
