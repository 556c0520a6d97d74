"""Accounts API: tokens, the current user, members, invitations, teams.

(No `from __future__ import annotations` in API modules: ninja reads the real annotations,
also through the `idempotent` wrapper whose module does not know the schemas.)
"""

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from rapport.accounts import selectors, services, twofactor
from rapport.accounts.models import ApiToken, Organization, User
from rapport.accounts.roles import Entity, Mode, Perm
from rapport.accounts.schemas import (
    InvitationIn,
    InvitationOut,
    LoginTokenIn,
    MemberOut,
    MemberPatch,
    MeOut,
    TeamIn,
    TeamOut,
    TeamPatch,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
)
from rapport.core.access import require
from rapport.core.errors import (
    NotAuthenticated,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal

router = Router(tags=["accounts"])

ERRORS = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428, 429)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


# --- tokens ---------------------------------------------------------------------------------


def _login(request: HttpRequest, email: str, password: str) -> User:
    try:
        user = authenticate(request, email=email, password=password)
    except AxesBackendPermissionDenied:
        raise TooManyRequests(
            "locked_out", "Too many failed logins for this account from your address; try again later."
        ) from None
    if getattr(request, "axes_locked_out", False):
        raise TooManyRequests(
            "locked_out", "Too many failed logins for this account from your address; try again later."
        )
    if user is None or not isinstance(user, User):
        raise NotAuthenticated("invalid_credentials", "The email or password is not correct.")
    return user


@router.post("/auth/token", auth=None, response={201: TokenCreatedOut, **ERRORS}, summary="Log in for a token")
def login_for_token(request: HttpRequest, payload: LoginTokenIn) -> Status[ApiToken]:
    """Exchange email + password (+ the 2FA code, for users with 2FA) for a personal API token."""
    user = _login(request, payload.email, payload.password)
    if twofactor.has_2fa(user):
        if not payload.otp:
            raise ValidationFailed(
                "otp_required", "This account uses two-factor authentication: send `otp`.", field="otp"
            )
        if twofactor.verify(user, payload.otp) is None:
            raise NotAuthenticated("invalid_otp", "The two-factor code is not valid (or was already used).")
    memberships = list(selectors.membership_list_for_user(user=user))
    if not memberships:
        raise PermissionDenied("no_workspace", "This user belongs to no workspace.")
    if payload.workspace:
        chosen = [m for m in memberships if m.org.slug == payload.workspace]
        if not chosen:
            raise ValidationFailed("unknown_workspace", "You are not a member of that workspace.", field="workspace")
    elif len(memberships) > 1:
        slugs = ", ".join(m.org.slug for m in memberships)
        raise ValidationFailed(
            "workspace_required", f"You belong to several workspaces; send one of: {slugs}.", field="workspace"
        )
    else:
        chosen = memberships
    org: Organization = chosen[0].org
    if org.require_2fa and not twofactor.has_2fa(user):
        raise PermissionDenied(
            "2fa_enrolment_required",
            "This workspace requires two-factor authentication: set it up in the web app first.",
        )
    actor = selectors.principal_get(user=user, org_id=org.pk)
    assert actor is not None
    token, secret = services.token_create(
        actor=actor, name=payload.name, scope=payload.scope, expires_at=payload.expires_at
    )
    token.token = secret  # type: ignore[attr-defined]
    # A login like the web one: axes resets the failure count, Django records last_login.
    user_logged_in.send(sender=type(user), request=request, user=user)
    return Status(201, token)


@router.get("/tokens", response={200: PageOut[TokenOut], **ERRORS}, summary="List my API tokens")
def list_tokens(request: HttpRequest, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> object:
    return paginate(selectors.token_list(actor=_actor(request)), cursor=cursor, limit=limit)


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS}, summary="Create an API token")
@idempotent(TokenCreatedOut, secret_fields=("token",))
def create_token(request: HttpRequest, payload: TokenIn) -> ApiToken:
    token, secret = services.token_create(
        actor=_actor(request), name=payload.name, scope=payload.scope, expires_at=payload.expires_at
    )
    token.token = secret  # type: ignore[attr-defined]
    return token


@router.get("/tokens/{token_id}", response={200: TokenOut, **ERRORS}, summary="Get an API token")
def get_token(request: HttpRequest, token_id: int) -> ApiToken:
    return selectors.token_get(actor=_actor(request), token_id=token_id)


@router.delete("/tokens/{token_id}", response={200: TokenOut, **ERRORS}, summary="Revoke an API token")
def revoke_token(request: HttpRequest, token_id: int) -> ApiToken:
    actor = _actor(request)
    return services.token_revoke(actor=actor, token=selectors.token_get(actor=actor, token_id=token_id))


# --- me -------------------------------------------------------------------------------------


