"""Deleting an activity from its page asks for confirmation first (GET), then trashes it (POST)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rapport.accounts.roles import Role
from rapport.activities.models import Activity
from rapport.activities.tests.conftest import log
from rapport.core.models import Event

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _call(actor: Any, contact: Any, **data: Any) -> Activity:
    return log(actor, kind="call", occurred_at=T0, participants=[{"contact_id": contact.pk}], **data)


def test_the_detail_page_links_delete_to_the_confirmation_page(web, admin, ada):
    call = _call(admin, ada, subject="Pitch")
    html = web(admin).get(f"/activities/{call.pk}/").content.decode()
    assert f'href="/activities/{call.pk}/delete/"' in html


def test_get_shows_the_confirmation_and_changes_nothing(web, admin, ada):
    call = _call(admin, ada, subject="Pitch")
    resp = web(admin).get(f"/activities/{call.pk}/delete/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert f'<form method="post" action="/activities/{call.pk}/delete/"' in html
    assert "csrfmiddlewaretoken" in html and "Pitch" in html
    call.refresh_from_db()
    assert (call.deleted_at, call.version) == (None, 1)
    assert not Event.objects.filter(verb="activity.trashed").exists()


def test_post_trashes_it(web, admin, ada):
    call = _call(admin, ada)
    resp = web(admin).post(f"/activities/{call.pk}/delete/")
    assert resp.status_code == 302 and resp["Location"] == "/activities/"
    assert Activity.objects.get(pk=call.pk).deleted_at is not None


def test_a_viewer_gets_403_on_get_and_post_and_nothing_changes(web, admin, member_of, ada):
    call = _call(admin, ada, subject="Keep")
    client = web(member_of(Role.VIEWER))
    assert client.get(f"/activities/{call.pk}/delete/").status_code == 403
    assert client.post(f"/activities/{call.pk}/delete/").status_code == 403
    call.refresh_from_db()
    assert (call.subject, call.deleted_at, call.version) == ("Keep", None, 1)
    assert not Event.objects.filter(verb="activity.trashed").exists()


def test_anonymous_is_sent_to_login(client, admin, ada):
    call = _call(admin, ada)
    resp = client.get(f"/activities/{call.pk}/delete/")
    assert resp.status_code == 302 and "login" in resp["Location"]
