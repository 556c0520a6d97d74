"""Type-ahead of company names: the <option>s of the <datalist> a company-name input is tied to."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from rapport.accounts.decorators import principal_required
from rapport.contacts import selectors
from rapport.contacts.views.common import actor_of


@require_safe
@login_required
@principal_required
def company_suggest(request: HttpRequest) -> HttpResponse:
    """GET /companies/suggest/?q=<text>: up to 10 companies the actor may read, named <text>…

    The text is `q`, or the parameter that `field` names (htmx sends an input's value under the
    input's own name, such as `details-company`). No text, no options. Rendered without the page
    shell's context (workspaces, navigation): it is asked for at every pause in typing.
    """
    text = request.GET.get(request.GET.get("field") or "q", "")
    suggestions = selectors.company_suggest(actor=actor_of(request), prefix=text)
    return HttpResponse(render_to_string("contacts/_company_suggestions.html", {"suggestions": suggestions}))
