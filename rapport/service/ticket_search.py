"""Tickets in the global search (the command palette, the search page, GET /api/v1/search).

Tickets live in the shared full-text index (rapport.core.fulltext) as kind "ticket": the title is
"#<number> <subject>", so a ticket is found by its number ("1042", "#1042") and by words of its
subject; the requester's address and the external id are keywords. Entries carry the assignee
(`owner`) and the queue's team, so results are filtered by the ticket read level in the index
query. The ticket write services keep the entry current (`index_new` / `reindex`, in their transaction); a
trashed ticket leaves the index. Imported from ServiceConfig.ready (registers the provider).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import NoReverseMatch, reverse

from rapport.accounts.roles import Entity
from rapport.core import fulltext
from rapport.core.models import SearchEntry
from rapport.core.principal import Principal
from rapport.core.search import SearchHit, register_provider
from rapport.service.models import Ticket, TicketStatus

KIND = "ticket"
BULK_BATCH = 2000


def _fields(ticket: Ticket, requester: str = "") -> dict[str, Any]:
    status = TicketStatus(ticket.status).label if ticket.status in TicketStatus.values else ticket.status
    return {
        "org_id": ticket.org_id,
        "kind": KIND,
        "object_id": ticket.pk,
        "title": f"#{ticket.number} {ticket.subject}",
        "subtitle": " · ".join(part for part in (status, requester or ticket.requester_email) if part),
        "keywords": [k for k in (ticket.requester_email, ticket.external_id) if k],
        "owner_id": ticket.owner_id,
        "team_id": ticket.team_id,
    }


def _requester(ticket: Ticket) -> str:
    if ticket.contact_id is None:
        return ""
    contact = ticket.contact
    return str(contact) if contact is not None else ""


def reindex(ticket: Ticket) -> None:
    """Bring one ticket's entry up to date (removed when trashed). Runs inside the write's transaction."""
    if ticket.deleted_at is not None:
        fulltext.remove_entry(org_id=ticket.org_id, kind=KIND, object_id=ticket.pk)
    else:
        fulltext.index_entry(**_fields(ticket, _requester(ticket)))


def index_new(ticket: Ticket) -> None:
    """Index a ticket created in this transaction: one INSERT, since a new id has no entry yet."""
    fulltext.prepare_entry(**_fields(ticket, _requester(ticket))).save()


def index_in_bulk(tickets: Iterable[Ticket], requesters: dict[int, str] | None = None) -> int:
    """Index freshly bulk-created tickets (demo data, imports) in batches; `requesters` maps a
    contact id to the name shown. Returns how many were indexed."""
    names = requesters or {}
    entries = [
        fulltext.prepare_entry(**_fields(t, names.get(t.contact_id or 0, ""))) for t in tickets if t.deleted_at is None
    ]
    for start in range(0, len(entries), BULK_BATCH):
        SearchEntry.objects.bulk_create(entries[start : start + BULK_BATCH])
    return len(entries)


def _url(pk: int) -> str:
    try:
        return reverse("service:detail", args=[pk])
    except NoReverseMatch:  # the ticket pages are not mounted (an API-only deployment)
        return f"/api/v1/tickets/{pk}"


@register_provider(priority=15)
def tickets(actor: Principal, q: str, limit: int) -> list[SearchHit]:
    """Tickets whose number, subject, requester address or external id matches `q`."""
    visible = fulltext.visibility_for(actor, {KIND: Entity.TICKET})
    if not visible:
        return []
    hits = fulltext.search_entries(org_id=actor.org_id, q=q, visible=visible, limit=limit)
    return [SearchHit(kind=KIND, label=hit.title, detail=hit.subtitle, url=_url(hit.object_id)) for hit in hits]
