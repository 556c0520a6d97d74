"""Reads of the ticket pages (rapport.service.ticket_views): the list's rows (filters, keyset pages)
and what a ticket's page shows around the ticket (thread, requester's other open tickets, links,
satisfaction, SLA clock).

Built on `ticket_selectors.ticket_list` (the tickets the actor may read, not trashed), so the pages
and the API see the same tickets. Designed for a million tickets: a list page is the 50 most recently
updated after a cursor, one query with requester, company, queue and assignee joined — the
(org, status, updated_at) index serves the status filters, (org, queue, status) and
(org, owner, status) the queue and assignee ones — and a text search asks the full-text index
for the best matching ticket ids first (one more query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from rapport.core.errors import PermissionDenied
from rapport.core.pagination import Page, paginate
from rapport.core.principal import Principal
from rapport.service import canned_services, sla
from rapport.service.models import (
    UNSOLVED,
    CannedReply,
    CsatSurvey,
    LinkKind,
    Queue,
    Ticket,
)
from rapport.service.ticket_selectors import UNSOLVED_FILTER, TicketFilter, ticket_links, ticket_list, ticket_thread

PAGE_SIZE = 50
ORDERING = ("-updated_at", "-id")
SEARCH_MATCHES = 200  # a text search lists the best this many matching tickets
DUE_SOON = timedelta(hours=1)
OTHER_OPEN = 5  # the requester's other open tickets a ticket's page names
DUE_FIELDS = ("first_response_due_at", "next_response_due_at", "resolution_due_at")
DUE_LABELS = {"first_response_due_at": "First response", "next_response_due_at": "Next response"}
DUE_LABELS["resolution_due_at"] = "Resolution"
STATUS_BADGES = {"new": "badge-warn", "open": "badge-high", "pending": "badge-info", "on_hold": "badge-off"}
STATUS_BADGES |= {"solved": "badge-ok", "closed": "badge-off"}
PRIORITY_BADGES = {"low": "badge-off", "normal": "", "high": "badge-high", "urgent": "badge-danger"}
# How a link reads from the other ticket's side.
BACK_LABELS = {
    LinkKind.DUPLICATE_OF: "Duplicated by",
    LinkKind.RELATED: "Related to",
    LinkKind.FOLLOW_UP: "Followed up by",
}


def queue_choices(actor: Principal) -> list[tuple[int, str]]:
    """(id, name) of the workspace's live queues, by name: the queue choices of the forms."""
    qs = Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).order_by(Lower("name"), "id")
    return list(qs.values_list("pk", "name"))


def canned_choices(actor: Principal) -> list[CannedReply]:
    """The canned replies the actor may use on a ticket (shared ones and their own), by name."""
    try:
        return list(canned_services.canned_reply_list(actor=actor))
    except PermissionDenied:
        return []


def requester_address(ticket: Ticket) -> str:
    """Where a public reply goes: the ticket's requester address, else the contact's email."""
    if ticket.requester_email:
        return ticket.requester_email
    contact = ticket.contact if ticket.contact_id else None
    return contact.email if contact is not None and contact.deleted_at is None else ""


def mark(tickets: list[Ticket], now: datetime) -> list[Ticket]:
    """Each ticket with its badge classes and its next SLA due time (`sla_due`, `sla_metric`,
    `sla_state`: "breached", "soon" or "ok"); no due time while solved, closed or paused."""
    for ticket in tickets:
        ticket.status_badge = STATUS_BADGES.get(ticket.status, "")  # type: ignore[attr-defined]
        ticket.priority_badge = PRIORITY_BADGES.get(ticket.priority, "")  # type: ignore[attr-defined]
        dues = [(getattr(ticket, name), name) for name in DUE_FIELDS if getattr(ticket, name) is not None]
        running = ticket.status in UNSOLVED and ticket.sla_paused_at is None
        due, name = min(dues) if dues and running else (None, "")
        ticket.sla_due = due  # type: ignore[attr-defined]
        ticket.sla_metric = DUE_LABELS.get(name, "")  # type: ignore[attr-defined]
        state = "" if due is None else "breached" if due <= now else "soon" if due <= now + DUE_SOON else "ok"
        ticket.sla_state = state  # type: ignore[attr-defined]
    return tickets


