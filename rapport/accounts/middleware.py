"""Attach the acting Principal to each request, and hold users to their workspace's 2FA rule."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from rapport.accounts import twofactor
from rapport.accounts.selectors import principal_get
from rapport.core.principal import Principal

SESSION_ORG_KEY = "rapport_org_id"

# Pages a user who must still enrol in 2FA may reach.
ENROLMENT_PATHS = ("/account/2fa/", "/logout/", "/static/", "/healthz", "/api/")


def _principal(request: HttpRequest) -> Principal | None:
    if not request.user.is_authenticated:
        return None
    return principal_get(user=request.user, org_id=request.session.get(SESSION_ORG_KEY))


class PrincipalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        principal = _principal(request)
        request.principal = principal  # type: ignore[attr-defined]
        request.needs_2fa_enrolment = False  # type: ignore[attr-defined]
        if principal is not None and principal.org.require_2fa and not twofactor.has_2fa(request.user):  # type: ignore[arg-type]
            request.needs_2fa_enrolment = True  # type: ignore[attr-defined]
            if not request.path.startswith(ENROLMENT_PATHS):
                return redirect("accounts:2fa_setup")
        return self.get_response(request)
