"""CSRF on the API for the web UI's session cookie: every unsafe method needs the token; bearer tokens do not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from rapport.accounts import services
from rapport.accounts.models import ApiToken, Invitation, Membership, Team
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import MembershipFactory, TeamFactory


class Browser:
    """A logged-in browser session that enforces CSRF, as a real one does."""

    def __init__(self, principal: Principal) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(principal.user, backend="django.contrib.auth.backends.ModelBackend")
        session = self.client.session
        session["rapport_org_id"] = principal.org_id
        session.save()
        page = self.client.get("/")
        assert page.status_code == 200
        self.csrf_token = self.client.cookies["csrftoken"].value

    def send(self, method: str, path: str, body: Any = None, *, csrf: str | None = None, **headers: str) -> Any:
        if csrf is not None:
            headers["X-CSRFToken"] = csrf
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(path, **kwargs)


@pytest.fixture
def browser(admin: Principal) -> Browser:
    return Browser(admin)


def _assert_csrf_refused(resp: Any) -> None:
    assert resp.status_code == 403, resp.content[:200]
    err = resp.json()["error"]
    assert set(err) == {"code", "message", "fields"}
    assert err["code"] == "csrf_failed"
    assert "csrf" in err["message"].lower()


def _state(org_id: int) -> tuple[Any, ...]:
    return (
        list(Team.objects.filter(org_id=org_id).values_list("pk", "name", "version")),
        list(Membership.objects.filter(org_id=org_id).values_list("pk", "role", "is_active", "version")),
        list(ApiToken.objects.filter(org_id=org_id).values_list("pk", "revoked_at")),
        list(Invitation.objects.filter(org_id=org_id).values_list("pk", "revoked_at")),
        Event.objects.filter(org_id=org_id).count(),
    )


@pytest.fixture
def targets(org: Any, admin: Principal) -> dict[str, int]:
    team = TeamFactory.create(org=org, name="North")
    member = MembershipFactory.create(org=org, role=Role.SALES)
    token, _ = services.token_create(actor=admin, name="cli", scope="write")
    invitation = services.invitation_create(actor=admin, email="x@example.org", role="sales")
    return {"team": team.pk, "member": member.pk, "token": token.pk, "invitation": invitation.pk}


def _writes(t: dict[str, int]) -> list[tuple[str, str, Any, dict[str, str]]]:
    return [
        ("post", "/api/v1/teams", {"name": "South"}, {}),
        ("patch", f"/api/v1/teams/{t['team']}", {"name": "Renamed"}, {"If-Match": '"v1"'}),
        ("delete", f"/api/v1/teams/{t['team']}", None, {}),
        ("patch", f"/api/v1/members/{t['member']}", {"role": "viewer"}, {"If-Match": '"v1"'}),
        ("post", "/api/v1/members/invitations", {"email": "y@example.org", "role": "sales"}, {}),
        ("delete", f"/api/v1/members/invitations/{t['invitation']}", None, {}),
        ("post", "/api/v1/tokens", {"name": "forged", "scope": "write"}, {}),
        ("delete", f"/api/v1/tokens/{t['token']}", None, {}),
    ]


@pytest.mark.parametrize("index", range(8))
def test_a_session_write_without_the_csrf_token_is_refused_and_changes_nothing(browser, org, targets, index):
    method, path, body, headers = _writes(targets)[index]
    before = _state(org.pk)
    _assert_csrf_refused(browser.send(method, path, body, **headers))
    assert _state(org.pk) == before


@pytest.mark.parametrize("index", range(8))
def test_a_session_write_with_a_wrong_csrf_token_is_refused(browser, org, targets, index):
    method, path, body, headers = _writes(targets)[index]
    before = _state(org.pk)
    _assert_csrf_refused(browser.send(method, path, body, csrf="x" * 32, **headers))
    assert _state(org.pk) == before


@pytest.mark.parametrize("index", range(8))
def test_a_session_write_with_the_csrf_token_goes_through(browser, org, targets, index):
    method, path, body, headers = _writes(targets)[index]
    events = Event.objects.filter(org_id=org.pk).count()
    resp = browser.send(method, path, body, csrf=browser.csrf_token, **headers)
    assert resp.status_code in (200, 201, 204), resp.content[:200]
    assert Event.objects.filter(org_id=org.pk).count() == events + 1


def test_the_token_only_creates_what_was_asked(browser, org):
    resp = browser.send("post", "/api/v1/teams", {"name": "South"}, csrf=browser.csrf_token)
    assert resp.status_code == 201
    assert list(Team.objects.filter(org=org).values_list("name", flat=True)) == ["South"]


def test_session_reads_need_no_csrf_token(browser, org, admin):
    team = TeamFactory.create(org=org, name="North")
    assert browser.send("get", "/api/v1/me").json()["user"]["id"] == admin.user_id
    assert [t["id"] for t in browser.send("get", "/api/v1/teams").json()["items"]] == [team.pk]


def test_a_token_from_another_session_is_refused(browser, org, member_of):
    other = Browser(member_of(Role.ADMIN))
    resp = browser.send("post", "/api/v1/teams", {"name": "South"}, csrf=other.csrf_token)
    # CSRF tokens are per browser: another session's token does not match this browser's cookie.
    _assert_csrf_refused(resp)
    assert not Team.objects.filter(org=org).exists()


def test_bearer_token_clients_need_no_csrf_token(org, admin):
    _, secret = services.token_create(actor=admin, name="cli", scope="write")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}")
    resp = client.post("/api/v1/teams", data=json.dumps({"name": "South"}), content_type="application/json")
    assert resp.status_code == 201
    assert Team.objects.filter(org=org, name="South").exists()


def test_the_cookie_of_an_ended_session_is_not_authenticated(org, admin):
    browser = Browser(admin)
    Session.objects.filter(session_key=browser.client.cookies["sessionid"].value).delete()
    assert browser.send("get", "/api/v1/me").status_code == 401
    resp = browser.send("post", "/api/v1/teams", {"name": "South"}, csrf=browser.csrf_token)
    assert resp.status_code == 401
    assert not Team.objects.filter(org=org).exists()


def test_a_session_that_must_still_enrol_in_2fa_cannot_use_the_api(org, admin):
    browser = Browser(admin)
    org.require_2fa = True
    org.save()
    assert browser.send("get", "/api/v1/me").status_code == 401
    resp = browser.send("post", "/api/v1/teams", {"name": "South"}, csrf=browser.csrf_token)
    assert resp.status_code == 401
    assert not Team.objects.filter(org=org).exists()
