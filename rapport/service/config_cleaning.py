"""Input cleaning shared by the customer-service configuration services (queues, routing rules, SLA
policies, the business calendar), and the one way ordered rules and policies are renumbered.

Each cleaner takes what a page or the API sent and returns the stored form, or records a message
under the field's name in `FieldErrors` (rapport.contacts.cleaning), so one answer names every
problem of a record (422 with per-field messages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import models
from django.db.models import F
from django.utils import timezone

from rapport.contacts.cleaning import FieldErrors
from rapport.core import normalize
from rapport.core.errors import ApplicationError, ValidationFailed
from rapport.core.events import record_event
from rapport.core.principal import Principal
from rapport.service.models import Queue

M = TypeVar("M", bound=models.Model)

NAME_MAX = 100
TAG_MAX = 60
MAX_TAGS = 50
MAX_ID = 2**63 - 1


def as_id(value: Any) -> int | None:
    """`value` when it is a plausible primary key (a positive int, not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID else None


def unknown_fields(data: Mapping[str, Any], allowed: Iterable[str], errors: FieldErrors) -> None:
    for name in sorted(set(data) - set(allowed)):
        errors.add(name, "Unknown field.")


def clean_name(
    value: Any, field: str, errors: FieldErrors, *, max_length: int = NAME_MAX, required: bool = True
) -> str:
    """One-line text, trimmed and with inner white space collapsed; required unless told."""
    try:
        text = normalize.name_part(value, field=field, max_length=max_length)
    except ApplicationError as exc:
        errors.add(field, exc.fields.get(field, exc.message))
        return ""
    if required and not text:
        errors.add(field, "This field is required.")
    return text


def clean_bool(value: Any, field: str, errors: FieldErrors) -> bool:
    if not isinstance(value, bool):
        errors.add(field, "Give true or false.")
        return False
    return value


def clean_choices(value: Any, field: str, options: Sequence[str], errors: FieldErrors) -> list[str]:
    """A list of keys out of `options`, each once, in the order given; [] (match anything) for null."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(field, f"Give a list of: {', '.join(options)}.")
        return []
    bad = [v for v in value if v not in options]
    if bad:
        errors.add(field, f"Unknown value “{bad[0][:40]}”: choose from {', '.join(options)}.")
        return []
    return list(dict.fromkeys(value))


def clean_tags(
    value: Any, field: str, errors: FieldErrors, *, max_length: int = TAG_MAX, max_count: int = MAX_TAGS
) -> list[str]:
    """Tag names as a list of strings (trimmed, each once whatever its case); [] for null."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_count or not all(isinstance(v, str) for v in value):
        errors.add(field, f"Give at most {max_count} tag names as a list of text.")
        return []
    unique: dict[str, str] = {}
    for raw in value:
        name = clean_name(raw, field, errors, max_length=max_length, required=False)
        if name:
            unique.setdefault(name.casefold(), name)
    return list(unique.values())


def clean_queue(actor: Principal, value: Any, field: str, errors: FieldErrors, *, required: bool) -> Queue | None:
    """A living queue of the actor's workspace named by id (another workspace's is 'unknown')."""
    if value is None:
        if required:
            errors.add(field, "Choose a queue.")
        return None
    pk = as_id(value)
    queue = Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, pk=pk).first() if pk else None
    if queue is None:
        errors.add(field, "No queue of this workspace has this id.")
    return queue


def next_position(qs: models.QuerySet[Any]) -> int:
    """The position after the last of `qs` (0 when empty): a new rule or policy goes last."""
    last = qs.aggregate(m=models.Max("position"))["m"]
    return 0 if last is None else last + 1


def close_gaps(qs: models.QuerySet[Any]) -> None:
    """Renumber `qs` 0, 1, 2 … in its current order (after a delete)."""
    for position, pk in enumerate(qs.order_by("position", "id").values_list("pk", flat=True)):
        qs.model._default_manager.filter(pk=pk).exclude(position=position).update(position=position)


def reorder(actor: Principal, qs: models.QuerySet[M], ids: Any, *, field: str, verb: str) -> list[M]:
    """Put every record of `qs` (locked until the transaction ends) in the order of `ids`, which
    must name each of them once: positions become 0, 1, 2 … and a moved record gets a new version.
    Records one `verb` event (its subject is the new first record) with the old and new order of
    ids; nothing when the order did not change. Returns the records in their new order."""
    rows = list(qs.select_for_update().order_by("position", "id"))
    current = [r.pk for r in rows]
    given = [as_id(v) for v in ids] if isinstance(ids, list) else None
    if given is None or None in given or len(set(given)) != len(given) or set(given) != set(current):
        raise ValidationFailed(
            "invalid_order",
            f"List every one of them once, in the new order (now: {', '.join(map(str, current)) or 'none'}).",
            field=field,
        )
    by_pk = {r.pk: r for r in rows}
    ordered = [by_pk[pk] for pk in given if pk is not None]
    if given == current and all(r.position == i for i, r in enumerate(ordered)):  # type: ignore[attr-defined]
        return ordered
    now = timezone.now()
    for position, row in enumerate(ordered):
        if row.position != position:  # type: ignore[attr-defined]
            type(row)._default_manager.filter(pk=row.pk).update(
                position=position, version=F("version") + 1, updated_at=now
            )
    if ordered and given != current:
        record_event(actor, verb, ordered[0], {"order": [current, given]})
    return list(qs.model._default_manager.filter(pk__in=current).order_by("position", "id"))
