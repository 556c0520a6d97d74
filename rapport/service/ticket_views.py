"""The agent-facing ticket pages: the list (/tickets/: quick views, filters, keyset pages, bulk
status and assignment), a ticket's page (/tickets/<id>/: the conversation, the composer with canned
replies, status buttons, assignment, properties, links, SLA clock, requester, CSAT), the new-ticket
form and delete.

Thin: reads through rapport.service.ticket_selectors (and canned_services, sla), writes through
rapport.service.ticket_services and canned_services; the services' field errors show on the forms.
Every action of a ticket's page is a POST answered, for HTMX, with the page itself (the page's
#ticket block is swapped; refusals keep their 4xx status) and, without script, with a redirect
back to the page. Missing, deleted and other workspaces' tickets answer 404; a ticket the member
may read but not change answers 403; members who may not read tickets get 403 on the list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial, wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.contacts.models import Contact
from rapport.contacts.views.common import (
    actor_of,
    contact_by_text,
    contact_label,
    forbidden,
    is_htmx,
    member_choices,
    not_found,
)
from rapport.core.access import can_write, scope
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.principal import Principal
from rapport.service import canned_services, ticket_pages, ticket_selectors, ticket_services
from rapport.service.models import CannedReply, Ticket, TicketStatus
from rapport.service.ticket_forms import (
    ANY,
    ME,
    NOBODY,
    STATUS_BUTTONS,
    UNSOLVED,
    AssignForm,
    LinkForm,
    MessageForm,
    PropertiesForm,
    StatusForm,
    TicketFilterForm,
    TicketForm,
)

FILTER_KEYS = ("q", "status", "priority", "queue", "assignee", "channel", "sla")
STALE = "Someone else changed this ticket since you opened it — reload to see their changes."
BULK_MAX = 100  # tickets one bulk action changes at most (a page is 50)


# --- the list ------------------------------------------------------------------------------------


def _quick_views(request: HttpRequest) -> list[dict[str, Any]]:
    """The quick views above the filters; the one the filters are exactly is current."""
    base = reverse("service:list")
    views = [
        ("My open tickets", {"assignee": ME}),
        ("Unassigned", {"assignee": NOBODY}),
        ("All unsolved", {}),
        ("All tickets", {"status": ANY}),
    ]
    chosen = {key: value for key, value in request.GET.items() if key in FILTER_KEYS and value}
    if chosen.get("status") == UNSOLVED:  # the default: the same view as no status
        del chosen["status"]
    return [
        {"label": label, "url": f"{base}?{urlencode(params)}" if params else base, "current": chosen == params}
        for label, params in views
    ]


@require_safe
@login_required
@principal_required
def list_page(request: HttpRequest) -> HttpResponse:
    """GET /tickets/?q=…&status=…&priority=…&queue=…&assignee=…&channel=…&sla=…&cursor=…"""
    actor = actor_of(request)
    if not actor.can(Entity.TICKET):
        return forbidden(request, "see the tickets")
    members = member_choices(actor)
    form = TicketFilterForm(request.GET or None, queues=ticket_pages.queue_choices(actor), members=members)
    query = urlencode({key: request.GET[key] for key in FILTER_KEYS if request.GET.get(key)})
    can_create = actor.can(Entity.TICKET, Mode.WRITE)
    context: dict[str, Any] = {"form": form, "page": None, "query": query, "can_create": can_create}
    context |= {"filtered": bool(query), "bulk": can_create, "members": members, "statuses": STATUS_BUTTONS}
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; correct them or clear them."
        context["quick_views"] = _quick_views(request)
        return render(request, "service/ticket_list.html", context, status=400)
    values = form.values()
    context["quick_views"] = _quick_views(request)
    try:
        context["page"] = ticket_pages.ticket_rows(actor=actor, values=values, cursor=request.GET.get("cursor"))
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "service/ticket_list.html", context, status=400)
    return render(request, "service/ticket_list.html", context)


@require_POST
@login_required
@principal_required
def bulk_view(request: HttpRequest) -> HttpResponse:
    """POST /tickets/bulk/: set the status and/or the assignee of the ticked tickets (those the
    actor may change; the others are counted as skipped)."""
    actor = actor_of(request)
    if not actor.can(Entity.TICKET, Mode.WRITE):
        return forbidden(request, "change tickets")
    back = f"{reverse('service:list')}?{request.POST.get('query', '')}".rstrip("?")
    ids = [int(raw) for raw in request.POST.getlist("ids") if raw.isdigit()][:BULK_MAX]
    status = request.POST.get("status", "")
    assignee = request.POST.get("assignee", "")
    if status and status not in TicketStatus.values:
        status = ""
    member_ids = {pk for pk, _ in member_choices(actor)} if assignee not in ("", NOBODY) else set()
    if assignee not in ("", NOBODY) and (not assignee.isdigit() or int(assignee) not in member_ids):
        assignee = ""
    if not ids or not (status or assignee):
        messages.error(request, "Tick some tickets and choose a status or an assignee.")
        return redirect(back)
    changed, skipped = 0, 0
    for ticket in scope(actor, ticket_selectors.ticket_list(actor=actor).filter(pk__in=ids), Entity.TICKET, Mode.WRITE):
        try:
            if assignee:
                ticket = ticket_services.ticket_assign(
                    actor=actor, ticket=ticket, assignee_id=None if assignee == NOBODY else int(assignee)
                )
            if status and status != ticket.status:
                ticket_services.ticket_set_status(actor=actor, ticket=ticket, status=status)
            changed += 1
        except ApplicationError:
            skipped += 1
    skipped += len(ids) - changed - skipped
    note = f" {skipped} could not be changed." if skipped else ""
    messages.success(request, f"{changed} ticket{'s' if changed != 1 else ''} changed.{note}")
    return redirect(back)


# --- a ticket's page -----------------------------------------------------------------------------


def _canned_effects(reply: CannedReply) -> list[str]:
    effects = []
    if reply.set_status:
        effects.append(f"sets the status to {TicketStatus(reply.set_status).label.lower()}")
    if reply.set_priority:
        effects.append(f"sets the priority to {reply.get_set_priority_display().lower()}")
    if reply.add_tags:
        effects.append(f"adds the tags {', '.join(reply.add_tags)}")
    return effects


def _canned(actor: Principal, raw: Any) -> CannedReply | None:
    """The canned reply `raw` names if the actor may use it, else None."""
    if raw in (None, ""):
        return None
    try:
        return canned_services.canned_reply_get(actor=actor, reply_id=raw)
    except (NotFound, PermissionDenied):
        return None


def _composer(actor: Principal, ticket: Ticket, canned: CannedReply | None, **forms: Any) -> dict[str, Any]:
    """The composer's context; a picked canned reply fills the text (unless a form is given back)."""
    form = forms.get("message_form")
    if form is None:
        initial: dict[str, Any] = {}
        if canned is not None:
            try:
                initial = {"body": canned_services.canned_reply_render(reply=canned, ticket=ticket, agent=actor)}
            except ApplicationError:
                initial = {"body": canned.body}
            initial["canned"] = canned.pk
        form = MessageForm(initial=initial)
    return {
        "message_form": form,
        "canned": canned,
        "canned_effects": _canned_effects(canned) if canned else [],
        "canned_replies": ticket_pages.canned_choices(actor),
    }


