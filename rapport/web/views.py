"""The shell's own pages: home and the search page behind the command palette."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.activities.notifications import notification_list
from rapport.activities.task_selectors import day_bounds, meeting_end, meetings_today, task_row
from rapport.activities.task_services import task_my_day
from rapport.core.search import search as run_search


@login_required
@principal_required
def home(request: HttpRequest) -> HttpResponse:
    """Home: "My day" (today's and overdue tasks, today's meetings, recent notifications) and the
    quick links. `?task=<id>` (the link of a task's notifications) opens that task's page."""
    task_id = request.GET.get("task", "")
    if task_id.isdigit() and len(task_id) < 19:
        return redirect("tasks:detail", task_id=int(task_id))
    actor = request.principal  # type: ignore[attr-defined]
    now = timezone.now()
    _, today_end = day_bounds(now)
    context = {
        "my_day": [task_row(task, now, today_end) for task in task_my_day(actor=actor)],
        "meetings": [{"meeting": m, "end": meeting_end(m)} for m in meetings_today(actor=actor, now=now)],
        "recent_notifications": list(notification_list(actor=actor).order_by("-created_at", "-id")[:5]),
        "can_add_task": actor.can(Entity.ACTIVITY, Mode.WRITE),
        "now": now,
    }
    return render(request, "web/home.html", context)


@login_required
@principal_required
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    hits = run_search(actor=request.principal, q=q)  # type: ignore[attr-defined]
    template = "web/_search_results.html" if request.htmx else "web/search.html"  # type: ignore[attr-defined]
    return render(request, template, {"q": q, "hits": hits})
