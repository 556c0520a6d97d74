"""Bulk actions on contacts and companies: one action applied to a selection of ids or to a whole filtered list.

Designed for a million rows: the records are walked by primary key in batches of 1,000, each batch
changed with one `UPDATE` (or one through-table insert/delete), its events written with one
`bulk_create` and its search entries kept current with one statement. Only records the actor may
write are changed; those the actor may only read are counted as skipped. Everything runs in one
transaction: an error changes nothing. Contacts and companies share this code path (`_Target`
says what differs); companies have no lifecycle stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.accounts.roles import Entity, Mode
from rapport.contacts import choices
from rapport.contacts.models import Company, Contact, Tag, tag_names_of
from rapport.contacts.selectors import list_fields
from rapport.core import normalize
from rapport.core.access import require_entity, scope
from rapport.core.errors import ValidationFailed
from rapport.core.events import subscriptions_for
from rapport.core.filtering import Condition, apply_filters
from rapport.core.models import Event, SearchEntry
from rapport.core.principal import Principal

BATCH = 1000
MAX_IDS = 10000
ACTIONS = ("assign_owner", "add_tag", "remove_tag", "set_lifecycle_stage", "trash")
COMPANY_ACTIONS = ("assign_owner", "add_tag", "remove_tag", "trash")


@dataclass(frozen=True)
class _Target:
    """What differs between bulk actions on contacts and on companies."""

    entity: Entity
    kind: str  # event subject type, search entry kind, custom field entity
    model: Any  # Contact or Company
    link: str  # the record's column in the tags through table
    actions: tuple[str, ...]


CONTACTS = _Target(Entity.CONTACT, "contact", Contact, "contact_id", ACTIONS)
COMPANIES = _Target(Entity.COMPANY, "company", Company, "company_id", COMPANY_ACTIONS)


@dataclass(frozen=True)
class BulkResult:
    matched: int  # records found that the actor may read
    changed: int  # records actually changed (already-in-state records are not)
    skipped: int  # records the actor may read but not write
    not_found: int  # ids given that are missing, trashed or not visible


def _clean_value(actor: Principal, action: str, value: Any, actions: tuple[str, ...] = ACTIONS) -> Any:
    if action not in actions:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(actions)}.", field="action")
    if action == "assign_owner":
        if value is None or value == "":
            return None
        try:
            owner_id = int(value)
        except (TypeError, ValueError):
            raise ValidationFailed("invalid", "Give a user id.", field="value") from None
        if not Membership.objects.filter(org_id=actor.org_id, user_id=owner_id, is_active=True).exists():
            raise ValidationFailed("invalid", "No active member of this workspace has this id.", field="value")
        return owner_id
    if action == "set_lifecycle_stage":
        if value not in {str(v) for v in choices.LIFECYCLE_STAGES.values}:
            raise ValidationFailed("invalid", "Choose a known lifecycle stage.", field="value")
        return value
    if action in ("add_tag", "remove_tag"):
        if not isinstance(value, str) or not value.strip():
            raise ValidationFailed("required", "Give a tag name.", field="value")
        name = normalize.name_part(value, field="value", max_length=60)
        tag = Tag.objects.filter(org_id=actor.org_id, name__iexact=name).first()
        if tag is None and action == "remove_tag":
            raise ValidationFailed("invalid", "No tag of this workspace has this name.", field="value")
        if tag is None:
            tag, _ = Tag.objects.get_or_create(org_id=actor.org_id, name=name, defaults={"created_by": actor.user})
        return tag
    return None


def _clean_ids(ids: Iterable[Any]) -> list[int]:
    try:
        cleaned = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise ValidationFailed("invalid", "Ids must be integers.", field="ids") from None
    if len(cleaned) > MAX_IDS:
        raise ValidationFailed("too_many", f"At most {MAX_IDS} ids; use a filter for more.", field="ids")
    return cleaned


def _events(
    actor: Principal, verb: str, changes: dict[int, dict[str, list[Any]]], subject_type: str = "contact"
) -> None:
    from rapport.core.context import current_request_id

    rows = Event.objects.bulk_create(
        [
            Event(
                org_id=actor.org_id,
                actor_id=actor.user_id,
                verb=verb,
                subject_type=subject_type,
                subject_id=pk,
                changes=change,
                request_id=current_request_id(),
            )
            for pk, change in changes.items()
        ]
    )
    if subscriptions_for(verb):
        from rapport.core.tasks import dispatch_event

        for event in rows:
            transaction.on_commit(partial(dispatch_event, event.pk))


def _apply(actor: Principal, action: str, value: Any, batch: list[int], target: _Target = CONTACTS) -> int:
    now = timezone.now()
    model, kind, link = target.model, target.kind, target.link
    rows = model.objects.filter(pk__in=batch)
    entries = SearchEntry.objects.filter(org_id=actor.org_id, kind=kind, object_id__in=batch)
    if action in ("assign_owner", "set_lifecycle_stage"):
        field = "owner_id" if action == "assign_owner" else "lifecycle_stage"
        old = {pk: v for pk, v in rows.values_list("pk", field) if v != value}
        if not old:
            return 0
        model.objects.filter(pk__in=old).update(**{field: value}, version=F("version") + 1, updated_at=now)
        if field == "owner_id":
            entries.filter(object_id__in=old).update(owner_id=value)
        _events(actor, f"{kind}.updated", {pk: {field: [v, value]} for pk, v in old.items()}, kind)
        return len(old)
    if action == "trash":
        model.objects.filter(pk__in=batch).update(deleted_at=now, version=F("version") + 1)
        entries.delete()
        _events(actor, f"{kind}.trashed", {pk: {"deleted_at": [None, now.isoformat()]} for pk in batch}, kind)
        return len(batch)
    tag: Tag = value
    through = model.tags.through
    tag_names: dict[int, list[str]] = {pk: [] for pk in batch}
    for pk, name in through.objects.filter(**{f"{link}__in": batch}).values_list(link, "tag__name"):
        tag_names[pk].append(name)
    having = set(through.objects.filter(**{f"{link}__in": batch, "tag_id": tag.pk}).values_list(link, flat=True))
    if action == "add_tag":
        targets = [pk for pk in batch if pk not in having]
        through.objects.bulk_create([through(**{link: pk, "tag_id": tag.pk}) for pk in targets])
    else:
        targets = [pk for pk in batch if pk in having]
        through.objects.filter(**{f"{link}__in": targets, "tag_id": tag.pk}).delete()
    if not targets:
        return 0
    model.objects.filter(pk__in=targets).update(version=F("version") + 1, updated_at=now)
    changes = {}
    denormalised = []
    for pk in targets:
        old_names = sorted(tag_names[pk], key=str.casefold)
        new_names = [*old_names, tag.name] if action == "add_tag" else [n for n in old_names if n != tag.name]
        changes[pk] = {"tags": [old_names, sorted(new_names, key=str.casefold)]}
        denormalised.append(model(pk=pk, tag_names=tag_names_of(new_names)))
    model.objects.bulk_update(denormalised, ["tag_names"])  # one UPDATE … CASE for the batch
    _events(actor, f"{kind}.updated", changes, kind)
    return len(targets)


@transaction.atomic
def contact_bulk_update(
    *,
    actor: Principal,
    conditions: Iterable[Condition] = (),
    ids: Iterable[Any] | None = None,
    action: str,
    value: Any = None,
) -> BulkResult:
    """Apply one action to the contacts selected by `ids`, or to every contact matching `conditions`.

    Actions: assign_owner (value: user id or None), add_tag / remove_tag (value: tag name),
    set_lifecycle_stage (value: stage), trash. Raises PermissionDenied without write access to
    contacts and ValidationFailed on an unknown action or bad value, before anything is changed.
    """
    return _bulk_update(actor, CONTACTS, conditions, ids, action, value)


@transaction.atomic
def company_bulk_update(
    *,
    actor: Principal,
    conditions: Iterable[Condition] = (),
    ids: Iterable[Any] | None = None,
    action: str,
    value: Any = None,
) -> BulkResult:
    """Apply one action to the companies selected by `ids`, or to every company matching `conditions`.

    Actions: assign_owner (value: user id or None), add_tag / remove_tag (value: tag name), trash.
    Raises PermissionDenied without write access to companies and ValidationFailed on an unknown
    action or bad value, before anything is changed.
    """
    return _bulk_update(actor, COMPANIES, conditions, ids, action, value)


def _bulk_update(
    actor: Principal,
    target: _Target,
    conditions: Iterable[Condition],
    ids: Iterable[Any] | None,
    action: str,
    value: Any,
) -> BulkResult:
    """The shared path of the bulk actions: validate, select (filters include custom fields), walk in batches."""
    require_entity(actor, target.entity, Mode.WRITE)
    cleaned = _clean_value(actor, action, value, target.actions)
    conditions = list(conditions)
    fields = list_fields(actor, target.kind, conditions, None)
    readable: QuerySet[Any] = apply_filters(
        scope(actor, target.model.objects.alive(), target.entity), fields, conditions
    )
    wanted: list[int] | None = None
    if ids is not None:
        wanted = _clean_ids(ids)
        readable = readable.filter(pk__in=wanted)
    # A subquery on pk keeps joined filters (tags, emails) from duplicating rows.
    selected = target.model.objects.filter(pk__in=readable.values("pk"))
    matched = selected.count()
    writable = scope(actor, selected, target.entity, Mode.WRITE)
    changed = 0
    processed = 0
    last = 0
    while True:
        batch = list(writable.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not batch:
            break
        last = batch[-1]
        processed += len(batch)
        changed += _apply(actor, action, cleaned, batch, target)
    return BulkResult(
        matched=matched,
        changed=changed,
        skipped=matched - processed,
        not_found=(len(wanted) - matched) if wanted is not None else 0,
    )
