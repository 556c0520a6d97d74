"""Private activities: only their owner sees them (whatever anyone's role, an admin's included),
anywhere activities are read; only the owner shares them or makes them private."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import calendar, selectors, services
from rapport.activities.models import Activity, Notification
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import api_error
from rapport.contacts.timeline import timeline
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.models import Event
from rapport.core.search import search


@pytest.fixture
def sales(member_of: Any) -> Any:
    return member_of(Role.SALES)


@pytest.fixture
def secret(sales: Any, ada: Any, company: Any) -> Activity:
    """A private email of the sales member with Ada (as a synced personal mailbox logs it)."""
    return services.activity_create(
        actor=sales,
        data={
            "kind": "email",
            "subject": "Salary negotiation",
            "body": "Between us.",
            "company_id": company.pk,
            "participants": [{"contact_id": ada.pk}],
        },
        private=True,
    )


def _state(pk: int) -> dict[str, Any]:
    obj = Activity.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in Activity._meta.concrete_fields}


def _patch(client: Any, pk: int, data: dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/activities/{pk}", data, **{"If-Match": f'"v{Activity.objects.get(pk=pk).version}"'})


def _titles(actor: Any, subjects: Any) -> list[str]:
    return [i.title for i in timeline(actor=actor, subjects=subjects) if i.kind == "activity"]


def test_an_admin_gets_404_on_someone_elses_private_activity_by_api_and_page(api, web, admin, secret):
    api_error(api(admin).get(f"/api/v1/activities/{secret.pk}"), 404)
    assert web(admin).get(f"/activities/{secret.pk}/").status_code == 404
    with pytest.raises(NotFound):
        selectors.activity_get(actor=admin, activity_id=secret.pk)


def test_the_owner_reads_their_private_activity(api, web, sales, secret):
    body = api(sales).get(f"/api/v1/activities/{secret.pk}").json()
    assert body["private"] is True and body["subject"] == "Salary negotiation"
    html = web(sales).get(f"/activities/{secret.pk}/").content.decode()
    assert "Salary negotiation" in html and "Share with the workspace" in html


def test_private_activities_are_in_no_one_elses_lists_timelines_or_search(api, web, admin, sales, secret, ada, company):
    shared = log(sales, subject="Salary review meeting", participants=[{"contact_id": ada.pk}])
    for actor in (admin, sales):
        mine = actor is sales
        ids = [a["id"] for a in api(actor).get("/api/v1/activities").json()["items"]]
        assert ids == ([shared.pk, secret.pk] if mine else [shared.pk])
        page = web(actor).get("/activities/").content.decode()
        assert ("Salary negotiation" in page) is mine and "Salary review meeting" in page
        assert ("Email: Salary negotiation" in _titles(actor, [("contact", [ada.pk])])) is mine
        assert ("Email: Salary negotiation" in _titles(actor, [("company", [company.pk])])) is mine
        contact_page = web(actor).get(f"/contacts/{ada.pk}/").content.decode()
        assert ("Salary negotiation" in contact_page) is mine
        labels = [hit.label for hit in search(actor=actor, q="salary") if hit.kind == "activity"]
        assert sorted(labels) == (
            ["Salary negotiation", "Salary review meeting"] if mine else ["Salary review meeting"]
        )


def test_writes_on_someone_elses_private_activity_are_refused_and_change_nothing(api, admin, secret):
    before = _state(secret.pk)
    client = api(admin)
    api_error(_patch(client, secret.pk, {"private": False}), 404)
    api_error(client.delete(f"/api/v1/activities/{secret.pk}"), 404)
    with pytest.raises(PermissionDenied):
        services.activity_update(actor=admin, activity=secret, data={"subject": "x"}, expected_version=None)
    with pytest.raises(PermissionDenied):
        services.activity_delete(actor=admin, activity=secret)
    assert _state(secret.pk) == before


def test_another_workspace_cannot_read_or_share_a_private_activity(api, web, other_admin, secret):
    before = _state(secret.pk)
    api_error(api(other_admin).get(f"/api/v1/activities/{secret.pk}"), 404)
    api_error(_patch(api(other_admin), secret.pk, {"private": False}), 404)
    assert web(other_admin).post(f"/activities/{secret.pk}/privacy/", {"private": "0"}).status_code == 404
    assert _state(secret.pk) == before


def test_the_owner_shares_a_private_activity_and_makes_it_private_again_by_api(api, admin, sales, secret):
    resp = _patch(api(sales), secret.pk, {"private": False})
    assert resp.status_code == 200 and resp.json()["private"] is False
    assert api(admin).get(f"/api/v1/activities/{secret.pk}").status_code == 200
    assert _patch(api(sales), secret.pk, {"private": True}).status_code == 200
    api_error(api(admin).get(f"/api/v1/activities/{secret.pk}"), 404)


def test_only_the_owner_may_make_a_shared_activity_private(api, admin, sales, ada):
    activity = log(sales, subject="Team call")
    before = _state(activity.pk)
    resp = _patch(api(admin), activity.pk, {"private": True})
    assert api_error(resp, 422)["fields"]["private"].startswith("Only the activity's owner")
    assert _state(activity.pk) == before
    # Re-stating the current value is no change, and allowed.
    assert _patch(api(admin), activity.pk, {"private": False}).status_code == 200


def test_nobody_logs_a_private_activity_for_someone_else(api, admin, sales):
    resp = api(admin).post("/api/v1/activities", {"kind": "note", "body": "x", "owner_id": sales.user_id,
                                                  "private": True})  # fmt: skip
    assert api_error(resp, 422)["fields"]["private"].startswith("Only the activity's owner")
    assert not Activity.objects.exists()


def test_private_must_be_a_boolean(api, sales, secret):
    api_error(_patch(api(sales), secret.pk, {"private": None}), 422)
    assert Activity.objects.get(pk=secret.pk).private


def test_the_page_buttons_share_and_make_private(web, admin, sales, secret):
    resp = web(sales).post(f"/activities/{secret.pk}/privacy/", {"private": "0"})
    assert resp.status_code == 302 and not Activity.objects.get(pk=secret.pk).private
    assert web(admin).get(f"/activities/{secret.pk}/").status_code == 200
    assert "Make private" in web(sales).get(f"/activities/{secret.pk}/").content.decode()
    web(sales).post(f"/activities/{secret.pk}/privacy/", {"private": "1"})
    assert Activity.objects.get(pk=secret.pk).private
    assert web(admin).get(f"/activities/{secret.pk}/").status_code == 404


def test_a_member_who_does_not_own_a_shared_activity_gets_403_on_the_privacy_button(web, admin, sales):
    activity = log(sales, subject="Team call")
    html = web(admin).get(f"/activities/{activity.pk}/").content.decode()
    assert "Make private" not in html and 'name="private"' not in html  # neither button nor checkbox
    assert web(admin).post(f"/activities/{activity.pk}/privacy/", {"private": "1"}).status_code == 403
    assert not Activity.objects.get(pk=activity.pk).private


def test_the_owner_makes_an_activity_private_from_the_edit_form(web, admin, sales):
    activity = log(sales, subject="Team call")
    resp = web(sales).post(
        f"/activities/{activity.pk}/edit/",
        {"subject": "Team call", "when": "2026-01-05T10:00", "body": "Notes", "private": "on", "version": 1},
    )
    assert resp.status_code == 302
    assert Activity.objects.get(pk=activity.pk).private


def test_an_admin_editing_a_shared_activity_cannot_make_it_private(web, admin, sales):
    activity = log(sales, subject="Team call")
    resp = web(admin).post(
        f"/activities/{activity.pk}/edit/",
        {"subject": "Changed", "when": "2026-01-05T10:00", "body": "Notes", "private": "on", "version": 1},
    )
    assert resp.status_code == 302  # the field is not on the admin's form: ignored
    activity.refresh_from_db()
    assert activity.subject == "Changed" and not activity.private


def test_private_content_stays_out_of_the_audit_trail(sales, secret):
    services.activity_update(actor=sales, activity=secret, data={"body": "Still between us."}, expected_version=None)
    events = list(Event.objects.filter(subject_type="activity", subject_id=secret.pk).order_by("id"))
    assert events[0].changes["subject"] == [None, "(private)"] and events[0].changes["body"] == [None, "(private)"]
    assert events[1].changes == {"body": ["(private)", "(private)"]}
    assert "between us" not in str([e.changes for e in events]).lower()


def test_mentions_in_a_private_activity_notify_nobody_until_it_is_shared(sales, member_of, secret):
    grace = member_of(Role.SUPPORT)
    services.activity_update(
        actor=sales, activity=secret, data={"body": f"Ask @{grace.user.email}"}, expected_version=None
    )
    assert not Notification.objects.exists()
    services.activity_update(actor=sales, activity=secret, data={"private": False}, expected_version=None)
    assert list(Notification.objects.values_list("user_id", "kind")) == [(grace.user_id, "mentioned")]


def test_a_private_meeting_is_in_its_owners_feed_only(client, sales, admin):
    meeting = services.activity_create(
        actor=sales,
        data={
            "kind": "meeting",
            "subject": "Private lunch",
            "user_ids": [admin.user_id],
            "occurred_at": timezone.now() - timedelta(days=1),
        },
        private=True,
    )
    owner_feed, _ = calendar.calendar_feed_create(actor=sales)
    attendee_feed, _ = calendar.calendar_feed_create(actor=admin)
    assert [m.pk for m in calendar.calendar_feed_meetings(feed=owner_feed)] == [meeting.pk]
    assert calendar.calendar_feed_meetings(feed=attendee_feed) == []
    services.activity_update(actor=sales, activity=meeting, data={"private": False}, expected_version=None)
    assert [m.pk for m in calendar.calendar_feed_meetings(feed=attendee_feed)] == [meeting.pk]


def test_last_contacted_counts_private_activities(sales, ada, secret):
    ada.refresh_from_db()
    assert ada.last_contacted_at == secret.occurred_at
