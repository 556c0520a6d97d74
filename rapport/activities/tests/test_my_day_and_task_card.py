""" "My day" on the home page (today's and overdue tasks, today's meetings, notifications) and the
"Tasks" card of the contact and company pages (open tasks of the record, bounded queries)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import services
from rapport.activities.task_selectors import day_bounds
from rapport.activities.task_services import task_complete, task_create
from rapport.contacts import services as contact_services
from rapport.core.principal import Principal


def meeting(actor: Principal, subject: str, at: Any, **data: Any) -> Any:
    return services.activity_create(
        actor=actor, data={"kind": "meeting", "subject": subject, "occurred_at": at, **data}
    )


def test_my_day_shows_todays_meetings_i_own_or_attend_with_time_and_place(web, admin, member_of):
    grace = member_of(Role.SALES)
    start, end = day_bounds()
    now = timezone.now()
    at = max(start + timedelta(minutes=1), min(now, end - timedelta(hours=2)))
    mine = meeting(admin, "Kick-off", at, location="Room 4", duration=3600)
    attended = meeting(grace, "Grace's review", at + timedelta(minutes=30), user_ids=[admin.user_id])
    meeting(grace, "Not invited", at)
    meeting(admin, "Tomorrow's", end + timedelta(minutes=5))
    meeting(admin, "Yesterday's", start - timedelta(minutes=5))
    services.activity_create(actor=admin, data={"kind": "call", "subject": "A call", "occurred_at": at})
    html = web(admin).get("/").content.decode()
    section = html.split("Today's meetings", 1)[1].split("Recent notifications", 1)[0]
    assert f'href="/activities/{mine.pk}/">Kick-off</a>' in section and "Room 4" in section
    assert f'href="/activities/{attended.pk}/">Grace&#x27;s review</a>' in section
    local = timezone.localtime(at)
    assert f"{local:%H:%M}\u2013{local + timedelta(hours=1):%H:%M}" in section
    for absent in ("Not invited", "Tomorrow", "Yesterday", "A call"):
        assert absent not in section
    assert section.index("Kick-off") < section.index("Grace&#x27;s review")


def test_my_day_never_shows_someone_elses_private_meeting(web, admin, member_of):
    grace = member_of(Role.SALES)
    start, _ = day_bounds()
    meeting(grace, "Private one", start + timedelta(minutes=5), user_ids=[admin.user_id], private=True)
    assert "Private one" not in web(admin).get("/").content.decode()


def test_my_day_without_meetings_says_so_and_keeps_the_quick_add(web, admin):
    html = web(admin).get("/").content.decode()
    assert "No meetings today." in html and 'action="/tasks/new/"' in html and 'name="next" value="/#my-day"' in html


def test_a_viewer_gets_no_quick_add(web, member_of):
    html = web(member_of(Role.VIEWER)).get("/").content.decode()
    assert "My day" in html and 'action="/tasks/new/"' not in html


def test_a_task_notification_link_opens_the_task(web, admin):
    task = task_create(actor=admin, data={"title": "Linked"})
    client = web(admin)
    resp = client.get(f"/?task={task.pk}")
    assert resp.status_code == 302 and resp["Location"] == f"/tasks/{task.pk}/"
    assert client.get("/?task=abc").status_code == 200


def test_my_day_is_a_fixed_number_of_queries(web, admin, django_assert_max_num_queries):
    start, _ = day_bounds()
    client = web(admin)
    task_create(actor=admin, data={"title": "T", "due_at": timezone.now()})
    meeting(admin, "M", start + timedelta(minutes=1))
    with django_assert_max_num_queries(25) as few:
        client.get("/")
    for i in range(15):
        task_create(actor=admin, data={"title": f"T{i}", "due_at": timezone.now() - timedelta(hours=i)})
        meeting(admin, f"M{i}", start + timedelta(minutes=i + 2), location=f"Room {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get("/").content.decode()
    assert "T14" in html and "Room 14" in html


# --- the Tasks card ---------------------------------------------------------------------------


def _contact(actor: Principal, **data: Any) -> Any:
    return contact_services.contact_create(actor=actor, data={"first_name": "Ada", **data})


def test_the_contact_page_lists_its_open_tasks_with_due_dates_and_add_task(web, admin, member_of):
    ada = _contact(admin)
    bob = _contact(admin, first_name="Bob")
    due = timezone.now() + timedelta(days=2)
    task_create(actor=admin, data={"title": "Send the quote", "contact_id": ada.pk, "due_at": due})
    task_create(
        actor=admin,
        data={"title": "Grace's call", "contact_id": ada.pk, "owner_id": member_of(Role.SALES).user_id},
    )
    done = task_create(actor=admin, data={"title": "Finished", "contact_id": ada.pk})
    task_complete(actor=admin, task=done)
    task_create(actor=admin, data={"title": "About Bob", "contact_id": bob.pk})
    html = web(admin).get(f"/contacts/{ada.pk}/").content.decode()
    card = html.split('id="tasks"', 1)[1].split("</section>", 1)[0]
    assert "Send the quote" in card and "Grace&#x27;s call" in card
    assert "Finished" not in card and "About Bob" not in card
    assert f"{timezone.localtime(due):%a %-d %b %H:%M}" in card
    assert card.index("Send the quote") < card.index("Grace&#x27;s call")  # undated last
    assert f'href="/tasks/new/?contact={ada.pk}&amp;next=%2Fcontacts%2F{ada.pk}%2F"' in card
    assert f'href="/tasks/?contact={ada.pk}&amp;assignee=anyone&amp;status=all"' in card


def test_the_company_page_lists_the_tasks_linked_to_it(web, admin):
    acme = contact_services.company_create(actor=admin, data={"name": "Acme Corp"})
    task_create(actor=admin, data={"title": "Renewal", "company_id": acme.pk})
    html = web(admin).get(f"/companies/{acme.pk}/").content.decode()
    card = html.split('id="tasks"', 1)[1].split("</section>", 1)[0]
    assert "Renewal" in card and f"/tasks/new/?company={acme.pk}" in card


def test_a_viewer_sees_the_card_without_add_or_tick(web, admin, member_of):
    ada = _contact(admin)
    task_create(actor=admin, data={"title": "Send the quote", "contact_id": ada.pk})
    html = web(member_of(Role.VIEWER)).get(f"/contacts/{ada.pk}/").content.decode()
    card = html.split('id="tasks"', 1)[1].split("</section>", 1)[0]
    assert "Send the quote" in card and "Add task" not in card and "/done/" not in card


def test_the_card_shows_ten_tasks_and_a_link_to_all(web, admin):
    ada = _contact(admin)
    for i in range(12):
        task_create(actor=admin, data={"title": f"Task {i:02d}", "contact_id": ada.pk})
    html = web(admin).get(f"/contacts/{ada.pk}/").content.decode()
    card = html.split('id="tasks"', 1)[1].split("</section>", 1)[0]
    assert len(re.findall(r'class="task-title"', card)) == 10 and "All open tasks" in card


def test_the_tasks_card_adds_one_query_whatever_the_number_of_tasks(
    web, admin, member_of, django_assert_max_num_queries
):
    grace = member_of(Role.SALES)
    ada = _contact(admin)
    acme = contact_services.company_create(actor=admin, data={"name": "Acme Corp"})
    client = web(admin)
    client.get(f"/contacts/{ada.pk}/")
    with django_assert_max_num_queries(26) as few:
        client.get(f"/contacts/{ada.pk}/")
    with django_assert_max_num_queries(31) as few_company:
        client.get(f"/companies/{acme.pk}/")
    task_queries = [q for q in few.captured_queries if "activities_task" in q["sql"]]
    assert len(task_queries) == 1
    for i in range(15):
        owner = grace if i % 2 else admin
        task_create(
            actor=owner,
            data={"title": f"T{i}", "contact_id": ada.pk, "company_id": acme.pk, "due_at": timezone.now()},
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(f"/contacts/{ada.pk}/").content.decode()
    with django_assert_max_num_queries(len(few_company.captured_queries)):
        company_html = client.get(f"/companies/{acme.pk}/").content.decode()
    for page in (html, company_html):
        card = page.split('id="tasks"', 1)[1].split("</section>", 1)[0]
        assert len(re.findall(r'class="task-title"', card)) == 10 and "All open tasks" in card
