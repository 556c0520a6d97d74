"""Custom field values on contacts and companies: every type through every write path (API create and
patch, bulk upsert, the services), refusals (422 naming `custom.<key>`, nothing written), required,
defaults, removal, uniqueness, events, and filtering / sorting / cursor pagination on custom fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.contacts import services
from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.factories import CompanyFactory, ContactFactory, api_error, contact_with
from rapport.core.customfields import definitions as defs
from rapport.core.errors import ValidationFailed
from rapport.core.models import CustomField, Event
from rapport.core.principal import Principal

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"

# type → (extra definition fields, a valid value as sent, its stored form, another valid value's stored form)
TYPES: dict[str, tuple[dict[str, Any], Any, Any, Any]] = {
    "text": ({}, "  Gold member ", "Gold member", "Silver"),
    "long_text": ({}, "line one\r\nline two", "line one\nline two", "one line"),
    "number": ({}, "42", 42, -7),
    "decimal": ({}, "12.50", 12.5, 0.1),
    "date": ({}, "2024-02-29", "2024-02-29", "1999-12-31"),
    "boolean": ({}, "yes", True, False),
    "choice": ({"options": ["Bronze", "Silver", "Gold"]}, "gold", "Gold", "Bronze"),
    "multi_choice": ({"options": ["Red", "Green", "Blue"]}, ["blue", "Red"], ["Red", "Blue"], ["Green"]),
    "url": ({}, "example.org/x", "https://example.org/x", "http://example.com"),
    "email": ({}, "Jo@Example.ORG", "jo@example.org", "al@example.com"),
    "money": (
        {},
        {"amount": "12.5", "currency": "eur"},
        {"amount": 12.5, "currency": "EUR"},
        {"amount": 3, "currency": "USD"},
    ),
}

# type → values the type refuses (each must answer 422 naming custom.<type>)
BAD: dict[str, list[Any]] = {
    "text": [12, True, "x" * 501, ["a"]],
    "long_text": [3.5, "x" * 10001],
    "number": ["twelve", 1.5, "1e3x", 2**53 + 1, True, [1]],
    "decimal": ["1.2.3", "NaN", "Infinity", "1234567890123456", False],
    "date": ["2023-02-29", "31/12/2024", "next tuesday", 20240101],
    "boolean": ["maybe", 2, "ja", [True]],
    "choice": ["Platinum", 1, ["Gold"]],
    "multi_choice": [["Red", "Purple"], 3, "Purple", [1]],
    "url": ["javascript:alert(1)", "not a url", "ftp://example.org", 5],
    "email": ["not-an-email", "a@", 5],
    "money": [
        {"amount": 1},
        {"amount": "ten", "currency": "EUR"},
        {"amount": 1.234, "currency": "EUR"},
        {"amount": 1, "currency": "XYZ"},
        12,
        "12 EUR",
        {"currency": "EUR"},
    ],
}


def define(actor: Principal, type_: str, key: str | None = None, entity: str = "contact", **data: Any) -> CustomField:
    extra = dict(TYPES[type_][0])
    extra.update(data)
    key = key or type_
    return defs.custom_field_create(
        actor=actor, data={"entity": entity, "label": key.title(), "key": key, "type": type_, **extra}
    )


@pytest.fixture
def every_type(admin: Principal) -> dict[str, CustomField]:
    """One contact field and one company field of every type, keyed by the type's name."""
    fields = {t: define(admin, t) for t in TYPES}
    for t in TYPES:
        define(admin, t, entity="company")
    return fields


def sent_values() -> dict[str, Any]:
    return {t: sent for t, (_, sent, _, _) in TYPES.items()}


def stored_values() -> dict[str, Any]:
    return {t: stored for t, (_, _, stored, _) in TYPES.items()}


def written() -> tuple[Any, ...]:
    """Every contact's and company's state a write could change, and the record events."""
    contacts = list(Contact.objects.order_by("id").values_list("id", "version", "first_name", "custom", "deleted_at"))
    companies = list(Company.objects.order_by("id").values_list("id", "version", "name", "custom"))
    events = Event.objects.filter(subject_type__in=["contact", "company"]).count()
    return contacts, companies, events


def if_match(record: Contact | Company) -> dict[str, str]:
    return {"If-Match": f'"v{type(record).objects.get(pk=record.pk).version}"'}


