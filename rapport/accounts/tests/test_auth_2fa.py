"""Two-factor authentication pages: enrolment, disabling, and a workspace that requires it."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.models import ApiToken, Organization
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import PASSWORD, MembershipFactory
from rapport.testing.totp import KNOWN_KEY
from rapport.testing.totp import code as _code
from rapport.testing.totp import wrong_code as _wrong_code


def _require_2fa(org: Organization) -> None:
    Organization.objects.filter(pk=org.pk).update(require_2fa=True)


@pytest.fixture
def member(member_of) -> Principal:
    return member_of(Role.SALES)


# --- enrolment -----------------------------------------------------------------------------------


def test_setup_page_shows_a_qr_code_as_a_data_uri_image(web, member):
    resp = web(member).get("/account/2fa/setup/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert re.search(r'<img\b[^>]*\bsrc="data:image/svg\+xml[^"]+"', body)
    device = TOTPDevice.objects.get(user=member.user)
    assert device.confirmed is False
    # The manual-entry key shown is the device's key.
    assert resp.context["secret"] in body
    assert base64.b32decode(resp.context["secret"] + "=" * (-len(resp.context["secret"]) % 8)) == device.bin_key


def test_valid_code_confirms_the_device_and_records_an_event(web, member):
    client = web(member)
    client.get("/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=member.user, confirmed=False)

    resp = client.post("/account/2fa/setup/", {"code": _code(device)})

    assert resp.status_code == 302
    assert resp.url == "/account/"
    device.refresh_from_db()
    assert device.confirmed is True
    event = Event.objects.get(verb="user.2fa_enabled")
    assert event.org_id == member.org_id
    assert event.actor_id == member.user_id
    assert event.subject_type == "user" and event.subject_id == member.user_id
    assert "On" in client.get("/account/").content.decode()


def test_wrong_code_is_refused_and_the_device_stays_unconfirmed(web, member):
    client = web(member)
    client.get("/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=member.user, confirmed=False)

    resp = client.post("/account/2fa/setup/", {"code": _wrong_code(device)})

    assert resp.status_code == 400
    assert "not valid" in resp.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not TOTPDevice.objects.filter(user=member.user, confirmed=True).exists()
    assert not Event.objects.filter(verb="user.2fa_enabled").exists()


def test_post_without_having_started_setup_confirms_nothing(web, member):
    client = web(member)
    resp = client.post("/account/2fa/setup/", {"code": "123456"})
    assert resp.status_code == 400
    assert not TOTPDevice.objects.filter(user=member.user, confirmed=True).exists()


def test_after_enrolment_login_asks_for_a_code(web, member, client):
    web(member).get("/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=member.user)
    client.post("/account/2fa/setup/", {"code": _code(device)})
    client.post("/logout/")

    resp = client.post("/login/", {"email": member.user.email, "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.url == "/login/code/"


def test_enrolling_a_new_device_replaces_the_old_one(web, member):
    old = TOTPDevice.objects.create(user=member.user, name="old phone", key=KNOWN_KEY, confirmed=True)
    client = web(member)
    client.get("/account/2fa/setup/")
    new = TOTPDevice.objects.get(user=member.user, confirmed=False)
    assert client.post("/account/2fa/setup/", {"code": _code(new)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=member.user).values_list("pk", flat=True)) == [new.pk]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


# --- disabling -----------------------------------------------------------------------------------


def test_disabling_2fa_with_the_wrong_password_is_refused(web, member):
    TOTPDevice.objects.create(user=member.user, name="phone", key=KNOWN_KEY, confirmed=True)
    resp = web(member).post("/account/2fa/disable/", {"password": "not-the-password"})
    assert resp.status_code == 400
    assert "The password is not correct." in resp.content.decode()
    assert TOTPDevice.objects.filter(user=member.user, confirmed=True).exists()
    assert not Event.objects.filter(verb="user.2fa_disabled").exists()


def test_disabling_2fa_with_the_password_removes_the_device(web, member):
    TOTPDevice.objects.create(user=member.user, name="phone", key=KNOWN_KEY, confirmed=True)
    resp = web(member).post("/account/2fa/disable/", {"password": PASSWORD})
    assert resp.status_code == 302
    assert not TOTPDevice.objects.filter(user=member.user).exists()
    assert Event.objects.filter(verb="user.2fa_disabled", actor_id=member.user_id).count() == 1


def test_disabling_2fa_by_get_is_refused(web, member):
    TOTPDevice.objects.create(user=member.user, name="phone", key=KNOWN_KEY, confirmed=True)
    resp = web(member).get("/account/2fa/disable/")
    assert resp.status_code == 405
    assert TOTPDevice.objects.filter(user=member.user, confirmed=True).exists()


def test_2fa_cannot_be_disabled_where_the_workspace_requires_it(web, member):
    TOTPDevice.objects.create(user=member.user, name="phone", key=KNOWN_KEY, confirmed=True)
    _require_2fa(member.org)
    resp = web(member).post("/account/2fa/disable/", {"password": PASSWORD})
    assert resp.status_code == 400
    assert TOTPDevice.objects.filter(user=member.user, confirmed=True).exists()


# --- mandatory 2FA -------------------------------------------------------------------------------


def test_admin_makes_2fa_mandatory_on_the_security_page(web, admin):
    TOTPDevice.objects.create(user=admin.user, name="phone", key=KNOWN_KEY, confirmed=True)
    client = web(admin)
    assert client.get("/settings/security/").status_code == 200

    resp = client.post("/settings/security/", {"require_2fa": "on"})

    assert resp.status_code == 302
    admin.org.refresh_from_db()
    assert admin.org.require_2fa is True
    event = Event.objects.get(verb="workspace.updated", org_id=admin.org_id)
    assert event.changes == {"require_2fa": [False, True]}


def test_admin_makes_2fa_optional_again(web, admin):
    TOTPDevice.objects.create(user=admin.user, name="phone", key=KNOWN_KEY, confirmed=True)
    _require_2fa(admin.org)
    resp = web(admin).post("/settings/security/", {})
    assert resp.status_code == 302
    admin.org.refresh_from_db()
    assert admin.org.require_2fa is False


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.SUPPORT, Role.MARKETING, Role.VIEWER])
def test_non_admin_gets_403_on_the_security_page_and_changes_nothing(web, member_of, role):
    principal = member_of(role)
    client = web(principal)
    assert client.get("/settings/security/").status_code == 403
    resp = client.post("/settings/security/", {"require_2fa": "on"})
    assert resp.status_code == 403
    assert "Not allowed" in resp.content.decode()
    principal.org.refresh_from_db()
    assert principal.org.require_2fa is False
    assert not Event.objects.filter(verb="workspace.updated").exists()


@pytest.mark.parametrize(
    "path", ["/", "/search/?q=x", "/account/", "/account/password/", "/settings/", "/settings/tokens/"]
)
def test_member_without_2fa_is_sent_to_setup_where_it_is_required(web, member, path):
    _require_2fa(member.org)
    resp = web(member).get(path)
    assert resp.status_code == 302
    assert resp.url == "/account/2fa/setup/"


def test_member_without_2fa_cannot_post_elsewhere_where_it_is_required(web, member):
    _require_2fa(member.org)
    resp = web(member).post("/settings/tokens/", {"name": "sneaky", "scope": "read"})
    assert resp.status_code == 302
    assert resp.url == "/account/2fa/setup/"
    assert not ApiToken.objects.filter(user=member.user).exists()


def test_member_without_2fa_can_reach_the_setup_page_where_it_is_required(web, member):
    _require_2fa(member.org)
    resp = web(member).get("/account/2fa/setup/")
    assert resp.status_code == 200
    assert "requires two-factor authentication" in resp.content.decode()


def test_member_without_2fa_can_log_out_where_it_is_required(web, member):
    _require_2fa(member.org)
    client = web(member)
    resp = client.post("/logout/")
    assert resp.status_code == 302 and resp.url == "/login/"
    assert "_auth_user_id" not in client.session


def test_after_enrolling_the_member_reaches_every_page(web, member):
    _require_2fa(member.org)
    client = web(member)
    client.get("/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=member.user, confirmed=False)
    assert client.post("/account/2fa/setup/", {"code": _code(device)}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/settings/tokens/").status_code == 200


def test_member_with_2fa_is_not_redirected_where_it_is_required(web, member):
    TOTPDevice.objects.create(user=member.user, name="phone", key=KNOWN_KEY, confirmed=True)
    _require_2fa(member.org)
    assert web(member).get("/").status_code == 200


def test_the_rule_holds_only_in_the_workspace_that_requires_it(web, member, other_org):
    MembershipFactory(org=other_org, user=member.user, role=Role.SALES.value)
    _require_2fa(other_org)
    client = web(member)
    assert client.get("/").status_code == 200
    client.post("/workspace/switch/", {"org_id": other_org.pk})
    resp = client.get("/")
    assert resp.status_code == 302 and resp.url == "/account/2fa/setup/"
