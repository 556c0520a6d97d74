"""Settings → Custom fields pages: the list per entity, add, edit and delete (with its confirmation page);
service errors on the form's fields; admins only (others get 403 and change nothing); other workspaces'
fields answer 404; CSRF on every post."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rapport.accounts.roles import Role
from rapport.contacts import services as contact_services
from rapport.core.customfields import definitions as defs
from rapport.core.models import CustomField, Event
from rapport.core.principal import Principal

LIST = "/settings/custom-fields/"
NEW = "/settings/custom-fields/new/"


def _field(actor: Principal, **data: Any) -> CustomField:
    return defs.custom_field_create(actor=actor, data={"entity": "contact", "type": "text", **data})


def _state() -> list[tuple[Any, ...]]:
    """Everything a write on a definition could change, and the events."""
    rows = CustomField.objects.order_by("pk").values_list(
        "pk", "label", "key", "required", "unique", "default", "options", "position", "deleted_at", "version"
    )
    return [*rows, ("events", Event.objects.count())]


def _add(client: Client, **data: Any) -> Any:
    body = {"entity": "contact", "type": "text", "label": "", "key": "", "help_text": "", "default": "", "options": ""}
    body.update(data)
    return client.post(NEW, {k: v for k, v in body.items() if v is not False})


# --- the list ------------------------------------------------------------------------------------


def test_the_page_lists_each_entitys_fields_with_type_key_and_rules(web, admin, other_admin):
    _field(admin, label="Loyalty tier", type="choice", options=["Bronze", "Gold"], required=True)
    _field(admin, label="VAT number", key="vat", unique=True, entity="company")
    _field(other_admin, label="Their secret field")
    resp = web(admin).get(LIST)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'href="/settings/custom-fields/" aria-current="page"' in html  # in the settings navigation
    for text in ("Contacts", "Companies", "Loyalty tier", "loyalty_tier", "Single choice", "Bronze, Gold"):
        assert text in html
    assert "VAT number" in html and "<code>vat</code>" in html and "Required" in html and "Unique" in html
    assert "Their secret field" not in html
    assert 'href="/settings/custom-fields/new/?entity=company"' in html


def test_the_page_says_when_an_entity_has_no_fields(web, admin):
    html = web(admin).get(LIST).content.decode()
    assert "No custom fields on contacts yet." in html and "No custom fields on companies yet." in html


# --- add -----------------------------------------------------------------------------------------


def test_adding_a_choice_field_takes_one_option_per_line_and_derives_the_key(web, admin):
    resp = _add(
        web(admin),
        label="Loyalty tier",
        type="choice",
        options="Bronze\r\n Silver \r\n\r\nGold",
        default="silver",
        required="on",
        help_text="Their tier in the programme.",
    )
    assert resp.status_code == 302 and resp["Location"] == LIST
    field = CustomField.objects.get()
    assert (field.key, field.entity, field.type) == ("loyalty_tier", "contact", "choice")
    assert field.options == ["Bronze", "Silver", "Gold"] and field.default == "Silver" and field.required
    assert field.help_text == "Their tier in the programme."
    assert Event.objects.filter(verb="custom_field.created", subject_id=field.pk).exists()


def test_the_add_form_preselects_the_entity_and_lists_the_types(web, admin):
    html = web(admin).get(NEW, {"entity": "company"}).content.decode()
    assert '<option value="company" selected>Companies</option>' in html
    assert '<option value="money">Money (amount and currency)</option>' in html
    assert 'data-shown-for="id_type:choice,multi_choice"' in html


def test_a_money_default_is_typed_as_amount_and_currency(web, admin):
    _add(web(admin), label="Budget", type="money", default="1,250.50 eur", entity="company")
    field = CustomField.objects.get()
    assert field.default == {"amount": 1250.5, "currency": "EUR"}


@pytest.mark.parametrize(
    ("data", "error_field", "message"),
    [
        ({"label": "Tier", "type": "choice", "options": ""}, "options", "Give 1 to"),
        ({"label": "Notes", "type": "long_text", "unique": "on"}, "unique", "cannot be unique"),
        ({"label": "Since", "type": "date", "default": "yesterday"}, "default", "YYYY-MM-DD"),
        ({"label": "Vat", "key": "9bad key"}, "key", "starts with a letter"),
        ({"label": "Taken", "key": "taken"}, "key", "already uses the key"),
        ({"label": ""}, "label", "required"),
    ],
)
def test_service_and_form_errors_land_on_their_fields_and_add_nothing(web, admin, data, error_field, message):
    _field(admin, label="Taken", key="taken")
    before = _state()
    resp = _add(web(admin), **data)
    assert resp.status_code in {400, 409, 422}
    html = resp.content.decode()
    assert f'id="id_{error_field}_error"' in html and message in html
    assert _state() == before


# --- edit ----------------------------------------------------------------------------------------


def _edit_body(field: CustomField, **data: Any) -> dict[str, Any]:
    body = {
        "label": field.label,
        "help_text": field.help_text,
        "default": "",
        "options": "\n".join(field.options),
        "position": field.position,
        "version": field.version,
    }
    body.update(data)
    return {k: v for k, v in body.items() if v is not False}


def test_the_edit_form_shows_key_and_type_read_only_and_saves_the_rest(web, admin):
    field = _field(admin, label="Tier", type="choice", options=["Bronze", "Gold"])
    client = web(admin)
    html = client.get(f"{LIST}{field.pk}/").content.decode()
    assert "<code>tier</code>" in html and "Single choice" in html
    assert 'name="key"' not in html and 'name="type"' not in html and 'name="entity"' not in html
    resp = client.post(
        f"{LIST}{field.pk}/",
        _edit_body(field, label="Loyalty tier", options="Bronze\nSilver\nGold", required="on", position=7),
    )
    assert resp.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.key, field.options, field.required, field.position) == (
        "Loyalty tier",
        "tier",
        ["Bronze", "Silver", "Gold"],
        True,
        7,
    )
    assert Event.objects.get(verb="custom_field.updated").changes["label"] == ["Tier", "Loyalty tier"]


def test_removing_an_option_in_use_is_refused_on_the_options_field(web, admin):
    field = _field(admin, label="Tier", type="choice", options=["Bronze", "Gold"])
    contact_services.contact_create(actor=admin, data={"first_name": "Ada", "custom": {"tier": "Gold"}})
    before = _state()
    resp = web(admin).post(f"{LIST}{field.pk}/", _edit_body(field, options="Bronze"))
    assert resp.status_code == 409
    html = resp.content.decode()
    assert 'id="id_options_error"' in html and "use the option" in html
    assert _state() == before


def test_a_stale_edit_is_refused_and_changes_nothing(web, admin):
    field = _field(admin, label="Tier")
    opened = field.version
    defs.custom_field_update(actor=admin, field=field, data={"label": "Level"}, expected_version=opened)
    before = _state()
    resp = web(admin).post(f"{LIST}{field.pk}/", _edit_body(field, label="Mine", version=opened))
    assert resp.status_code == 412
    assert "Someone else changed this field" in resp.content.decode()
    assert _state() == before


def test_a_field_that_cannot_be_unique_has_no_unique_box(web, admin):
    field = _field(admin, label="Notes", type="long_text")
    html = web(admin).get(f"{LIST}{field.pk}/").content.decode()
    assert 'name="unique"' not in html and 'name="options"' not in html


# --- delete --------------------------------------------------------------------------------------


def test_delete_asks_for_the_key_on_its_own_page_and_explains_what_goes(web, admin):
    field = _field(admin, label="Tier", key="tier")
    contact_services.contact_create(actor=admin, data={"first_name": "Ada", "custom": {"tier": "Gold"}})
    client = web(admin)
    html = client.get(f"{LIST}{field.pk}/delete/").content.decode()
    assert "removes its values from <strong>every</strong>" in html and "1 record has a value" in html
    assert "<code>tier</code>" in html
    before = _state()
    resp = client.post(f"{LIST}{field.pk}/delete/", {"confirm": "yes"})
    assert resp.status_code == 422 and 'id="id_confirm_error"' in resp.content.decode()
    assert _state() == before
    resp = client.post(f"{LIST}{field.pk}/delete/", {"confirm": "tier"})
    assert resp.status_code == 302 and resp["Location"] == LIST
    assert CustomField.objects.get().deleted_at is not None
    assert Event.objects.filter(verb="custom_field.deleted", subject_id=field.pk).exists()
    assert f'href="{LIST}{field.pk}/"' not in client.get(LIST).content.decode()


def test_a_deleted_field_leaves_the_pages(web, admin):
    field = _field(admin, label="Tier", key="tier")
    defs.custom_field_delete(actor=admin, field=field, confirm="tier")
    client = web(admin)
    assert client.get(f"{LIST}{field.pk}/").status_code == 404
    assert client.get(f"{LIST}{field.pk}/delete/").status_code == 404


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.VIEWER])
def test_only_admins_reach_the_pages_and_others_change_nothing(web, admin, member_of, role):
    field = _field(admin, label="Tier", key="tier")
    client = web(member_of(role))
    assert "/settings/custom-fields/" not in client.get("/settings/tokens/").content.decode()
    for url in (LIST, NEW, f"{LIST}{field.pk}/", f"{LIST}{field.pk}/delete/"):
        assert client.get(url).status_code == 403
    before = _state()
    attempts = [
        _add(client, label="Sneaky"),
        client.post(f"{LIST}{field.pk}/", _edit_body(field, label="Taken over")),
        client.post(f"{LIST}{field.pk}/delete/", {"confirm": "tier"}),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert _state() == before


def test_another_workspaces_field_answers_404_and_changes_nothing(web, admin, other_admin):
    theirs = _field(other_admin, label="Theirs", key="theirs")
    client = web(admin)
    before = _state()
    assert client.get(f"{LIST}{theirs.pk}/").status_code == 404
    assert client.get(f"{LIST}{theirs.pk}/delete/").status_code == 404
    assert client.post(f"{LIST}{theirs.pk}/", _edit_body(theirs, label="Mine")).status_code == 404
    assert client.post(f"{LIST}{theirs.pk}/delete/", {"confirm": "theirs"}).status_code == 404
    assert _state() == before


def test_every_post_needs_the_csrf_token(admin):
    field = _field(admin, label="Tier", key="tier")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session["rapport_org_id"] = admin.org_id
    session.save()
    before = _state()
    for url, body in (
        (NEW, {"entity": "contact", "type": "text", "label": "X"}),
        (f"{LIST}{field.pk}/", _edit_body(field, label="Y")),
        (f"{LIST}{field.pk}/delete/", {"confirm": "tier"}),
    ):
        assert client.post(url, body).status_code == 403
    assert _state() == before
