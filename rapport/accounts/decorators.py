"""View decorators: a page needs a workspace; settings pages need the manage-settings permission."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rapport.accounts.roles import Perm

View = Callable[..., HttpResponse]


def principal_required(view: View) -> View:
    """Render the 'no workspace' page for a logged-in user without an active membership."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "principal", None) is None:
            return render(request, "accounts/no_workspace.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def perm_required(perm: Perm) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            principal = getattr(request, "principal", None)
            if principal is None:
                return render(request, "accounts/no_workspace.html", status=403)
            if not principal.has_perm(perm):
                return render(request, "web/denied.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
