"""API tokens: logging in for one (password, 2FA, workspaces, lockout), scopes, expiry, revocation, storage."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts import services
from rapport.accounts.models import ApiToken, Membership, Team
from rapport.accounts.roles import Role
from rapport.conftest import ApiClient
from rapport.core.models import Event, IdempotencyRecord
from rapport.core.principal import Principal
from rapport.testing.factories import PASSWORD, MembershipFactory, TeamFactory
from rapport.testing.totp import KNOWN_KEY, code
from rapport.testing.totp import enrol as enrol_totp


def login(client: Client, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    body = {"email": email, "password": password, **extra}
    return client.post("/api/v1/auth/token", data=json.dumps(body), content_type="application/json")


def current_code() -> str:
    return code(TOTPDevice(key=KNOWN_KEY))


def error(resp: Any) -> dict[str, Any]:
    return resp.json()["error"]


def token_of(actor: Any, scope: str = "write", **kwargs: Any) -> tuple[ApiToken, str]:
    return services.token_create(actor=actor, name="t", scope=scope, **kwargs)


# --- logging in for a token -----------------------------------------------------------------


def test_logging_in_returns_a_token_that_authenticates_as_the_user_in_their_workspace(client, admin):
    resp = login(client, admin.user.email, name="laptop", scope="write")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["token"].startswith("rpt_")
    assert (body["name"], body["scope"]) == ("laptop", "write")
    stored = ApiToken.objects.get(pk=body["id"])
    assert (stored.user_id, stored.org_id) == (admin.user_id, admin.org_id)
    me = ApiClient(body["token"]).get("/api/v1/me").json()
    assert (me["user"]["id"], me["workspace"]["id"], me["token_scope"]) == (admin.user_id, admin.org_id, "write")
    admin.user.refresh_from_db()
    assert admin.user.last_login is not None


def test_login_tokens_are_read_only_unless_asked_otherwise(client, admin):
    body = login(client, admin.user.email).json()
    assert body["scope"] == "read"
    assert ApiToken.objects.get(pk=body["id"]).scope == ApiToken.Scope.READ


def test_login_email_is_case_and_whitespace_insensitive(client, admin):
    resp = login(client, f"  {admin.user.email.upper()} ")
    assert resp.status_code == 201


def test_a_wrong_password_is_refused_and_creates_no_token(client, admin):
    before = ApiToken.objects.count()
    resp = login(client, admin.user.email, "not-the-password")
    assert resp.status_code == 401
    assert error(resp)["code"] == "invalid_credentials"
    assert ApiToken.objects.count() == before


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(client, admin):
    unknown = login(client, "nobody@example.org")
    wrong = login(client, admin.user.email, "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert error(unknown) == error(wrong)


def test_a_deactivated_user_cannot_log_in(client, admin):
    admin.user.is_active = False
    admin.user.save()
    resp = login(client, admin.user.email)
    assert resp.status_code == 401
    assert not ApiToken.objects.filter(user=admin.user).exists()


def test_a_user_without_a_workspace_is_refused(client, org):
    membership = MembershipFactory.create(org=org, role=Role.SALES, is_active=False)
    resp = login(client, membership.user.email)
    assert resp.status_code == 403
    assert error(resp)["code"] == "no_workspace"
    assert not ApiToken.objects.filter(user=membership.user).exists()


def test_an_expiry_in_the_past_is_refused(client, admin):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    resp = login(client, admin.user.email, expires_at=past)
    assert resp.status_code == 422
    assert "expires_at" in error(resp)["fields"]
    assert not ApiToken.objects.filter(user=admin.user).exists()


# --- two-factor authentication --------------------------------------------------------------


def test_a_user_with_2fa_must_send_a_code(client, admin):
    enrol_totp(admin.user)
    resp = login(client, admin.user.email)
    assert resp.status_code == 422
    assert error(resp)["code"] == "otp_required"
    assert "otp" in error(resp)["fields"]
    assert not ApiToken.objects.filter(user=admin.user).exists()


def test_a_wrong_code_is_refused(client, admin):
    enrol_totp(admin.user)
    wrong = f"{(int(current_code()) + 1) % 1_000_000:06d}"
    resp = login(client, admin.user.email, otp=wrong)
    assert resp.status_code == 401
    assert error(resp)["code"] == "invalid_otp"
    assert not ApiToken.objects.filter(user=admin.user).exists()


def test_a_valid_code_works_once_and_is_refused_when_replayed(client, admin):
    enrol_totp(admin.user)
    code = current_code()
    first = login(client, admin.user.email, otp=code)
    assert first.status_code == 201, first.content
    replay = login(client, admin.user.email, otp=code)
    assert replay.status_code == 401
    assert error(replay)["code"] == "invalid_otp"
    assert ApiToken.objects.filter(user=admin.user).count() == 1


def test_an_unconfirmed_device_does_not_demand_a_code(client, admin):
    TOTPDevice.objects.create(user=admin.user, name="half set up", key=KNOWN_KEY, confirmed=False)
    assert login(client, admin.user.email).status_code == 201


def test_a_workspace_that_requires_2fa_refuses_tokens_to_users_without_it(client, org, admin):
    org.require_2fa = True
    org.save()
    resp = login(client, admin.user.email)
    assert resp.status_code == 403
    assert error(resp)["code"] == "2fa_enrolment_required"
    assert not ApiToken.objects.filter(user=admin.user).exists()
    enrol_totp(admin.user)
    assert login(client, admin.user.email, otp=current_code()).status_code == 201


# --- several workspaces ---------------------------------------------------------------------


def test_a_member_of_several_workspaces_must_name_one(client, admin, other_org):
    MembershipFactory.create(org=other_org, user=admin.user, role=Role.VIEWER)
    resp = login(client, admin.user.email)
    assert resp.status_code == 422
    assert error(resp)["code"] == "workspace_required"
    assert "workspace" in error(resp)["fields"]
    assert not ApiToken.objects.filter(user=admin.user).exists()

    resp = login(client, admin.user.email, workspace=other_org.slug)
    assert resp.status_code == 201
    token = ApiToken.objects.get(pk=resp.json()["id"])
    assert token.org_id == other_org.pk
    me = ApiClient(resp.json()["token"]).get("/api/v1/me").json()
    assert (me["workspace"]["id"], me["role"]) == (other_org.pk, "viewer")


def test_naming_a_workspace_one_does_not_belong_to_is_refused(client, admin, other_org):
    resp = login(client, admin.user.email, workspace=other_org.slug)
    assert resp.status_code == 422
    assert error(resp)["code"] == "unknown_workspace"
    assert not ApiToken.objects.filter(user=admin.user).exists()


def test_an_inactive_membership_does_not_count_as_a_workspace(client, admin, other_org):
    MembershipFactory.create(org=other_org, user=admin.user, role=Role.ADMIN, is_active=False)
    resp = login(client, admin.user.email)
    assert resp.status_code == 201
    assert ApiToken.objects.get(pk=resp.json()["id"]).org_id == admin.org_id
    assert login(client, admin.user.email, workspace=other_org.slug).status_code == 422


# --- lockout --------------------------------------------------------------------------------


def test_five_failures_lock_the_account_out_even_for_the_right_password(client, admin):
    for _ in range(4):
        assert login(client, admin.user.email, "wrong-password").status_code == 401
    fifth = login(client, admin.user.email, "wrong-password")
    assert fifth.status_code == 429
    assert error(fifth)["code"] == "locked_out"
    right = login(client, admin.user.email)
    assert right.status_code == 429
    assert error(right)["code"] == "locked_out"
    assert not ApiToken.objects.filter(user=admin.user).exists()


def test_lockout_is_per_user_and_address(client, admin, member_of):
    for _ in range(5):
        login(client, admin.user.email, "wrong-password")
    assert login(client, admin.user.email).status_code == 429
    colleague = member_of(Role.SALES)
    assert login(client, colleague.user.email).status_code == 201
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    assert login(elsewhere, admin.user.email).status_code == 201


def test_a_successful_login_resets_the_failure_count(client, admin):
    for _ in range(4):
        login(client, admin.user.email, "wrong-password")
    assert login(client, admin.user.email).status_code == 201
    for _ in range(4):
        assert login(client, admin.user.email, "wrong-password").status_code == 401
    assert login(client, admin.user.email).status_code == 201


# --- scopes ---------------------------------------------------------------------------------


def test_a_read_only_token_reads_but_every_write_is_refused(api, org, admin):
    team = TeamFactory.create(org=org, name="Hunters")
    own, _ = token_of(admin)
    client = api(admin, scope="read")
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["token_scope"] == "read"
    assert all(levels["write"] == "none" for levels in me.json()["access"].values())
    assert [t["id"] for t in client.get("/api/v1/teams").json()["items"]] == [team.pk]
    events = Event.objects.count()

    refused = [
        client.post("/api/v1/teams", {"name": "Farmers"}),
        client.patch(f"/api/v1/teams/{team.pk}", {"name": "Farmers"}, **{"If-Match": "*"}),
        client.delete(f"/api/v1/teams/{team.pk}"),
        client.post("/api/v1/tokens", {"name": "escalate", "scope": "write"}),
        client.delete(f"/api/v1/tokens/{own.pk}"),
    ]
    for resp in refused:
        assert resp.status_code == 403, resp.content
        assert error(resp)["code"] == "read_only_token"
    team.refresh_from_db()
    own.refresh_from_db()
    assert (team.name, team.version) == ("Hunters", 1)
    assert Team.objects.filter(org=org).count() == 1
    assert own.revoked_at is None
    assert not ApiToken.objects.filter(name="escalate").exists()
    assert Event.objects.count() == events


def test_a_read_write_token_may_write(api, org, admin):
    resp = api(admin, scope="write").post("/api/v1/teams", {"name": "Farmers"})
    assert resp.status_code == 201
    assert Team.objects.filter(org=org, name="Farmers").exists()


# --- expiry, revocation, deactivation -------------------------------------------------------


def test_a_token_works_until_it_expires(admin):
    token, secret = token_of(admin, expires_at=timezone.now() + timedelta(hours=1))
    client = ApiClient(secret)
    assert client.get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert error(resp)["code"] == "not_authenticated"


def test_creating_a_token_that_is_already_expired_is_refused(api, admin):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    resp = api(admin).post("/api/v1/tokens", {"name": "stale", "expires_at": past})
    assert resp.status_code == 422
    assert error(resp)["code"] == "in_the_past"
    assert "expires_at" in error(resp)["fields"]
    assert not ApiToken.objects.filter(name="stale").exists()


def test_a_revoked_token_stops_working_and_revoking_again_changes_nothing(api, admin):
    token, secret = token_of(admin)
    assert ApiClient(secret).get("/api/v1/me").status_code == 200
    manager = api(admin)
    resp = manager.delete(f"/api/v1/tokens/{token.pk}")
    assert resp.status_code == 200
    assert resp.json()["revoked_at"] is not None
    token.refresh_from_db()
    revoked_at = token.revoked_at
    assert revoked_at is not None
    assert ApiClient(secret).get("/api/v1/me").status_code == 401

    again = manager.delete(f"/api/v1/tokens/{token.pk}")
    assert again.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at == revoked_at
    assert Event.objects.filter(verb="token.revoked", subject_id=token.pk).count() == 1


def test_a_token_may_revoke_itself(admin):
    token, secret = token_of(admin)
    client = ApiClient(secret)
    assert client.delete(f"/api/v1/tokens/{token.pk}").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_deactivating_a_member_stops_their_tokens_for_good(api, admin, member_of):
    member = member_of(Role.SALES)
    token, secret = token_of(member)
    assert ApiClient(secret).get("/api/v1/me").status_code == 200
    resp = api(admin).patch(f"/api/v1/members/{member.membership_id}", {"is_active": False}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200
    assert ApiClient(secret).get("/api/v1/me").status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None
    # Reactivation gives the person their access back, not their old tokens.
    resp = api(admin).patch(f"/api/v1/members/{member.membership_id}", {"is_active": True}, **{"If-Match": '"v2"'})
    assert resp.status_code == 200
    assert ApiClient(secret).get("/api/v1/me").status_code == 401


def test_a_token_stops_working_when_its_membership_is_inactive_even_if_not_revoked(other_org, member_of):
    member = member_of(Role.SALES)
    MembershipFactory.create(org=other_org, user=member.user, role=Role.ADMIN)  # still active elsewhere
    _, secret = token_of(member)
    Membership.objects.filter(pk=member.membership_id).update(is_active=False)
    assert ApiClient(secret).get("/api/v1/me").status_code == 401


def test_a_token_stops_working_when_its_user_is_deactivated(admin):
    _, secret = token_of(admin)
    admin.user.is_active = False
    admin.user.save()
    assert ApiClient(secret).get("/api/v1/me").status_code == 401


def test_using_a_token_records_when_it_was_last_used(admin):
    token, secret = token_of(admin)
    assert token.last_used_at is None
    ApiClient(secret).get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


# --- listing and getting --------------------------------------------------------------------


def test_the_token_list_shows_only_my_tokens_in_this_workspace_newest_first(api, admin, other_org, member_of):
    colleague = member_of(Role.SALES)
    token_of(colleague)
    elsewhere = MembershipFactory.create(org=other_org, user=admin.user, role=Role.ADMIN)
    token_of(Principal.for_membership(elsewhere))
    first, _ = token_of(admin)
    second, _ = token_of(admin)
    services.token_revoke(actor=admin, token=first)
    client = api(admin)  # a third token, the newest
    items = client.get("/api/v1/tokens").json()["items"]
    mine = list(ApiToken.objects.filter(org_id=admin.org_id, user_id=admin.user_id).order_by("-created_at", "-id"))
    assert [t["id"] for t in items] == [t.pk for t in mine]
    assert len(items) == 3 and items[1:] == [
        client.get(f"/api/v1/tokens/{second.pk}").json(),
        client.get(f"/api/v1/tokens/{first.pk}").json(),
    ]
    assert items[2]["revoked_at"] is not None
    for item in items:
        assert "token" not in item and "token_hash" not in item


def test_a_member_cannot_see_or_revoke_a_colleagues_token(api, member_of):
    colleague = member_of(Role.SALES)
    token, secret = token_of(colleague)
    client = api(member_of(Role.MANAGER))
    for resp in (client.get(f"/api/v1/tokens/{token.pk}"), client.delete(f"/api/v1/tokens/{token.pk}")):
        assert resp.status_code == 404
        assert error(resp)["code"] == "not_found"
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiClient(secret).get("/api/v1/me").status_code == 200


def test_an_admin_may_revoke_a_members_token(api, admin, member_of):
    member = member_of(Role.SALES)
    token, secret = token_of(member)
    client = api(admin)
    assert client.get(f"/api/v1/tokens/{token.pk}").json()["name"] == "t"
    assert client.delete(f"/api/v1/tokens/{token.pk}").status_code == 200
    assert ApiClient(secret).get("/api/v1/me").status_code == 401
    event = Event.objects.get(verb="token.revoked", subject_id=token.pk)
    assert event.actor_id == admin.user_id


def test_an_unknown_token_id_is_not_found(api, admin):
    resp = api(admin).get("/api/v1/tokens/999999")
    assert resp.status_code == 404
    assert error(resp)["code"] == "not_found"


# --- how secrets are stored -----------------------------------------------------------------


def _assert_secret_not_stored(secret: str) -> None:
    for token in ApiToken.objects.all():
        for field in ApiToken._meta.concrete_fields:
            assert secret not in str(getattr(token, field.attname)), field.name
    for event in Event.objects.all():
        assert secret not in json.dumps(event.changes)
    for record in IdempotencyRecord.objects.all():
        assert secret.encode() not in bytes(record.response_body)


def test_only_a_hash_of_the_token_secret_is_stored(client, api, admin):
    secrets_seen = []
    resp = login(client, admin.user.email, scope="write")
    secrets_seen.append(resp.json()["token"])
    created = api(admin).post("/api/v1/tokens", {"name": "ci", "scope": "write"}, **{"Idempotency-Key": "tok-1"})
    assert created.status_code == 201
    secrets_seen.append(created.json()["token"])
    for secret in secrets_seen:
        token = ApiToken.objects.get(token_hash=hashlib.sha256(secret.encode()).hexdigest())
        assert token.token_hash != secret
        assert secret.startswith("rpt_" + token.prefix)
        _assert_secret_not_stored(secret)
        assert ApiClient(secret).get("/api/v1/me").status_code == 200


def test_replaying_a_token_creation_answers_the_same_token_without_its_secret(api, admin):
    client = api(admin)
    first = client.post("/api/v1/tokens", {"name": "ci"}, **{"Idempotency-Key": "tok-2"})
    replay = client.post("/api/v1/tokens", {"name": "ci"}, **{"Idempotency-Key": "tok-2"})
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert first.json()["token"].startswith("rpt_")
    assert replay.json()["token"] is None
    assert ApiToken.objects.filter(name="ci").count() == 1


def test_a_token_for_another_workspace_of_the_same_user_does_not_reach_this_one(api, admin, other_org):
    elsewhere = MembershipFactory.create(org=other_org, user=admin.user, role=Role.ADMIN)
    _, secret = token_of(Principal.for_membership(elsewhere))
    me = ApiClient(secret).get("/api/v1/me").json()
    assert me["workspace"]["id"] == other_org.pk
    team = TeamFactory.create(org=admin.org)
    resp = ApiClient(secret).get(f"/api/v1/teams/{team.pk}")
    assert resp.status_code == 404
