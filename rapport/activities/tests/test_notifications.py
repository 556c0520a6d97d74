"""Notifications: mentions, reminders (once, at the right time, emailed by preference), the API."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import task_services
from rapport.activities.models import Notification, NotificationPreference, Task
from rapport.activities.notifications import mentioned_user_ids, notify
from rapport.activities.tasks import fire_reminders
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import api_error


def _named(principal, name):
    principal.user.name = name
    principal.user.save()
    return principal


def test_a_mention_by_email_or_full_name_notifies_that_member_only(admin, member_of, other_admin):
    grace = _named(member_of(Role.SALES), "Grace Hopper")
    alan = _named(member_of(Role.SUPPORT), "Alan Turing")
    _named(other_admin, "Grace Hopper")  # same name in another workspace: not matched
    log(admin, body=f"Ask @grace hopper and @{alan.user.email}, not @Alan Turingford or @{admin.user.email}.")
    got = sorted(Notification.objects.values_list("user_id", "kind"))
    assert got == sorted([(grace.user_id, "mentioned"), (alan.user_id, "mentioned")])


def test_no_at_sign_no_mention(admin, member_of):
    _named(member_of(Role.SALES), "Grace Hopper")
    assert mentioned_user_ids(org_id=admin.org_id, body="Grace Hopper said hi, mail grace@x.org") == []


def test_a_due_reminder_fires_exactly_once_and_not_before_its_time(admin, member_of):
    rep = member_of(Role.SALES)
    task = task_services.task_create(
        actor=admin,
        data={"title": "Send quote", "owner_id": rep.user_id, "remind_at": timezone.now() + timedelta(hours=1)},
    )
    Notification.objects.all().delete()  # the "assigned" one
    fire_reminders.call_local()
    assert not Notification.objects.exists()  # not yet
    Task.objects.filter(pk=task.pk).update(remind_at=timezone.now() - timedelta(minutes=1))  # time passes
    fire_reminders.call_local()
    fire_reminders.call_local()  # a retry, or a second worker
    notes = list(Notification.objects.all())
    assert len(notes) == 1 and notes[0].user_id == rep.user_id and notes[0].kind == "reminder"
    assert Task.objects.get(pk=task.pk).reminded_at is not None


def test_a_done_task_is_not_reminded(admin):
    task = task_services.task_create(actor=admin, data={"title": "Old", "remind_at": timezone.now() - timedelta(1)})
    task_services.task_complete(actor=admin, task=task)
    fire_reminders.call_local()
    assert not Notification.objects.exists()


def test_the_reminder_email_arrives_when_the_preference_is_on(admin, smtp, django_capture_on_commit_callbacks):
    task_services.task_create(actor=admin, data={"title": "Renew Acme", "remind_at": timezone.now() - timedelta(1)})
    with django_capture_on_commit_callbacks(execute=True):
        fire_reminders.call_local()
    bodies = smtp.bodies_to(admin.user.email)
    assert len(bodies) == 1 and "Renew Acme" in bodies[0]


def test_no_reminder_email_when_the_preference_is_off(admin, smtp, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=admin.user, email_reminders=False)
    task_services.task_create(actor=admin, data={"title": "Quiet", "remind_at": timezone.now() - timedelta(1)})
    with django_capture_on_commit_callbacks(execute=True):
        fire_reminders.call_local()
    assert Notification.objects.filter(kind="reminder").count() == 1
    assert smtp.messages == []


def test_the_api_lists_filters_and_marks_only_my_notifications(api, admin, member_of):
    rep = member_of(Role.SALES)
    mine = [notify(org_id=admin.org_id, user_id=admin.user_id, kind="reminder", title=f"N{i}") for i in range(3)]
    theirs = notify(org_id=admin.org_id, user_id=rep.user_id, kind="reminder", title="Theirs")
    client = api(admin)
    items = client.get("/api/v1/notifications").json()["items"]
    assert [n["id"] for n in items] == [n.pk for n in reversed(mine)]
    resp = client.post(f"/api/v1/notifications/{mine[0].pk}/read")
    assert resp.status_code == 200 and resp.json()["read_at"]
    assert len(client.get("/api/v1/notifications?unread=true").json()["items"]) == 2
    api_error(client.post(f"/api/v1/notifications/{theirs.pk}/read"), 404)
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 2}
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_email_preferences_are_read_and_changed_through_the_api(api, admin):
    client = api(admin)
    assert client.get("/api/v1/notifications/preferences").json() == {
        "email_reminders": True,
        "email_mentions": False,
        "email_assignments": False,
    }
    resp = client.patch("/api/v1/notifications/preferences", {"email_reminders": False, "email_mentions": True})
    assert resp.status_code == 200 and resp.json()["email_mentions"] is True
    pref = NotificationPreference.objects.get(user=admin.user)
    assert not pref.email_reminders and pref.email_mentions and not pref.email_assignments


def test_a_mention_is_emailed_when_the_member_asked_for_it(admin, member_of, smtp, django_capture_on_commit_callbacks):
    grace = _named(member_of(Role.SALES), "Grace Hopper")
    NotificationPreference.objects.create(user=grace.user, email_mentions=True)
    with django_capture_on_commit_callbacks(execute=True):
        log(admin, body="Over to @Grace Hopper.")
    assert len(smtp.bodies_to(grace.user.email)) == 1
