"""Pages of tasks and notifications: the notifications page, and the "My day" forms of the home
page (add a task, tick one done). Plain POSTs that redirect back; every write goes through the
task and notification services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Mode
from rapport.activities import notifications, task_services
from rapport.contacts.views.common import actor_of, forbidden, not_found
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed

PAGE_SIZE = 100
PREFERENCE_FIELDS = (
    ("email_reminders", "Email me reminders"),
    ("email_mentions", "Email me when I am mentioned"),
    ("email_assignments", "Email me when a task is assigned to me"),
)


@login_required
@principal_required
@require_http_methods(["GET", "POST"])
def notification_page(request: HttpRequest) -> HttpResponse:
    """The member's notifications, newest first; POST `read=<id>` or `read=all` marks them read, and
    POST `preferences=1` saves the email preferences (an unticked box is off)."""
    actor = actor_of(request)
    if request.method == "POST" and request.POST.get("preferences"):
        notifications.preference_update(actor=actor, data={name: name in request.POST for name, _ in PREFERENCE_FIELDS})
        messages.success(request, "Email preferences saved.")
        return redirect("tasks:notifications")
    if request.method == "POST":
        target = request.POST.get("read", "")
        if target == "all":
            notifications.notification_read_all(actor=actor)
        else:
            try:
                notification = notifications.notification_read(actor=actor, notification_id=int(target))
            except (NotFound, ValueError):
                return not_found(request)
            if notification.url and request.POST.get("follow"):
                return redirect(notification.url)
        return redirect("tasks:notifications")
    items = list(notifications.notification_list(actor=actor).order_by("-created_at", "-id")[:PAGE_SIZE])
    pref = notifications.preference_get(actor=actor)
    preferences = [{"name": name, "label": label, "checked": getattr(pref, name)} for name, label in PREFERENCE_FIELDS]
    return render(request, "activities/notifications.html", {"items": items, "preferences": preferences})


@login_required
@principal_required
@require_POST
def task_add(request: HttpRequest) -> HttpResponse:
    """Add a task for oneself from the home page (title and an optional due time)."""
    data = {"title": request.POST.get("title", "")}
    if request.POST.get("due_at"):
        data["due_at"] = request.POST["due_at"]
    try:
        task_services.task_create(actor=actor_of(request), data=data)
    except PermissionDenied:
        return forbidden(request, "add tasks")
    except ValidationFailed as exc:
        messages.error(request, "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message)
    else:
        messages.success(request, "Task added.")
    return redirect("/#my-day")


@login_required
@principal_required
@require_POST
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    """Tick a task done."""
    actor = actor_of(request)
    try:
        task = task_services.task_get(actor=actor, task_id=task_id, mode=Mode.WRITE)
        task_services.task_complete(actor=actor, task=task)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "change this task")
    return redirect("/#my-day")
