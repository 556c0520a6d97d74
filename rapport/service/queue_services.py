"""Writes of queues (support teams' inboxes), their members and the agents' away status. The API
and the settings pages share these.

Only roles with `Perm.MANAGE_SETTINGS` change queues; everyone who reads tickets reads them
(`config_selectors`). A member sets their own away status without that permission.

Rules kept here:
- **One default queue.** The first queue of a workspace becomes the default; making another queue
  the default unsets the old one in the same transaction (the partial unique index
  `queue_one_default` would refuse two). The default cannot be unset, only replaced, and it
  cannot be deleted.
- **Members** are active members of the workspace whose role may work on tickets (write them at
  some level): automatic assignment hands them tickets.
- **Team**: a queue's tickets belong to its team (TEAM access on tickets is decided on it), so
  changing the team moves the queue's tickets to the new team.
- **Delete** is soft. The queue's unsolved tickets move to the default queue (and its team); the
  routing rules that sent tickets to it are deleted; SLA policies that escalated to it stop
  escalating (escalate_to_queue = null); support mailboxes that fed it fall back to routing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from rapport.accounts.models import Membership, Team, User
from rapport.accounts.roles import ROLES, Entity, Level, Mode, Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core.access import require
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.service.config_cleaning import as_id, clean_bool, clean_name, close_gaps, unknown_fields
from rapport.service.models import (
    UNSOLVED,
    AgentStatus,
    Assignment,
    Queue,
    QueueMember,
    RoutingRule,
    SlaPolicy,
    SupportMailbox,
    Ticket,
)

QUEUE_FIELDS = {"name", "description", "team_id", "manager_id", "assignment", "is_default", "member_ids"}
MAX_MEMBERS = 500
SNAPSHOT = ("name", "description", "team_id", "manager_id", "assignment", "is_default")
# Roles whose members may be handed tickets: they can write tickets at some level.
AGENT_ROLES = tuple(role.value for role, spec in ROLES.items() if spec.level(Entity.TICKET, Mode.WRITE) > Level.NONE)
READER_ROLES = tuple(role.value for role, spec in ROLES.items() if spec.level(Entity.TICKET, Mode.READ) > Level.NONE)


def _active_members(actor: Principal, roles: tuple[str, ...]) -> Q:
    return Q(memberships__org_id=actor.org_id, memberships__is_active=True, memberships__role__in=roles)


def _clean_member_ids(actor: Principal, value: Any, errors: FieldErrors) -> list[int] | None:
    if not isinstance(value, list) or len(value) > MAX_MEMBERS:
        errors.add("member_ids", f"Give a list of at most {MAX_MEMBERS} user ids.")
        return None
    ids = [as_id(v) for v in value]
    if None in ids:
        errors.add("member_ids", "Give user ids (whole numbers).")
        return None
    unique = list(dict.fromkeys(ids))
    found = set(User.objects.filter(_active_members(actor, AGENT_ROLES), pk__in=unique).values_list("pk", flat=True))
    missing = [pk for pk in unique if pk not in found]
    if missing:
        errors.add(
            "member_ids",
            f"No active member of this workspace who works on tickets has the id {missing[0]}.",
        )
        return None
    return unique  # type: ignore[return-value]


def _clean(actor: Principal, data: Mapping[str, Any], queue: Queue | None) -> dict[str, Any]:
    errors = FieldErrors()
    unknown_fields(data, QUEUE_FIELDS, errors)
    values: dict[str, Any] = {}
    if "name" in data or queue is None:
        values["name"] = clean_name(data.get("name"), "name", errors)
        taken = Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, name__iexact=values["name"])
        if values["name"] and taken.exclude(Q(pk=queue.pk) if queue else Q(pk__in=[])).exists():
            errors.add("name", f"There is already a queue named “{values['name']}”.")
    if "description" in data:
        values["description"] = clean_name(data["description"], "description", errors, max_length=300, required=False)
    if "team_id" in data:
        team_id = data["team_id"]
        if team_id is not None and not Team.objects.filter(org_id=actor.org_id, pk=as_id(team_id) or 0).exists():
            errors.add("team_id", "No team of this workspace has this id.")
        values["team_id"] = team_id
    if "manager_id" in data:
        manager_id = data["manager_id"]
        if manager_id is not None and not (
            as_id(manager_id) and User.objects.filter(_active_members(actor, READER_ROLES), pk=manager_id).exists()
        ):
            errors.add("manager_id", "No active member of this workspace who reads tickets has this id.")
        values["manager_id"] = manager_id
    if "assignment" in data:
        if data["assignment"] not in Assignment.values:
            errors.add("assignment", f"Choose one of: {', '.join(Assignment.values)}.")
        values["assignment"] = data["assignment"]
    if "is_default" in data:
        values["is_default"] = clean_bool(data["is_default"], "is_default", errors)
        if queue is not None and queue.is_default and values["is_default"] is False:
            errors.add("is_default", "A workspace needs a default queue: make another queue the default instead.")
    if data.get("member_ids") is not None:
        values["member_ids"] = _clean_member_ids(actor, data["member_ids"], errors)
    elif "member_ids" in data:
        values["member_ids"] = []
    errors.raise_if_any()
    return values


def _snapshot(queue: Queue) -> dict[str, Any]:
    values = {name: getattr(queue, name) for name in SNAPSHOT}
    values["member_ids"] = sorted(QueueMember.objects.filter(queue=queue).values_list("user_id", flat=True))
    return values


def _set_members(actor: Principal, queue: Queue, user_ids: list[int]) -> None:
    QueueMember.objects.filter(queue=queue).exclude(user_id__in=user_ids).delete()
    have = set(QueueMember.objects.filter(queue=queue).values_list("user_id", flat=True))
    QueueMember.objects.bulk_create(
        [QueueMember(org_id=actor.org_id, queue=queue, user_id=pk) for pk in user_ids if pk not in have]
    )


def _unset_other_defaults(actor: Principal, keep: int | None) -> None:
    now = timezone.now()
    Queue.objects.filter(org_id=actor.org_id, is_default=True, deleted_at__isnull=True).exclude(Q(pk=keep)).update(
        is_default=False, version=F("version") + 1, updated_at=now
    )


def _name_taken(name: str) -> ValidationFailed:
    return ValidationFailed("name_taken", f"There is already a queue named “{name}”.", field="name")


def _move_team(queue: Queue, team_id: int | None) -> int:
    """The queue's tickets follow its team (TEAM access on tickets is decided on `Ticket.team`)."""
    return (
        Ticket.objects.filter(queue=queue)
        .exclude(Q(team_id=team_id))
        .update(team_id=team_id, version=F("version") + 1, updated_at=timezone.now())
    )