# --- every type on every write path -----------------------------------------------------------


@pytest.mark.parametrize(("url", "base"), [(CONTACTS, {"first_name": "Jo"}), (COMPANIES, {"name": "Acme"})])
def test_create_through_the_api_stores_every_type_in_its_stored_form(api, admin, every_type, url, base):
    resp = api(admin).post(url, {**base, "custom": sent_values()})
    assert resp.status_code == 201, resp.content
    assert resp.json()["custom"] == stored_values()
    model = Contact if url == CONTACTS else Company
    assert model.objects.get(pk=resp.json()["id"]).custom == stored_values()
    assert api(admin).get(f"{url}/{resp.json()['id']}").json()["custom"] == stored_values()


@pytest.mark.parametrize("url", [CONTACTS, COMPANIES])
def test_patch_through_the_api_changes_only_the_keys_given(api, admin, org, every_type, url):
    record = ContactFactory.create(org=org) if url == CONTACTS else CompanyFactory.create(org=org)
    client = api(admin)
    resp = client.patch(f"{url}/{record.pk}", {"custom": sent_values()}, **if_match(record))
    assert resp.status_code == 200, resp.content
    assert resp.json()["custom"] == stored_values()
    others = {t: other for t, (_, _, _, other) in TYPES.items()}
    for type_, other in others.items():
        resp = client.patch(f"{url}/{record.pk}", {"custom": {type_: other}}, **if_match(record))
        assert resp.status_code == 200, resp.content
    fresh = type(record).objects.get(pk=record.pk)
    assert fresh.custom == others
    resp = client.patch(
        f"{url}/{record.pk}", {"first_name" if url == CONTACTS else "name": "Renamed"}, **if_match(record)
    )
    assert resp.status_code == 200 and type(record).objects.get(pk=record.pk).custom == others


