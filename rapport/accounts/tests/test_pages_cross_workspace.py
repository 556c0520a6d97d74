"""Pages never reach another workspace's records, and the workspace switcher only goes where you belong."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from rapport.accounts import services
from rapport.accounts.models import ApiToken, Invitation, Membership, Organization, Team
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import MembershipFactory, make_principal


@dataclass
class Theirs:
    member: Membership
    invitation: Invitation
    team: Team
    token: ApiToken


@pytest.fixture
def theirs(other_admin: Principal, other_org: Organization) -> Theirs:
    """Records of workspace B (Globex): a member, an open invitation, a team, an API token."""
    member = Membership.objects.get(org=other_org, user=make_principal(other_org, Role.SALES).user)
    invitation = services.invitation_create(actor=other_admin, email="their-invitee@example.org", role=Role.SALES)
    team = services.team_create(actor=other_admin, name="Globex team", member_ids=[member.pk])
    token, _ = services.token_create(actor=other_admin, name="Globex token", scope="write")
    return Theirs(member=member, invitation=invitation, team=team, token=token)


def _snapshot(theirs: Theirs) -> dict[str, object]:
    member = Membership.objects.get(pk=theirs.member.pk)
    invitation = Invitation.objects.get(pk=theirs.invitation.pk)
    team = Team.objects.get(pk=theirs.team.pk)
    token = ApiToken.objects.get(pk=theirs.token.pk)
    return {
        "member": (member.role, member.is_active, member.version),
        "invitation": (invitation.revoked_at, invitation.accepted_at),
        "team": (team.name, team.version, sorted(team.members.values_list("pk", flat=True))),
        "token": (token.revoked_at,),
        "events": Event.objects.filter(org_id=member.org_id).count(),
    }


def _assert_not_found(resp) -> None:
    assert resp.status_code == 404
    assert "Not found" in resp.content.decode()


def _requests(theirs: Theirs) -> list[tuple[str, str, dict[str, object]]]:
    member = theirs.member
    return [
        ("post", f"/settings/members/{member.pk}/", {"role": "viewer", "version": 1}),
        ("post", f"/settings/members/{member.pk}/", {"action": "deactivate", "version": 1}),
        ("post", f"/settings/invitations/{theirs.invitation.pk}/revoke/", {}),
        ("get", f"/settings/teams/{theirs.team.pk}/", {}),
        ("post", f"/settings/teams/{theirs.team.pk}/", {"name": "Hijacked", "version": 1}),
        ("post", f"/settings/teams/{theirs.team.pk}/", {"action": "delete"}),
        ("post", f"/settings/tokens/{theirs.token.pk}/revoke/", {}),
    ]


def test_admin_of_a_gets_404_for_every_page_taking_an_id_of_b(web, admin, theirs):
    client = web(admin)
    before = _snapshot(theirs)
    for method, path, data in _requests(theirs):
        resp = getattr(client, method)(path, data)
        assert resp.status_code == 404, f"{method.upper()} {path} answered {resp.status_code}"
        assert "Not found" in resp.content.decode()
    assert _snapshot(theirs) == before


def test_an_id_of_b_answers_exactly_like_a_missing_id(web, admin, theirs):
    client = web(admin)
    for method, path, data in _requests(theirs):
        missing = path.replace(f"/{path.split('/')[3]}/", "/987654321/", 1)
        theirs_resp = getattr(client, method)(path, data)
        missing_resp = getattr(client, method)(missing, data)
        assert theirs_resp.status_code == missing_resp.status_code == 404


def test_a_member_of_a_cannot_revoke_bs_token(web, member_of, theirs):
    before = _snapshot(theirs)
    resp = web(member_of(Role.SALES)).post(f"/settings/tokens/{theirs.token.pk}/revoke/")
    _assert_not_found(resp)
    assert _snapshot(theirs) == before


def test_b_members_cannot_be_put_in_a_team_of_a(web, admin, theirs):
    resp = web(admin).post("/settings/teams/", {"name": "Mixed", "members": [theirs.member.pk]})
    assert resp.status_code == 400
    assert not Team.objects.filter(name="Mixed").exists()


def test_b_members_cannot_be_added_to_an_existing_team_of_a(web, admin, theirs):
    team = services.team_create(actor=admin, name="Ours")
    resp = web(admin).post(
        f"/settings/teams/{team.pk}/",
        {"name": "Ours", "members": [theirs.member.pk], "version": team.version},
    )
    assert resp.status_code == 400
    team.refresh_from_db()
    assert team.version == 1 and not team.members.exists()


def test_as_pages_never_list_bs_records(web, admin, theirs):
    client = web(admin)
    members = client.get("/settings/members/").content.decode()
    assert theirs.member.user.email not in members
    assert "their-invitee@example.org" not in members
    assert "Globex team" not in client.get("/settings/teams/").content.decode()
    assert "Globex token" not in client.get("/settings/tokens/").content.decode()


# --- workspace switcher --------------------------------------------------------------------------


def test_switching_to_a_workspace_you_belong_to_switches(web, admin, other_org):
    MembershipFactory(org=other_org, user=admin.user, role=Role.VIEWER.value)
    client = web(admin)
    assert client.get("/").context["principal"].org_id == admin.org_id

    resp = client.post("/workspace/switch/", {"org_id": other_org.pk}, follow=True)

    assert resp.status_code == 200
    assert f"Switched to {other_org.name}." in " ".join(str(m) for m in resp.context["messages"])
    home = client.get("/")
    principal = home.context["principal"]
    assert principal.org_id == other_org.pk and principal.role == Role.VIEWER
    body = home.content.decode()
    assert f"<h2>{other_org.name}</h2>" in body
    assert "Viewer" in body
    # The role follows the workspace: a viewer there is not an admin there.
    assert client.get("/settings/members/").status_code == 403


def test_switching_to_a_workspace_you_do_not_belong_to_is_refused(web, admin, other_org):
    client = web(admin)
    resp = client.post("/workspace/switch/", {"org_id": other_org.pk}, follow=True)
    assert "You are not a member of that workspace." in " ".join(str(m) for m in resp.context["messages"])
    assert client.session["rapport_org_id"] == admin.org_id
    home = client.get("/")
    assert home.context["principal"].org_id == admin.org_id
    assert other_org.name not in home.content.decode()


def test_switching_to_a_workspace_where_you_were_deactivated_is_refused(web, admin, other_org):
    MembershipFactory(org=other_org, user=admin.user, role=Role.ADMIN.value, is_active=False)
    client = web(admin)
    client.post("/workspace/switch/", {"org_id": other_org.pk})
    assert client.get("/").context["principal"].org_id == admin.org_id


@pytest.mark.parametrize("org_id", ["", "abc", "-1", "999999"])
def test_switching_with_a_bad_workspace_id_is_refused(web, admin, org_id):
    client = web(admin)
    resp = client.post("/workspace/switch/", {"org_id": org_id})
    assert resp.status_code == 302
    assert client.session["rapport_org_id"] == admin.org_id


def test_switching_is_post_only(web, admin, other_org):
    MembershipFactory(org=other_org, user=admin.user, role=Role.VIEWER.value)
    client = web(admin)
    assert client.get(f"/workspace/switch/?org_id={other_org.pk}").status_code == 405
    assert client.session["rapport_org_id"] == admin.org_id


def test_a_forged_session_workspace_falls_back_to_ones_own(admin, other_org):
    client = Client()
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session["rapport_org_id"] = other_org.pk
    session.save()
    home = client.get("/")
    assert home.status_code == 200
    assert home.context["principal"].org_id == admin.org_id