@transaction.atomic
def queue_create(*, actor: Principal, data: Mapping[str, Any]) -> Queue:
    """Create a queue (name, description, team_id, manager_id, assignment, is_default, member_ids).
    The workspace's first queue is its default. Records `queue.created`."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean(actor, data, None)
    member_ids = values.pop("member_ids", [])
    # Serialise creates of one workspace so that "the first queue is the default" holds under races.
    list(Queue.objects.select_for_update().filter(org_id=actor.org_id, is_default=True, deleted_at__isnull=True))
    has_default = Queue.objects.filter(org_id=actor.org_id, is_default=True, deleted_at__isnull=True).exists()
    if values.get("is_default") or not has_default:
        values["is_default"] = True
        _unset_other_defaults(actor, None)
    try:
        with transaction.atomic():
            queue = Queue.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    except IntegrityError:  # the same name (or a second default) created at the same moment
        raise _name_taken(values["name"]) from None
    _set_members(actor, queue, member_ids)
    record_event(actor, "queue.created", queue, diff({}, _snapshot(queue)))
    return queue


@transaction.atomic
def queue_update(*, actor: Principal, queue: Queue, data: Mapping[str, Any], expected_version: int | None) -> Queue:
    """Change a queue; `member_ids` replaces its members, `is_default: true` makes it the default
    (unsetting the old one). Refuses a stale version. Records `queue.updated` when anything changed
    (with `tickets_moved` when a team change moved the queue's tickets to the new team)."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = Queue.objects.select_for_update().filter(pk=queue.pk, deleted_at__isnull=True).first()
    if current is None or (expected_version is not None and current.version != expected_version):
        raise StaleVersion()
    values = _clean(actor, data, current)
    before = _snapshot(current)
    member_ids = values.pop("member_ids", None)
    if values.get("is_default") and not current.is_default:
        _unset_other_defaults(actor, current.pk)
    try:
        with transaction.atomic():
            Queue.objects.filter(pk=current.pk).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    except IntegrityError:
        raise _name_taken(values.get("name", current.name)) from None
    if member_ids is not None:
        _set_members(actor, current, member_ids)
    current.refresh_from_db()
    changes: dict[str, Any] = diff(before, _snapshot(current))
    if "team_id" in changes:
        changes["tickets_moved"] = _move_team(current, current.team_id)
    if changes:
        record_event(actor, "queue.updated", current, changes)
    return current


@transaction.atomic
def queue_delete(*, actor: Principal, queue: Queue) -> int:
    """Delete a queue (soft). Refused (Conflict) for the default queue. Its unsolved tickets move to
    the default queue, its routing rules go, SLA policies stop escalating to it and support
    mailboxes stop feeding it. Records `queue.deleted`; returns how many tickets moved."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = Queue.objects.select_for_update().filter(pk=queue.pk, deleted_at__isnull=True).first()
    if current is None:
        raise NotFound()
    if current.is_default:
        raise Conflict(
            "default_queue",
            f"“{current.name}” is the default queue, where tickets go that no rule routes: "
            "make another queue the default before deleting it.",
        )
    target = Queue.objects.filter(org_id=actor.org_id, is_default=True, deleted_at__isnull=True).first()
    now = timezone.now()
    moved = Ticket.objects.filter(queue=current, status__in=UNSOLVED, deleted_at__isnull=True).update(
        queue=target, team_id=target.team_id if target else None, version=F("version") + 1, updated_at=now
    )
    rules = list(RoutingRule.objects.filter(queue=current).values_list("pk", "name"))
    for pk, name in rules:
        record_event(
            actor, "routing_rule.deleted", RoutingRule(pk=pk), {"name": [name, None], "reason": "queue_deleted"}
        )
    RoutingRule.objects.filter(queue=current).delete()
    close_gaps(RoutingRule.objects.filter(org_id=actor.org_id))
    SlaPolicy.objects.filter(escalate_to_queue=current).update(
        escalate_to_queue=None, version=F("version") + 1, updated_at=now
    )
    SupportMailbox.objects.filter(queue=current).update(queue=None, version=F("version") + 1, updated_at=now)
    QueueMember.objects.filter(queue=current).delete()
    Queue.objects.filter(pk=current.pk).update(deleted_at=now, version=F("version") + 1, updated_at=now)
    record_event(
        actor,
        "queue.deleted",
        current,
        {"name": [current.name, None], "tickets_moved": moved, "moved_to": target.pk if target else None},
    )
    return moved


# --- agents ------------------------------------------------------------------------------------


def _clean_away(data: Mapping[str, Any]) -> tuple[bool, datetime | None]:
    errors = FieldErrors()
    unknown_fields(data, {"away", "away_until"}, errors)
    away = clean_bool(data.get("away"), "away", errors)
    until = data.get("away_until")
    if until is not None:
        if not isinstance(until, datetime) or until.tzinfo is None:
            errors.add("away_until", "Give a date and time with its time zone.")
        elif until <= timezone.now():
            errors.add("away_until", "Give a moment in the future.")
        elif not away:
            errors.add("away_until", "Only an agent who is away has a return time.")
    errors.raise_if_any()
    return away, until


@transaction.atomic
def agent_set_away(*, actor: Principal, user_id: Any, data: Mapping[str, Any]) -> AgentStatus:
    """Mark a member away (automatic assignment skips them; `away_until` is when they return) or
    back. A member sets their own status; someone else's needs the manage-settings permission.
    Another workspace's user, or an inactive member, is NotFound. Records `agent.away` / `agent.back`."""
    pk = as_id(user_id)
    if pk != actor.user_id:
        require(actor, Perm.MANAGE_SETTINGS)
    elif not actor.can(Entity.TICKET, Mode.READ):
        raise PermissionDenied()
    if not pk or not Membership.objects.filter(org_id=actor.org_id, user_id=pk, is_active=True).exists():
        raise NotFound()
    away, until = _clean_away(data)
    status, _ = AgentStatus.objects.select_for_update().get_or_create(org_id=actor.org_id, user_id=pk)
    before = {"away": status.away, "away_until": status.away_until}
    status.away, status.away_until = away, until
    status.save()
    changes = diff(before, {"away": away, "away_until": until})
    if changes:
        record_event(actor, "agent.away" if away else "agent.back", status, {"user_id": pk, **changes})
    return status
