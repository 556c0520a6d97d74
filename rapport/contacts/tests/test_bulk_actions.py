"""Bulk actions on contacts (service and POST /api/v1/contacts/bulk-actions): each action, a selection
vs the whole filtered list, records the actor may only read are skipped, one event per changed
record, the search index kept current, permission denied, other workspaces' ids ignored, bad input
answered 422 with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts import bulk
from rapport.contacts.models import Contact, Tag
from rapport.contacts.search import reindex
from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.core.filtering import parse_conditions
from rapport.core.models import Event, SearchEntry

URL = "/api/v1/contacts/bulk-actions"


def snapshot() -> list[tuple[Any, ...]]:
    rows = Contact.objects.order_by("pk").values_list("pk", "owner_id", "lifecycle_stage", "deleted_at", "version")
    tags = Contact.tags.through.objects.order_by("pk").values_list("contact_id", "tag_id")
    return [*rows, *tags, ("events", Event.objects.filter(subject_type="contact").count())]


@pytest.fixture
def people(org: Any) -> list[Contact]:
    return [
        contact_with(org, country="FR", lifecycle_stage="lead"),
        contact_with(org, country="FR", lifecycle_stage="lead", tags=["vip"]),
        contact_with(org, country="DE", lifecycle_stage="lead"),
    ]


def test_assign_owner_to_a_selection_changes_only_those_records(api, admin, member_of, people):
    rep = member_of(Role.SALES)
    resp = api(admin).post(URL, {"ids": [people[0].pk, people[2].pk], "action": "assign_owner", "value": rep.user_id})
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"matched": 2, "changed": 2, "skipped": 0, "not_found": 0}
    owners = dict(Contact.objects.values_list("pk", "owner_id"))
    assert owners == {people[0].pk: rep.user_id, people[1].pk: None, people[2].pk: rep.user_id}
    events = Event.objects.filter(verb="contact.updated", subject_type="contact").order_by("subject_id")
    assert [(e.subject_id, e.changes) for e in events] == [
        (people[0].pk, {"owner_id": [None, rep.user_id]}),
        (people[2].pk, {"owner_id": [None, rep.user_id]}),
    ]
    assert all(e.actor_id == admin.user_id for e in events)


def test_action_on_the_whole_filtered_result(admin, people):
    result = bulk.contact_bulk_update(
        actor=admin, conditions=parse_conditions(["country:eq:FR"]), action="set_lifecycle_stage", value="customer"
    )
    assert (result.matched, result.changed, result.skipped) == (2, 2, 0)
    stages = dict(Contact.objects.values_list("pk", "lifecycle_stage"))
    assert stages == {people[0].pk: "customer", people[1].pk: "customer", people[2].pk: "lead"}
    assert Event.objects.filter(changes={"lifecycle_stage": ["lead", "customer"]}).count() == 2


def test_filter_on_a_tag_does_not_count_records_twice(admin, org):
    contact_with(org, tags=["vip", "partner"])
    result = bulk.contact_bulk_update(
        actor=admin, conditions=parse_conditions(["tag:in:vip,partner"]), action="set_lifecycle_stage", value="customer"
    )
    assert (result.matched, result.changed) == (1, 1)


def test_add_and_remove_tag_write_the_tag_lists_old_to_new(admin, people):
    result = bulk.contact_bulk_update(actor=admin, ids=[p.pk for p in people], action="add_tag", value="VIP")
    # people[1] already has "vip" (tag names are case-insensitive): only the other two change.
    assert (result.matched, result.changed) == (3, 2)
    vip = Tag.objects.get(name="vip")
    assert set(vip.contacts.values_list("pk", flat=True)) == {p.pk for p in people}
    assert Event.objects.filter(changes={"tags": [[], ["vip"]]}).count() == 2

    result = bulk.contact_bulk_update(actor=admin, ids=[people[0].pk, people[1].pk], action="remove_tag", value="vip")
    assert result.changed == 2
    assert set(vip.contacts.values_list("pk", flat=True)) == {people[2].pk}
    assert Event.objects.filter(changes={"tags": [["vip"], []]}).count() == 2


def test_trash_moves_records_out_of_lists_and_the_index(api, admin, people):
    for person in people:
        reindex(person)
    resp = api(admin).post(URL, {"filter": ["country:eq:FR"], "action": "trash"})
    assert resp.json()["changed"] == 2
    assert set(Contact.objects.alive().values_list("pk", flat=True)) == {people[2].pk}
    assert set(SearchEntry.objects.filter(kind="contact").values_list("object_id", flat=True)) == {people[2].pk}
    assert Event.objects.filter(verb="contact.trashed").count() == 2


def test_owner_change_updates_the_search_entry_owner(admin, member_of, people):
    rep = member_of(Role.SALES)
    reindex(people[0])
    bulk.contact_bulk_update(actor=admin, ids=[people[0].pk], action="assign_owner", value=rep.user_id)
    assert SearchEntry.objects.get(kind="contact", object_id=people[0].pk).owner_id == rep.user_id


def test_sales_changes_own_records_and_skips_the_others(api, org, member_of, people):
    rep = member_of(Role.SALES)
    Contact.objects.filter(pk=people[0].pk).update(owner_id=rep.user_id)
    resp = api(rep).post(URL, {"filter": [], "action": "set_lifecycle_stage", "value": "customer"})
    assert resp.json() == {"matched": 3, "changed": 1, "skipped": 2, "not_found": 0}
    stages = dict(Contact.objects.values_list("pk", "lifecycle_stage"))
    assert stages == {people[0].pk: "customer", people[1].pk: "lead", people[2].pk: "lead"}


def test_viewer_is_denied_and_nothing_changes(api, member_of, people):
    viewer = member_of(Role.VIEWER)
    before = snapshot()
    api_error(api(viewer).post(URL, {"filter": [], "action": "trash"}), 403)
    with pytest.raises(PermissionDenied):
        bulk.contact_bulk_update(actor=viewer, action="trash")
    assert snapshot() == before


def test_ids_of_another_workspace_are_ignored(api, admin, other_org, people):
    stranger = contact_with(other_org)
    resp = api(admin).post(URL, {"ids": [stranger.pk, people[0].pk], "action": "trash"})
    assert resp.json() == {"matched": 1, "changed": 1, "skipped": 0, "not_found": 1}
    assert Contact.objects.get(pk=stranger.pk).deleted_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": [], "action": "explode"}, None),
        ({"filter": [], "action": "set_lifecycle_stage", "value": "royalty"}, "value"),
        ({"filter": [], "action": "assign_owner", "value": 999999}, "value"),
        ({"filter": [], "action": "remove_tag", "value": "no-such-tag"}, "value"),
        ({"filter": [], "action": "add_tag", "value": ""}, "value"),
        ({"filter": ["nosuchfield:eq:1"], "action": "trash"}, None),
        ({"action": "trash"}, "filter"),
        ({"filter": [], "ids": [1], "action": "trash"}, "filter"),
    ],
)
def test_bad_input_answers_422_and_changes_nothing(api, admin, people, body, field):
    before = snapshot()
    err = api_error(api(admin).post(URL, body), 422)
    if field:
        assert field in err["fields"]
    assert snapshot() == before


def test_an_error_midway_rolls_everything_back(admin, people, monkeypatch):
    calls = []
    real = bulk._apply

    def failing(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(*args)

    monkeypatch.setattr(bulk, "BATCH", 1)
    monkeypatch.setattr(bulk, "_apply", failing)
    before = snapshot()
    with pytest.raises(RuntimeError):
        bulk.contact_bulk_update(actor=admin, action="set_lifecycle_stage", value="customer")
    assert snapshot() == before


def test_batches_cover_every_record(admin, people, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 2)
    result = bulk.contact_bulk_update(actor=admin, action="set_lifecycle_stage", value="customer")
    assert result.changed == 3
    assert set(Contact.objects.values_list("lifecycle_stage", flat=True)) == {"customer"}


def test_service_rejects_unknown_action(admin, people):
    with pytest.raises(ValidationFailed):
        bulk.contact_bulk_update(actor=admin, action="explode")


# --- the list page --------------------------------------------------------------------------

PAGE = "/contacts/"
BULK_PAGE = "/contacts/bulk/"


def test_list_page_offers_checkboxes_and_the_action_bar_to_writers(web, admin, member_of, people):
    html = web(admin).get(PAGE).content.decode()
    assert f'name="ids" value="{people[0].pk}" form="bulk-form"' in html
    assert 'action="/contacts/bulk/"' in html and 'for="bulk-action"' in html
    viewer_html = web(member_of(Role.VIEWER)).get(PAGE).content.decode()
    assert "bulk-form" not in viewer_html


def test_page_applies_an_action_to_ticked_rows_and_flashes_counts(web, admin, people):
    resp = web(admin).post(
        BULK_PAGE, {"ids": [people[0].pk], "action": "set_lifecycle_stage", "stage": "customer"}, follow=True
    )
    assert "1 contact changed." in resp.content.decode()
    assert Contact.objects.get(pk=people[0].pk).lifecycle_stage == "customer"
    assert Contact.objects.get(pk=people[1].pk).lifecycle_stage == "lead"


def test_page_applies_to_all_matching_the_list_filters(web, admin, people):
    resp = web(admin).post(
        BULK_PAGE, {"scope": "all", "query": "country=FR", "action": "add_tag", "tag": "fr-team"}, follow=True
    )
    assert "2 contacts changed." in resp.content.decode()
    assert set(Tag.objects.get(name="fr-team").contacts.values_list("pk", flat=True)) == {people[0].pk, people[1].pk}


def test_page_trash_needs_confirmation(web, admin, people):
    client = web(admin)
    before = snapshot()
    resp = client.post(BULK_PAGE, {"ids": [people[0].pk], "action": "trash"}, follow=True)
    assert "Confirm" in resp.content.decode()
    assert snapshot() == before
    client.post(BULK_PAGE, {"ids": [people[0].pk], "action": "trash", "confirm": "1"})
    assert Contact.objects.get(pk=people[0].pk).deleted_at is not None


def test_page_reports_skipped_records_and_denies_viewers(web, member_of, people):
    rep = member_of(Role.SALES)
    Contact.objects.filter(pk=people[0].pk).update(owner_id=rep.user_id)
    resp = web(rep).post(BULK_PAGE, {"scope": "all", "action": "set_lifecycle_stage", "stage": "customer"}, follow=True)
    assert "1 contact changed, 2 skipped" in resp.content.decode()
    before = snapshot()
    resp = web(member_of(Role.VIEWER)).post(BULK_PAGE, {"scope": "all", "action": "trash", "confirm": "1"})
    assert resp.status_code == 403
    assert snapshot() == before


def test_page_bad_value_changes_nothing(web, admin, people):
    before = snapshot()
    resp = web(admin).post(
        BULK_PAGE, {"scope": "all", "action": "set_lifecycle_stage", "stage": "royalty"}, follow=True
    )
    assert "Nothing was changed" in resp.content.decode()
    assert snapshot() == before
