"""Custom field definitions through the API: every type, keys, options, defaults, uniqueness, renames,
ETag / If-Match, confirmed deletion with its background purge, roles, other workspaces, JSON Schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.factories import CompanyFactory, ContactFactory, api_error
from rapport.core.customfields import definitions as defs
from rapport.core.models import CustomField, Event
from rapport.core.principal import Principal

URL = "/api/v1/custom-fields"

# type → (extra definition fields, a valid value as sent, its stored form)
TYPES: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "text": ({}, "  Gold member ", "Gold member"),
    "long_text": ({}, "line one\r\nline two", "line one\nline two"),
    "number": ({}, "42", 42),
    "decimal": ({}, "12.50", 12.5),
    "date": ({}, "2024-02-29", "2024-02-29"),
    "boolean": ({}, "yes", True),
    "choice": ({"options": ["Bronze", "Silver", "Gold"]}, "gold", "Gold"),
    "multi_choice": ({"options": ["Red", "Green", "Blue"]}, ["blue", "Red"], ["Red", "Blue"]),
    "url": ({}, "example.org/x", "https://example.org/x"),
    "email": ({}, "Jo@Example.ORG", "jo@example.org"),
    "money": ({}, {"amount": "12.5", "currency": "eur"}, {"amount": 12.5, "currency": "EUR"}),
}


def define(actor: Principal, type_: str = "text", label: str = "Tier", entity: str = "contact", **data: Any) -> Any:
    """A custom field made through the service (as the settings page and the API do)."""
    extra = dict(TYPES[type_][0])
    extra.update(data)
    return defs.custom_field_create(actor=actor, data={"entity": entity, "label": label, "type": type_, **extra})


def definitions() -> list[dict[str, Any]]:
    """Every definition row as it is stored (deleted ones too)."""
    return [dict(row) for row in CustomField.objects.order_by("id").values()]


def records() -> list[tuple[str, int, int, dict[str, Any]]]:
    """Every contact's and company's custom values and version."""
    contacts = [("contact", c.pk, c.version, c.custom) for c in Contact.objects.order_by("id")]
    companies = [("company", c.pk, c.version, c.custom) for c in Company.objects.order_by("id")]
    return contacts + companies


def state() -> tuple[Any, ...]:
    return definitions(), records(), Event.objects.exclude(verb__startswith="token.").count()


def detail(field: CustomField) -> str:
    return f"{URL}/{field.pk}"


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


# --- updates -----------------------------------------------------------------------------------


def test_renaming_changes_the_label_only_and_leaves_records_untouched(api, admin, org):
    field = define(admin, label="Tier")
    contact = ContactFactory.create(org=org, custom={"tier": "Gold"})
    stamp = Contact.objects.get(pk=contact.pk).updated_at
    resp = api(admin).patch(
        detail(field), {"label": "Customer tier", "help_text": "From the contract"}, **{"If-Match": '"v1"'}
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert (body["label"], body["key"], body["help_text"], body["version"]) == (
        "Customer tier",
        "tier",
        "From the contract",
        2,
    )
    assert resp["ETag"] == '"v2"'
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.custom, fresh.version, fresh.updated_at) == ({"tier": "Gold"}, 1, stamp)
    event = Event.objects.get(verb="custom_field.updated")
    assert event.changes == {"label": ["Tier", "Customer tier"], "help_text": ["", "From the contract"]}


def test_an_update_that_changes_nothing_records_no_event(api, admin):
    field = define(admin, label="Tier")
    resp = api(admin).patch(detail(field), {"label": "Tier"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200
    assert not Event.objects.filter(verb="custom_field.updated").exists()


@pytest.mark.parametrize("change", [{"type": "number"}, {"key": "other"}, {"entity": "company"}])
def test_type_key_and_entity_cannot_change(api, admin, change):
    field = define(admin, label="Tier")
    before = state()
    err = api_error(api(admin).patch(detail(field), {**change, "label": "Renamed"}, **{"If-Match": '"v1"'}), 422)
    assert set(change) <= set(err["fields"]), err
    assert state() == before


@pytest.mark.parametrize(
    "change",
    [{"label": ""}, {"label": "x" * 101}, {"position": -1}, {"required": "sometimes"}, {"help_text": "x" * 301}],
)
def test_an_invalid_update_is_refused_and_nothing_changes(api, admin, change):
    field = define(admin, label="Tier")
    before = state()
    err = api_error(api(admin).patch(detail(field), change, **{"If-Match": '"v1"'}), 422)
    assert set(change) <= set(err["fields"]), err
    assert state() == before


@pytest.mark.parametrize(
    ("type_", "stored"),
    [("choice", "Gold"), ("multi_choice", ["Red", "Blue"]), ("multi_choice", ["Blue"])],
)
def test_removing_an_option_in_use_is_a_conflict(api, admin, org, type_, stored):
    options = ["Bronze", "Silver", "Gold"] if type_ == "choice" else ["Red", "Green", "Blue"]
    in_use = stored if isinstance(stored, str) else stored[-1]
    field = define(admin, type_, label="F")
    ContactFactory.create(org=org, custom={"f": stored})
    before = state()
    remaining = [o for o in options if o != in_use]
    err = api_error(api(admin).patch(detail(field), {"options": remaining}, **{"If-Match": '"v1"'}), 409)
    assert err["code"] == "option_in_use" and "options" in err["fields"] and in_use in err["message"]
    assert state() == before


@pytest.mark.parametrize(
    "option",
    ['Say "hi"', "Café", "naïve 日本", "back\\slash", "50% off", "under_score"],
)
def test_removing_an_unusual_option_in_use_is_a_conflict(api, admin, org, option):
    field = define(admin, "multi_choice", label="F", options=["Plain", option])
    single = define(admin, "choice", label="G", options=["Plain", option])
    ContactFactory.create(org=org, custom={"f": ["Plain", option], "g": option})
    before = state()
    for target in (field, single):
        err = api_error(api(admin).patch(detail(target), {"options": ["Plain"]}, **{"If-Match": '"v1"'}), 409)
        assert err["code"] == "option_in_use"
    assert state() == before


def test_an_option_that_only_looks_like_one_in_use_can_be_removed(api, admin, org, other_org):
    field = define(admin, "multi_choice", label="F", options=["Red", "Dark red", "Blue"])
    ContactFactory.create(org=org, custom={"f": ["Dark red"]})
    ContactFactory.create(org=other_org, custom={"f": ["Red"]})
    resp = api(admin).patch(detail(field), {"options": ["Dark red", "Blue"]}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert CustomField.objects.get(pk=field.pk).options == ["Dark red", "Blue"]


def test_removing_an_option_nobody_uses_and_adding_one_works(api, admin, org):
    field = define(admin, "choice", label="Level")
    ContactFactory.create(org=org, custom={"level": "Gold"})
    resp = api(admin).patch(detail(field), {"options": ["Gold", "Silver", "Platinum"]}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert CustomField.objects.get(pk=field.pk).options == ["Gold", "Silver", "Platinum"]
    event = Event.objects.get(verb="custom_field.updated")
    assert event.changes == {"options": [["Bronze", "Silver", "Gold"], ["Gold", "Silver", "Platinum"]]}


@pytest.mark.parametrize(
    ("type_", "default", "options"),
    [("choice", "Silver", ["Bronze", "Gold"]), ("multi_choice", ["Green", "Red"], ["Red", "Blue"])],
)
def test_removing_the_option_that_is_the_default_is_refused(api, admin, type_, default, options):
    field = define(admin, type_, label="F", default=default)
    before = state()
    err = api_error(api(admin).patch(detail(field), {"options": options}, **{"If-Match": '"v1"'}), 422)
    assert "default" in err["fields"], err
    assert state() == before
    resp = api(admin).patch(detail(field), {"options": options, "default": None}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert (CustomField.objects.get().options, CustomField.objects.get().default) == (options, None)


def test_reordering_options_keeps_a_multiple_choice_default_in_the_new_order(api, admin):
    field = define(admin, "multi_choice", label="F", default=["Red", "Blue"])
    resp = api(admin).patch(detail(field), {"options": ["Blue", "Green", "Red"]}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert CustomField.objects.get().default == ["Blue", "Red"]


def test_a_stale_if_match_is_412_and_a_missing_one_428_and_nothing_changes(api, admin):
    field = define(admin, label="Tier")
    client = api(admin)
    assert client.patch(detail(field), {"label": "One"}, **{"If-Match": '"v1"'}).status_code == 200
    before = state()
    assert (
        api_error(client.patch(detail(field), {"label": "Two"}, **{"If-Match": '"v1"'}), 412)["code"] == "stale_version"
    )
    assert api_error(client.patch(detail(field), {"label": "Two"}, **{"If-Match": "garbage"}), 412)
    assert api_error(client.patch(detail(field), {"label": "Two"}), 428)["code"] == "precondition_required"
    assert state() == before
    get = client.get(detail(field))
    assert get["ETag"] == '"v2"'
    resp = client.patch(detail(field), {"label": "Two"}, **{"If-Match": get["ETag"]})
    assert resp.status_code == 200 and CustomField.objects.get().label == "Two"


# --- delete ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?confirm=", "?confirm=Tier2", "?confirm=TIER", "?confirm=tie"])
def test_delete_without_the_right_confirmation_is_refused_and_nothing_changes(api, admin, org, query):
    field = define(admin, label="Tier")
    ContactFactory.create(org=org, custom={"tier": "Gold"})
    before = state()
    err = api_error(api(admin).delete(f"{detail(field)}{query}"), 422)
    assert err["code"] == "confirmation_required" and "confirm" in err["fields"] and "tier" in err["message"]
    assert state() == before


@pytest.mark.parametrize("confirm", ["tier", "Customer%20tier"])
def test_delete_with_the_key_or_label_removes_the_field_and_its_values(
    api, admin, org, other_org, django_capture_on_commit_callbacks, confirm
):
    field = define(admin, label="Customer tier", key="tier")
    other = define(admin, "number", label="Score")
    on_company = define(admin, label="Tier", key="tier", entity="company")
    holders = [ContactFactory.create(org=org, custom={"tier": f"T{i}", "score": i}) for i in range(3)]
    trashed = ContactFactory.create(org=org, custom={"tier": "T9"}, deleted_at=timezone.now())
    bare = ContactFactory.create(org=org, custom={"score": 5})
    company = CompanyFactory.create(org=org, custom={"tier": "Big"})
    elsewhere = ContactFactory.create(org=other_org, custom={"tier": "Theirs"})
    with django_capture_on_commit_callbacks(execute=True):
        resp = api(admin).delete(f"{detail(field)}?confirm={confirm}")
    assert resp.status_code == 204, resp.content
    assert not CustomField.objects.filter(pk=field.pk).exists()
    assert set(CustomField.objects.values_list("pk", flat=True)) == {other.pk, on_company.pk}
    for i, holder in enumerate(holders):
        fresh = Contact.objects.get(pk=holder.pk)
        assert fresh.custom == {"score": i}
        assert fresh.version == 2
    assert Contact.objects.get(pk=trashed.pk).custom == {}
    assert Contact.objects.get(pk=bare.pk).custom == {"score": 5}
    assert Contact.objects.get(pk=bare.pk).version == 1
    assert Company.objects.get(pk=company.pk).custom == {"tier": "Big"}
    assert Contact.objects.get(pk=elsewhere.pk).custom == {"tier": "Theirs"}
    event = Event.objects.get(verb="custom_field.deleted")
    assert (event.subject_type, event.subject_id, event.actor_id) == ("customfield", field.pk, admin.user_id)
    assert event.changes["key"] == ["tier", None] and event.changes["label"] == ["Customer tier", None]
    resp = api(admin).post(URL, {"entity": "contact", "label": "Tier", "type": "date"})
    assert resp.status_code == 201, resp.content
    assert resp.json()["key"] == "tier"


def test_the_purge_works_in_batches(admin, org, monkeypatch, django_capture_on_commit_callbacks):
    field = define(admin, label="Tier")
    for i in range(7):
        ContactFactory.create(org=org, custom={"tier": f"T{i}", "keep": i})
    monkeypatch.setattr(defs, "PURGE_BATCH", 3)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        defs.custom_field_delete(actor=admin, field=field, confirm="tier")
    assert CustomField.objects.get(pk=field.pk).deleted_at is not None
    assert defs.purge_values(field.pk) == 7
    assert sorted(c.custom["keep"] for c in Contact.objects.all()) == list(range(7))
    assert not Contact.objects.filter(custom__has_key="tier").exists()
    assert not CustomField.objects.exists()
    assert defs.purge_values(field.pk) == 0  # a retry is harmless
    for callback in pending:
        callback()


def test_a_deleted_field_is_hidden_at_once(api, admin, django_capture_on_commit_callbacks):
    field = define(admin, label="Tier")
    client = api(admin)
    with django_capture_on_commit_callbacks(execute=False):
        assert client.delete(f"{detail(field)}?confirm=tier").status_code == 204
    assert client.get(URL).json() == []
    assert client.get(detail(field)).status_code == 404
    assert client.patch(detail(field), {"label": "Back"}, **{"If-Match": "*"}).status_code == 404
    assert client.delete(f"{detail(field)}?confirm=tier").status_code == 404
    assert CustomField.objects.get(pk=field.pk).label == "Tier"
    assert Event.objects.filter(verb="custom_field.deleted").count() == 1


# --- roles -------------------------------------------------------------------------------------

OTHER_ROLES = [Role.MANAGER, Role.SALES, Role.SUPPORT, Role.MARKETING, Role.VIEWER]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_cannot_write_definitions_and_nothing_changes(api, admin, org, member_of, role):
    field = define(admin, label="Tier")
    ContactFactory.create(org=org, custom={"tier": "Gold"})
    client = api(member_of(role))
    before = state()
    attempts = [
        client.post(URL, {"entity": "contact", "label": "Mine", "type": "text"}),
        client.patch(detail(field), {"label": "Mine"}, **{"If-Match": '"v1"'}),
        client.delete(f"{detail(field)}?confirm=tier"),
    ]
    for resp in attempts:
        assert api_error(resp, 403)["code"] == "permission_denied"
    assert state() == before


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_every_member_reads_the_definitions_and_the_schema(api, admin, member_of, role):
    field = define(admin, label="Tier")
    client = api(member_of(role))
    assert [f["key"] for f in client.get(URL).json()] == ["tier"]
    assert client.get(detail(field)).json()["label"] == "Tier"
    assert list(client.get(f"{URL}/schema/contact").json()["properties"]) == ["tier"]


def test_a_read_only_token_cannot_write_definitions(api, admin):
    field = define(admin, label="Tier")
    client = api(admin, scope="read")
    before = state()
    assert client.post(URL, {"entity": "contact", "label": "Mine", "type": "text"}).status_code == 403
    assert client.patch(detail(field), {"label": "Mine"}, **{"If-Match": '"v1"'}).status_code == 403
    assert client.delete(f"{detail(field)}?confirm=tier").status_code == 403
    assert state() == before
    assert client.get(URL).status_code == 200


# --- other workspaces --------------------------------------------------------------------------


def test_a_field_of_another_workspace_is_404_and_nothing_changes(api, admin, other_admin, other_org):
    theirs = define(other_admin, label="Tier")
    ContactFactory.create(org=other_org, custom={"tier": "Gold"})
    client = api(admin)
    before = state()
    for resp in (
        client.get(detail(theirs)),
        client.patch(detail(theirs), {"label": "Mine", "options": []}, **{"If-Match": '"v1"'}),
        client.delete(f"{detail(theirs)}?confirm=tier"),
    ):
        assert api_error(resp, 404)["code"] == "not_found"
    assert state() == before
    assert client.get(URL).json() == []
    assert client.get(f"{URL}/schema/contact").json()["properties"] == {}


@pytest.mark.parametrize("field_id", ["0", "999999999", "99999999999999999999", "abc"])
def test_a_missing_field_id_is_404_or_422(api, admin, field_id):
    resp = api(admin).get(f"{URL}/{field_id}")
    assert resp.status_code in (404, 422)
    assert set(resp.json()) == {"error"}


# --- JSON Schema -------------------------------------------------------------------------------


def test_the_schema_describes_the_custom_object_of_an_entity(api, admin):
    for type_, (extra, _, _) in TYPES.items():
        define(admin, type_, label=f"F {type_}", **extra)
    define(admin, label="Code", required=True, help_text="Internal code")
    define(admin, label="Company only", entity="company")
    schema = api(admin).get(f"{URL}/schema/contact").json()
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    props = schema["properties"]
    assert set(props) == {f"f_{t}" for t in TYPES} | {"code"}
    assert schema["required"] == ["code"]
    assert props["code"] == {"title": "Code", "description": "Internal code", "type": "string", "maxLength": 500}
    assert props["f_number"]["type"] == "integer"
    assert props["f_decimal"]["type"] == "number"
    assert props["f_boolean"]["type"] == "boolean"
    assert props["f_date"] == {"title": "F date", "description": "", "type": "string", "format": "date"}
    assert props["f_url"]["format"] == "uri" and props["f_email"]["format"] == "email"
    assert props["f_long_text"]["maxLength"] == 10000
    assert props["f_choice"]["enum"] == ["Bronze", "Silver", "Gold"]
    assert props["f_multi_choice"]["type"] == "array"
    assert props["f_multi_choice"]["items"] == {"type": "string", "enum": ["Red", "Green", "Blue"]}
    money = props["f_money"]
    assert money["type"] == "object" and money["required"] == ["amount", "currency"]
    assert set(money["properties"]) == {"amount", "currency"}
    company = api(admin).get(f"{URL}/schema/company").json()
    assert list(company["properties"]) == ["company_only"] and company["required"] == []


def test_the_schema_of_an_unknown_entity_is_422(api, admin):
    err = api_error(api(admin).get(f"{URL}/schema/spaceship"), 422)
    assert "entity" in err["fields"]
