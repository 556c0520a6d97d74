"""Calendar feeds (private iCalendar URL per member and workspace) and the import of .ics files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from rapport.accounts.models import Membership
from rapport.accounts.roles import Role
from rapport.activities import calendar
from rapport.activities.models import Activity, ActivityContact, CalendarFeed
from rapport.activities.tests.conftest import log
from rapport.core.models import Event

ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//Test//EN\r
BEGIN:VEVENT\r
UID:kickoff-1@example.com\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260115T090000Z\r
DTEND:20260115T100000Z\r
SUMMARY:Kickoff\r
LOCATION:Room 4\r
DESCRIPTION:Agenda: scope\\, dates\r
ATTENDEE;CN=Ada:mailto:ada@example.org\r
ATTENDEE;CN=Stranger:mailto:nobody@elsewhere.test\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:review-2@example.com\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Europe/Berlin:20260120T140000\r
DURATION:PT30M\r
SUMMARY:Review\r
ATTENDEE:mailto:BOB@example.org\r
END:VEVENT\r
END:VCALENDAR\r
"""


def _meeting(actor: Any, **data: Any) -> Activity:
    data.setdefault("occurred_at", timezone.now() - timedelta(days=1))
    return log(actor, kind="meeting", **data)


def _feed_events(client: Any, secret: str) -> list[Any]:
    resp = client.get(f"/calendar/{secret}.ics")
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"].startswith("text/calendar")
    return list(Calendar.from_ical(resp.content).walk("VEVENT"))


def test_feed_lists_my_meetings_with_times_location_and_attendees(client, admin, member_of, ada, bob):
    colleague = member_of(Role.SALES)
    start = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    mine = _meeting(
        admin,
        subject="Quarterly review",
        location="HQ, room 4",
        body="Bring **numbers**",
        occurred_at=start,
        duration=3600,
        participants=[{"contact_id": ada.pk}],
        user_ids=[colleague.user_id],
    )
    attended = _meeting(colleague, subject="Their meeting I attend", user_ids=[admin.user_id])
    _meeting(colleague, subject="Not mine")
    log(admin, kind="call", subject="A call")
    _meeting(admin, subject="Too old", occurred_at=timezone.now() - timedelta(days=120))
    _feed, secret = calendar.calendar_feed_create(actor=admin)

    events = _feed_events(client, secret)

    by_summary = {str(e["summary"]): e for e in events}
    assert set(by_summary) == {"Quarterly review", "Their meeting I attend"}
    event = by_summary["Quarterly review"]
    assert str(event["uid"]) == f"activity-{mine.pk}@org-{admin.org_id}.rapport"
    assert event.decoded("dtstart") == start.astimezone(UTC)
    assert event.decoded("dtstart").tzinfo is not None
    assert event.decoded("dtend") == start.astimezone(UTC) + timedelta(hours=1)
    assert str(event["location"]) == "HQ, room 4"
    assert str(event["description"]) == "Bring **numbers**"
    attendees = event.get("attendee")
    emails = {str(a).removeprefix("mailto:") for a in (attendees if isinstance(attendees, list) else [attendees])}
    assert emails == {"ada@example.org", colleague.user.email}
    assert str(by_summary["Their meeting I attend"]["uid"]).startswith(f"activity-{attended.pk}@")


def test_feed_uids_are_stable_across_requests(client, admin):
    _meeting(admin, subject="Standup")
    _feed, secret = calendar.calendar_feed_create(actor=admin)
    first = [str(e["uid"]) for e in _feed_events(client, secret)]
    second = [str(e["uid"]) for e in _feed_events(client, secret)]
    assert first == second and len(first) == 1


def test_feed_query_count_does_not_grow_with_meetings(client, admin, ada):
    _feed, secret = calendar.calendar_feed_create(actor=admin)
    _meeting(admin, participants=[{"contact_id": ada.pk}])
    with CaptureQueriesContext(connection) as one:
        client.get(f"/calendar/{secret}.ics")
    for _ in range(5):
        _meeting(admin, participants=[{"contact_id": ada.pk}], user_ids=[admin.user_id])
    with CaptureQueriesContext(connection) as six:
        assert len(_feed_events(client, secret)) == 6
    assert len(six) == len(one) <= 6


def test_only_the_hash_of_the_secret_is_stored(admin):
    feed, secret = calendar.calendar_feed_create(actor=admin)
    assert secret not in feed.token_hash and len(feed.token_hash) == 64
    assert not CalendarFeed.objects.filter(token_hash=secret).exists()


