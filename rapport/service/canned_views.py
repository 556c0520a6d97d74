"""Customer service → Canned replies: list, create, edit (with the merge fields and a preview for a
ticket), delete. Thin pages over `rapport.service.canned_services`.

Members who read tickets see the shared replies and their own; the form is offered to those who may
change the reply (its owner for a personal one, an admin for a shared one), others get a read-only
page. The preview renders the text in the form — saved or not — for a ticket picked by number.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity
from rapport.contacts.views.common import actor_of
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, PermissionDenied
from rapport.core.principal import Principal
from rapport.service import canned_services as services
from rapport.service.models import CannedReply, Ticket, TicketPriority, TicketStatus
from rapport.service.view_common import VersionedFormMixin, denied, fetched, form_write


class CannedReplyForm(VersionedFormMixin, forms.Form):
    stale = "Someone else changed this reply since you opened it — reload to see it."
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


def _form_view(
    request: HttpRequest,
    actor: Principal,
    form: CannedReplyForm,
    context: dict[str, Any],
    write: Callable[[], CannedReply],
    *,
    done: str,
    saved_body: str | None = None,
) -> HttpResponse:
    """GET: the form; POST: invalid (400), the preview (of `saved_body` when given, else of the
    form's text), or `write` — then to the reply's page with "… was <done>", or the refusal."""

    def page(status: int = 200, preview: dict[str, Any] | None = None) -> HttpResponse:
        return _page(request, {"form": form, "preview": preview, **context}, status=status)

    if request.method != "POST":
        return page()
    if not form.is_valid():
        return page(400)
    if request.POST.get("action") == "preview":
        return page(preview=_preview(actor, form, form.cleaned_data["body"] if saved_body is None else saved_body))

    def saved(reply: CannedReply) -> HttpResponse:
        messages.success(request, f"The canned reply “{reply.name}” was {done}.")
        return redirect("canned:edit", reply_id=reply.pk)

    return form_write(request, form, write, page=page, done=saved)


@login_required
@principal_required
def canned_list_view(request: HttpRequest) -> HttpResponse:
    """GET /service/canned-replies/: the shared replies and the member's own."""
    actor = actor_of(request)
    try:
        replies = services.canned_reply_list(actor=actor, q=request.GET.get("q", "")[:100])
    except PermissionDenied:
        return denied(request)
    rows = [{"reply": r, "can_edit": services.can_edit(actor, r)} for r in replies]
    return render(
        request,
        "service/canned/list.html",
        {"rows": rows, "can_create": services.can_create(actor), "q": request.GET.get("q", "")[:100]},
    )


@login_required
@principal_required
def canned_create_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not services.can_create(actor):
        return denied(request)
    form = CannedReplyForm(request.POST or None, may_share=services.can_create(actor, shared=True))

    def create() -> CannedReply:
        return services.canned_reply_create(actor=actor, data=form.to_data())

    return _form_view(request, actor, form, {"editable": True}, create, done="created")


@login_required
@principal_required
def canned_edit_view(request: HttpRequest, reply_id: int) -> HttpResponse:
    actor = actor_of(request)
    reply = fetched(request, partial(services.canned_reply_get, actor=actor, reply_id=reply_id))
    if isinstance(reply, HttpResponse):
        return reply
    editable = services.can_edit(actor, reply)
    if request.method == "POST" and not editable and request.POST.get("action") != "preview":
        return denied(request)
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

    def update() -> CannedReply:
        version = form.cleaned_data["version"] or reply.version
        return services.canned_reply_update(actor=actor, reply=reply, data=form.to_data(), expected_version=version)

    # Someone who may not edit previews the saved text, whatever the form says.
    context = {"reply": reply, "editable": editable}
    return _form_view(request, actor, form, context, update, done="saved", saved_body=None if editable else reply.body)


@login_required
@principal_required
def canned_delete_view(request: HttpRequest, reply_id: int) -> HttpResponse:
    actor = actor_of(request)
    reply = fetched(request, partial(services.canned_reply_get, actor=actor, reply_id=reply_id))
    if isinstance(reply, HttpResponse):
        return reply
    if not services.can_edit(actor, reply):
        return denied(request)
    if request.method != "POST":
        return render(request, "service/canned/delete.html", {"reply": reply})
    gone = fetched(request, partial(services.canned_reply_delete, actor=actor, reply=reply))
    if isinstance(gone, HttpResponse):
        return gone
    messages.success(request, f"The canned reply “{reply.name}” was deleted.")
    return redirect("canned:list")
