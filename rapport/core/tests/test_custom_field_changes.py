"""Custom field definitions through the API: renames and other updates, ETag / If-Match, confirmed deletion
with its background purge, roles, other workspaces, JSON Schema."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.factories import CompanyFactory, ContactFactory, api_error
from rapport.core.customfields import definitions as defs
from rapport.core.models import CustomField, Event
from rapport.core.tests.customfield_support import TYPES, URL, define, detail, state

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
