"""Password reset by email link, delivered to a real SMTP server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from rapport.accounts.models import User
from rapport.accounts.roles import Role
from rapport.core.principal import Principal
from rapport.testing.factories import PASSWORD

NEW_PASSWORD = "a-brand-new-long-passphrase"
LINK = re.compile(r"https?://\S+/password/reset/[^/\s]+/[^/\s]+/")


@pytest.fixture
def member(member_of) -> Principal:
    return member_of(Role.SALES)


def _request_reset(client: Client, email: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post("/password/reset/", {"email": email})


def _reset_path(smtp, email: str) -> str:
    bodies = smtp.bodies_to(email)
    assert len(bodies) == 1
    match = LINK.search(bodies[0])
    assert match, bodies[0]
    return urlsplit(match.group(0)).path


def _without_csrf(html: str) -> str:
    return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", html)


def test_reset_request_sends_one_email_with_a_link(client, member, smtp, django_capture_on_commit_callbacks):
    resp = _request_reset(client, member.user.email, django_capture_on_commit_callbacks)
    assert resp.status_code == 200
    assert "Check your email" in resp.content.decode()
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == member.user.email
    assert "/password/reset/" in _reset_path(smtp, member.user.email)


def test_reset_email_is_sent_only_after_the_request_commits(client, member, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/password/reset/", {"email": member.user.email})
    assert smtp.messages == []
    assert len(callbacks) == 1


def test_following_the_link_sets_a_new_password(client, member, smtp, django_capture_on_commit_callbacks):
    _request_reset(client, member.user.email, django_capture_on_commit_callbacks)
    path = _reset_path(smtp, member.user.email)

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]

    resp = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert resp.status_code == 302
    assert resp.url == "/login/"
    user = User.objects.get(pk=member.user_id)
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)

    fresh = Client()
    login = fresh.post("/login/", {"email": member.user.email, "password": NEW_PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/"


@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("38472910563", "entirely numeric"),
    ],
)
def test_a_weak_new_password_is_refused(client, member, smtp, django_capture_on_commit_callbacks, weak, reason):
    _request_reset(client, member.user.email, django_capture_on_commit_callbacks)
    form_page = client.get(_reset_path(smtp, member.user.email), follow=True)
    set_url = form_page.redirect_chain[-1][0]

    resp = client.post(set_url, {"new_password1": weak, "new_password2": weak})

    assert resp.status_code == 200
    assert reason in resp.content.decode()
    user = User.objects.get(pk=member.user_id)
    assert user.check_password(PASSWORD)
    assert not user.check_password(weak)


def test_a_password_like_the_email_is_refused(client, member, smtp, django_capture_on_commit_callbacks):
    _request_reset(client, member.user.email, django_capture_on_commit_callbacks)
    form_page = client.get(_reset_path(smtp, member.user.email), follow=True)
    set_url = form_page.redirect_chain[-1][0]
    similar = member.user.email

    resp = client.post(set_url, {"new_password1": similar, "new_password2": similar})

    assert resp.status_code == 200
    assert "too similar" in resp.content.decode()
    assert User.objects.get(pk=member.user_id).check_password(PASSWORD)


def test_the_link_works_only_once(client, member, smtp, django_capture_on_commit_callbacks):
    _request_reset(client, member.user.email, django_capture_on_commit_callbacks)
    path = _reset_path(smtp, member.user.email)
    set_url = client.get(path, follow=True).redirect_chain[-1][0]
    assert client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302

    again = Client()
    page = again.get(path, follow=True)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Link expired" in body
    assert 'name="new_password1"' not in body
    other = "yet-another-long-passphrase"
    again.post(
        page.redirect_chain[-1][0] if page.redirect_chain else path, {"new_password1": other, "new_password2": other}
    )
    user = User.objects.get(pk=member.user_id)
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(other)


def test_a_tampered_link_is_refused(client, member, smtp, django_capture_on_commit_callbacks):
    _request_reset(client, member.user.email, django_capture_on_commit_callbacks)
    path = _reset_path(smtp, member.user.email)
    tampered = path[:-3] + ("a" if path[-3] != "a" else "b") + path[-2:]
    page = client.get(tampered, follow=True)
    assert "Link expired" in page.content.decode()


def test_unknown_email_gets_the_same_answer_and_no_email(client, member, smtp, django_capture_on_commit_callbacks):
    unknown = "nobody-here@example.org"
    known_page = _request_reset(Client(), member.user.email, django_capture_on_commit_callbacks)
    smtp.messages.clear()

    unknown_page = _request_reset(client, unknown, django_capture_on_commit_callbacks)

    assert unknown_page.status_code == known_page.status_code == 200
    known_html = _without_csrf(known_page.content.decode()).replace(member.user.email, "EMAIL")
    unknown_html = _without_csrf(unknown_page.content.decode()).replace(unknown, "EMAIL")
    assert unknown_html == known_html
    assert smtp.messages == []


def test_deactivated_user_gets_no_reset_email(client, member, smtp, django_capture_on_commit_callbacks):
    User.objects.filter(pk=member.user_id).update(is_active=False)
    resp = _request_reset(client, member.user.email, django_capture_on_commit_callbacks)
    assert resp.status_code == 200
    assert smtp.messages == []


def test_invalid_email_is_a_form_error_and_sends_nothing(client, db, smtp, django_capture_on_commit_callbacks):
    resp = _request_reset(client, "not-an-email", django_capture_on_commit_callbacks)
    assert resp.status_code == 400
    assert smtp.messages == []
