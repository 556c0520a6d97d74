"""Account → Mailboxes: each member connects their IMAP mailboxes; admins also manage the
workspace's shared ones (others see those read-only). Every page calls `mailbox_services`.

The password field is write-only: the pages say that a password is stored, never show it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode, Perm
from rapport.contacts.views.common import actor_of, not_found
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied
from rapport.integrations import mailbox_services as services
from rapport.integrations.mailbox_forms import MailboxForm
from rapport.integrations.models import Mailbox


def _denied(request: HttpRequest) -> HttpResponse:
    return render(request, "web/denied.html", status=403)


@require_http_methods(["GET", "HEAD"])
@login_required
@principal_required
def mailbox_list_page(request: HttpRequest) -> HttpResponse:
    """The member's own mailboxes and the shared ones, with their sync state."""
    actor = actor_of(request)
    mailboxes = list(services.mailbox_list(actor=actor))
    rows = [(mailbox, services.can_manage(actor, mailbox)) for mailbox in mailboxes]
    context = {
        "own": [row for row in rows if row[0].user_id is not None],
        "shared": [row for row in rows if row[0].user_id is None],
        "can_add_own": actor.scope == "write" and actor.can(Entity.ACTIVITY, Mode.WRITE),
        "can_add_shared": actor.has_perm(Perm.MANAGE_SETTINGS),
    }
    return render(request, "integrations/mailboxes.html", context)


def _form_page(
    request: HttpRequest, form: MailboxForm, mailbox: Mailbox | None, shared: bool, status: int = 200
) -> HttpResponse:
    context = {"form": form, "mailbox": mailbox, "shared": shared}
    return render(request, "integrations/mailbox_form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def mailbox_create_page(request: HttpRequest) -> HttpResponse:
    """Connect a mailbox (`?shared=1`: a shared one, admins only); the connection is tried first."""
    actor = actor_of(request)
    shared = request.GET.get("shared") == "1"
    allowed = actor.has_perm(Perm.MANAGE_SETTINGS) if shared else actor.can(Entity.ACTIVITY, Mode.WRITE)
    if not allowed:
        return _denied(request)
    if request.method != "POST":
        return _form_page(request, MailboxForm(creating=True, shared=shared), None, shared)
    form = MailboxForm(request.POST, creating=True, shared=shared)
    if not form.is_valid():
        return _form_page(request, form, None, shared, 422)
    try:
        services.mailbox_create(actor=actor, data=form.to_data(), shared=shared, verify=form.cleaned_data["verify"])
    except PermissionDenied:
        return _denied(request)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _form_page(request, form, None, shared, exc.status)
    messages.success(request, "Mailbox connected: its mail is fetched within a minute.")
    return redirect("mailboxes:list")


def _writable(request: HttpRequest, mailbox_id: int) -> Mailbox | HttpResponse:
    try:
        return services.mailbox_get(actor=actor_of(request), mailbox_id=mailbox_id, mode=Mode.WRITE)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return _denied(request)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def mailbox_edit_page(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    found = _writable(request, mailbox_id)
    if isinstance(found, HttpResponse):
        return found
    mailbox, shared = found, found.user_id is None
    if request.method != "POST":
        form = MailboxForm(initial=MailboxForm.initial_of(mailbox), creating=False, shared=shared)
        return _form_page(request, form, mailbox, shared)
    form = MailboxForm(request.POST, creating=False, shared=shared)
    if not form.is_valid():
        return _form_page(request, form, mailbox, shared, 422)
    try:
        services.mailbox_update(
            actor=actor_of(request),
            mailbox=mailbox,
            data=form.to_data(),
            expected_version=None,
            verify=form.cleaned_data["verify"],
        )
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _form_page(request, form, mailbox, shared, exc.status)
    messages.success(request, "Mailbox saved.")
    return redirect("mailboxes:list")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def mailbox_delete_page(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """Ask, then disconnect the mailbox (the email it logged stays)."""
    found = _writable(request, mailbox_id)
    if isinstance(found, HttpResponse):
        return found
    if request.method != "POST":
        return render(request, "integrations/mailbox_delete.html", {"mailbox": found})
    services.mailbox_delete(actor=actor_of(request), mailbox=found)
    messages.success(request, "Mailbox disconnected. The email it logged stays on the timelines.")
    return redirect("mailboxes:list")


@require_POST
@login_required
@principal_required
def mailbox_sync_page(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """ "Sync now": queue a sync at once, whatever the backoff."""
    found = _writable(request, mailbox_id)
    if isinstance(found, HttpResponse):
        return found
    try:
        services.mailbox_sync_now(actor=actor_of(request), mailbox=found)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Sync queued: reload this page in a moment to see the result.")
    return redirect("mailboxes:list")
