"""Custom fields on the contact and company pages: the 360° section (shown values, inline edit over HTMX
with the version check, errors on the field, permissions), the create forms, and the lists (columns,
sort, the filter row, saved views, query counts)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rapport.accounts.roles import Role
from rapport.contacts import saved_views, services
from rapport.contacts.models import Company, Contact, SavedView
from rapport.core.customfields import definitions as defs
from rapport.core.errors import ValidationFailed
from rapport.core.models import CustomField, Event
from rapport.core.principal import Principal

HX = {"HTTP_HX_REQUEST": "true"}


def define(actor: Principal, key: str, type_: str, entity: str = "contact", **data: Any) -> CustomField:
    label = data.pop("label", key.replace("_", " ").capitalize())
    return defs.custom_field_create(
        actor=actor, data={"entity": entity, "key": key, "label": label, "type": type_, **data}
    )


@pytest.fixture
def fields(admin: Principal) -> dict[str, CustomField]:
    """One contact field of every type."""
    return {
        "tier": define(admin, "tier", "choice", options=["Bronze", "Silver", "Gold"], label="Loyalty tier"),
        "colours": define(admin, "colours", "multi_choice", options=["Red", "Green", "Blue"]),
        "vip": define(admin, "vip", "boolean", label="VIP"),
        "since": define(admin, "since", "date", label="Member since"),
        "visits": define(admin, "visits", "number"),
        "score": define(admin, "score", "decimal"),
        "budget": define(admin, "budget", "money"),
        "site": define(admin, "site", "url"),
        "billing": define(admin, "billing", "email"),
        "bio": define(admin, "bio", "long_text"),
        "nickname": define(admin, "nickname", "text", help_text="What friends call them."),
    }


def _contact(actor: Principal, **data: Any) -> Contact:
    return services.contact_create(actor=actor, data={"first_name": "Ada", **data})


def _written(model: Any = Contact) -> list[Any]:
    return [*model.objects.order_by("pk").values_list("pk", "custom", "version"), Event.objects.count()]


def _section_post(contact: Contact, **values: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"custom-version": contact.version}
    body.update({f"custom-cf_{k}": v for k, v in values.items()})
    return body


# --- the 360° section ----------------------------------------------------------------------------


def test_the_section_shows_each_fields_label_and_displayed_value(web, admin, fields):
    contact = _contact(
        admin,
        custom={
            "tier": "Gold",
            "colours": ["Red", "Blue"],
            "vip": True,
            "since": "2020-05-01",
            "budget": {"amount": 1234.5, "currency": "EUR"},
            "site": "https://ada.example.org",
        },
    )
    html = web(admin).get(f"/contacts/{contact.pk}/").content.decode()
    assert 'id="section-custom"' in html and ">Custom fields</h2>" in html
    section = html.split('id="section-custom"', 1)[1].split("</section>", 1)[0]
    for label, value in (
        ("Loyalty tier", "Gold"),
        ("Colours", "Red, Blue"),
        ("VIP", "Yes"),
        ("Member since", "2020-05-01"),
        ("Budget", "1,234.50 EUR"),
    ):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in section
    assert '<a href="https://ada.example.org" rel="noopener noreferrer nofollow">' in section
    assert "<dt>Visits</dt><dd>—</dd>" in section


def test_the_section_is_hidden_without_custom_fields_and_other_workspaces_fields_never_show(web, admin, other_admin):
    define(other_admin, "theirs", "text", label="Their field")
    contact = _contact(admin)
    company = services.company_create(actor=admin, data={"name": "Acme"})
    client = web(admin)
    for url in (f"/contacts/{contact.pk}/", f"/companies/{company.pk}/"):
        html = client.get(url).content.decode()
        assert 'id="section-custom"' not in html and "Their field" not in html
    assert client.get(f"/contacts/{contact.pk}/section/custom/edit/", **HX).status_code == 404


def test_a_contact_field_does_not_appear_on_companies(web, admin):
    define(admin, "tier", "text", label="Tier")
    company = services.company_create(actor=admin, data={"name": "Acme"})
    assert 'id="section-custom"' not in web(admin).get(f"/companies/{company.pk}/").content.decode()


def test_the_edit_form_has_the_right_input_for_each_type(web, admin, fields):
    contact = _contact(admin, custom={"vip": False, "colours": ["Green"], "budget": {"amount": 5, "currency": "USD"}})
    resp = web(admin).get(f"/contacts/{contact.pk}/section/custom/edit/", **HX)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert f'name="custom-version" value="{contact.version}"' in html
    assert re.search(r'<select name="custom-cf_tier"[^>]*>\s*<option value="" selected>—</option>', html)
    assert re.search(r'<select name="custom-cf_vip"[^>]*>', html)
    assert '<option value="false" selected>No</option>' in html  # a boolean can be left empty, yes or no
    assert 'type="checkbox" name="custom-cf_colours" value="Green"' in html and "checked" in html
    assert re.search(r'<input type="date" name="custom-cf_since"', html)
    assert re.search(r'<input type="number" name="custom-cf_visits"[^>]*step="1"', html)
    assert re.search(r'<input type="number" name="custom-cf_score"[^>]*step="any"', html)
    assert re.search(r'<input type="number" name="custom-cf_budget_0"[^>]*value="5"', html)
    assert re.search(r'<input type="text" name="custom-cf_budget_1"[^>]*value="USD"', html)
    assert re.search(r'<input type="url" name="custom-cf_site"', html)
    assert re.search(r'<input type="email" name="custom-cf_billing"', html)
    assert re.search(r'<textarea name="custom-cf_bio"', html)
    assert "What friends call them." in html


def test_inline_edit_saves_typed_values_and_the_timeline_shows_the_change(web, admin, fields):
    contact = _contact(admin, custom={"tier": "Bronze"})
    client = web(admin)
    resp = client.post(
        f"/contacts/{contact.pk}/section/custom/edit/",
        _section_post(
            contact,
            tier="Gold",
            colours=["Blue", "Red"],
            vip="true",
            since="2021-03-04",
            visits="12",
            score="4.75",
            budget_0="99.90",
            budget_1="eur",
            site="ada.example.org",
            billing="Billing@Example.org",
            bio="Line one\r\nLine two",
            nickname=" Countess ",
        ),
        **HX,
    )
    assert resp.status_code == 200 and resp["HX-Trigger"] == "record-changed"
    assert "Saved." in resp.content.decode() and "99.90 EUR" in resp.content.decode()
    contact.refresh_from_db()
    assert contact.custom == {
        "tier": "Gold",
        "colours": ["Red", "Blue"],
        "vip": True,
        "since": "2021-03-04",
        "visits": 12,
        "score": 4.75,
        "budget": {"amount": 99.9, "currency": "EUR"},
        "site": "https://ada.example.org",
        "billing": "billing@example.org",
        "bio": "Line one\nLine two",
        "nickname": "Countess",
    }
    event = Event.objects.filter(verb="contact.updated", subject_id=contact.pk).get()
    assert event.changes["custom.tier"] == ["Bronze", "Gold"]
    timeline = client.get(f"/contacts/{contact.pk}/timeline/", **HX).content.decode()
    assert "Loyalty tier: Bronze → Gold" in timeline and "VIP: — → Yes" in timeline
    assert "Budget: — → 99.90 EUR" in timeline


def test_emptying_a_field_removes_its_value(web, admin, fields):
    contact = _contact(admin, custom={"tier": "Gold", "vip": True, "nickname": "Countess"})
    body = _section_post(contact, tier="Gold", vip="", nickname="")
    resp = web(admin).post(f"/contacts/{contact.pk}/section/custom/edit/", body, **HX)
    assert resp.status_code == 200
    contact.refresh_from_db()
    assert contact.custom == {"tier": "Gold"}


def test_without_javascript_the_section_form_opens_in_the_page_and_saves(web, admin, fields):
    contact = _contact(admin)
    client = web(admin)
    page = client.get(f"/contacts/{contact.pk}/", {"edit": "custom"}).content.decode()
    assert f'action="/contacts/{contact.pk}/section/custom/edit/"' in page
    resp = client.post(f"/contacts/{contact.pk}/section/custom/edit/", _section_post(contact, visits="3"))
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{contact.pk}/#section-custom"
    contact.refresh_from_db()
    assert contact.custom == {"visits": 3}


def test_a_stale_edit_shows_the_notice_and_overwrites_nothing(web, admin, fields):
    contact = _contact(admin)
    opened = contact.version
    services.contact_update(actor=admin, contact=contact, data={"custom": {"visits": 1}}, expected_version=opened)
    before = _written()
    resp = web(admin).post(
        f"/contacts/{contact.pk}/section/custom/edit/", {"custom-version": opened, "custom-cf_visits": "9"}, **HX
    )
    assert resp.status_code == 409
    html = resp.content.decode()
    assert "Someone else changed this contact" in html and "Reload" in html and 'value="9"' in html
    assert _written() == before


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"billing": "not-an-email"}, "billing", "email"),
        ({"budget_0": "12", "budget_1": ""}, "budget", "currency"),
        ({"visits": "1.5"}, "visits", "whole number"),
        ({"site": "ftp://example.org"}, "site", "http"),
        ({"tier": "Platinum"}, "tier", "valid choice"),
    ],
)
def test_an_invalid_value_shows_the_message_on_its_field_and_writes_nothing(web, admin, fields, values, field, message):
    contact = _contact(admin)
    before = _written()
    resp = web(admin).post(f"/contacts/{contact.pk}/section/custom/edit/", _section_post(contact, **values), **HX)
    assert resp.status_code in {400, 422}
    html = resp.content.decode()
    error = re.search(rf'<div id="id_custom-cf_{field}_error">(.*?)</div>', html, re.S)
    assert error and message in error.group(1).lower(), html
    assert _written() == before


def test_a_required_field_must_be_filled(web, admin):
    define(admin, "tier", "text", required=True, label="Tier")
    contact = Contact.objects.get(pk=_contact(admin, custom={"tier": "Gold"}).pk)
    before = _written()
    resp = web(admin).post(f"/contacts/{contact.pk}/section/custom/edit/", _section_post(contact, tier=""), **HX)
    assert resp.status_code in {400, 422} and 'id="id_custom-cf_tier_error"' in resp.content.decode()
    assert _written() == before


def test_a_viewer_sees_the_values_but_cannot_edit_and_nothing_changes(web, admin, member_of, fields):
    contact = _contact(admin, custom={"tier": "Gold"})
    client = web(member_of(Role.VIEWER))
    html = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "<dt>Loyalty tier</dt><dd>Gold</dd>" in html
    assert f'hx-get="/contacts/{contact.pk}/section/custom/edit/"' not in html
    assert client.get(f"/contacts/{contact.pk}/section/custom/edit/", **HX).status_code == 403
    before = _written()
    resp = client.post(f"/contacts/{contact.pk}/section/custom/edit/", _section_post(contact, tier="Bronze"), **HX)
    assert resp.status_code == 403
    assert _written() == before


def test_another_workspaces_record_answers_404_and_nothing_changes(web, admin, other_admin):
    define(other_admin, "tier", "text")
    define(admin, "tier", "text")
    theirs = _contact(other_admin, custom={"tier": "Theirs"})
    before = _written()
    client = web(admin)
    assert client.get(f"/contacts/{theirs.pk}/section/custom/edit/", **HX).status_code == 404
    resp = client.post(f"/contacts/{theirs.pk}/section/custom/edit/", _section_post(theirs, tier="Mine"), **HX)
    assert resp.status_code == 404
    assert _written() == before


def test_company_page_edits_its_custom_fields_inline(web, admin):
    define(admin, "vat", "text", entity="company", label="VAT number", unique=True)
    company = services.company_create(actor=admin, data={"name": "Acme"})
    other = services.company_create(actor=admin, data={"name": "Other", "custom": {"vat": "FR123"}})
    client = web(admin)
    assert "VAT number" in client.get(f"/companies/{company.pk}/").content.decode()
    url = f"/companies/{company.pk}/section/custom/edit/"
    resp = client.post(url, {"custom-version": company.version, "custom-cf_vat": "FR123"}, **HX)
    assert resp.status_code == 422 and "Another record already has this value" in resp.content.decode()
    resp = client.post(url, {"custom-version": company.version, "custom-cf_vat": "FR999"}, **HX)
    assert resp.status_code == 200
    assert Company.objects.get(pk=company.pk).custom == {"vat": "FR999"}
    assert Company.objects.get(pk=other.pk).custom == {"vat": "FR123"}


def test_the_page_query_count_does_not_grow_with_the_number_of_fields(web, admin, django_assert_max_num_queries):
    define(admin, "f0", "text")
    contact = _contact(admin)
    client = web(admin)
    with django_assert_max_num_queries(30) as few:
        client.get(f"/contacts/{contact.pk}/")
    for i in range(1, 15):
        define(admin, f"f{i}", "text")
    contact = services.contact_update(
        actor=admin, contact=contact, data={"custom": {f"f{i}": f"v{i}" for i in range(15)}}, expected_version=None
    )
    with django_assert_max_num_queries(len(few.captured_queries) + 1):  # the labels of changed custom fields
        resp = client.get(f"/contacts/{contact.pk}/")
    assert "v14" in resp.content.decode()


# --- the create forms ----------------------------------------------------------------------------


def test_the_create_forms_include_the_custom_fields_with_required_marks_and_defaults(web, admin):
    define(admin, "tier", "choice", options=["Bronze", "Gold"], required=True, default="Bronze", label="Tier")
    define(admin, "vat", "text", entity="company", label="VAT number")
    client = web(admin)
    html = client.get("/contacts/new/").content.decode()
    assert re.search(r'<label for="id_cf_tier">Tier <span class="required-mark">\(required\)</span></label>', html)
    assert '<option value="Bronze" selected>Bronze</option>' in html
    assert "VAT number" not in html
    assert 'for="id_cf_vat">VAT number</label>' in client.get("/companies/new/").content.decode()


def test_creating_a_contact_with_custom_values(web, admin):
    define(admin, "tier", "choice", options=["Bronze", "Gold"], default="Bronze", label="Tier")
    define(admin, "visits", "number")
    resp = web(admin).post(
        "/contacts/new/", {"first_name": "Ada", "lifecycle_stage": "lead", "cf_tier": "Gold", "cf_visits": "4"}
    )
    contact = Contact.objects.get()
    assert resp.status_code == 302 and contact.custom == {"tier": "Gold", "visits": 4}


def test_a_create_form_error_lands_on_the_custom_field_and_creates_nothing(web, admin):
    define(admin, "billing", "email", entity="company", label="Billing email")
    define(admin, "budget", "money", entity="company", required=True)
    resp = web(admin).post("/companies/new/", {"name": "Acme", "cf_billing": "nope", "cf_budget_0": "10"})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'id="id_cf_billing_error"' in html and 'id="id_cf_budget_error"' in html
    assert Company.objects.count() == 0


# --- lists ---------------------------------------------------------------------------------------


def _names(resp: Any) -> list[str]:
    return re.findall(
        r'<td class="name-cell"><a href="/(?:contacts|companies)/\d+/">([^<]+)</a>', resp.content.decode()
    )


def test_a_custom_column_shows_values_and_its_header_sorts(web, admin):
    define(admin, "score", "decimal", label="Score")
    for name, score in (("Bea", 2.5), ("Ann", 10), ("Cid", None)):
        custom = {"score": score} if score is not None else {}
        _contact(admin, first_name=name, custom=custom)
    client = web(admin)
    resp = client.get("/contacts/", {"columns": ["email", "custom.score"]})
    html = resp.content.decode()
    assert 'data-label="Score">2.5</td>' in html and 'data-label="Score">—</td>' in html
    assert 'data-label="Email"' in html and 'data-label="Owner"' not in html
    assert "sort=custom.score" in html
    resp = client.get("/contacts/", {"columns": "custom.score", "sort": "-custom.score"})
    assert _names(resp) == ["Ann", "Bea", "Cid"]
    assert 'aria-sort="descending"' in resp.content.decode()
    assert _names(client.get("/contacts/", {"sort": "custom.score"})) == ["Cid", "Bea", "Ann"]


def test_the_column_chooser_and_filter_row_offer_custom_fields(web, admin):
    define(admin, "tier", "choice", options=["Bronze", "Gold"], label="Tier")
    define(admin, "vat", "text", entity="company", label="VAT number")
    html = web(admin).get("/contacts/").content.decode()
    assert 'name="columns" value="custom.tier"' in html
    assert '<option value="custom.tier" data-ops="eq ne in empty not_empty">Tier</option>' in html
    assert '<option value="lifecycle_stage"' in html
    assert "VAT number" not in html
    company_html = web(admin).get("/companies/").content.decode()
    assert 'name="columns" value="custom.vat"' in company_html


def test_the_filter_row_becomes_one_filter_parameter_and_filters(web, admin):
    define(admin, "tier", "choice", options=["Bronze", "Gold"], label="Tier")
    _contact(admin, first_name="Goldie", custom={"tier": "Gold"})
    _contact(admin, first_name="Bronson", custom={"tier": "Bronze"})
    _contact(admin, first_name="Nobody")
    client = web(admin)
    resp = client.get("/contacts/", {"lifecycle_stage": "lead", "ff": "custom.tier", "fo": "eq", "fv": "Gold"})
    assert resp.status_code == 302
    target = urlsplit(resp["Location"])
    assert target.path == "/contacts/"
    assert parse_qs(target.query) == {"lifecycle_stage": ["lead"], "filter": ["custom.tier:eq:Gold"]}
    resp = client.get(resp["Location"])
    assert _names(resp) == ["Goldie"]
    html = resp.content.decode()
    assert "Tier is Gold" in html and "Remove the filter Tier is Gold" in html
    assert 'name="filter" value="custom.tier:eq:Gold"' in html  # the filter bar keeps it
    empty = client.get(client.get("/contacts/", {"ff": "custom.tier", "fo": "empty", "fv": "x"})["Location"])
    assert _names(empty) == ["Nobody"]


def test_a_bad_custom_filter_answers_400_with_a_message(web, admin):
    define(admin, "visits", "number")
    resp = web(admin).get("/contacts/", {"filter": "custom.visits:contains:3"})
    assert resp.status_code == 400 and "does not support" in resp.content.decode()


def test_list_query_count_with_custom_columns_does_not_grow_with_the_rows(web, admin, django_assert_max_num_queries):
    define(admin, "tier", "text")
    define(admin, "visits", "number")
    client = web(admin)
    params = {"columns": ["custom.tier", "custom.visits"], "sort": "custom.visits", "filter": "custom.tier:not_empty"}
    _contact(admin, custom={"tier": "a", "visits": 1})
    with django_assert_max_num_queries(25) as few:
        client.get("/contacts/", params)
    for i in range(30):
        _contact(admin, first_name=f"P{i}", custom={"tier": f"t{i}", "visits": i})
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get("/contacts/", params)
    assert resp.status_code == 200 and "P29" in resp.content.decode()


def test_saving_a_view_with_a_custom_column_condition_and_sort(web, admin):
    define(admin, "tier", "choice", options=["Bronze", "Gold"], label="Tier")
    _contact(admin, first_name="Goldie", custom={"tier": "Gold"})
    _contact(admin, first_name="Bronson", custom={"tier": "Bronze"})
    client = web(admin)
    resp = client.post(
        "/contacts/views/save/",
        {
            "name": "Gold members",
            "query": "filter=custom.tier:eq:Gold&sort=-custom.tier",
            "columns": ["email", "custom.tier"],
        },
    )
    view = SavedView.objects.get()
    assert resp.status_code == 302
    assert (view.conditions, view.sort, view.columns) == (
        ["custom.tier:eq:Gold"],
        "-custom.tier",
        ["email", "custom.tier"],
    )
    resp = client.get("/contacts/", {"view": view.pk})
    assert _names(resp) == ["Goldie"] and 'data-label="Tier">Gold</td>' in resp.content.decode()


def test_saved_views_accept_only_live_custom_columns(admin, other_admin):
    define(other_admin, "theirs", "text")
    define(admin, "tier", "text")
    view = saved_views.saved_view_create(
        actor=admin, data={"name": "v", "entity": "contact", "columns": ["full_name", "custom.tier"]}
    )
    assert view.columns == ["full_name", "custom.tier"]
    for columns in (["custom.theirs"], ["custom.nope"], ["custom.tier", "password"]):
        with pytest.raises(ValidationFailed) as exc:
            saved_views.saved_view_create(actor=admin, data={"name": "v", "entity": "contact", "columns": columns})
        assert "columns" in exc.value.fields
    with pytest.raises(ValidationFailed):
        saved_views.saved_view_create(actor=admin, data={"name": "v", "entity": "company", "columns": ["custom.tier"]})
    assert SavedView.objects.count() == 1


def test_active_filters_read_as_sentences_and_each_removes_itself(web, admin, fields):
    _contact(admin, custom={"tier": "Gold"})
    html = web(admin).get("/contacts/?filter=custom.tier:in:Gold,Silver&filter=country:empty").content.decode()
    assert "Loyalty tier is one of Gold, Silver" in html
    assert "(a,b,…) Gold" not in html  # the operator select's hint is not part of the sentence
    assert "/contacts/?filter=country%3Aempty" in html  # removing the first keeps the second
