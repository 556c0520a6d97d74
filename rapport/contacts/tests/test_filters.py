"""List filters and sorts of the contacts and companies API: every operator kind, combinations, tags,
bad input (422 naming the problem), cursor pagination under a sort, and bounded query counts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import (
    CompanyFactory,
    ContactEmailFactory,
    ContactPhoneFactory,
    TagFactory,
    api_error,
    contact_with,
)
from rapport.testing.factories import TeamFactory

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"


def query(path: str, *filters: str, **params: Any) -> str:
    items: list[tuple[str, Any]] = [("filter", f) for f in filters]
    items += list(params.items())
    return f"{path}?{urlencode(items)}" if items else path


def ids(client: Any, path: str, *filters: str, **params: Any) -> list[int]:
    resp = client.get(query(path, *filters, **params))
    assert resp.status_code == 200, resp.content[:500]
    return [item["id"] for item in resp.json()["items"]]


def ids_set(client: Any, path: str, *filters: str, **params: Any) -> set[int]:
    found = ids(client, path, *filters, **params)
    assert len(found) == len(set(found)), "a row appears twice"
    return set(found)


@pytest.fixture
def people(org: Any) -> dict[str, Contact]:
    """A small, varied population whose every filter below picks a known subset."""
    acme = CompanyFactory.create(org=org, name="Acme Corp")
    globex = CompanyFactory.create(org=org, name="Globex")
    return {
        "ann": contact_with(
            org,
            first_name="Ann",
            last_name="Smith",
            email="ann@acme.example",
            country="FR",
            city="Paris",
            lifecycle_stage="customer",
            birth_date=date(1985, 5, 1),
            company=acme,
            job_title="CTO",
            do_not_email=True,
            tags=["vip", "partner"],
        ),
        "bob": contact_with(
            org,
            first_name="Bob",
            last_name="Smithers",
            email="bob@globex.example",
            country="DE",
            city="Berlin",
            lifecycle_stage="lead",
            birth_date=date(1995, 1, 1),
            company=globex,
            tags=["vip"],
        ),
        "cat": contact_with(
            org,
            first_name="Catherine",
            last_name="Jones",
            email="cat@example.org",
            country="FR",
            city="Lyon",
            lifecycle_stage="lead",
            job_title="Engineer",
        ),
        "dan": contact_with(org, first_name="Dan", last_name="Brown", lifecycle_stage="opportunity"),
    }


def names(people: dict[str, Contact], *keys: str) -> set[int]:
    return {people[k].pk for k in keys}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["country:eq:FR"], {"ann", "cat"}),
        (["country:eq:fr"], {"ann", "cat"}),  # text equality ignores case
        (["country:ne:FR"], {"bob", "dan"}),
        (["first_name:contains:ath"], {"cat"}),
        (["last_name:startswith:smith"], {"ann", "bob"}),
        (["city:in:Paris,Berlin"], {"ann", "bob"}),
        (["lifecycle_stage:in:lead,opportunity"], {"bob", "cat", "dan"}),
        (["lifecycle_stage:eq:customer"], {"ann"}),
        (["lifecycle_stage:ne:lead"], {"ann", "dan"}),
        (["birth_date:between:1980-01-01,1990-12-31"], {"ann"}),
        (["birth_date:before:1990-01-01"], {"ann"}),
        (["birth_date:after:1990-01-01"], {"bob"}),
        (["birth_date:empty"], {"cat", "dan"}),
        (["birth_date:not_empty"], {"ann", "bob"}),
        (["job_title:empty"], {"bob", "dan"}),
        (["job_title:not_empty"], {"ann", "cat"}),
        (["email:empty"], {"dan"}),
        (["company_id:empty"], {"cat", "dan"}),
        (["company:contains:acme"], {"ann"}),
        (["do_not_email:eq:true"], {"ann"}),
        (["do_not_email:eq:false"], {"bob", "cat", "dan"}),
        (["any_email:contains:globex"], {"bob"}),
        (["country:eq:FR", "lifecycle_stage:eq:lead"], {"cat"}),
        (["last_name:startswith:Smith", "birth_date:after:1990-01-01", "tag:eq:vip"], {"bob"}),
        (["tag:eq:vip"], {"ann", "bob"}),
        (["tag:in:vip,partner"], {"ann", "bob"}),
        (["tag:empty"], {"cat", "dan"}),
        (["country:eq:IT"], set()),
    ],
)
def test_contact_filters_select_exactly_the_matching_rows(api, admin, people, filters, expected):
    assert ids_set(api(admin), CONTACTS, *filters) == names(people, *expected)


def test_a_contact_with_two_matching_tags_is_listed_once(api, admin, people):
    found = ids(api(admin), CONTACTS, "tag:in:vip,partner", limit=50)
    assert sorted(found) == sorted(names(people, "ann", "bob"))


def test_created_at_before_and_after(api, admin, org, people):
    old = people["dan"]
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    cutoff = (timezone.now() - timedelta(days=10)).date().isoformat()
    client = api(admin)
    assert ids_set(client, CONTACTS, f"created_at:before:{cutoff}") == {old.pk}
    assert ids_set(client, CONTACTS, f"created_at:after:{cutoff}") == names(people, "ann", "bob", "cat")


def test_owner_and_team_filters(api, admin, org, member_of):
    team = TeamFactory.create(org=org)
    colleague = member_of("sales")
    mine = contact_with(org, first_name="Mine", owner=admin.user)
    theirs = contact_with(org, first_name="Theirs", owner=colleague.user, team=team)
    client = api(admin)
    assert ids_set(client, CONTACTS, f"owner_id:eq:{admin.user_id}") == {mine.pk}
    assert ids_set(client, CONTACTS, f"team_id:eq:{team.pk}") == {theirs.pk}
    assert ids_set(client, CONTACTS, "team_id:empty") == {mine.pk}
    assert ids_set(client, CONTACTS, f"owner_id:in:{admin.user_id},{colleague.user_id}") == {mine.pk, theirs.pk}


def test_company_filters(api, admin, org):
    parent = CompanyFactory.create(org=org, name="Holding", industry="finance_insurance", annual_revenue=5_000_000)
    sub = CompanyFactory.create(org=org, name="Sub", industry="information", parent=parent, annual_revenue=200_000)
    small = CompanyFactory.create(org=org, name="Small", industry="information", size="2-10")
    client = api(admin)
    assert ids_set(client, COMPANIES, "industry:eq:information") == {sub.pk, small.pk}
    assert ids_set(client, COMPANIES, "industry:in:information,finance_insurance") == {parent.pk, sub.pk, small.pk}
    assert ids_set(client, COMPANIES, "annual_revenue:between:100000,1000000") == {sub.pk}
    assert ids_set(client, COMPANIES, "annual_revenue:gte:1000000") == {parent.pk}
    assert ids_set(client, COMPANIES, "annual_revenue:empty") == {small.pk}
    assert ids_set(client, COMPANIES, f"parent_id:eq:{parent.pk}") == {sub.pk}
    assert ids_set(client, COMPANIES, "size:eq:2-10") == {small.pk}
    assert ids_set(client, COMPANIES, "name:startswith:s", "industry:eq:information") == {sub.pk, small.pk}


# --- bad filters and sorts: 422 naming the problem ---------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"filter": "shoe_size:eq:42"}, "filter.shoe_size", "shoe_size"),
        ({"filter": "country:between:A,B"}, "filter.country", "between"),
        ({"filter": "do_not_email:ne:true"}, "filter.do_not_email", "ne"),
        ({"filter": "country:like:F%"}, "filter.country", "like"),
        ({"filter": "birth_date:after:x"}, "filter.birth_date", "date"),
        ({"filter": "created_at:before:yesterday"}, "filter.created_at", "date"),
        ({"filter": "birth_date:between:2020-01-01"}, "filter.birth_date", "two"),
        ({"filter": "birth_date:between:2020-01-01,nope"}, "filter.birth_date", "date"),
        ({"filter": "lifecycle_stage:eq:zombie"}, "filter.lifecycle_stage", "zombie"),
        ({"filter": "lifecycle_stage:in:"}, "filter.lifecycle_stage", ""),
        ({"filter": "country:in:"}, "filter.country", "in"),
        ({"filter": "owner_id:eq:abc"}, "filter.owner_id", "owner_id"),
        ({"filter": "do_not_email:eq:perhaps"}, "filter.do_not_email", "true or false"),
        ({"filter": "country"}, "filter", "field:operator:value"),
        ({"filter": ":eq:FR"}, "filter", "field:operator:value"),
        ({"sort": "any_email"}, "sort", "any_email"),
        ({"sort": "-password"}, "sort", "password"),
        ({"limit": "0"}, "limit", ""),
        ({"limit": "201"}, "limit", ""),
        ({"cursor": "not-a-cursor"}, "cursor", ""),
    ],
)
def test_a_bad_filter_sort_or_page_answers_422_naming_it(api, admin, people, params, field, words):
    err = api_error(api(admin).get(f"{CONTACTS}?{urlencode(params)}"), 422)
    assert field in err["fields"], err
    assert words in err["message"] + " ".join(err["fields"].values())


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "annual_revenue:gt:lots"},
        {"filter": "industry:eq:spaceflight"},
        {"filter": "first_name:eq:Jo"},
        {"sort": "parent_id"},
    ],
)
def test_bad_company_filters_answer_422(api, admin, params):
    err = api_error(api(admin).get(f"{COMPANIES}?{urlencode(params)}"), 422)
    assert err["fields"]


# --- sorting and cursor pagination -------------------------------------------------------------


@pytest.mark.parametrize("sort", ["last_name", "-last_name", "email", "-created_at", "lifecycle_stage", "-city"])
def test_cursor_pages_under_a_sort_have_no_gaps_or_duplicates(api, admin, org, sort):
    stages = ["lead", "customer", "opportunity"]
    for i in range(23):
        contact_with(
            org,
            first_name=f"P{i}",
            last_name=["Adams", "Baker", "Clark"][i % 3],  # many ties: the id breaks them
            email=f"p{i % 5}@example.org" if i % 4 else None,
            city=["Paris", "Berlin", ""][i % 3],
            lifecycle_stage=stages[i % 3],
        )
    Contact.objects.filter(first_name__in=["P1", "P2", "P3"]).update(created_at=timezone.now())
    client = api(admin)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 4}
        if cursor:
            params["cursor"] = cursor
        resp = client.get(f"{CONTACTS}?{urlencode(params)}")
        assert resp.status_code == 200, resp.content
        page = resp.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if not cursor:
            break
    assert pages == 6
    field = sort.lstrip("-")
    expected = list(
        Contact.objects.order_by(sort, f"{'-' if sort.startswith('-') else ''}id").values_list("id", flat=True)
    )
    assert seen == expected
    assert len(set(seen)) == 23
    values = [getattr(Contact.objects.get(pk=pk), field) for pk in seen]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_a_filtered_and_sorted_list_pages_through_the_filtered_rows_only(api, admin, org):
    for i in range(9):
        contact_with(org, first_name=f"F{i}", last_name=f"N{8 - i}", country="FR" if i % 2 else "DE")
    client = api(admin)
    params = {"filter": "country:eq:FR", "sort": "last_name", "limit": 3}
    first = client.get(f"{CONTACTS}?{urlencode(params)}").json()
    second = client.get(f"{CONTACTS}?{urlencode({**params, 'cursor': first['next_cursor']})}").json()
    got = [c["last_name"] for c in first["items"] + second["items"]]
    assert got == ["N1", "N3", "N5", "N7"]
    assert second["next_cursor"] is None


def test_companies_sort_by_name_by_default(api, admin, org):
    for name in ["Zeta", "Alpha", "Mu"]:
        CompanyFactory.create(org=org, name=name)
    items = api(admin).get(COMPANIES).json()["items"]
    assert [c["name"] for c in items] == ["Alpha", "Mu", "Zeta"]


# --- query counts ------------------------------------------------------------------------------

LIST_QUERY_BOUND = 8  # today: token and membership, the page, emails, phones, tags (7)


def _populate(org: Any, n: int) -> None:
    team = TeamFactory.create(org=org)
    for i in range(n):
        company = CompanyFactory.create(org=org)
        contact = contact_with(org, first_name=f"Q{i}", company=company, team=team, tags=[f"t{i % 3}", "all"])
        ContactEmailFactory.create(contact=contact)
        ContactEmailFactory.create(contact=contact, is_primary=False)
        ContactPhoneFactory.create(contact=contact)


def _count_list_queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(path)
    assert resp.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("n", [5, 40])
def test_the_contacts_list_runs_a_bounded_number_of_queries(api, admin, org, django_assert_max_num_queries, n):
    _populate(org, n)
    client = api(admin)
    client.get(CONTACTS)  # warm the token's last-used stamp and any per-process caches
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        resp = client.get(f"{CONTACTS}?limit=200")
    assert len(resp.json()["items"]) == n
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        resp = client.get(f"{CONTACTS}?{urlencode({'limit': 200, 'filter': 'tag:in:t0,all', 'sort': 'last_name'})}")
    assert len(resp.json()["items"]) == n


def test_the_contacts_list_query_count_does_not_grow_with_the_page(api, admin, org):
    _populate(org, 5)
    client = api(admin)
    client.get(CONTACTS)
    few = _count_list_queries(client, f"{CONTACTS}?limit=200")
    _populate(org, 35)
    many = _count_list_queries(client, f"{CONTACTS}?limit=200")
    assert few == many


def test_the_companies_list_query_count_does_not_grow_with_the_page(api, admin, org):
    parent = CompanyFactory.create(org=org)
    for _ in range(3):
        CompanyFactory.create(org=org, parent=parent)
    client = api(admin)
    client.get(COMPANIES)
    few = _count_list_queries(client, f"{COMPANIES}?limit=200")
    for _ in range(30):
        company = CompanyFactory.create(org=org, parent=parent)
        company.tags.add(TagFactory.create(org=org))
    many = _count_list_queries(client, f"{COMPANIES}?limit=200")
    assert few == many


def test_a_date_on_a_date_time_field_means_the_whole_day(api, admin, org):
    now = timezone.now()
    today, yesterday = contact_with(org, first_name="Today"), contact_with(org, first_name="Yesterday")
    Contact.objects.filter(pk=yesterday.pk).update(created_at=now - timedelta(days=1))
    client = api(admin)
    day = timezone.localdate(now).isoformat()
    assert ids_set(client, CONTACTS, f"created_at:eq:{day}") == {today.pk}
    assert ids_set(client, CONTACTS, f"created_at:ne:{day}") == {yesterday.pk}
    assert ids_set(client, CONTACTS, f"created_at:after:{day}") == set()
    assert ids_set(client, CONTACTS, f"created_at:before:{day}") == {yesterday.pk}
    assert ids_set(client, CONTACTS, f"created_at:lte:{day}") == {today.pk, yesterday.pk}
    assert ids_set(client, CONTACTS, f"created_at:between:{day},{day}") == {today.pk}
    stamp = (now - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%S")  # naive: read in the current zone
    assert ids_set(client, CONTACTS, f"created_at:after:{stamp}") == {today.pk}


@pytest.mark.parametrize(
    ("path", "condition"),
    [
        (CONTACTS, "created_at:after:9999-12-31"),
        (CONTACTS, "created_at:before:0001-01-01"),
        (CONTACTS, "owner_id:eq:99999999999999999999999"),
        (CONTACTS, "first_name:eq:" + "x" * 600),
        (COMPANIES, "annual_revenue:gt:1e999999"),
        (COMPANIES, "annual_revenue:gt:1e-999999"),
        (COMPANIES, "annual_revenue:in:1e40"),
        (COMPANIES, "annual_revenue:gt:NaN"),
    ],
)
def test_out_of_range_filter_values_answer_422_not_500(api, admin, path, condition):
    err = api_error(api(admin).get(query(path, condition)), 422)
    assert err["code"] == "invalid_filter"
    assert any(key.startswith("filter.") for key in err["fields"])


def test_a_company_with_two_matching_tags_is_listed_once(api, admin, org):
    tagged = CompanyFactory.create(org=org, name="Tagged")
    tagged.tags.add(TagFactory.create(org=org, name="vip"), TagFactory.create(org=org, name="partner"))
    CompanyFactory.create(org=org, name="Plain")
    assert ids(api(admin), COMPANIES, "tag:in:vip,partner") == [tagged.pk]
