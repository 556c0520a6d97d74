"""Workspace settings pages: members and invitations, teams, API tokens, security, audit trail."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.accounts import selectors, services
from rapport.accounts.decorators import perm_required, principal_required
from rapport.accounts.forms import (
    EventFilterForm,
    InviteForm,
    MemberRoleForm,
    SecurityForm,
    TeamForm,
    TokenForm,
)
from rapport.accounts.roles import Perm
from rapport.core import selectors as core_selectors
from rapport.core.errors import ApplicationError, NotFound
from rapport.core.pagination import paginate
from rapport.core.principal import Principal


def _actor(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined]


def _service_error(request: HttpRequest, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


def _not_found(request: HttpRequest) -> HttpResponse:
    """Missing and other workspaces' records answer alike: the not-found page, status 404."""
    return render(request, "web/not_found.html", status=404)


@login_required
@principal_required
def settings_index(request: HttpRequest) -> HttpResponse:
    if _actor(request).has_perm(Perm.MANAGE_SETTINGS):
        return redirect("accounts:members")
    return redirect("accounts:tokens")


# --- members --------------------------------------------------------------------------------


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def members_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    invite_form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if invite_form.is_valid():
            try:
                invitation = services.invitation_create(
                    actor=actor, email=invite_form.cleaned_data["email"], role=invite_form.cleaned_data["role"]
                )
            except ApplicationError as exc:
                invite_form.add_service_error(exc)
            else:
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("accounts:members")
        status = 400
    return render(
        request,
        "accounts/settings/members.html",
        {
            "members": selectors.member_list(actor=actor),
            "invitations": selectors.invitation_list(actor=actor),
            "invite_form": invite_form,
            "role_choices": InviteForm.base_fields["role"].choices,  # type: ignore[attr-defined]
            "section": "members",
        },
        status=status,
    )


