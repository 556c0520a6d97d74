"""Writes of the accounts app: workspaces, members, invitations, teams, API tokens, 2FA policy.

Every service runs in one transaction and records an Event; emails go out from tasks enqueued
on commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from rapport.accounts import twofactor
from rapport.accounts.models import ApiToken, Invitation, Membership, Organization, Team, User
from rapport.accounts.roles import Entity, Mode, Perm, Role
from rapport.core.access import require, require_entity
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal

INVITATION_DAYS = 7
TOKEN_PREFIX = "rpt_"  # noqa: S105  (a marker, not a secret)


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (tokens, invitation links): enough, and fast to look up."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean_email(email: str, field: str = "email") -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed("invalid_email", "Enter a valid email address.", field=field) from None
    return email


def _clean_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ValidationFailed("invalid_role", f"Unknown role; choose one of: {choices}.", field="role") from None


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("weak_password", " ".join(exc.messages), field="password") from None


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "workspace"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


# --- users and workspaces -------------------------------------------------------------------


@transaction.atomic
def user_create(*, email: str, password: str, name: str = "", check_password: bool = True) -> User:
    """Create a login. Raises Conflict when the email is taken."""
    email = _clean_email(email)
    if User.objects.filter(email=email).exists():
        raise Conflict("email_taken", "A user with this email already exists.", field="email")
    if check_password:
        _check_password(password, User(email=email, name=name))
    return User.objects.create_user(email=email, password=password, name=name.strip())


@transaction.atomic
def workspace_create(*, name: str, admin: User, slug: str | None = None) -> tuple[Organization, Principal]:
    """Create a workspace with `admin` as its first administrator; returns the admin's principal."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("required", "A workspace needs a name.", field="name")
    org = Organization.objects.create(name=name, slug=slug or _unique_slug(name))
    membership = Membership.objects.create(org=org, user=admin, role=Role.ADMIN, created_by=admin)
    actor = Principal.for_membership(membership)
    record_event(actor, "workspace.created", org, {"name": [None, org.name]}, subject_type="organization")
    record_event(actor, "member.added", membership, {"user": [None, admin.email], "role": [None, Role.ADMIN]})
    return org, actor


@transaction.atomic
def workspace_update_security(*, actor: Principal, require_2fa: bool) -> Organization:
    """Make TOTP two-factor authentication mandatory (or optional) for every member."""
    require(actor, Perm.MANAGE_SETTINGS)
    org = Organization.objects.select_for_update().get(pk=actor.org_id)
    if org.require_2fa != require_2fa:
        old = org.require_2fa
        Organization.objects.filter(pk=org.pk).update(require_2fa=require_2fa, version=F("version") + 1)
        org.refresh_from_db()
        record_event(actor, "workspace.updated", org, {"require_2fa": [old, require_2fa]}, subject_type="organization")
    return org


# --- members --------------------------------------------------------------------------------


@transaction.atomic
def member_add(*, actor: Principal, user: User, role: str) -> Membership:
    """Add an existing user to the actor's workspace (used by invitations and the CLI)."""
    require(actor, Perm.MANAGE_SETTINGS)
    role_value = _clean_role(role)
    existing = Membership.objects.filter(org_id=actor.org_id, user=user).first()
    if existing:
        raise Conflict("already_member", "This person is already a member of the workspace.", field="email")
    membership = Membership.objects.create(org_id=actor.org_id, user=user, role=role_value, created_by=actor.user)
    record_event(actor, "member.added", membership, {"user": [None, user.email], "role": [None, role_value]})
    return membership