def _due_soon(now: datetime) -> Q:
    """Unsolved, running tickets with a target due within DUE_SOON (not yet overdue)."""
    condition = Q()
    for name in DUE_FIELDS:
        condition |= Q(**{f"{name}__gt": now, f"{name}__lte": now + DUE_SOON})
    return Q(status__in=UNSOLVED, sla_paused_at__isnull=True) & condition


def filtered_tickets(*, actor: Principal, values: dict[str, str], now: datetime) -> QuerySet[Ticket]:
    """The tickets the actor may read that match the list's filters (see TicketFilterForm.values):
    status "unsolved" / "all" / one status, priority, queue ("none" or an id), assignee ("me",
    "none" or a member's id), channel, sla ("breached" / "due_soon") and a text `q`."""
    queue = values.get("queue") or ""
    filters = TicketFilter(
        status=None if values.get("status") == "all" else values.get("status") or UNSOLVED_FILTER,
        priority=values.get("priority") or None,
        channel=values.get("channel") or None,
        queue_id=int(queue) if queue.isdigit() else None,
        no_queue=queue == "none",
        assignee=values.get("assignee") or None,
        sla_breached=True if values.get("sla") == "breached" else None,
        q=values.get("q") or "",
    )
    qs = ticket_list(actor=actor, filters=filters)
    if values.get("sla") == "due_soon":
        qs = qs.filter(_due_soon(now))
    return qs


def ticket_rows(
    *, actor: Principal, values: dict[str, str], cursor: str | None, now: datetime | None = None
) -> Page[Ticket]:
    """One page of the ticket list, most recently updated first, each ticket with its requester,
    company, queue and assignee and `mark`ed. One query (two with a text search)."""
    now = now or timezone.now()
    qs = filtered_tickets(actor=actor, values=values, now=now).select_related("contact", "company", "queue", "owner")
    page = paginate(qs, cursor=cursor, limit=PAGE_SIZE, ordering=ORDERING)
    mark(page.items, now)
    return page


def ticket_by_number(*, actor: Principal, number: int) -> Ticket | None:
    """The live ticket numbered `number` if the actor may read it."""
    return ticket_list(actor=actor).filter(number=number).first()


@dataclass(frozen=True)
class LinkRow:
    label: str
    ticket: Ticket
    removable: bool


def _links(actor: Principal, ticket: Ticket, now: datetime) -> list[LinkRow]:
    """The ticket's links both ways (to live tickets the actor may read), as they read from here."""
    rows = []
    for kind, other in ticket_links(actor=actor, ticket=ticket):
        label = BACK_LABELS[LinkKind(kind.removesuffix("_by"))] if kind.endswith("_by") else LinkKind(kind).label
        rows.append(LinkRow(label, other, True))
    mark([row.ticket for row in rows], now)
    return rows


def ticket_page_data(*, actor: Principal, ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    """What a ticket's page shows around the ticket: `thread` (oldest first, with authors),
    `other_open` (the requester's other unsolved tickets), `links`, `csat` / `csat_sent`,
    `sla` (rapport.service.sla.sla_clock) and `requester_address`. A fixed number of queries."""
    now = now or timezone.now()
    mark([ticket], now)
    thread = list(ticket_thread(actor=actor, ticket=ticket))
    other_open: list[Ticket] = []
    if ticket.contact_id:
        others = ticket_list(actor=actor, filters=TicketFilter(contact_id=ticket.contact_id, status=UNSOLVED_FILTER))
        other_open = mark(list(others.exclude(pk=ticket.pk).order_by("-updated_at", "-id")[:OTHER_OPEN]), now)
    survey = CsatSurvey.objects.filter(ticket=ticket).first()
    csat = None
    if survey is not None and survey.rating:
        csat = {
            "rating": survey.rating,
            "stars": [i < survey.rating for i in range(5)],
            "comment": survey.comment,
            "answered_at": survey.answered_at,
        }
    return {
        "thread": thread,
        "other_open": other_open,
        "links": _links(actor, ticket, now),
        "csat": csat,
        "csat_sent": survey.sent_at if survey is not None and csat is None else None,
        "sla": sla.sla_clock(ticket, now=now),
        "requester_address": requester_address(ticket),
    }
