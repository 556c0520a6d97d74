"""Tickets API: tickets, their conversation (replies, notes), status changes, assignment and links.
(No `from __future__ import annotations` in API modules: ninja reads the annotations.)

Tickets follow the ticket permissions (Entity.TICKET: support members write their teams' tickets
and the ones assigned to them, managers and admins all; viewers and sales read; marketing
nothing). PATCH needs the ticket's ETag in If-Match; POST /status and /assign check it when sent.
Creates (tickets, replies, notes) take an Idempotency-Key. A ticket of another workspace, or a
trashed one, is 404 everywhere.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from rapport.accounts.roles import Mode
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.service import ticket_selectors, ticket_services
from rapport.service.models import Ticket, TicketMessage
from rapport.service.ticket_schemas import (
    TicketAssignIn,
    TicketIn,
    TicketLinkIn,
    TicketLinkOut,
    TicketListParams,
    TicketMessageOut,
    TicketNoteIn,
    TicketOut,
    TicketPatch,
    TicketReplyIn,
    TicketStatusIn,
    TicketUnlinkParams,
)

router = Router(tags=["tickets"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def _version_if_sent(request: HttpRequest) -> int | None:
    """The If-Match version when the client sent one (412 when stale), else no check."""
    return if_match(request) if request.headers.get("If-Match", "").strip() else None


def _writable(request: HttpRequest, ticket_id: int) -> Ticket:
    return ticket_selectors.access_ticket(_actor(request), ticket_id, Mode.WRITE)


@router.get("/tickets", response={200: PageOut[TicketOut], **ERRORS}, summary="List tickets")
def list_tickets(request: HttpRequest, params: Query[TicketListParams]) -> Any:
    """Filtered and keyset-paged (newest first unless `sort` says otherwise); one query per page."""
    assignee: str | int | None = params.assignee
    filters = ticket_selectors.TicketFilter(
        status=params.status,
        priority=params.priority,
        type=params.type,
        queue_id=params.queue_id,
        assignee=assignee,
        channel=params.channel,
        tag=params.tag,
        contact_id=params.contact_id,
        company_id=params.company_id,
        q=params.q or "",
        sla_breached=params.sla_breached,
    )
    qs = ticket_selectors.ticket_list(actor=_actor(request), filters=filters)
    ordering = ticket_selectors.ticket_ordering(params.sort)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=ordering)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/tickets", response={201: TicketOut, **ERRORS}, summary="Create a ticket")
@idempotent(TicketOut)
def create_ticket(request: HttpRequest, payload: TicketIn) -> Ticket:
    """For chat and phone systems and integrations: `channel` defaults to "api"; the description is
    the ticket's first customer message."""
    data = payload.dict(exclude_unset=True)
    channel = data.pop("channel", payload.channel)
    return ticket_services.ticket_create(actor=_actor(request), data=data, channel=channel)


