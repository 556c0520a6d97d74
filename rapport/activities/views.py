"""The activity panel of the contact and company pages: "Log a call" and "Add a note", one click away.

GET …/activities/ shows the buttons; GET …/activities/<form>/ the form (over HTMX into the panel,
or as a page without JavaScript); POST saves through `services.activity_create`. A save answers the
panel again with `HX-Trigger: record-changed`, on which the page re-fetches its timeline and facts.
Users whose role may not log activities see no buttons and get 403 on a post.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.activities import services
from rapport.activities.forms import FORMS, initial_for
from rapport.contacts import selectors as contact_selectors
from rapport.contacts.views.common import actor_of, forbidden, is_htmx, not_found
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied
from rapport.core.principal import Principal

TITLES = {"call": "Log a call", "note": "Add a note"}
FORMS_OF = {"contact": ("call", "note"), "company": ("note",)}


def panel_context(actor: Principal, subject_type: str, pk: int) -> dict[str, Any]:
    """What the panel shows: the buttons of the forms the actor may use (none without write access)."""
    prefix = "activities:contact" if subject_type == "contact" else "activities:company"
    allowed = actor.can(Entity.ACTIVITY, Mode.WRITE)
    return {
        "panel_url": reverse(f"{prefix}_panel", args=[pk]),
        # The activity list filtered to the contact (its activities) or the company (those linked to it).
        "all_url": f"{reverse('activities:list')}?{subject_type}={pk}",
        "actions": [
            {"name": name, "title": TITLES[name], "url": reverse(f"{prefix}_form", args=[pk, name])}
            for name in FORMS_OF[subject_type]
        ]
        if allowed
        else [],
        # Composing an email is a page of its own (recipients, template, attachments), not a panel form.
        "email_url": reverse(f"emails:{subject_type}_compose", args=[pk]) if allowed else "",
    }


def _subject(actor: Principal, subject_type: str, pk: int) -> Any:
    if subject_type == "contact":
        return contact_selectors.contact_get(actor=actor, contact_id=pk)
    return contact_selectors.company_get(actor=actor, company_id=pk)


def subject_url(subject_type: str, pk: int) -> str:
    return reverse("contacts:detail" if subject_type == "contact" else "contacts:company_detail", args=[pk])


def _render(
    request: HttpRequest, subject_type: str, record: Any, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "record": record,
        "subject_type": subject_type,
        "detail_url": subject_url(subject_type, record.pk),
        **panel_context(actor, subject_type, record.pk),
        **context,
    }
    template = "activities/_panel.html" if is_htmx(request) else "activities/activity_form_page.html"
    return render(request, template, context, status=status)


def _panel(request: HttpRequest, subject_type: str, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        record = _subject(actor, subject_type, pk)
    except NotFound:
        return not_found(request)
    if not is_htmx(request):
        return redirect(subject_url(subject_type, pk) + "#activity-panel")
    return _render(request, subject_type, record, {})


def _form(request: HttpRequest, subject_type: str, pk: int, name: str) -> HttpResponse:
    actor = actor_of(request)
    if name not in FORMS_OF[subject_type]:
        return not_found(request)
    try:
        record = _subject(actor, subject_type, pk)
    except NotFound:
        return not_found(request)
    if not actor.can(Entity.ACTIVITY, Mode.WRITE):
        return forbidden(request, "log activities")
    form_class = FORMS[name]
    url = reverse(f"activities:{subject_type}_form", args=[pk, name])
    extra = {"form_title": TITLES[name], "form_url": url}
    if request.method != "POST":
        return _render(request, subject_type, record, {"form": form_class(initial=initial_for(name)), **extra})
    form = form_class(request.POST)
    if not form.is_valid():
        return _render(request, subject_type, record, {"form": form, **extra}, status=422)
    data = form.to_data()
    if subject_type == "contact":
        data["participants"] = [{"contact_id": record.pk}]
        if record.company_id and record.live_company is not None:
            data["company_id"] = record.company_id
    else:
        data["company_id"] = record.pk
    try:
        services.activity_create(actor=actor, data=data)
    except PermissionDenied:
        return forbidden(request, "log activities")
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _render(request, subject_type, record, {"form": form, **extra}, status=exc.status)
    done = "Call logged." if name == "call" else "Note added."
    if not is_htmx(request):
        messages.success(request, done)
        return redirect(subject_url(subject_type, pk) + "#timeline")
    response = _render(request, subject_type, record, {"notice": done})
    response["HX-Trigger"] = "record-changed"
    return response


@require_safe
@login_required
@principal_required
def contact_panel(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _panel(request, "contact", contact_id)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def contact_form(request: HttpRequest, contact_id: int, name: str) -> HttpResponse:
    return _form(request, "contact", contact_id, name)


@require_safe
@login_required
@principal_required
def company_panel(request: HttpRequest, company_id: int) -> HttpResponse:
    return _panel(request, "company", company_id)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def company_form(request: HttpRequest, company_id: int, name: str) -> HttpResponse:
    return _form(request, "company", company_id, name)
