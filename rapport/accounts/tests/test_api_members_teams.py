"""Members, invitations and teams through the API: reads, writes, their events, and their refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from rapport.accounts.models import ApiToken, Invitation, Membership, Team, User
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import MembershipFactory, TeamFactory, UserFactory


def error(resp: Any) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def events(verb: str) -> list[Event]:
    return list(Event.objects.filter(verb=verb).order_by("id"))


# --- members --------------------------------------------------------------------------------


def test_members_list_shows_every_member_of_the_workspace_with_user_and_teams(api, org, other_org, admin):
    sales = MembershipFactory.create(org=org, role=Role.SALES)
    gone = MembershipFactory.create(org=org, role=Role.VIEWER, is_active=False)
    MembershipFactory.create(org=other_org, role=Role.ADMIN)
    team = TeamFactory.create(org=org, name="North")
    team.members.set([sales])
    items = api(admin).get("/api/v1/members").json()["items"]
    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {admin.membership_id, sales.pk, gone.pk}
    assert by_id[sales.pk]["user"] == {"id": sales.user_id, "email": sales.user.email, "name": sales.user.name}
    assert by_id[sales.pk]["teams"] == [{"id": team.pk, "name": "North"}]
    assert (by_id[sales.pk]["role"], by_id[gone.pk]["is_active"]) == ("sales", False)


def test_getting_a_member_answers_it_with_its_etag(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SUPPORT)
    resp = api(admin).get(f"/api/v1/members/{member.pk}")
    assert resp.status_code == 200
    assert resp["ETag"] == '"v1"'
    assert (resp.json()["id"], resp.json()["role"], resp.json()["version"]) == (member.pk, "support", 1)


def test_an_admin_changes_a_members_role_and_an_event_records_it(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    resp = api(admin).patch(f"/api/v1/members/{member.pk}", {"role": "manager"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert resp["ETag"] == '"v2"'
    assert (resp.json()["role"], resp.json()["version"]) == ("manager", 2)
    member.refresh_from_db()
    assert (member.role, member.version) == (Role.MANAGER, 2)
    [event] = events("member.updated")
    assert (event.actor_id, event.subject_type, event.subject_id) == (admin.user_id, "membership", member.pk)
    assert event.changes == {"role": ["sales", "manager"]}


def test_deactivating_a_member_keeps_them_listed_and_revokes_their_tokens(api, org, admin, member_of):
    member = member_of(Role.SALES)
    api(member)  # gives the member a token
    resp = api(admin).patch(f"/api/v1/members/{member.membership_id}", {"is_active": False}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200
    assert resp.json()["is_active"] is False
    assert Membership.objects.get(pk=member.membership_id).is_active is False
    assert not ApiToken.objects.filter(user=member.user, revoked_at__isnull=True).exists()
    [event] = events("member.deactivated")
    assert event.changes == {"is_active": [True, False]}


def test_a_patch_that_changes_nothing_leaves_no_event_and_keeps_the_version(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    resp = api(admin).patch(f"/api/v1/members/{member.pk}", {"role": "sales"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200
    member.refresh_from_db()
    assert member.version == 1
    assert events("member.updated") == []


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(api, admin):
    client = api(admin)
    for change in ({"role": "manager"}, {"is_active": False}):
        resp = client.patch(f"/api/v1/members/{admin.membership_id}", change, **{"If-Match": '"v1"'})
        assert resp.status_code == 409
        assert error(resp)["code"] == "last_admin"
    me = Membership.objects.get(pk=admin.membership_id)
    assert (me.role, me.is_active, me.version) == (Role.ADMIN, True, 1)
    assert events("member.updated") == events("member.deactivated") == []


def test_an_inactive_admin_does_not_count_as_another_admin(api, org, admin):
    MembershipFactory.create(org=org, role=Role.ADMIN, is_active=False)
    resp = api(admin).patch(f"/api/v1/members/{admin.membership_id}", {"role": "viewer"}, **{"If-Match": "*"})
    assert resp.status_code == 409
    assert Membership.objects.get(pk=admin.membership_id).role == Role.ADMIN


def test_an_admin_may_step_down_when_another_admin_remains(api, org, admin):
    other = MembershipFactory.create(org=org, role=Role.ADMIN)
    resp = api(admin).patch(f"/api/v1/members/{admin.membership_id}", {"role": "viewer"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200
    assert Membership.objects.get(pk=admin.membership_id).role == Role.VIEWER
    assert Membership.objects.get(pk=other.pk).role == Role.ADMIN


def test_an_unknown_role_is_a_validation_error_on_the_role_field(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    resp = api(admin).patch(f"/api/v1/members/{member.pk}", {"role": "overlord"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 422
    assert error(resp)["code"] == "validation_error"
    assert set(error(resp)["fields"]) == {"role"}
    member.refresh_from_db()
    assert (member.role, member.version) == (Role.SALES, 1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/members/{id}"),
        ("patch", "/api/v1/members/{id}"),
        ("get", "/api/v1/teams/{id}"),
        ("patch", "/api/v1/teams/{id}"),
        ("delete", "/api/v1/teams/{id}"),
        ("get", "/api/v1/tokens/{id}"),
        ("delete", "/api/v1/tokens/{id}"),
        ("delete", "/api/v1/members/invitations/{id}"),
    ],
)
def test_unknown_ids_are_not_found(api, admin, method, path):
    client = api(admin)
    url = path.format(id=987654321)
    body = {"role": "sales"} if "/members/" in path else {"name": "x"}  # a valid change: only the id is wrong
    resp = client.patch(url, body, **{"If-Match": "*"}) if method == "patch" else getattr(client, method)(url)
    assert resp.status_code == 404
    assert error(resp)["code"] == "not_found"


# --- invitations ----------------------------------------------------------------------------


def _link_path(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/invitation/[^\s]+/)", body)
    assert match, body
    return match.group(1)


def test_an_invitation_is_emailed_and_its_link_lets_a_new_person_join(
    api, org, admin, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        resp = api(admin).post("/api/v1/members/invitations", {"email": "New.Person@Example.org", "role": "support"})
    assert resp.status_code == 201, resp.content
    assert (resp.json()["email"], resp.json()["role"]) == ("new.person@example.org", "support")
    invitation = Invitation.objects.get(pk=resp.json()["id"])
    assert invitation.org_id == org.pk and invitation.is_open

    [message] = smtp.messages
    assert "new.person@example.org" in str(message["To"])
    assert org.name in str(message["Subject"])
    path = _link_path(str(message.get_content()))

    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200
    assert org.name in page.content.decode()
    joined = browser.post(path, {"name": "New Person", "password": "a-long-and-unusual-passphrase"})
    assert joined.status_code == 302

    user = User.objects.get(email="new.person@example.org")
    assert user.name == "New Person" and user.check_password("a-long-and-unusual-passphrase")
    membership = Membership.objects.get(org=org, user=user)
    assert (membership.role, membership.is_active) == (Role.SUPPORT, True)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert [e.subject_id for e in events("invitation.accepted")] == [invitation.pk]
    # The new member is logged in, in the workspace they joined.
    assert browser.get("/").status_code == 200
    # The link works once.
    assert Client().get(path).status_code == 404


def test_an_invitation_link_is_never_stored_in_clear(api, admin, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api(admin).post("/api/v1/members/invitations", {"email": "x@example.org", "role": "sales"})
    secret = _link_path(str(smtp.messages[0].get_content())).split("/")[-2]
    invitation = Invitation.objects.get(email="x@example.org")
    assert invitation.token_hash != secret
    assert all(secret not in str(getattr(invitation, f.attname)) for f in Invitation._meta.concrete_fields)


def test_a_revoked_invitation_link_no_longer_works(api, admin, smtp, django_capture_on_commit_callbacks):
    client = api(admin)
    with django_capture_on_commit_callbacks(execute=True):
        invitation_id = client.post("/api/v1/members/invitations", {"email": "x@example.org", "role": "sales"}).json()[
            "id"
        ]
    path = _link_path(str(smtp.messages[0].get_content()))
    assert [i["id"] for i in client.get("/api/v1/members/invitations").json()["items"]] == [invitation_id]

    resp = client.delete(f"/api/v1/members/invitations/{invitation_id}")
    assert resp.status_code == 200
    assert Invitation.objects.get(pk=invitation_id).revoked_at is not None
    assert client.get("/api/v1/members/invitations").json()["items"] == []
    assert [e.subject_id for e in events("invitation.revoked")] == [invitation_id]

    browser = Client()
    assert browser.get(path).status_code == 404
    browser.post(path, {"name": "Late", "password": "a-long-and-unusual-passphrase"})
    assert not User.objects.filter(email="x@example.org").exists()


def test_a_new_invitation_replaces_the_open_one_for_the_same_address(api, admin):
    client = api(admin)
    first = client.post("/api/v1/members/invitations", {"email": "x@example.org", "role": "sales"}).json()["id"]
    second = client.post("/api/v1/members/invitations", {"email": "x@example.org", "role": "viewer"}).json()["id"]
    assert Invitation.objects.get(pk=first).revoked_at is not None
    assert [i["id"] for i in client.get("/api/v1/members/invitations").json()["items"]] == [second]


def test_inviting_someone_who_is_already_a_member_is_a_conflict(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    resp = api(admin).post("/api/v1/members/invitations", {"email": member.user.email, "role": "admin"})
    assert resp.status_code == 409
    assert error(resp)["code"] == "already_member"
    assert "email" in error(resp)["fields"]
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "role": "sales"}, "email"),
        ({"email": "x@example.org", "role": "overlord"}, "role"),
        ({"role": "sales"}, "email"),
        ({"email": "x@example.org"}, "role"),
    ],
)
def test_invalid_invitations_are_refused_field_by_field(api, admin, payload, field):
    resp = api(admin).post("/api/v1/members/invitations", payload)
    assert resp.status_code == 422
    assert field in error(resp)["fields"]
    assert error(resp)["fields"][field]
    assert not Invitation.objects.exists()


def test_an_existing_user_must_log_in_to_accept_and_then_joins(
    api, org, admin, other_org, smtp, django_capture_on_commit_callbacks
):
    existing = MembershipFactory.create(org=other_org, role=Role.ADMIN).user
    with django_capture_on_commit_callbacks(execute=True):
        api(admin).post("/api/v1/members/invitations", {"email": existing.email, "role": "viewer"})
    path = _link_path(str(smtp.messages[0].get_content()))

    anonymous = Client()
    resp = anonymous.post(path, {"name": "Someone", "password": "a-long-and-unusual-passphrase"})
    assert resp.status_code == 302 and "/login/" in resp["Location"]
    assert not Membership.objects.filter(org=org, user=existing).exists()

    browser = Client()
    browser.force_login(existing, backend="django.contrib.auth.backends.ModelBackend")
    assert browser.post(path).status_code == 302
    assert Membership.objects.get(org=org, user=existing).role == Role.VIEWER


# --- teams ----------------------------------------------------------------------------------


def test_creating_a_team_with_members_records_an_event(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    resp = api(admin).post("/api/v1/teams", {"name": "  North  ", "member_ids": [member.pk, admin.membership_id]})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["name"] == "North"
    assert {m["id"] for m in body["members"]} == {member.pk, admin.membership_id}
    assert {m["email"] for m in body["members"]} == {member.user.email, admin.user.email}
    team = Team.objects.get(pk=body["id"])
    assert (team.org_id, team.name, team.created_by_id) == (org.pk, "North", admin.user_id)
    assert set(team.members.values_list("pk", flat=True)) == {member.pk, admin.membership_id}
    [event] = events("team.created")
    assert event.subject_id == team.pk
    assert event.changes == {"name": [None, "North"], "member_ids": [[], sorted([member.pk, admin.membership_id])]}


def test_team_membership_shows_up_in_the_members_principal(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    team_id = api(admin).post("/api/v1/teams", {"name": "North", "member_ids": [member.pk]}).json()["id"]
    assert Principal.for_membership(member).team_ids == frozenset({team_id})


def test_getting_and_listing_teams(api, org, admin):
    b = TeamFactory.create(org=org, name="B team")
    a = TeamFactory.create(org=org, name="A team")
    client = api(admin)
    resp = client.get(f"/api/v1/teams/{a.pk}")
    assert resp.status_code == 200
    assert resp["ETag"] == '"v1"'
    assert (resp.json()["id"], resp.json()["name"], resp.json()["members"]) == (a.pk, "A team", [])
    assert {t["id"] for t in client.get("/api/v1/teams").json()["items"]} == {a.pk, b.pk}


def test_renaming_a_team_and_replacing_its_members(api, org, admin):
    old = MembershipFactory.create(org=org, role=Role.SALES)
    new = MembershipFactory.create(org=org, role=Role.SUPPORT)
    team = TeamFactory.create(org=org, name="North")
    team.members.set([old])
    resp = api(admin).patch(
        f"/api/v1/teams/{team.pk}", {"name": "South", "member_ids": [new.pk]}, **{"If-Match": '"v1"'}
    )
    assert resp.status_code == 200, resp.content
    assert resp["ETag"] == '"v2"'
    team.refresh_from_db()
    assert (team.name, team.version) == ("South", 2)
    assert list(team.members.values_list("pk", flat=True)) == [new.pk]
    [event] = events("team.updated")
    assert event.changes == {"name": ["North", "South"], "member_ids": [[old.pk], [new.pk]]}


def test_deleting_a_team(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    team = TeamFactory.create(org=org, name="North")
    team.members.set([member])
    resp = api(admin).delete(f"/api/v1/teams/{team.pk}")
    assert resp.status_code == 204
    assert not Team.objects.filter(pk=team.pk).exists()
    assert Membership.objects.filter(pk=member.pk).exists()
    [event] = events("team.deleted")
    assert (event.subject_id, event.changes) == (team.pk, {"name": ["North", None]})
    assert api(admin).get(f"/api/v1/teams/{team.pk}").status_code == 404


def test_a_team_name_must_be_unique_in_the_workspace_but_not_across_workspaces(api, org, other_org, admin):
    TeamFactory.create(org=org, name="North")
    TeamFactory.create(org=other_org, name="South")
    client = api(admin)
    resp = client.post("/api/v1/teams", {"name": "North"})
    assert resp.status_code == 409
    assert error(resp)["code"] == "team_exists"
    assert "name" in error(resp)["fields"]
    assert Team.objects.filter(org=org, name="North").count() == 1
    assert client.post("/api/v1/teams", {"name": "South"}).status_code == 201


def test_renaming_a_team_to_a_taken_name_is_a_conflict_and_changes_nothing(api, org, admin):
    TeamFactory.create(org=org, name="North")
    team = TeamFactory.create(org=org, name="South")
    resp = api(admin).patch(f"/api/v1/teams/{team.pk}", {"name": "North"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 409
    team.refresh_from_db()
    assert (team.name, team.version) == ("South", 1)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 42}, "name"),
        ({"name": "North", "member_ids": "all"}, "member_ids"),
        ({"name": "North", "member_ids": [987654321]}, "member_ids"),
    ],
)
def test_invalid_teams_are_refused_field_by_field(api, admin, payload, field):
    resp = api(admin).post("/api/v1/teams", payload)
    assert resp.status_code == 422, resp.content
    assert list(error(resp)["fields"]) == [field]
    assert error(resp)["fields"][field]
    assert not Team.objects.exists()
    assert events("team.created") == []


def test_a_team_cannot_take_members_of_another_workspace(api, org, other_org, admin):
    outsider = MembershipFactory.create(org=other_org, role=Role.SALES)
    team = TeamFactory.create(org=org, name="North")
    client = api(admin)
    created = client.post("/api/v1/teams", {"name": "South", "member_ids": [outsider.pk]})
    patched = client.patch(f"/api/v1/teams/{team.pk}", {"member_ids": [outsider.pk]}, **{"If-Match": '"v1"'})
    for resp in (created, patched):
        assert resp.status_code == 422
        assert "member_ids" in error(resp)["fields"]
    assert not Team.objects.filter(name="South").exists()
    assert not team.members.exists()
    assert not outsider.teams.exists()


def test_invalid_team_patch_changes_nothing(api, org, admin):
    team = TeamFactory.create(org=org, name="North")
    resp = api(admin).patch(f"/api/v1/teams/{team.pk}", {"name": ""}, **{"If-Match": '"v1"'})
    assert resp.status_code == 422
    assert set(error(resp)["fields"]) == {"name"}
    team.refresh_from_db()
    assert (team.name, team.version) == ("North", 1)


def test_a_member_user_record_is_untouched_by_member_changes(api, org, admin):
    user = UserFactory.create(name="Keep Me")
    member = MembershipFactory.create(org=org, user=user, role=Role.SALES)
    api(admin).patch(f"/api/v1/members/{member.pk}", {"role": "viewer", "is_active": False}, **{"If-Match": '"v1"'})
    user.refresh_from_db()
    assert (user.name, user.is_active) == ("Keep Me", True)
