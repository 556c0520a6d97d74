"""Picking a company by name: the type-ahead endpoint, the inputs tied to it, and names several companies share."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rapport.accounts.roles import ROLES, Entity, Grant, Level, Role, RoleSpec
from rapport.contacts import selectors, services
from rapport.contacts.models import Company, Contact
from rapport.core.models import Event

HX = {"HTTP_HX_REQUEST": "true"}
SUGGEST = "/companies/suggest/"


def _company(actor: Any, name: str, **data: Any) -> Company:
    return services.company_create(actor=actor, data={"name": name, **data})


def options(resp: Any) -> list[str]:
    """The values of the <option>s of a suggestions answer, in order."""
    assert resp.status_code == 200
    return re.findall(r'<option value="([^"]*)">', resp.content.decode())


@pytest.fixture
def own_level_rep(monkeypatch: Any, member_of: Any) -> Any:
    """A sales rep whose role reads (and writes) only the companies they own."""
    spec = ROLES[Role.SALES]
    grants = {**spec.grants, Entity.COMPANY: Grant(read=Level.OWN, write=Level.OWN)}
    monkeypatch.setitem(ROLES, Role.SALES, RoleSpec(grants=grants, perms=spec.perms))
    return member_of(Role.SALES)


# --- the endpoint --------------------------------------------------------------------------


def test_suggestions_are_the_companies_whose_name_starts_with_the_text_in_any_case(web, admin):
    for name in ("Acme Corp", "acme labs", "ACME", "Initech", "Beacme", "Ac/DC"):
        _company(admin, name)
    client = web(admin)
    assert options(client.get(SUGGEST, {"q": "acm"}, **HX)) == ["ACME", "Acme Corp", "acme labs"]
    assert options(client.get(SUGGEST, {"q": "  ACME L"}, **HX)) == ["acme labs"]
    assert options(client.get(SUGGEST, {"q": "zzz"}, **HX)) == []
    assert options(client.get(SUGGEST, {"q": ""}, **HX)) == []
    assert options(client.get(SUGGEST, **HX)) == []


def test_the_text_may_come_under_the_inputs_own_name(web, admin):
    _company(admin, "Initech")
    resp = web(admin).get(SUGGEST, {"field": "details-parent", "details-parent": "ini"}, **HX)
    assert options(resp) == ["Initech"]


def test_suggestions_are_capped_at_ten(web, admin):
    for i in range(15):
        _company(admin, f"Globex {i:02d}")
    assert options(web(admin).get(SUGGEST, {"q": "glob"}, **HX)) == [f"Globex {i:02d}" for i in range(10)]


def test_suggestions_leave_out_trashed_companies_and_other_workspaces(web, admin, other_admin):
    _company(admin, "Umbrella Live")
    services.company_delete(actor=admin, company=_company(admin, "Umbrella Trashed"))
    _company(other_admin, "Umbrella Elsewhere")
    assert options(web(admin).get(SUGGEST, {"q": "umbrella"}, **HX)) == ["Umbrella Live"]


def test_an_own_level_role_is_only_offered_its_own_companies(web, admin, own_level_rep):
    _company(admin, "Stark Admins")
    _company(admin, "Stark Given", owner_id=own_level_rep.user_id)
    _company(own_level_rep, "Stark Mine")
    assert options(web(own_level_rep).get(SUGGEST, {"q": "stark"}, **HX)) == ["Stark Given", "Stark Mine"]
    assert options(web(admin).get(SUGGEST, {"q": "stark"}, **HX)) == ["Stark Admins", "Stark Given", "Stark Mine"]


def test_a_role_without_company_access_gets_no_suggestions(web, admin, monkeypatch, member_of):
    _company(admin, "Wayne Enterprises")
    spec = ROLES[Role.SUPPORT]
    grants = {**spec.grants, Entity.COMPANY: Grant(read=Level.NONE, write=Level.NONE)}
    monkeypatch.setitem(ROLES, Role.SUPPORT, RoleSpec(grants=grants, perms=spec.perms))
    assert options(web(member_of(Role.SUPPORT)).get(SUGGEST, {"q": "wayne"}, **HX)) == []


def test_the_selector_reads_one_query_and_the_endpoint_does_not_grow_with_matches(
    web, admin, django_assert_num_queries, django_assert_max_num_queries
):
    _company(admin, "Hooli")
    client = web(admin)
    with django_assert_max_num_queries(5):  # the session, the user, the membership and its teams; the companies
        assert options(client.get(SUGGEST, {"q": "hoo"}, **HX)) == ["Hooli"]
    for i in range(20):
        _company(admin, f"Hooli {i:02d}", city="Palo Alto")
    with django_assert_max_num_queries(5):
        assert len(options(client.get(SUGGEST, {"q": "hoo"}, **HX))) == 10
    with django_assert_num_queries(1):
        assert len(selectors.company_suggest(actor=admin, prefix="hoo")) == 10


def test_names_are_escaped(web, admin):
    _company(admin, 'Bobby "Tables" <b>Ltd</b>')
    html = web(admin).get(SUGGEST, {"q": "bobby"}, **HX).content.decode()
    assert "<b>" not in html and 'value="Bobby &quot;Tables&quot; &lt;b&gt;Ltd&lt;/b&gt;"' in html


def test_a_shared_name_is_suggested_with_each_companys_number_and_details(web, admin):
    paris = _company(admin, "Acme", city="Paris", website="https://acme.fr")
    lyon = _company(admin, "ACME", city="Lyon")
    _company(admin, "Acme Unique")
    html = web(admin).get(SUGGEST, {"q": "acme"}, **HX).content.decode()
    assert f'<option value="ACME (#{lyon.pk})">Lyon</option>' in html
    assert f'<option value="Acme (#{paris.pk})">Paris · acme.fr</option>' in html
    assert '<option value="Acme Unique"></option>' in html


def test_a_name_shared_with_the_first_company_past_the_cap_is_still_numbered(admin):
    for i in range(9):
        _company(admin, f"Dup {i}")
    last, next_one = _company(admin, "Dup Z"), _company(admin, "Dup Z")
    suggestions = selectors.company_suggest(actor=admin, prefix="dup")
    assert len(suggestions) == 10 and suggestions[-1].value == f"Dup Z (#{last.pk})"
    assert next_one.pk not in {s.id for s in suggestions}


def test_the_endpoint_needs_a_login_and_only_answers_get(web, admin, client):
    assert client.get(SUGGEST, {"q": "a"}).status_code == 302
    assert web(admin).post(SUGGEST, {"q": "a"}).status_code == 405


# --- the inputs ----------------------------------------------------------------------------


def test_company_inputs_are_tied_to_a_datalist_filled_by_the_endpoint(web, admin):
    company = _company(admin, "Initech")
    contact = services.contact_create(actor=admin, data={"first_name": "Peter", "company_id": company.pk})
    client = web(admin)
    pages = [
        ("/contacts/new/", "company", "company"),
        (f"/contacts/{contact.pk}/section/details/edit/", "details-company", "details-company"),
        (f"/companies/{company.pk}/section/details/edit/", "details-parent", "details-parent"),
    ]
    for url, html_id, name in pages:
        html = client.get(url, **HX).content.decode()
        assert f'list="id_{html_id}_suggestions"' in html, url
        assert f'<datalist id="id_{html_id}_suggestions"></datalist>' in html, url
        assert f'hx-get="/companies/suggest/?field={name}"' in html, url
        assert f'hx-target="#id_{html_id}_suggestions"' in html and 'autocomplete="off"' in html, url


# --- names several companies share ----------------------------------------------------------


def test_creating_a_contact_with_a_shared_company_name_asks_which_one(web, admin):
    first, second = _company(admin, "Acme", city="Paris"), _company(admin, "acme", city="Lyon")
    client = web(admin)
    events = Event.objects.count()
    resp = client.post("/contacts/new/", {"first_name": "Wile", "company": "ACME", "lifecycle_stage": "lead"})
    html = resp.content.decode()
    assert resp.status_code == 400 and "Several companies are named “ACME”" in html
    assert f"“ACME (#{first.pk})”" in html
    assert not Contact.objects.filter(first_name="Wile").exists() and Event.objects.count() == events
    resp = client.post(
        "/contacts/new/", {"first_name": "Wile", "company": f"acme (#{second.pk})", "lifecycle_stage": "lead"}
    )
    assert resp.status_code == 302
    assert Contact.objects.get(first_name="Wile").company_id == second.pk


def test_a_number_that_does_not_match_the_name_or_is_not_visible_is_unknown(web, admin, other_admin):
    acme = _company(admin, "Acme")
    gone = _company(admin, "Gone")
    services.company_delete(actor=admin, company=gone)
    theirs = _company(other_admin, "Theirs")
    client = web(admin)
    for typed in (f"Initech (#{acme.pk})", f"Gone (#{gone.pk})", f"Theirs (#{theirs.pk})"):
        resp = client.post("/contacts/new/", {"first_name": "Wile", "company": typed, "lifecycle_stage": "lead"})
        assert resp.status_code == 400 and f"No company is named “{typed}”" in resp.content.decode()
    assert not Contact.objects.filter(first_name="Wile").exists()


def test_a_company_literally_named_with_a_number_is_found_by_its_name(web, admin):
    odd = _company(admin, "Room (#1)")
    resp = web(admin).post("/contacts/new/", {"first_name": "Wile", "company": "Room (#1)", "lifecycle_stage": "lead"})
    assert resp.status_code == 302 and Contact.objects.get(first_name="Wile").company_id == odd.pk


def test_an_own_level_role_is_not_asked_about_companies_it_cannot_see(web, admin, own_level_rep):
    _company(admin, "Cyberdyne")
    mine = _company(own_level_rep, "Cyberdyne")
    resp = web(own_level_rep).post(
        "/contacts/new/", {"first_name": "Miles", "company": "cyberdyne", "lifecycle_stage": "lead"}
    )
    assert resp.status_code == 302 and Contact.objects.get(first_name="Miles").company_id == mine.pk


def _details(contact: Contact, company: str) -> dict[str, Any]:
    return {
        "details-version": contact.version,
        "details-first_name": contact.first_name,
        "details-company": company,
        "details-gender": contact.gender,
        "details-lifecycle_stage": contact.lifecycle_stage,
    }


def test_saving_details_keeps_a_current_company_whose_name_is_shared(web, admin):
    _company(admin, "Acme", city="Paris")
    lyon = _company(admin, "Acme", city="Lyon")
    contact = services.contact_create(actor=admin, data={"first_name": "Wile", "company_id": lyon.pk})
    client = web(admin)
    form = client.get(f"/contacts/{contact.pk}/section/details/edit/", **HX).content.decode()
    assert 'name="details-company" value="Acme"' in form
    data = {**_details(contact, "Acme"), "details-job_title": "Genius"}
    resp = client.post(f"/contacts/{contact.pk}/section/details/edit/", data, **HX)
    assert resp.status_code == 200, resp.content[:400]
    contact.refresh_from_db()
    assert (contact.company_id, contact.job_title) == (lyon.pk, "Genius")


def test_picking_a_shared_name_in_details_asks_which_one_and_writes_nothing(web, admin):
    paris = _company(admin, "Acme", city="Paris")
    _company(admin, "Acme", city="Lyon")
    contact = services.contact_create(actor=admin, data={"first_name": "Wile"})
    client = web(admin)
    events = Event.objects.count()
    resp = client.post(f"/contacts/{contact.pk}/section/details/edit/", _details(contact, "acme"), **HX)
    html = resp.content.decode()
    assert resp.status_code == 422 and 'id="id_details-company_error"' in html and "Several companies" in html
    assert Contact.objects.get(pk=contact.pk).company_id is None and Event.objects.count() == events
    data = _details(contact, f"Acme (#{paris.pk})")
    assert client.post(f"/contacts/{contact.pk}/section/details/edit/", data, **HX).status_code == 200
    assert Contact.objects.get(pk=contact.pk).company_id == paris.pk


def test_a_shared_parent_name_asks_which_one(web, admin):
    _company(admin, "Holding")
    _company(admin, "Holding")
    company = _company(admin, "Initech")
    resp = web(admin).post(
        f"/companies/{company.pk}/section/details/edit/",
        {"details-version": company.version, "details-name": "Initech", "details-parent": "Holding"},
        **HX,
    )
    assert resp.status_code == 422 and 'id="id_details-parent_error"' in resp.content.decode()
    assert "Several companies are named “Holding”" in resp.content.decode()
    assert Company.objects.get(pk=company.pk).parent_id is None
