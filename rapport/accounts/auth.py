"""API authentication: bearer tokens for clients, the session cookie (with CSRF) for the web UI.

Both resolve to a `Principal`, which endpoints receive as `request.auth`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from rapport.accounts.models import ApiToken
from rapport.accounts.selectors import principal_get
from rapport.accounts.services import hash_secret
from rapport.core.errors import PermissionDenied
from rapport.core.principal import Principal

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer rpt_…` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        api_token = ApiToken.objects.select_related("user").filter(token_hash=hash_secret(token)).first()
        if api_token is None or not api_token.is_usable or not api_token.user.is_active:
            return None
        principal = principal_get(user=api_token.user, org_id=api_token.org_id, scope_=api_token.scope)
        if principal is None or principal.org_id != api_token.org_id:
            return None
        if api_token.scope != ApiToken.Scope.WRITE and request.method not in SAFE_METHODS:
            raise PermissionDenied("read_only_token", "This API token is read-only; create a read-write token.")
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        return principal


class SessionPrincipalAuth(SessionAuth):
    """The web UI's session cookie. CSRF is checked on unsafe methods (ninja's cookie auth does it).

    Requests without a session cookie are passed over, so that a bad bearer token answers 401
    rather than a CSRF failure.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        if not request.user.is_authenticated:
            return None
        principal = getattr(request, "principal", None)
        if principal is None or getattr(request, "needs_2fa_enrolment", False):
            return None
        return principal


token_auth = TokenAuth()
session_auth = SessionPrincipalAuth(csrf=True)
API_AUTH = [token_auth, session_auth]
