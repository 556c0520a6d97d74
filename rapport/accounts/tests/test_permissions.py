"""The permission table (rapport.accounts.roles), role by role, through Principal and the real API.

The expected table below is written out by hand on purpose: a change to what a role may do must
change this file too, so that it is a decision and not an accident.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Q
from django.test.utils import isolate_apps
from django.utils import timezone

from rapport.accounts import services
from rapport.accounts.models import ApiToken, Invitation, Membership, Team
from rapport.accounts.roles import ROLES, Entity, Level, Mode, Perm, Role
from rapport.core.access import access, can_write, level_filter, scope
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.models import Event, OwnedModel
from rapport.core.principal import Principal
from rapport.testing.factories import MembershipFactory, TeamFactory

N, O, T, A = Level.NONE, Level.OWN, Level.TEAM, Level.ALL  # noqa: E741  (the table reads better)
NON_ADMIN_ROLES = [Role.MANAGER, Role.SALES, Role.SUPPORT, Role.MARKETING, Role.VIEWER]

_COLUMNS = [
    "contact",
    "company",
    "activity",
    "deal",
    "product",
    "order",
    "ticket",
    "campaign",
    "report",
    "member",
    "team",
    "event",
]
_TABLE = """
admin      A/A A/A A/A A/A A/A A/A A/A A/A A/A A/A A/A A/A
manager    A/A A/A A/A A/A A/A A/A A/A A/A A/A A/N A/N N/N
sales      A/T A/T A/O T/O A/N T/O A/N A/N A/O A/N A/N N/N
support    A/T A/T A/O A/N A/N A/N A/T N/N A/O A/N A/N N/N
marketing  A/A A/A A/O A/N A/N A/N N/N A/A A/O A/N A/N N/N
viewer     A/N A/N A/N A/N A/N A/N A/N A/N A/N A/N A/N N/N
"""
_LEVELS = {"N": N, "O": O, "T": T, "A": A}


def _expected_levels() -> dict[tuple[Role, Entity], tuple[Level, Level]]:
    table = {}
    for line in _TABLE.strip().splitlines():
        role, *cells = line.split()
        for column, cell in zip(_COLUMNS, cells, strict=True):
            read, write = cell.split("/")
            table[(Role(role), Entity(column))] = (_LEVELS[read], _LEVELS[write])
    return table


EXPECTED_LEVELS = _expected_levels()
EXPECTED_PERMS = {
    Role.ADMIN: {Perm.EXPORT, Perm.MANAGE_SETTINGS, Perm.SEE_SENSITIVE, Perm.VIEW_AUDIT},
    Role.MANAGER: {Perm.EXPORT, Perm.SEE_SENSITIVE},
    Role.SALES: set(),
    Role.SUPPORT: set(),
    Role.MARKETING: {Perm.EXPORT},
    Role.VIEWER: set(),
}


def _invitation(org: Any, email: str) -> Invitation:
    return Invitation.objects.create(
        org=org,
        email=email,
        role=Role.SALES,
        token_hash=services.hash_secret(email),
        expires_at=timezone.now() + timedelta(days=1),
    )


def test_the_expected_table_covers_every_role_and_entity():
    assert set(ROLES) == set(Role)
    assert set(EXPECTED_LEVELS) == {(role, entity) for role in Role for entity in Entity}
    assert set(EXPECTED_PERMS) == set(Role)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_has_exactly_the_read_and_write_levels_of_the_table(member_of, role):
    actor = member_of(role)
    for entity in Entity:
        read, write = EXPECTED_LEVELS[(role, entity)]
        assert actor.level(entity, Mode.READ) is read, (role, entity, "read")
        assert actor.level(entity, Mode.WRITE) is write, (role, entity, "write")
        assert actor.can(entity, Mode.READ) is (read > N)
        assert actor.can(entity, Mode.WRITE) is (write > N)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_holds_exactly_its_named_permissions(member_of, role):
    actor = member_of(role)
    held = {perm for perm in Perm if actor.has_perm(perm)}
    assert held == EXPECTED_PERMS[role]


@pytest.mark.parametrize("role", list(Role))
def test_a_read_only_principal_keeps_reads_but_loses_every_write_and_settings(member_of, role):
    actor = member_of(role)
    read_only = Principal(
        user=actor.user, org=actor.org, role=actor.role, team_ids=actor.team_ids, scope=ApiToken.Scope.READ
    )
    for entity in Entity:
        assert read_only.level(entity, Mode.READ) is EXPECTED_LEVELS[(role, entity)][0]
        assert read_only.level(entity, Mode.WRITE) is N
    assert not read_only.has_perm(Perm.MANAGE_SETTINGS)
    assert {p for p in Perm if read_only.has_perm(p)} == EXPECTED_PERMS[role] - {Perm.MANAGE_SETTINGS}


@pytest.mark.parametrize("role", list(Role))
def test_me_reports_the_roles_access_and_permissions(api, member_of, role):
    actor = member_of(role)
    body = api(actor, scope="write").get("/api/v1/me").json()
    assert body["role"] == role.value
    assert body["permissions"] == sorted(p.value for p in EXPECTED_PERMS[role])
    for entity in Entity:
        read, write = EXPECTED_LEVELS[(role, entity)]
        assert body["access"][entity.value] == {"read": read.name.lower(), "write": write.name.lower()}


# --- the admin-only endpoints, refused to every other role ---------------------------------


def _assert_denied(resp: Any) -> None:
    assert resp.status_code == 403, resp.content
    assert resp.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_admins_may_create_teams(api, member_of, role):
    client = api(member_of(role))
    events = Event.objects.count()
    resp = client.post("/api/v1/teams", {"name": "Closers"})
    _assert_denied(resp)
    assert not Team.objects.filter(name="Closers").exists()
    assert Event.objects.count() == events


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_admins_may_rename_or_delete_teams(api, org, member_of, role):
    team = TeamFactory.create(org=org, name="Hunters")
    client = api(member_of(role))
    events = Event.objects.count()
    _assert_denied(client.patch(f"/api/v1/teams/{team.pk}", {"name": "Farmers"}, **{"If-Match": '"v1"'}))
    _assert_denied(client.delete(f"/api/v1/teams/{team.pk}"))
    team.refresh_from_db()
    assert (team.name, team.version) == ("Hunters", 1)
    assert Event.objects.count() == events


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_admins_may_change_a_members_role_or_deactivate_them(api, org, member_of, role):
    colleague = MembershipFactory.create(org=org, role=Role.VIEWER)
    client = api(member_of(role))
    events = Event.objects.count()
    for change in ({"role": "admin"}, {"is_active": False}):
        _assert_denied(client.patch(f"/api/v1/members/{colleague.pk}", change, **{"If-Match": '"v1"'}))
    colleague.refresh_from_db()
    assert (colleague.role, colleague.is_active, colleague.version) == (Role.VIEWER, True, 1)
    assert Event.objects.count() == events


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_a_member_cannot_promote_themselves(api, member_of, role):
    actor = member_of(role)
    resp = api(actor).patch(f"/api/v1/members/{actor.membership_id}", {"role": "admin"}, **{"If-Match": "*"})
    _assert_denied(resp)
    assert Membership.objects.get(pk=actor.membership_id).role == role


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_admins_may_invite_list_or_revoke_invitations(
    api, org, member_of, role, django_capture_on_commit_callbacks
):
    pending = _invitation(org, "pending@example.org")
    client = api(member_of(role))
    events = Event.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        _assert_denied(client.post("/api/v1/members/invitations", {"email": "new@example.org", "role": "admin"}))
    assert callbacks == []  # no invitation email was queued
    _assert_denied(client.get("/api/v1/members/invitations"))
    _assert_denied(client.delete(f"/api/v1/members/invitations/{pending.pk}"))
    assert not Invitation.objects.filter(email="new@example.org").exists()
    pending.refresh_from_db()
    assert pending.revoked_at is None
    assert Event.objects.count() == events


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_admins_may_read_the_audit_trail(api, member_of, role):
    resp = api(member_of(role)).get("/api/v1/events")
    _assert_denied(resp)
    assert "items" not in resp.json()


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_list_members_and_teams(api, org, member_of, role):
    actor = member_of(role)
    team = TeamFactory.create(org=org, name="Everyone")
    members = api(actor).get("/api/v1/members").json()["items"]
    assert actor.membership_id in {m["id"] for m in members}
    teams = api(actor).get("/api/v1/teams").json()["items"]
    assert [t["id"] for t in teams] == [team.pk]


def test_an_admin_may_do_what_the_other_roles_may_not(api, org, admin):
    client = api(admin)
    colleague = MembershipFactory.create(org=org, role=Role.VIEWER)
    created = client.post("/api/v1/teams", {"name": "Closers"})
    assert created.status_code == 201
    assert Team.objects.filter(org=org, name="Closers").exists()
    patched = client.patch(f"/api/v1/members/{colleague.pk}", {"role": "sales"}, **{"If-Match": '"v1"'})
    assert patched.status_code == 200
    colleague.refresh_from_db()
    assert colleague.role == Role.SALES
    invited = client.post("/api/v1/members/invitations", {"email": "new@example.org", "role": "sales"})
    assert invited.status_code == 201
    assert Invitation.objects.filter(org=org, email="new@example.org").exists()
    events = client.get("/api/v1/events").json()["items"]
    assert {"team.created", "member.updated", "invitation.sent"} <= {e["verb"] for e in events}


# --- scope / access --------------------------------------------------------------------------


def test_scope_limits_ownerless_records_to_the_actors_workspace(org, other_org, member_of):
    actor = member_of(Role.VIEWER)
    mine = TeamFactory.create(org=org)
    TeamFactory.create(org=other_org)
    assert list(scope(actor, Team.objects.all(), Entity.TEAM)) == [mine]
    members = scope(actor, Membership.objects.all(), Entity.MEMBER)
    assert set(members.values_list("org_id", flat=True)) == {org.pk}


def test_scope_with_level_none_returns_nothing(org, member_of, admin):
    services.team_create(actor=admin, name="Audited")
    assert Event.objects.filter(org=org).exists()
    viewer = member_of(Role.VIEWER)
    assert list(scope(viewer, Event.objects.all(), Entity.EVENT)) == []
    assert scope(admin, Event.objects.all(), Entity.EVENT).count() == Event.objects.filter(org=org).count()


def test_access_answers_not_found_for_missing_foreign_and_malformed_ids(org, other_org, member_of):
    actor = member_of(Role.SALES)
    foreign = TeamFactory.create(org=other_org)
    for pk in (foreign.pk, 10**9, "abc", None):
        with pytest.raises(NotFound):
            access(actor, Team.objects.all(), pk, Entity.TEAM)


def test_access_for_write_is_denied_to_roles_that_may_only_read(org, member_of, admin):
    team = TeamFactory.create(org=org)
    sales = member_of(Role.SALES)
    assert access(sales, Team.objects.all(), team.pk, Entity.TEAM) == team
    with pytest.raises(PermissionDenied):
        access(sales, Team.objects.all(), team.pk, Entity.TEAM, Mode.WRITE)
    assert access(admin, Team.objects.all(), team.pk, Entity.TEAM, Mode.WRITE) == team
    assert can_write(admin, team, Entity.TEAM)
    assert not can_write(sales, team, Entity.TEAM)


def test_access_for_write_is_denied_to_a_read_only_token_even_for_an_admin(org, admin):
    team = TeamFactory.create(org=org)
    read_only = Principal(user=admin.user, org=admin.org, role=admin.role, team_ids=frozenset(), scope="read")
    assert access(read_only, Team.objects.all(), team.pk, Entity.TEAM) == team
    with pytest.raises(PermissionDenied):
        access(read_only, Team.objects.all(), team.pk, Entity.TEAM, Mode.WRITE)


def test_level_filter_on_ownerless_models_means_the_whole_workspace_at_any_level(admin):
    for level in (O, T, A):
        assert level_filter(admin, Team, level) == Q(org_id=admin.org_id)
    assert level_filter(admin, Team, N) is None


@isolate_apps("rapport.core")
def test_level_filter_on_owned_models_narrows_to_owner_and_team(org):
    class Thing(OwnedModel):
        class Meta:
            app_label = "core"

    teams = [TeamFactory.create(org=org), TeamFactory.create(org=org)]
    member = MembershipFactory.create(org=org, role=Role.SALES)
    member.teams.set(teams)
    actor = Principal.for_membership(member)
    team_ids = frozenset(t.pk for t in teams)
    assert actor.team_ids == team_ids

    workspace = Q(org_id=org.pk)
    assert level_filter(actor, Thing, N) is None
    assert level_filter(actor, Thing, O) == workspace & Q(owner_id=member.user_id)
    assert level_filter(actor, Thing, T) == workspace & (Q(owner_id=member.user_id) | Q(team_id__in=team_ids))
    assert level_filter(actor, Thing, A) == workspace
