"""activity_create / update / delete / restore: validation, participants, permissions, events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import services
from rapport.activities.models import Activity, ActivityContact
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import contact_with
from rapport.core.errors import PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event


def _fields(actor: Any, **data: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        services.activity_create(actor=actor, data=data)
    return caught.value.fields


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "kind"),
        ({"kind": "fax"}, "kind"),
        ({"kind": 3}, "kind"),
        ({"kind": "call", "direction": "sideways"}, "direction"),
        ({"kind": "call", "subject": "x" * 201}, "subject"),
        ({"kind": "call", "subject": 12}, "subject"),
        ({"kind": "call", "body": "x" * 20001}, "body"),
        ({"kind": "call", "body": "a\x00b"}, "body"),
        ({"kind": "call", "occurred_at": "yesterday"}, "occurred_at"),
        ({"kind": "call", "occurred_at": "1850-01-01T00:00:00Z"}, "occurred_at"),
        ({"kind": "call", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"kind": "call", "duration": -1}, "duration"),
        ({"kind": "call", "duration": 24 * 3600 + 1}, "duration"),
        ({"kind": "call", "duration": "ten"}, "duration"),
        ({"kind": "call", "duration": True}, "duration"),
        ({"kind": "call", "outcome": "hung_up"}, "outcome"),
        ({"kind": "meeting", "outcome": "connected"}, "outcome"),
        ({"kind": "note"}, "body"),
        ({"kind": "note", "body": "   "}, "body"),
        ({"kind": "call", "company_id": 999999}, "company_id"),
        ({"kind": "call", "company_id": "1"}, "company_id"),
        ({"kind": "call", "owner_id": 999999}, "owner_id"),
        ({"kind": "call", "owner_id": None}, "owner_id"),
        ({"kind": "call", "user_ids": [999999]}, "user_ids"),
        ({"kind": "call", "user_ids": "1"}, "user_ids"),
        ({"kind": "call", "participants": "ada"}, "participants"),
        ({"kind": "call", "participants": [{}]}, "participants.0"),
        ({"kind": "call", "participants": [{"contact_id": 1, "email": "a@b.org"}]}, "participants.0"),
        ({"kind": "call", "participants": [{"email": "not an email"}]}, "participants.0"),
        ({"kind": "call", "participants": [{"phone": "12"}]}, "participants.0"),
        ({"kind": "call", "participants": [{"name": "Ada"}]}, "participants.0"),
        ({"kind": "call", "colour": "red"}, "colour"),
    ],
)
def test_every_invalid_field_is_refused_by_name_and_nothing_is_written(admin, data, field):
    assert field in _fields(admin, **data)
    assert not Activity.objects.exists()
    assert not Event.objects.filter(verb__startswith="activity.").exists()


def test_all_field_errors_are_reported_together(admin):
    fields = _fields(admin, kind="call", direction="up", duration=-5, outcome="nope", subject="x" * 300)
    assert {"direction", "duration", "outcome", "subject"} <= set(fields)


def test_a_valid_call_is_logged_with_every_field_and_an_event(admin, ada, bob, company, member_of):
    colleague = member_of(Role.SALES)
    when = timezone.now() - timedelta(hours=2)
    activity = services.activity_create(
        actor=admin,
        data={
            "kind": "call",
            "direction": "inbound",
            "subject": "  Renewal  ",
            "body": "**Agreed** on terms",
            "occurred_at": when,
            "duration": 305,
            "outcome": "connected",
            "company_id": company.pk,
            "participants": [{"contact_id": ada.pk}, {"email": "BOB@example.org"}],
            "user_ids": [colleague.user_id],
        },
    )
    assert (activity.kind, activity.direction, activity.subject, activity.duration) == (
        "call",
        "inbound",
        "Renewal",
        305,
    )
    assert activity.occurred_at == when and activity.owner_id == admin.user_id and activity.company == company
    assert sorted(link.contact_id for link in activity.contact_links.all()) == sorted([ada.pk, bob.pk])
    assert ActivityContact.objects.filter(activity=activity, occurred_at=when).count() == 2
    assert [u.pk for u in activity.users.all()] == [colleague.user_id]
    event = Event.objects.get(verb="activity.created")
    assert event.subject_id == activity.pk and event.changes["outcome"] == [None, "connected"]


def test_occurred_at_defaults_to_now(admin):
    before = timezone.now()
    assert log(admin).occurred_at >= before


def test_participants_by_phone_are_normalised_in_the_workspace_region(admin, ada, org):
    org.default_region = "US"
    org.save()
    activity = log(admin, kind="call", participants=[{"phone": "(202) 555-0143"}])
    assert [link.contact_id for link in activity.contact_links.all()] == [ada.pk]


def test_an_email_shared_by_two_contacts_links_both(admin, org, ada):
    twin = contact_with(org, email="ada@example.org", first_name="Ada twin")
    activity = log(admin, kind="email", participants=[{"email": "ada@example.org"}])
    assert sorted(link.contact_id for link in activity.contact_links.all()) == sorted([ada.pk, twin.pk])


@pytest.mark.parametrize(
    ("ref", "named"),
    [
        ({"contact_id": 987654}, "987654"),
        ({"email": "nobody@example.org"}, "nobody@example.org"),
        ({"phone": "+12025550100"}, "+12025550100"),
    ],
)
def test_an_unknown_participant_is_named_and_nothing_is_written(admin, ada, ref, named):
    fields = _fields(admin, kind="call", participants=[{"contact_id": ada.pk}, ref])
    assert named in fields["participants.1"]
    assert not Activity.objects.exists() and not ActivityContact.objects.exists()


def test_contacts_of_another_workspace_and_trashed_contacts_are_unknown(admin, other_org, ada):
    stranger = contact_with(other_org, email="stranger@example.org")
    ada.deleted_at = timezone.now()
    ada.save()
    fields = _fields(
        admin,
        kind="call",
        participants=[{"contact_id": stranger.pk}, {"email": "stranger@example.org"}, {"contact_id": ada.pk}],
    )
    assert set(fields) == {"participants.0", "participants.1", "participants.2"}


def test_members_of_another_workspace_cannot_take_part(admin, other_admin):
    assert "user_ids" in _fields(admin, kind="meeting", user_ids=[other_admin.user_id])


def test_a_viewer_may_not_log_an_activity(member_of):
    with pytest.raises(PermissionDenied):
        log(member_of(Role.VIEWER))
    assert not Activity.objects.exists()


def test_a_sales_rep_logs_only_as_owner(member_of, admin):
    rep = member_of(Role.SALES)
    assert "owner_id" in _fields(rep, kind="note", body="x", owner_id=admin.user_id)
    assert log(rep, owner_id=rep.user_id).owner_id == rep.user_id


def test_update_changes_only_the_given_fields_and_records_the_change(admin, ada, bob):
    activity = log(admin, kind="call", participants=[{"contact_id": ada.pk}], outcome="busy")
    later = activity.occurred_at - timedelta(days=1)
    updated = services.activity_update(
        actor=admin,
        activity=activity,
        data={"outcome": "connected", "occurred_at": later},
        expected_version=activity.version,
    )
    assert updated.outcome == "connected" and updated.kind == "call" and updated.version == 2
    assert ActivityContact.objects.get(activity=activity).occurred_at == later  # the timeline index follows
    event = Event.objects.get(verb="activity.updated")
    assert event.changes["outcome"] == ["busy", "connected"]
    updated = services.activity_update(
        actor=admin, activity=updated, data={"participants": [{"contact_id": bob.pk}]}, expected_version=None
    )
    assert [link.contact_id for link in updated.contact_links.all()] == [bob.pk]


def test_update_checks_rules_against_the_whole_activity(admin):
    call = log(admin, kind="call", outcome="voicemail")
    with pytest.raises(ValidationFailed) as caught:
        services.activity_update(actor=admin, activity=call, data={"kind": "meeting"}, expected_version=None)
    assert "outcome" in caught.value.fields
    assert Activity.objects.get(pk=call.pk).kind == "call"


def test_a_stale_version_changes_nothing(admin):
    activity = log(admin, subject="First")
    with pytest.raises(StaleVersion):
        services.activity_update(actor=admin, activity=activity, data={"subject": "Second"}, expected_version=7)
    assert Activity.objects.get(pk=activity.pk).subject == "First"
    assert not Event.objects.filter(verb="activity.updated").exists()


def test_sales_rep_cannot_change_a_colleagues_activity(admin, member_of):
    activity = log(admin, subject="Mine")
    rep = member_of(Role.SALES)
    with pytest.raises(PermissionDenied):
        services.activity_update(actor=rep, activity=activity, data={"subject": "Theirs"}, expected_version=None)
    with pytest.raises(PermissionDenied):
        services.activity_delete(actor=rep, activity=activity)
    fresh = Activity.objects.get(pk=activity.pk)
    assert fresh.subject == "Mine" and fresh.deleted_at is None


def test_delete_and_restore_record_events(admin):
    activity = log(admin)
    services.activity_delete(actor=admin, activity=activity)
    assert Activity.objects.get(pk=activity.pk).deleted_at is not None
    services.activity_restore(actor=admin, activity=Activity.objects.get(pk=activity.pk))
    assert Activity.objects.get(pk=activity.pk).deleted_at is None
    verbs = list(Event.objects.filter(subject_type="activity").order_by("id").values_list("verb", flat=True))
    assert verbs == ["activity.created", "activity.trashed", "activity.restored"]
