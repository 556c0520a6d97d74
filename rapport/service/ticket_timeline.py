"""Tickets on the 360° view: the "ticket" timeline source and the support facts.

A ticket shows on the timeline of its requester (contact) and of its company (so also on a
company page's roll-up of its people, once: items carry the ticket as their `key`), at the time it
was opened, with its number, subject, status, priority and assignee. One query whatever the number
of tickets or subjects.

The facts: "Open tickets" (new, open, pending or on hold) and "Last ticket" (number, subject and
the day it was opened, UTC). A company's facts take its own tickets and its people's. Both show
only the tickets the actor may read and never trashed ones. Imported from ServiceConfig.ready.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse

from rapport.accounts.roles import Entity
from rapport.contacts.facts import Fact, register_fact_source
from rapport.contacts.timeline import SubjectIds, TimelineItem, register_timeline_source
from rapport.core.access import scope
from rapport.core.principal import Principal
from rapport.service.models import UNSOLVED, Ticket, TicketPriority, TicketStatus

SUBJECTS = {"contact", "company"}


def _tickets(actor: Principal) -> QuerySet[Ticket]:
    return scope(actor, Ticket.objects.filter(org_id=actor.org_id, deleted_at__isnull=True), Entity.TICKET)


def ticket_url(pk: int) -> str:
    """The ticket's page, or "" while the ticket pages are not mounted."""
    try:
        return reverse("service:detail", args=[pk])
    except NoReverseMatch:
        return ""


def ticket_items(
    actor: Principal, subject_type: str, subject_ids: SubjectIds, limit: int, before: datetime | None
) -> list[TimelineItem]:
    """The newest `limit` tickets (opened before `before`) of the contacts or companies that the actor may read."""
    if subject_type not in SUBJECTS or not actor.can(Entity.TICKET):
        return []
    qs = _tickets(actor).filter(**{f"{subject_type}_id__in": subject_ids})
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    items = []
    for ticket in qs.select_related("owner", "queue").order_by("-created_at", "-id")[:limit]:
        lines = [
            f"Status: {TicketStatus(ticket.status).label} · Priority: {TicketPriority(ticket.priority).label}",
        ]
        if ticket.queue_id or ticket.owner_id:
            who = ticket.owner.display_name if ticket.owner else "unassigned"
            lines.append(f"Assigned: {who}" + (f" ({ticket.queue.name})" if ticket.queue else ""))
        items.append(
            TimelineItem(
                at=ticket.created_at,
                kind="ticket",
                title=f"Ticket #{ticket.number}: {ticket.subject}",
                icon="ticket",
                lines=tuple(lines),
                url=ticket_url(ticket.pk),
                key=f"ticket:{ticket.pk}",
            )
        )
    return items


def ticket_facts(actor: Principal, subject_type: str, record: Any) -> list[Fact]:
    """ "Open tickets" (how many unsolved) and "Last ticket"; nothing when the customer has no
    ticket (that the actor may see). One query (the count is a subquery of the latest ticket's)."""
    if subject_type not in SUBJECTS or not actor.can(Entity.TICKET):
        return []
    qs = _tickets(actor)
    if subject_type == "contact":
        qs = qs.filter(contact_id=record.pk)
    else:
        qs = qs.filter(Q(company_id=record.pk) | Q(contact__company_id=record.pk))
    open_count = qs.filter(status__in=UNSOLVED).order_by().values("org_id").annotate(n=Count("pk")).values("n")
    last = (
        qs.order_by("-created_at", "-id")
        .only("pk", "number", "subject", "created_at")
        .annotate(open_count=Coalesce(Subquery(open_count), 0))
        .first()
    )
    if last is None:
        return []
    return [
        Fact(label="Open tickets", value=str(last.open_count)),
        Fact(
            label="Last ticket",
            value=f"#{last.number} {last.subject} ({last.created_at.date().isoformat()})",
            url=ticket_url(last.pk),
        ),
    ]


register_timeline_source("ticket", ticket_items, label="Tickets")
register_fact_source("tickets", ticket_facts)
