"""Bulk actions on contacts: one action applied to a selection of ids or to a whole filtered list.

Designed for a million rows: the records are walked by primary key in batches of 1,000, each batch
changed with one `UPDATE` (or one through-table insert/delete), its events written with one
`bulk_create` and its search entries kept current with one statement. Only records the actor may
write are changed; those the actor may only read are counted as skipped. Everything runs in one
transaction: an error changes nothing.
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
from rapport.contacts import choices, normalize
from rapport.contacts.models import Contact, Tag
from rapport.contacts.selectors import CONTACT_FILTERS
from rapport.core.access import require_entity, scope
from rapport.core.errors import ValidationFailed
from rapport.core.events import subscriptions_for
from rapport.core.filtering import Condition, apply_filters
from rapport.core.models import Event, SearchEntry
from rapport.core.principal import Principal

BATCH = 1000
MAX_IDS = 10000
ACTIONS = ("assign_owner", "add_tag", "remove_tag", "set_lifecycle_stage", "trash")


@dataclass(frozen=True)
class BulkResult:
    matched: int  # records found that the actor may read
    changed: int  # records actually changed (already-in-state records are not)
    skipped: int  # records the actor may read but not write
    not_found: int  # ids given that are missing, trashed or not visible


def _clean_value(actor: Principal, action: str, value: Any) -> Any:
    if action not in ACTIONS:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(ACTIONS)}.", field="action")
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


def _events(actor: Principal, verb: str, changes: dict[int, dict[str, list[Any]]]) -> None:
    from rapport.core.context import current_request_id

    rows = Event.objects.bulk_create(
        [
            Event(
                org_id=actor.org_id,
                actor_id=actor.user_id,
                verb=verb,
                subject_type="contact",
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


def _apply(actor: Principal, action: str, value: Any, batch: list[int]) -> int:
    now = timezone.now()
    rows = Contact.objects.filter(pk__in=batch)
    entries = SearchEntry.objects.filter(org_id=actor.org_id, kind="contact", object_id__in=batch)
    if action in ("assign_owner", "set_lifecycle_stage"):
        field = "owner_id" if action == "assign_owner" else "lifecycle_stage"
        old = {pk: v for pk, v in rows.values_list("pk", field) if v != value}
        if not old:
            return 0
        Contact.objects.filter(pk__in=old).update(**{field: value}, version=F("version") + 1, updated_at=now)
        if field == "owner_id":
            entries.filter(object_id__in=old).update(owner_id=value)
        _events(actor, "contact.updated", {pk: {field: [v, value]} for pk, v in old.items()})
        return len(old)
    if action == "trash":
        Contact.objects.filter(pk__in=batch).update(deleted_at=now, version=F("version") + 1)
        entries.delete()
        _events(actor, "contact.trashed", {pk: {"deleted_at": [None, now.isoformat()]} for pk in batch})
        return len(batch)
    tag: Tag = value
    through = Contact.tags.through
    tag_names: dict[int, list[str]] = {pk: [] for pk in batch}
    for pk, name in through.objects.filter(contact_id__in=batch).values_list("contact_id", "tag__name"):
        tag_names[pk].append(name)
    having = set(through.objects.filter(contact_id__in=batch, tag_id=tag.pk).values_list("contact_id", flat=True))
    if action == "add_tag":
        targets = [pk for pk in batch if pk not in having]
        through.objects.bulk_create([through(contact_id=pk, tag_id=tag.pk) for pk in targets])
    else:
        targets = [pk for pk in batch if pk in having]
        through.objects.filter(contact_id__in=targets, tag_id=tag.pk).delete()
    if not targets:
        return 0
    Contact.objects.filter(pk__in=targets).update(version=F("version") + 1, updated_at=now)
    changes = {}
    for pk in targets:
        old_names = sorted(tag_names[pk], key=str.casefold)
        new_names = [*old_names, tag.name] if action == "add_tag" else [n for n in old_names if n != tag.name]
        changes[pk] = {"tags": [old_names, sorted(new_names, key=str.casefold)]}
    _events(actor, "contact.updated", changes)
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
    require_entity(actor, Entity.CONTACT, Mode.WRITE)
    cleaned = _clean_value(actor, action, value)
    readable: QuerySet[Contact] = apply_filters(
        scope(actor, Contact.objects.alive(), Entity.CONTACT), CONTACT_FILTERS, list(conditions)
    )
    wanted: list[int] | None = None
    if ids is not None:
        wanted = _clean_ids(ids)
        readable = readable.filter(pk__in=wanted)
    # A subquery on pk keeps joined filters (tags, emails) from duplicating rows.
    selected = Contact.objects.filter(pk__in=readable.values("pk"))
    matched = selected.count()
    writable = scope(actor, selected, Entity.CONTACT, Mode.WRITE)
    changed = 0
    processed = 0
    last = 0
    while True:
        batch = list(writable.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not batch:
            break
        last = batch[-1]
        processed += len(batch)
        changed += _apply(actor, action, cleaned, batch)
    return BulkResult(
        matched=matched,
        changed=changed,
        skipped=matched - processed,
        not_found=(len(wanted) - matched) if wanted is not None else 0,
    )
