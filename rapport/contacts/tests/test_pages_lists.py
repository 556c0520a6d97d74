"""The contacts and companies list pages: rows, query counts, filters, sort, paging, create, trash."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from rapport.accounts.roles import Role
from rapport.contacts import services
from rapport.contacts.models import Company, Contact
from rapport.core.models import Event

LIST = "/contacts/"
COMPANIES = "/companies/"


def _contact(actor: Any, **data: Any) -> Contact:
    return services.contact_create(actor=actor, data=data)


def _names(resp: Any) -> list[str]:
    return re.findall(
        r'<td class="name-cell"><a href="/(?:contacts|companies)/\d+/">([^<]+)</a>', resp.content.decode()
    )


def test_the_navigation_links_to_contacts_and_companies(web, admin):
    html = web(admin).get("/").content.decode()
    assert f'href="{reverse("contacts:list")}"' in html
    assert f'href="{reverse("contacts:company_list")}"' in html


def test_contact_list_shows_the_rows_with_their_company_owner_and_stage(web, admin):
    acme = services.company_create(actor=admin, data={"name": "Acme Corp"})
    _contact(admin, first_name="Ada", last_name="Lovelace", emails=["ada@example.org"], company_id=acme.pk)
    resp = web(admin).get(LIST)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Ada Lovelace" in html and "ada@example.org" in html and "Acme Corp" in html and "Lead" in html


def test_contact_list_query_count_does_not_grow_with_the_rows(web, admin, django_assert_max_num_queries):
    company = services.company_create(actor=admin, data={"name": "Acme Corp"})
    client = web(admin)
    _contact(admin, first_name="One", emails=["one@example.org"], tags=["vip"], company_id=company.pk)
    with django_assert_max_num_queries(20) as few:
        client.get(LIST)
    for i in range(30):
        _contact(
            admin, first_name=f"P{i}", emails=[f"p{i}@example.org"], phones=["+33142685300"], tags=["vip", f"t{i}"]
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(LIST).status_code == 200


def test_company_list_query_count_does_not_grow_with_the_rows(web, admin, django_assert_max_num_queries):
    client = web(admin)
    parent = services.company_create(actor=admin, data={"name": "Holding"})
    with django_assert_max_num_queries(20) as few:
        client.get(COMPANIES)
    for i in range(30):
        services.company_create(actor=admin, data={"name": f"Co {i}", "parent_id": parent.pk, "tags": [f"t{i}"]})
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(COMPANIES)
    assert resp.status_code == 200 and "Co 29" in resp.content.decode()


def test_quick_search_finds_by_name_and_by_email(web, admin):
    _contact(admin, first_name="Ada", last_name="Lovelace", emails=["ada@analytical.org"])
    _contact(admin, first_name="Grace", last_name="Hopper", emails=["grace@navy.mil"])
    client = web(admin)
    assert _names(client.get(LIST, {"q": "lovel"})) == ["Ada Lovelace"]
    assert _names(client.get(LIST, {"q": "grace@navy"})) == ["Grace Hopper"]


def test_filters_by_stage_owner_country_and_tag_combine(web, admin, member_of):
    other = member_of(Role.SALES)
    _contact(admin, first_name="A", lifecycle_stage="customer", country="FR", tags=["vip"])
    _contact(admin, first_name="B", lifecycle_stage="customer", country="DE", tags=["vip"])
    _contact(admin, first_name="C", lifecycle_stage="lead", country="FR")
    _contact(admin, first_name="D", lifecycle_stage="customer", country="FR", tags=["vip"], owner_id=other.user_id)
    client = web(admin)
    assert sorted(_names(client.get(LIST, {"lifecycle_stage": "customer"}))) == ["A", "B", "D"]
    assert sorted(_names(client.get(LIST, {"lifecycle_stage": "customer", "country": "France"}))) == ["A", "D"]
    assert _names(client.get(LIST, {"country": "fr", "tag": "vip", "owner": admin.user_id})) == ["A"]


def test_an_invalid_filter_answers_400_with_a_message_not_500(web, admin):
    client = web(admin)
    resp = client.get(LIST, {"country": "Atlantis"})
    assert resp.status_code == 400 and "Unknown country" in resp.content.decode()
    resp = client.get(LIST, {"filter": "shoe_size:eq:9"})
    assert resp.status_code == 400 and "Unknown filter field" in resp.content.decode()
    resp = client.get(LIST, {"sort": "notes"})
    assert resp.status_code == 400 and "Cannot sort by" in resp.content.decode()
    resp = client.get(LIST, {"cursor": "not-a-cursor"})
    assert resp.status_code == 400
    resp = client.get(LIST, {"lifecycle_stage": "bogus"})
    assert resp.status_code == 400 and "Some filters are not valid" in resp.content.decode()


def test_column_headers_sort_and_toggle_direction(web, admin):
    for name in ("Bea", "Ann", "Cid"):
        _contact(admin, first_name=name)
    client = web(admin)
    resp = client.get(LIST, {"sort": "full_name"})
    assert _names(resp) == ["Ann", "Bea", "Cid"]
    html = resp.content.decode()
    assert 'aria-sort="ascending"' in html and "sort=-full_name" in html
    assert _names(client.get(LIST, {"sort": "-full_name"})) == ["Cid", "Bea", "Ann"]


def test_next_link_pages_through_every_contact_once(web, admin):
    for i in range(55):
        _contact(admin, first_name=f"N{i:02d}")
    client = web(admin)
    first = client.get(LIST, {"sort": "full_name"})
    cursor = re.search(r'cursor=([\w-]+)">Next<', first.content.decode())
    assert cursor
    second = client.get(LIST, {"sort": "full_name", "cursor": cursor.group(1)})
    names = _names(first) + _names(second)
    assert len(names) == 55 == len(set(names))
    assert "Next<" not in second.content.decode()


def test_company_list_filters_by_industry_and_searches_by_name(web, admin):
    services.company_create(actor=admin, data={"name": "Initech", "industry": "information"})
    services.company_create(actor=admin, data={"name": "Umbrella", "industry": "health_care"})
    client = web(admin)
    assert _names(client.get(COMPANIES, {"industry": "information"})) == ["Initech"]
    assert _names(client.get(COMPANIES, {"q": "umbr"})) == ["Umbrella"]


# --- create --------------------------------------------------------------------------------


def test_creating_a_contact_through_the_form_opens_its_page(web, admin):
    services.company_create(actor=admin, data={"name": "Acme Corp"})
    resp = web(admin).post(
        "/contacts/new/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ADA@Example.org",
            "phone": "+44 20 7946 0958",
            "company": "acme corp",
            "lifecycle_stage": "customer",
            "owner": admin.user_id,
            "tags": "vip, math ,vip",
            "country": "United Kingdom",
        },
    )
    contact = Contact.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{contact.pk}/"
    assert contact.email == "ada@example.org" and contact.phone == "+442079460958"
    assert contact.company is not None and contact.company.name == "Acme Corp" and contact.country == "GB"
    assert sorted(t.name for t in contact.tags.all()) == ["math", "vip"]
    assert Event.objects.filter(verb="contact.created", subject_id=contact.pk).exists()


def test_contact_form_shows_the_services_errors_on_their_fields_and_writes_nothing(web, admin):
    resp = web(admin).post(
        "/contacts/new/",
        {"first_name": "Ada", "email": "not-an-email", "phone": "12", "company": "Nope", "lifecycle_stage": "lead"},
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'id="id_email_error"' in html and 'id="id_company_error"' in html
    assert Contact.objects.count() == 0


def test_a_contact_needs_a_name_or_an_email(web, admin):
    resp = web(admin).post("/contacts/new/", {"lifecycle_stage": "lead"})
    assert resp.status_code == 400 and "Give a name or an email address." in resp.content.decode()
    assert Contact.objects.count() == 0


def test_creating_a_company_and_its_errors(web, admin):
    client = web(admin)
    resp = client.post("/companies/new/", {"name": "", "website": "ftp://x"})
    assert resp.status_code == 400 and Company.objects.count() == 0
    resp = client.post("/companies/new/", {"name": "Initech", "website": "initech.com", "industry": "information"})
    company = Company.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/companies/{company.pk}/"
    assert company.domain == "initech.com"


def test_a_viewer_sees_no_new_button_and_cannot_create(web, member_of):
    viewer = member_of(Role.VIEWER)
    client = web(viewer)
    assert "New contact" not in client.get(LIST).content.decode()
    resp = client.post("/contacts/new/", {"first_name": "Nope", "lifecycle_stage": "lead"})
    assert resp.status_code == 403 and Contact.objects.count() == 0


# --- trash ---------------------------------------------------------------------------------


def test_delete_moves_to_the_trash_with_an_undo_that_restores(web, admin):
    contact = _contact(admin, first_name="Ada")
    client = web(admin)
    resp = client.post(f"/contacts/{contact.pk}/delete/", follow=True)
    html = resp.content.decode()
    assert "Ada was moved to the trash." in html and f'action="/contacts/{contact.pk}/restore/"' in html
    assert Contact.objects.get().deleted_at is not None
    assert "Ada" not in _names(client.get(LIST))
    trash = client.get("/contacts/trash/").content.decode()
    assert "Ada" in trash and "Restore" in trash
    resp = client.post(f"/contacts/{contact.pk}/restore/")
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{contact.pk}/"
    assert Contact.objects.get().deleted_at is None
    assert list(Event.objects.filter(subject_id=contact.pk).values_list("verb", flat=True).order_by("id")) == [
        "contact.created",
        "contact.trashed",
        "contact.restored",
    ]


def test_company_trash_and_restore(web, admin):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    client = web(admin)
    client.post(f"/companies/{company.pk}/delete/")
    assert "Initech" in client.get("/companies/trash/").content.decode()
    assert client.get(f"/companies/{company.pk}/").status_code == 404
    client.post(f"/companies/{company.pk}/restore/")
    assert Company.objects.get().deleted_at is None


@pytest.mark.parametrize("action", ["delete", "restore"])
def test_a_sales_user_cannot_trash_or_restore_a_colleagues_contact(web, admin, member_of, action):
    contact = _contact(admin, first_name="Ada")
    if action == "restore":
        services.contact_delete(actor=admin, contact=contact)
    before = Contact.objects.get().deleted_at
    resp = web(member_of(Role.SALES)).post(f"/contacts/{contact.pk}/{action}/")
    assert resp.status_code == 403 and "does not allow you" in resp.content.decode()
    assert Contact.objects.get().deleted_at == before


@pytest.mark.parametrize("action", ["delete", "restore"])
def test_another_workspaces_contact_cannot_be_trashed_or_restored(web, admin, other_admin, action):
    contact = _contact(other_admin, first_name="Theirs")
    if action == "restore":
        services.contact_delete(actor=other_admin, contact=contact)
    before = Contact.objects.get().deleted_at
    events = Event.objects.count()
    resp = web(admin).post(f"/contacts/{contact.pk}/{action}/")
    assert resp.status_code == 404
    assert Contact.objects.get().deleted_at == before and Event.objects.count() == events


def test_lists_never_show_another_workspaces_records(web, admin, other_admin):
    _contact(other_admin, first_name="Theirs")
    services.company_create(actor=other_admin, data={"name": "Their Co"})
    client = web(admin)
    assert "Theirs" not in client.get(LIST).content.decode()
    assert "Their Co" not in client.get(COMPANIES).content.decode()
    services.contact_delete(actor=other_admin, contact=Contact.objects.get())
    assert "Theirs" not in client.get("/contacts/trash/").content.decode()


def test_the_list_takes_raw_filter_conditions_as_the_api_does(web, admin):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    _contact(admin, first_name="Peter", company_id=company.pk)
    _contact(admin, first_name="Outsider")
    html = web(admin).get(LIST, {"filter": f"company_id:eq:{company.pk}"})
    assert _names(html) == ["Peter"]


def test_the_sort_select_offers_both_directions_and_keeps_the_current_sort(web, admin):
    for name in ("Bea", "Ann"):
        _contact(admin, first_name=name)
    resp = web(admin).get(LIST, {"sort": "-full_name", "q": ""})
    html = resp.content.decode()
    assert '<option value="-full_name" selected>Name Z to A</option>' in html
    assert '<option value="created_at">Oldest first</option>' in html
    assert _names(resp) == ["Bea", "Ann"]
