"""The activity pages: the list (/activities/) and one activity (/activities/<id>/) with edit and delete.

The list reads through `selectors.activity_list` (filters: kind, owner, date range, contact, company;
cursor pages): one query for a page's rows and one for their participants, whatever the page size. Edit and
delete go through the services (edit with the version the form was opened at, so a change made in
the meantime is refused). Missing, trashed and other workspaces' activities answer 404; an activity
the actor may read but not change answers 403 to an edit or a delete. Someone else's private
activity is missing to everyone but its owner (404); only the owner may share it or make it private.

The trash (/activities/trash/) lists the trashed activities the actor may restore, each with Restore.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import strip_tags
from django.views.decorators.http import require_http_methods, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.activities import selectors, services
from rapport.activities.attachment_views import AttachmentForm, attachment_context
from rapport.activities.forms import ActivityEditForm, ActivityFilterForm
from rapport.activities.markdown import render_markdown
from rapport.activities.models import Activity, ActivityContact
from rapport.activities.timeline import duration_text
from rapport.contacts import selectors as contact_selectors
from rapport.contacts.views.common import actor_of, forbidden, member_choices, not_found
from rapport.core.access import can_write
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.filtering import Condition
from rapport.core.pagination import paginate
from rapport.core.principal import Principal

PAGE_SIZE = 50


def _conditions(form: ActivityFilterForm) -> list[Condition]:
    data = form.cleaned_data
    conditions = []
    if data.get("kind"):
        conditions.append(Condition("kind", "eq", data["kind"]))
    if data.get("owner"):
        conditions.append(Condition("owner_id", "eq", data["owner"]))
    if data.get("start"):
        conditions.append(Condition("occurred_at", "gte", data["start"].isoformat()))
    if data.get("end"):
        conditions.append(Condition("occurred_at", "lte", data["end"].isoformat()))
    if data.get("contact"):
        conditions.append(Condition("contact_id", "eq", data["contact"]))
    if data.get("company"):
        conditions.append(Condition("company_id", "eq", data["company"]))
    return conditions


def _filter_contact(actor: Principal, contact_id: int | None) -> Any:
    if not contact_id:
        return None
    try:
        return contact_selectors.contact_get(actor=actor, contact_id=contact_id)
    except NotFound:
        return None


def _filter_company(actor: Principal, company_id: int | None) -> Any:
    if not company_id:
        return None
    try:
        return contact_selectors.company_get(actor=actor, company_id=company_id)
    except NotFound:
        return None


@require_safe
@login_required
@principal_required
def activity_list_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not actor.can(Entity.ACTIVITY):
        return forbidden(request, "see activities")
    form = ActivityFilterForm(request.GET or None, owners=member_choices(actor))
    context: dict[str, Any] = {"form": form, "page": None, "error": ""}
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid: " + "; ".join(
            f"{form.fields[name].label or name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()
        )
        return render(request, "activities/activity_list.html", context, status=400)
    cleaned = form.cleaned_data if form.is_bound else {}
    try:
        qs, ordering = selectors.activity_list(actor=actor, conditions=_conditions(form) if form.is_bound else [])
        # The participants in one query with their contacts; the users are not shown here.
        links = ActivityContact.objects.select_related("contact").order_by("id")
        qs = qs.prefetch_related(None).prefetch_related(Prefetch("contact_links", queryset=links))
        page = paginate(qs, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE, ordering=ordering)
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "activities/activity_list.html", context, status=400)
    keep = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    context.update(
        page=page,
        query=urlencode(keep),
        filtered=bool(keep),
        contact=_filter_contact(actor, cleaned.get("contact")),
        company=_filter_company(actor, cleaned.get("company")),
        rows=[
            {
                "activity": a,
                "people": [link.contact for link in a.contact_links.all() if link.contact.deleted_at is None],
                "duration": duration_text(a.duration),
                "excerpt": "" if a.subject else strip_tags(render_markdown(a.body[:400])),
            }
            for a in page.items
        ],
    )
    return render(request, "activities/activity_list.html", context)


def _detail(
    request: HttpRequest,
    actor: Principal,
    activity: Activity,
    form: ActivityEditForm | None,
    status: int = 200,
    *,
    attachment_form: AttachmentForm | None = None,
) -> HttpResponse:
    editable = can_write(actor, activity, Entity.ACTIVITY)
    owner = activity.owner_id == actor.user_id
    if form is None and editable:
        form = ActivityEditForm(initial=ActivityEditForm.initial_of(activity), kind=activity.kind, owner=owner)
    context = {
        "activity": activity,
        "body": render_markdown(activity.body),
        "duration": duration_text(activity.duration),
        "people": [link.contact for link in activity.contact_links.all() if link.contact.deleted_at is None],
        "company": activity.company if activity.company and activity.company.deleted_at is None else None,
        "editable": editable,
        "owner": owner,
        "form": form if editable else None,
    }
    context.update(attachment_context(actor, activity, editable, attachment_form))
    return render(request, "activities/activity_detail.html", context, status=status)


@require_safe
@login_required
@principal_required
def activity_detail_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        activity = selectors.activity_get(actor=actor, activity_id=activity_id)
    except NotFound:
        return not_found(request)
    return _detail(request, actor, activity, None)


@require_http_methods(["POST"])
@login_required
@principal_required
def activity_edit_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        activity = selectors.activity_get(actor=actor, activity_id=activity_id)
    except NotFound:
        return not_found(request)
    if not can_write(actor, activity, Entity.ACTIVITY):
        return forbidden(request, "change this activity")
    form = ActivityEditForm(
        request.POST,
        initial=ActivityEditForm.initial_of(activity),
        kind=activity.kind,
        owner=activity.owner_id == actor.user_id,
    )
    if not form.is_valid():
        return _detail(request, actor, activity, form, 422)
    try:
        services.activity_update(
            actor=actor, activity=activity, data=form.to_data(), expected_version=form.cleaned_data["version"]
        )
    except PermissionDenied:
        return forbidden(request, "change this activity")
    except StaleVersion:
        form.add_error(None, "Someone else changed this activity since you opened it — reload to see their changes.")
        return _detail(request, actor, activity, form, 409)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _detail(request, actor, activity, form, exc.status)
    messages.success(request, "Activity saved.")
    return redirect("activities:detail", activity_id=activity.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def activity_delete_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    """GET asks for confirmation (the Delete button works without JavaScript); POST moves it to the trash."""
    actor = actor_of(request)
    try:
        activity = selectors.activity_get(actor=actor, activity_id=activity_id)
    except NotFound:
        return not_found(request)
    if not can_write(actor, activity, Entity.ACTIVITY):
        return forbidden(request, "delete this activity")
    if request.method != "POST":
        return render(request, "activities/activity_confirm_delete.html", {"activity": activity})
    try:
        services.activity_delete(actor=actor, activity=activity)
    except PermissionDenied:
        return forbidden(request, "delete this activity")
    messages.success(request, "Activity moved to the trash.")
    return redirect("activities:list")


@require_http_methods(["POST"])
@login_required
@principal_required
def activity_privacy_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    """The owner's "Make private" / "Share with the workspace" button (POST `private`: 1 or 0)."""
    actor = actor_of(request)
    try:
        activity = selectors.activity_get(actor=actor, activity_id=activity_id)
    except NotFound:
        return not_found(request)
    private = request.POST.get("private")
    if private not in {"0", "1"}:
        messages.error(request, "Choose whether the activity is private.")
        return redirect("activities:detail", activity_id=activity.pk)
    if activity.owner_id != actor.user_id:
        return forbidden(request, "change who sees this activity")
    try:
        services.activity_update(
            actor=actor, activity=activity, data={"private": private == "1"}, expected_version=None
        )
    except PermissionDenied:
        return forbidden(request, "change who sees this activity")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("activities:detail", activity_id=activity.pk)
    messages.success(request, "Only you can see this activity now." if private == "1" else "Activity shared.")
    return redirect("activities:detail", activity_id=activity.pk)


