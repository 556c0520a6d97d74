"""The shell's own pages: home and the search page behind the command palette."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from rapport.accounts.decorators import principal_required
from rapport.activities.notifications import notification_list
from rapport.activities.task_services import task_my_day
from rapport.core.search import search as run_search


@login_required
@principal_required
def home(request: HttpRequest) -> HttpResponse:
    """Home: "My day" (today's and overdue tasks, recent notifications) and the quick links."""
    actor = request.principal  # type: ignore[attr-defined]
    context = {
        "my_day": task_my_day(actor=actor),
        "recent_notifications": list(notification_list(actor=actor).order_by("-created_at", "-id")[:5]),
        "now": timezone.now(),
    }
    return render(request, "web/home.html", context)


@login_required
@principal_required
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    hits = run_search(actor=request.principal, q=q)  # type: ignore[attr-defined]
    template = "web/_search_results.html" if request.htmx else "web/search.html"  # type: ignore[attr-defined]
    return render(request, template, {"q": q, "hits": hits})
