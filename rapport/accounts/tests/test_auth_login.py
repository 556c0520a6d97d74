"""Logging in and out through the pages: password, `next`, lockout (django-axes), the TOTP step."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.roles import Role
from rapport.core.principal import Principal
from rapport.testing.factories import PASSWORD
from rapport.testing.totp import KNOWN_KEY
from rapport.testing.totp import code as _code
from rapport.testing.totp import wrong_code as _wrong_code


def _logged_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


@pytest.fixture
def member(member_of):
    return member_of(Role.SALES)


@pytest.fixture
def totp_member(member: Principal) -> tuple[Principal, TOTPDevice]:
    device = TOTPDevice.objects.create(user=member.user, name="phone", key=KNOWN_KEY, confirmed=True)
    return member, device


def _login(client: Client, email: str, password: str = PASSWORD, **extra: str):
    return client.post("/login/", {"email": email, "password": password, **extra})


# --- password ------------------------------------------------------------------------------------


def test_login_page_renders_a_form_for_anonymous_visitors(client, db):
    resp = client.get("/login/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert 'name="email"' in body and 'name="password"' in body


def test_login_with_email_and_password_lands_on_home(client, member):
    resp = _login(client, member.user.email)
    assert resp.status_code == 302
    assert resp.url == "/"
    assert _logged_in_user_id(client) == member.user_id
    home = client.get("/")
    assert home.status_code == 200
    assert member.org.name in home.content.decode()


def test_login_email_is_case_insensitive(client, member):
    resp = _login(client, member.user.email.upper())
    assert resp.status_code == 302
    assert _logged_in_user_id(client) == member.user_id


def test_wrong_password_shows_a_form_error_and_does_not_log_in(client, member):
    resp = _login(client, member.user.email, "not-the-password")
    assert resp.status_code == 400
    assert "The email or password is not correct." in resp.content.decode()
    assert _logged_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_error_as_a_wrong_password(client, db):
    resp = _login(client, "nobody@example.org", "whatever-password")
    assert resp.status_code == 400
    assert "The email or password is not correct." in resp.content.decode()
    assert _logged_in_user_id(client) is None


def test_deactivated_user_cannot_log_in(client, member):
    member.user.is_active = False
    member.user.save(update_fields=["is_active"])
    resp = _login(client, member.user.email)
    assert resp.status_code == 400
    assert _logged_in_user_id(client) is None


def test_logged_in_user_visiting_login_is_sent_home(web, member):
    client = web(member)
    resp = client.get("/login/")
    assert resp.status_code == 302 and resp.url == "/"


# --- next ----------------------------------------------------------------------------------------


def test_next_to_a_page_of_this_site_is_honoured(client, member):
    resp = _login(client, member.user.email, next="/settings/tokens/")
    assert resp.status_code == 302
    assert resp.url == "/settings/tokens/"


def test_next_from_the_query_string_is_honoured(client, member):
    resp = client.post("/login/?next=/account/", {"email": member.user.email, "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.url == "/account/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/steal",
        "http://evil.example.com/login/",
        "javascript:alert(1)",
        "https:///evil.example.com",
    ],
)
def test_next_to_another_host_is_refused_and_home_is_used(client, member, target):
    resp = _login(client, member.user.email, next=target)
    assert resp.status_code == 302
    assert resp.url == "/"
    assert _logged_in_user_id(client) == member.user_id


# --- lockout -------------------------------------------------------------------------------------


def test_five_failed_logins_lock_the_account_out_with_a_429_page(client, member, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    statuses = [_login(client, member.user.email, f"wrong-{n}").status_code for n in range(5)]
    assert statuses[:4] == [400, 400, 400, 400]
    assert statuses[4] == 429
    resp = _login(client, member.user.email, "wrong-again")
    assert resp.status_code == 429
    assert "Too many attempts" in resp.content.decode()


def test_locked_out_user_is_refused_even_with_the_right_password(client, member):
    for n in range(5):
        _login(client, member.user.email, f"wrong-{n}")
    resp = _login(client, member.user.email, PASSWORD)
    assert resp.status_code == 429
    assert _logged_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_four_failures_then_the_right_password_still_logs_in(client, member):
    for n in range(4):
        assert _login(client, member.user.email, f"wrong-{n}").status_code == 400
    resp = _login(client, member.user.email, PASSWORD)
    assert resp.status_code == 302
    assert _logged_in_user_id(client) == member.user_id


def test_lockout_of_one_account_does_not_lock_another(client, member, member_of):
    other = member_of(Role.SALES)
    for n in range(5):
        _login(client, member.user.email, f"wrong-{n}")
    resp = _login(client, other.user.email, PASSWORD)
    assert resp.status_code == 302
    assert _logged_in_user_id(client) == other.user_id


# --- logout --------------------------------------------------------------------------------------


def test_logout_by_post_logs_out(web, member):
    client = web(member)
    resp = client.post("/logout/")
    assert resp.status_code == 302
    assert resp.url == "/login/"
    assert _logged_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_logout_by_get_is_refused_and_keeps_the_session(web, member):
    client = web(member)
    resp = client.get("/logout/")
    assert resp.status_code == 405
    assert _logged_in_user_id(client) == member.user_id
    assert client.get("/").status_code == 200


def test_logout_requires_the_csrf_token(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user, backend="django.contrib.auth.backends.ModelBackend")
    resp = client.post("/logout/")
    assert resp.status_code == 403
    assert _logged_in_user_id(client) == member.user_id


# --- TOTP step -----------------------------------------------------------------------------------


def test_user_with_2fa_is_asked_for_a_code_and_not_yet_logged_in(client, totp_member):
    member, _ = totp_member
    resp = _login(client, member.user.email)
    assert resp.status_code == 302
    assert resp.url == "/login/code/"
    assert _logged_in_user_id(client) is None
    assert client.get("/").status_code == 302
    assert client.get("/login/code/").status_code == 200


def test_valid_totp_code_completes_the_login(client, totp_member):
    member, device = totp_member
    _login(client, member.user.email, next="/account/")
    resp = client.post("/login/code/", {"code": _code(device)})
    assert resp.status_code == 302
    assert resp.url == "/account/"
    assert _logged_in_user_id(client) == member.user_id
    assert client.get("/").status_code == 200


def test_wrong_totp_code_is_refused(client, totp_member):
    member, device = totp_member
    _login(client, member.user.email)
    resp = client.post("/login/code/", {"code": _wrong_code(device)})
    assert resp.status_code == 400
    assert "not valid" in resp.content.decode()
    assert _logged_in_user_id(client) is None


def test_non_numeric_totp_code_is_refused(client, totp_member):
    member, _ = totp_member
    _login(client, member.user.email)
    resp = client.post("/login/code/", {"code": "abcdef"})
    assert resp.status_code == 400
    assert _logged_in_user_id(client) is None


def test_a_totp_code_that_was_already_used_is_refused(client, totp_member):
    member, device = totp_member
    code = _code(device)
    _login(client, member.user.email)
    assert client.post("/login/code/", {"code": code}).status_code == 302
    client.post("/logout/")

    _login(client, member.user.email)
    resp = client.post("/login/code/", {"code": code})
    assert resp.status_code == 400
    assert _logged_in_user_id(client) is None


def test_code_page_without_a_password_step_goes_back_to_login(client, totp_member):
    _, device = totp_member
    resp = client.post("/login/code/", {"code": _code(device)})
    assert resp.status_code == 302
    assert resp.url == "/login/"
    assert _logged_in_user_id(client) is None


def test_wrong_password_for_a_2fa_user_never_reaches_the_code_step(client, totp_member):
    member, _ = totp_member
    resp = _login(client, member.user.email, "not-the-password")
    assert resp.status_code == 400
    assert client.get("/login/code/").url == "/login/"


def test_unconfirmed_device_does_not_trigger_the_code_step(client, member):
    TOTPDevice.objects.create(user=member.user, name="half set up", key=KNOWN_KEY, confirmed=False)
    resp = _login(client, member.user.email)
    assert resp.status_code == 302 and resp.url == "/"
    assert _logged_in_user_id(client) == member.user_id