@pytest.mark.parametrize("empty", [None, "", []])
def test_an_empty_value_removes_the_key(api, admin, org, every_type, empty):
    contact = ContactFactory.create(org=org, custom={"text": "x", "number": 3, "multi_choice": ["Red"]})
    resp = api(admin).patch(
        f"{CONTACTS}/{contact.pk}", {"custom": {"text": empty, "multi_choice": empty}}, **if_match(contact)
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["custom"] == {"number": 3}
    assert Contact.objects.get(pk=contact.pk).custom == {"number": 3}


def test_the_services_check_custom_values_for_every_entity(admin, every_type):
    contact = services.contact_create(actor=admin, data={"first_name": "Jo", "custom": sent_values()})
    assert Contact.objects.get(pk=contact.pk).custom == stored_values()
    company = services.company_create(actor=admin, data={"name": "Acme", "custom": sent_values()})
    assert Company.objects.get(pk=company.pk).custom == stored_values()
    services.contact_update(
        actor=admin, contact=contact, data={"custom": {"number": "8", "text": None}}, expected_version=None
    )
    fresh = Contact.objects.get(pk=contact.pk).custom
    assert fresh["number"] == 8 and "text" not in fresh
    services.company_update(actor=admin, company=company, data={"custom": {"boolean": "no"}}, expected_version=None)
    assert Company.objects.get(pk=company.pk).custom["boolean"] is False
    before = written()
    with pytest.raises(ValidationFailed) as refused:
        services.contact_update(
            actor=admin, contact=contact, data={"custom": {"number": "many"}}, expected_version=None
        )
    assert "custom.number" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        services.company_create(actor=admin, data={"name": "B", "custom": {"date": "soon"}})
    assert "custom.date" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        services.contact_create(actor=admin, data={"first_name": "B", "custom": ["not", "an", "object"]})
    assert "custom" in refused.value.fields
    assert written() == before


def test_bulk_upsert_reports_a_bad_custom_value_per_record_and_writes_only_the_good(api, admin, org, every_type):
    existing = contact_with(org, first_name="Old", external_id="ext-old")
    Contact.objects.filter(pk=existing.pk).update(custom={"number": 1})
    records = [
        {"first_name": "Good", "external_id": "ext-good", "custom": {"number": "5", "choice": "silver"}},
        {"first_name": "Bad", "external_id": "ext-bad", "custom": {"number": "five"}},
        {"first_name": "Old", "external_id": "ext-old", "custom": {"number": 2, "date": "yesterday"}},
        {"first_name": "Unknown", "external_id": "ext-unknown", "custom": {"nope": 1}},
    ]
    resp = api(admin).post(f"{CONTACTS}/bulk", {"records": records})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert [r["status"] for r in body["results"]] == ["created", "error", "error", "error"]
    assert "custom.number" in body["results"][1]["error"]["fields"]
    assert "custom.date" in body["results"][2]["error"]["fields"]
    assert "custom.nope" in body["results"][3]["error"]["fields"]
    good = Contact.objects.get(external_id="ext-good")
    assert good.custom == {"number": 5, "choice": "Silver"}
    assert not Contact.objects.filter(external_id__in=["ext-bad", "ext-unknown"]).exists()
    old = Contact.objects.get(pk=existing.pk)
    assert (old.custom, old.version) == ({"number": 1}, 1)


def test_bulk_upsert_of_companies_checks_custom_values(api, admin, every_type):
    records = [
        {"name": "Good", "custom": {"money": {"amount": 5, "currency": "EUR"}}},
        {"name": "Bad", "custom": {"money": 5}},
    ]
    body = api(admin).post(f"{COMPANIES}/bulk", {"records": records}).json()
    assert [r["status"] for r in body["results"]] == ["created", "error"]
    assert any(name.startswith("custom.money") for name in body["results"][1]["error"]["fields"])
    assert list(Company.objects.values_list("name", "custom")) == [
        ("Good", {"money": {"amount": 5, "currency": "EUR"}})
    ]


@pytest.mark.parametrize(
    ("type_", "sent", "stored"),
    [
        ("number", 42.0, 42),
        ("number", " -7 ", -7),
        ("decimal", "1e2", 100),
        ("decimal", 0.25, 0.25),
        ("decimal", "123456789012.345", 123456789012.345),
        ("date", "2024-2-3", "2024-02-03"),
        ("boolean", "No", False),
        ("boolean", False, False),
        ("multi_choice", "green, red", ["Red", "Green"]),
        ("multi_choice", ["Red", "red"], ["Red"]),
        ("money", {"amount": "12.500", "currency": "USD"}, {"amount": 12.5, "currency": "USD"}),
        ("money", {"amount": 7, "currency": "Euro"}, {"amount": 7, "currency": "EUR"}),
        ("money", {"amount": -0.5, "currency": "JPY"}, {"amount": -0.5, "currency": "JPY"}),
        ("url", "HTTPS://example.org", "https://example.org"),
    ],
)
def test_accepted_forms_are_stored_in_the_one_stored_form(api, admin, every_type, type_, sent, stored):
    resp = api(admin).post(CONTACTS, {"first_name": "Jo", "custom": {type_: sent}})
    assert resp.status_code == 201, resp.content
    assert Contact.objects.get(pk=resp.json()["id"]).custom == {type_: stored}


# --- refusals ----------------------------------------------------------------------------------

BAD_CASES = [(type_, value) for type_, values in BAD.items() for value in values]


@pytest.mark.parametrize(("type_", "value"), BAD_CASES)
def test_a_value_of_the_wrong_type_is_422_naming_the_field_and_writes_nothing(
    api, admin, org, every_type, type_, value
):
    contact = ContactFactory.create(org=org, custom={"text": "keep"})
    company = CompanyFactory.create(org=org)
    client = api(admin)
    before = written()
    attempts = [
        client.post(CONTACTS, {"first_name": "Jo", "custom": {type_: value}}),
        client.patch(f"{CONTACTS}/{contact.pk}", {"custom": {type_: value}}, **if_match(contact)),
        client.post(COMPANIES, {"name": "Acme", "custom": {type_: value}}),
        client.patch(f"{COMPANIES}/{company.pk}", {"custom": {type_: value}}, **if_match(company)),
    ]
    for resp in attempts:
        err = api_error(resp, 422)
        assert f"custom.{type_}" in err["fields"], err
    assert written() == before


def test_an_unknown_key_is_422_naming_it_and_writes_nothing(api, admin, org, every_type):
    contact = ContactFactory.create(org=org)
    before = written()
    err = api_error(api(admin).post(CONTACTS, {"first_name": "Jo", "custom": {"nope": 1, "text": "ok"}}), 422)
    assert "custom.nope" in err["fields"] and "text" in err["fields"]["custom.nope"]
    err = api_error(api(admin).patch(f"{CONTACTS}/{contact.pk}", {"custom": {"nope": None}}, **if_match(contact)), 422)
    assert "custom.nope" in err["fields"]
    assert written() == before


def test_a_key_of_another_entity_or_workspace_or_a_deleted_field_is_unknown(api, admin, other_admin, org):
    define(admin, "text", key="size", entity="company")
    define(other_admin, "text", key="theirs")
    gone = define(admin, "text", key="gone")
    CustomField.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    before = written()
    for key in ("size", "theirs", "gone"):
        err = api_error(api(admin).post(CONTACTS, {"first_name": "Jo", "custom": {key: "x"}}), 422)
        assert f"custom.{key}" in err["fields"], err
    assert written() == before


def test_a_write_never_puts_back_a_value_of_a_deleted_field(api, admin, org, django_capture_on_commit_callbacks):
    define(admin, "text", key="keep")
    gone = define(admin, "number", key="gone")
    contact = ContactFactory.create(org=org, custom={"keep": "k", "gone": 1})
    stale = Contact.objects.get(pk=contact.pk)  # read before the field was deleted
    with django_capture_on_commit_callbacks(execute=False):
        defs.custom_field_delete(actor=admin, field=gone, confirm="gone")
    services.contact_update(actor=admin, contact=stale, data={"custom": {"keep": "k2"}}, expected_version=None)
    assert Contact.objects.get(pk=contact.pk).custom == {"keep": "k2"}
    services.contact_update(actor=admin, contact=stale, data={"job_title": "CTO"}, expected_version=None)
    assert Contact.objects.get(pk=contact.pk).custom == {"keep": "k2"}


def test_a_required_field_must_be_given_on_create_and_cannot_be_emptied(api, admin, org):
    define(admin, "text", key="code", required=True)
    client = api(admin)
    before = written()
    for custom in (None, {}, {"code": ""}, {"code": None}):
        payload: dict[str, Any] = {"first_name": "Jo"} if custom is None else {"first_name": "Jo", "custom": custom}
        err = api_error(client.post(CONTACTS, payload), 422)
        assert "custom.code" in err["fields"]
    assert written() == before
    resp = client.post(CONTACTS, {"first_name": "Jo", "custom": {"code": "C-1"}})
    assert resp.status_code == 201, resp.content
    contact = Contact.objects.get(pk=resp.json()["id"])
    resp = client.patch(f"{CONTACTS}/{contact.pk}", {"job_title": "CTO"}, **if_match(contact))
    assert resp.status_code == 200  # other fields change without repeating the required one
    before = written()
    err = api_error(client.patch(f"{CONTACTS}/{contact.pk}", {"custom": {"code": ""}}, **if_match(contact)), 422)
    assert "custom.code" in err["fields"]
    assert written() == before


def test_a_record_made_before_a_field_became_required_can_still_be_updated(api, admin, org):
    field = define(admin, "text", key="code")
    contact = ContactFactory.create(org=org)
    defs.custom_field_update(actor=admin, field=field, data={"required": True}, expected_version=None)
    resp = api(admin).patch(f"{CONTACTS}/{contact.pk}", {"job_title": "CTO"}, **if_match(contact))
    assert resp.status_code == 200, resp.content


def test_a_default_applies_on_create_only_when_the_value_is_not_given(api, admin, org):
    define(admin, "choice", key="tier", default="Silver")
    define(admin, "boolean", key="active", default=True)
    client = api(admin)
    resp = client.post(CONTACTS, {"first_name": "Jo"})
    assert resp.status_code == 201
    assert Contact.objects.get(pk=resp.json()["id"]).custom == {"tier": "Silver", "active": True}
    resp = client.post(CONTACTS, {"first_name": "Al", "custom": {"tier": "Gold", "active": False}})
    assert Contact.objects.get(pk=resp.json()["id"]).custom == {"tier": "Gold", "active": False}
    contact = ContactFactory.create(org=org)
    resp = client.patch(f"{CONTACTS}/{contact.pk}", {"custom": {}}, **if_match(contact))
    assert resp.status_code == 200 and Contact.objects.get(pk=contact.pk).custom == {}


# --- uniqueness --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "value", "same"),
    [
        ("text", "A-1", "A-1"),
        ("number", 7, "7"),
        ("decimal", 2.5, "2.50"),
        ("decimal", 3, "3.0"),
        ("date", "2024-01-01", "2024-01-01"),
        ("choice", "Gold", "gold"),
        ("email", "jo@example.org", "JO@example.org"),
        ("url", "https://example.org", "example.org"),
    ],
)
def test_a_unique_value_held_by_another_record_is_refused(api, admin, org, type_, value, same):
    define(admin, type_, key="f", unique=True)
    holder = ContactFactory.create(org=org, custom={"f": value})
    mine = ContactFactory.create(org=org)
    client = api(admin)
    before = written()
    err = api_error(client.post(CONTACTS, {"first_name": "Jo", "custom": {"f": same}}), 422)
    assert "custom.f" in err["fields"]
    err = api_error(client.patch(f"{CONTACTS}/{mine.pk}", {"custom": {"f": same}}, **if_match(mine)), 422)
    assert "custom.f" in err["fields"]
    assert written() == before
    # The holder itself may send its own value again.
    resp = client.patch(f"{CONTACTS}/{holder.pk}", {"custom": {"f": same}}, **if_match(holder))
    assert resp.status_code == 200, resp.content


