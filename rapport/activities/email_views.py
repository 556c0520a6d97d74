"""The compose page (from a contact, a company, as a reply, as a meeting invitation) and "Resend".

GET shows the form prefilled (the contact's primary email; a reply's recipients and "Re:" subject;
an invitation's attendees, title and times); `?template=<id>` fills subject and body from an email
template rendered for the contact or company. POST goes through `email_services.email_compose`:
the email is logged and queued, and sent by the worker after the request. Missing and not-yours
records answer 404; a role that may not log activities gets 403; without an SMTP server the page
says so (and a post answers 409).

Resend posted from the email's page redirects back to it; posted over htmx (the button of a
timeline) it answers the email's status block again (see activities/_email_status.html), with the
refusal in it when there is one (403, 409).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode, Perm
from rapport.activities import email_services
from rapport.activities.choices import Kind, SendStatus
from rapport.activities.email_forms import EmailComposeForm
from rapport.activities.email_selectors import email_get
from rapport.activities.email_services import ComposeDefaults
from rapport.activities.models import Activity
from rapport.activities.selectors import activity_get
from rapport.contacts import selectors as contact_selectors
from rapport.contacts.models import Company, Contact
from rapport.contacts.views.common import actor_of, forbidden, is_htmx, not_found
from rapport.core.access import can_write
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied
from rapport.core.principal import Principal
from rapport.integrations.smtp_services import smtp_server_of

try:  # email templates (rapport.activities.email_template_services) may not be installed
    from rapport.activities import email_template_services as templates
except ImportError:  # pragma: no cover
    templates = None  # type: ignore[assignment]

try:  # uploads go through the attachments service when it is there
    from rapport.activities import attachments as _attachments  # noqa: F401

    WITH_FILES = True
except ImportError:  # pragma: no cover
    WITH_FILES = False


def _template_choices(actor: Principal) -> list[Any]:
    return list(templates.email_template_list(actor=actor)[:200]) if templates is not None else []


def _apply_template(
    request: HttpRequest, actor: Principal, initial: dict[str, Any], contact: Contact | None, company: Company | None
) -> str:
    """Fill subject and body from `?template=`; the error to show, if any."""
    template_id = request.GET.get("template")
    if not template_id or templates is None:
        return ""
    try:
        template = templates.email_template_get(actor=actor, template_id=template_id)
        initial["subject"], initial["body"] = templates.email_template_render(
            actor=actor, template=template, contact=contact, company=company
        )
    except ApplicationError as exc:
        return exc.message
    initial["template"] = template.pk
    return ""


def _compose(
    request: HttpRequest,
    *,
    defaults: ComposeDefaults,
    base: dict[str, Any],
    title: str,
    back_url: str,
    done_url: str | None,
    contact: Contact | None = None,
    company: Company | None = None,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    actor = actor_of(request)
    if not actor.can(Entity.ACTIVITY, Mode.WRITE):
        return forbidden(request, "send emails")
    page: dict[str, Any] = {
        "title": title,
        "back_url": back_url,
        "configured": smtp_server_of(actor.org_id) is not None,
        "can_configure": actor.has_perm(Perm.MANAGE_SETTINGS),
        "templates": _template_choices(actor),
        "template_error": "",
        **(context or {}),
    }
    if request.method != "POST":
        initial: dict[str, Any] = {"to": ", ".join(defaults.to), "subject": defaults.subject, "body": defaults.body}
        page["template_error"] = _apply_template(request, actor, initial, contact, company)
        page["chosen_template"] = initial.pop("template", None)
        page["form"] = EmailComposeForm(initial=initial, with_files=WITH_FILES)
        return render(request, "activities/email_compose.html", page)
    form = EmailComposeForm(request.POST, request.FILES, with_files=WITH_FILES)
    page["form"] = form
    if not form.is_valid():
        return render(request, "activities/email_compose.html", page, status=422)
    try:
        email = email_services.email_compose(
            actor=actor, data={**form.to_data(), **base}, files=form.cleaned_data.get("files") or []
        )
    except PermissionDenied:
        return forbidden(request, "send emails")
    except ApplicationError as exc:
        form.add_service_error(exc)
        return render(request, "activities/email_compose.html", page, status=exc.status)
    messages.success(request, "Email queued: it is being sent.")
    return redirect(done_url or reverse("activities:detail", args=[email.pk]))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def contact_compose(request: HttpRequest, contact_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        contact = contact_selectors.contact_get(actor=actor, contact_id=contact_id)
    except NotFound:
        return not_found(request)
    url = reverse("contacts:detail", args=[contact.pk])
    return _compose(
        request,
        defaults=email_services.contact_defaults(contact),
        base={"contact_id": contact.pk},
        title=f"Email {contact}",
        back_url=url,
        done_url=url + "#timeline",
        contact=contact,
        company=contact.live_company,
        context={"record": contact},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def company_compose(request: HttpRequest, company_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        company = contact_selectors.company_get(actor=actor, company_id=company_id)
    except NotFound:
        return not_found(request)
    url = reverse("contacts:company_detail", args=[company.pk])
    return _compose(
        request,
        defaults=ComposeDefaults(),
        base={"company_id": company.pk},
        title=f"Email {company.name}",
        back_url=url,
        done_url=url + "#timeline",
        company=company,
        context={"record": company},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def reply_compose(request: HttpRequest, activity_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        original = email_get(actor=actor, activity_id=activity_id)
    except NotFound:
        return not_found(request)
    if not original.message_id:
        return not_found(request)
    link = original.contact_links.first()
    return _compose(
        request,
        defaults=email_services.reply_defaults(original),
        base={"reply_to_activity_id": original.pk},
        title=f"Reply: {original.subject}" if original.subject else "Reply",
        back_url=reverse("activities:detail", args=[original.pk]),
        done_url=None,
        contact=link.contact if link else None,
        company=original.company,
        context={"original": original},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def invite_compose(request: HttpRequest, activity_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        meeting = activity_get(actor=actor, activity_id=activity_id)
    except NotFound:
        return not_found(request)
    if meeting.kind != Kind.MEETING:
        return not_found(request)
    return _compose(
        request,
        defaults=email_services.invite_defaults(meeting),
        base={"invite_for_activity_id": meeting.pk},
        title=f"Email invitation: {meeting.subject or 'Meeting'}",
        back_url=reverse("activities:detail", args=[meeting.pk]),
        done_url=None,
        company=meeting.company,
        context={"meeting": meeting},
    )


_AFTER_RESEND: dict[str, str] = {SendStatus.SENT: "Sent again.", SendStatus.FAILED: "Tried again: it failed again."}


def _status_block(
    request: HttpRequest,
    actor: Principal,
    activity_id: int,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
    resent: bool = False,
) -> HttpResponse:
    email = email_get(actor=actor, activity_id=activity_id)
    if resent:  # a worker that is quick (or runs in the request, in tests) may be done already
        notice = _AFTER_RESEND.get(email.send_status, notice)
    context = {
        "activity": email,
        "inline": True,
        "can_resend": email.send_status == SendStatus.FAILED and can_write(actor, email, Entity.ACTIVITY),
        "notice": notice,
        "error": error,
    }
    return HttpResponse(render_to_string("activities/_email_status.html", context, request), status=status)


@require_POST
@login_required
@principal_required
def resend(request: HttpRequest, activity_id: int) -> HttpResponse:
    actor = actor_of(request)
    inline = is_htmx(request)
    try:
        email: Activity = email_get(actor=actor, activity_id=activity_id)
        email_services.email_resend(actor=actor, activity=email)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        if inline:
            error = "Your role does not let you send this email again."
            return _status_block(request, actor, activity_id, error=error, status=403)
        return forbidden(request, "send this email again")
    except ApplicationError as exc:
        if inline:
            return _status_block(request, actor, activity_id, error=exc.message, status=exc.status)
        messages.error(request, exc.message)
        return redirect("activities:detail", activity_id=activity_id)
    if inline:
        return _status_block(request, actor, activity_id, notice="Queued again: it is being sent.", resent=True)
    messages.success(request, "Email queued again: it is being sent.")
    return redirect("activities:detail", activity_id=activity_id)
