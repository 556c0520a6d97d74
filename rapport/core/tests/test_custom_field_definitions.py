"""Custom field definitions through the API: every type, keys, options, defaults and uniqueness."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import CompanyFactory, ContactFactory, api_error
from rapport.core.models import CustomField, Event
from rapport.core.tests.customfield_support import TYPES, URL, define, detail, state

# --- create: every type ------------------------------------------------------------------------


@pytest.mark.parametrize("type_", list(TYPES))
def test_an_admin_creates_a_field_of_each_type(api, admin, type_):
    extra, _, _ = TYPES[type_]
    resp = api(admin).post(URL, {"entity": "contact", "label": f"My {type_}", "type": type_, **extra})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["type"], body["key"], body["label"], body["entity"]) == (
        type_,
        f"my_{type_}",
        f"My {type_}",
        "contact",
    )
    assert body["options"] == extra.get("options", [])
    assert (body["required"], body["unique"], body["default"], body["version"]) == (False, False, None, 1)
    assert resp["ETag"] == '"v1"'
    field = CustomField.objects.get(pk=body["id"])
    assert (field.org_id, field.type, field.key, field.deleted_at) == (admin.org_id, type_, f"my_{type_}", None)
    event = Event.objects.get(verb="custom_field.created")
    assert (event.subject_id, event.actor_id) == (field.pk, admin.user_id)
    assert event.changes["key"] == [None, f"my_{type_}"] and event.changes["type"] == [None, type_]


def test_an_unknown_type_or_entity_is_refused_and_nothing_is_created(api, admin):
    client = api(admin)
    err = api_error(client.post(URL, {"entity": "contact", "label": "X", "type": "colour"}), 422)
    assert "type" in err["fields"]
    err = api_error(client.post(URL, {"entity": "spaceship", "label": "X", "type": "text"}), 422)
    assert "entity" in err["fields"]
    assert not CustomField.objects.exists() and not Event.objects.filter(verb__startswith="custom_field").exists()


def test_the_list_shows_live_fields_in_order_and_filters_by_entity(api, admin):
    second = define(admin, label="Second")
    first = define(admin, label="First", position=0)
    company_field = define(admin, label="Size", entity="company")
    gone = define(admin, label="Gone")
    CustomField.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    client = api(admin)
    assert [f["id"] for f in client.get(URL).json()] == [company_field.pk, first.pk, second.pk]
    assert [f["id"] for f in client.get(f"{URL}?entity=contact").json()] == [first.pk, second.pk]
    assert [f["id"] for f in client.get(f"{URL}?entity=company").json()] == [company_field.pk]
    assert "entity" in api_error(client.get(f"{URL}?entity=spaceship"), 422)["fields"]
    assert api_error(client.get(detail(gone)), 404)["code"] == "not_found"


def test_a_repeated_idempotency_key_creates_one_field(api, admin):
    client = api(admin)
    payload = {"entity": "contact", "label": "Tier", "type": "text"}
    first = client.post(URL, payload, **{"Idempotency-Key": "k-1"})
    again = client.post(URL, payload, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201), again.content
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert first["ETag"] == '"v1"'
    assert CustomField.objects.count() == 1
    err = api_error(client.post(URL, {**payload, "label": "Other"}, **{"Idempotency-Key": "k-1"}), 422)
    assert err["code"] == "idempotency_key_reused"
    assert CustomField.objects.count() == 1


def test_an_entity_has_at_most_100_fields(api, admin, org):
    CustomField.objects.bulk_create(
        [CustomField(org=org, entity="contact", key=f"f{i}", label=f"F{i}", type="text") for i in range(100)]
    )
    before = state()
    err = api_error(api(admin).post(URL, {"entity": "contact", "label": "One more", "type": "text"}), 409)
    assert err["code"] == "too_many_fields"
    assert state() == before
    assert api(admin).post(URL, {"entity": "company", "label": "One more", "type": "text"}).status_code == 201


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Account Tier (2024)", "account_tier_2024"),
        ("Événement préféré", "evenement_prefere"),
        ("2nd phone", "f_2nd_phone"),
        ("x" * 100, "x" * 40),
    ],
)
def test_the_key_is_derived_from_the_label(api, admin, label, key):
    resp = api(admin).post(URL, {"entity": "contact", "label": label, "type": "text"})
    assert resp.status_code == 201, resp.content
    assert resp.json()["key"] == key
    assert CustomField.objects.get().key == key


def test_a_label_without_letters_or_digits_needs_an_explicit_key(api, admin):
    err = api_error(api(admin).post(URL, {"entity": "contact", "label": "???", "type": "text"}), 422)
    assert "key" in err["fields"]
    assert not CustomField.objects.exists()


def test_an_explicit_key_is_kept(api, admin):
    resp = api(admin).post(URL, {"entity": "contact", "label": "Account tier", "type": "text", "key": "tier2"})
    assert resp.status_code == 201, resp.content
    assert resp.json()["key"] == "tier2"
    assert CustomField.objects.get().key == "tier2"


@pytest.mark.parametrize("key", ["Tier", "1tier", "_tier", "tier-one", "tier one", "tïer", "t" * 41, "a.b"])
def test_an_invalid_key_is_refused_and_nothing_is_created(api, admin, key):
    err = api_error(api(admin).post(URL, {"entity": "contact", "label": "Tier", "type": "text", "key": key}), 422)
    assert "key" in err["fields"], err
    assert not CustomField.objects.exists() and not Event.objects.filter(verb__startswith="custom_field").exists()


def test_a_duplicate_key_is_a_conflict_but_other_entities_and_workspaces_may_use_it(api, admin, other_admin):
    define(admin, label="Tier")
    before = state()
    err = api_error(api(admin).post(URL, {"entity": "contact", "label": "Other", "type": "number", "key": "tier"}), 409)
    assert err["code"] == "key_taken" and "key" in err["fields"]
    err = api_error(api(admin).post(URL, {"entity": "contact", "label": "Tier", "type": "text"}), 409)
    assert err["code"] == "key_taken"
    assert state() == before
    assert api(admin).post(URL, {"entity": "company", "label": "Tier", "type": "text"}).status_code == 201
    assert api(other_admin).post(URL, {"entity": "contact", "label": "Tier", "type": "text"}).status_code == 201
    assert CustomField.objects.filter(key="tier").count() == 3


def test_the_key_of_a_deleted_field_is_taken_until_its_values_are_purged(
    api, admin, org, django_capture_on_commit_callbacks
):
    field = define(admin, label="Tier")
    ContactFactory.create(org=org, custom={"tier": "gold"})
    client = api(admin)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        assert client.delete(f"{detail(field)}?confirm=tier").status_code == 204
    assert len(pending) == 1  # the purge, not run yet
    err = api_error(client.post(URL, {"entity": "contact", "label": "Tier", "type": "number"}), 409)
    assert err["code"] == "key_taken"
    assert CustomField.objects.filter(key="tier").count() == 1
    for callback in pending:
        callback()
    assert not CustomField.objects.exists()
    resp = client.post(URL, {"entity": "contact", "label": "Tier", "type": "number"})
    assert resp.status_code == 201, resp.content
    assert resp.json()["type"] == "number"


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "options"),
    [
        ("choice", None),
        ("choice", []),
        ("multi_choice", []),
        ("choice", ["A", "a"]),
        ("choice", ["A", " A "]),
        ("choice", ["A", ""]),
        ("choice", ["A", "   "]),
        ("choice", ["A,B"]),
        ("choice", ["x" * 101]),
        ("choice", [f"o{i}" for i in range(201)]),
        ("text", ["A", "B"]),
        ("number", ["1"]),
    ],
)
def test_options_rules_are_enforced_and_nothing_is_created(api, admin, type_, options):
    payload: dict[str, Any] = {"entity": "contact", "label": "Pick", "type": type_}
    if options is not None:
        payload["options"] = options
    err = api_error(api(admin).post(URL, payload), 422)
    assert "options" in err["fields"], err
    assert not CustomField.objects.exists() and not Event.objects.filter(verb__startswith="custom_field").exists()


def test_options_are_stripped_and_kept_in_order(api, admin):
    resp = api(admin).post(URL, {"entity": "contact", "label": "Pick", "type": "choice", "options": [" B ", "A"]})
    assert resp.status_code == 201, resp.content
    assert resp.json()["options"] == ["B", "A"]
    assert CustomField.objects.get().options == ["B", "A"]


# --- defaults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", list(TYPES))
def test_a_default_is_cleaned_to_its_stored_form(api, admin, type_):
    extra, sent, stored = TYPES[type_]
    resp = api(admin).post(URL, {"entity": "contact", "label": "F", "type": type_, "default": sent, **extra})
    assert resp.status_code == 201, resp.content
    assert resp.json()["default"] == stored
    assert CustomField.objects.get().default == stored


BAD_DEFAULTS: list[tuple[str, Any]] = [
    ("text", "x" * 501),
    ("text", 12),
    ("long_text", "x" * 10001),
    ("number", "twelve"),
    ("number", 1.5),
    ("number", 2**53 + 1),
    ("number", True),
    ("decimal", "1.2.3"),
    ("decimal", "NaN"),
    ("decimal", "1234567890123456"),
    ("date", "2023-02-29"),
    ("date", "next tuesday"),
    ("boolean", "maybe"),
    ("boolean", 2),
    ("choice", "Platinum"),
    ("multi_choice", ["Red", "Purple"]),
    ("multi_choice", 3),
    ("url", "javascript:alert(1)"),
    ("url", "not a url"),
    ("email", "not-an-email"),
    ("money", {"amount": 1}),
    ("money", {"amount": "ten", "currency": "EUR"}),
    ("money", {"amount": 1.234, "currency": "EUR"}),
    ("money", {"amount": 1, "currency": "XYZ"}),
    ("money", 12),
]


@pytest.mark.parametrize(("type_", "default"), BAD_DEFAULTS)
def test_a_default_of_the_wrong_type_is_refused_and_nothing_is_created(api, admin, type_, default):
    extra = TYPES[type_][0]
    err = api_error(
        api(admin).post(URL, {"entity": "contact", "label": "F", "type": type_, "default": default, **extra}), 422
    )
    assert "default" in err["fields"], err
    assert not CustomField.objects.exists() and not Event.objects.filter(verb__startswith="custom_field").exists()


def test_a_patched_default_is_checked_against_the_options_and_nothing_changes(api, admin):
    field = define(admin, "choice", label="Level")
    before = state()
    err = api_error(api(admin).patch(detail(field), {"default": "Platinum"}, **{"If-Match": '"v1"'}), 422)
    assert "default" in err["fields"]
    assert state() == before
    resp = api(admin).patch(detail(field), {"default": "silver"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert CustomField.objects.get().default == "Silver"


# --- uniqueness --------------------------------------------------------------------------------


def test_a_unique_field_cannot_have_a_default(api, admin):
    err = api_error(
        api(admin).post(URL, {"entity": "contact", "label": "Code", "type": "text", "unique": True, "default": "X"}),
        422,
    )
    assert "default" in err["fields"]
    assert not CustomField.objects.exists()
    with_default = define(admin, label="Code", default="X")
    before = state()
    err = api_error(api(admin).patch(detail(with_default), {"unique": True}, **{"If-Match": '"v1"'}), 422)
    assert "default" in err["fields"]
    assert state() == before
    unique = define(admin, label="Serial", unique=True)
    before = state()
    err = api_error(api(admin).patch(detail(unique), {"default": "S-1"}, **{"If-Match": '"v1"'}), 422)
    assert "default" in err["fields"]
    assert state() == before


@pytest.mark.parametrize("type_", ["long_text", "boolean", "multi_choice", "money"])
def test_a_type_that_cannot_be_unique_refuses_it(api, admin, type_):
    extra = TYPES[type_][0]
    err = api_error(
        api(admin).post(URL, {"entity": "contact", "label": "F", "type": type_, "unique": True, **extra}), 422
    )
    assert "unique" in err["fields"]
    assert not CustomField.objects.exists()
    field = define(admin, type_, label="F")
    before = state()
    err = api_error(api(admin).patch(detail(field), {"unique": True}, **{"If-Match": '"v1"'}), 422)
    assert "unique" in err["fields"]
    assert state() == before


@pytest.mark.parametrize("type_", ["text", "number", "decimal", "date", "choice", "url", "email"])
def test_these_types_can_be_unique(api, admin, type_):
    extra = TYPES[type_][0]
    resp = api(admin).post(URL, {"entity": "contact", "label": "F", "type": type_, "unique": True, **extra})
    assert resp.status_code == 201, resp.content
    assert CustomField.objects.get().unique is True


@pytest.mark.parametrize(
    ("type_", "shared", "other"),
    [
        ("text", "A-1", "A-2"),
        ("number", 7, 8),
        ("decimal", 2.5, 3.5),
        ("date", "2024-01-01", "2024-01-02"),
        ("choice", "Gold", "Silver"),
        ("email", "jo@example.org", "al@example.org"),
    ],
)
def test_making_a_field_unique_while_records_share_a_value_is_a_conflict(api, admin, org, type_, shared, other):
    field = define(admin, type_, label="F")
    ContactFactory.create(org=org, custom={"f": shared})
    ContactFactory.create(org=org, custom={"f": other})
    twin = ContactFactory.create(org=org, custom={"f": shared}, deleted_at=timezone.now())  # the trash counts
    ContactFactory.create(org=org)
    before = state()
    err = api_error(api(admin).patch(detail(field), {"unique": True}, **{"If-Match": '"v1"'}), 409)
    assert err["code"] == "duplicates_exist" and "unique" in err["fields"]
    assert state() == before
    Contact.objects.filter(pk=twin.pk).update(custom={"f": other if type_ != "choice" else "Bronze"})
    Contact.objects.filter(pk=twin.pk).delete()
    resp = api(admin).patch(detail(field), {"unique": True}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert CustomField.objects.get(pk=field.pk).unique is True


def test_duplicates_in_another_workspace_or_entity_do_not_block_making_a_field_unique(api, admin, org, other_org):
    field = define(admin, label="Code")
    ContactFactory.create(org=org, custom={"code": "A"})
    ContactFactory.create(org=other_org, custom={"code": "A"})
    CompanyFactory.create(org=org, custom={"code": "A"})
    resp = api(admin).patch(detail(field), {"unique": True}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert CustomField.objects.get(pk=field.pk).unique is True