def test_revoked_feed_answers_404(client, admin):
    _meeting(admin)
    _feed, secret = calendar.calendar_feed_create(actor=admin)
    assert client.get(f"/calendar/{secret}.ics").status_code == 200
    calendar.calendar_feed_revoke(actor=admin)
    assert client.get(f"/calendar/{secret}.ics").status_code == 404


def test_a_new_feed_replaces_the_old_one(client, admin):
    _old, old_secret = calendar.calendar_feed_create(actor=admin)
    _new, new_secret = calendar.calendar_feed_create(actor=admin)
    assert client.get(f"/calendar/{old_secret}.ics").status_code == 404
    assert client.get(f"/calendar/{new_secret}.ics").status_code == 200


@pytest.mark.django_db
def test_unknown_secret_answers_404(client):
    assert client.get("/calendar/not-a-real-secret.ics").status_code == 404


def test_feed_is_limited_to_its_workspace(client, admin, other_admin):
    _meeting(admin, subject="Acme meeting")
    _meeting(other_admin, subject="Globex meeting")
    _feed, secret = calendar.calendar_feed_create(actor=other_admin)
    assert [str(e["summary"]) for e in _feed_events(client, secret)] == ["Globex meeting"]


def test_feed_stops_when_the_member_leaves_the_workspace(client, member_of):
    sales = member_of(Role.SALES)
    _feed, secret = calendar.calendar_feed_create(actor=sales)
    Membership.objects.filter(org_id=sales.org_id, user_id=sales.user_id).update(is_active=False)
    assert client.get(f"/calendar/{secret}.ics").status_code == 404


def test_settings_page_shows_the_url_once_and_revokes(web, admin):
    client = web(admin)
    resp = client.post("/account/calendar/", {"action": "create"})
    assert resp.status_code == 200
    feed = CalendarFeed.objects.get(user=admin.user, revoked_at__isnull=True)
    text = resp.content.decode()
    assert "/calendar/" in text and ".ics" in text
    assert "/calendar/" not in client.get("/account/calendar/").content.decode()
    client.post("/account/calendar/", {"action": "revoke"})
    feed.refresh_from_db()
    assert feed.revoked_at is not None


# --- import -------------------------------------------------------------------------------------


def test_import_creates_meetings_with_attendees_and_reports_unknown_ones(admin, ada, bob):
    result = calendar.calendar_import(actor=admin, content=ICS)

    assert len(result.created) == 2 and result.skipped_uids == []
    assert result.unknown_attendees == ["nobody@elsewhere.test"]
    kickoff = Activity.objects.get(external_uid="kickoff-1@example.com")
    assert kickoff.kind == "meeting" and kickoff.subject == "Kickoff" and kickoff.location == "Room 4"
    assert kickoff.body == "Agenda: scope, dates"
    assert kickoff.occurred_at == datetime(2026, 1, 15, 9, tzinfo=UTC) and kickoff.duration == 3600
    assert list(ActivityContact.objects.filter(activity=kickoff).values_list("contact_id", flat=True)) == [ada.pk]
    review = Activity.objects.get(external_uid="review-2@example.com")
    assert review.occurred_at == datetime(2026, 1, 20, 13, tzinfo=UTC) and review.duration == 1800
    assert list(ActivityContact.objects.filter(activity=review).values_list("contact_id", flat=True)) == [bob.pk]
    assert review.owner_id == admin.user_id
    assert Event.objects.filter(verb="activity.created").count() == 2


def test_importing_the_same_file_twice_creates_each_meeting_once(admin, ada, bob):
    calendar.calendar_import(actor=admin, content=ICS)
    again = calendar.calendar_import(actor=admin, content=ICS)
    assert again.created == [] and sorted(again.skipped_uids) == ["kickoff-1@example.com", "review-2@example.com"]
    assert Activity.objects.count() == 2


