"""Contacts and companies in the global search: kept current by the services, permission-filtered."""

from rapport.accounts.roles import Role
from rapport.contacts import services
from rapport.core.search import search


def _contacts(hits):
    return [(h.kind, h.label) for h in hits if h.kind in {"contact", "company"}]


def test_a_new_contact_is_found_by_name_prefix_email_and_phone_in_any_format(admin):
    services.contact_create(
        actor=admin,
        data={
            "first_name": "Zoë",
            "last_name": "Okafor",
            "emails": [{"email": "zoe.okafor@example.org"}],
            "phones": [{"number": "+1 212 555 0134"}],
        },
    )
    for q in ("zoe", "oka", "Zoë Okafor", "zoe.okafor@example.org", "(212) 555-0134", "2125550134", "Zoe Okafro"):
        assert _contacts(search(actor=admin, q=q)) == [("contact", "Zoë Okafor")], q


def test_renaming_updates_the_index_and_trash_removes_it_until_restored(admin):
    contact = services.contact_create(actor=admin, data={"first_name": "Ada", "last_name": "Byron"})
    contact = services.contact_update(
        actor=admin, contact=contact, data={"last_name": "Lovelace"}, expected_version=contact.version
    )
    assert _contacts(search(actor=admin, q="byron")) == []
    assert _contacts(search(actor=admin, q="lovelace")) == [("contact", "Ada Lovelace")]
    services.contact_delete(actor=admin, contact=contact)
    assert _contacts(search(actor=admin, q="lovelace")) == []
    services.contact_restore(actor=admin, contact=contact)
    assert _contacts(search(actor=admin, q="lovelace")) == [("contact", "Ada Lovelace")]


def test_companies_are_found_by_domain(admin):
    services.company_create(actor=admin, data={"name": "Initech", "website": "https://www.initech.example"})
    assert _contacts(search(actor=admin, q="initech.example")) == [("company", "Initech")]


def test_search_never_shows_another_workspace_or_what_the_role_cannot_read(admin, other_admin, member_of):
    services.contact_create(actor=other_admin, data={"first_name": "Hidden", "last_name": "Person"})
    assert _contacts(search(actor=admin, q="hidden")) == []
    services.contact_create(actor=admin, data={"first_name": "Visible", "last_name": "Person"})
    sales = member_of(Role.SALES)  # sales reads all contacts
    assert _contacts(search(actor=sales, q="visible")) == [("contact", "Visible Person")]


def test_the_search_api_answers_with_hits_and_links(api, admin):
    contact = services.contact_create(actor=admin, data={"first_name": "Grace", "last_name": "Hopper"})
    resp = api(admin).get("/api/v1/search?q=grace")
    assert resp.status_code == 200
    assert resp.json()[0] == {
        "kind": "contact",
        "label": "Grace Hopper",
        "detail": "",
        "url": f"/contacts/{contact.pk}/",
    }
    assert api(admin).get("/api/v1/search").status_code == 422


def test_a_nul_character_in_the_search_box_separates_words_on_every_database(client, admin):
    services.contact_create(actor=admin, data={"first_name": "Grace", "last_name": "Hopper"})
    client.force_login(admin.user)
    resp = client.get("/search/", {"q": "grace\x00hopper"})
    assert resp.status_code == 200
    assert "Grace Hopper" in resp.content.decode()
