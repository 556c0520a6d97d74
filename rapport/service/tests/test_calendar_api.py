"""The business calendar through the API: GET before and after it exists, PUT with If-Match
("v0" creates it), hours validated by building a business_hours.Calendar (422 naming the weekday),
holidays, permissions and another workspace's holidays (404, nothing changed)."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error
from rapport.core.models import Event
from rapport.service.calendar_services import build_calendar
from rapport.service.models import BusinessCalendar, Holiday

URL = "/api/v1/service/calendar"
WEEK = {str(d): [["09:00", "12:00"], ["13:00", "17:00"]] for d in range(5)}


def _state() -> dict[str, Any]:
    return {
        "calendars": list(BusinessCalendar.objects.order_by("pk").values()),
        "holidays": list(Holiday.objects.order_by("pk").values()),
        "events": Event.objects.count(),
    }


def _put(client: Any, body: Any, etag: str | None = '"v0"') -> Any:
    headers = {"If-Match": etag} if etag else {}
    return client._send("put", URL, body, **headers)


def test_set_the_calendar_then_add_and_delete_holidays(api, admin):
    client = api(admin)
    resp = client.get(URL)
    assert resp.json() == {"configured": False, "time_zone": "UTC", "hours": {}, "holidays": [], "version": 0}
    assert resp["ETag"] == '"v0"'
    api_error(_put(client, {"time_zone": "Europe/Paris", "hours": WEEK}, None), 428)
    resp = _put(client, {"time_zone": "Europe/Paris", "hours": {**WEEK, "5": [["10:00", "24:00"]], "6": []}})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["configured"] is True and body["version"] == 1 and resp["ETag"] == '"v1"'
    assert body["hours"]["5"] == [["10:00", "00:00"]] and "6" not in body["hours"]
    assert Event.objects.filter(verb="business_calendar.created").count() == 1
    api_error(_put(client, {"time_zone": "UTC", "hours": WEEK}), 412)

    resp = client.post(f"{URL}/holidays", {"date": "2026-12-25", "name": "Christmas"})
    assert resp.status_code == 201, resp.content
    holiday = resp.json()
    assert holiday == {"id": holiday["id"], "date": "2026-12-25", "name": "Christmas"}
    assert "date" in api_error(client.post(f"{URL}/holidays", {"date": "2026-12-25"}), 422)["fields"]
    got = client.get(URL)
    assert got.json()["holidays"] == [holiday] and got["ETag"] == '"v2"'
    assert client.get(f"{URL}/holidays").json()["items"] == [holiday]

    # What is stored is what the SLA engine can build a calendar from.
    stored = BusinessCalendar.objects.get()
    cal = build_calendar(stored.time_zone, stored.hours, [h.date for h in stored.holidays.all()])
    assert cal.tz == "Europe/Paris" and len(cal.hours) == 6

    resp = _put(client, {"time_zone": "America/New_York", "hours": WEEK}, got["ETag"])
    assert resp.status_code == 200 and resp.json()["time_zone"] == "America/New_York"
    assert Event.objects.get(verb="business_calendar.updated").changes["time_zone"] == [
        "Europe/Paris",
        "America/New_York",
    ]
    assert client.delete(f"{URL}/holidays/{holiday['id']}").status_code == 204
    assert client.get(URL).json()["holidays"] == [] and Event.objects.filter(verb="holiday.deleted").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus", "hours": WEEK}, "time_zone"),
        ({"time_zone": "../../etc/passwd", "hours": WEEK}, "time_zone"),
        ({"time_zone": "", "hours": WEEK}, "time_zone"),
        ({"time_zone": "UTC", "hours": {}}, "hours"),
        ({"time_zone": "UTC", "hours": {"0": []}}, "hours"),
        ({"time_zone": "UTC", "hours": {"7": [["09:00", "17:00"]]}}, "hours"),
        ({"time_zone": "UTC", "hours": {"0": [["17:00", "09:00"]]}}, "hours.0"),
        ({"time_zone": "UTC", "hours": {"2": [["09:00", "13:00"], ["12:00", "17:00"]]}}, "hours.2"),
        ({"time_zone": "UTC", "hours": {"0": [["9am", "5pm"]]}}, "hours.0"),
        ({"time_zone": "UTC", "hours": {"0": [["09:00", "25:00"]]}}, "hours.0"),
        ({"time_zone": "UTC", "hours": {"0": [["09:00"]]}}, "hours.0"),
        ({"time_zone": "UTC"}, "hours"),
        ({"time_zone": "UTC", "hours": WEEK, "holidays": []}, "holidays"),
    ],
)
def test_bad_calendar_input_is_422_naming_the_field_and_writes_nothing(api, admin, body, field):
    client = api(admin)
    before = _state()
    err = api_error(_put(client, body), 422)
    assert field in err["fields"], err
    assert _state() == before


def test_a_holiday_needs_a_calendar_and_a_valid_date(api, admin):
    client = api(admin)
    before = _state()
    assert api_error(client.post(f"{URL}/holidays", {"date": "2026-12-25"}), 409)["code"] == "no_calendar"
    _put(client, {"time_zone": "UTC", "hours": WEEK})
    before = _state()
    for bad in ({"date": "2026-02-30"}, {"date": "soon"}, {"date": "2026-12-25", "name": "x" * 101}, {}):
        api_error(client.post(f"{URL}/holidays", bad), 422)
    assert _state() == before


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.MANAGER, Role.VIEWER])
def test_roles_without_manage_settings_read_but_cannot_change_the_calendar(api, admin, member_of, role):
    _put(api(admin), {"time_zone": "UTC", "hours": WEEK})
    holiday = api(admin).post(f"{URL}/holidays", {"date": "2026-05-01"}).json()
    client = api(member_of(role))
    assert client.get(URL).json()["configured"] is True
    before = _state()
    for resp in (
        _put(client, {"time_zone": "Europe/Paris", "hours": WEEK}, "*"),
        client.post(f"{URL}/holidays", {"date": "2026-05-08"}),
        client.delete(f"{URL}/holidays/{holiday['id']}"),
    ):
        assert api_error(resp, 403)["code"] == "permission_denied"
    assert _state() == before
    api_error(api(member_of(Role.MARKETING)).get(URL), 403)


def test_another_workspaces_calendar_and_holidays_are_out_of_reach(api, admin, other_admin):
    _put(api(other_admin), {"time_zone": "Asia/Tokyo", "hours": WEEK})
    b_holiday = api(other_admin).post(f"{URL}/holidays", {"date": "2026-01-01"}).json()
    client = api(admin)
    before = _state()
    assert api_error(client.delete(f"{URL}/holidays/{b_holiday['id']}"), 404)["code"] == "not_found"
    assert client.get(URL).json()["configured"] is False
    assert client.get(f"{URL}/holidays").json()["items"] == []
    assert _state() == before
