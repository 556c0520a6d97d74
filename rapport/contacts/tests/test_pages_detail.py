"""The 360° pages: facts, sections, inline editing over HTMX, stale saves, permissions, the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts import services
from rapport.contacts.models import Company, Contact
from rapport.contacts.timeline import TimelineItem, register_timeline_source, timeline, unregister_timeline_source
from rapport.core.models import Event

HX = {"HTTP_HX_REQUEST": "true"}


def _contact(actor: Any, **data: Any) -> Contact:
    return services.contact_create(actor=actor, data=data)


def _snapshot(model: Any, pk: int) -> dict[str, Any]:
    obj = model.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}


def test_contact_page_shows_key_facts_sections_and_the_created_event(web, admin):
    company = services.company_create(actor=admin, data={"name": "Acme Corp"})
    contact = _contact(
        admin,
        first_name="Ada",
        last_name="Lovelace",
        emails=["ada@example.org"],
        phones=["+442079460958"],
        company_id=company.pk,
        city="London",
        tags=["vip"],
        social_profiles={"linkedin": "https://linkedin.com/in/ada"},
        do_not_call=True,
    )
    resp = web(admin).get(f"/contacts/{contact.pk}/")
    assert resp.status_code == 200
    html = resp.content.decode()
    for text in ("Ada Lovelace", "ada@example.org", "+442079460958", "Acme Corp", "London", "vip", "Do not call"):
        assert text in html
    for section in ("details", "channels", "address", "preferences", "tags", "social", "notes"):
        assert f'id="section-{section}"' in html
    assert "Created" in html and "First name: Ada" in html
    assert f'hx-get="/contacts/{contact.pk}/section/details/edit/"' in html


def test_contact_page_query_count_is_bounded_whatever_the_number_of_events(
    web, admin, member_of, django_assert_max_num_queries
):
    colleague = member_of(Role.SALES)
    company = services.company_create(actor=admin, data={"name": "Acme Corp"})
    contact = _contact(admin, first_name="Ada", emails=["ada@example.org"], company_id=company.pk)
    client = web(admin)
    with django_assert_max_num_queries(
        26
    ) as few:  # one query per timeline source (activities, deals, orders, quotes, tickets …)
        client.get(f"/contacts/{contact.pk}/")
    for i in range(40):
        contact = services.contact_update(
            actor=admin,
            contact=contact,
            data={
                "city": f"City {i}",
                "owner_id": colleague.user_id if i % 2 else admin.user_id,
                "emails": [f"ada{i}@example.org", "other@example.org"],
                "tags": [f"t{i}"],
            },
            expected_version=None,
        )
    with django_assert_max_num_queries(len(few.captured_queries) + 3):  # the owner and company names of changes
        resp = client.get(f"/contacts/{contact.pk}/")
    assert resp.status_code == 200 and "City 39" in resp.content.decode()


def test_edit_returns_a_form_fragment_with_the_version(web, admin):
    contact = _contact(admin, first_name="Ada")
    resp = web(admin).get(f"/contacts/{contact.pk}/section/details/edit/", **HX)
    html = resp.content.decode()
    assert resp.status_code == 200 and "<html" not in html
    assert f'name="details-version" value="{contact.version}"' in html
    assert 'for="id_details-first_name"' in html and 'value="Ada"' in html


def test_inline_edit_saves_records_an_event_and_shows_it_on_the_timeline(web, admin):
    contact = _contact(admin, first_name="Ada", last_name="Byron")
    client = web(admin)
    resp = client.post(
        f"/contacts/{contact.pk}/section/details/edit/",
        {
            "details-version": contact.version,
            "details-first_name": "Ada",
            "details-last_name": "Lovelace",
            "details-gender": "female",
            "details-lifecycle_stage": "customer",
            "details-owner": admin.user_id,
        },
        **HX,
    )
    assert resp.status_code == 200 and resp["HX-Trigger"] == "record-changed"
    assert "Saved." in resp.content.decode() and "Lovelace" in resp.content.decode()
    contact.refresh_from_db()
    assert (contact.full_name, contact.lifecycle_stage, contact.gender) == ("Ada Lovelace", "customer", "female")
    event = Event.objects.get(verb="contact.updated", subject_id=contact.pk)
    assert event.changes["lifecycle_stage"] == ["lead", "customer"]
    timeline_html = client.get(f"/contacts/{contact.pk}/timeline/", **HX).content.decode()
    assert "Lifecycle stage: Lead → Customer" in timeline_html
    assert "Last name: Byron → Lovelace" in timeline_html


def test_inline_edit_without_javascript_redirects_back_to_the_page(web, admin):
    contact = _contact(admin, first_name="Ada")
    client = web(admin)
    page = client.get(f"/contacts/{contact.pk}/", {"edit": "address"}).content.decode()
    assert f'action="/contacts/{contact.pk}/section/address/edit/"' in page
    resp = client.post(
        f"/contacts/{contact.pk}/section/address/edit/",
        {"address-version": contact.version, "address-city": "Paris", "address-country": "France"},
    )
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{contact.pk}/#section-address"
    contact.refresh_from_db()
    assert (contact.city, contact.country) == ("Paris", "FR")


def test_a_stale_edit_is_refused_and_overwrites_nothing(web, admin):
    contact = _contact(admin, first_name="Ada")
    opened_version = contact.version
    services.contact_update(actor=admin, contact=contact, data={"city": "London"}, expected_version=opened_version)
    before = _snapshot(Contact, contact.pk)
    events = Event.objects.count()
    resp = web(admin).post(
        f"/contacts/{contact.pk}/section/address/edit/",
        {"address-version": opened_version, "address-city": "Paris"},
        **HX,
    )
    assert resp.status_code == 409
    html = resp.content.decode()
    assert "Someone else changed this contact" in html and "Reload" in html
    assert 'value="Paris"' in html  # what the user typed is still there
    assert _snapshot(Contact, contact.pk) == before and Event.objects.count() == events


def test_an_invalid_inline_edit_shows_the_field_error_and_writes_nothing(web, admin):
    contact = _contact(admin, first_name="Ada")
    before = _snapshot(Contact, contact.pk)
    resp = web(admin).post(
        f"/contacts/{contact.pk}/section/channels/edit/",
        {"channels-version": contact.version, "channels-email_rows": 1, "channels-email_0": "nope"}
        | {"channels-email_kind_0": "work", "channels-phone_rows": 0},
        **HX,
    )
    assert resp.status_code == 422
    assert 'id="id_channels-email_0_error"' in resp.content.decode()
    assert _snapshot(Contact, contact.pk) == before


def test_editing_the_primary_email_keeps_the_other_emails(web, admin):
    contact = _contact(
        admin, first_name="Ada", emails=["ada@example.org", {"email": "home@example.org", "kind": "personal"}]
    )
    web(admin).post(
        f"/contacts/{contact.pk}/section/channels/edit/",
        {
            "channels-version": contact.version,
            **{"channels-email_rows": 2, "channels-email_primary": "0"},
            **{"channels-email_0": "ada@new.example", "channels-email_kind_0": "work"},
            **{"channels-email_1": "home@example.org", "channels-email_kind_1": "personal"},
            **{"channels-phone_rows": 1, "channels-phone_0": "+33142685300", "channels-phone_kind_0": "work"},
        },
        **HX,
    )
    contact.refresh_from_db()
    assert contact.email == "ada@new.example" and contact.phone == "+33142685300"
    assert sorted(contact.emails.values_list("email", flat=True)) == ["ada@new.example", "home@example.org"]


def test_tags_social_preferences_and_notes_sections_save(web, admin):
    contact = _contact(admin, first_name="Ada")
    client = web(admin)
    for name, data in [
        ("tags", {"tags-tags": "vip, partner"}),
        ("social", {"social-social_linkedin": "linkedin.com/in/ada"}),
        ("preferences", {"preferences-do_not_email": "on"}),
        ("notes", {"notes-notes": "Met at the fair."}),
    ]:
        version = Contact.objects.get(pk=contact.pk).version
        resp = client.post(f"/contacts/{contact.pk}/section/{name}/edit/", {f"{name}-version": version, **data}, **HX)
        assert resp.status_code == 200, (name, resp.content[:300])
    contact = Contact.objects.get(pk=contact.pk)
    assert sorted(t.name for t in contact.tags.all()) == ["partner", "vip"]
    assert contact.social_profiles == {"linkedin": "https://linkedin.com/in/ada"}
    assert contact.do_not_email and not contact.do_not_call and contact.notes == "Met at the fair."


def test_user_data_is_escaped_on_the_contact_page(web, admin):
    contact = _contact(admin, first_name="<script>alert(1)</script>", notes="<b>bold</b>")
    html = web(admin).get(f"/contacts/{contact.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html


# --- permissions ---------------------------------------------------------------------------


def test_a_sales_user_sees_a_colleagues_contact_without_edit_controls(web, admin, member_of):
    contact = _contact(admin, first_name="Ada")
    html = web(member_of(Role.SALES)).get(f"/contacts/{contact.pk}/").content.decode()
    assert "Ada" in html and "/section/details/edit/" not in html and "Delete" not in html
    assert "You can view this contact" in html


def test_a_sales_user_edits_their_own_contact(web, member_of):
    sales = member_of(Role.SALES)
    contact = _contact(sales, first_name="Mine")
    client = web(sales)
    assert "/section/details/edit/" in client.get(f"/contacts/{contact.pk}/").content.decode()
    resp = client.post(
        f"/contacts/{contact.pk}/section/address/edit/",
        {"address-version": contact.version, "address-city": "Oslo"},
        **HX,
    )
    assert resp.status_code == 200 and Contact.objects.get(pk=contact.pk).city == "Oslo"


@pytest.mark.parametrize("htmx", [True, False])
def test_a_sales_user_posting_an_edit_anyway_gets_403_and_nothing_changes(web, admin, member_of, htmx):
    contact = _contact(admin, first_name="Ada")
    before = _snapshot(Contact, contact.pk)
    events = Event.objects.count()
    client = web(member_of(Role.SALES))
    assert client.get(f"/contacts/{contact.pk}/section/address/edit/", **HX).status_code == 403
    resp = client.post(
        f"/contacts/{contact.pk}/section/address/edit/",
        {"address-version": contact.version, "address-city": "Paris"},
        **(HX if htmx else {}),
    )
    assert resp.status_code == 403
    assert "not change it" in resp.content.decode() or "does not allow you" in resp.content.decode()
    assert _snapshot(Contact, contact.pk) == before and Event.objects.count() == events


def test_a_sales_user_cannot_edit_a_colleagues_company(web, admin, member_of):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    before = _snapshot(Company, company.pk)
    client = web(member_of(Role.SALES))
    assert "/section/details/edit/" not in client.get(f"/companies/{company.pk}/").content.decode()
    resp = client.post(
        f"/companies/{company.pk}/section/tags/edit/", {"tags-version": company.version, "tags-tags": "x"}, **HX
    )
    assert resp.status_code == 403 and _snapshot(Company, company.pk) == before


CONTACT_PAGES = [
    ("get", "/contacts/{id}/"),
    ("get", "/contacts/{id}/facts/"),
    ("get", "/contacts/{id}/timeline/"),
    ("get", "/contacts/{id}/section/details/"),
    ("get", "/contacts/{id}/section/details/edit/"),
    ("post", "/contacts/{id}/section/address/edit/"),
    ("post", "/contacts/{id}/delete/"),
    ("post", "/contacts/{id}/restore/"),
]
COMPANY_PAGES = [(m, p.replace("/contacts/", "/companies/")) for m, p in CONTACT_PAGES]


@pytest.mark.parametrize(("method", "template"), CONTACT_PAGES)
def test_every_contact_page_taking_an_id_answers_404_for_another_workspace(web, admin, other_admin, method, template):
    contact = _contact(other_admin, first_name="Theirs")
    before = _snapshot(Contact, contact.pk)
    events = Event.objects.count()
    url = template.format(id=contact.pk)
    data = {"address-version": contact.version, "address-city": "Hacked"}
    resp = getattr(web(admin), method)(url, data if method == "post" else None, **HX)
    assert resp.status_code == 404
    assert "Theirs" not in resp.content.decode()
    assert _snapshot(Contact, contact.pk) == before and Event.objects.count() == events


@pytest.mark.parametrize(("method", "template"), COMPANY_PAGES)
def test_every_company_page_taking_an_id_answers_404_for_another_workspace(web, admin, other_admin, method, template):
    company = services.company_create(actor=other_admin, data={"name": "Their Co"})
    before = _snapshot(Company, company.pk)
    events = Event.objects.count()
    url = template.format(id=company.pk)
    data = {"address-version": company.version, "address-city": "Hacked"}
    resp = getattr(web(admin), method)(url, data if method == "post" else None, **HX)
    assert resp.status_code == 404 and "Their Co" not in resp.content.decode()
    assert _snapshot(Company, company.pk) == before and Event.objects.count() == events


def test_an_unknown_section_is_404(web, admin):
    contact = _contact(admin, first_name="Ada")
    assert web(admin).get(f"/contacts/{contact.pk}/section/password/edit/", **HX).status_code == 404


# --- companies and the timeline ------------------------------------------------------------


def test_company_page_shows_facts_people_subsidiaries_and_parent(web, admin):
    parent = services.company_create(actor=admin, data={"name": "Holding"})
    company = services.company_create(
        actor=admin, data={"name": "Initech", "industry": "information", "parent_id": parent.pk}
    )
    services.company_create(actor=admin, data={"name": "Initech Labs", "parent_id": company.pk})
    _contact(admin, first_name="Peter", last_name="Gibbons", company_id=company.pk, job_title="Engineer")
    html = web(admin).get(f"/companies/{company.pk}/").content.decode()
    assert "Information" in html and "Peter Gibbons" in html and "Initech Labs" in html
    assert f'href="/companies/{parent.pk}/"' in html


def test_company_page_rolls_up_its_contacts_events(web, admin, django_assert_max_num_queries):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    peter = _contact(admin, first_name="Peter", company_id=company.pk)
    services.contact_update(actor=admin, contact=peter, data={"city": "Austin"}, expected_version=None)
    outsider = _contact(admin, first_name="Outsider")
    services.contact_update(actor=admin, contact=outsider, data={"city": "Elsewhere"}, expected_version=None)
    client = web(admin)
    with django_assert_max_num_queries(34):  # a company page asks each timeline source twice (own + its people)
        html = client.get(f"/companies/{company.pk}/").content.decode()
    assert "City: — → Austin" in html and f'href="/contacts/{peter.pk}/">Peter</a>' in html
    assert "Elsewhere" not in html


def test_company_inline_edit_and_stale_refusal(web, admin):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    client = web(admin)
    data = {
        "details-version": company.version,
        "details-name": "Initech Inc",
        "details-industry": "information",
        "details-annual_revenue": "1250000",
        "details-revenue_currency": "usd",
        "details-parent": "",
        "details-owner": admin.user_id,
    }
    resp = client.post(f"/companies/{company.pk}/section/details/edit/", data, **HX)
    assert resp.status_code == 200, resp.content[:500]
    company.refresh_from_db()
    assert (company.name, str(company.annual_revenue), company.revenue_currency) == ("Initech Inc", "1250000.00", "USD")
    resp = client.post(f"/companies/{company.pk}/section/details/edit/", {**data, "details-name": "Old copy"}, **HX)
    assert resp.status_code == 409 and "Someone else changed this company" in resp.content.decode()
    assert Company.objects.get(pk=company.pk).name == "Initech Inc"


def test_an_unknown_parent_company_is_a_field_error(web, admin):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    resp = web(admin).post(
        f"/companies/{company.pk}/section/details/edit/",
        {"details-version": company.version, "details-name": "Initech", "details-parent": "Nobody Inc"},
        **HX,
    )
    assert resp.status_code == 422 and "No company is named" in resp.content.decode()


def test_the_timeline_filters_by_kind_and_pages_with_older(web, admin):
    contact = _contact(admin, first_name="Ada")
    for i in range(35):
        contact = services.contact_update(actor=admin, contact=contact, data={"city": f"C{i}"}, expected_version=None)

    def calls(actor: Any, subject_type: str, ids: Any, limit: int, before: datetime | None) -> list[TimelineItem]:
        at = datetime(2000, 1, 1).astimezone()
        return [] if before and before <= at else [TimelineItem(at=at, kind="call", title="Phoned Ada")]

    register_timeline_source("call", calls, label="Calls")
    try:
        client = web(admin)
        first = client.get(f"/contacts/{contact.pk}/timeline/", **HX).content.decode()
        assert "C34" in first and "Phoned Ada" not in first and "Older" in first
        only_calls = client.get(f"/contacts/{contact.pk}/timeline/", {"kind": "call"}, **HX).content.decode()
        assert "Phoned Ada" in only_calls and "C34" not in only_calls
        items = timeline(actor=admin, subjects=[("contact", [contact.pk])], limit=30)
        older = client.get(
            f"/contacts/{contact.pk}/timeline/", {"before": items[-1].at.isoformat()}, **HX
        ).content.decode()
        assert "C0" in older and "Created" in older and "Phoned Ada" in older
        bad = client.get(f"/contacts/{contact.pk}/timeline/", {"before": "yesterday"}, **HX)
        assert bad.status_code == 400
    finally:
        unregister_timeline_source("call")


def test_the_timeline_shows_trash_and_restore(web, admin):
    contact = _contact(admin, first_name="Ada")
    services.contact_delete(actor=admin, contact=contact)
    services.contact_restore(actor=admin, contact=contact)
    html = web(admin).get(f"/contacts/{contact.pk}/").content.decode()
    assert "Moved to the trash" in html and "Restored from the trash" in html


def test_an_invalid_edit_without_javascript_shows_the_whole_page_with_the_form(web, admin):
    contact = _contact(admin, first_name="Ada")
    resp = web(admin).post(
        f"/contacts/{contact.pk}/section/address/edit/",
        {"address-version": contact.version, "address-country": "Atlantis"},
    )
    html = resp.content.decode()
    assert resp.status_code == 422 and "<html" in html and 'id="timeline"' in html
    assert 'id="id_address-country_error"' in html and "Unknown country" in html
    assert Contact.objects.get(pk=contact.pk).country == ""


def test_company_page_query_count_does_not_grow_with_its_contacts_and_events(web, admin, django_assert_max_num_queries):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    _contact(admin, first_name="First", company_id=company.pk)
    client = web(admin)
    with django_assert_max_num_queries(34) as few:
        client.get(f"/companies/{company.pk}/")
    for i in range(25):
        person = _contact(admin, first_name=f"P{i}", company_id=company.pk, tags=[f"t{i}"])
        services.contact_update(actor=admin, contact=person, data={"city": f"C{i}"}, expected_version=None)
        services.company_create(actor=admin, data={"name": f"Sub {i}", "parent_id": company.pk})
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(f"/companies/{company.pk}/").content.decode()
    assert "City: — → C24" in html and "Sub 24" in html and "P24" in html
