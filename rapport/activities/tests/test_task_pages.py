"""The bell (one query), the notifications page, and "My day" on the home page."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import task_services
from rapport.activities.models import Notification, Task
from rapport.activities.notifications import notify


def test_the_bell_shows_the_unread_count_with_one_query(web, admin):
    client = web(admin)
    client.get("/")  # warm the session and caches
    with CaptureQueriesContext(connection) as none:
        client.get("/search/?q=")
    for i in range(3):
        notify(org_id=admin.org_id, user_id=admin.user_id, kind="reminder", title=f"N{i}")
    with CaptureQueriesContext(connection) as three:
        resp = client.get("/search/?q=")
    assert 'data-unread="3"' in resp.content.decode()
    bell = [q for q in three.captured_queries if "activities_notification" in q["sql"]]
    assert len(bell) == 1 and len(three.captured_queries) == len(none.captured_queries)


def test_no_bell_for_anonymous_visitors(client):
    resp = client.get("/login/")
    assert b"data-unread" not in resp.content


def test_my_day_lists_todays_and_overdue_tasks_and_recent_notifications(web, admin, member_of):
    now = timezone.now()
    task_services.task_create(actor=admin, data={"title": "Overdue call", "due_at": now - timedelta(days=2)})
    task_services.task_create(actor=admin, data={"title": "Due soon", "due_at": now + timedelta(minutes=1)})
    task_services.task_create(actor=admin, data={"title": "Next month", "due_at": now + timedelta(days=40)})
    task_services.task_create(actor=admin, data={"title": "Someone else's", "owner_id": member_of(Role.SALES).user_id})
    notify(org_id=admin.org_id, user_id=admin.user_id, kind="mentioned", title="Grace mentioned you")
    html = web(admin).get("/").content.decode()
    assert "Overdue call" in html and "Due soon" in html and "Grace mentioned you" in html
    assert "Next month" not in html and "Someone else&#x27;s" not in html
    assert html.count("task-overdue") == 1 and "Overdue</span>" in html


def test_add_a_task_and_tick_it_done_from_the_home_page(web, admin):
    client = web(admin)
    resp = client.post("/tasks/new/", {"title": "Write proposal", "due_at": "2026-01-01T10:00"})
    assert resp.status_code == 302
    task = Task.objects.get(title="Write proposal")
    assert task.owner_id == admin.user_id and task.due_at is not None
    assert client.post(f"/tasks/{task.pk}/done/").status_code == 302
    assert Task.objects.get(pk=task.pk).status == "done"


def test_ticking_someone_elses_task_is_refused(web, admin, member_of):
    rep = member_of(Role.SALES)
    task = task_services.task_create(actor=admin, data={"title": "Admin's"})
    assert web(rep).post(f"/tasks/{task.pk}/done/").status_code == 403
    assert Task.objects.get(pk=task.pk).status == "open"


def test_the_notifications_page_marks_read(web, admin):
    first = notify(org_id=admin.org_id, user_id=admin.user_id, kind="reminder", title="First one")
    notify(org_id=admin.org_id, user_id=admin.user_id, kind="reminder", title="Second one")
    client = web(admin)
    assert "First one" in client.get("/notifications/").content.decode()
    client.post("/notifications/", {"read": first.pk})
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
    client.post("/notifications/", {"read": "all"})
    assert not Notification.objects.filter(read_at__isnull=True).exists()
