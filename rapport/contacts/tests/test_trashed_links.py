"""A company in the trash is not shown as a contact's company (or a company's parent) anywhere,
and comes back with its links when restored."""

from __future__ import annotations

from rapport.contacts import services


def _setup(admin):
    company = services.company_create(actor=admin, data={"name": "Trashco"})
    child = services.company_create(actor=admin, data={"name": "Childco", "parent_id": company.pk})
    contact = services.contact_create(actor=admin, data={"first_name": "Ada", "company_id": company.pk})
    services.company_delete(actor=admin, company=company)
    return company, child, contact


def test_the_api_hides_a_trashed_company_and_parent_and_shows_them_again_after_restore(api, admin):
    company, child, contact = _setup(admin)
    client = api(admin)
    assert client.get(f"/api/v1/contacts/{contact.pk}").json()["company"] is None
    assert client.get(f"/api/v1/companies/{child.pk}").json()["parent"] is None
    items = {i["id"]: i for i in client.get("/api/v1/contacts").json()["items"]}
    assert items[contact.pk]["company"] is None
    children = {i["id"]: i for i in client.get("/api/v1/companies").json()["items"]}
    assert children[child.pk]["parent"] is None
    services.company_restore(actor=admin, company=company)
    assert client.get(f"/api/v1/contacts/{contact.pk}").json()["company"] == {"id": company.pk, "name": "Trashco"}
    assert client.get(f"/api/v1/companies/{child.pk}").json()["parent"] == {"id": company.pk, "name": "Trashco"}


def test_the_pages_do_not_link_to_a_trashed_company(web, admin):
    company, child, contact = _setup(admin)
    client = web(admin)
    for url in (f"/contacts/{contact.pk}/", "/contacts/?columns=company", f"/companies/{child.pk}/"):
        html = client.get(url).content.decode()
        assert f"/companies/{company.pk}/" not in html, url
    services.company_restore(actor=admin, company=company)
    assert f"/companies/{company.pk}/" in client.get(f"/contacts/{contact.pk}/").content.decode()
