"""Tasks: validation, the API (ETag / If-Match, Idempotency-Key, filters), permissions, workspaces."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import task_services
from rapport.activities.models import Notification, Task
from rapport.contacts.tests.factories import api_error
from rapport.core.errors import ValidationFailed
from rapport.core.models import Event


def _state(pk: int) -> dict[str, Any]:
    obj = Task.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in Task._meta.concrete_fields}


def test_a_task_needs_a_title_and_valid_choices_all_named_at_once(admin):
    with pytest.raises(ValidationFailed) as exc:
        task_services.task_create(
            actor=admin, data={"title": " ", "priority": "urgent", "status": "maybe", "due_at": "soon", "x": 1}
        )
    assert set(exc.value.fields) == {"title", "priority", "status", "due_at", "x"}
    assert not Task.objects.exists() and not Event.objects.filter(verb__startswith="task.").exists()


def test_create_read_update_complete_and_trash_through_the_api(api, admin, ada):
    client = api(admin)
    resp = client.post(
        "/api/v1/tasks",
        {"title": "Call Ada back", "due_at": "2030-01-02T09:00:00Z", "priority": "high", "contact_id": ada.pk},
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert resp["ETag"] == '"v1"'
    assert body["assignee"]["id"] == admin.user_id and body["status"] == "open"
    assert body["contact"]["id"] == ada.pk and body["priority"] == "high"
    url = f"/api/v1/tasks/{body['id']}"
    assert client.get(url).json() == body
    api_error(client.patch(url, {"title": "Changed"}), 428)
    api_error(client.patch(url, {"title": "Changed"}, **{"If-Match": '"v7"'}), 412)
    resp = client.patch(url, {"title": "Changed"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["title"] == "Changed" and resp["ETag"] == '"v2"'
    done = client.post(f"{url}/complete")
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["completed_at"]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    verbs = list(Event.objects.filter(subject_type="task").order_by("pk").values_list("verb", flat=True))
    assert verbs == ["task.created", "task.updated", "task.completed", "task.trashed"]


def test_idempotency_key_replays_the_create(api, admin):
    client = api(admin)
    first = client.post("/api/v1/tasks", {"title": "Once"}, **{"Idempotency-Key": "k1"})
    again = client.post("/api/v1/tasks", {"title": "Once"}, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Task.objects.count() == 1


def test_an_unknown_contact_or_assignee_is_refused_and_nothing_is_written(api, admin, other_admin):
    err = api_error(api(admin).post("/api/v1/tasks", {"title": "T", "owner_id": other_admin.user_id}), 422)
    assert "owner_id" in err["fields"]
    assert not Task.objects.exists()


def test_list_filters_by_status_assignee_due_and_overdue(api, admin, member_of):
    rep = member_of(Role.SALES)
    now = timezone.now()
    late = task_services.task_create(actor=admin, data={"title": "Late", "due_at": now - timedelta(days=1)})
    later = task_services.task_create(actor=admin, data={"title": "Later", "due_at": now + timedelta(days=3)})
    theirs = task_services.task_create(actor=admin, data={"title": "Theirs", "owner_id": rep.user_id})
    task_services.task_complete(actor=admin, task=later)
    client = api(admin)

    def ids(query: str) -> set[int]:
        resp = client.get(f"/api/v1/tasks?{query}")
        assert resp.status_code == 200, resp.content
        return {t["id"] for t in resp.json()["items"]}

    assert ids("status=open") == {late.pk, theirs.pk}
    assert ids(f"assignee_id={rep.user_id}") == {theirs.pk}
    assert ids("overdue=true") == {late.pk}
    assert ids("due_after=" + (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == {later.pk}
    assert ids("mine=true") == {late.pk, later.pk}


def test_a_sales_rep_changes_only_tasks_assigned_to_them(api, admin, member_of):
    rep = member_of(Role.SALES)
    mine = task_services.task_create(actor=admin, data={"title": "Rep's", "owner_id": rep.user_id})
    boss = task_services.task_create(actor=admin, data={"title": "Admin's"})
    client = api(rep)
    before = _state(boss.pk)
    api_error(client.patch(f"/api/v1/tasks/{boss.pk}", {"title": "Mine now"}, **{"If-Match": '"v1"'}), 403)
    api_error(client.post(f"/api/v1/tasks/{boss.pk}/complete"), 403)
    api_error(client.delete(f"/api/v1/tasks/{boss.pk}"), 403)
    assert _state(boss.pk) == before
    resp = client.patch(f"/api/v1/tasks/{mine.pk}", {"title": "Done soon"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200


def test_a_viewer_cannot_create_tasks(api, member_of):
    api_error(api(member_of(Role.VIEWER)).post("/api/v1/tasks", {"title": "No"}), 403)
    assert not Task.objects.exists()


def test_another_workspaces_task_is_404_and_unchanged(api, admin, other_admin):
    task = task_services.task_create(actor=other_admin, data={"title": "B's"})
    before = _state(task.pk)
    client = api(admin)
    for method, path in (("get", ""), ("delete", ""), ("post", "/complete")):
        assert getattr(client, method)(f"/api/v1/tasks/{task.pk}{path}").status_code == 404
    assert client.patch(f"/api/v1/tasks/{task.pk}", {"title": "X"}, **{"If-Match": '"v1"'}).status_code == 404
    assert _state(task.pk) == before
    assert client.get("/api/v1/tasks").json()["items"] == []


def test_assigning_a_task_to_someone_else_notifies_them_once(admin, member_of):
    rep = member_of(Role.SALES)
    task = task_services.task_create(actor=admin, data={"title": "Own one"})
    assert not Notification.objects.exists()  # one's own task: no notification
    task = task_services.task_update(actor=admin, task=task, data={"owner_id": rep.user_id}, expected_version=1)
    task_services.task_update(actor=admin, task=task, data={"title": "Renamed"}, expected_version=2)
    notes = list(Notification.objects.filter(user_id=rep.user_id))
    assert len(notes) == 1 and notes[0].kind == "assigned" and "Own one" in notes[0].title
    assert notes[0].org_id == admin.org_id
