"""Customer service → Mailboxes (/service/mailboxes/): which shared IMAP mailboxes are support
mailboxes (their mail becomes tickets), with the address replies come from and the queue new
tickets land in. Everyone who reads tickets sees the list; admins (manage settings) mark, change
and unmark them. Thin pages over `rapport.service.support_mailbox_services`; the IMAP connection
itself is set up under Settings → Mailboxes (a shared mailbox).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Mode, Perm
from rapport.contacts.views.common import actor_of
from rapport.core.errors import PermissionDenied
from rapport.core.principal import Principal
from rapport.service import support_mailbox_services as services
from rapport.service.models import Queue, SupportMailbox
from rapport.service.view_common import VersionedFormMixin, denied, fetched, form_write


def _writable(request: HttpRequest, support_id: int) -> SupportMailbox | HttpResponse:
    """The support mailbox the member may change, or the 404 / 403 page to answer with."""
    get = services.support_mailbox_get
    return fetched(request, partial(get, actor=actor_of(request), support_id=support_id, mode=Mode.WRITE))


class SupportMailboxForm(VersionedFormMixin, forms.Form):
    stale = "Someone else changed this support mailbox since you opened it — reload to see it."
    mailbox_id = forms.TypedChoiceField(label="Shared mailbox", coerce=int, choices=[])
    address = forms.EmailField(
        label="Support address",
        max_length=254,
        required=False,
        help_text="The address customers write to; replies go out from it. Empty: the mailbox's username.",
    )
    queue_id = forms.TypedChoiceField(
        label="Queue for new tickets", coerce=int, empty_value=None, required=False, choices=[]
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def __init__(self, *args: Any, actor: Principal, current: SupportMailbox | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mailboxes = services.markable_mailboxes(actor=actor, current=current)
        self.fields["mailbox_id"].choices = [(m.pk, f"{m} ({m.username})") for m in mailboxes]  # type: ignore[attr-defined]
        queues = Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).order_by("name")
        self.fields["queue_id"].choices = [("", "None: the routing rules decide"), *((q.pk, q.name) for q in queues)]  # type: ignore[attr-defined]

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mailbox_id": self.cleaned_data["mailbox_id"],
            "queue_id": self.cleaned_data["queue_id"],
        }
        if self.cleaned_data["address"]:
            data["address"] = self.cleaned_data["address"]
        return data


@require_http_methods(["GET", "HEAD"])
@login_required
@principal_required
def support_mailbox_list_page(request: HttpRequest) -> HttpResponse:
    """The support mailboxes with their sync state; the shared mailboxes that could become one."""
    actor = actor_of(request)
    try:
        rows = list(services.support_mailbox_list(actor=actor))
    except PermissionDenied:
        return denied(request)
    can_manage = actor.has_perm(Perm.MANAGE_SETTINGS)
    context = {
        "rows": rows,
        "can_manage": can_manage,
        "markable": services.markable_mailboxes(actor=actor).exists() if can_manage else False,
    }
    return render(request, "service/mailboxes/list.html", context)


def _form_page(request: HttpRequest, actor: Principal, support: SupportMailbox | None) -> HttpResponse:
    initial = {}
    if support is not None:
        initial = {
            "mailbox_id": support.mailbox_id,
            "address": support.address,
            "queue_id": support.queue_id,
            "version": support.version,
        }
    form = SupportMailboxForm(request.POST or None, actor=actor, current=support, initial=initial)

    def page(status: int = 200) -> HttpResponse:
        return render(request, "service/mailboxes/form.html", {"form": form, "support": support}, status=status)

    if request.method != "POST":
        return page()
    if not form.is_valid():
        return page(400)

    def save() -> SupportMailbox:
        if support is None:
            return services.support_mailbox_create(actor=actor, data=form.to_data())
        version = form.cleaned_data["version"] or support.version
        data = form.to_data()
        return services.support_mailbox_update(actor=actor, support=support, data=data, expected_version=version)

    def saved(marked: SupportMailbox) -> HttpResponse:
        messages.success(request, f"{marked.address} is a support mailbox: its new mail becomes tickets.")
        return redirect("support_mailboxes:list")

    return form_write(request, form, save, page=page, done=saved)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def support_mailbox_create_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not actor.has_perm(Perm.MANAGE_SETTINGS):
        return denied(request)
    return _form_page(request, actor, None)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def support_mailbox_edit_page(request: HttpRequest, support_id: int) -> HttpResponse:
    support = _writable(request, support_id)
    if isinstance(support, HttpResponse):
        return support
    return _form_page(request, actor_of(request), support)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def support_mailbox_delete_page(request: HttpRequest, support_id: int) -> HttpResponse:
    support = _writable(request, support_id)
    if isinstance(support, HttpResponse):
        return support
    if request.method != "POST":
        return render(request, "service/mailboxes/delete.html", {"support": support})
    gone = fetched(request, partial(services.support_mailbox_delete, actor=actor_of(request), support=support))
    if isinstance(gone, HttpResponse):
        return gone
    messages.success(request, f"{support.address} is no longer a support mailbox.")
    return redirect("support_mailboxes:list")