def test_the_same_uid_may_be_imported_in_another_workspace(admin, other_admin):
    calendar.calendar_import(actor=admin, content=ICS)
    assert len(calendar.calendar_import(actor=other_admin, content=ICS).created) == 2
    assert Activity.objects.filter(org=other_admin.org).count() == 2


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a calendar",
        b"\xff\xfe\x00garbage",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        ICS.replace(b"DTSTART:20260115T090000Z", b"DTSTART:notadate"),
        ICS.replace(b"UID:review-2@example.com\r\n", b""),
        b"BEGIN:VCALENDAR\r\n" + b"X-PAD:" + b"a" * (calendar.IMPORT_MAX_BYTES) + b"\r\nEND:VCALENDAR\r\n",
    ],
    ids=["text", "binary", "no-events", "bad-start", "no-uid", "huge"],
)
def test_a_bad_file_is_refused_and_writes_nothing(api, admin, ada, content):
    resp = api(admin).client.post("/api/v1/activities/import-ics", {"file": _upload(content)})
    assert resp.status_code == 422, resp.content
    assert resp.json()["error"]["fields"]
    assert not Activity.objects.exists() and not Event.objects.filter(verb="activity.created").exists()


def _upload(content: bytes, name: str = "meetings.ics") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/calendar")


def test_api_import_answers_created_skipped_and_unknown(api, admin, ada, bob):
    client = api(admin).client
    resp = client.post("/api/v1/activities/import-ics", {"file": _upload(ICS)})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert sorted(a["subject"] for a in body["created"]) == ["Kickoff", "Review"]
    assert {a["location"] for a in body["created"]} == {"Room 4", ""}
    assert body["unknown_attendees"] == ["nobody@elsewhere.test"]
    resp = client.post("/api/v1/activities/import-ics", {"file": _upload(ICS)})
    assert resp.json()["created"] == [] and len(resp.json()["skipped_uids"]) == 2


def test_a_viewer_may_not_import(api, web, member_of, ada):
    viewer = member_of(Role.VIEWER)
    resp = api(viewer).client.post("/api/v1/activities/import-ics", {"file": _upload(ICS)})
    assert resp.status_code == 403
    resp = web(viewer).post("/activities/import-ics/", {"file": _upload(ICS)})
    assert resp.status_code == 403
    assert not Activity.objects.exists()


def test_import_page_creates_meetings_and_shows_errors(web, admin, ada, bob):
    client = web(admin)
    resp = client.post("/activities/import-ics/", {"file": _upload(ICS)})
    assert resp.status_code == 200
    assert "2 meetings imported" in resp.content.decode()
    assert "nobody@elsewhere.test" in resp.content.decode()
    resp = client.post("/activities/import-ics/", {"file": _upload(b"garbage")})
    assert resp.status_code == 422
    assert "not a valid iCalendar" in resp.content.decode()
    assert Activity.objects.count() == 2


def test_location_is_validated_by_the_services(api, admin):
    resp = api(admin).post("/api/v1/activities", {"kind": "meeting", "location": "x" * 301})
    assert resp.status_code == 422
    resp = api(admin).post("/api/v1/activities", {"kind": "meeting", "location": " Café Bleu "})
    assert resp.status_code == 201 and resp.json()["location"] == "Café Bleu"
    resp = api(admin).patch(f"/api/v1/activities/{resp.json()['id']}", {"location": "y" * 301})
    assert resp.status_code == 422


def test_meeting_location_is_edited_and_shown_on_the_page(web, admin):
    meeting = _meeting(admin, subject="Lunch", location="Old place")
    client = web(admin)
    resp = client.post(
        f"/activities/{meeting.pk}/edit/",
        {
            "subject": "Lunch",
            "when": timezone.localtime(meeting.occurred_at).strftime("%Y-%m-%dT%H:%M"),
            "location": "Café Bleu",
            "body": "",
            "version": meeting.version,
        },
    )
    assert resp.status_code in (200, 302), resp.content
    meeting.refresh_from_db()
    assert meeting.location == "Café Bleu"
    assert "Café Bleu" in client.get(f"/activities/{meeting.pk}/").content.decode()


def test_a_uid_taken_meanwhile_is_a_conflict_and_writes_nothing(admin, monkeypatch):
    # As if another import created the event between the check of existing UIDs and the insert.
    real = calendar.activity_create

    def racing(**kwargs: Any) -> Activity:
        if kwargs["external_uid"] == "review-2@example.com":
            Activity.objects.create(
                org_id=admin.org_id, kind="meeting", occurred_at=timezone.now(), external_uid="review-2@example.com"
            )
        return real(**kwargs)

    monkeypatch.setattr(calendar, "activity_create", racing)
    with pytest.raises(calendar.ApplicationError) as caught:
        calendar.calendar_import(actor=admin, content=ICS)
    assert caught.value.status == 409
    assert not Activity.objects.exists()
