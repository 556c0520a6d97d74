"""Writes of SLA policies: targets (first response, next response, resolution, in minutes of
business time or of clock time) for the tickets that match a priority, a customer tier or a tag,
and what happens when a target is missed. The API and the settings pages share these; the SLA
engine (`rapport.service.sla`) reads the policies.

Only roles with `Perm.MANAGE_SETTINGS` change policies. Empty condition lists match anything;
the first active policy by `position` (0, 1, 2 …) applies. A policy has at least one target, and
every target given is a positive number of minutes (at most a year). `escalate_to_queue_id` names
a living queue of the same workspace. Delete is soft (tickets keep pointing at the policy that set
their due times); a deleted policy's name is free again.

The writes are `POLICIES.create / update / delete / reorder` (rapport.service.ordered_config,
shared with routing rules); each records its `sla_policy.*` event. A new policy goes last; tickets
already open keep their due times, new ones and ones whose priority changes get it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.contacts.choices import SupportTier
from rapport.contacts.cleaning import FieldErrors
from rapport.core.errors import ValidationFailed
from rapport.core.principal import Principal
from rapport.service.config_cleaning import (
    clean_bool,
    clean_choices,
    clean_name,
    clean_queue,
    clean_tags,
    unknown_fields,
)
from rapport.service.models import SlaPolicy, TicketPriority
from rapport.service.ordered_config import OrderedKind

MINUTES_MAX = 525_600  # a year
TARGETS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
BOOLEANS = ("active", "business_hours", "notify_on_breach", "raise_priority")
POLICY_FIELDS = {
    "name",
    "priorities",
    "tiers",
    "tags",
    *TARGETS,
    *BOOLEANS,
    "warn_before_minutes",
    "escalate_to_queue_id",
}
SNAPSHOT = tuple(sorted(POLICY_FIELDS))


def _minutes(value: Any, field: str, errors: FieldErrors, *, low: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MINUTES_MAX:
        errors.add(field, f"Enter a whole number of minutes from {low} to {MINUTES_MAX}.")
        return None
    return value


def _name_taken(actor: Principal, name: str, exclude: int | None) -> bool:
    qs = SlaPolicy.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, name__iexact=name)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


def _clean(actor: Principal, data: Mapping[str, Any], policy: SlaPolicy | None) -> dict[str, Any]:
    errors = FieldErrors()
    unknown_fields(data, POLICY_FIELDS, errors)
    values: dict[str, Any] = {}
    if "name" in data or policy is None:
        values["name"] = clean_name(data.get("name"), "name", errors)
        if values["name"] and _name_taken(actor, values["name"], policy.pk if policy else None):
            errors.add("name", f"There is already an SLA policy named “{values['name']}”.")
    if "priorities" in data:
        values["priorities"] = clean_choices(data["priorities"], "priorities", TicketPriority.values, errors)
    if "tiers" in data:
        values["tiers"] = clean_choices(data["tiers"], "tiers", SupportTier.values, errors)
    if "tags" in data:
        values["tags"] = clean_tags(data["tags"], "tags", errors)
    for field in TARGETS:
        if data.get(field) is not None:
            values[field] = _minutes(data[field], field, errors, low=1)
        elif field in data:
            values[field] = None
    if "warn_before_minutes" in data:
        values["warn_before_minutes"] = _minutes(data["warn_before_minutes"], "warn_before_minutes", errors, low=0)
    for field in BOOLEANS:
        if field in data:
            values[field] = clean_bool(data[field], field, errors)
    if "escalate_to_queue_id" in data:
        queue = clean_queue(actor, data["escalate_to_queue_id"], "escalate_to_queue_id", errors, required=False)
        values["escalate_to_queue_id"] = queue.pk if queue else None
    targets = {f: values.get(f, getattr(policy, f) if policy else None) for f in TARGETS}
    if not any(f in errors.fields for f in TARGETS) and all(v is None for v in targets.values()):
        errors.add(TARGETS[0], "Set at least one target: first response, next response or resolution.")
    errors.raise_if_any()
    return values


def _name_error(name: str) -> ValidationFailed:
    return ValidationFailed("name_taken", f"There is already an SLA policy named “{name}”.", field="name")


# Soft delete: tickets keep pointing at the policy that set their due times; a name race is a 422.
POLICIES = OrderedKind(
    SlaPolicy, "sla_policy", "sla_policies", "policy_ids", SNAPSHOT, _clean, soft_delete=True, name_taken=_name_error
)
