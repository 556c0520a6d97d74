"""Login (with the TOTP step), logout, password reset, invitations, profile and 2FA enrolment."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from rapport.accounts import selectors, services, twofactor
from rapport.accounts.decorators import principal_required
from rapport.accounts.forms import (
    InvitationAcceptForm,
    LoginForm,
    OtpForm,
    PasswordConfirmForm,
    PasswordResetRequestForm,
)
from rapport.accounts.middleware import SESSION_ORG_KEY
from rapport.accounts.models import User
from rapport.core.errors import ApplicationError

PENDING_USER_KEY = "rapport_pending_2fa_user"
PENDING_NEXT_KEY = "rapport_pending_next"
PENDING_BACKEND_KEY = "rapport_pending_backend"


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """What a locked-out login attempt gets: JSON on the API, a page elsewhere; always 429."""
    message = "Too many failed logins for this account from your address; try again in 15 minutes."
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "locked_out", "message": message, "fields": {}}}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse_lazy("web:home")  # type: ignore[return-value]


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:home")
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next")
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, email=form.cleaned_data["email"].lower(), password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request, None, None)
        if not isinstance(user, User):
            form.add_error(None, "The email or password is not correct.")
        elif twofactor.has_2fa(user):
            request.session.cycle_key()
            request.session[PENDING_USER_KEY] = user.pk
            request.session[PENDING_BACKEND_KEY] = user.backend  # type: ignore[attr-defined]
            request.session[PENDING_NEXT_KEY] = str(_safe_next(request, next_url))
            return redirect("accounts:login_otp")
        else:
            login(request, user)
            return redirect(_safe_next(request, next_url))
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": next_url or ""}, status=status)


def login_otp_view(request: HttpRequest) -> HttpResponse:
    """Second step of a login for users with 2FA: a valid, never-used code from their app."""
    pending = request.session.get(PENDING_USER_KEY)
    user = User.objects.filter(pk=pending, is_active=True).first() if pending else None
    if user is None:
        return redirect("accounts:login")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.verify(user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", "That code is not valid, or it was already used. Wait for the next one.")
        else:
            next_url = request.session.get(PENDING_NEXT_KEY)
            backend = request.session.get(PENDING_BACKEND_KEY)
            login(request, user, backend=backend)
            otp_login(request, device)
            return redirect(_safe_next(request, next_url))
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login_otp.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, "You are logged out.")
    return redirect("accounts:login")


def password_reset_view(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(email=form.cleaned_data["email"].lower(), is_active=True).first()
        if user is not None:
            from rapport.accounts.tasks import send_password_reset_email

            user_id = user.pk
            transaction.on_commit(lambda: send_password_reset_email(user_id))
        return render(request, "accounts/password_reset_sent.html", {"email": form.cleaned_data["email"]})
    return render(
        request, "accounts/password_reset.html", {"form": form}, status=400 if request.method == "POST" else 200
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed. Log in with the new one.")
        return response


@require_POST
@login_required
def switch_workspace(request: HttpRequest) -> HttpResponse:
    try:
        org_id = int(request.POST.get("org_id", ""))
    except ValueError:
        org_id = -1
    memberships = selectors.membership_list_for_user(user=request.user)  # type: ignore[arg-type]
    membership = memberships.filter(org_id=org_id).first()
    if membership is None:
        messages.error(request, "You are not a member of that workspace.")
        return redirect("web:home")
    request.session[SESSION_ORG_KEY] = membership.org_id
    messages.success(request, f"Switched to {membership.org.name}.")
    return redirect("web:home")


def invitation_accept_view(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        invitation = services.invitation_by_secret(secret)
    except ApplicationError as exc:
        return render(request, "accounts/invitation_invalid.html", {"message": exc.message}, status=404)
    existing = User.objects.filter(email=invitation.email).exists()
    # Bound on every POST, so a service error can be put on it even when the fields were not used.
    form = InvitationAcceptForm(request.POST if request.method == "POST" else None)
    context = {"invitation": invitation, "form": form, "existing": existing}
    if request.method != "POST":
        return render(request, "accounts/invitation_accept.html", context)
    try:
        if request.user.is_authenticated:
            membership = services.invitation_accept(secret=secret, user=request.user)
        elif existing:
            messages.info(request, "Log in to accept the invitation.")
            return redirect(f"{reverse_lazy('accounts:login')}?next={request.path}")
        elif form.is_valid():
            membership = services.invitation_accept(
                secret=secret, name=form.cleaned_data["name"], password=form.cleaned_data["password"]
            )
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        else:
            return render(request, "accounts/invitation_accept.html", context, status=400)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return render(request, "accounts/invitation_accept.html", context, status=exc.status)
    request.session[SESSION_ORG_KEY] = membership.org_id
    messages.success(request, f"Welcome to {invitation.org.name}.")
    return redirect("web:home")


@login_required
@principal_required
def profile_view(request: HttpRequest) -> HttpResponse:
    actor = request.principal  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/profile.html",
        {
            "has_2fa": twofactor.has_2fa(actor.user),
            "disable_form": PasswordConfirmForm(),
        },
    )


@login_required
def twofactor_setup_view(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: show the QR code of a new device, confirm it with one code."""
    actor = getattr(request, "principal", None)
    if actor is None:
        return render(request, "accounts/no_workspace.html", status=403)
    form = OtpForm(request.POST or None)
    device = twofactor.pending_device(actor.user)
    if request.method == "POST" and device is not None and form.is_valid():
        try:
            device = twofactor.totp_confirm(actor=actor, device=device, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form.add_error("code", exc.message)
        else:
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is on. You will be asked for a code at login.")
            return redirect("accounts:profile")
    elif device is None or request.method == "GET":
        device = twofactor.totp_begin(user=actor.user)
    return render(
        request,
        "accounts/2fa_setup.html",
        {
            "form": form,
            "qr": twofactor.qr_data_uri(device),
            "secret": _base32(device.bin_key),
            "required": request.needs_2fa_enrolment,  # type: ignore[attr-defined]
        },
        status=400 if request.method == "POST" else 200,
    )


def _base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


@require_POST
@login_required
@principal_required
def twofactor_disable_view(request: HttpRequest) -> HttpResponse:
    actor = request.principal  # type: ignore[attr-defined]
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            twofactor.totp_disable(actor=actor, password=form.cleaned_data["password"])
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, "Two-factor authentication is off.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"has_2fa": True, "disable_form": form}, status=400)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change the password (Django keeps the session valid after the change)."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response