def test_a_unique_value_held_by_a_trashed_record_is_refused(api, admin, org):
    define(admin, "text", key="code", unique=True)
    ContactFactory.create(org=org, custom={"code": "C-1"}, deleted_at=timezone.now())
    before = written()
    err = api_error(api(admin).post(CONTACTS, {"first_name": "Jo", "custom": {"code": "C-1"}}), 422)
    assert "trash" in err["fields"]["custom.code"]
    assert written() == before


def test_uniqueness_is_per_workspace_and_entity(api, admin, org, other_org):
    define(admin, "text", key="code", unique=True)
    define(admin, "text", key="code", entity="company", unique=True)
    ContactFactory.create(org=other_org, custom={"code": "C-1"})
    CompanyFactory.create(org=org, custom={"code": "C-1"})
    resp = api(admin).post(CONTACTS, {"first_name": "Jo", "custom": {"code": "C-1"}})
    assert resp.status_code == 201, resp.content
    resp = api(admin).post(CONTACTS, {"first_name": "Al", "custom": {"code": "C-2"}})
    assert resp.status_code == 201, resp.content


# --- events ------------------------------------------------------------------------------------


def test_events_show_custom_values_old_and_new(api, admin, every_type):
    client = api(admin)
    resp = client.post(
        CONTACTS, {"first_name": "Jo", "custom": {"number": 5, "money": {"amount": 2, "currency": "EUR"}}}
    )
    contact = Contact.objects.get(pk=resp.json()["id"])
    created = Event.objects.get(verb="contact.created", subject_id=contact.pk)
    assert created.changes["custom.number"] == [None, 5]
    assert created.changes["custom.money"] == [None, {"amount": 2, "currency": "EUR"}]
    client.patch(f"{CONTACTS}/{contact.pk}", {"custom": {"number": 6, "text": "new"}}, **if_match(contact))
    updated = Event.objects.filter(verb="contact.updated", subject_id=contact.pk).latest("id")
    assert updated.changes == {"custom.number": [5, 6], "custom.text": [None, "new"]}
    client.patch(f"{CONTACTS}/{contact.pk}", {"custom": {"number": None}}, **if_match(contact))
    removed = Event.objects.filter(verb="contact.updated", subject_id=contact.pk).latest("id")
    assert removed.changes == {"custom.number": [6, None]}
    count = Event.objects.filter(verb="contact.updated").count()
    client.patch(f"{CONTACTS}/{contact.pk}", {"custom": {"text": "new"}}, **if_match(contact))
    assert Event.objects.filter(verb="contact.updated").count() == count  # nothing changed, no event
    company = CompanyFactory.create(org_id=admin.org_id)
    client.patch(f"{COMPANIES}/{company.pk}", {"custom": {"choice": "Gold"}}, **if_match(company))
    event = Event.objects.get(verb="company.updated", subject_id=company.pk)
    assert event.changes == {"custom.choice": [None, "Gold"]}


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
