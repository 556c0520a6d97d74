"""The "Email and phone" section of a contact's page: every email and phone as a row of its edit form.

The tests post what the edit form shows (read back from its HTML, as a browser would send it),
changed the way a user would change it: type in a blank row, pick a kind, move the primary radio,
tick "Remove".
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts import services
from rapport.contacts.models import Contact, ContactEmail, ContactPhone
from rapport.core.models import Event

HX = {"HTTP_HX_REQUEST": "true"}


class _FormValues(HTMLParser):
    """The name → value pairs a browser submits for the first form of a page (checked boxes only)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.in_form = False
        self.select: str | None = None
        self.first_option: str | None = None
        self.chosen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in {"checkbox", "radio"}:
                if "checked" in a:
                    self.values[a["name"]] = a.get("value") or "on"
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select, self.first_option, self.chosen = a["name"], None, False
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.values[self.select], self.chosen = a.get("value", ""), True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select:
            if not self.chosen:
                self.values[self.select] = self.first_option or ""
            self.select = None
        if tag == "form":
            self.in_form = False


def form_values(html: str) -> dict[str, str]:
    parser = _FormValues()
    parser.feed(html)
    return parser.values


def _contact(actor: Any, **data: Any) -> Contact:
    return services.contact_create(actor=actor, data=data)


def _ada(admin: Any) -> Contact:
    return _contact(
        admin,
        first_name="Ada",
        emails=[
            {"email": "ada@work.example", "kind": "work", "is_primary": True},
            {"email": "ada@home.example", "kind": "personal"},
        ],
        phones=[{"number": "+442079460958", "kind": "work", "is_primary": True}],
    )


def emails_of(contact: Contact) -> list[tuple[str, str, bool]]:
    return list(ContactEmail.objects.filter(contact=contact).order_by("id").values_list("email", "kind", "is_primary"))


def phones_of(contact: Contact) -> list[tuple[str, str, bool]]:
    return list(ContactPhone.objects.filter(contact=contact).order_by("id").values_list("number", "kind", "is_primary"))


def state(contact: Contact) -> dict[str, Any]:
    """Everything a save could change: the contact's columns, its emails and phones, the events."""
    row = Contact.objects.get(pk=contact.pk)
    columns = {f.attname: getattr(row, f.attname) for f in Contact._meta.concrete_fields}
    return {"row": columns, "emails": emails_of(contact), "phones": phones_of(contact), "events": Event.objects.count()}


def edit_form(client: Any, contact: Contact) -> dict[str, str]:
    resp = client.get(f"/contacts/{contact.pk}/section/channels/edit/", **HX)
    assert resp.status_code == 200
    return form_values(resp.content.decode())


def save(client: Any, contact: Contact, data: dict[str, str], htmx: bool = True) -> Any:
    return client.post(f"/contacts/{contact.pk}/section/channels/edit/", data, **(HX if htmx else {}))


# --- the form ------------------------------------------------------------------------------


def test_the_edit_form_has_a_row_per_email_and_phone_and_two_blank_rows(web, admin):
    contact = _ada(admin)
    resp = web(admin).get(f"/contacts/{contact.pk}/section/channels/edit/", **HX)
    html = resp.content.decode()
    values = form_values(html)
    assert values["channels-version"] == str(contact.version)
    assert (values["channels-email_rows"], values["channels-phone_rows"]) == ("4", "3")
    assert [values[f"channels-email_{i}"] for i in range(4)] == ["ada@work.example", "ada@home.example", "", ""]
    assert [values[f"channels-email_kind_{i}"] for i in range(4)] == ["work", "personal", "work", "work"]
    assert [values[f"channels-phone_{i}"] for i in range(3)] == ["+442079460958", "", ""]
    assert [values[f"channels-phone_kind_{i}"] for i in range(3)] == ["work", "mobile", "mobile"]
    assert values["channels-email_primary"] == "0" and values["channels-phone_primary"] == "0"
    # One primary radio group per list, a remove box on the filled rows only, labels for every input.
    assert html.count('name="channels-email_primary"') == 4 and html.count('name="channels-phone_primary"') == 3
    assert 'name="channels-email_remove_1"' in html and 'name="channels-email_remove_2"' not in html
    assert 'placeholder="Add an email address"' in html and 'placeholder="Add a phone number"' in html
    for name in ("email_3", "email_kind_3", "email_primary_3", "phone_2", "email_remove_0"):
        assert f'for="id_channels-{name}"' in html


def test_a_full_list_gets_no_blank_rows(web, admin):
    contact = _contact(admin, first_name="Ada", emails=[f"a{i}@example.org" for i in range(10)])
    html = web(admin).get(f"/contacts/{contact.pk}/section/channels/edit/", **HX).content.decode()
    values = form_values(html)
    assert values["channels-email_rows"] == "10" and values["channels-email_9"] == "a9@example.org"
    assert values["channels-phone_rows"] == "2"
    assert "at most 10 emails: remove one to add another" in html