@router.get("/tickets/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="Get a ticket")
def get_ticket(request: HttpRequest, response: HttpResponse, ticket_id: int) -> Ticket:
    ticket = ticket_selectors.access_ticket(_actor(request), ticket_id)
    with_etag(response, ticket)
    return ticket


@router.patch("/tickets/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="Update a ticket")
def update_ticket(request: HttpRequest, response: HttpResponse, ticket_id: int, payload: TicketPatch) -> Ticket:
    ticket = _writable(request, ticket_id)
    ticket = ticket_services.ticket_update(
        actor=_actor(request), ticket=ticket, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, ticket)
    return ticket


@router.delete("/tickets/{ticket_id}", response={204: None, **ERRORS}, summary="Move a ticket to the trash")
def delete_ticket(request: HttpRequest, ticket_id: int) -> Status[None]:
    ticket_services.ticket_delete(actor=_actor(request), ticket=_writable(request, ticket_id))
    return Status(204, None)


@router.get(
    "/tickets/{ticket_id}/messages", response={200: PageOut[TicketMessageOut], **ERRORS}, summary="A ticket's thread"
)
def ticket_messages(
    request: HttpRequest, ticket_id: int, notes: bool = True, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Any:
    """Customer messages, public replies and internal notes (`notes=false` leaves them out), oldest first."""
    actor = _actor(request)
    ticket = ticket_selectors.access_ticket(actor, ticket_id)
    qs = ticket_selectors.ticket_thread(actor=actor, ticket=ticket, include_notes=notes)
    page = paginate(qs, cursor=cursor, limit=limit, ordering=("created_at", "id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/tickets/{ticket_id}/replies", response={201: TicketMessageOut, **ERRORS}, summary="Reply publicly")
@idempotent(TicketMessageOut)
def reply_ticket(request: HttpRequest, ticket_id: int, payload: TicketReplyIn) -> TicketMessage:
    """Emailed to the requester; with `status` the ticket moves there in the same write."""
    ticket = _writable(request, ticket_id)
    return ticket_services.ticket_reply(actor=_actor(request), ticket=ticket, body=payload.body, status=payload.status)


@router.post("/tickets/{ticket_id}/notes", response={201: TicketMessageOut, **ERRORS}, summary="Add an internal note")
@idempotent(TicketMessageOut)
def note_ticket(request: HttpRequest, ticket_id: int, payload: TicketNoteIn) -> TicketMessage:
    """Never sent to the customer."""
    return ticket_services.ticket_note(actor=_actor(request), ticket=_writable(request, ticket_id), body=payload.body)


@router.post("/tickets/{ticket_id}/status", response={200: TicketOut, **ERRORS}, summary="Change a ticket's status")
def set_ticket_status(request: HttpRequest, response: HttpResponse, ticket_id: int, payload: TicketStatusIn) -> Ticket:
    """Solved sends the satisfaction survey; closed is final. If-Match is checked when sent."""
    ticket = ticket_services.ticket_set_status(
        actor=_actor(request),
        ticket=_writable(request, ticket_id),
        status=payload.status,
        expected_version=_version_if_sent(request),
    )
    with_etag(response, ticket)
    return ticket


@router.post("/tickets/{ticket_id}/assign", response={200: TicketOut, **ERRORS}, summary="Assign a ticket")
def assign_ticket(request: HttpRequest, response: HttpResponse, ticket_id: int, payload: TicketAssignIn) -> Ticket:
    """To a member (null: nobody) and, with `queue_id`, to a queue. If-Match is checked when sent."""
    given = payload.dict(exclude_unset=True)
    ticket = ticket_services.ticket_assign(
        actor=_actor(request),
        ticket=_writable(request, ticket_id),
        assignee_id=payload.assignee_id,
        queue_id=given.get("queue_id", ticket_services.UNSET),
        auto=payload.auto,
        expected_version=_version_if_sent(request),
    )
    with_etag(response, ticket)
    return ticket


@router.get("/tickets/{ticket_id}/links", response={200: list[TicketLinkOut], **ERRORS}, summary="A ticket's links")
def list_links(request: HttpRequest, ticket_id: int) -> list[Any]:
    """Links made from this ticket carry their kind; links made from the other ticket "<kind>_by"."""
    actor = _actor(request)
    return ticket_selectors.ticket_links(actor=actor, ticket=ticket_selectors.access_ticket(actor, ticket_id))


@router.post("/tickets/{ticket_id}/links", response={201: list[TicketLinkOut], **ERRORS}, summary="Link two tickets")
def link_ticket(request: HttpRequest, ticket_id: int, payload: TicketLinkIn) -> Status[list[Any]]:
    """This ticket is a duplicate of / related to / a follow-up of `other_id`; answers its links."""
    actor = _actor(request)
    ticket = _writable(request, ticket_id)
    try:
        other = ticket_selectors.access_ticket(actor, payload.other_id)
    except NotFound:  # a field of the body: 422 naming it, like any other unknown reference
        raise ValidationFailed(
            "unknown_ticket", f"No ticket with the id {payload.other_id}.", field="other_id"
        ) from None
    ticket_services.ticket_link(actor=actor, ticket=ticket, other=other, kind=payload.kind)
    return Status(201, ticket_selectors.ticket_links(actor=actor, ticket=ticket))


@router.delete("/tickets/{ticket_id}/links", response={204: None, **ERRORS}, summary="Unlink two tickets")
def unlink_ticket(request: HttpRequest, ticket_id: int, params: Query[TicketUnlinkParams]) -> Status[None]:
    actor = _actor(request)
    ticket = _writable(request, ticket_id)
    other = ticket_selectors.access_ticket(actor, params.other_id)
    ticket_services.ticket_unlink(actor=actor, ticket=ticket, other=other)
    return Status(204, None)
