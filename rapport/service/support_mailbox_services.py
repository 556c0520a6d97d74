"""Support mailboxes: a shared IMAP mailbox of the workspace (rapport.integrations, connected under
Settings → Mailboxes) marked as a support mailbox, whose mail then becomes tickets instead of email
activities (rapport.service.email_in), with the address replies go out from and the queue new
tickets land in.

Who: everyone who may read tickets reads them; Perm.MANAGE_SETTINGS (admins) writes them. Another
workspace's support mailbox answers NotFound like a missing one. Only a shared mailbox (no owner)
of the same workspace can be marked, and at most once. Events: `support_mailbox.created`,
`.updated`, `.deleted`. Unmarking a mailbox stops email-to-ticket; its mail after that is logged as
email activities again, and the tickets already made stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from rapport.accounts.roles import Entity, Mode, Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core import normalize
from rapport.core.access import require, require_entity
from rapport.core.errors import ApplicationError, NotFound, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.integrations.models import Mailbox
from rapport.service.config_cleaning import as_id, unknown_fields
from rapport.service.models import Queue, SupportMailbox

FIELDS = {"mailbox_id", "address", "queue_id"}
SNAPSHOT = ("mailbox_id", "address", "queue_id")


# --- reads --------------------------------------------------------------------------------------


def support_mailbox_list(*, actor: Principal) -> QuerySet[SupportMailbox]:
    """The workspace's support mailboxes with their IMAP mailbox and queue, by address (one query)."""
    require_entity(actor, Entity.TICKET, Mode.READ)
    return (
        SupportMailbox.objects.filter(org_id=actor.org_id).select_related("mailbox", "queue").order_by("address", "pk")
    )


def support_mailbox_get(*, actor: Principal, support_id: object, mode: Mode = Mode.READ) -> SupportMailbox:
    """One support mailbox of the workspace (NotFound otherwise); with mode=WRITE the actor must
    manage settings (PermissionDenied)."""
    pk = as_id(support_id)
    found = support_mailbox_list(actor=actor).filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound()
    if mode is Mode.WRITE:
        require(actor, Perm.MANAGE_SETTINGS)
    return found


def markable_mailboxes(*, actor: Principal, current: SupportMailbox | None = None) -> QuerySet[Mailbox]:
    """The workspace's shared mailboxes not yet marked (plus the one `current` uses), by name."""
    taken = SupportMailbox.objects.filter(org_id=actor.org_id)
    if current is not None:
        taken = taken.exclude(pk=current.pk)
    return (
        Mailbox.objects.filter(org_id=actor.org_id, user__isnull=True)
        .exclude(pk__in=taken.values("mailbox_id"))
        .order_by("name", "username", "pk")
    )


# --- writes -------------------------------------------------------------------------------------


def _address(value: Any, errors: FieldErrors) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.add("address", "Enter the support address customers write to.")
        return ""
    try:
        return normalize.email(value.strip(), field="address")
    except ApplicationError as exc:
        errors.add("address", exc.fields.get("address") or "Enter a valid email address.")
        return ""


def _clean(actor: Principal, data: Mapping[str, Any], current: SupportMailbox | None) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationFailed("invalid", "Give the support mailbox as an object.")
    errors = FieldErrors()
    unknown_fields(data, FIELDS, errors)
    values: dict[str, Any] = {}
    if "mailbox_id" in data or current is None:
        pk = as_id(data.get("mailbox_id"))
        mailbox = markable_mailboxes(actor=actor, current=current).filter(pk=pk).first() if pk else None
        if mailbox is None:
            errors.add("mailbox_id", "Choose a shared mailbox of this workspace that is not a support mailbox yet.")
        values["mailbox"] = mailbox
    if "address" in data:
        values["address"] = _address(data["address"], errors)
    elif current is None:
        mailbox = values.get("mailbox")
        username = mailbox.username if mailbox is not None else ""
        values["address"] = _address(username, errors) if "@" in username else _address(None, errors)
    if "queue_id" in data:
        queue = None
        if data["queue_id"] is not None:
            pk = as_id(data["queue_id"])
            queue = Queue.objects.filter(org_id=actor.org_id, pk=pk, deleted_at__isnull=True).first() if pk else None
            if queue is None:
                errors.add("queue_id", "Choose a queue of this workspace.")
        values["queue"] = queue
    errors.raise_if_any()
    return values


def _taken() -> ValidationFailed:
    message = "This mailbox is already a support mailbox."
    return ValidationFailed("validation_error", message, fields={"mailbox_id": message})


def _snapshot(support: SupportMailbox) -> dict[str, Any]:
    return {name: getattr(support, name) for name in SNAPSHOT}


@transaction.atomic
def support_mailbox_create(*, actor: Principal, data: Mapping[str, Any]) -> SupportMailbox:
    """Mark a shared mailbox as a support mailbox (`mailbox_id`, `address` — by default the
    mailbox's username when it is an address — and an optional `queue_id`)."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean(actor, data, None)
    support = SupportMailbox(org_id=actor.org_id, created_by=actor.user, **values)
    try:
        with transaction.atomic():
            support.save()
    except IntegrityError:  # marked meanwhile by another admin
        raise _taken() from None
    record_event(actor, "support_mailbox.created", support, diff({}, _snapshot(support)))
    return support_mailbox_list(actor=actor).get(pk=support.pk)


@transaction.atomic
def support_mailbox_update(
    *, actor: Principal, support: SupportMailbox, data: Mapping[str, Any], expected_version: int | None = None
) -> SupportMailbox:
    """Change the address, the queue or the mailbox of a support mailbox; refuses a stale version (412)."""
    require(actor, Perm.MANAGE_SETTINGS)
    current = SupportMailbox.objects.select_for_update().filter(pk=support.pk, org_id=actor.org_id).first()
    if current is None:
        raise NotFound()
    if expected_version is not None and expected_version != current.version:
        raise StaleVersion()
    before = _snapshot(current)
    for name, value in _clean(actor, data, current).items():
        setattr(current, name, value)
    current.version += 1  # the row is locked
    try:
        with transaction.atomic():
            current.save()
    except IntegrityError:
        raise _taken() from None
    current.refresh_from_db()
    changes = diff(before, _snapshot(current))
    if changes:
        record_event(actor, "support_mailbox.updated", current, changes)
    return support_mailbox_list(actor=actor).get(pk=current.pk)


@transaction.atomic
def support_mailbox_delete(*, actor: Principal, support: SupportMailbox) -> None:
    """Unmark a support mailbox: its mail is logged as email activities again; tickets stay."""
    require(actor, Perm.MANAGE_SETTINGS)
    deleted, _ = SupportMailbox.objects.filter(pk=support.pk, org_id=actor.org_id).delete()
    if not deleted:
        raise NotFound()
    record_event(actor, "support_mailbox.deleted", support, diff(_snapshot(support), {}))