@require_POST
@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def member_update_view(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        membership = selectors.member_get(actor=actor, membership_id=member_id)
        action = request.POST.get("action", "role")
        if action in {"deactivate", "reactivate"}:
            services.member_update(
                actor=actor, membership=membership, is_active=action == "reactivate", expected_version=_version(request)
            )
            verb = "reactivated" if action == "reactivate" else "deactivated"
            messages.success(request, f"{membership.user.display_name} was {verb}.")
        else:
            form = MemberRoleForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Choose one of the listed roles.")
                return redirect("accounts:members")
            services.member_update(
                actor=actor,
                membership=membership,
                role=form.cleaned_data["role"],
                expected_version=form.cleaned_data["version"],
            )
            messages.success(request, f"{membership.user.display_name} is now {form.cleaned_data['role']}.")
    except NotFound:
        return _not_found(request)
    except ApplicationError as exc:
        _service_error(request, exc)
    return redirect("accounts:members")


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@require_POST
@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        invitation = selectors.invitation_get(actor=actor, invitation_id=invitation_id)
        services.invitation_revoke(actor=actor, invitation=invitation)
        messages.success(request, f"The invitation of {invitation.email} was revoked.")
    except NotFound:
        return _not_found(request)
    except ApplicationError as exc:
        _service_error(request, exc)
    return redirect("accounts:members")


# --- teams ----------------------------------------------------------------------------------


def _member_choices(actor: Principal) -> list[tuple[int, str]]:
    return [(m.pk, m.user.display_name) for m in selectors.member_list(actor=actor, include_inactive=False)]


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def teams_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = TeamForm(request.POST or None, member_choices=_member_choices(actor))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                team = services.team_create(
                    actor=actor,
                    name=form.cleaned_data["name"],
                    member_ids=[int(pk) for pk in form.cleaned_data["members"]],
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"Team {team.name} was created.")
                return redirect("accounts:teams")
        status = 400
    return render(
        request,
        "accounts/settings/teams.html",
        {
            "teams": selectors.team_list(actor=actor),
            "form": form,
            "section": "teams",
        },
        status=status,
    )


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def team_edit_view(request: HttpRequest, team_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        team = selectors.team_get(actor=actor, team_id=team_id)
    except ApplicationError:
        return _not_found(request)
    initial = {"name": team.name, "members": [m.pk for m in team.members.all()], "version": team.version}
    form = TeamForm(request.POST or None, initial=initial, member_choices=_member_choices(actor))
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "delete":
            try:
                services.team_delete(actor=actor, team=team)
            except ApplicationError as exc:
                _service_error(request, exc)
                return redirect("accounts:team_edit", team_id=team.pk)
            messages.success(request, f"Team {team.name} was deleted.")
            return redirect("accounts:teams")
        if form.is_valid():
            try:
                services.team_update(
                    actor=actor,
                    team=team,
                    expected_version=form.cleaned_data["version"],
                    name=form.cleaned_data["name"],
                    member_ids=[int(pk) for pk in form.cleaned_data["members"]],
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"Team {form.cleaned_data['name']} was saved.")
                return redirect("accounts:teams")
        status = 400 if not form.errors.get("__all__") else 412
    return render(
        request, "accounts/settings/team_edit.html", {"team": team, "form": form, "section": "teams"}, status=status
    )


# --- API tokens -----------------------------------------------------------------------------


@login_required
@principal_required
def tokens_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = TokenForm(request.POST or None)
    new_secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            expires_on = form.cleaned_data["expires_at"]
            expires_at = timezone.make_aware(datetime.combine(expires_on, time.max)) if expires_on else None
            try:
                token, new_secret = services.token_create(
                    actor=actor, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"], expires_at=expires_at
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"Token {token.name} was created. Copy it now: it is shown only once.")
                form = TokenForm()
        else:
            status = 400
    return render(
        request,
        "accounts/settings/tokens.html",
        {
            "tokens": selectors.token_list(actor=actor)[:200],
            "form": form,
            "new_secret": new_secret,
            "section": "tokens",
        },
        status=status,
    )


@require_POST
@login_required
@principal_required
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        token = services.token_revoke(actor=actor, token=selectors.token_get(actor=actor, token_id=token_id))
        messages.success(request, f"Token {token.name} was revoked.")
    except NotFound:
        return _not_found(request)
    except ApplicationError as exc:
        _service_error(request, exc)
    return redirect("accounts:tokens")


# --- security and audit ---------------------------------------------------------------------


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def security_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    # Bound on every POST: an unticked box alone sends an empty body (CSRF may travel in a header).
    data = request.POST if request.method == "POST" else None
    form = SecurityForm(data, initial={"require_2fa": actor.org.require_2fa})
    if request.method == "POST" and form.is_valid():
        org = services.workspace_update_security(actor=actor, require_2fa=form.cleaned_data["require_2fa"])
        state = "now required" if org.require_2fa else "optional"
        messages.success(request, f"Two-factor authentication is {state} in this workspace.")
        return redirect("accounts:security")
    return render(request, "accounts/settings/security.html", {"form": form, "section": "security"})


@login_required
@perm_required(Perm.VIEW_AUDIT)
def audit_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    actor_choices = [(m.user_id, m.user.display_name) for m in selectors.member_list(actor=actor)]
    form = EventFilterForm(request.GET or None, actor_choices=actor_choices)
    page = None
    error = None
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if form.is_bound else {}
        since, until = data.get("since"), data.get("until")
        try:
            qs = core_selectors.event_list(
                actor=actor,
                verb=data.get("verb") or None,
                subject_type=data.get("subject_type") or None,
                actor_id=data.get("actor"),
                since=timezone.make_aware(datetime.combine(since, time.min)) if since else None,
                until=timezone.make_aware(datetime.combine(until, time.min)) if until else None,
            )
            page = paginate(qs, cursor=request.GET.get("cursor") or None, limit=50)
        except ApplicationError as exc:
            error = exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "accounts/settings/audit.html",
        {
            "form": form,
            "page": page,
            "error": error,
            "query": query.urlencode(),
            "section": "audit",
        },
        status=200 if page is not None else 400,
    )