def _other_active_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(org_id=membership.org_id, role=Role.ADMIN, is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def _bump(membership: Membership, expected_version: int | None, **values: object) -> Membership:
    qs = Membership.objects.filter(pk=membership.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        raise StaleVersion()
    membership.refresh_from_db()
    return membership


@transaction.atomic
def member_update(
    *,
    actor: Principal,
    membership: Membership,
    role: str | None = None,
    is_active: bool | None = None,
    expected_version: int | None = None,
) -> Membership:
    """Change a member's role or (de)activate them. The last active admin cannot be demoted or deactivated."""
    require(actor, Perm.MANAGE_SETTINGS)
    if membership.org_id != actor.org_id:
        raise NotFound()
    before = {"role": membership.role, "is_active": membership.is_active}
    after = dict(before)
    if role is not None:
        after["role"] = _clean_role(role).value
    if is_active is not None:
        after["is_active"] = is_active
    changes = diff(before, after)
    if not changes:
        if expected_version is not None and expected_version != membership.version:
            raise StaleVersion()
        return membership
    losing_admin = (
        before["role"] == Role.ADMIN and before["is_active"] and (after["role"] != Role.ADMIN or not after["is_active"])
    )
    if losing_admin and not _other_active_admins(membership):
        raise Conflict("last_admin", "A workspace needs at least one active admin.", field="role")
    membership = _bump(membership, expected_version, **after)
    verb = "member.updated"
    if "is_active" in changes:
        verb = "member.reactivated" if after["is_active"] else "member.deactivated"
    record_event(actor, verb, membership, changes)
    if "is_active" in changes and not after["is_active"]:
        # A deactivated member's API tokens for this workspace stop working at once.
        ApiToken.objects.filter(org_id=actor.org_id, user_id=membership.user_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    return membership


# --- invitations ----------------------------------------------------------------------------


@transaction.atomic
def invitation_create(*, actor: Principal, email: str, role: str) -> Invitation:
    """Invite a person by email. The link is made and mailed by a task once this commits."""
    require(actor, Perm.MANAGE_SETTINGS)
    email = _clean_email(email)
    role_value = _clean_role(role)
    if Membership.objects.filter(org_id=actor.org_id, user__email=email).exists():
        raise Conflict("already_member", "This person is already a member of the workspace.", field="email")
    # A new invitation replaces any open one for the same address.
    Invitation.objects.filter(
        org_id=actor.org_id, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        org_id=actor.org_id,
        email=email,
        role=role_value,
        # Replaced by the mailing task with the hash of the secret it sends; nobody knows this one.
        token_hash=hash_secret(secrets.token_urlsafe(32)),
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
        created_by=actor.user,
    )
    record_event(actor, "invitation.sent", invitation, {"email": [None, email], "role": [None, role_value]})
    from rapport.accounts.tasks import send_invitation_email

    invitation_id = invitation.pk
    transaction.on_commit(lambda: send_invitation_email(invitation_id))
    return invitation


@transaction.atomic
def invitation_issue_link(*, invitation_id: int) -> tuple[Invitation, str] | None:
    """Give an open invitation a fresh link secret (only its hash is kept); None if no longer open."""
    invitation = (
        # Lock only the invitation: PostgreSQL refuses FOR UPDATE on the outer join to a null created_by.
        Invitation.objects.select_for_update(of=("self",))
        .select_related("org", "created_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_open:
        return None
    secret = secrets.token_urlsafe(32)
    invitation.token_hash = hash_secret(secret)
    invitation.save(update_fields=["token_hash", "updated_at"])
    return invitation, secret


@transaction.atomic
def invitation_revoke(*, actor: Principal, invitation: Invitation) -> Invitation:
    require(actor, Perm.MANAGE_SETTINGS)
    if invitation.org_id != actor.org_id:
        raise NotFound()
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        record_event(actor, "invitation.revoked", invitation, {"email": [invitation.email, None]})
    return invitation


def invitation_by_secret(secret: str) -> Invitation:
    """The open invitation behind a link, or NotFound (expired, used and unknown links alike)."""
    invitation = Invitation.objects.select_related("org").filter(token_hash=hash_secret(secret or "")).first()
    if invitation is None or not invitation.is_open:
        raise NotFound("invitation_invalid", "This invitation link is invalid or has expired.")
    return invitation


@transaction.atomic
def invitation_accept(*, secret: str, user: User | None = None, name: str = "", password: str = "") -> Membership:
    """Join the workspace of an invitation, as the logged-in `user` or as a new user (name + password)."""
    invitation = invitation_by_secret(secret)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if user is None:
        existing = User.objects.filter(email=invitation.email).first()
        if existing is not None:
            raise Conflict("login_required", "You already have an account: log in to accept the invitation.")
        user = user_create(email=invitation.email, password=password, name=name)
    elif user.email != invitation.email:
        raise PermissionDenied("wrong_account", f"This invitation is for {invitation.email}; log in as that user.")
    membership = Membership.objects.filter(org_id=invitation.org_id, user=user).first()
    if membership is None:
        membership = Membership.objects.create(
            org_id=invitation.org_id, user=user, role=invitation.role, created_by=invitation.created_by
        )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    actor = Principal.for_membership(membership)
    record_event(actor, "invitation.accepted", invitation, {"email": [None, invitation.email]})
    record_event(actor, "member.added", membership, {"user": [None, user.email], "role": [None, membership.role]})
    return membership


# --- teams ----------------------------------------------------------------------------------


def _clean_team_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("required", "A team needs a name.", field="name")
    if len(name) > 100:
        raise ValidationFailed("too_long", "A team name has at most 100 characters.", field="name")
    return name


def _member_ids(actor: Principal, member_ids: list[int]) -> list[int]:
    found = set(Membership.objects.filter(org_id=actor.org_id, pk__in=member_ids).values_list("pk", flat=True))
    unknown = [str(pk) for pk in member_ids if pk not in found]
    if unknown:
        raise ValidationFailed(
            "unknown_member", f"No such member in this workspace: {', '.join(unknown)}.", field="member_ids"
        )
    return sorted(found)


@transaction.atomic
def team_create(*, actor: Principal, name: str, member_ids: list[int] | None = None) -> Team:
    require_entity(actor, Entity.TEAM, Mode.WRITE)
    name = _clean_team_name(name)
    ids = _member_ids(actor, member_ids or [])
    try:
        with transaction.atomic():
            team = Team.objects.create(org_id=actor.org_id, name=name, created_by=actor.user)
    except IntegrityError:
        raise Conflict("team_exists", "A team with this name already exists.", field="name") from None
    team.members.set(ids)
    record_event(actor, "team.created", team, {"name": [None, name], "member_ids": [[], ids]})
    return team


@transaction.atomic
def team_update(
    *,
    actor: Principal,
    team: Team,
    expected_version: int | None,
    name: str | None = None,
    member_ids: list[int] | None = None,
) -> Team:
    """Rename a team and/or replace its members; refuses a stale version."""
    require_entity(actor, Entity.TEAM, Mode.WRITE)
    if team.org_id != actor.org_id:
        raise NotFound()
    before = {"name": team.name, "member_ids": sorted(team.members.values_list("pk", flat=True))}
    after = dict(before)
    if name is not None:
        after["name"] = _clean_team_name(name)
        if Team.objects.filter(org_id=actor.org_id, name=after["name"]).exclude(pk=team.pk).exists():
            raise Conflict("team_exists", "A team with this name already exists.", field="name")
    new_member_ids = _member_ids(actor, member_ids) if member_ids is not None else None
    if new_member_ids is not None:
        after["member_ids"] = new_member_ids
    qs = Team.objects.filter(pk=team.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if not qs.update(name=after["name"], version=F("version") + 1, updated_at=timezone.now()):
        raise StaleVersion()
    if new_member_ids is not None:
        team.members.set(new_member_ids)
    team.refresh_from_db()
    changes = diff(before, after)
    if changes:
        record_event(actor, "team.updated", team, changes)
    return team


@transaction.atomic
def team_delete(*, actor: Principal, team: Team) -> None:
    require_entity(actor, Entity.TEAM, Mode.WRITE)
    if team.org_id != actor.org_id:
        raise NotFound()
    record_event(actor, "team.deleted", team, {"name": [team.name, None]})
    team.delete()


# --- API tokens -----------------------------------------------------------------------------


@transaction.atomic
def token_create(
    *, actor: Principal, name: str, scope: str = "read", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal API token for the actor's workspace; the secret is returned once, never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("required", "Give the token a name, such as what will use it.", field="name")
    if len(name) > 100:
        raise ValidationFailed("too_long", "A token name has at most 100 characters.", field="name")
    if scope not in ApiToken.Scope.values:
        raise ValidationFailed("invalid_scope", "Scope must be 'read' or 'write'.", field="scope")
    if scope == ApiToken.Scope.WRITE and actor.scope != "write":
        raise PermissionDenied("scope_escalation", "A read-only token cannot create a read-write token.")
    if actor.org.require_2fa and not twofactor.has_2fa(actor.user):
        raise PermissionDenied(
            "2fa_enrolment_required",
            "This workspace requires two-factor authentication: set it up before creating API tokens.",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("in_the_past", "The expiry must be in the future.", field="expires_at")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        org_id=actor.org_id,
        user=actor.user,
        name=name,
        prefix=secret[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
        token_hash=hash_secret(secret),
        scope=scope,
        expires_at=expires_at,
        created_by=actor.user,
    )
    record_event(actor, "token.created", token, {"name": [None, name], "scope": [None, scope]})
    return token, secret


@transaction.atomic
def token_revoke(*, actor: Principal, token: ApiToken) -> ApiToken:
    """Revoke one of the actor's own tokens (admins may revoke anyone's in their workspace)."""
    if token.org_id != actor.org_id:
        raise NotFound()
    if token.user_id != actor.user_id:
        require(actor, Perm.MANAGE_SETTINGS)
    if actor.scope != "write":
        raise PermissionDenied()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        record_event(actor, "token.revoked", token, {"name": [token.name, None]})
    return token
