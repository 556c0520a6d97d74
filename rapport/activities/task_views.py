"""The task pages and the notifications page.

/tasks/ lists the tasks the member may read (filters: assignee, status, due; sorted by due date;
keyset pages, see rapport.activities.task_selectors); /tasks/new/ creates one (also the quick add
of "My day", and "Add task" on a contact or company page, which pre-fills the link); /tasks/<id>/
shows one, with edit, delete (with confirmation), done and reopen. Every write goes through the
task services; their field errors show on the form's fields. Missing tasks and other workspaces'
answer 404; a task the member may read but not change answers 403 to a write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.activities import notifications, task_services
from rapport.activities.models import Task, TaskStatus
from rapport.activities.task_forms import TaskFilterForm, TaskForm
from rapport.activities.task_selectors import day_bounds, task_page, task_row
from rapport.contacts import selectors as contact_selectors
from rapport.contacts.views.common import (
    actor_of,
    add_errors,
    company_by_name,
    contact_by_text,
    contact_label,
    forbidden,
    member_choices,
    not_found,
)
from rapport.core import fulltext
from rapport.core.access import can_write
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.principal import Principal

PAGE_SIZE = 100
TASK_PAGE_SIZE = 50
CONTACT_SUGGESTIONS = 10
PREFERENCE_FIELDS = (
    ("email_reminders", "Email me reminders and emails that could not be sent"),
    ("email_mentions", "Email me when I am mentioned"),
    ("email_assignments", "Email me when a task is assigned to me"),
)


def _next_url(request: HttpRequest, default: str) -> str:
    """Where to go after a write: the form's `next` when it is a path of this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


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


# --- the list -----------------------------------------------------------------------------------


def _filter_record(actor: Principal, kind: str, pk: int | None) -> Any:
    if not pk:
        return None
    try:
        if kind == "contact":
            return contact_selectors.contact_get(actor=actor, contact_id=pk)
        return contact_selectors.company_get(actor=actor, company_id=pk)
    except NotFound:
        return None


@require_safe
@login_required
@principal_required
def task_list_page(request: HttpRequest) -> HttpResponse:
    """GET /tasks/: the tasks the member may read, filtered (my open tasks by default), by due date."""
    actor = actor_of(request)
    if not actor.can(Entity.ACTIVITY):
        return forbidden(request, "see tasks")
    form = TaskFilterForm(request.GET or None, members=member_choices(actor))
    context: dict[str, Any] = {
        "form": form,
        "page": None,
        "error": "",
        "can_add": actor.can(Entity.ACTIVITY, Mode.WRITE),
    }
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid: " + "; ".join(
            f"{form.fields[name].label or name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()
        )
        return render(request, "activities/task_list.html", context, status=400)
    query = form.query()
    now = timezone.now()
    try:
        page = task_page(
            actor=actor, query=query, cursor=request.GET.get("cursor") or None, limit=TASK_PAGE_SIZE, now=now
        )
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "activities/task_list.html", context, status=400)
    _, today_end = day_bounds(now)
    keep = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    add_query = {"contact": query.contact_id or "", "company": query.company_id or ""}
    context.update(
        page=page,
        rows=[task_row(task, now, today_end) for task in page.items],
        query=urlencode(keep),
        filtered=bool(keep),
        here=request.get_full_path(),
        contact=_filter_record(actor, "contact", query.contact_id),
        company=_filter_record(actor, "company", query.company_id),
        add_url=reverse("tasks:add") + "?" + urlencode({k: v for k, v in add_query.items() if v}),
    )
    return render(request, "activities/task_list.html", context)


# --- create and edit ----------------------------------------------------------------------------


