"""Inviting people from the members page and accepting the emailed link."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts import services
from rapport.accounts.models import Invitation, Membership, User
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import PASSWORD

LINK = re.compile(r"https?://\S+/invitation/[^/\s]+/")
NEW_PASSWORD = "welcome-aboard-long-passphrase"


def _invite(client: Client, email: str, role: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post("/settings/members/", {"email": email, "role": role})


def _link_path(smtp, email: str) -> str:
    bodies = smtp.bodies_to(email)
    assert len(bodies) == 1
    match = LINK.search(bodies[0])
    assert match, bodies[0]
    return urlsplit(match.group(0)).path


def _issued_link(admin: Principal, email: str, role: Role = Role.SALES) -> tuple[Invitation, str]:
    """An invitation and its link path, made the way the mailing task makes them (no email)."""
    invitation = services.invitation_create(actor=admin, email=email, role=role)
    issued = services.invitation_issue_link(invitation_id=invitation.pk)
    assert issued is not None
    return issued[0], f"/invitation/{issued[1]}/"


@pytest.fixture
def invited_email() -> str:
    return "newcomer@example.org"


def test_admin_invites_and_the_email_arrives_with_a_link(
    web, admin, smtp, invited_email, django_capture_on_commit_callbacks
):
    resp = _invite(web(admin), invited_email, Role.SUPPORT, django_capture_on_commit_callbacks)
    assert resp.status_code == 302 and resp.url == "/settings/members/"
    assert len(smtp.messages) == 1
    body = smtp.bodies_to(invited_email)[0]
    assert admin.org.name in body
    assert _link_path(smtp, invited_email).startswith("/invitation/")
    invitation = Invitation.objects.get(org_id=admin.org_id, email=invited_email)
    assert invitation.role == Role.SUPPORT
    assert Event.objects.filter(verb="invitation.sent", subject_id=invitation.pk).count() == 1
    page = web(admin).get("/settings/members/")
    assert invited_email in page.content.decode()


def test_new_user_accepts_with_name_and_password_and_is_logged_in(
    web, admin, smtp, invited_email, django_capture_on_commit_callbacks
):
    _invite(web(admin), invited_email, Role.MARKETING, django_capture_on_commit_callbacks)
    path = _link_path(smtp, invited_email)
    guest = Client()

    page = guest.get(path)
    assert page.status_code == 200
    assert admin.org.name in page.content.decode()

    resp = guest.post(path, {"name": "Nina Newcomer", "password": NEW_PASSWORD})

    assert resp.status_code == 302 and resp["Location"] == "/"
    user = User.objects.get(email=invited_email)
    assert user.name == "Nina Newcomer"
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.get(org_id=admin.org_id, user=user)
    assert membership.role == Role.MARKETING and membership.is_active
    invitation = Invitation.objects.get(org_id=admin.org_id, email=invited_email)
    assert invitation.accepted_at is not None
    event = Event.objects.get(verb="invitation.accepted")
    assert event.org_id == admin.org_id and event.subject_id == invitation.pk and event.actor_id == user.pk
    assert int(guest.session["_auth_user_id"]) == user.pk
    home = guest.get("/")
    assert home.status_code == 200
    body = home.content.decode()
    assert admin.org.name in body and "Marketing" in body


def test_accepting_with_a_weak_password_is_refused_and_creates_nobody(admin, invited_email):
    _, path = _issued_link(admin, invited_email)
    guest = Client()
    resp = guest.post(path, {"name": "Nina", "password": "short"})
    assert resp.status_code == 422
    assert "too short" in resp.content.decode()
    assert not User.objects.filter(email=invited_email).exists()
    assert Invitation.objects.get(email=invited_email).accepted_at is None
    assert "_auth_user_id" not in guest.session


def test_accepting_without_a_name_is_refused(admin, invited_email):
    _, path = _issued_link(admin, invited_email)
    resp = Client().post(path, {"name": "", "password": NEW_PASSWORD})
    assert resp.status_code == 400
    assert not User.objects.filter(email=invited_email).exists()


def test_existing_user_must_log_in_to_accept(admin, other_admin):
    existing = other_admin.user
    _, path = _issued_link(admin, existing.email, Role.VIEWER)
    guest = Client()

    resp = guest.post(path, {"name": "Impostor", "password": NEW_PASSWORD})

    assert resp.status_code == 302
    assert resp["Location"] == f"/login/?next={path}"
    assert not Membership.objects.filter(org_id=admin.org_id, user=existing).exists()
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD)

    login = guest.post(resp["Location"], {"email": existing.email, "password": PASSWORD})
    assert login.status_code == 302 and login["Location"] == path
    assert "logged in as" in guest.get(path).content.decode()
    accepted = guest.post(path)
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    membership = Membership.objects.get(org_id=admin.org_id, user=existing)
    assert membership.role == Role.VIEWER
    assert guest.session["rapport_org_id"] == admin.org_id
    assert Event.objects.filter(verb="invitation.accepted", org_id=admin.org_id).count() == 1


def test_logged_in_user_with_another_email_cannot_take_the_invitation(admin, member_of, invited_email):
    _, path = _issued_link(admin, invited_email)
    stranger = User.objects.create_user(email="stranger@example.org", password=PASSWORD)
    client = Client()
    client.force_login(stranger, backend="django.contrib.auth.backends.ModelBackend")
    resp = client.post(path)
    assert resp.status_code == 403
    assert f"This invitation is for {invited_email}" in resp.content.decode()
    assert not Membership.objects.filter(org_id=admin.org_id, user=stranger).exists()
    assert Invitation.objects.get(email=invited_email).accepted_at is None


def test_expired_link_shows_the_404_page(admin, invited_email):
    invitation, path = _issued_link(admin, invited_email)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    guest = Client()
    assert guest.get(path).status_code == 404
    resp = guest.post(path, {"name": "Late", "password": NEW_PASSWORD})
    assert resp.status_code == 404
    assert "Invitation not valid" in resp.content.decode()
    assert not User.objects.filter(email=invited_email).exists()


def test_revoked_link_shows_the_404_page(web, admin, invited_email):
    invitation, path = _issued_link(admin, invited_email)
    assert web(admin).post(f"/settings/invitations/{invitation.pk}/revoke/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    guest = Client()
    resp = guest.post(path, {"name": "Too late", "password": NEW_PASSWORD})
    assert resp.status_code == 404
    assert not User.objects.filter(email=invited_email).exists()


def test_used_link_shows_the_404_page(admin, invited_email):
    _, path = _issued_link(admin, invited_email)
    assert Client().post(path, {"name": "First", "password": NEW_PASSWORD}).status_code == 302

    resp = Client().get(path)
    assert resp.status_code == 404
    assert "Invitation not valid" in resp.content.decode()
    assert Membership.objects.filter(org_id=admin.org_id, user__email=invited_email).count() == 1


def test_unknown_link_shows_the_404_page(db):
    resp = Client().get("/invitation/not-a-real-secret/")
    assert resp.status_code == 404


def test_a_new_invitation_replaces_the_open_one(web, admin, smtp, invited_email, django_capture_on_commit_callbacks):
    client = web(admin)
    _invite(client, invited_email, Role.SALES, django_capture_on_commit_callbacks)
    first = _link_path(smtp, invited_email)
    smtp.messages.clear()
    _invite(client, invited_email, Role.SUPPORT, django_capture_on_commit_callbacks)
    second = _link_path(smtp, invited_email)
    assert Client().get(first).status_code == 404
    assert Client().post(second, {"name": "Nina", "password": NEW_PASSWORD}).status_code == 302
    assert Membership.objects.get(org_id=admin.org_id, user__email=invited_email).role == Role.SUPPORT


def test_inviting_an_existing_member_is_refused(web, admin, member_of, smtp, django_capture_on_commit_callbacks):
    member = member_of(Role.SALES)
    resp = _invite(web(admin), member.user.email, Role.VIEWER, django_capture_on_commit_callbacks)
    assert resp.status_code == 400
    assert "already a member" in resp.content.decode()
    assert not Invitation.objects.filter(email=member.user.email).exists()
    assert smtp.messages == []


def test_inviting_with_an_invalid_email_is_refused(web, admin, smtp, django_capture_on_commit_callbacks):
    resp = _invite(web(admin), "not-an-email", Role.SALES, django_capture_on_commit_callbacks)
    assert resp.status_code == 400
    assert not Invitation.objects.exists()
    assert smtp.messages == []


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.SUPPORT, Role.MARKETING, Role.VIEWER])
def test_non_admin_gets_403_on_the_members_page_and_cannot_invite(
    web, member_of, role, smtp, django_capture_on_commit_callbacks
):
    principal = member_of(role)
    client = web(principal)
    assert client.get("/settings/members/").status_code == 403
    resp = _invite(client, "someone@example.org", Role.ADMIN, django_capture_on_commit_callbacks)
    assert resp.status_code == 403
    assert not Invitation.objects.exists()
    assert smtp.messages == []


def test_non_admin_cannot_revoke_an_invitation(web, admin, member_of, invited_email):
    invitation, _ = _issued_link(admin, invited_email)
    resp = web(member_of(Role.MANAGER)).post(f"/settings/invitations/{invitation.pk}/revoke/")
    assert resp.status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
