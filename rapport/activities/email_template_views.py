"""Settings → Email templates: list, create, edit (with the merge fields and a preview), delete.

Thin pages over `rapport.activities.email_template_services`. Every member sees the list and can
open a template and preview it for one of their contacts; the form is offered to those who may
change the template (its owner, or an admin), others get a read-only page. The preview renders the
text in the form — saved or not — for a contact picked by id, name or email.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from rapport.accounts.decorators import principal_required
from rapport.accounts.forms import ServiceErrorsMixin
from rapport.accounts.roles import Entity
from rapport.activities import email_template_services as services
from rapport.activities.email_templates import merge_fields
from rapport.activities.models import EmailTemplate
from rapport.contacts.models import Contact
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.principal import Principal

SECTION = "email_templates"


def _actor(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined]


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "web/not_found.html", status=404)


def _denied(request: HttpRequest) -> HttpResponse:
    return render(request, "web/denied.html", status=403)


class EmailTemplateForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX, help_text="Unique in the workspace, e.g. “Follow-up”.")
    subject = forms.CharField(max_length=services.SUBJECT_MAX, required=False, strip=False)
    body = forms.CharField(
        max_length=services.BODY_MAX,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="Markdown. Merge fields as {{ contact.first_name }}; a default for an empty value as "
        '{{ contact.first_name|default:"there" }}.',
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    preview_contact = forms.CharField(
        label="Preview for contact",
        max_length=200,
        required=False,
        help_text="A contact's id, name or email; empty to preview without one.",
    )

    def add_service_error(self, exc: ApplicationError) -> None:
        if isinstance(exc, StaleVersion):
            self.add_error(None, "Someone else changed this template since you opened it — reload to see it.")
            return
        super().add_service_error(exc)

    def to_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("name", "subject", "body")}


def _find_contact(actor: Principal, text: str) -> Contact | None:
    """The first live contact the actor may read whose id, email or name matches `text`."""
    text = text.strip()
    if not text:
        return None
    qs = scope(actor, Contact.objects.alive(), Entity.CONTACT)
    if text.isdigit() and len(text) < 19:
        return qs.filter(pk=int(text)).first()
    return qs.filter(Q(email__iexact=text) | Q(full_name__icontains=text)).order_by("full_name", "id").first()


def _preview(actor: Principal, form: EmailTemplateForm, subject: str, body: str) -> dict[str, Any]:
    """The preview block's context: the rendered text, or why there is none."""
    text = form.cleaned_data.get("preview_contact", "") if form.is_bound else ""
    contact = _find_contact(actor, text)
    if text.strip() and contact is None:
        return {"error": f"No contact of yours matches “{text.strip()}”."}
    try:
        rendered_subject, rendered_body = services.email_template_preview(
            actor=actor, subject=subject, body=body, contact=contact
        )
    except ApplicationError as exc:
        form.add_service_error(exc)
        return {"error": "Fix the errors above to see a preview."}
    return {"subject": rendered_subject, "body": rendered_body, "contact": contact}


def _page(request: HttpRequest, template_name: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    actor = _actor(request)
    context = {"section": SECTION, "merge_fields": merge_fields(actor=actor), **context}
    return render(request, template_name, context, status=status)


@login_required
@principal_required
def email_template_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    rows = [{"template": t, "can_edit": services.can_edit(actor, t)} for t in services.email_template_list(actor=actor)]
    return render(
        request,
        "activities/email_templates/list.html",
        {"rows": rows, "can_create": services.can_create(actor), "section": SECTION},
    )


@login_required
@principal_required
def email_template_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if not services.can_create(actor):
        return _denied(request)
    form = EmailTemplateForm(request.POST or None)
    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        elif request.POST.get("action") == "preview":
            preview = _preview(actor, form, form.cleaned_data["subject"], form.cleaned_data["body"])
        else:
            try:
                template = services.email_template_create(actor=actor, data=form.to_data())
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The template “{template.name}” was created.")
                return redirect("email_templates:edit", template_id=template.pk)
    return _page(request, "activities/email_templates/form.html", {"form": form, "preview": preview}, status=status)


@login_required
@principal_required
def email_template_edit_view(request: HttpRequest, template_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        template = services.email_template_get(actor=actor, template_id=template_id)
    except NotFound:
        return _not_found(request)
    editable = services.can_edit(actor, template)
    if request.method == "POST" and not editable and request.POST.get("action") != "preview":
        return _denied(request)
    initial = {"name": template.name, "subject": template.subject, "body": template.body, "version": template.version}
    form = EmailTemplateForm(request.POST or None, initial=initial)
    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        elif request.POST.get("action") == "preview":
            # Someone who may not edit previews the saved text, whatever the form says.
            subject = form.cleaned_data["subject"] if editable else template.subject
            body = form.cleaned_data["body"] if editable else template.body
            preview = _preview(actor, form, subject, body)
        else:
            try:
                saved = services.email_template_update(
                    actor=actor,
                    template=template,
                    data=form.to_data(),
                    expected_version=form.cleaned_data["version"] or template.version,
                )
            except NotFound:
                return _not_found(request)
            except PermissionDenied:
                return _denied(request)
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The template “{saved.name}” was saved.")
                return redirect("email_templates:edit", template_id=saved.pk)
    return _page(
        request,
        "activities/email_templates/form.html",
        {"form": form, "template": template, "editable": editable, "preview": preview},
        status=status,
    )


@login_required
@principal_required
def email_template_delete_view(request: HttpRequest, template_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        template: EmailTemplate = services.email_template_get(actor=actor, template_id=template_id)
    except NotFound:
        return _not_found(request)
    if not services.can_edit(actor, template):
        return _denied(request)
    if request.method == "POST":
        try:
            services.email_template_delete(actor=actor, template=template)
        except NotFound:
            return _not_found(request)
        except PermissionDenied:
            return _denied(request)
        messages.success(request, f"The template “{template.name}” was deleted.")
        return redirect("email_templates:list")
    return render(request, "activities/email_templates/delete.html", {"template": template, "section": SECTION})