def test_the_page_without_javascript_opens_the_same_form(web, admin):
    contact = _ada(admin)
    html = web(admin).get(f"/contacts/{contact.pk}/", {"edit": "channels"}).content.decode()
    assert f'action="/contacts/{contact.pk}/section/channels/edit/"' in html
    assert 'value="ada@home.example"' in html and 'name="channels-email_rows"' in html


# --- saving --------------------------------------------------------------------------------


def test_adding_removing_and_retyping_emails_and_phones(web, admin):
    contact = _ada(admin)
    client = web(admin)
    data = edit_form(client, contact)
    data["channels-email_remove_0"] = "on"  # the work address goes
    data["channels-email_kind_1"] = "other"  # the home one is retyped
    data["channels-email_2"] = "  Ada@New.Example "  # a new one, made primary
    data["channels-email_kind_2"] = "personal"
    data["channels-email_primary"] = "2"
    data["channels-phone_1"] = "+33 1 42 68 53 00"
    data["channels-phone_kind_1"] = "home"
    resp = save(client, contact, data)
    assert resp.status_code == 200 and resp["HX-Trigger"] == "record-changed"
    html = resp.content.decode()
    assert "Saved." in html and 'href="mailto:ada@new.example"' in html and "ada@work.example" not in html
    assert emails_of(contact) == [("ada@home.example", "other", False), ("ada@new.example", "personal", True)]
    assert phones_of(contact) == [("+442079460958", "work", True), ("+33142685300", "home", False)]
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("ada@new.example", "+442079460958")
    event = Event.objects.filter(verb="contact.updated", subject_id=contact.pk).latest("id")
    assert event.changes["emails"] == [  # primary first
        ["ada@work.example", "ada@home.example"],
        ["ada@new.example", "ada@home.example"],
    ]


def test_moving_the_primary_radio_changes_the_primary_email_and_phone(web, admin):
    contact = _ada(admin)
    client = web(admin)
    data = edit_form(client, contact)
    data["channels-email_primary"] = "1"
    data["channels-phone_1"] = "+14155550123"
    data["channels-phone_primary"] = "1"
    assert save(client, contact, data).status_code == 200
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("ada@home.example", "+14155550123")
    assert [e[2] for e in emails_of(contact)] == [False, True]
    reopened = edit_form(client, contact)  # the primary one comes first
    assert (reopened["channels-email_0"], reopened["channels-email_primary"]) == ("ada@home.example", "0")


def test_removing_the_primary_email_makes_the_first_one_left_primary(web, admin):
    contact = _ada(admin)
    client = web(admin)
    data = edit_form(client, contact)
    data["channels-email_remove_0"] = "on"
    data["channels-phone_remove_0"] = "on"
    assert save(client, contact, data).status_code == 200
    contact.refresh_from_db()
    assert emails_of(contact) == [("ada@home.example", "personal", True)]
    assert (contact.email, contact.phone, phones_of(contact)) == ("ada@home.example", "", [])


def test_saving_without_javascript_redirects_to_the_section(web, admin):
    contact = _ada(admin)
    client = web(admin)
    data = edit_form(client, contact)
    data["channels-email_2"] = "third@example.org"
    resp = save(client, contact, data, htmx=False)
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{contact.pk}/#section-channels"
    assert [e[0] for e in emails_of(contact)] == ["ada@work.example", "ada@home.example", "third@example.org"]


def test_the_section_lists_every_email_and_phone_with_kind_and_primary_mark(web, admin):
    contact = _ada(admin)
    html = web(admin).get(f"/contacts/{contact.pk}/section/channels/", **HX).content.decode()
    assert '<a href="mailto:ada@work.example">ada@work.example</a> <small>Work</small> ' in html
    assert '<a href="mailto:ada@home.example">ada@home.example</a> <small>Personal</small></li>' in html
    assert '<a href="tel:+442079460958">+442079460958</a> <small>Work</small> ' in html
    assert html.count(">Primary</span>") == 2  # one email, one phone


# --- refusals ------------------------------------------------------------------------------


def test_an_invalid_email_shows_on_its_own_row_and_nothing_is_written(web, admin):
    contact = _ada(admin)
    client = web(admin)
    before = state(contact)
    data = edit_form(client, contact)
    data["channels-email_remove_1"] = "on"  # row 1 is left out: the service sees row 2 as its item 1
    data["channels-email_2"] = "not-an-address"
    data["channels-phone_0"] = "12"
    resp = save(client, contact, data)
    html = resp.content.decode()
    assert resp.status_code == 422
    assert 'id="id_channels-email_2_error"' in html and 'value="not-an-address"' in html
    assert 'aria-invalid="true" aria-describedby="id_channels-email_2_error" id="id_channels-email_2"' in html
    assert 'id="id_channels-phone_0_error"' in html
    for other in ("email_0", "email_1", "email_3", "phone_1"):
        assert f'id="id_channels-{other}_error"' not in html
    assert state(contact) == before


