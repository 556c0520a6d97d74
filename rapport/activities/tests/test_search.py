"""Activities in the global search: by subject (word prefixes, typos) and sender, as the read level
and privacy allow, in the actor's workspace only; kept current by the write services."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.activities import services
from rapport.activities.email_headers import EmailHeaders
from rapport.activities.search import activities, index_in_bulk
from rapport.activities.tests.conftest import log
from rapport.core.models import SearchEntry
from rapport.core.search import search


def _found(actor: Any, q: str) -> list[str]:
    return [hit.label for hit in search(actor=actor, q=q) if hit.kind == "activity"]


def test_an_activity_is_found_by_a_prefix_of_its_subject_and_links_to_its_page(admin):
    activity = log(admin, kind="call", subject="Quarterly renewal negotiation")
    hits = [hit for hit in search(actor=admin, q="renew nego") if hit.kind == "activity"]
    assert [(h.label, h.url) for h in hits] == [("Quarterly renewal negotiation", f"/activities/{activity.pk}/")]
    assert hits[0].detail.startswith("Call · ")


def test_a_misspelt_subject_is_still_found(admin):
    log(admin, subject="Quarterly renewal")
    assert _found(admin, "quartelry") == ["Quarterly renewal"]


def test_an_email_is_found_by_its_sender(admin):
    services.activity_create(
        actor=admin,
        data={"kind": "email", "subject": "Invoice 42"},
        email=EmailHeaders(message_id="<a@b>", email_from="billing@globex.example"),
    )
    assert _found(admin, "billing@globex") == ["Invoice 42"]


def test_the_index_follows_edits_trash_and_restore(admin):
    activity = log(admin, subject="Old subject")
    services.activity_update(actor=admin, activity=activity, data={"subject": "New subject"}, expected_version=None)
    assert _found(admin, "old") == [] and _found(admin, "new subject") == ["New subject"]
    services.activity_delete(actor=admin, activity=activity)
    assert _found(admin, "new subject") == []
    services.activity_restore(actor=admin, activity=activity)
    assert _found(admin, "new subject") == ["New subject"]


def test_activities_without_a_subject_stay_out_of_the_index(admin):
    log(admin, body="A note with no subject")
    assert not SearchEntry.objects.filter(kind__startswith="activity").exists()


def test_the_search_page_and_the_api_show_activities(web, api, admin):
    log(admin, subject="Pricing workshop")
    assert "Pricing workshop" in web(admin).get("/search/?q=pricing").content.decode()
    hits = api(admin).get("/api/v1/search?q=pricing").json()
    assert [(h["kind"], h["label"]) for h in hits] == [("activity", "Pricing workshop")]


def test_an_own_level_reader_finds_only_their_own(member_of, monkeypatch):
    from rapport.accounts.roles import Entity, Level, Mode
    from rapport.core.principal import Principal

    sales, support = member_of(Role.SALES), member_of(Role.SUPPORT)
    log(sales, subject="Sales call")
    log(support, subject="Support call")
    real = Principal.level

    def own_reads(self: Principal, entity: Entity, mode: Mode) -> Level:
        return Level.OWN if entity is Entity.ACTIVITY and self.user_id == sales.user_id else real(self, entity, mode)

    monkeypatch.setattr(Principal, "level", own_reads)
    assert _found(sales, "call") == ["Sales call"]


def test_a_role_without_activity_access_finds_none(member_of, admin, monkeypatch):
    from rapport.accounts.roles import Entity, Level, Mode
    from rapport.core.principal import Principal

    viewer = member_of(Role.VIEWER)
    services.activity_create(actor=admin, data={"kind": "note", "subject": "Board call", "body": "x"})
    real = Principal.level
    monkeypatch.setattr(
        Principal,
        "level",
        lambda self, entity, mode=Mode.READ: Level.NONE if entity is Entity.ACTIVITY else real(self, entity, mode),
    )
    assert _found(viewer, "board") == []


def test_private_activities_are_found_by_their_owner_only(admin, member_of):
    sales = member_of(Role.SALES)
    services.activity_create(actor=sales, data={"kind": "email", "subject": "Private pricing"}, private=True)
    assert _found(sales, "pricing") == ["Private pricing"]
    assert _found(admin, "pricing") == []


def test_sharing_a_private_activity_makes_it_findable(admin, member_of):
    sales = member_of(Role.SALES)
    activity = services.activity_create(actor=sales, data={"kind": "email", "subject": "Shared later"}, private=True)
    services.activity_update(actor=sales, activity=activity, data={"private": False}, expected_version=None)
    assert _found(admin, "shared") == ["Shared later"]
    assert SearchEntry.objects.filter(object_id=activity.pk).values_list("kind", flat=True).get() == "activity"


def test_another_workspace_finds_nothing(admin, other_admin, api):
    log(admin, subject="Acquisition talks")
    assert _found(other_admin, "acquisition") == []
    assert api(other_admin).get("/api/v1/search?q=acquisition").json() == []


@pytest.mark.parametrize("q", ["", "   ", "%", "'; drop table x; --", "*", '"', "a" * 500, "\x00"])
def test_any_query_is_harmless(admin, q):
    log(admin, subject="Renewal")
    assert isinstance(activities(admin, q, 20), list)


def test_bulk_indexing_skips_subjectless_and_trashed_activities(admin):
    kept = log(admin, subject="Kept")
    bare = log(admin, body="no subject")
    SearchEntry.objects.all().delete()
    assert index_in_bulk([kept, bare]) == 1
    assert _found(admin, "kept") == ["Kept"]


def test_the_migration_indexes_the_activities_that_exist_already(admin, member_of):
    from importlib import import_module

    from django.apps import apps

    sales = member_of(Role.SALES)
    log(admin, subject="Logged before search")
    services.activity_create(actor=sales, data={"kind": "email", "subject": "Logged privately"}, private=True)
    SearchEntry.objects.all().delete()
    migration = import_module("rapport.activities.migrations.0006_activity_search")
    migration.index_activities(apps, None)
    migration.index_activities(apps, None)  # twice: still one entry each
    assert SearchEntry.objects.count() == 2
    assert _found(admin, "logged") == ["Logged before search"]
    assert sorted(_found(sales, "logged")) == ["Logged before search", "Logged privately"]
