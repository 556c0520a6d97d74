"""Reads of the customer-service configuration: queues, agents, routing rules, SLA policies, the
business calendar and its holidays. Everyone who may read tickets (Entity.TICKET) reads them;
another workspace's record, a deleted queue or policy, answers NotFound like a missing one.

Lists are one query each (plus one per prefetched relation), whatever their length.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from rapport.accounts.models import Membership
from rapport.accounts.roles import Entity, Mode
from rapport.core.access import require_entity
from rapport.core.errors import NotFound
from rapport.core.principal import Principal
from rapport.service.config_cleaning import as_id
from rapport.service.models import AgentStatus, BusinessCalendar, Holiday, Queue, QueueMember, RoutingRule, SlaPolicy
from rapport.service.queue_services import AGENT_ROLES

ORDERED = ("position", "id")


def _readable(actor: Principal) -> None:
    require_entity(actor, Entity.TICKET, Mode.READ)


def one(qs: QuerySet[Any], pk: object) -> Any:
    """The record of `qs` with this primary key; NotFound for anything else (another workspace's
    record, a deleted one, an id that is not one)."""
    found = qs.filter(pk=as_id(pk)).first() if as_id(pk) else None
    if found is None:
        raise NotFound()
    return found


def queue_list(*, actor: Principal) -> QuerySet[Queue]:
    """The workspace's living queues with team, manager and members (users) loaded, unordered."""
    _readable(actor)
    members = Prefetch(
        "memberships", queryset=QueueMember.objects.select_related("user").order_by("user__name", "user__email")
    )
    return (
        Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)
        .select_related("team", "manager")
        .prefetch_related(members)
    )


def queue_get(*, actor: Principal, queue_id: object) -> Queue:
    """One living queue of the actor's workspace (as in `queue_list`); NotFound otherwise."""
    return one(queue_list(actor=actor), queue_id)


def agent_list(*, actor: Principal) -> QuerySet[Membership]:
    """Active members whose role works on tickets, with `away` / `away_until` annotated (False /
    None when they never set a status), by name."""
    _readable(actor)
    status = AgentStatus.objects.filter(org_id=actor.org_id, user_id=OuterRef("user_id"))
    return (
        Membership.objects.filter(org_id=actor.org_id, is_active=True, role__in=AGENT_ROLES)
        .select_related("user")
        .annotate(away=Subquery(status.values("away")[:1]), away_until=Subquery(status.values("away_until")[:1]))
    )


def agent_status_get(*, actor: Principal, user_id: int) -> AgentStatus:
    """The member's status (an unsaved 'available' one when they never set it)."""
    return AgentStatus.objects.filter(org_id=actor.org_id, user_id=user_id).first() or AgentStatus(
        org_id=actor.org_id, user_id=user_id
    )


def routing_rule_list(*, actor: Principal) -> QuerySet[RoutingRule]:
    """The workspace's routing rules with their queue, unordered (their order is `ORDERED`)."""
    _readable(actor)
    return RoutingRule.objects.filter(org_id=actor.org_id).select_related("queue")


def routing_rule_get(*, actor: Principal, rule_id: object) -> RoutingRule:
    return one(routing_rule_list(actor=actor), rule_id)


def sla_policy_list(*, actor: Principal) -> QuerySet[SlaPolicy]:
    """The workspace's living SLA policies with their escalation queue, unordered (see `ORDERED`)."""
    _readable(actor)
    return SlaPolicy.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).select_related("escalate_to_queue")


def sla_policy_get(*, actor: Principal, policy_id: object) -> SlaPolicy:
    return one(sla_policy_list(actor=actor), policy_id)


def calendar_get(*, actor: Principal) -> BusinessCalendar | None:
    """The workspace's business calendar with its holidays (by date), or None while it has none
    (SLA targets then count clock time, 24/7 in UTC)."""
    _readable(actor)
    return (
        BusinessCalendar.objects.filter(org_id=actor.org_id)
        .prefetch_related(Prefetch("holidays", queryset=Holiday.objects.order_by("date")))
        .first()
    )


def holiday_list(*, actor: Principal) -> QuerySet[Holiday]:
    """The holidays of the workspace's calendar, unordered (page them by date)."""
    _readable(actor)
    return Holiday.objects.filter(org_id=actor.org_id)


def holiday_get(*, actor: Principal, holiday_id: object) -> Holiday:
    return one(holiday_list(actor=actor).select_related("calendar"), holiday_id)
