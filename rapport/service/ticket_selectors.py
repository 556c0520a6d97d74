"""Reads of tickets: one ticket (fetch-and-authorise), the filtered list, a ticket's thread and links.

Everything is narrowed to what the actor may read (Entity.TICKET levels: support and sales
members read all tickets, marketing none) and leaves trashed tickets out. The list is one query
with its relations joined (the caller pages it with rapport.core.pagination, keyset by one of
SORTS); every filter is served by an index of (org, …) on the ticket table, text search by the
global full-text index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.contacts.search import KINDS as CUSTOMER_KINDS
from rapport.core import fulltext
from rapport.core.access import access, scope
from rapport.core.errors import ValidationFailed
from rapport.core.principal import Principal
from rapport.service.models import (
    UNSOLVED,
    Channel,
    MessageKind,
    Ticket,
    TicketLink,
    TicketMessage,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from rapport.service.ticket_search import KIND as SEARCH_KIND

# API sort key → keyset ordering (non-null fields ending with the id, see rapport.core.pagination).
SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "updated": ("updated_at", "id"),
    "-number": ("-number", "-id"),
    "number": ("number", "id"),
}
# Status filter values beyond the statuses themselves.
UNSOLVED_FILTER = "unsolved"
TEXT_MATCHES = 100  # a text search looks at the best this many tickets and customers of the index
_NUMBER = re.compile(r"^#?\s*(\d{1,18})$")
RELATED = ("contact", "company", "queue", "owner", "team")


@dataclass(frozen=True)
class TicketFilter:
    """The filters of the ticket list; None means "any". `status` is a status or "unsolved";
    `assignee` is "me", "none" or a user id; `tag` matches one of the ticket's tags exactly; `q`
    finds tickets by number, subject, requester address or external id, and the tickets of
    customers whose name or address matches; `sla_breached` keeps the unsolved tickets with a
    target overdue (a due time before now, or before the pause of a pending ticket)."""

    status: str | None = None
    priority: str | None = None
    type: str | None = None
    queue_id: int | None = None
    no_queue: bool = False
    assignee: str | int | None = None
    channel: str | None = None
    tag: str | None = None
    contact_id: int | None = None
    company_id: int | None = None
    q: str = ""
    sla_breached: bool | None = None


def _alive(actor: Principal) -> QuerySet[Ticket]:
    return Ticket.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)


def access_ticket(actor: Principal, pk: object, mode: Mode = Mode.READ) -> Ticket:
    """One ticket the actor may read, with its relations joined (NotFound, 404, for a missing,
    trashed or other workspace's ticket alike); with mode=WRITE, PermissionDenied (403) when the
    actor may read it but not change it."""
    return access(actor, _alive(actor).select_related(*RELATED), pk, Entity.TICKET, mode)


def _check(value: str | None, choices: type[TicketPriority | TicketType | Channel], name: str) -> None:
    if value is not None and value not in choices.values:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(choices.values)}.", field=name)


def _has_tag(tag: str) -> Q | RawSQL:
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])
    # SQLite has no JSON containment lookup: look through the array's elements.
    sql = "EXISTS (SELECT 1 FROM json_each(service_ticket.tags) WHERE json_each.value = %s)"
    return RawSQL(sql, [tag], output_field=BooleanField())  # noqa: S611 (no input in the SQL text)


def overdue(now: datetime) -> Q:
    """Unsolved tickets with a target overdue at `now` (a pending ticket's clock stopped at its pause)."""
    condition = Q()
    for name in ("first_response_due_at", "next_response_due_at", "resolution_due_at"):
        condition |= Q(sla_paused_at__isnull=True, **{f"{name}__lt": now})
        condition |= Q(sla_paused_at__isnull=False, **{f"{name}__lt": F("sla_paused_at")})
    return Q(status__in=UNSOLVED) & condition


def _text(actor: Principal, q: str) -> Q | None:
    """Tickets matching the text: by number, by the index (tickets, then customers)."""
    match = _NUMBER.match(q.strip())
    condition = Q(number=int(match.group(1))) if match and int(match.group(1)) < 2**63 else Q(pk__in=[])
    visible = fulltext.visibility_for(actor, {SEARCH_KIND: Entity.TICKET, **CUSTOMER_KINDS})
    hits = fulltext.search_entries(org_id=actor.org_id, q=q, visible=visible, limit=TEXT_MATCHES)
    ids = {kind: [h.object_id for h in hits if h.kind == kind] for kind in (SEARCH_KIND, "contact", "company")}
    return condition | Q(pk__in=ids[SEARCH_KIND]) | Q(contact_id__in=ids["contact"]) | Q(company_id__in=ids["company"])


def ticket_list(*, actor: Principal, filters: TicketFilter | None = None) -> QuerySet[Ticket]:
    """The tickets the actor may read that match `filters`, with contact, company, queue, assignee
    and team joined (one query); unordered: the caller pages it with one of SORTS."""
    f = filters or TicketFilter()
    qs = scope(actor, _alive(actor), Entity.TICKET).select_related(*RELATED)
    if f.status is not None:
        if f.status == UNSOLVED_FILTER:
            qs = qs.filter(status__in=UNSOLVED)
        elif f.status in TicketStatus.values:
            qs = qs.filter(status=f.status)
        else:
            choices = ", ".join([*TicketStatus.values, UNSOLVED_FILTER])
            raise ValidationFailed("invalid", f"Choose one of: {choices}.", field="status")
    _check(f.priority, TicketPriority, "priority")
    _check(f.type, TicketType, "type")
    if f.priority is not None:
        qs = qs.filter(priority=f.priority)
    if f.type is not None:
        qs = qs.filter(type=f.type)
    _check(f.channel, Channel, "channel")
    if f.channel is not None:
        qs = qs.filter(channel=f.channel)
    if f.queue_id is not None:
        qs = qs.filter(queue_id=f.queue_id)
    elif f.no_queue:
        qs = qs.filter(queue__isnull=True)
    if f.assignee == "me":
        qs = qs.filter(owner_id=actor.user_id)
    elif f.assignee == "none":
        qs = qs.filter(owner__isnull=True)
    elif isinstance(f.assignee, int) or (isinstance(f.assignee, str) and f.assignee.isdigit()):
        qs = qs.filter(owner_id=int(f.assignee))
    elif f.assignee is not None:
        raise ValidationFailed("invalid", "Give “me”, “none” or a user id.", field="assignee")
    if f.tag:
        qs = qs.filter(_has_tag(f.tag))
    if f.contact_id is not None:
        qs = qs.filter(contact_id=f.contact_id)
    if f.company_id is not None:
        qs = qs.filter(company_id=f.company_id)
    if f.sla_breached is not None:
        breached = overdue(timezone.now())
        qs = qs.filter(breached) if f.sla_breached else qs.exclude(breached)
    if f.q.strip():
        text = _text(actor, f.q)
        qs = qs.filter(text) if text is not None else qs.none()
    return qs


def ticket_ordering(sort: str | None) -> tuple[str, ...]:
    """The keyset ordering of an API sort key (default newest first); 422 for an unknown one."""
    if sort is None:
        return SORTS["-created"]
    if sort not in SORTS:
        raise ValidationFailed("invalid", f"Sort by one of: {', '.join(SORTS)}.", field="sort")
    return SORTS[sort]


def ticket_thread(*, actor: Principal, ticket: Ticket, include_notes: bool = True) -> QuerySet[TicketMessage]:
    """The conversation of a ticket the actor may read (fetch it with `access_ticket`), oldest
    first, with authors and contacts joined: customer messages, public replies and (unless
    `include_notes` is off) internal notes. One query."""
    qs = TicketMessage.objects.filter(org_id=actor.org_id, ticket_id=ticket.pk).select_related("author", "contact")
    if not include_notes:
        qs = qs.exclude(kind=MessageKind.NOTE)
    return qs.order_by("created_at", "id")


def ticket_links(*, actor: Principal, ticket: Ticket) -> list[tuple[str, Ticket]]:
    """The tickets linked to this one, as (kind, other ticket): links made from this ticket carry
    their kind ("duplicate_of", "related", "follow_up"), links made from the other ticket carry
    "<kind>_by" ("duplicate_of_by": the other is a duplicate of this one). Trashed tickets and
    tickets the actor may not read are left out. Two queries."""
    readable = scope(actor, _alive(actor), Entity.TICKET).values("pk")
    out = TicketLink.objects.filter(org_id=actor.org_id, ticket_id=ticket.pk, other__in=readable)
    back = TicketLink.objects.filter(org_id=actor.org_id, other_id=ticket.pk, ticket__in=readable)
    links = [(link.kind, link.other) for link in out.select_related("other").order_by("id")]
    links += [(f"{link.kind}_by", link.ticket) for link in back.select_related("ticket").order_by("id")]
    return links