def test_an_invalid_email_without_javascript_shows_the_page_with_the_row_error(web, admin):
    contact = _ada(admin)
    client = web(admin)
    data = edit_form(client, contact)
    data["channels-email_1"] = "still not@an address"
    resp = save(client, contact, data, htmx=False)
    html = resp.content.decode()
    assert resp.status_code == 422 and "<html" in html and 'id="id_channels-email_1_error"' in html
    assert emails_of(contact)[1] == ("ada@home.example", "personal", False)


@pytest.mark.parametrize(
    ("group", "first", "again"),
    [("email", "ada@example.org", "ADA@example.org "), ("phone", "+33142685300", "+33 1 42 68 53 00")],
)
def test_the_same_address_or_number_twice_is_refused_on_the_second_row(web, admin, group, first, again):
    contact = _contact(admin, first_name="Ada")
    client = web(admin)
    before = state(contact)
    data = edit_form(client, contact)
    data[f"channels-{group}_0"], data[f"channels-{group}_1"] = first, again
    resp = save(client, contact, data)
    html = resp.content.decode()
    assert resp.status_code == 422
    assert f'id="id_channels-{group}_1_error"' in html and "already in the list" in html
    assert f'id="id_channels-{group}_0_error"' not in html
    assert state(contact) == before


@pytest.mark.parametrize(("group", "what"), [("email", "10 emails"), ("phone", "10 phone numbers")])
def test_more_than_ten_emails_or_phones_are_refused(web, admin, group, what):
    contact = _ada(admin)
    client = web(admin)
    before = state(contact)
    data = edit_form(client, contact)
    data[f"channels-{group}_rows"] = "11"
    for i in range(11):
        data[f"channels-{group}_{i}"] = f"a{i}@example.org" if group == "email" else f"+331426853{i:02d}"
        data[f"channels-{group}_kind_{i}"] = "work"
    resp = save(client, contact, data)
    html = resp.content.decode()
    assert resp.status_code == 422
    assert f'id="id_channels-{group}_rows_error"' in html and f"at most {what}" in html
    assert state(contact) == before


def test_a_post_without_the_row_counts_is_refused_and_deletes_nothing(web, admin):
    contact = _ada(admin)
    before = state(contact)
    resp = save(web(admin), contact, {"channels-version": str(contact.version)})
    assert resp.status_code == 422 and state(contact) == before


def test_a_stale_version_is_refused_with_the_notice_and_keeps_what_was_typed(web, admin):
    contact = _ada(admin)
    client = web(admin)
    data = edit_form(client, contact)
    services.contact_update(actor=admin, contact=contact, data={"city": "London"}, expected_version=contact.version)
    before = state(contact)
    data["channels-email_2"] = "late@example.org"
    resp = save(client, contact, data)
    html = resp.content.decode()
    assert resp.status_code == 409
    assert "Someone else changed this contact since you opened this form" in html and "Reload" in html
    assert 'value="late@example.org"' in html
    assert state(contact) == before


@pytest.mark.parametrize("htmx", [True, False])
def test_a_viewer_gets_403_and_nothing_changes(web, admin, member_of, htmx):
    contact = _ada(admin)
    data = edit_form(web(admin), contact)
    data["channels-email_remove_0"] = "on"
    data["channels-email_2"] = "viewer@example.org"
    before = state(contact)
    client = web(member_of(Role.VIEWER))
    assert client.get(f"/contacts/{contact.pk}/section/channels/edit/", **HX).status_code == 403
    page = client.get(f"/contacts/{contact.pk}/section/channels/").content.decode()
    assert "ada@work.example" in page and "/section/channels/edit/" not in page
    resp = save(client, contact, data, htmx=htmx)
    assert resp.status_code == 403 and "viewer@example.org" not in resp.content.decode()
    assert state(contact) == before


def test_a_viewer_posting_an_invalid_form_is_still_refused_with_403(web, admin, member_of):
    contact = _ada(admin)
    before = state(contact)
    resp = save(web(member_of(Role.VIEWER)), contact, {"channels-version": "1", "channels-email_rows": "x"})
    assert resp.status_code == 403 and state(contact) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_workspaces_contact_is_404_and_nothing_changes(web, admin, other_admin, method):
    contact = _ada(other_admin)
    data = edit_form(web(other_admin), contact)
    data["channels-email_remove_0"] = "on"
    before = state(contact)
    client = web(admin)
    url = f"/contacts/{contact.pk}/section/channels/edit/"
    resp = client.post(url, data, **HX) if method == "post" else client.get(url, **HX)
    assert resp.status_code == 404 and "ada@work.example" not in resp.content.decode()
    assert client.get(f"/contacts/{contact.pk}/section/channels/", **HX).status_code == 404
    assert state(contact) == before
