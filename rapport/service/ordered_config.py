"""The writes routing rules and SLA policies share. Both are ordered lists of a workspace's
configuration (`position` 0, 1, 2 …, kept dense; the first active match applies) that only roles
with `Perm.MANAGE_SETTINGS` change. Each kind brings its own cleaning and says whether a delete is
soft; `OrderedKind` does the rest one way for both: a new record goes last, a change refuses a
stale version, a delete closes the gap, a reorder sets the whole order at once, and each write
records its event (`<event>.created`, `.updated`, `.deleted`, `<plural>.reordered`) in its
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from rapport.accounts.roles import Perm
from rapport.core.access import require
from rapport.core.errors import ApplicationError, NotFound, StaleVersion
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.service.config_cleaning import M, close_gaps, next_position, reorder

Clean = Callable[[Principal, Mapping[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class OrderedKind(Generic[M]):
    """One kind of ordered configuration record and its writes (`clean(actor, data, current)` turns
    input into stored values or raises FieldErrors; `current` is None on create)."""

    model: type[M]
    event: str  # "routing_rule" → routing_rule.created / .updated / .deleted
    plural: str  # "routing_rules" → routing_rules.reordered
    ids_field: str  # the input field of the order, named by its error
    snapshot_fields: tuple[str, ...]  # what the events show as changed
    clean: Clean
    soft_delete: bool = False  # soft: `deleted_at` is set, and the record is no longer "living"
    name_taken: Callable[[str], ApplicationError] | None = None  # the error of a unique-name race

    def living(self, actor: Principal) -> QuerySet[M]:
        """The workspace's records that count (not soft-deleted), unordered."""
        qs = self.model._default_manager.filter(org_id=actor.org_id)
        return qs.filter(deleted_at__isnull=True) if self.soft_delete else qs

    def _snapshot(self, record: M) -> dict[str, Any]:
        return {name: getattr(record, name) for name in self.snapshot_fields}

    def _locked(self, actor: Principal, record: M) -> Any:
        return self.living(actor).select_for_update().filter(pk=record.pk).first()

    def _write(self, write: Callable[[], Any], name: str) -> Any:
        """Run `write` in a savepoint; a unique-name race answers `name_taken(name)`."""
        try:
            with transaction.atomic():
                return write()
        except IntegrityError:
            if self.name_taken is None:
                raise
            raise self.name_taken(name) from None

    @transaction.atomic
    def create(self, *, actor: Principal, data: Mapping[str, Any]) -> M:
        """Add a record after the others. Records `<event>.created`."""
        require(actor, Perm.MANAGE_SETTINGS)
        values = self.clean(actor, data, None)
        living = self.living(actor)
        list(living.select_for_update())  # serialise the positions of one workspace's records
        record = self._write(
            lambda: self.model._default_manager.create(
                org_id=actor.org_id, created_by=actor.user, position=next_position(living), **values
            ),
            values["name"],
        )
        record_event(actor, f"{self.event}.created", record, diff({}, self._snapshot(record)))
        return record

    @transaction.atomic
    def update(self, *, actor: Principal, record: M, data: Mapping[str, Any], expected_version: int | None) -> M:
        """Change a record; refuses a stale version (or a deleted record). Records `<event>.updated`
        when anything changed."""
        require(actor, Perm.MANAGE_SETTINGS)
        current = self._locked(actor, record)
        if current is None or (expected_version is not None and current.version != expected_version):
            raise StaleVersion()
        values = self.clean(actor, data, current)
        before = self._snapshot(current)
        rows = self.model._default_manager.filter(pk=current.pk)
        self._write(
            lambda: rows.update(version=F("version") + 1, updated_at=timezone.now(), **values),
            values.get("name", current.name),
        )
        current.refresh_from_db()
        changes = diff(before, self._snapshot(current))
        if changes:
            record_event(actor, f"{self.event}.updated", current, changes)
        return current

    @transaction.atomic
    def delete(self, *, actor: Principal, record: M) -> None:
        """Delete a record (soft for a soft kind); the others close the gap. Records `<event>.deleted`."""
        require(actor, Perm.MANAGE_SETTINGS)
        current = self._locked(actor, record)
        if current is None:
            raise NotFound()
        record_event(actor, f"{self.event}.deleted", current, {"name": [current.name, None]})
        if self.soft_delete:
            now = timezone.now()
            self.model._default_manager.filter(pk=current.pk).update(
                deleted_at=now, version=F("version") + 1, updated_at=now
            )
        else:
            current.delete()
        close_gaps(self.living(actor))

    @transaction.atomic
    def reorder(self, *, actor: Principal, ids: Any) -> list[M]:
        """Put the workspace's living records in the order of `ids` (every one once). Records
        `<plural>.reordered`. Returns the records in their new order."""
        require(actor, Perm.MANAGE_SETTINGS)
        return reorder(actor, self.living(actor), ids, field=self.ids_field, verb=f"{self.plural}.reordered")
