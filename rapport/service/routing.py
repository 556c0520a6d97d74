"""Routing and assignment of tickets (issue 6).

`route_ticket` sends a new ticket to a queue: the first active `RoutingRule` by position whose
conditions all match (`rule_queue`: channel, type, priority, customer tags; an empty condition
list matches anything), else the caller's fallback queue (a support mailbox's queue for mail),
else the workspace's default queue. The ticket takes the queue's team, so the role
table's TEAM level means "in my team's queues". Then `assign_in_queue` picks an agent.

`assign_in_queue` follows the queue's `assignment`:

* round robin — the next member after `queue.last_assigned` in a stable order (user id), wrapping;
* least open — the member with the fewest unsolved tickets, ties broken in that same round-robin
  order (so a fresh queue still takes turns);
* manual — nobody.

Members marked away (`AgentStatus.away` with `away_until` empty or in the future) and members
whose workspace membership is inactive are skipped; when nobody is left the ticket stays
unassigned. The queue row is locked (`select_for_update`) for the rest of the caller's
transaction, so two tickets assigned at the same moment never take the same turn.

Both functions change the in-memory ticket only (`queue`, `team`, `owner`); the caller saves it
inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.service.models import UNSOLVED, AgentStatus, Assignment, Queue, QueueMember, RoutingRule, Ticket

__all__ = ["assign_in_queue", "available_agents", "customer_tags", "matches", "route_ticket", "rule_queue"]


def customer_tags(ticket: Ticket) -> set[str]:
    """The tag names of the ticket's requester and of their company, case-folded."""
    names: list[str] = []
    if ticket.contact_id:
        names.extend(ticket.contact.tag_names if ticket.contact else [])
    if ticket.company_id:
        names.extend(ticket.company.tag_names if ticket.company else [])
    return {str(name).casefold() for name in names}


def matches(condition: Sequence[str] | None, value: str) -> bool:
    """A rule or policy condition list: empty matches anything, else `value` must be in it."""
    return not condition or value in condition


def tags_match(condition: Sequence[str] | None, have: Iterable[str]) -> bool:
    """A tag condition: empty matches anything, else any wanted tag (case-insensitive) is had."""
    if not condition:
        return True
    wanted = {str(tag).casefold() for tag in condition}
    return not wanted.isdisjoint(have)


def _rule_matches(rule: RoutingRule, ticket: Ticket, tags: set[str]) -> bool:
    return (
        matches(rule.channels, ticket.channel)
        and matches(rule.types, ticket.type)
        and matches(rule.priorities, ticket.priority)
        and tags_match(rule.tags, tags)
    )


def rule_queue(ticket: Ticket) -> Queue | None:
    """The queue of the first active routing rule (by position, then id) whose conditions all hold
    for the ticket; None when no rule matches. Rules pointing at a deleted queue are skipped."""
    rules = (
        RoutingRule.objects.filter(org_id=ticket.org_id, active=True, queue__deleted_at__isnull=True)
        .select_related("queue")
        .order_by("position", "id")
    )
    tags: set[str] | None = None
    for rule in rules:
        if rule.tags and tags is None:
            tags = customer_tags(ticket)
        if _rule_matches(rule, ticket, tags or set()):
            return rule.queue
    return None


def route_ticket(ticket: Ticket, *, fallback: Queue | None = None) -> None:
    """Put a new ticket in the queue its first matching routing rule names (`rule_queue`), else in
    `fallback` (e.g. the support mailbox's queue) unless that queue is deleted, else in the default
    queue, else in no queue; give it the queue's team and assign an agent in that queue."""
    queue = rule_queue(ticket)
    if queue is None and fallback is not None and fallback.deleted_at is None:
        queue = fallback
    if queue is None:
        queue = Queue.objects.filter(org_id=ticket.org_id, is_default=True, deleted_at__isnull=True).first()
    if queue is None:
        return
    ticket.queue = queue
    ticket.team_id = queue.team_id
    assign_in_queue(ticket)


def available_agents(queue: Queue, *, now: datetime | None = None) -> list[int]:
    """User ids of the queue's members who may be given tickets now (active membership, not
    away), in the stable round-robin order (user id)."""
    now = now or timezone.now()
    active = Membership.objects.filter(org_id=queue.org_id, user_id=OuterRef("user_id"), is_active=True)
    away = AgentStatus.objects.filter(org_id=queue.org_id, user_id=OuterRef("user_id"), away=True).filter(
        Q(away_until__isnull=True) | Q(away_until__gt=now)
    )
    return list(
        QueueMember.objects.filter(queue_id=queue.pk)
        .filter(Exists(active))
        .exclude(Exists(away))
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def _turn_order(user_ids: list[int], last: int | None) -> list[int]:
    """`user_ids` (sorted) rotated to start just after `last`."""
    if last is None:
        return user_ids
    after = [uid for uid in user_ids if uid > last]
    return after + [uid for uid in user_ids if uid <= last]


def assign_in_queue(ticket: Ticket) -> None:
    """Assign the ticket to an agent of its queue by the queue's assignment method (see the
    module docstring); nobody when the queue is manual or every member is away. Locks the queue
    row until the caller's transaction ends and advances its round-robin cursor."""
    if ticket.queue_id is None:
        return
    queue = Queue.objects.select_for_update().filter(pk=ticket.queue_id).first()
    if queue is None or queue.assignment == Assignment.MANUAL:
        return
    order = _turn_order(available_agents(queue), queue.last_assigned_id)
    if not order:
        return
    chosen = order[0]
    if queue.assignment == Assignment.LEAST_OPEN:
        open_counts = dict(
            Ticket.objects.filter(org_id=queue.org_id, owner_id__in=order, status__in=UNSOLVED, deleted_at__isnull=True)
            .exclude(pk=ticket.pk)
            .values_list("owner_id")
            .annotate(n=Count("id"))
            .values_list("owner_id", "n")
        )
        # min() keeps the first of equals, i.e. the next in turn.
        chosen = min(order, key=lambda uid: open_counts.get(uid, 0))
    Queue.objects.filter(pk=queue.pk).update(last_assigned_id=chosen)
    ticket.owner_id = chosen