@router.get("/me", response={200: MeOut, **ERRORS}, summary="Who am I")
def me(request: HttpRequest) -> dict[str, object]:
    actor = _actor(request)
    return {
        "user": actor.user,
        "workspace": actor.org,
        "role": actor.role.value,
        "team_ids": sorted(actor.team_ids),
        "access": {
            entity.value: {
                "read": actor.level(entity, Mode.READ).name.lower(),
                "write": actor.level(entity, Mode.WRITE).name.lower(),
            }
            for entity in Entity
        },
        "permissions": sorted(p.value for p in Perm if actor.has_perm(p)),
        "workspaces": [m.org for m in selectors.membership_list_for_user(user=actor.user)],
        "token_scope": actor.scope,
    }


# --- members and invitations ----------------------------------------------------------------


@router.get("/members", response={200: PageOut[MemberOut], **ERRORS}, summary="List members")
def list_members(request: HttpRequest, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> object:
    return paginate(selectors.member_list(actor=_actor(request)), cursor=cursor, limit=limit)


@router.get("/members/invitations", response={200: PageOut[InvitationOut], **ERRORS}, summary="Open invitations")
def list_invitations(request: HttpRequest, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> object:
    return paginate(selectors.invitation_list(actor=_actor(request)), cursor=cursor, limit=limit)


@router.post("/members/invitations", response={201: InvitationOut, **ERRORS}, summary="Invite by email")
@idempotent(InvitationOut)
def invite_member(request: HttpRequest, payload: InvitationIn) -> object:
    return services.invitation_create(actor=_actor(request), email=payload.email, role=payload.role.value)


@router.delete(
    "/members/invitations/{invitation_id}", response={200: InvitationOut, **ERRORS}, summary="Revoke an invitation"
)
def revoke_invitation(request: HttpRequest, invitation_id: int) -> object:
    actor = _actor(request)
    invitation = selectors.invitation_get(actor=actor, invitation_id=invitation_id)
    return services.invitation_revoke(actor=actor, invitation=invitation)


@router.get("/members/{member_id}", response={200: MemberOut, **ERRORS}, summary="Get a member")
def get_member(request: HttpRequest, response: HttpResponse, member_id: int) -> object:
    membership = selectors.member_get(actor=_actor(request), membership_id=member_id)
    with_etag(response, membership)
    return membership


@router.patch(
    "/members/{member_id}", response={200: MemberOut, **ERRORS}, summary="Change a member's role or deactivate them"
)
def update_member(request: HttpRequest, response: HttpResponse, member_id: int, payload: MemberPatch) -> object:
    actor = _actor(request)
    require(actor, Perm.MANAGE_SETTINGS)
    version = if_match(request)
    membership = selectors.member_get(actor=actor, membership_id=member_id)
    membership = services.member_update(
        actor=actor,
        membership=membership,
        role=payload.role.value if payload.role else None,
        is_active=payload.is_active,
        expected_version=version,
    )
    with_etag(response, membership)
    return membership


# --- teams ----------------------------------------------------------------------------------


@router.get("/teams", response={200: PageOut[TeamOut], **ERRORS}, summary="List teams")
def list_teams(request: HttpRequest, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> object:
    return paginate(selectors.team_list(actor=_actor(request)), cursor=cursor, limit=limit)


@router.post("/teams", response={201: TeamOut, **ERRORS}, summary="Create a team")
@idempotent(TeamOut)
def create_team(request: HttpRequest, payload: TeamIn) -> object:
    return services.team_create(actor=_actor(request), name=payload.name, member_ids=payload.member_ids)


@router.get("/teams/{team_id}", response={200: TeamOut, **ERRORS}, summary="Get a team")
def get_team(request: HttpRequest, response: HttpResponse, team_id: int) -> object:
    team = selectors.team_get(actor=_actor(request), team_id=team_id)
    with_etag(response, team)
    return team


@router.patch("/teams/{team_id}", response={200: TeamOut, **ERRORS}, summary="Rename a team or set its members")
def update_team(request: HttpRequest, response: HttpResponse, team_id: int, payload: TeamPatch) -> object:
    actor = _actor(request)
    team = selectors.team_get(actor=actor, team_id=team_id, mode=Mode.WRITE)
    version = if_match(request)
    team = services.team_update(
        actor=actor, team=team, expected_version=version, name=payload.name, member_ids=payload.member_ids
    )
    with_etag(response, team)
    return team


@router.delete("/teams/{team_id}", response={204: None, **ERRORS}, summary="Delete a team")
def delete_team(request: HttpRequest, team_id: int) -> Status[None]:
    actor = _actor(request)
    services.team_delete(actor=actor, team=selectors.team_get(actor=actor, team_id=team_id, mode=Mode.WRITE))
    return Status(204, None)
