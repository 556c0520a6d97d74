"""Filters and sorts on custom fields through the list API: every operator of every type, cursor
pages under a custom sort, and the query count."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import CompanyFactory, ContactFactory, api_error, contact_with
from rapport.contacts.tests.test_custom_values import COMPANIES, CONTACTS, define
from rapport.core.customfields import definitions as defs
from rapport.core.models import CustomField
from rapport.core.principal import Principal

# --- filters -----------------------------------------------------------------------------------

FILTER_FIELDS = {
    "code": ("text", {}),
    "notes": ("long_text", {}),
    "seats": ("number", {}),
    "score": ("decimal", {}),
    "renewal": ("date", {}),
    "vip": ("boolean", {}),
    "tier": ("choice", {"options": ["Bronze", "Silver", "Gold"]}),
    "colours": ("multi_choice", {"options": ["Red", "Dark red", "Blue", "Café", 'Say "hi"']}),
    "site": ("url", {}),
    "mail": ("email", {}),
    "budget": ("money", {}),
}

POPULATION: dict[str, dict[str, Any]] = {
    "a": {
        "code": "Alpha-1",
        "notes": "about apples",
        "seats": 5,
        "score": 2.5,
        "renewal": "2024-01-31",
        "vip": True,
        "tier": "Gold",
        "colours": ["Red", "Blue"],
        "site": "https://a.example",
        "mail": "a@x.org",
        "budget": {"amount": 10.5, "currency": "EUR"},
    },
    "b": {
        "code": "alpha-2",
        "seats": 10,
        "score": 10,
        "renewal": "2024-12-01",
        "vip": False,
        "tier": "Silver",
        "colours": ["Blue"],
        "mail": "b@y.org",
        "budget": {"amount": 100, "currency": "USD"},
    },
    "c": {
        "code": "Beta",
        "notes": "pears",
        "seats": -3,
        "score": 0.1,
        "renewal": "2023-06-15",
        "colours": ["Dark red", "Café"],
        "budget": {"amount": 2, "currency": "EUR"},
    },
    "d": {},
    "e": {"seats": 10, "score": 123456789.25, "vip": True, "tier": "Gold", "colours": ['Say "hi"']},
}


@pytest.fixture
def population(admin: Principal, org: Any, other_org: Any) -> dict[str, int]:
    """Contacts a to e with the custom values above (and look-alikes elsewhere that must never show)."""
    for key, (type_, extra) in FILTER_FIELDS.items():
        defs.custom_field_create(
            actor=admin, data={"entity": "contact", "label": key.title(), "key": key, "type": type_, **extra}
        )
    found = {
        name: ContactFactory.create(org=org, first_name=name, custom=custom).pk for name, custom in POPULATION.items()
    }
    ContactFactory.create(org=org, first_name="trashed", custom=POPULATION["a"], deleted_at=timezone.now())
    ContactFactory.create(org=other_org, first_name="elsewhere", custom=POPULATION["a"])
    CompanyFactory.create(org=org, custom=POPULATION["a"])
    return found


def names(client: Any, population: dict[str, int], *filters: str, **params: Any) -> set[str]:
    items: list[tuple[str, Any]] = [("filter", f) for f in filters] + [("limit", 200), *params.items()]
    resp = client.get(f"{CONTACTS}?{urlencode(items)}")
    assert resp.status_code == 200, resp.content[:500]
    ids = [item["id"] for item in resp.json()["items"]]
    assert len(ids) == len(set(ids)), "a row appears twice"
    by_id = {pk: name for name, pk in population.items()}
    return {by_id[pk] for pk in ids}


FILTERS: list[tuple[str, set[str]]] = [
    # text (case-insensitive eq, contains, startswith; exact in)
    ("custom.code:eq:alpha-1", {"a"}),
    ("custom.code:eq:ALPHA-2", {"b"}),
    ("custom.code:contains:LPHA", {"a", "b"}),
    ("custom.code:startswith:be", {"c"}),
    ("custom.code:in:Beta,alpha-2", {"b", "c"}),
    ("custom.code:ne:beta", {"a", "b", "d", "e"}),  # records without a value are "not equal" too
    ("custom.code:empty", {"d", "e"}),
    ("custom.code:not_empty", {"a", "b", "c"}),
    ("custom.notes:contains:apple", {"a"}),
    ("custom.site:contains:a.example", {"a"}),
    ("custom.mail:eq:A@X.org", {"a"}),
    ("custom.mail:startswith:b@", {"b"}),
    # number
    ("custom.seats:eq:10", {"b", "e"}),
    ("custom.seats:ne:10", {"a", "c", "d"}),
    ("custom.seats:gt:5", {"b", "e"}),
    ("custom.seats:gte:5", {"a", "b", "e"}),
    ("custom.seats:lt:0", {"c"}),
    ("custom.seats:lte:5", {"a", "c"}),
    ("custom.seats:between:-3,5", {"a", "c"}),
    ("custom.seats:empty", {"d"}),
    ("custom.seats:not_empty", {"a", "b", "c", "e"}),
    # decimal
    ("custom.score:eq:0.1", {"c"}),
    ("custom.score:eq:2.50", {"a"}),
    ("custom.score:ne:0.1", {"a", "b", "d", "e"}),
    ("custom.score:gt:2.4", {"a", "b", "e"}),
    ("custom.score:lt:1", {"c"}),
    ("custom.score:between:0.1,2.5", {"a", "c"}),
    ("custom.score:gte:123456789.25", {"e"}),
    ("custom.score:empty", {"d"}),
    # date
    ("custom.renewal:eq:2023-06-15", {"c"}),
    ("custom.renewal:ne:2023-06-15", {"a", "b", "d", "e"}),
    ("custom.renewal:before:2024-02-01", {"a", "c"}),
    ("custom.renewal:after:2024-01-31", {"b"}),
    ("custom.renewal:between:2024-01-01,2024-12-31", {"a", "b"}),
    ("custom.renewal:lte:2024-01-31", {"a", "c"}),
    ("custom.renewal:empty", {"d", "e"}),
    # boolean
    ("custom.vip:eq:true", {"a", "e"}),
    ("custom.vip:eq:yes", {"a", "e"}),
    ("custom.vip:eq:false", {"b"}),
    # choice
    ("custom.tier:eq:Gold", {"a", "e"}),
    ("custom.tier:ne:Gold", {"b", "c", "d"}),
    ("custom.tier:in:Gold,Silver", {"a", "b", "e"}),
    ("custom.tier:empty", {"c", "d"}),
    ("custom.tier:not_empty", {"a", "b", "e"}),
    # multiple choice: "has the option", "has any of them"
    ("custom.colours:eq:Red", {"a"}),
    ("custom.colours:eq:Blue", {"a", "b"}),
    ("custom.colours:eq:Dark red", {"c"}),
    ("custom.colours:eq:Café", {"c"}),
    ('custom.colours:eq:Say "hi"', {"e"}),
    ("custom.colours:in:Red,Café", {"a", "c"}),
    ("custom.colours:empty", {"d"}),
    ("custom.colours:not_empty", {"a", "b", "c", "e"}),
    # money: on the amount
    ("custom.budget:eq:10.5", {"a"}),
    ("custom.budget:gt:10", {"a", "b"}),
    ("custom.budget:ne:100", {"a", "c", "d", "e"}),
    ("custom.budget:lt:5", {"c"}),
    ("custom.budget:between:2,10.5", {"a", "c"}),
    ("custom.budget:empty", {"d", "e"}),
]


@pytest.mark.parametrize(("condition", "expected"), FILTERS)
def test_a_custom_field_filter_picks_exactly_the_matching_records(api, admin, population, condition, expected):
    assert names(api(admin), population, condition) == expected


def test_custom_filters_combine_with_each_other_and_with_built_in_ones(api, admin, population):
    client = api(admin)
    assert names(client, population, "custom.tier:eq:Gold", "custom.seats:gt:6") == {"e"}
    assert names(client, population, "custom.vip:eq:true", "first_name:eq:a") == {"a"}


@pytest.mark.parametrize(
    "condition",
    [
        "custom.nope:eq:1",
        "custom.:eq:1",
        "custom.code:gt:b",
        "custom.seats:contains:1",
        "custom.vip:empty",
        "custom.vip:ne:true",
        "custom.colours:contains:Red",
        "custom.colours:eq:Purple",
        "custom.tier:eq:Platinum",
        "custom.tier:contains:Go",
        "custom.seats:eq:many",
        "custom.score:gt:abc",
        "custom.renewal:before:someday",
        "custom.renewal:between:2024-01-01",
        "custom.vip:eq:maybe",
        "custom.budget:gt:NaN",
    ],
)
def test_an_unknown_custom_field_or_unsupported_operator_or_value_is_422(api, admin, population, condition):
    err = api_error(api(admin).get(f"{CONTACTS}?{urlencode({'filter': condition})}"), 422)
    assert err["code"] == "invalid_filter"
    assert any(name.startswith("filter.") for name in err["fields"]), err


def test_a_bulk_action_selects_by_a_custom_filter(api, admin, population):
    resp = api(admin).post(
        f"{CONTACTS}/bulk-actions", {"filter": ["custom.tier:eq:Gold"], "action": "add_tag", "value": "gold"}
    )
    assert resp.status_code == 200, resp.content
    tagged = set(Contact.objects.filter(tags__name="gold").values_list("first_name", flat=True))
    assert tagged == {"a", "e"}


def test_a_deleted_fields_key_is_no_longer_filterable(api, admin, population, django_capture_on_commit_callbacks):
    field = CustomField.objects.get(key="tier")
    with django_capture_on_commit_callbacks(execute=False):
        defs.custom_field_delete(actor=admin, field=field, confirm="tier")
    api_error(api(admin).get(f"{CONTACTS}?{urlencode({'filter': 'custom.tier:eq:Gold'})}"), 422)
    api_error(api(admin).get(f"{CONTACTS}?sort=custom.tier"), 422)


def test_companies_filter_and_sort_on_their_own_custom_fields(api, admin, org):
    define(admin, "number", key="size", entity="company")
    small = CompanyFactory.create(org=org, name="Small", custom={"size": 3})
    big = CompanyFactory.create(org=org, name="Big", custom={"size": 300})
    CompanyFactory.create(org=org, name="None")
    client = api(admin)
    resp = client.get(f"{COMPANIES}?{urlencode({'filter': 'custom.size:gt:10'})}")
    assert [c["id"] for c in resp.json()["items"]] == [big.pk]
    resp = client.get(f"{COMPANIES}?sort=-custom.size&limit=2")
    assert [c["id"] for c in resp.json()["items"]] == [big.pk, small.pk]
    api_error(client.get(f"{CONTACTS}?{urlencode({'filter': 'custom.size:gt:10'})}"), 422)


# --- sorting with cursor pagination ------------------------------------------------------------


def walk(client: Any, sort: str, *filters: str, limit: int = 2) -> list[int]:
    """Every id of the list, page after page, following next_cursor."""
    seen: list[int] = []
    cursor = None
    for _ in range(50):
        items: list[tuple[str, Any]] = [("sort", sort), ("limit", limit)] + [("filter", f) for f in filters]
        if cursor:
            items.append(("cursor", cursor))
        resp = client.get(f"{CONTACTS}?{urlencode(items)}")
        assert resp.status_code == 200, resp.content[:500]
        body = resp.json()
        assert len(body["items"]) <= limit
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the cursor never ends")


def _sort_value(type_: str, value: Any) -> Any:
    """How the list orders a value (records without one come first ascending, last descending)."""
    if value is None:
        return (0, 0)
    if type_ == "money":
        return (1, value["amount"])
    if type_ == "boolean":
        return (1, int(value))
    if type_ == "choice":  # in the options' order, not alphabetically
        return (1, ["Bronze", "Silver", "Gold"].index(value))
    return (1, value)


# Fields whose order is the same on every database (the text values differ only after their first letter).
SORTED_FIELDS = ["seats", "score", "renewal", "vip", "tier", "budget", "sortable_text"]


@pytest.mark.parametrize("key", SORTED_FIELDS)
@pytest.mark.parametrize("descending", [False, True])
def test_sorting_by_a_custom_field_pages_through_every_record_once_in_order(api, admin, population, key, descending):
    define(admin, "text", key="sortable_text")
    texts = {"a": "mango", "b": "apple", "c": "zebra", "e": "kiwi"}
    for name, text in texts.items():
        contact = Contact.objects.get(pk=population[name])
        Contact.objects.filter(pk=contact.pk).update(custom={**contact.custom, "sortable_text": text})
    type_ = FILTER_FIELDS.get(key, ("text", {}))[0]
    values = {name: POPULATION[name].get(key) for name in population}
    if key == "sortable_text":
        values = {name: texts.get(name) for name in population}
    expected = sorted(population, key=lambda n: (_sort_value(type_, values[n]), population[n]), reverse=descending)
    client = api(admin)
    sort = f"-custom.{key}" if descending else f"custom.{key}"
    found = walk(client, sort)
    assert found == [population[n] for n in expected]
    assert walk(client, sort, limit=1) == found
    assert walk(client, sort, limit=200) == found


@pytest.mark.parametrize("key", ["code", "notes", "colours", "site", "mail"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_custom_field_can_be_sorted_and_paged_without_losing_a_row(api, admin, population, key, descending):
    client = api(admin)
    sort = f"-custom.{key}" if descending else f"custom.{key}"
    whole = walk(client, sort, limit=200)
    assert sorted(whole) == sorted(population.values())
    assert walk(client, sort, limit=2) == whole
    without = [population[n] for n in sorted(population, key=lambda n: population[n]) if key not in POPULATION[n]]
    # Records without a value come first ascending and last descending, by id.
    if descending:
        assert whole[-len(without) :] == without[::-1]
    else:
        assert whole[: len(without)] == without


def test_a_sort_and_filter_on_custom_fields_page_together(api, admin, population):
    found = walk(api(admin), "-custom.seats", "custom.tier:not_empty")
    assert found == [population["e"], population["b"], population["a"]]


def test_a_cursor_of_another_sort_is_refused(api, admin, population):
    client = api(admin)
    cursor = client.get(f"{CONTACTS}?sort=custom.renewal&limit=2").json()["next_cursor"]
    assert cursor
    resp = client.get(f"{CONTACTS}?{urlencode({'sort': 'custom.seats', 'limit': 2, 'cursor': cursor})}")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_cursor"


def test_an_unknown_custom_sort_is_422(api, admin, population):
    err = api_error(api(admin).get(f"{CONTACTS}?sort=custom.nope"), 422)
    assert err["code"] == "invalid_sort" and "sort" in err["fields"]


# --- query counts ------------------------------------------------------------------------------


def _count(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(path)
    assert resp.status_code == 200, resp.content[:300]
    return len(ctx.captured_queries)


def test_a_list_filtered_and_sorted_by_custom_fields_costs_one_query_more(api, admin, org):
    define(admin, "number", key="seats")
    define(admin, "choice", key="tier")
    for i in range(5):
        contact_with(
            org, first_name=f"Q{i}", tags=["t"], email=f"q{i}@example.org", custom={"seats": i, "tier": "Gold"}
        )
    client = api(admin)
    plain_path = f"{CONTACTS}?{urlencode({'limit': 200, 'filter': 'first_name:startswith:Q', 'sort': 'last_name'})}"
    custom_query = {"limit": 200, "filter": ["custom.tier:eq:Gold", "custom.seats:gte:0"], "sort": "-custom.seats"}
    custom_path = f"{CONTACTS}?{urlencode(custom_query, doseq=True)}"
    client.get(CONTACTS)  # warm the token's last-used stamp
    plain = _count(client, plain_path)
    few = _count(client, custom_path)
    assert few == plain + 1  # the field definitions
    for i in range(5, 40):
        contact_with(
            org, first_name=f"Q{i}", tags=["t"], email=f"q{i}@example.org", custom={"seats": i, "tier": "Gold"}
        )
    assert _count(client, custom_path) == few
    assert len(client.get(custom_path).json()["items"]) == 40
