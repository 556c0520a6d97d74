"""The task list (/tasks/): what it shows, its filters, its keyset pages, its query count, and who sees what."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import task_views
from rapport.activities.models import Task, TaskStatus
from rapport.activities.task_selectors import TaskQuery, task_page, week_bounds
from rapport.activities.task_services import task_create, task_delete
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.principal import Principal

TITLE = re.compile(r'class="task-title" href="/tasks/(\d+)/">([^<]*)</a>')


def titles(html: str) -> list[str]:
    return [html_lib.unescape(m[1]) for m in TITLE.findall(html)]


def make(actor: Principal, title: str, **data: Any) -> Task:
    return task_create(actor=actor, data={"title": title, **data})


def test_tasks_is_in_the_main_navigation(web, admin):
    html = web(admin).get("/").content.decode()
    assert '<a href="/tasks/">Tasks</a>' in html
    html = web(admin).get("/tasks/").content.decode()
    assert '<a href="/tasks/" aria-current="page">Tasks</a>' in html


def test_the_list_shows_my_open_tasks_soonest_due_first_then_the_undated(web, admin, member_of):
    now = timezone.now()
    make(admin, "Later", due_at=now + timedelta(days=3))
    make(admin, "Undated")
    make(admin, "Sooner", due_at=now + timedelta(hours=2))
    make(admin, "Late", due_at=now - timedelta(days=1))
    done = make(admin, "Finished", due_at=now)
    task_views.task_services.task_complete(actor=admin, task=done)
    make(admin, "Colleague's", owner_id=member_of(Role.SALES).user_id)
    resp = web(admin).get("/tasks/")
    assert resp.status_code == 200
    assert titles(resp.content.decode()) == ["Late", "Sooner", "Later", "Undated"]


def test_an_overdue_task_stands_out_and_links_go_to_its_contact_and_company(web, admin, org):
    ada = contact_with(org, first_name="Ada", last_name="Lovelace")
    acme = CompanyFactory.create(org=org, name="Acme Corp")
    make(admin, "Call Ada", due_at=timezone.now() - timedelta(hours=3), contact_id=ada.pk, company_id=acme.pk)
    make(admin, "Fine", due_at=timezone.now() + timedelta(days=9))
    html = web(admin).get("/tasks/").content.decode()
    assert html.count('class="task-overdue"') == 1 and html.count("badge-danger") == 1
    assert f'href="/contacts/{ada.pk}/">Ada Lovelace</a>' in html
    assert f'href="/companies/{acme.pk}/">Acme Corp</a>' in html
    assert 'aria-label="Mark “Call Ada” done"' in html


def test_a_trashed_contact_is_not_linked(web, admin, org):
    ada = contact_with(org, first_name="Ada", last_name="Lovelace")
    make(admin, "Call Ada", contact_id=ada.pk)
    ada.deleted_at = timezone.now()
    ada.save(update_fields=["deleted_at"])
    html = web(admin).get("/tasks/").content.decode()
    assert "Call Ada" in html and f"/contacts/{ada.pk}/" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("assignee=anyone", ["Overdue", "Today", "Mine later", "Hers", "Mine undated"]),
        ("assignee={grace}", ["Hers"]),
        ("status=done", ["Done one"]),
        ("status=all&assignee=me", ["Overdue", "Today", "Done one", "Mine later", "Mine undated"]),
        ("due=overdue", ["Overdue"]),
        ("due=today", ["Today"]),
        ("due=none", ["Mine undated"]),
        ("sort=-due", ["Mine later", "Today", "Overdue", "Mine undated"]),
        ("sort=-created", ["Mine undated", "Mine later", "Today", "Overdue"]),
    ],
)
def test_filters_and_sorts(web, admin, member_of, query, expected):
    grace = member_of(Role.SALES)
    now = timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    overdue_at = min(now - timedelta(hours=1), start_of_day - timedelta(minutes=1))
    make(admin, "Overdue", due_at=overdue_at)
    today = make(admin, "Today", due_at=now + timedelta(seconds=30))
    if timezone.localtime(today.due_at).date() != timezone.localtime(now).date():  # pragma: no cover - midnight
        pytest.skip("too close to midnight")
    make(admin, "Mine later", due_at=now + timedelta(days=40))
    make(grace, "Hers", due_at=now + timedelta(days=41))
    done = make(admin, "Done one", due_at=now + timedelta(days=2))
    task_views.task_services.task_complete(actor=admin, task=done)
    make(admin, "Mine undated")
    resp = web(admin).get("/tasks/?" + query.format(grace=grace.user_id))
    assert resp.status_code == 200
    assert titles(resp.content.decode()) == expected


def test_this_week_runs_from_monday_to_sunday(admin):
    start, end = week_bounds()
    make(admin, "Monday", due_at=start)
    make(admin, "Sunday night", due_at=end - timedelta(minutes=1))
    make(admin, "Next Monday", due_at=end)
    make(admin, "Last Sunday", due_at=start - timedelta(minutes=1))
    page = task_page(actor=admin, query=TaskQuery(due="week"), cursor=None, limit=10)
    assert [t.title for t in page.items] == ["Monday", "Sunday night"]


def test_keyset_pages_walk_every_task_once_in_order(admin):
    now = timezone.now()
    for i in range(7):
        make(admin, f"D{i}", due_at=now + timedelta(hours=i))
    for i in range(5):
        make(admin, f"U{i}")
    for limit in (1, 3, 7, 12, 50):
        seen: list[str] = []
        cursor = None
        while True:
            page = task_page(actor=admin, query=TaskQuery(), cursor=cursor, limit=limit)
            seen += [t.title for t in page.items]
            assert len(page.items) <= limit
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert seen == [f"D{i}" for i in range(7)] + [f"U{i}" for i in reversed(range(5))], limit


def test_the_next_link_keeps_the_filters(web, admin, monkeypatch):
    monkeypatch.setattr(task_views, "TASK_PAGE_SIZE", 2)
    for i in range(3):
        make(admin, f"T{i}", due_at=timezone.now() + timedelta(days=i + 1))
    client = web(admin)
    html = client.get("/tasks/?assignee=me&sort=due").content.decode()
    assert titles(html) == ["T0", "T1"]
    link = re.search(r'href="\?(assignee=me&amp;sort=due&amp;cursor=[^"]+)"', html)
    assert link is not None
    html = client.get("/tasks/?" + link[1].replace("&amp;", "&")).content.decode()
    assert titles(html) == ["T2"] and "First page" in html


def test_a_bad_cursor_or_filter_answers_400_with_a_message(web, admin, other_admin):
    client = web(admin)
    for query in ("cursor=nonsense", "cursor=d.%%%", "cursor=x.abc", "assignee=123456789", "due=soon", "status=x"):
        resp = client.get(f"/tasks/?{query}")
        assert resp.status_code == 400, query
        assert 'role="alert"' in resp.content.decode()
    # A member of another workspace is no assignee here.
    assert client.get(f"/tasks/?assignee={other_admin.user_id}").status_code == 400


def test_the_list_is_a_fixed_number_of_queries_whatever_the_page_size(
    web, admin, org, member_of, django_assert_max_num_queries
):
    grace = member_of(Role.SALES)
    ada = contact_with(org, first_name="Ada")
    acme = CompanyFactory.create(org=org)
    make(admin, "First", due_at=timezone.now(), contact_id=ada.pk, company_id=acme.pk)
    make(admin, "Undated first")
    client = web(admin)
    client.get("/tasks/?assignee=anyone")
    with django_assert_max_num_queries(30) as few:
        client.get("/tasks/?assignee=anyone")
    for i in range(30):
        contact = contact_with(org, first_name=f"C{i}")
        company = CompanyFactory.create(org=org)
        owner = grace if i % 2 else admin
        make(owner, f"T{i}", due_at=timezone.now() + timedelta(hours=i), contact_id=contact.pk, company_id=company.pk)
        make(owner, f"U{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get("/tasks/?assignee=anyone").content.decode()
    assert len(titles(html)) == task_views.TASK_PAGE_SIZE


def test_a_viewer_reads_every_task_but_gets_no_tick_and_no_new_button(web, admin, member_of):
    viewer = member_of(Role.VIEWER)
    make(admin, "Admin's task")
    html = web(viewer).get("/tasks/?assignee=anyone").content.decode()
    assert titles(html) == ["Admin's task"]
    assert "/done/" not in html and "New task" not in html


def test_a_sales_rep_gets_a_tick_for_their_own_tasks_only(web, admin, member_of):
    rep = member_of(Role.SALES)
    mine = make(rep, "Rep's")
    make(admin, "Admin's")
    html = web(rep).get("/tasks/?assignee=anyone").content.decode()
    assert sorted(titles(html)) == ["Admin's", "Rep's"]
    assert re.findall(r"/tasks/(\d+)/done/", html) == [str(mine.pk)]


def test_other_workspaces_and_trashed_tasks_never_show(web, admin, other_admin):
    make(other_admin, "Theirs")
    gone = make(admin, "Gone")
    task_delete(actor=admin, task=gone)
    make(admin, "Here")
    html = web(admin).get("/tasks/?assignee=anyone&status=all").content.decode()
    assert titles(html) == ["Here"]


def test_filtered_to_a_contact_the_list_names_it_and_new_task_prefills_it(web, admin, org):
    ada = contact_with(org, first_name="Ada", last_name="Lovelace")
    make(admin, "About Ada", contact_id=ada.pk)
    make(admin, "Other")
    html = web(admin).get(f"/tasks/?contact={ada.pk}&assignee=anyone").content.decode()
    assert titles(html) == ["About Ada"]
    assert f'Linked to <a href="/contacts/{ada.pk}/">Ada Lovelace</a> only.' in html
    assert f'href="/tasks/new/?contact={ada.pk}"' in html
    assert Task.objects.filter(status=TaskStatus.OPEN).count() == 2