def _links(actor: Principal, form: TaskForm, task: Task | None, data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Put the contact and company the form names into `data` (as ids); the failed look-ups' messages.

    An edit that leaves a link as it was does not send it, so a link to a record the editor may not
    read (or that was trashed) stays."""
    lookups: dict[str, tuple[str, str]] = {}
    if task is None or "contact" in form.changed_data:
        data["contact_id"], message = contact_by_text(actor, form.cleaned_data.get("contact") or "")
        lookups["contact_id"] = ("contact", message)
    if task is None or "company" in form.changed_data:
        name = form.cleaned_data.get("company") or ""
        data["company_id"], message = company_by_name(actor, name, current=task.company_id if task else None)
        lookups["company_id"] = ("company", message)
    return lookups


def _form_page(
    request: HttpRequest, form: TaskForm, task: Task | None, next_url: str, status: int = 200
) -> HttpResponse:
    context = {"form": form, "task": task, "next": next_url}
    return render(request, "activities/task_form.html", context, status=status)


def _prefill(actor: Principal, request: HttpRequest) -> dict[str, Any]:
    """The initial values of a new task: assigned to the actor, linked to `?contact=` / `?company=`."""
    initial: dict[str, Any] = {"assignee": actor.user_id, "priority": "normal", "status": "open"}
    contact = _filter_record(actor, "contact", _int(request.GET.get("contact")))
    company = _filter_record(actor, "company", _int(request.GET.get("company")))
    if contact is not None:
        initial["contact"] = contact_label(contact)
        company = company or contact.live_company
    if company is not None:
        initial["company"] = company.name
    return initial


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def task_create_page(request: HttpRequest) -> HttpResponse:
    """GET: the form (pre-filled from `?contact=` / `?company=`); POST: create, then go to `next`
    (the home page's quick add, the record page of "Add task") or the list."""
    actor = actor_of(request)
    if not actor.can(Entity.ACTIVITY, Mode.WRITE):
        return forbidden(request, "add tasks")
    next_url = _next_url(request, "")
    members = member_choices(actor)
    if request.method != "POST":
        return _form_page(request, TaskForm(initial=_prefill(actor, request), members=members), None, next_url)
    form = TaskForm(request.POST, members=members)
    if not form.is_valid():
        return _form_page(request, form, None, next_url, 422)
    data = form.to_data()
    lookups = _links(actor, form, None, data)
    try:
        task = task_services.task_create(actor=actor, data=data)
    except PermissionDenied:
        return forbidden(request, "add tasks")
    except ApplicationError as exc:
        add_errors(form, exc, lookups)
        return _form_page(request, form, None, next_url, exc.status)
    messages.success(request, f"Task “{task.title}” added.")
    return redirect(next_url or reverse("tasks:list"))


def _task(request: HttpRequest, task_id: int, mode: Mode = Mode.READ) -> Task:
    return task_services.task_get(actor=actor_of(request), task_id=task_id, mode=mode)


@require_safe
@login_required
@principal_required
def task_detail_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """One task with all its fields, and its actions for a member who may change it."""
    actor = actor_of(request)
    try:
        task = _task(request, task_id)
    except NotFound:
        return not_found(request)
    now = timezone.now()
    context = {
        **task_row(task, now, day_bounds(now)[1]),
        "editable": can_write(actor, task, Entity.ACTIVITY),
        "here": request.get_full_path(),
    }
    return render(request, "activities/task_detail.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def task_edit_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """GET: the form with the task's values; POST: save with the version the form was opened at."""
    actor = actor_of(request)
    try:
        task = _task(request, task_id, Mode.WRITE)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "change this task")
    next_url = _next_url(request, "")
    members = member_choices(actor)
    initial = TaskForm.initial_of(task)
    if request.method != "POST":
        return _form_page(request, TaskForm(initial=initial, members=members, editing=True), task, next_url)
    form = TaskForm(request.POST, initial=initial, members=members, editing=True)
    if not form.is_valid():
        return _form_page(request, form, task, next_url, 422)
    data = form.to_data()
    lookups = _links(actor, form, task, data)
    try:
        task_services.task_update(actor=actor, task=task, data=data, expected_version=form.cleaned_data["version"])
    except PermissionDenied:
        return forbidden(request, "change this task")
    except StaleVersion:
        form.add_error(None, "Someone else changed this task since you opened it — reload to see their changes.")
        return _form_page(request, form, task, next_url, 409)
    except ApplicationError as exc:
        add_errors(form, exc, lookups)
        return _form_page(request, form, task, next_url, exc.status)
    messages.success(request, "Task saved.")
    return redirect(next_url or reverse("tasks:detail", args=[task.pk]))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def task_delete_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """GET asks for confirmation; POST moves the task to the trash."""
    actor = actor_of(request)
    try:
        task = _task(request, task_id, Mode.WRITE)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "delete this task")
    if request.method != "POST":
        return render(request, "activities/task_confirm_delete.html", {"task": task})
    try:
        task_services.task_delete(actor=actor, task=task)
    except PermissionDenied:
        return forbidden(request, "delete this task")
    messages.success(request, f"Task “{task.title}” deleted.")
    return redirect("tasks:list")


@login_required
@principal_required
@require_POST
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    """Tick a task done, then back to `next` (the list, a record page) or "My day"."""
    actor = actor_of(request)
    try:
        task = _task(request, task_id, Mode.WRITE)
        task_services.task_complete(actor=actor, task=task)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "change this task")
    messages.success(request, f"“{task.title}” is done.")
    return redirect(_next_url(request, "/#my-day"))


@login_required
@principal_required
@require_POST
def task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    """Open a done or cancelled task again, then back to `next` or the task."""
    actor = actor_of(request)
    try:
        task = _task(request, task_id, Mode.WRITE)
        task_services.task_update(actor=actor, task=task, data={"status": TaskStatus.OPEN}, expected_version=None)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "change this task")
    except ValidationFailed as exc:  # pragma: no cover - the status is always valid
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{task.title}” is open again.")
    return redirect(_next_url(request, reverse("tasks:detail", args=[task.pk])))


@require_safe
@login_required
@principal_required
def contact_suggest(request: HttpRequest) -> HttpResponse:
    """GET /tasks/contacts/suggest/?q=<text>: the <option>s of up to 10 contacts the member may read
    (the global search's index: names, emails, phones). `field` names the parameter holding the
    text, as htmx sends an input's value under the input's own name."""
    actor = actor_of(request)
    text = request.GET.get(request.GET.get("field") or "q", "")[:200]
    hits = fulltext.search_entries(
        org_id=actor.org_id,
        q=text,
        kinds=["contact"],
        visible=fulltext.visibility_for(actor, {"contact": Entity.CONTACT}),
        limit=CONTACT_SUGGESTIONS,
    )
    options = [{"value": f"{hit.title} (#{hit.object_id})", "detail": hit.subtitle} for hit in hits]
    return HttpResponse(render_to_string("activities/task_contact_suggestions.html", {"options": options}))
