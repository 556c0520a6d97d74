"""Creating, editing and deleting tasks through the pages: every field, bad input (a clear message,
nothing saved), the stale-version guard, permission denied and other workspaces."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities.models import Notification, Task
from rapport.activities.notifications import reminders_fire
from rapport.activities.task_services import task_complete, task_create
from rapport.contacts import services as contact_services
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.models import Event
from rapport.core.principal import Principal


def make(actor: Principal, title: str = "Follow up", **data: Any) -> Task:
    return task_create(actor=actor, data={"title": title, **data})


def local(when: Any) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def form(**values: Any) -> dict[str, Any]:
    data = {"title": "Send the quote", "description": "", "due_at": "", "remind_at": "", "priority": "normal"}
    data.update(status="open", contact="", company="")
    data.update(values)
    return data


# --- create -----------------------------------------------------------------------------------


def test_the_new_task_form_has_every_field_and_assigns_me_by_default(web, admin, member_of):
    grace = member_of(Role.SALES)
    html = web(admin).get("/tasks/new/").content.decode()
    for name in ("title", "description", "due_at", "remind_at", "priority", "status", "assignee", "contact", "company"):
        assert f'name="{name}"' in html, name
    assert "Remind me at" in html and 'type="datetime-local"' in html
    assert f'<option value="{admin.user_id}" selected>' in html and f'<option value="{grace.user_id}">' in html
    assert 'hx-get="/tasks/contacts/suggest/?field=contact"' in html
    assert 'hx-get="/companies/suggest/?field=company"' in html


def test_add_task_from_a_contact_prefills_the_contact_and_its_company(web, admin, org):
    acme = CompanyFactory.create(org=org, name="Acme Corp")
    ada = contact_with(org, first_name="Ada", last_name="Lovelace", company=acme)
    html = web(admin).get(f"/tasks/new/?contact={ada.pk}&next=/contacts/{ada.pk}/").content.decode()
    assert f'value="Ada Lovelace (#{ada.pk})"' in html and 'value="Acme Corp"' in html
    assert f'name="next" value="/contacts/{ada.pk}/"' in html


def test_create_a_task_with_every_field(web, admin, member_of, org):
    grace = member_of(Role.SALES)
    acme = CompanyFactory.create(org=org, name="Acme Corp")
    ada = contact_with(org, first_name="Ada", last_name="Lovelace")
    due = timezone.now().replace(second=0, microsecond=0) + timedelta(days=2)
    data = form(
        title="Send the quote",
        description="With the **discount**",
        due_at=local(due),
        remind_at=local(due - timedelta(hours=1)),
        priority="high",
        assignee=grace.user_id,
        contact=f"Ada Lovelace (#{ada.pk})",
        company="acme corp",
        next=f"/contacts/{ada.pk}/",
    )
    resp = web(admin).post("/tasks/new/", data)
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{ada.pk}/"
    task = Task.objects.get()
    assert (task.title, task.description, task.priority, task.status) == (
        "Send the quote",
        "With the **discount**",
        "high",
        "open",
    )
    assert task.due_at == due and task.remind_at == due - timedelta(hours=1)
    assert (task.owner_id, task.contact_id, task.company_id) == (grace.user_id, ada.pk, acme.pk)
    assert Notification.objects.filter(user=grace.user, kind="assigned").count() == 1


def test_a_contact_is_found_by_its_exact_name_or_email(web, admin, org):
    ada = contact_with(org, email="ada@example.org", first_name="Ada", last_name="Lovelace")
    client = web(admin)
    assert client.post("/tasks/new/", form(title="By name", contact="ada lovelace")).status_code == 302
    assert client.post("/tasks/new/", form(title="By email", contact="ADA@example.org")).status_code == 302
    assert set(Task.objects.values_list("contact_id", flat=True)) == {ada.pk}


def test_the_quick_add_of_my_day_goes_back_home(web, admin):
    resp = web(admin).post("/tasks/new/", {"title": "Quick one", "due_at": "2030-01-01T10:00", "next": "/#my-day"})
    assert resp.status_code == 302 and resp["Location"] == "/#my-day"
    task = Task.objects.get()
    assert task.owner_id == admin.user_id and task.priority == "normal" and task.status == "open"


def test_next_must_be_a_path_of_this_site(web, admin):
    resp = web(admin).post("/tasks/new/", form(next="https://evil.example/"))
    assert resp.status_code == 302 and resp["Location"] == "/tasks/"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"due_at": "next tuesday"}, "due_at", "Enter a valid date/time."),
        ({"remind_at": "2030-13-45T10:00"}, "remind_at", "Enter a valid date/time."),
        ({"due_at": "2200-01-01T10:00"}, "due_at", "Enter a date between 1900 and ten years from now."),
        ({"priority": "urgent"}, "priority", "Select a valid choice."),
        ({"status": "maybe"}, "status", "Select a valid choice."),
        ({"assignee": "999999"}, "assignee", "Select a valid choice."),
        ({"contact": "Nobody Here"}, "contact", "No contact is called “Nobody Here”"),
        ({"contact": "Someone (#999999)"}, "contact", "No contact has the number 999999."),
        ({"company": "Unknown Inc"}, "company", "No company is named “Unknown Inc”."),
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_is_saved(web, admin, values, field, message):
    resp = web(admin).post("/tasks/new/", form(**values))
    html = resp.content.decode()
    assert resp.status_code == 422
    error = html.split(f'id="id_{field}_error"', 1)[1].split("</div>", 1)[0]
    assert message in error.replace("&#x27;", "'").replace("&quot;", '"')
    assert not Task.objects.exists()


def test_two_contacts_of_one_name_ask_which_one(web, admin, org):
    first = contact_with(org, first_name="Ada", last_name="Lovelace")
    contact_with(org, first_name="Ada", last_name="Lovelace")
    resp = web(admin).post("/tasks/new/", form(contact="Ada Lovelace"))
    assert resp.status_code == 422 and f"Ada Lovelace (#{first.pk})" in resp.content.decode()
    assert not Task.objects.exists()


def test_a_contact_or_company_of_another_workspace_cannot_be_linked(web, admin, other_org):
    theirs = contact_with(other_org, first_name="Ada", last_name="Lovelace")
    CompanyFactory.create(org=other_org, name="Globex")
    client = web(admin)
    assert client.post("/tasks/new/", form(contact=f"Ada Lovelace (#{theirs.pk})")).status_code == 422
    assert client.post("/tasks/new/", form(company="Globex")).status_code == 422
    assert not Task.objects.exists()


def test_a_viewer_may_not_add_tasks(web, member_of):
    viewer = member_of(Role.VIEWER)
    client = web(viewer)
    assert client.get("/tasks/new/").status_code == 403
    assert client.post("/tasks/new/", form()).status_code == 403
    assert not Task.objects.exists()


def test_a_reminder_in_the_past_fires_once_and_rings_the_bell(web, admin):
    client = web(admin)
    past = timezone.now() - timedelta(minutes=5)
    assert client.post("/tasks/new/", form(title="Call back", remind_at=local(past))).status_code == 302
    assert reminders_fire() == 1 and reminders_fire() == 0
    html = client.get("/").content.decode()
    assert 'data-unread="1"' in html and "Reminder: Call back" in html


# --- detail, edit -----------------------------------------------------------------------------


def test_the_task_page_shows_every_field(web, admin, org):
    ada = contact_with(org, first_name="Ada", last_name="Lovelace")
    task = make(admin, "Send the quote", description="Line one\nLine <two>", contact_id=ada.pk, priority="high")
    html = web(admin).get(f"/tasks/{task.pk}/").content.decode()
    assert "<h1>Send the quote</h1>" in html and "Line one<br>Line &lt;two&gt;" in html
    assert f'href="/contacts/{ada.pk}/">Ada Lovelace</a>' in html and "badge-high" in html
    for action in ("edit/", "delete/", "done/"):
        assert f"/tasks/{task.pk}/{action}" in html


def test_edit_changes_every_field_and_records_one_event(web, admin, member_of, org):
    grace = member_of(Role.SALES)
    acme = CompanyFactory.create(org=org, name="Acme Corp")
    ada = contact_with(org, first_name="Ada", last_name="Lovelace")
    task = make(admin, "Old", contact_id=ada.pk)
    client = web(admin)
    html = client.get(f"/tasks/{task.pk}/edit/").content.decode()
    assert 'value="Old"' in html and f'value="Ada Lovelace (#{ada.pk})"' in html
    due = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    data = form(
        title="New",
        description="Why",
        due_at=local(due),
        remind_at=local(due),
        priority="low",
        status="done",
        assignee=grace.user_id,
        contact="",
        company="Acme Corp",
        version=task.version,
    )
    resp = client.post(f"/tasks/{task.pk}/edit/", data)
    assert resp.status_code == 302 and resp["Location"] == f"/tasks/{task.pk}/"
    task.refresh_from_db()
    assert (task.title, task.description, task.priority, task.status) == ("New", "Why", "low", "done")
    assert task.due_at == due and task.remind_at == due and task.completed_at is not None
    assert (task.owner_id, task.contact_id, task.company_id) == (grace.user_id, None, acme.pk)
    assert Event.objects.filter(verb="task.updated").count() == 1


def test_saving_an_untouched_form_keeps_a_fired_reminder_and_a_hidden_link(web, admin, member_of, org):
    remind = timezone.now() - timedelta(minutes=3, seconds=17)
    ada = contact_with(org, first_name="Ada")
    task = make(admin, "Keep", remind_at=remind, contact_id=ada.pk)
    reminders_fire()
    ada.deleted_at = timezone.now()  # a trashed contact: not offered in the form, but the link stays
    ada.save(update_fields=["deleted_at"])
    task.refresh_from_db()
    fired = task.reminded_at
    client = web(admin)
    data = form(title="Keep", remind_at=local(remind), assignee=admin.user_id, version=task.version)
    assert client.post(f"/tasks/{task.pk}/edit/", data).status_code == 302
    task.refresh_from_db()
    assert task.remind_at == remind and task.reminded_at == fired and task.contact_id == ada.pk
    assert reminders_fire() == 0


def test_a_stale_edit_is_refused_and_changes_nothing(web, admin):
    task = make(admin, "Original")
    version = task.version
    task_complete(actor=admin, task=task)
    resp = web(admin).post(f"/tasks/{task.pk}/edit/", form(title="Mine", version=version))
    assert resp.status_code == 409 and "Someone else changed this task" in resp.content.decode()
    assert Task.objects.get(pk=task.pk).title == "Original"


def test_bad_input_on_edit_changes_nothing(web, admin):
    task = make(admin, "Original")
    resp = web(admin).post(f"/tasks/{task.pk}/edit/", form(title="", due_at="soon", version=task.version))
    assert resp.status_code == 422
    html = resp.content.decode()
    assert 'id="id_title_error"' in html and 'id="id_due_at_error"' in html
    assert Task.objects.get(pk=task.pk).title == "Original"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SALES])
def test_a_member_who_may_read_but_not_change_gets_403_everywhere(web, admin, member_of, role):
    task = make(admin, "Admin's")
    client = web(member_of(role))
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    assert "Your role does not let you change this task." in client.get(f"/tasks/{task.pk}/").content.decode()
    assert client.get(f"/tasks/{task.pk}/edit/").status_code == 403
    assert client.post(f"/tasks/{task.pk}/edit/", form(title="Taken", version=task.version)).status_code == 403
    assert client.get(f"/tasks/{task.pk}/delete/").status_code == 403
    assert client.post(f"/tasks/{task.pk}/delete/").status_code == 403
    assert client.post(f"/tasks/{task.pk}/done/").status_code == 403
    assert client.post(f"/tasks/{task.pk}/reopen/").status_code == 403
    task.refresh_from_db()
    assert (task.title, task.status, task.deleted_at) == ("Admin's", "open", None)


def test_another_workspaces_task_is_not_found_anywhere(web, admin, other_admin):
    theirs = make(other_admin, "Theirs")
    client = web(admin)
    for path in ("", "edit/", "delete/"):
        assert client.get(f"/tasks/{theirs.pk}/{path}").status_code == 404
    for path in ("edit/", "delete/", "done/", "reopen/"):
        assert client.post(f"/tasks/{theirs.pk}/{path}", form(version=theirs.version)).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.title, theirs.status, theirs.deleted_at) == ("Theirs", "open", None)
    assert client.get("/tasks/999999/").status_code == 404


# --- delete, done, reopen ---------------------------------------------------------------------


def test_delete_asks_first_then_moves_the_task_to_the_trash(web, admin):
    task = make(admin, "Obsolete")
    client = web(admin)
    html = client.get(f"/tasks/{task.pk}/delete/").content.decode()
    assert "Delete “Obsolete”?" in html and Task.objects.get(pk=task.pk).deleted_at is None
    resp = client.post(f"/tasks/{task.pk}/delete/")
    assert resp.status_code == 302 and resp["Location"] == "/tasks/"
    assert Task.objects.get(pk=task.pk).deleted_at is not None
    assert client.get(f"/tasks/{task.pk}/").status_code == 404
    assert Event.objects.filter(verb="task.trashed").count() == 1


def test_done_and_reopen_go_back_where_they_were_asked(web, admin):
    task = make(admin, "Tick me")
    client = web(admin)
    resp = client.post(f"/tasks/{task.pk}/done/", {"next": "/tasks/?status=open"})
    assert resp["Location"] == "/tasks/?status=open" and Task.objects.get(pk=task.pk).status == "done"
    resp = client.post(f"/tasks/{task.pk}/reopen/", {"next": "//evil.example/"})
    assert resp["Location"] == f"/tasks/{task.pk}/" and Task.objects.get(pk=task.pk).status == "open"
    assert Task.objects.get(pk=task.pk).completed_at is None


def test_done_and_reopen_take_posts_only(web, admin):
    task = make(admin, "Tick me")
    client = web(admin)
    assert client.get(f"/tasks/{task.pk}/done/").status_code == 405
    assert client.get(f"/tasks/{task.pk}/reopen/").status_code == 405
    assert Task.objects.get(pk=task.pk).status == "open"


# --- contact suggestions ----------------------------------------------------------------------


def test_contact_suggestions_offer_visible_contacts_with_their_number(web, admin, other_admin):
    ada = contact_services.contact_create(actor=admin, data={"first_name": "Ada", "last_name": "Lovelace"})
    contact_services.contact_create(actor=other_admin, data={"first_name": "Ada", "last_name": "Other"})
    html = web(admin).get("/tasks/contacts/suggest/?field=contact&contact=ada").content.decode()
    assert f'<option value="Ada Lovelace (#{ada.pk})">' in html and "Other" not in html
    assert "<html" not in html
    assert web(admin).get("/tasks/contacts/suggest/?q=").content.decode().strip() == ""
