"""The activities API: CRUD, ETag / If-Match, Idempotency-Key, filters, paging, permissions, workspaces."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities.models import Activity, ActivityContact
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.models import Event


def _state(pk: int) -> dict[str, Any]:
    obj = Activity.objects.get(pk=pk)
    snap = {f.attname: getattr(obj, f.attname) for f in Activity._meta.concrete_fields}
    snap["contacts"] = sorted(ActivityContact.objects.filter(activity_id=pk).values_list("contact_id", flat=True))
    return snap


def test_telephony_logs_a_call_by_phone_and_reads_it_back(api, admin, ada, company):
    client = api(admin)
    resp = client.post(
        "/api/v1/activities",
        {
            "kind": "call",
            "direction": "inbound",
            "occurred_at": "2026-03-01T10:00:00Z",
            "duration": 95,
            "outcome": "connected",
            "body": "Asked about *pricing*",
            "company_id": company.pk,
            "participants": [{"phone": "+1 202 555 0143"}],
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert resp["ETag"] == '"v1"'
    assert body["contacts"] == [{"id": ada.pk, "name": "Ada " + ada.last_name}]
    assert body["company"] == {"id": company.pk, "name": "Acme Corp"}
    assert body["body_html"] == "<p>Asked about <em>pricing</em></p>\n"
    assert body["owner"]["id"] == admin.user_id
    got = client.get(f"/api/v1/activities/{body['id']}")
    assert got.status_code == 200 and got["ETag"] == '"v1"' and got.json() == body


def test_a_chat_is_logged_by_email(api, admin, ada):
    resp = api(admin).post("/api/v1/activities", {"kind": "chat", "participants": [{"email": "ADA@example.org"}]})
    assert resp.status_code == 201 and resp.json()["contacts"][0]["id"] == ada.pk


def test_an_unknown_participant_answers_422_naming_it_and_writes_nothing(api, admin, ada):
    resp = api(admin).post(
        "/api/v1/activities",
        {"kind": "call", "participants": [{"contact_id": ada.pk}, {"email": "ghost@example.org"}]},
    )
    err = api_error(resp, 422)
    assert "ghost@example.org" in err["fields"]["participants.1"]
    assert not Activity.objects.exists() and not Event.objects.filter(subject_type="activity").exists()


def test_schema_errors_use_the_one_error_shape(api, admin):
    err = api_error(api(admin).post("/api/v1/activities", {"kind": "call", "duration": "long"}), 422)
    assert "duration" in err["fields"]
    err = api_error(api(admin).post("/api/v1/activities", {"kind": "call", "outcome": "maybe"}), 422)
    assert "outcome" in err["fields"]


def test_patch_needs_if_match_and_refuses_a_stale_version(api, admin):
    activity = log(admin, subject="Before")
    client = api(admin)
    url = f"/api/v1/activities/{activity.pk}"
    api_error(client.patch(url, {"subject": "After"}), 428)
    api_error(client.patch(url, {"subject": "After"}, **{"If-Match": '"v9"'}), 412)
    assert Activity.objects.get(pk=activity.pk).subject == "Before"
    resp = client.patch(url, {"subject": "After"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["subject"] == "After" and resp["ETag"] == '"v2"'


def test_delete_moves_to_the_trash_and_restore_brings_it_back(api, admin):
    activity = log(admin)
    client = api(admin)
    assert client.delete(f"/api/v1/activities/{activity.pk}").status_code == 204
    api_error(client.get(f"/api/v1/activities/{activity.pk}"), 404)
    trashed = client.get("/api/v1/activities?trashed=true").json()["items"]
    assert [item["id"] for item in trashed] == [activity.pk]
    resp = client.post(f"/api/v1/activities/{activity.pk}/restore")
    assert resp.status_code == 200 and resp.json()["deleted_at"] is None


def test_idempotency_key_replays_the_first_answer_and_creates_once(api, admin):
    client = api(admin)
    payload = {"kind": "note", "body": "Once"}
    first = client.post("/api/v1/activities", payload, **{"Idempotency-Key": "abc-1"})
    second = client.post("/api/v1/activities", payload, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Activity.objects.count() == 1
    api_error(client.post("/api/v1/activities", {"kind": "note", "body": "Other"}, **{"Idempotency-Key": "abc-1"}), 422)
    assert Activity.objects.count() == 1


def test_list_filters_sorts_and_pages(api, admin, ada, bob, company, member_of):
    now = timezone.now()
    rep = member_of(Role.SALES)
    call = log(admin, kind="call", direction="outbound", participants=[{"contact_id": ada.pk}],
               occurred_at=now - timedelta(days=3))  # fmt: skip
    note = log(admin, company_id=company.pk, participants=[{"contact_id": ada.pk}, {"contact_id": bob.pk}],
               occurred_at=now - timedelta(days=2))  # fmt: skip
    mine = log(rep, kind="meeting", occurred_at=now - timedelta(days=1))
    client = api(admin)

    def ids(query: str) -> list[int]:
        resp = client.get(f"/api/v1/activities{query}")
        assert resp.status_code == 200, resp.content
        return [item["id"] for item in resp.json()["items"]]

    assert ids("") == [mine.pk, note.pk, call.pk]
    assert ids("?kind=call") == [call.pk]
    assert ids("?direction=outbound") == [call.pk]
    assert ids(f"?contact_id={ada.pk}") == [note.pk, call.pk]
    assert ids(f"?filter=contact_id:in:{ada.pk},{bob.pk}") == [note.pk, call.pk]
    assert ids(f"?company_id={company.pk}") == [note.pk]
    assert ids(f"?owner_id={rep.user_id}") == [mine.pk]
    after = (now - timedelta(days=2, hours=12)).isoformat().replace("+00:00", "Z")
    assert ids(f"?occurred_after={after}") == [mine.pk, note.pk]
    assert ids(f"?occurred_before={after}") == [call.pk]
    assert ids("?sort=occurred_at") == [call.pk, note.pk, mine.pk]
    page = client.get("/api/v1/activities?limit=2").json()
    rest = client.get(f"/api/v1/activities?limit=2&cursor={page['next_cursor']}").json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [mine.pk, note.pk, call.pk]
    assert rest["next_cursor"] is None
    api_error(client.get("/api/v1/activities?kind=fax"), 422)
    api_error(client.get("/api/v1/activities?sort=subject"), 422)
    api_error(client.get("/api/v1/activities?cursor=nonsense"), 422)


def test_a_list_page_is_a_fixed_number_of_queries(api, admin, ada, bob, django_assert_max_num_queries):
    client = api(admin)
    log(admin, participants=[{"contact_id": ada.pk}])
    with django_assert_max_num_queries(20) as few:
        assert client.get("/api/v1/activities").status_code == 200
    for _ in range(10):
        log(admin, participants=[{"contact_id": ada.pk}, {"contact_id": bob.pk}], user_ids=[admin.user_id])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/activities").json()["items"]) == 11


@pytest.mark.parametrize("role", [Role.SALES, Role.SUPPORT, Role.MARKETING])
def test_own_level_writers_cannot_change_a_colleagues_activity(api, admin, member_of, role):
    activity = log(admin, subject="Admin's")
    client = api(member_of(role))
    before = _state(activity.pk)
    assert client.get(f"/api/v1/activities/{activity.pk}").status_code == 200  # read: all
    api_error(client.patch(f"/api/v1/activities/{activity.pk}", {"subject": "x"}, **{"If-Match": '"v1"'}), 403)
    api_error(client.delete(f"/api/v1/activities/{activity.pk}"), 403)
    assert _state(activity.pk) == before
    assert Event.objects.filter(subject_type="activity").count() == 1


def test_own_level_writers_change_their_own(api, member_of):
    rep = member_of(Role.SALES)
    activity = log(rep, subject="Mine")
    resp = api(rep).patch(f"/api/v1/activities/{activity.pk}", {"subject": "Still mine"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200


def test_a_manager_changes_anyones_activity(api, member_of):
    rep = member_of(Role.SALES)
    activity = log(rep, subject="Rep's")
    resp = api(member_of(Role.MANAGER)).patch(
        f"/api/v1/activities/{activity.pk}", {"subject": "Fixed"}, **{"If-Match": '"v1"'}
    )
    assert resp.status_code == 200


def test_a_viewer_and_a_read_only_token_cannot_log(api, admin, member_of):
    activity = log(admin)
    before = _state(activity.pk)
    for client in (api(member_of(Role.VIEWER)), api(admin, scope="read")):
        api_error(client.post("/api/v1/activities", {"kind": "note", "body": "x"}), 403)
        api_error(client.patch(f"/api/v1/activities/{activity.pk}", {"body": "y"}, **{"If-Match": '"v1"'}), 403)
        assert client.get(f"/api/v1/activities/{activity.pk}").status_code == 200
    assert Activity.objects.count() == 1 and _state(activity.pk) == before


def test_another_workspace_gets_404_and_nothing_changes(api, admin, other_admin, ada):
    activity = log(admin, participants=[{"contact_id": ada.pk}])
    client = api(other_admin)
    before = _state(activity.pk)
    events = Event.objects.count()
    url = f"/api/v1/activities/{activity.pk}"
    api_error(client.get(url), 404)
    api_error(client.patch(url, {"subject": "Taken"}, **{"If-Match": '"v1"'}), 404)
    api_error(client.delete(url), 404)
    api_error(client.post(f"{url}/restore"), 404)
    assert client.get("/api/v1/activities").json()["items"] == []
    assert client.get(f"/api/v1/activities?contact_id={ada.pk}").json()["items"] == []
    # Linking another workspace's contact is "unknown", not a link.
    api_error(client.post("/api/v1/activities", {"kind": "call", "participants": [{"contact_id": ada.pk}]}), 422)
    assert _state(activity.pk) == before and Event.objects.count() == events


def test_another_workspace_cannot_restore_a_trashed_activity(api, admin, other_admin):
    activity = log(admin)
    api(admin).delete(f"/api/v1/activities/{activity.pk}")
    before = _state(activity.pk)
    api_error(api(other_admin).post(f"/api/v1/activities/{activity.pk}/restore"), 404)
    assert _state(activity.pk) == before and before["deleted_at"] is not None


def test_participants_of_another_workspace_by_email_are_unknown(api, other_admin, ada):
    contact_with(other_admin.org, email="someone@example.org")
    resp = api(other_admin).post("/api/v1/activities", {"kind": "email", "participants": [{"email": ada.email}]})
    assert "participants.0" in api_error(resp, 422)["fields"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/activities", {"kind": "note", "body": "x", "to": ["a@example.org"]}, "to"),
        ("/api/v1/activities", {"kind": "note", "participants": [{"contact_id": 1, "name": "Ada"}]}, "name"),
        ("/api/v1/tasks", {"title": "Call back", "assignee": 1}, "assignee"),
    ],
)
def test_an_unknown_key_is_refused_naming_it_and_nothing_is_saved(api, admin, path, body, field):
    client = api(admin)
    before = (Activity.objects.count(), Event.objects.count())
    resp = client.post(path, body)
    assert resp.status_code == 422, resp.content
    assert any(field in key for key in resp.json()["error"]["fields"]), resp.json()
    assert (Activity.objects.count(), Event.objects.count()) == before


def test_a_patch_with_an_unknown_key_changes_nothing(api, admin):
    activity = log(admin, kind="note", body="Before")
    before = _state(activity.pk)
    resp = api(admin).patch(
        f"/api/v1/activities/{activity.pk}", {"body": "After", "email_to": []}, **{"If-Match": '"v1"'}
    )
    assert resp.status_code == 422 and "email_to" in str(resp.json()["error"]["fields"])
    assert _state(activity.pk) == before
