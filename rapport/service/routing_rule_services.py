"""Writes of routing rules: which queue a new ticket goes to, by channel, type, priority and the
requester's (or their company's) tags. The API and the settings pages share these; the routing
engine (`rapport.service.routing`) reads the rules.

Only roles with `Perm.MANAGE_SETTINGS` change rules. Empty condition lists match anything; rules
apply in `position` order (0, 1, 2 …, kept dense), the first active match wins. A new rule goes
last; `routing_rules_reorder` sets the whole order at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.accounts.roles import Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core.access import require
from rapport.core.errors import NotFound, StaleVersion
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.service.config_cleaning import (
    clean_bool,
    clean_choices,
    clean_name,
    clean_queue,
    clean_tags,
    close_gaps,
    next_position,
    reorder,
    unknown_fields,
)
from rapport.service.models import Channel, RoutingRule, TicketPriority, TicketType

RULE_FIELDS = {"name", "active", "channels", "types", "priorities", "tags", "queue_id"}
SNAPSHOT = ("name", "active", "channels", "types", "priorities", "tags", "queue_id")


def _clean(actor: Principal, data: Mapping[str, Any], rule: RoutingRule | None) -> dict[str, Any]:
    errors = FieldErrors()
    unknown_fields(data, RULE_FIELDS, errors)
    values: dict[str, Any] = {}
    if "name" in data or rule is None:
        values["name"] = clean_name(data.get("name"), "name", errors)
    if "active" in data:
        values["active"] = clean_bool(data["active"], "active", errors)
    for field, options in (
        ("channels", Channel.values),
        ("types", TicketType.values),
        ("priorities", TicketPriority.values),
    ):
        if field in data:
            values[field] = clean_choices(data[field], field, options, errors)
    if "tags" in data:
        values["tags"] = clean_tags(data["tags"], "tags", errors)
    if "queue_id" in data or rule is None:
        queue = clean_queue(actor, data.get("queue_id"), "queue_id", errors, required=True)
        values["queue_id"] = queue.pk if queue else None
    errors.raise_if_any()
    return values


def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in SNAPSHOT}


def _living(actor: Principal) -> Any:
    return RoutingRule.objects.filter(org_id=actor.org_id)


@transaction.atomic
def routing_rule_create(*, actor: Principal, data: Mapping[str, Any]) -> RoutingRule:
    """Add a rule (name, queue_id, active, channels, types, priorities, tags) after the others.
    Records `routing_rule.created`."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean(actor, data, None)
    list(_living(actor).select_for_update())  # serialise positions of one workspace's rules
    rule = RoutingRule.objects.create(
        org_id=actor.org_id, created_by=actor.user, position=next_position(_living(actor)), **values
    )
    record_event(actor, "routing_rule.created", rule, diff({}, _snapshot(rule)))
    return rule


@transaction.atomic
def routing_rule_update(
    *, actor: Principal, rule: RoutingRule, data: Mapping[str, Any], expected_version: int | None
) -> RoutingRule:
    """Change a rule's name, conditions, queue or whether it is active; refuses a stale version.
    Records `routing_rule.updated` when anything changed."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = RoutingRule.objects.select_for_update().filter(pk=rule.pk).first()
    if current is None or (expected_version is not None and current.version != expected_version):
        raise StaleVersion()
    values = _clean(actor, data, current)
    before = _snapshot(current)
    RoutingRule.objects.filter(pk=current.pk).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    current.refresh_from_db()
    changes = diff(before, _snapshot(current))
    if changes:
        record_event(actor, "routing_rule.updated", current, changes)
    return current


@transaction.atomic
def routing_rule_delete(*, actor: Principal, rule: RoutingRule) -> None:
    """Delete a rule; the others close the gap. Records `routing_rule.deleted`."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = RoutingRule.objects.select_for_update().filter(pk=rule.pk).first()
    if current is None:
        raise NotFound()
    record_event(actor, "routing_rule.deleted", current, {"name": [current.name, None]})
    current.delete()
    close_gaps(_living(actor))


@transaction.atomic
def routing_rules_reorder(*, actor: Principal, rule_ids: Any) -> list[RoutingRule]:
    """Put the workspace's rules in the order of `rule_ids` (every rule once). Records
    `routing_rules.reordered`. Returns the rules in their new order."""
    require(actor, Perm.MANAGE_SETTINGS)
    return reorder(actor, _living(actor), rule_ids, field="rule_ids", verb="routing_rules.reordered")
