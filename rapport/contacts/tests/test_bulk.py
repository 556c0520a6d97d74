"""Bulk upsert (POST /api/v1/contacts/bulk and /companies/bulk): per-record results, no half-written
record, matching on external_id or email/domain, the 1,000 limit, and permissions per record."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.models import Membership
from rapport.accounts.roles import Role
from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone, Tag
from rapport.contacts.tests.factories import CompanyFactory, api_error, contact_with
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import TeamFactory

CONTACTS = "/api/v1/contacts/bulk"
COMPANIES = "/api/v1/companies/bulk"


def statuses(body: dict[str, Any]) -> list[str]:
    return [r["status"] for r in body["results"]]


def test_mixed_good_and_bad_contacts_report_per_record_and_only_the_good_persist(api, admin, org):
    existing = contact_with(org, first_name="Old", external_id="ext-2", email="old@example.org")
    records: list[dict[str, Any]] = [
        {"first_name": "Ann", "external_id": "ext-1", "emails": [{"email": "Ann@Example.org"}]},
        {"first_name": "x" * 101, "external_id": "ext-schema"},  # refused by the schema
        {"first_name": "Bad", "external_id": "ext-country", "country": "Narnia"},  # refused by the service
        {
            "first_name": "Half",
            "external_id": "ext-half",
            "emails": [{"email": "half@example.org"}],
            "phones": [{"number": "12"}],
            "tags": ["half-tag"],
        },
        {"first_name": "Renamed", "external_id": "ext-2"},
        {"job_title": "Nobody"},  # neither name nor email
        {"first_name": "Cy", "external_id": "ext-3", "emails": "cy@example.org"},  # not a list
    ]
    resp = api(admin).post(CONTACTS, {"records": records})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert statuses(body) == ["created", "error", "error", "error", "updated", "error", "error"]
    assert (body["created"], body["updated"], body["errors"]) == (1, 1, 5)
    assert [r["index"] for r in body["results"]] == list(range(7))
    results = body["results"]
    assert "first_name" in results[1]["error"]["fields"]
    assert "country" in results[2]["error"]["fields"]
    assert "phones.0.number" in results[3]["error"]["fields"]
    assert results[5]["error"]["code"] == "name_or_email_required"
    assert all(r["error"]["message"] for r in results if r["status"] == "error")
    assert results[4]["id"] == existing.pk

    ann = Contact.objects.get(pk=results[0]["id"])
    assert (ann.first_name, ann.email, ann.external_id) == ("Ann", "ann@example.org", "ext-1")
    assert Contact.objects.get(pk=existing.pk).first_name == "Renamed"
    assert Contact.objects.get(pk=existing.pk).email == "old@example.org"  # emails not given: kept
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"ext-1", "ext-2"}
    # the half-valid record left nothing behind: no contact, no email, no phone, no tag
    assert not ContactEmail.objects.filter(email="half@example.org").exists()
    assert not ContactPhone.objects.exists()
    assert not Tag.objects.filter(name="half-tag").exists()
    assert Event.objects.filter(verb="contact.created").count() == 1
    assert Event.objects.filter(verb="contact.updated").count() == 1


def test_bulk_matches_on_primary_email(api, admin, org):
    existing = contact_with(org, first_name="Jo", email="jo@example.org")
    resp = api(admin).post(
        CONTACTS,
        {
            "match_on": "email",
            "records": [
                {"emails": [{"email": "JO@example.org"}], "job_title": "CEO"},
                {"first_name": "New", "emails": [{"email": "new@example.org"}]},
            ],
        },
    )
    body = resp.json()
    assert statuses(body) == ["updated", "created"], body
    assert body["results"][0]["id"] == existing.pk
    assert Contact.objects.get(pk=existing.pk).job_title == "CEO"
    assert Contact.objects.count() == 2


def test_a_repeated_external_id_in_one_batch_creates_then_updates(api, admin):
    body = (
        api(admin)
        .post(
            CONTACTS,
            {"records": [{"first_name": "A", "external_id": "dup"}, {"first_name": "B", "external_id": "dup"}]},
        )
        .json()
    )
    assert statuses(body) == ["created", "updated"]
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["B"]


def test_a_bad_update_leaves_the_matched_contact_as_it_was(api, admin, org):
    existing = contact_with(org, first_name="Jo", external_id="e1", email="jo@example.org", phone="+12125550134")
    body = (
        api(admin)
        .post(
            CONTACTS,
            {
                "records": [
                    {
                        "external_id": "e1",
                        "first_name": "Changed",
                        "emails": [{"email": "ok@example.org"}],
                        "phones": [{"number": "1"}],
                    }
                ]
            },
        )
        .json()
    )
    assert statuses(body) == ["error"]
    fresh = Contact.objects.get(pk=existing.pk)
    assert (fresh.first_name, fresh.email, fresh.phone, fresh.version) == ("Jo", "jo@example.org", "+12125550134", 1)
    assert list(ContactEmail.objects.values_list("email", flat=True)) == ["jo@example.org"]


@pytest.mark.parametrize("count", [0, 1001])
def test_an_empty_or_oversize_batch_is_422_and_writes_nothing(api, admin, count):
    records = [{"first_name": f"P{i}"} for i in range(count)]
    err = api_error(api(admin).post(CONTACTS, {"records": records}), 422)
    assert "records" in err["fields"]
    assert not Contact.objects.exists()


def test_a_batch_of_exactly_1000_is_accepted(api, admin):
    records = [{"first_name": f"P{i}", "external_id": f"p{i}"} for i in range(1000)]
    body = api(admin).post(CONTACTS, {"records": records}).json()
    assert body["created"] == 1000 and body["errors"] == 0
    assert Contact.objects.count() == 1000


def test_an_unknown_match_key_is_422(api, admin):
    err = api_error(api(admin).post(CONTACTS, {"match_on": "phone", "records": [{"first_name": "A"}]}), 422)
    assert "match_on" in err["fields"]
    assert not Contact.objects.exists()


def test_a_matching_record_the_actor_may_not_write_is_an_error_for_that_record_only(api, admin, org, member_of):
    rep = member_of(Role.SALES)
    foreign = contact_with(org, first_name="Admins", external_id="adm", owner=admin.user)
    body = (
        api(rep)
        .post(
            CONTACTS,
            {
                "records": [
                    {"external_id": "adm", "first_name": "Hijacked"},
                    {"external_id": "mine", "first_name": "Mine"},
                ]
            },
        )
        .json()
    )
    assert statuses(body) == ["error", "created"]
    assert body["results"][0]["error"]["code"] == "permission_denied"
    assert Contact.objects.get(pk=foreign.pk).first_name == "Admins"
    mine = Contact.objects.get(external_id="mine")
    assert mine.owner_id == rep.user_id


def test_a_matching_record_in_the_reps_team_is_updated(api, org, admin, member_of):
    rep = member_of(Role.SALES)
    team = TeamFactory.create(org=org)
    membership = Membership.objects.get(org=org, user_id=rep.user_id)
    team.members.add(membership)
    rep = Principal.for_membership(membership)
    shared = contact_with(org, first_name="Shared", external_id="sh", owner=admin.user, team=team)
    body = api(rep).post(CONTACTS, {"records": [{"external_id": "sh", "job_title": "Buyer"}]}).json()
    assert statuses(body) == ["updated"]
    assert Contact.objects.get(pk=shared.pk).job_title == "Buyer"


@pytest.mark.parametrize("how", ["viewer", "read_token"])
def test_a_caller_who_may_not_write_gets_errors_and_nothing_is_written(api, admin, org, member_of, how):
    existing = contact_with(org, first_name="Jo", external_id="e1")
    client = api(member_of(Role.VIEWER)) if how == "viewer" else api(admin, "read")
    resp = client.post(CONTACTS, {"records": [{"first_name": "New"}, {"external_id": "e1", "first_name": "X"}]})
    if resp.status_code == 200:
        assert statuses(resp.json()) == ["error", "error"]
    else:
        api_error(resp, 403)
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Jo"]
    assert Contact.objects.get(pk=existing.pk).version == 1


def test_a_record_of_another_workspace_is_never_matched(api, admin, other_org):
    theirs = contact_with(other_org, first_name="Theirs", external_id="shared-ext")
    body = api(admin).post(CONTACTS, {"records": [{"external_id": "shared-ext", "first_name": "Mine"}]}).json()
    assert statuses(body) == ["created"]
    assert Contact.objects.get(pk=theirs.pk).first_name == "Theirs"
    assert Contact.objects.get(pk=body["results"][0]["id"]).org_id == admin.org_id


# --- companies -----------------------------------------------------------------------------------


def test_mixed_companies_report_per_record(api, admin, org):
    existing = CompanyFactory.create(org=org, name="Old", external_id="c2")
    body = (
        api(admin)
        .post(
            COMPANIES,
            {
                "records": [
                    {"name": "Initech", "external_id": "c1", "website": "https://www.initech.example"},
                    {"name": "Bad", "external_id": "c-bad", "industry": "spaceflight"},
                    {"external_id": "c-noname"},
                    {"name": "Renamed", "external_id": "c2"},
                    {"name": "Bad revenue", "annual_revenue": "-1"},
                    {"name": "Bad currency", "external_id": "c-cur", "tags": ["t-cur"], "revenue_currency": "XXQ"},
                ]
            },
        )
        .json()
    )
    assert statuses(body) == ["created", "error", "error", "updated", "error", "error"]
    assert (body["created"], body["updated"], body["errors"]) == (1, 1, 4)
    assert "industry" in body["results"][1]["error"]["fields"]
    assert "name" in body["results"][2]["error"]["fields"]
    created = Company.objects.get(pk=body["results"][0]["id"])
    assert created.domain == "initech.example"
    assert Company.objects.get(pk=existing.pk).name == "Renamed"
    assert set(Company.objects.values_list("external_id", flat=True)) == {"c1", "c2"}
    assert not Tag.objects.filter(name="t-cur").exists()


def test_companies_match_on_domain_with_match_on_email(api, admin, org):
    existing = CompanyFactory.create(org=org, name="Initech", domain="initech.example")
    body = (
        api(admin)
        .post(COMPANIES, {"match_on": "email", "records": [{"name": "Initech Ltd", "domain": "Initech.example"}]})
        .json()
    )
    assert statuses(body) == ["updated"]
    assert Company.objects.get(pk=existing.pk).name == "Initech Ltd"
    assert Company.objects.count() == 1


def test_an_oversize_company_batch_is_422(api, admin):
    api_error(api(admin).post(COMPANIES, {"records": [{"name": f"C{i}"} for i in range(1001)]}), 422)
    assert not Company.objects.exists()


def test_a_matching_company_the_rep_may_not_write_is_an_error_for_that_record_only(api, admin, org, member_of):
    rep = member_of(Role.SALES)
    foreign = CompanyFactory.create(org=org, name="Admins Inc", external_id="adm", owner=admin.user)
    body = (
        api(rep)
        .post(
            COMPANIES,
            {"records": [{"external_id": "adm", "name": "Hijacked"}, {"external_id": "own", "name": "Own Inc"}]},
        )
        .json()
    )
    assert statuses(body) == ["error", "created"]
    assert body["results"][0]["error"]["code"] == "permission_denied"
    assert Company.objects.get(pk=foreign.pk).name == "Admins Inc"
    assert Company.objects.get(external_id="own").owner_id == rep.user_id
