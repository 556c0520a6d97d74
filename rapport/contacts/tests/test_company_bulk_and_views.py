"""The company list brought up to the contact list: bulk actions (service, page and
POST /api/v1/companies/bulk-actions), "all N matching", saved views and the column chooser; and a
bulk action on "all matching" applies the saved view the list shows."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts import bulk, services
from rapport.contacts.models import Company, Contact, SavedView, Tag
from rapport.contacts.tests.factories import CompanyFactory, api_error, contact_with
from rapport.core.customfields import definitions as defs
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.core.filtering import parse_conditions
from rapport.core.models import Event, SearchEntry

URL = "/api/v1/companies/bulk-actions"
PAGE = "/companies/"
BULK_PAGE = "/companies/bulk/"


def snapshot() -> list[tuple[Any, ...]]:
    rows = Company.objects.order_by("pk").values_list("pk", "owner_id", "deleted_at", "version", "tag_names")
    tags = Company.tags.through.objects.order_by("pk").values_list("company_id", "tag_id")
    return [*rows, *tags, ("events", Event.objects.filter(subject_type="company").count())]


@pytest.fixture
def firms(admin: Any) -> list[Company]:
    return [
        services.company_create(actor=admin, data={"name": "Alpha", "country": "FR", "industry": "information"}),
        services.company_create(actor=admin, data={"name": "Beta", "country": "FR", "tags": ["vip"]}),
        services.company_create(actor=admin, data={"name": "Gamma", "country": "DE"}),
    ]


# --- the service and the API ---------------------------------------------------------------------


def test_assign_owner_to_ticked_companies_updates_them_their_index_and_events(admin, member_of, firms):
    rep = member_of(Role.SALES)
    result = bulk.company_bulk_update(
        actor=admin, ids=[firms[0].pk, firms[2].pk], action="assign_owner", value=rep.user_id
    )
    assert (result.matched, result.changed, result.skipped, result.not_found) == (2, 2, 0, 0)
    owners = dict(Company.objects.values_list("name", "owner_id"))
    assert owners == {"Alpha": rep.user_id, "Beta": admin.user_id, "Gamma": rep.user_id}
    assert SearchEntry.objects.get(kind="company", object_id=firms[0].pk).owner_id == rep.user_id
    event = Event.objects.get(verb="company.updated", subject_id=firms[0].pk)
    assert event.subject_type == "company" and event.changes == {"owner_id": [admin.user_id, rep.user_id]}


def test_add_and_remove_a_tag_on_all_matching_companies(admin, firms):
    result = bulk.company_bulk_update(
        actor=admin, conditions=parse_conditions(["country:eq:FR"]), action="add_tag", value="fr"
    )
    assert result.changed == 2
    tag = Tag.objects.get(name="fr")
    assert set(tag.companies.values_list("name", flat=True)) == {"Alpha", "Beta"}
    assert Company.objects.get(pk=firms[1].pk).tag_names == ["fr", "vip"]
    changes = Event.objects.get(verb="company.updated", subject_id=firms[1].pk).changes
    assert changes == {"tags": [["vip"], ["fr", "vip"]]}
    result = bulk.company_bulk_update(actor=admin, action="remove_tag", value="vip")
    assert (result.matched, result.changed) == (3, 1)
    assert Company.objects.get(pk=firms[1].pk).tag_names == ["fr"]


def test_trash_moves_companies_out_of_the_list_and_the_index(admin, firms):
    bulk.company_bulk_update(actor=admin, ids=[firms[0].pk], action="trash")
    assert Company.objects.get(pk=firms[0].pk).deleted_at is not None
    assert not SearchEntry.objects.filter(kind="company", object_id=firms[0].pk).exists()
    assert Event.objects.filter(verb="company.trashed", subject_id=firms[0].pk).exists()
    assert Contact.objects.count() == 0  # nothing else is touched


def test_companies_have_no_lifecycle_stage_action(admin, firms):
    before = snapshot()
    with pytest.raises(ValidationFailed):
        bulk.company_bulk_update(actor=admin, action="set_lifecycle_stage", value="customer")
    assert snapshot() == before


def test_a_custom_field_filter_selects_the_companies(admin, firms):
    defs.custom_field_create(actor=admin, data={"entity": "company", "key": "tier", "label": "Tier", "type": "text"})
    services.company_update(actor=admin, company=firms[2], data={"custom": {"tier": "gold"}}, expected_version=None)
    result = bulk.company_bulk_update(actor=admin, conditions=parse_conditions(["custom.tier:eq:gold"]), action="trash")
    assert result.changed == 1 and Company.objects.alive().count() == 2


def test_api_applies_an_action_to_ids_or_a_filter(api, admin, firms):
    client = api(admin)
    resp = client.post(URL, {"ids": [firms[0].pk], "action": "add_tag", "value": "key-account"})
    assert resp.status_code == 200 and resp.json() == {"matched": 1, "changed": 1, "skipped": 0, "not_found": 0}
    resp = client.post(URL, {"filter": ["country:eq:DE"], "action": "trash"})
    assert resp.json() == {"matched": 1, "changed": 1, "skipped": 0, "not_found": 0}
    assert Company.objects.get(pk=firms[2].pk).deleted_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": [], "action": "set_lifecycle_stage", "value": "customer"}, None),
        ({"filter": [], "action": "assign_owner", "value": 999999}, "value"),
        ({"filter": [], "action": "remove_tag", "value": "no-such-tag"}, "value"),
        ({"filter": ["nosuchfield:eq:1"], "action": "trash"}, None),
        ({"action": "trash"}, "filter"),
        ({"filter": [], "ids": [1], "action": "trash"}, "filter"),
    ],
)
def test_api_bad_input_answers_422_and_changes_nothing(api, admin, firms, body, field):
    before = snapshot()
    err = api_error(api(admin).post(URL, body), 422)
    if field:
        assert field in err["fields"]
    assert snapshot() == before


def test_a_viewer_is_denied_and_nothing_changes(api, member_of, firms):
    viewer = member_of(Role.VIEWER)
    before = snapshot()
    api_error(api(viewer).post(URL, {"filter": [], "action": "trash"}), 403)
    with pytest.raises(PermissionDenied):
        bulk.company_bulk_update(actor=viewer, action="trash")
    assert snapshot() == before


def test_a_sales_rep_changes_their_own_companies_and_skips_the_others(api, member_of, firms):
    rep = member_of(Role.SALES)
    Company.objects.filter(pk=firms[0].pk).update(owner_id=rep.user_id)
    resp = api(rep).post(URL, {"filter": [], "action": "add_tag", "value": "mine"})
    assert resp.json() == {"matched": 3, "changed": 1, "skipped": 2, "not_found": 0}
    assert list(Tag.objects.get(name="mine").companies.values_list("pk", flat=True)) == [firms[0].pk]


def test_ids_of_another_workspace_are_ignored_and_untouched(api, admin, other_org, firms):
    stranger = CompanyFactory.create(org=other_org)
    resp = api(admin).post(URL, {"ids": [stranger.pk, firms[0].pk], "action": "trash"})
    assert resp.json() == {"matched": 1, "changed": 1, "skipped": 0, "not_found": 1}
    stranger.refresh_from_db()
    assert stranger.deleted_at is None and stranger.version == 1
    assert not Event.objects.filter(org_id=other_org.pk).exists()


# --- the page ------------------------------------------------------------------------------------


def test_the_company_list_offers_writers_the_bulk_bar_with_the_matching_count(web, admin, member_of, firms):
    html = web(admin).get(PAGE, {"country": "FR"}).content.decode()
    assert 'action="/companies/bulk/"' in html and f'name="ids" value="{firms[0].pk}" form="bulk-form"' in html
    assert "All 2 companies matching the filters" in html
    assert 'name="stage"' not in html and "set_lifecycle_stage" not in html
    assert "bulk-form" not in web(member_of(Role.VIEWER)).get(PAGE).content.decode()


def test_the_matching_count_stops_at_the_cap(web, admin, firms, monkeypatch):
    from rapport.contacts.views import listing

    monkeypatch.setattr(listing, "COUNT_CAP", 2)
    assert "All more than 2 companies matching" in web(admin).get(PAGE).content.decode()


def test_the_page_applies_an_action_to_ticked_rows(web, admin, firms):
    resp = web(admin).post(BULK_PAGE, {"ids": [firms[0].pk], "action": "add_tag", "tag": "new"}, follow=True)
    assert "1 company changed." in resp.content.decode()
    assert list(Tag.objects.get(name="new").companies.all()) == [firms[0]]


def test_the_page_applies_to_all_matching_the_filters(web, admin, firms):
    resp = web(admin).post(
        BULK_PAGE, {"scope": "all", "query": "country=FR", "action": "add_tag", "tag": "fr"}, follow=True
    )
    assert "2 companies changed." in resp.content.decode()
    assert resp.redirect_chain[-1][0] == "/companies/?country=FR"


def test_the_page_trash_needs_confirmation(web, admin, firms):
    client = web(admin)
    before = snapshot()
    resp = client.post(BULK_PAGE, {"ids": [firms[0].pk], "action": "trash"}, follow=True)
    assert "Tick “Confirm” to move companies to the trash." in resp.content.decode()
    assert snapshot() == before
    client.post(BULK_PAGE, {"ids": [firms[0].pk], "action": "trash", "confirm": "1"})
    assert Company.objects.get(pk=firms[0].pk).deleted_at is not None


def test_the_page_denies_viewers_and_changes_nothing(web, member_of, firms):
    before = snapshot()
    resp = web(member_of(Role.VIEWER)).post(BULK_PAGE, {"scope": "all", "action": "trash", "confirm": "1"})
    assert resp.status_code == 403
    assert snapshot() == before


def test_the_page_ignores_another_workspaces_ids(web, admin, other_org, firms):
    stranger = CompanyFactory.create(org=other_org)
    resp = web(admin).post(BULK_PAGE, {"ids": [stranger.pk], "action": "add_tag", "tag": "x"}, follow=True)
    assert "0 companies changed." in resp.content.decode()
    assert not stranger.tags.exists() and not Tag.objects.filter(org_id=other_org.pk).exists()


def test_the_page_bad_value_changes_nothing(web, admin, firms):
    before = snapshot()
    resp = web(admin).post(BULK_PAGE, {"scope": "all", "action": "remove_tag", "tag": "nope"}, follow=True)
    assert "Nothing was changed" in resp.content.decode()
    assert snapshot() == before


def test_all_matching_applies_the_saved_view_the_list_shows(web, admin, org, firms):
    view = SavedView.objects.create(
        org=org, owner=admin.user, name="Germany", entity="company", conditions=["country:eq:DE"]
    )
    resp = web(admin).post(
        BULK_PAGE, {"scope": "all", "query": f"view={view.pk}", "action": "trash", "confirm": "1"}, follow=True
    )
    assert "1 company changed." in resp.content.decode()
    assert list(Company.objects.alive().order_by("name").values_list("name", flat=True)) == ["Alpha", "Beta"]


def test_contact_all_matching_applies_the_saved_view_too(web, admin, org):
    keep = contact_with(org, country="FR")
    gone = contact_with(org, country="DE")
    view = SavedView.objects.create(
        org=org, owner=admin.user, name="DE", entity="contact", conditions=["country:eq:DE"]
    )
    web(admin).post("/contacts/bulk/", {"scope": "all", "query": f"view={view.pk}", "action": "trash", "confirm": "1"})
    assert Contact.objects.get(pk=gone.pk).deleted_at is not None
    assert Contact.objects.get(pk=keep.pk).deleted_at is None


# --- saved views and columns -----------------------------------------------------------------------


def test_the_page_saves_a_company_view_and_opening_it_applies_filters_and_columns(web, admin, firms):
    client = web(admin)
    resp = client.post(
        "/companies/views/save/", {"name": "French", "query": "country=FR&sort=-name", "columns": ["domain", "country"]}
    )
    view = SavedView.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/companies/?view={view.pk}"
    assert (view.entity, view.conditions, view.sort, view.columns) == (
        "company",
        ["country:eq:FR"],
        "-name",
        ["domain", "country"],
    )
    html = client.get(PAGE, {"view": view.pk}).content.decode()
    assert "Alpha" in html and "Beta" in html and "Gamma" not in html
    assert html.index("Beta") < html.index("Alpha")  # the view's sort
    assert 'data-label="Domain"' in html and 'data-label="Industry"' not in html
    assert f'href="?view={view.pk}" aria-current="page"' in html


def test_company_views_are_not_offered_on_contacts_and_bad_columns_are_refused(web, admin, org):
    SavedView.objects.create(org=org, owner=admin.user, name="Company view", entity="company")
    client = web(admin)
    assert "Company view" in client.get(PAGE).content.decode()
    assert "Company view" not in client.get("/contacts/").content.decode()
    resp = client.post("/companies/views/save/", {"name": "x", "columns": ["lifecycle_stage"]}, follow=True)
    assert "The view was not saved" in resp.content.decode()
    assert SavedView.objects.count() == 1


def test_the_column_chooser_shows_chosen_columns_only(web, admin, firms):
    html = web(admin).get(PAGE, {"columns": ["industry"]}).content.decode()
    assert 'data-label="Industry"' in html and 'data-label="Domain"' not in html
    assert 'name="columns" value="industry" checked' in html
    assert 'name="columns" value="domain">' in html


def test_company_list_query_count_stays_constant_with_bulk_and_views(web, admin, org, django_assert_max_num_queries):
    SavedView.objects.create(org=org, owner=admin.user, name="All", entity="company")
    client = web(admin)
    services.company_create(actor=admin, data={"name": "First", "tags": ["a"]})
    with django_assert_max_num_queries(25) as few:
        client.get(PAGE)
    for i in range(30):
        services.company_create(actor=admin, data={"name": f"Co {i}", "tags": [f"t{i}"]})
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(PAGE)
    assert "All 31 companies matching" in resp.content.decode()
