"""Custom field values on contacts and companies: every type through every write path (API create and
patch, bulk upsert, the services), refusals (422 naming `custom.<key>`, nothing written), required,
defaults, removal, uniqueness, events, and filtering / sorting / cursor pagination on custom fields."""

from __future__ import annotations

from typing import Any

import pytest
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
