"""Lists are one SQL query whatever the page shows, and the denormalised tag names they read stay current.

The list API answers a page with the authentication queries plus exactly one: company, owner and
team are joined, tags come from `tag_names`, the primary email and phone from their columns. Every
writer of tags (services, bulk actions, the demo, the migration that introduced the column) keeps
`tag_names` equal to the tags.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts import bulk, services
from rapport.contacts.models import Company, Contact, Tag
from rapport.contacts.selectors import COMPANY_FILTERS, CONTACT_FILTERS, INDEXED_SORTS, company_list, contact_list
from rapport.contacts.tests.factories import CompanyFactory, ContactEmailFactory, ContactPhoneFactory, contact_with
from rapport.core.filtering import Condition
from rapport.testing.factories import TeamFactory

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
CHILD_TABLES = ("contacts_contactemail", "contacts_contactphone", "contacts_tag", "contacts_contact_tags")


def _queries(client: Any, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(path)
    assert resp.status_code == 200, resp.content[:300]
    return [q["sql"] for q in ctx.captured_queries]


def _auth_queries(client: Any) -> int:
    """What authenticating a request costs: a blank search answers without touching the database.
    (Call it after a first request, which also stamps the token's last use.)"""
    queries = _queries(client, "/api/v1/search?q=%20")
    return len(queries)


def _populate(org: Any, n: int) -> None:
    team = TeamFactory.create(org=org)
    for i in range(n):
        company = CompanyFactory.create(org=org, tag_names=["key account"])
        contact = contact_with(org, first_name=f"Q{i}", company=company, team=team, tags=[f"t{i % 3}", "all"])
        ContactEmailFactory.create(contact=contact, is_primary=False)
        ContactPhoneFactory.create(contact=contact, is_primary=False)


@pytest.mark.parametrize("n", [1, 40])
@pytest.mark.parametrize(
    "params",
    [
        {"limit": 200},
        {"limit": 2},
        {"sort": "last_name", "filter": "country:eq:fr"},
        {"filter": ["lifecycle_stage:eq:lead", "city:eq:Paris"], "sort": "-updated_at"},
    ],
)
def test_a_contacts_list_page_is_one_query_after_authentication(api, admin, org, n, params):
    _populate(org, n)
    client = api(admin)
    client.get(CONTACTS)  # stamp the token's last use, which would add an UPDATE to the first request
    auth = _auth_queries(client)
    queries = _queries(client, f"{CONTACTS}?{urlencode(params, doseq=True)}")
    assert len(queries) == auth + 1, queries
    assert not [q for q in queries if any(f'"{t}"' in q for t in CHILD_TABLES)]


def test_the_next_page_is_one_query_too(api, admin, org):
    _populate(org, 5)
    client = api(admin)
    first = client.get(f"{CONTACTS}?limit=2").json()
    auth = _auth_queries(client)
    queries = _queries(client, f"{CONTACTS}?limit=2&cursor={first['next_cursor']}")
    assert len(queries) == auth + 1, queries


@pytest.mark.parametrize("params", [{"limit": 200}, {"filter": "country:eq:FR", "sort": "-created_at"}])
def test_a_companies_list_page_is_one_query_after_authentication(api, admin, org, params):
    parent = CompanyFactory.create(org=org)
    client = api(admin)
    client.get(COMPANIES)
    auth = _auth_queries(client)
    few = _queries(client, f"{COMPANIES}?{urlencode(params)}")
    for i in range(30):
        CompanyFactory.create(
            org=org, parent=parent, country="FR", tag_names=[f"t{i}"], team=TeamFactory.create(org=org)
        )
    many = _queries(client, f"{COMPANIES}?{urlencode(params)}")
    assert len(few) == len(many) == auth + 1, many


def test_list_items_carry_primary_email_phone_tags_and_custom_values_but_not_the_arrays(api, admin, org):
    company = CompanyFactory.create(org=org, name="Initech")
    contact = contact_with(
        org, first_name="Jo", email="jo@example.org", phone="+12125550134", tags=["vip", "Partner"], company=company
    )
    ContactEmailFactory.create(contact=contact, email="jo@home.example", is_primary=False)
    Contact.objects.filter(pk=contact.pk).update(custom={"segment": "smb"})
    client = api(admin)
    [item] = client.get(CONTACTS).json()["items"]
    assert item["email"] == "jo@example.org" and item["phone"] == "+12125550134"
    assert item["tags"] == ["Partner", "vip"]
    assert item["company"] == {"id": company.pk, "name": "Initech"}
    assert item["custom"] == {"segment": "smb"}
    assert "emails" not in item and "phones" not in item
    full = client.get(f"{CONTACTS}/{contact.pk}").json()
    assert [e["email"] for e in full["emails"]] == ["jo@example.org", "jo@home.example"]
    assert full["tags"] == item["tags"]


def test_list_items_are_what_the_documented_schemas_give(api, admin, org):
    """Items are built from plain values; they must equal the schema's rendering of the same record."""
    team = TeamFactory.create(org=org, name="North")
    parent = CompanyFactory.create(org=org, name="Holding")
    company = CompanyFactory.create(
        org=org, name="Initech", parent=parent, annual_revenue="1250000.50", industry="information", team=team
    )
    Company.objects.filter(pk=company.pk).update(
        owner_id=admin.user_id, custom={"tier": "gold", "budget": {"amount": 1200.5, "currency": "EUR"}}
    )
    company.tags.add(Tag.objects.create(org=org, name="key"))
    Company.objects.filter(pk=company.pk).update(tag_names=["key"])
    contact = contact_with(
        org,
        first_name="Jo",
        last_name="Doe",
        email="jo@example.org",
        phone="+12125550134",
        tags=["vip"],
        company=company,
        team=team,
        owner_id=admin.user_id,
        birth_date=date(1990, 5, 17),
        social_profiles={"linkedin": "https://linkedin.com/in/jo"},
        custom={"segment": "smb", "score": 7, "ok": True, "langs": ["fr", "en"]},
        external_id="ext-1",
        do_not_call=True,
    )
    client = api(admin)
    [item] = client.get(CONTACTS).json()["items"]
    full = client.get(f"{CONTACTS}/{contact.pk}").json()
    assert item == {k: v for k, v in full.items() if k not in {"emails", "phones"}}
    assert item["age"] is not None and item["owner"]["email"] == admin.user.email
    items = {c["id"]: c for c in client.get(COMPANIES).json()["items"]}
    assert items[company.pk] == client.get(f"{COMPANIES}/{company.pk}").json()
    assert items[parent.pk] == client.get(f"{COMPANIES}/{parent.pk}").json()


def test_the_openapi_document_names_the_list_item_schema(api, admin):
    spec = api(admin).get("/api/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "emails" not in schemas["ContactListItem"]["properties"]
    assert "emails" in schemas["ContactOut"]["properties"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("tag:eq:VIP", {"both", "vip"}),
        ("tag:in:vip,partner", {"both", "vip", "partner"}),
        ("tag:ne:vip", {"partner", "none"}),
        ("tag:empty", {"none"}),
        ("tag:not_empty", {"both", "vip", "partner"}),
        ("tag:startswith:part", {"both", "partner"}),
        ("any_email:eq:home@example.org", {"both"}),
    ],
)
def test_filters_on_tags_and_emails_list_each_record_once(api, admin, org, condition, expected):
    people = {
        "both": contact_with(org, first_name="Both", email="both@example.org", tags=["vip", "partner"]),
        "vip": contact_with(org, first_name="Vip", tags=["vip"]),
        "partner": contact_with(org, first_name="Partner", tags=["partner"]),
        "none": contact_with(org, first_name="None"),
    }
    ContactEmailFactory.create(contact=people["both"], email="home@example.org", is_primary=False)
    client = api(admin)
    client.get(CONTACTS)  # stamp the token's last use
    auth = _auth_queries(client)
    queries = _queries(client, f"{CONTACTS}?{urlencode({'filter': condition})}")
    items = client.get(f"{CONTACTS}?{urlencode({'filter': condition})}").json()["items"]
    assert sorted(i["id"] for i in items) == sorted(people[name].pk for name in expected)
    assert len(queries) == auth + 1 and "DISTINCT" not in queries[-1]


# --- the list pages --------------------------------------------------------------------------


def test_the_contacts_list_page_reads_its_rows_with_one_query(web, admin, org):
    client = web(admin)
    _populate(org, 1)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/contacts/").status_code == 200
    _populate(org, 40)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/contacts/").status_code == 200
    rows = [
        q["sql"]
        for q in many.captured_queries
        if 'FROM "contacts_contact"' in q["sql"] and not q["sql"].startswith("SELECT COUNT")  # the capped count
    ]
    assert len(rows) == 1, rows
    assert len(many.captured_queries) == len(few.captured_queries)
    assert not [q for q in many.captured_queries if any(f'"{t}"' in q["sql"] for t in CHILD_TABLES[:2])]


# --- tag_names stays equal to the tags -------------------------------------------------------


def _names(record: Contact | Company) -> list[str]:
    record = type(record).objects.get(pk=record.pk)
    assert record.tag_names == sorted((t.name for t in record.tags.all()), key=lambda n: (n.casefold(), n))
    return record.tag_names


def test_contact_services_keep_tag_names(admin):
    contact = services.contact_create(actor=admin, data={"first_name": "Jo", "tags": ["vip", "Alpha"]})
    assert _names(contact) == ["Alpha", "vip"]
    contact = services.contact_update(actor=admin, contact=contact, data={"first_name": "Jo"}, expected_version=None)
    assert _names(contact) == ["Alpha", "vip"]
    contact = services.contact_update(actor=admin, contact=contact, data={"tags": ["beta"]}, expected_version=None)
    assert _names(contact) == ["beta"]
    services.contact_update(actor=admin, contact=contact, data={"tags": []}, expected_version=None)
    assert _names(contact) == []


def test_company_services_keep_tag_names(admin):
    company = services.company_create(actor=admin, data={"name": "Acme", "tags": ["b", "A"]})
    assert _names(company) == ["A", "b"]
    company = services.company_update(actor=admin, company=company, data={"tags": ["c"]}, expected_version=None)
    assert _names(company) == ["c"]
    services.company_update(actor=admin, company=company, data={"name": "Acme 2"}, expected_version=None)
    assert _names(company) == ["c"]


def test_bulk_tag_actions_keep_tag_names(admin, org):
    one = contact_with(org, first_name="One", tags=["vip"])
    two = contact_with(org, first_name="Two")
    bulk.contact_bulk_update(actor=admin, ids=[one.pk, two.pk], action="add_tag", value="Partner")
    assert _names(one) == ["Partner", "vip"] and _names(two) == ["Partner"]
    bulk.contact_bulk_update(
        actor=admin, conditions=[Condition("first_name", "eq", "one")], action="remove_tag", value="vip"
    )
    assert _names(one) == ["Partner"] and _names(two) == ["Partner"]


def test_bulk_tag_actions_on_companies_keep_tag_names(admin, org):
    acme = services.company_create(actor=admin, data={"name": "Acme", "tags": ["vip"]})
    globex = services.company_create(actor=admin, data={"name": "Globex"})
    bulk.company_bulk_update(actor=admin, ids=[acme.pk, globex.pk], action="add_tag", value="Partner")
    assert _names(acme) == ["Partner", "vip"] and _names(globex) == ["Partner"]
    bulk.company_bulk_update(actor=admin, ids=[acme.pk], action="remove_tag", value="vip")
    assert _names(acme) == ["Partner"]


def test_the_migration_fills_tag_names_from_the_tags(org):
    contact = contact_with(org, first_name="Jo", tags=["vip", "new"])
    company = CompanyFactory.create(org=org)
    company.tags.add(Tag.objects.get(org=org, name="vip"))
    Contact.objects.update(tag_names=[])
    Company.objects.update(tag_names=[])
    migration = importlib.import_module("rapport.contacts.migrations.0003_list_indexes_tag_names")
    migration.fill_tag_names(apps, None)
    assert _names(contact) == ["new", "vip"] and _names(company) == ["vip"]


# --- every sort and the common filters have an index ----------------------------------------
# SQLite's plans, under the statistics (ANALYZE) of the benchmark's million contacts: on an empty
# table the planner would take an index for anything. PostgreSQL's plans at that size are in
# docs/performance.md (its planner weighs LIMIT and per-value statistics of its own).

# sqlite_stat1 of the benchmark's 1,000,000 contacts / 100,000 companies (bench/contacts_bench.py)
MILLION_STATS = [
    ("contacts_company", "sqlite_autoindex_contacts_company_1", "100000 100000 100000"),
    ("contacts_company", "company_city", "100000 100000 109 1"),
    ("contacts_company", "company_city_name", "100000 100000 109 1 1"),
    ("contacts_company", "company_country", "100000 100000 14286 1"),
    ("contacts_company", "company_country_name", "100000 100000 14286 1 1"),
    ("contacts_company", "company_created", "100000 100000 1 1"),
    ("contacts_company", "company_industry", "100000 100000 5000 1"),
    ("contacts_company", "company_industry_name", "100000 100000 5000 1 1"),
    ("contacts_company", "company_org_domain", "100000 100000 1 1"),
    ("contacts_company", "company_org_name", "100000 100000 1 1"),
    ("contacts_company", "company_owner_name", "100000 100000 5000 1 1"),
    ("contacts_company", "company_team_name", "100000 100000 25000 1 1"),
    ("contacts_company", "company_updated", "100000 100000 1 1"),
    ("contacts_company", "contacts_company_created_at_85e9db97", "100000 1"),
    ("contacts_company", "contacts_company_created_by_id_3e30fe01", "100000 100000"),
    ("contacts_company", "contacts_company_org_id_59a2794a", "100000 100000"),
    ("contacts_company", "contacts_company_owner_id_1cd86ea6", "100000 5000"),
    ("contacts_company", "contacts_company_parent_id_02ded3b4", "100000 100000"),
    ("contacts_company", "contacts_company_team_id_35b879cf", "100000 25000"),
    ("contacts_contact", "sqlite_autoindex_contacts_contact_1", "1000000 1000000 1000000"),
    ("contacts_contact", "contact_city", "1000000 1000000 1084 1"),
    ("contacts_contact", "contact_city_created", "1000000 1000000 1084 1 1"),
    ("contacts_contact", "contact_company_created", "1000000 1000000 11 1 1"),
    ("contacts_contact", "contact_country", "1000000 1000000 142858 1"),
    ("contacts_contact", "contact_country_created", "1000000 1000000 142858 1 1"),
    ("contacts_contact", "contact_created", "1000000 1000000 1 1"),
    ("contacts_contact", "contact_first_name", "1000000 1000000 290 1"),
    ("contacts_contact", "contact_full_name", "1000000 1000000 2 1"),
    ("contacts_contact", "contact_last_name", "1000000 1000000 216 1"),
    ("contacts_contact", "contact_org_email", "1000000 1000000 1 1"),
    ("contacts_contact", "contact_org_phone", "1000000 1000000 2"),
    ("contacts_contact", "contact_owner_created", "1000000 1000000 50000 1 1"),
    ("contacts_contact", "contact_stage", "1000000 1000000 125000 1"),
    ("contacts_contact", "contact_stage_created", "1000000 1000000 125000 1 1"),
    ("contacts_contact", "contact_team_created", "1000000 1000000 250000 1 1"),
    ("contacts_contact", "contact_updated", "1000000 1000000 1 1"),
    ("contacts_contact", "contacts_contact_company_id_537aca39", "1000000 11"),
    ("contacts_contact", "contacts_contact_created_at_8189cff1", "1000000 1"),
    ("contacts_contact", "contacts_contact_created_by_id_57537352", "1000000 1000000"),
    ("contacts_contact", "contacts_contact_org_id_01d86aa4", "1000000 1000000"),
    ("contacts_contact", "contacts_contact_owner_id_0103c1ee", "1000000 50000"),
    ("contacts_contact", "contacts_contact_team_id_9064ef69", "1000000 250000"),
]


@pytest.fixture
def at_a_million(db: None) -> Any:
    """The planner believes the contact and company tables hold what the benchmark seeds."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL's plans at scale are in docs/performance.md")
    tables = ("contacts_contact", "contacts_company")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 if need be
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl IN (%s, %s)", tables)
        cursor.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)", MILLION_STATS)
        cursor.execute("ANALYZE sqlite_schema")  # reload the statistics
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl IN (%s, %s)", tables)
        cursor.execute("ANALYZE sqlite_schema")


def _plan(select: Any, **kwargs: Any) -> str:
    """SQLite's plan of the page query `paginate` runs (ordered, LIMIT 51) for this list."""
    qs, ordering = select(**kwargs)
    sql, params = qs.order_by(*ordering)[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


CONTACT_SORTS = sorted(INDEXED_SORTS["contact"])
COMPANY_SORTS = sorted(INDEXED_SORTS["company"])


def test_indexed_sorts_are_sortable_fields():
    assert INDEXED_SORTS["contact"] <= {n for n, spec in CONTACT_FILTERS.items() if spec.sortable}
    assert INDEXED_SORTS["company"] <= {n for n, spec in COMPANY_FILTERS.items() if spec.sortable}


@pytest.mark.parametrize(
    ("select", "sort"),
    [(contact_list, s) for s in [None, *CONTACT_SORTS]] + [(company_list, s) for s in [None, *COMPANY_SORTS]],
)
@pytest.mark.parametrize("direction", ["", "-"])
def test_every_sort_walks_an_index(at_a_million, admin, select, sort, direction):
    plan = _plan(select, actor=admin, sort=f"{direction}{sort}" if sort else None)
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize(
    ("select", "field", "value", "index"),
    [
        (contact_list, "owner_id", 1, "contact_owner_created"),
        (contact_list, "team_id", 1, "contact_team_created"),
        (contact_list, "company_id", 1, "contact_company_created"),
        (contact_list, "lifecycle_stage", "lead", "contact_stage_created"),
        (contact_list, "country", "FR", "contact_country_created"),
        (contact_list, "city", "Paris", "contact_city_created"),
        (company_list, "owner_id", 1, "company_owner_name"),
        (company_list, "team_id", 1, "company_team_name"),
        (company_list, "industry", "information", "company_industry_name"),
        (company_list, "country", "FR", "company_country_name"),
        (company_list, "city", "Paris", "company_city_name"),
    ],
)
def test_common_filters_have_an_index_in_the_default_order(at_a_million, admin, select, field, value, index):
    plan = _plan(select, actor=admin, conditions=[Condition(field, "eq", value)])
    assert f"USING INDEX {index} " in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize(
    ("select", "field", "value", "sort", "index"),
    [
        (contact_list, "lifecycle_stage", "lead", "-updated_at", "contact_updated"),
        (contact_list, "country", "FR", "email", "contact_org_email"),
        (contact_list, "owner_id", 1, "last_name", "contact_last_name"),
        (contact_list, "team_id", 1, "-full_name", "contact_full_name"),
        (company_list, "industry", "information", "-created_at", "company_created"),
        (company_list, "country", "fr", "-updated_at", "company_updated"),
    ],
)
def test_a_broad_filter_with_another_sort_walks_the_sorts_index(at_a_million, admin, select, field, value, sort, index):
    plan = _plan(select, actor=admin, conditions=[Condition(field, "eq", value)], sort=sort)
    assert f"USING INDEX {index} " in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize(
    ("select", "field", "value", "sort", "index"),
    [
        (contact_list, "city", "Paris", "last_name", "contact_city_created"),
        (contact_list, "company_id", 1, "-updated_at", "contact_company_created"),
        (company_list, "city", "Paris", "-created_at", "company_city_name"),
    ],
)
def test_a_narrow_filter_with_another_sort_reads_its_matches_through_its_index(
    at_a_million, admin, select, field, value, sort, index
):
    plan = _plan(select, actor=admin, conditions=[Condition(field, "eq", value)], sort=sort)
    assert f"USING INDEX {index} " in plan, plan


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "city:eq:paris", "sort": "-last_name"},  # narrow: the sort is made unindexed
        {"filter": "lifecycle_stage:eq:lead", "sort": "last_name"},  # broad: the filter is (on SQLite)
        {"filter": ["city:eq:Paris", "country:eq:FR"], "sort": "first_name"},
    ],
)
def test_hinted_lists_keep_their_order_and_their_pages(api, admin, org, params):
    names = ["Zoe", "Adam", "Mia", "Bob", "Eve", "Liam", "Noah", "Ivy"]
    for i, name in enumerate(names):
        contact_with(org, first_name=name, last_name=f"{name}son", city="Paris", country="FR", lifecycle_stage="lead")
        contact_with(
            org, first_name=f"Other{i}", last_name=f"{name}berg", city="Lyon", country="DE", lifecycle_stage="customer"
        )
    client = api(admin)
    seen, cursor = [], None
    while True:
        query = {**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{CONTACTS}?{urlencode(query, doseq=True)}").json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    key = params["sort"].removeprefix("-")
    expected = sorted((f"{n}son" if key == "last_name" else n for n in names), reverse=params["sort"].startswith("-"))
    assert [item[key] for item in seen] == expected
