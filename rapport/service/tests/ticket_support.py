"""Helpers of the ticket core tests: members in teams, queues, and tickets made through the services."""

from __future__ import annotations

from typing import Any

from rapport.accounts.models import Membership, Organization, Team
from rapport.accounts.roles import Role
from rapport.core.principal import Principal
from rapport.service import ticket_services
from rapport.service.models import Queue, QueueMember, Ticket
from rapport.testing.factories import make_principal


def in_team(org: Organization, role: Role, team: Team) -> Principal:
    """A new member of `org` with `role`, in `team` (the principal knows its team)."""
    principal = make_principal(org, role)
    membership = Membership.objects.get(org=org, user=principal.user)
    team.members.add(membership)
    return Principal.for_membership(membership)


def make_queue(org: Organization, name: str, *, team: Team | None = None, members: tuple[Any, ...] = ()) -> Queue:
    queue = Queue.objects.create(org=org, name=name, team=team)
    for principal in members:
        QueueMember.objects.create(org=org, queue=queue, user=principal.user)
    return queue


def new_ticket(actor: Principal, subject: str = "Printer on fire", **data: Any) -> Ticket:
    data.setdefault("requester_email", "ada@example.org")
    data.setdefault("description", "It is on fire.")
    channel = data.pop("channel", "web")
    return ticket_services.ticket_create(actor=actor, data={"subject": subject, **data}, channel=channel)


def fields_of(ticket: Ticket) -> dict[str, Any]:
    """Every column of the stored ticket (to assert that nothing changed)."""
    fresh = Ticket.objects.get(pk=ticket.pk)
    return {f.attname: getattr(fresh, f.attname) for f in Ticket._meta.concrete_fields}
