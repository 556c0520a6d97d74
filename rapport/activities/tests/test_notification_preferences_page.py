"""The email preferences form on the notifications page (/notifications/)."""

from __future__ import annotations

from rapport.accounts.roles import Role
from rapport.activities import notifications
from rapport.activities.models import NotificationPreference


def _pref(principal):
    return NotificationPreference.objects.get(user_id=principal.user_id)


def test_the_page_shows_the_three_checkboxes_with_the_defaults(web, admin):
    html = web(admin).get("/notifications/").content.decode()
    assert 'name="preferences"' in html and "csrfmiddlewaretoken" in html
    assert '<input type="checkbox" name="email_reminders" id="id_email_reminders" checked>' in html
    assert '<input type="checkbox" name="email_mentions" id="id_email_mentions">' in html
    assert '<input type="checkbox" name="email_assignments" id="id_email_assignments">' in html


def test_saving_changes_only_the_actors_preference(web, admin, member_of):
    other = member_of(Role.SALES)
    notifications.preference_update(actor=other, data={"email_reminders": False, "email_mentions": True})
    resp = web(admin).post("/notifications/", {"preferences": "1", "email_mentions": "on", "email_assignments": "on"})
    assert resp.status_code == 302 and resp["Location"] == "/notifications/"
    pref = _pref(admin)
    assert (pref.email_reminders, pref.email_mentions, pref.email_assignments) == (False, True, True)
    theirs = _pref(other)
    assert (theirs.email_reminders, theirs.email_mentions, theirs.email_assignments) == (False, True, False)
    html = web(admin).get("/notifications/").content.decode()
    assert '<input type="checkbox" name="email_mentions" id="id_email_mentions" checked>' in html


def test_the_mark_read_posts_still_work_alongside(web, admin):
    assert web(admin).post("/notifications/", {"read": "all"}).status_code == 302
    assert not NotificationPreference.objects.filter(user_id=admin.user_id).exists()


def test_anonymous_is_sent_to_login_and_nothing_is_saved(client, db):
    resp = client.post("/notifications/", {"preferences": "1"})
    assert resp.status_code == 302 and "login" in resp["Location"]
    assert not NotificationPreference.objects.exists()
