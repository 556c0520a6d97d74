"""Settings → Outgoing email: the workspace's SMTP server (admins only), with "Test connection".

The password field is write-only: the page says whether a password is stored, never shows it.
"""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.accounts.decorators import perm_required
from rapport.accounts.roles import Perm
from rapport.core.errors import ApplicationError, NotFound
from rapport.core.principal import Principal
from rapport.integrations import smtp_services
from rapport.integrations.forms import SmtpServerForm
from rapport.integrations.models import SmtpServer


def _actor(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined]


def _server(actor: Principal) -> SmtpServer | None:
    try:
        return smtp_services.smtp_get(actor=actor)
    except NotFound:
        return None


def _page(request: HttpRequest, server: SmtpServer | None, form: SmtpServerForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "integrations/smtp_settings.html",
        {"form": form, "server": server, "section": "smtp"},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def smtp_settings_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    server = _server(actor)
    if request.method != "POST":
        return _page(request, server, SmtpServerForm(initial=SmtpServerForm.initial_of(server), server=server))
    form = SmtpServerForm(request.POST, server=server)
    if not form.is_valid():
        return _page(request, server, form, 422)
    try:
        smtp_services.smtp_set(actor=actor, data=form.to_data())
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _page(request, server, form, exc.status)
    messages.success(request, "Outgoing mail server saved. Use “Test connection” to check it.")
    return redirect("integrations:smtp")


@require_POST
@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def smtp_test_view(request: HttpRequest) -> HttpResponse:
    try:
        result = smtp_services.smtp_test(actor=_actor(request))
    except NotFound:
        messages.error(request, "Save the server settings first.")
        return redirect("integrations:smtp")
    if result.ok:
        messages.success(request, result.message)
    else:
        messages.error(request, f"The connection test failed: {result.message}")
    return redirect("integrations:smtp")


@require_POST
@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def smtp_delete_view(request: HttpRequest) -> HttpResponse:
    with contextlib.suppress(NotFound):  # already gone: the page shows the empty form either way
        smtp_services.smtp_delete(actor=_actor(request))
    messages.success(request, "Outgoing mail server removed: emails can no longer be sent from Rapport.")
    return redirect("integrations:smtp")
