"""Writes of SLA policies: targets (first response, next response, resolution, in minutes of
business time or of clock time) for the tickets that match a priority, a customer tier or a tag,
and what happens when a target is missed. The API and the settings pages share these; the SLA
engine (`rapport.service.sla`) reads the policies.

Only roles with `Perm.MANAGE_SETTINGS` change policies. Empty condition lists match anything;
the first active policy by `position` (0, 1, 2 …) applies. A policy has at least one target, and
every target given is a positive number of minutes (at most a year). `escalate_to_queue_id` names
a living queue of the same workspace. Delete is soft (tickets keep pointing at the policy that set
their due times); a deleted policy's name is free again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from rapport.accounts.roles import Perm
from rapport.contacts.choices import SupportTier
from rapport.contacts.cleaning import FieldErrors
from rapport.core.access import require
from rapport.core.errors import NotFound, StaleVersion, ValidationFailed
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
from rapport.service.models import SlaPolicy, TicketPriority

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


def _snapshot(policy: SlaPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in SNAPSHOT}


def _living(actor: Principal) -> Any:
    return SlaPolicy.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)


def _name_error(name: str) -> ValidationFailed:
    return ValidationFailed("name_taken", f"There is already an SLA policy named “{name}”.", field="name")


@transaction.atomic
def sla_policy_create(*, actor: Principal, data: Mapping[str, Any]) -> SlaPolicy:
    """Add a policy after the others (conditions, targets, escalation). Records `sla_policy.created`.
    Tickets already open keep their due times; new ones and ones whose priority changes get it."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean(actor, data, None)
    list(_living(actor).select_for_update())  # serialise positions of one workspace's policies
    try:
        with transaction.atomic():
            policy = SlaPolicy.objects.create(
                org_id=actor.org_id, created_by=actor.user, position=next_position(_living(actor)), **values
            )
    except IntegrityError:  # the same name, created at the same moment
        raise _name_error(values["name"]) from None
    record_event(actor, "sla_policy.created", policy, diff({}, _snapshot(policy)))
    return policy


@transaction.atomic
def sla_policy_update(
    *, actor: Principal, policy: SlaPolicy, data: Mapping[str, Any], expected_version: int | None
) -> SlaPolicy:
    """Change a policy; refuses a stale version. Records `sla_policy.updated` when anything changed."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = SlaPolicy.objects.select_for_update().filter(pk=policy.pk, deleted_at__isnull=True).first()
    if current is None or (expected_version is not None and current.version != expected_version):
        raise StaleVersion()
    values = _clean(actor, data, current)
    before = _snapshot(current)
    try:
        with transaction.atomic():
            SlaPolicy.objects.filter(pk=current.pk).update(
                version=F("version") + 1, updated_at=timezone.now(), **values
            )
    except IntegrityError:
        raise _name_error(values.get("name", current.name)) from None
    current.refresh_from_db()
    changes = diff(before, _snapshot(current))
    if changes:
        record_event(actor, "sla_policy.updated", current, changes)
    return current


@transaction.atomic
def sla_policy_delete(*, actor: Principal, policy: SlaPolicy) -> None:
    """Delete a policy (soft): it no longer applies to new tickets; the others close the gap.
    Records `sla_policy.deleted`."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = SlaPolicy.objects.select_for_update().filter(pk=policy.pk, deleted_at__isnull=True).first()
    if current is None:
        raise NotFound()
    now = timezone.now()
    SlaPolicy.objects.filter(pk=current.pk).update(deleted_at=now, version=F("version") + 1, updated_at=now)
    record_event(actor, "sla_policy.deleted", current, {"name": [current.name, None]})
    close_gaps(_living(actor))


@transaction.atomic
def sla_policies_reorder(*, actor: Principal, policy_ids: Any) -> list[SlaPolicy]:
    """Put the workspace's living policies in the order of `policy_ids` (every one once). Records
    `sla_policies.reordered`. Returns the policies in their new order."""
    require(actor, Perm.MANAGE_SETTINGS)
    return reorder(actor, _living(actor), policy_ids, field="policy_ids", verb="sla_policies.reordered")