@require_safe
@login_required
@principal_required
def activity_trash_page(request: HttpRequest) -> HttpResponse:
    """The trashed activities the actor may restore, most recently trashed first, with Restore."""
    actor = actor_of(request)
    if not actor.can(Entity.ACTIVITY, Mode.WRITE):
        return forbidden(request, "restore activities")
    qs, ordering = selectors.activity_trash(actor=actor)
    try:
        page = paginate(qs, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE, ordering=ordering)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("activities:trash")
    rows = [
        {
            "activity": a,
            "people": [link.contact for link in a.contact_links.all() if link.contact.deleted_at is None],
            "excerpt": "" if a.subject else strip_tags(render_markdown(a.body[:400])),
        }
        for a in page.items
    ]
    return render(request, "activities/activity_trash.html", {"page": page, "rows": rows})


@require_http_methods(["POST"])
@login_required
@principal_required
def activity_restore_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    """Restore from the trash; back to the trash page with a message (404 unless the actor may see it)."""
    actor = actor_of(request)
    try:
        activity = selectors.activity_get(actor=actor, activity_id=activity_id, trashed=True)
    except NotFound:
        return not_found(request)
    try:
        services.activity_restore(actor=actor, activity=activity)
    except PermissionDenied:
        return forbidden(request, "restore this activity")
    messages.success(request, f"{activity} was restored.")
    return redirect("activities:trash")
