"""Settings → Mailboxes (at /account/mailboxes/, also linked from the profile): each member connects
their IMAP mailboxes; admins also manage the workspace's shared ones (others see those read-only).
The pages render in the settings layout. Every page calls `mailbox_services`.

The password field is write-only: the pages say that a password is stored, never show it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.views.decorators.http import require_http_methods, require_POST

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode, Perm
from rapport.contacts.views.common import actor_of, not_found
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied
from rapport.integrations import mailbox_services as services
from rapport.integrations.mailbox_forms import MailboxForm
from rapport.integrations.models import Mailbox

SECTION = "mailboxes"  # the settings navigation's current entry


def _denied(request: HttpRequest) -> HttpResponse:
    return render(request, "web/denied.html", status=403)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return ""
    return "just now" if now - when < timedelta(minutes=1) else f"{timesince(when, now)} ago"


def _row(mailbox: Mailbox, can_manage: bool, now: datetime) -> dict[str, Any]:
    """One line of the list: the mailbox, whether the viewer manages it, and its times in words
    ("4 minutes ago", "Retry in 7 minutes") next to the dates."""
    due, tried, synced = mailbox.next_attempt_at, mailbox.last_attempt_at, mailbox.last_success_at
    later = due is not None and due - now >= timedelta(minutes=1)
    when = f"in {timeuntil(due, now)}" if due is not None and later else "within a minute"
    return {
        "mailbox": mailbox,
        "can_manage": can_manage,
        "synced_ago": _ago(synced, now),
        "tried_ago": _ago(tried, now) if tried and (synced is None or tried > synced) else "",  # not yet succeeded
        "next_sync": f"Retry {when}" if mailbox.last_error else when[0].upper() + when[1:],
        "next_at": due if later or mailbox.last_error else None,
    }


@require_http_methods(["GET", "HEAD"])
@login_required
@principal_required
def mailbox_list_page(request: HttpRequest) -> HttpResponse:
    """The member's own mailboxes and the shared ones, with their sync state."""
    actor = actor_of(request)
    now = timezone.now()
    rows = [_row(mailbox, services.can_manage(actor, mailbox), now) for mailbox in services.mailbox_list(actor=actor)]
    context = {
        "own": [row for row in rows if row["mailbox"].user_id is not None],
        "shared": [row for row in rows if row["mailbox"].user_id is None],
        "can_add_own": actor.scope == "write" and actor.can(Entity.ACTIVITY, Mode.WRITE),
        "can_add_shared": actor.has_perm(Perm.MANAGE_SETTINGS),
        "section": SECTION,
    }
    return render(request, "integrations/mailboxes.html", context)


def _refused(form: MailboxForm, exc: ApplicationError) -> None:
    """The service's message next to the field to fix, and what to do at the top of the form."""
    form.add_service_error(exc)
    if exc.code == "connection_failed":
        form.add_error(
            None,
            "Rapport could not connect with these settings, so nothing was saved. Fix the field marked "
            "below, or untick “Check the connection before saving” to save them anyway.",
        )


def _form_page(
    request: HttpRequest, form: MailboxForm, mailbox: Mailbox | None, shared: bool, status: int = 200
) -> HttpResponse:
    context = {"form": form, "mailbox": mailbox, "shared": shared, "section": SECTION}
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
        return _form_page(request, MailboxForm(mailbox=None, shared=shared), None, shared)
    form = MailboxForm(request.POST, mailbox=None, shared=shared)
    if not form.is_valid():
        return _form_page(request, form, None, shared, 422)
    try:
        services.mailbox_create(actor=actor, data=form.to_data(), shared=shared, verify=form.cleaned_data["verify"])
    except PermissionDenied:
        return _denied(request)
    except ApplicationError as exc:
        _refused(form, exc)
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
        form = MailboxForm(initial=MailboxForm.initial_of(mailbox), mailbox=mailbox, shared=shared)
        return _form_page(request, form, mailbox, shared)
    form = MailboxForm(request.POST, mailbox=mailbox, shared=shared)
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
        _refused(form, exc)
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
        return render(request, "integrations/mailbox_delete.html", {"mailbox": found, "section": SECTION})
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
