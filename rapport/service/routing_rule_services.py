"""Writes of routing rules: which queue a new ticket goes to, by channel, type, priority and the
requester's (or their company's) tags. The API and the settings pages share these; the routing
engine (`rapport.service.routing`) reads the rules.

Only roles with `Perm.MANAGE_SETTINGS` change rules. Empty condition lists match anything; rules
apply in `position` order (0, 1, 2 …, kept dense), the first active match wins. The writes are
`RULES.create / update / delete / reorder` (rapport.service.ordered_config, shared with SLA
policies): a new rule goes last, a change needs the current version, a delete closes the gap, a
reorder sets the whole order at once; each records its `routing_rule.*` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.contacts.cleaning import FieldErrors
from rapport.core.principal import Principal
from rapport.service.config_cleaning import (
    clean_bool,
    clean_choices,
    clean_name,
    clean_queue,
    clean_tags,
    unknown_fields,
)
from rapport.service.models import Channel, RoutingRule, TicketPriority, TicketType
from rapport.service.ordered_config import OrderedKind

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


RULES = OrderedKind(RoutingRule, "routing_rule", "routing_rules", "rule_ids", SNAPSHOT, _clean)
