"""Customer service → Canned replies: list, create, edit (with the merge fields and a preview for a
ticket), delete. Thin pages over `rapport.service.canned_services`.

Members who read tickets see the shared replies and their own; the form is offered to those who may
change the reply (its owner for a personal one, an admin for a shared one), others get a read-only
page. The preview renders the text in the form — saved or not — for a ticket picked by number.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from rapport.accounts.decorators import principal_required
from rapport.accounts.forms import ServiceErrorsMixin
from rapport.accounts.roles import Entity
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.principal import Principal
from rapport.service import canned_services as services
from rapport.service.models import CannedReply, Ticket, TicketPriority, TicketStatus


def _actor(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined]


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "web/not_found.html", status=404)


def _denied(request: HttpRequest) -> HttpResponse:
    return render(request, "web/denied.html", status=403)


class CannedReplyForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX, help_text="What agents pick it by, e.g. “Password reset”.")
    body = forms.CharField(
        max_length=services.BODY_MAX,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Markdown. Merge fields as {{ contact.first_name }}; a default for an empty value as "
        '{{ contact.first_name|default:"there" }}.',
    )
    set_status = forms.ChoiceField(
        label="Then set the status to", choices=[("", "Leave as it is"), *TicketStatus.choices], required=False
    )
    set_priority = forms.ChoiceField(
        label="And the priority to", choices=[("", "Leave as it is"), *TicketPriority.choices], required=False
    )
    add_tags = forms.CharField(
        label="And add the tags", max_length=1000, required=False, help_text="Separated by commas."
    )
    shared = forms.BooleanField(
        label="Shared with the whole workspace", required=False, help_text="Otherwise only you see it."
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    preview_ticket = forms.IntegerField(
        label="Preview for ticket number",
        min_value=1,
        max_value=2**62,
        required=False,
        help_text="Empty to preview without a ticket's values.",
    )

    def __init__(self, *args: Any, may_share: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_share:
            del self.fields["shared"]

    def add_service_error(self, exc: ApplicationError) -> None:
        if isinstance(exc, StaleVersion):
            self.add_error(None, "Someone else changed this reply since you opened it — reload to see it.")
            return
        super().add_service_error(exc)

    def to_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in ("name", "body", "set_status", "set_priority")}
        data["add_tags"] = self.cleaned_data["add_tags"]
        if "shared" in self.fields:
            data["shared"] = self.cleaned_data["shared"]
        return data


def _preview(actor: Principal, form: CannedReplyForm, body: str) -> dict[str, Any]:
    """The preview block's context: the rendered text, or why there is none."""
    number = form.cleaned_data.get("preview_ticket")
    ticket: Ticket | None = None
    if number:
        qs = scope(actor, Ticket.objects.filter(deleted_at__isnull=True), Entity.TICKET)
        ticket = qs.select_related("contact", "company").filter(number=number).first()
        if ticket is None:
            return {"error": f"You have no ticket number {number}."}
    try:
        text = services.render_source(body, ticket=ticket, agent=actor)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return {"error": "Fix the errors above to see a preview."}
    return {"body": text, "ticket": ticket}


def _page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    context = {"merge_fields": services.FIELDS_OFFERED, **context}
    return render(request, "service/canned/form.html", context, status=status)


@login_required
@principal_required
def canned_list_view(request: HttpRequest) -> HttpResponse:
    """GET /service/canned-replies/: the shared replies and the member's own."""
    actor = _actor(request)
    try:
        replies = services.canned_reply_list(actor=actor, q=request.GET.get("q", "")[:100])
    except PermissionDenied:
        return _denied(request)
    rows = [{"reply": r, "can_edit": services.can_edit(actor, r)} for r in replies]
    return render(
        request,
        "service/canned/list.html",
        {"rows": rows, "can_create": services.can_create(actor), "q": request.GET.get("q", "")[:100]},
    )


@login_required
@principal_required
def canned_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if not services.can_create(actor):
        return _denied(request)
    may_share = services.can_create(actor, shared=True)
    form = CannedReplyForm(request.POST or None, may_share=may_share)
    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        elif request.POST.get("action") == "preview":
            preview = _preview(actor, form, form.cleaned_data["body"])
        else:
            try:
                reply = services.canned_reply_create(actor=actor, data=form.to_data())
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The canned reply “{reply.name}” was created.")
                return redirect("canned:edit", reply_id=reply.pk)
    return _page(request, {"form": form, "preview": preview, "editable": True}, status=status)


@login_required
@principal_required
def canned_edit_view(request: HttpRequest, reply_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        reply = services.canned_reply_get(actor=actor, reply_id=reply_id)
    except NotFound:
        return _not_found(request)
    except PermissionDenied:
        return _denied(request)
    editable = services.can_edit(actor, reply)
    if request.method == "POST" and not editable and request.POST.get("action") != "preview":
        return _denied(request)
    initial = {
        "name": reply.name,
        "body": reply.body,
        "set_status": reply.set_status,
        "set_priority": reply.set_priority,
        "add_tags": ", ".join(reply.add_tags),
        "shared": reply.owner_id is None,
        "version": reply.version,
    }
    form = CannedReplyForm(request.POST or None, initial=initial, may_share=services.can_create(actor, shared=True))
    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        elif request.POST.get("action") == "preview":
            # Someone who may not edit previews the saved text, whatever the form says.
            preview = _preview(actor, form, form.cleaned_data["body"] if editable else reply.body)
        else:
            try:
                saved = services.canned_reply_update(
                    actor=actor,
                    reply=reply,
                    data=form.to_data(),
                    expected_version=form.cleaned_data["version"] or reply.version,
                )
            except NotFound:
                return _not_found(request)
            except PermissionDenied:
                return _denied(request)
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The canned reply “{saved.name}” was saved.")
                return redirect("canned:edit", reply_id=saved.pk)
    return _page(request, {"form": form, "reply": reply, "editable": editable, "preview": preview}, status=status)


@login_required
@principal_required
def canned_delete_view(request: HttpRequest, reply_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        reply: CannedReply = services.canned_reply_get(actor=actor, reply_id=reply_id)
    except NotFound:
        return _not_found(request)
    except PermissionDenied:
        return _denied(request)
    if not services.can_edit(actor, reply):
        return _denied(request)
    if request.method == "POST":
        try:
            services.canned_reply_delete(actor=actor, reply=reply)
        except NotFound:
            return _not_found(request)
        except PermissionDenied:
            return _denied(request)
        messages.success(request, f"The canned reply “{reply.name}” was deleted.")
        return redirect("canned:list")
    return render(request, "service/canned/delete.html", {"reply": reply})
