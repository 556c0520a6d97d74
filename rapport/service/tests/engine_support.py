"""Helpers for the routing and SLA engine tests: rows written directly, no services in between."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rapport.accounts.models import Organization, Team, User
from rapport.accounts.roles import Role
from rapport.contacts.models import Company, Contact
from rapport.service.models import AgentStatus, Queue, QueueMember, SlaPolicy, Ticket
from rapport.testing.factories import make_principal

_numbers = itertools.count(1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def agent(org: Organization, role: Role = Role.SUPPORT) -> User:
    return make_principal(org, role).user


def queue(org: Organization, name: str, *, members: Sequence[User] = (), **fields: Any) -> Queue:
    q = Queue.objects.create(org=org, name=name, **fields)
    for user in members:
        QueueMember.objects.create(org=org, queue=q, user=user)
    return q


def away(org: Organization, user: User, until: datetime | None = None) -> None:
    AgentStatus.objects.update_or_create(org=org, user=user, defaults={"away": True, "away_until": until})


def ticket(org: Organization, *, save: bool = True, created_at: datetime | None = None, **fields: Any) -> Ticket:
    t = Ticket(org=org, number=next(_numbers), subject=fields.pop("subject", "Help"), **fields)
    if save:
        t.save()
        if created_at is not None:
            Ticket.objects.filter(pk=t.pk).update(created_at=created_at)
            t.created_at = created_at
    elif created_at is not None:
        t.created_at = created_at
    return t


def contact(org: Organization, *, tags: Sequence[str] = (), company: Company | None = None) -> Contact:
    return Contact.objects.create(org=org, first_name="Ada", last_name="L", company=company, tag_names=list(tags))


def company(org: Organization, *, tags: Sequence[str] = (), tier: str = "") -> Company:
    return Company.objects.create(org=org, name="Initech", tag_names=list(tags), support_tier=tier)


def team(org: Organization, name: str = "Support") -> Team:
    return Team.objects.create(org=org, name=name)


def policy(org: Organization, name: str, **fields: Any) -> SlaPolicy:
    return SlaPolicy.objects.create(org=org, name=name, **fields)
