"""Reads of the accounts app. Every selector filters by the actor's workspace."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from rapport.accounts.models import ApiToken, Invitation, Membership, Team, User
from rapport.accounts.roles import Entity, Mode, Perm, Role
from rapport.core.access import access, require, require_entity, scope
from rapport.core.principal import Principal


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The workspaces a user may switch between (active memberships), by workspace name."""
    return Membership.objects.filter(user=user, is_active=True).select_related("org").order_by("org__name")


def principal_get(*, user: User, org_id: int | None, scope_: str = "write") -> Principal | None:
    """The user's principal in workspace `org_id` (or their first workspace); None without one."""
    memberships = membership_list_for_user(user=user).select_related("user").prefetch_related("teams")
    membership = None
    if org_id is not None:
        membership = memberships.filter(org_id=org_id).first()
    if membership is None:
        membership = memberships.first()
    if membership is None:
        return None
    return Principal(
        user=membership.user,
        org=membership.org,
        role=Role(membership.role),
        team_ids=frozenset(t.pk for t in membership.teams.all()),
        membership_id=membership.pk,
        scope=scope_,
    )


def member_list(*, actor: Principal, include_inactive: bool = True) -> QuerySet[Membership]:
    """Members of the workspace with their users and teams (two queries whatever the count)."""
    qs = scope(actor, Membership.objects.all(), Entity.MEMBER)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return (
        qs.select_related("user")
        .prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
        .order_by("user__name", "user__email")
    )


def member_get(*, actor: Principal, membership_id: object, mode: Mode = Mode.READ) -> Membership:
    return access(actor, Membership.objects.select_related("user"), membership_id, Entity.MEMBER, mode)


def team_list(*, actor: Principal) -> QuerySet[Team]:
    return (
        scope(actor, Team.objects.all(), Entity.TEAM)
        .prefetch_related(Prefetch("members", queryset=Membership.objects.select_related("user")))
        .order_by("name")
    )


def team_get(*, actor: Principal, team_id: object, mode: Mode = Mode.READ) -> Team:
    return access(actor, Team.objects.all(), team_id, Entity.TEAM, mode)


def invitation_list(*, actor: Principal) -> QuerySet[Invitation]:
    require(actor, Perm.MANAGE_SETTINGS)
    return Invitation.objects.filter(org_id=actor.org_id, accepted_at__isnull=True, revoked_at__isnull=True).order_by(
        "-created_at"
    )


def invitation_get(*, actor: Principal, invitation_id: object) -> Invitation:
    require(actor, Perm.MANAGE_SETTINGS)
    return access(actor, Invitation.objects.all(), invitation_id, Entity.MEMBER)


def token_list(*, actor: Principal) -> QuerySet[ApiToken]:
    """The actor's own API tokens in this workspace, newest first (revoked ones included)."""
    return ApiToken.objects.filter(org_id=actor.org_id, user_id=actor.user_id).order_by("-created_at", "-id")


def token_get(*, actor: Principal, token_id: object) -> ApiToken:
    """One of the actor's own tokens; an admin may also reach other members' tokens."""
    qs = ApiToken.objects.filter(org_id=actor.org_id)
    if not actor.has_perm(Perm.MANAGE_SETTINGS):
        qs = qs.filter(user_id=actor.user_id)
    require_entity(actor, Entity.MEMBER, Mode.READ)
    return access(actor, qs, token_id, Entity.MEMBER)