def _context(actor: Principal, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """Everything a ticket's page shows; `extra` carries forms given back with errors, a notice."""
    queues = ticket_pages.queue_choices(actor)
    members = member_choices(actor)
    writable = can_write(actor, ticket, Entity.TICKET)
    context: dict[str, Any] = ticket_pages.ticket_page_data(actor=actor, ticket=ticket)
    # A closed ticket is final: only internal notes and links are still taken.
    closed = ticket.status == TicketStatus.CLOSED
    context |= {
        "ticket": ticket,
        "can_write": writable,
        "closed": closed,
        "status_buttons": STATUS_BUTTONS,
        "kind": "note" if closed else "reply",
    }
    if writable:
        context |= _composer(actor, ticket, extra.pop("canned", None), message_form=extra.pop("message_form", None))
        context["assign_form"] = AssignForm(
            initial={"assignee": ticket.owner_id, "queue": ticket.queue_id}, queues=queues, members=members
        )
        context["properties_form"] = PropertiesForm(
            initial={
                "priority": ticket.priority,
                "type": ticket.type,
                "tags": ", ".join(ticket.tags),
                "version": ticket.version,
            }
        )
        context["link_form"] = LinkForm()
    context |= extra
    return context


def _page(request: HttpRequest, actor: Principal, ticket: Ticket, status: int = 200, **extra: Any) -> HttpResponse:
    return render(request, "service/ticket_detail.html", _context(actor, ticket, **extra), status=status)


def _readable(request: HttpRequest, actor: Principal, ticket_id: int) -> Ticket | HttpResponse:
    try:
        return ticket_selectors.access_ticket(actor, ticket_id)
    except (NotFound, PermissionDenied):
        return not_found(request)


TicketView = Callable[..., HttpResponse]


def _ticket_view(what: str, methods: Sequence[str] = ("POST",)) -> Callable[[TicketView], TicketView]:
    """A view of one ticket (by default a POST), signed in with a workspace: it is called as
    view(request, actor, ticket, **the URL's other values). A missing, trashed or other workspace's
    ticket answers 404; with `what` the actor must also be able to change it, else 403 ("You may
    not <what>"); with `what` empty reading it is enough."""

    def decorate(view: TicketView) -> TicketView:
        @require_http_methods(list(methods))
        @login_required
        @principal_required
        @wraps(view)
        def wrapper(request: HttpRequest, ticket_id: int, **kwargs: Any) -> HttpResponse:
            actor = actor_of(request)
            ticket = _readable(request, actor, ticket_id)
            if isinstance(ticket, HttpResponse):
                return ticket
            if what and not can_write(actor, ticket, Entity.TICKET):
                return forbidden(request, what)
            return view(request, actor, ticket, **kwargs)

        return wrapper

    return decorate


def _act(
    request: HttpRequest,
    actor: Principal,
    ticket: Ticket,
    notice: str,
    change: Callable[[], object],
    *,
    form: Form | None = None,
    on_error: Callable[[ApplicationError], object] | None = None,
    what: str = "change this ticket",
    then: str = "",
    **shown: Any,
) -> HttpResponse:
    """Run one change of a ticket's page and answer for it.

    `form` (shown on the page as `shown` says) is checked first: invalid, the page again with 400.
    Done: `notice`, with the page again for HTMX (#ticket is swapped) or a redirect to it — or, with
    `then` (a URL name), a redirect there. A refusal: 403 when the service says the actor may not
    (`what`); else the page with the refusal's status and its message — put on the form given back
    (by `on_error`; by default above its fields) or, with no form shown, above the page.
    """
    if form is not None and not form.is_valid():
        return _page(request, actor, ticket, 400, **shown)
    try:
        change()
    except PermissionDenied:
        return forbidden(request, what)
    except ApplicationError as exc:
        if not shown:
            return _page(
                request, actor, ticket, exc.status, error=STALE if isinstance(exc, StaleVersion) else exc.message
            )
        if on_error is not None:
            on_error(exc)
        elif form is not None:
            form.add_error(None, exc.message)
        return _page(request, actor, ticket, exc.status, **shown)
    if then or not is_htmx(request):
        messages.success(request, notice)
        return redirect(then or reverse("service:detail", args=[ticket.pk]))
    fresh = _readable(request, actor, ticket.pk)
    return fresh if isinstance(fresh, HttpResponse) else _page(request, actor, fresh, notice=notice)


@_ticket_view("", methods=("GET", "HEAD"))
def detail_page(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """GET /tickets/<id>/?canned=…: the ticket; `canned` fills the composer with a canned reply."""
    return _page(request, actor, ticket, canned=_canned(actor, request.GET.get("canned")))


@_ticket_view("answer this ticket", methods=("GET", "HEAD"))
def composer_view(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """GET /tickets/<id>/composer/?canned=…: the composer block with the canned reply's rendered
    text (HTMX swaps it in when a canned reply is picked)."""
    if not is_htmx(request):
        query = urlencode({"canned": request.GET.get("canned", "")})
        return redirect(f"{reverse('service:detail', args=[ticket.pk])}?{query}#composer")
    context = {"ticket": ticket, "kind": "reply", **_composer(actor, ticket, _canned(actor, request.GET.get("canned")))}
    context["requester_address"] = ticket_pages.requester_address(ticket)
    return render(request, "service/_composer.html", context)


def _reply(actor: Principal, ticket: Ticket, data: dict[str, Any], canned: CannedReply | None) -> None:
    """The reply as the composer sent it: with a canned reply, its status, priority and tags too
    (then `then`, unless the canned reply sets the status itself)."""
    body, then = data["body"], data.get("then") or None
    if canned is None:
        ticket_services.ticket_reply(actor=actor, ticket=ticket, body=body, status=then)
        return
    canned_services.canned_reply_apply(actor=actor, ticket=ticket, reply=canned, body=body)
    if then and not canned.set_status:
        ticket_services.ticket_set_status(actor=actor, ticket=Ticket.objects.get(pk=ticket.pk), status=then)


@_ticket_view("answer this ticket")
def reply_view(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """POST /tickets/<id>/reply/: body, optional canned (apply its status, priority, tags) and
    then (a status to set with the reply)."""
    form = MessageForm(request.POST)
    canned = _canned(actor, request.POST.get("canned"))
    notice = "Reply sent." if ticket_pages.requester_address(ticket) else "Reply added."
    return _act(
        request,
        actor,
        ticket,
        notice,
        lambda: _reply(actor, ticket, form.cleaned_data, canned),
        form=form,
        on_error=lambda exc: form.add_error(
            "body" if "body" in exc.fields else None, exc.fields.get("body", exc.message)
        ),
        what="answer this ticket",
        message_form=form,
        canned=canned,
    )


@_ticket_view("add notes to this ticket")
def note_view(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """POST /tickets/<id>/note/: an internal note (never sent)."""
    form = MessageForm(request.POST)
    return _act(
        request,
        actor,
        ticket,
        "Internal note added.",
        lambda: ticket_services.ticket_note(actor=actor, ticket=ticket, body=form.cleaned_data["body"]),
        form=form,
        what="add notes to this ticket",
        message_form=form,
        kind="note",
    )


@_ticket_view("change this ticket")
def status_view(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """POST /tickets/<id>/status/: status (and the version the page showed)."""
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _page(request, actor, ticket, 400, error="Choose one of the statuses.")
    status, version = form.cleaned_data["status"], form.cleaned_data.get("version")
    notice = f"Ticket #{ticket.number} is now {TicketStatus(status).label.lower()}."
    change = partial(
        ticket_services.ticket_set_status, actor=actor, ticket=ticket, status=status, expected_version=version
    )
    return _act(request, actor, ticket, notice, change)


@_ticket_view("assign this ticket")
def assign_view(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """POST /tickets/<id>/assign/: assignee and queue (empty: nobody / no queue)."""
    form = AssignForm(request.POST, queues=ticket_pages.queue_choices(actor), members=member_choices(actor))

    def assign() -> None:
        data = form.cleaned_data
        ticket_services.ticket_assign(actor=actor, ticket=ticket, assignee_id=data["assignee"], queue_id=data["queue"])

    return _act(request, actor, ticket, "Assignment saved.", assign, form=form, assign_form=form)


@_ticket_view("change this ticket")
def properties_view(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """POST /tickets/<id>/properties/: priority, type, tags (with the version the page showed)."""
    form = PropertiesForm(request.POST)

    def update() -> None:
        version = form.cleaned_data.get("version")
        ticket_services.ticket_update(actor=actor, ticket=ticket, data=form.to_data(), expected_version=version)

    def place(exc: ApplicationError) -> None:
        if isinstance(exc, StaleVersion):
            form.add_error(None, STALE)
        else:
            form.add_service_error(exc)

    return _act(request, actor, ticket, "Ticket saved.", update, form=form, on_error=place, properties_form=form)


@_ticket_view("link this ticket")
def link_view(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """POST /tickets/<id>/links/: kind and the other ticket's number."""
    form = LinkForm(request.POST)
    if not form.is_valid():
        return _page(request, actor, ticket, 400, link_form=form)
    other = ticket_pages.ticket_by_number(actor=actor, number=form.cleaned_data["number"])
    if other is None:
        form.add_error("number", "No ticket has this number.")
        return _page(request, actor, ticket, 422, link_form=form)
    link = partial(ticket_services.ticket_link, actor=actor, ticket=ticket, other=other, kind=form.cleaned_data["kind"])

    def place(exc: ApplicationError) -> None:
        form.add_error("number" if exc.fields else None, exc.message)

    return _act(request, actor, ticket, f"Linked to #{other.number}.", link, on_error=place, link_form=form)


@_ticket_view("change this ticket's links")
def unlink_view(request: HttpRequest, actor: Principal, ticket: Ticket, other_id: int) -> HttpResponse:
    """POST /tickets/<id>/links/<other id>/delete/: remove the link between the two tickets."""
    other = _readable(request, actor, other_id)
    if isinstance(other, HttpResponse):
        return other
    unlink = partial(ticket_services.ticket_unlink, actor=actor, ticket=ticket, other=other)
    return _act(request, actor, ticket, f"Link to #{other.number} removed.", unlink)


@_ticket_view("delete this ticket", methods=("GET", "HEAD", "POST"))
def delete_page(request: HttpRequest, actor: Principal, ticket: Ticket) -> HttpResponse:
    """GET: "delete this ticket?"; POST: delete it and go back to the list."""
    if request.method != "POST":
        return render(request, "service/ticket_confirm_delete.html", {"ticket": ticket})
    delete = partial(ticket_services.ticket_delete, actor=actor, ticket=ticket)
    return _act(
        request,
        actor,
        ticket,
        f"Ticket #{ticket.number} deleted.",
        delete,
        what="delete this ticket",
        then="service:list",
    )


# --- a new ticket --------------------------------------------------------------------------------


def _form(actor: Principal, data: Any = None, initial: dict[str, Any] | None = None) -> TicketForm:
    return TicketForm(data, initial=initial, queues=ticket_pages.queue_choices(actor), members=member_choices(actor))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def create_page(request: HttpRequest) -> HttpResponse:
    """GET /tickets/new/?contact=…: the form; POST: create the ticket and open it."""
    actor = actor_of(request)
    if not actor.can(Entity.TICKET, Mode.WRITE):
        return forbidden(request, "add tickets")
    if request.method != "POST":
        initial: dict[str, Any] = {}
        raw = request.GET.get("contact", "")
        contact = (
            scope(actor, Contact.objects.alive(), Entity.CONTACT).filter(pk=raw).first() if raw.isdigit() else None
        )
        if contact is not None:
            initial["contact"] = contact_label(contact)
        return render(request, "service/ticket_form.html", {"form": _form(actor, initial=initial)})
    form = _form(actor, request.POST)
    if not form.is_valid():
        return render(request, "service/ticket_form.html", {"form": form}, status=400)
    contact_id, contact_message = contact_by_text(actor, form.cleaned_data.get("contact") or "")
    if contact_message:
        form.add_error("contact", contact_message)
        return render(request, "service/ticket_form.html", {"form": form}, status=422)
    if contact_id is None and not form.cleaned_data.get("requester_email"):
        form.add_error("contact", "Pick the requester, or enter a new requester's email.")
        return render(request, "service/ticket_form.html", {"form": form}, status=422)
    try:
        ticket = ticket_services.ticket_create(
            actor=actor, data=form.to_data(contact_id), channel=form.cleaned_data["channel"]
        )
    except PermissionDenied:
        return forbidden(request, "add tickets")
    except ApplicationError as exc:
        form.add_service_error(exc)
        return render(request, "service/ticket_form.html", {"form": form}, status=exc.status)
    messages.success(request, f"Ticket #{ticket.number} created.")
    return redirect("service:detail", ticket.pk)
