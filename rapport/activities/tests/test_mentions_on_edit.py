"""Editing an activity's body notifies the members it newly mentions, not those mentioned before."""

from __future__ import annotations

from typing import Any

from rapport.accounts.roles import Role
from rapport.activities import services
from rapport.activities.models import Notification
from rapport.activities.tests.conftest import log


def _mentioned() -> list[int]:
    return sorted(Notification.objects.filter(kind="mentioned").values_list("user_id", flat=True))


def _edit(actor: Any, activity: Any, **data: Any) -> Any:
    return services.activity_update(actor=actor, activity=activity, data=data, expected_version=None)


def test_an_edit_notifies_only_the_newly_mentioned_members(admin, member_of):
    grace, alan = member_of(Role.SALES), member_of(Role.SUPPORT)
    note = log(admin, body=f"Ask @{grace.user.email}")
    assert _mentioned() == [grace.user_id]
    _edit(admin, note, body=f"Ask @{grace.user.email} and @{alan.user.email}")
    assert _mentioned() == sorted([grace.user_id, alan.user_id])  # Grace once, Alan now


def test_an_edit_that_leaves_the_mentions_alone_notifies_nobody(admin, member_of):
    grace = member_of(Role.SALES)
    note = log(admin, body=f"Ask @{grace.user.email}")
    _edit(admin, note, body=f"Ask @{grace.user.email} today", subject="Renewal")
    _edit(admin, note, subject="Renewal call")
    assert _mentioned() == [grace.user_id]


def test_an_edit_by_the_mentioned_member_does_not_notify_them(admin, member_of):
    manager = member_of(Role.MANAGER)  # may change anyone's activity
    note = log(admin, body="Plain text")
    _edit(manager, note, body=f"Note to self @{manager.user.email}")
    assert _mentioned() == []


def test_the_edit_page_notifies_a_newly_mentioned_member(web, admin, member_of):
    grace = member_of(Role.SALES)
    note = log(admin, body="Plain text")
    resp = web(admin).post(
        f"/activities/{note.pk}/edit/",
        {"subject": "", "when": "2026-01-05T10:00", "body": f"cc @{grace.user.email}", "version": note.version},
    )
    assert resp.status_code == 302
    notification = Notification.objects.get(kind="mentioned")
    assert notification.user_id == grace.user_id and notification.org_id == admin.org_id


def test_a_refused_edit_notifies_nobody(api, admin, member_of):
    grace = member_of(Role.SALES)
    note = log(admin, body="Plain text")
    resp = api(admin).patch(
        f"/api/v1/activities/{note.pk}", {"body": f"cc @{grace.user.email}", "kind": "bogus"}, **{"If-Match": '"v1"'}
    )
    assert resp.status_code == 422 and _mentioned() == []
