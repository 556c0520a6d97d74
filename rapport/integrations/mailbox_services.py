"""IMAP mailboxes: connect, change, remove and sync them now; reads of the mailboxes one may see.

Who may do what:
- every member whose role may log activities connects and manages their own mailboxes (with a
  write-scope session or token);
- shared workspace mailboxes (no owner) are managed by admins (Perm.MANAGE_SETTINGS); other members
  see them read-only;
- nobody, admins included, sees another member's personal mailbox: it answers 404 like a missing one.

The password is encrypted with `rapport.core.crypto` before it is stored and is never returned
(reads say `has_password`); on a change, a missing or empty password keeps the stored one.
Unless `verify` is false, the connection (login and every folder) is tried before anything is
saved: a failure is a 422 naming the field to fix, and nothing is written. Events (`mailbox.*`)
never hold the password, only that it changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode, Perm
from rapport.core import crypto
from rapport.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.integrations.imap import ImapFailure, ImapLoginFailure, ImapSession
from rapport.integrations.mail_sync import LEASE
from rapport.integrations.models import Mailbox, Security
from rapport.integrations.sync_tasks import sync_mailbox

FIELDS = {
    "name",
    "host",
    "port",
    "security",
    "username",
    "password",
    "folders",
    "create_unknown_contacts",
    "share_synced",
    "enabled",
}
NAME_MAX = 100
HOST_MAX = 255
USERNAME_MAX = 255
PASSWORD_MAX = 1000
FOLDER_MAX = 255
MAX_FOLDERS = 20
MAX_PER_OWNER = 10
CHECK_TIMEOUT = 15.0
# Fields whose change points the mailbox at other mail: the sync state starts over.
CONNECTION_FIELDS = ("host", "port", "username")
_HOST = re.compile(r"^[A-Za-z0-9._:-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- reads ------------------------------------------------------------------------------------


def _visible(actor: Principal) -> QuerySet[Mailbox]:
    return Mailbox.objects.filter(org_id=actor.org_id).filter(Q(user_id=actor.user_id) | Q(user__isnull=True))


def mailbox_list(*, actor: Principal) -> QuerySet[Mailbox]:
    """The actor's own mailboxes, then the workspace's shared ones, by name (one query)."""
    return _visible(actor).order_by(F("user_id").asc(nulls_last=True), "name", "pk")


def can_manage(actor: Principal, mailbox: Mailbox) -> bool:
    """Whether the actor may change (and sync) this mailbox they can see."""
    if mailbox.user_id is None:
        return actor.has_perm(Perm.MANAGE_SETTINGS)
    return mailbox.user_id == actor.user_id and actor.scope == "write"


def mailbox_get(*, actor: Principal, mailbox_id: object, mode: Mode = Mode.READ) -> Mailbox:
    """One mailbox the actor may see (404 otherwise); with mode=WRITE, one they may change (403)."""
    try:
        pk = int(mailbox_id)  # type: ignore[call-overload]
        if not 0 < pk < 2**63:
            raise ValueError
        mailbox = _visible(actor).get(pk=pk)
    except (Mailbox.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if mode is Mode.WRITE and not can_manage(actor, mailbox):
        raise PermissionDenied()
    return mailbox


# --- validation -------------------------------------------------------------------------------


def _text(value: Any, name: str, max_length: int, errors: dict[str, str], *, required: bool = False) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = "Enter text."
        return None
    value = value.strip()
    if _CONTROL.search(value):
        errors[name] = "Line breaks and control characters are not allowed."
    elif len(value) > max_length:
        errors[name] = f"At most {max_length} characters."
    elif required and not value:
        errors[name] = "This field is required."
    else:
        return value
    return None


def _folders(value: Any, errors: dict[str, str]) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_FOLDERS:
        errors["folders"] = f"Give at most {MAX_FOLDERS} folder names as a list (none means INBOX)."
        return None
    folders: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > FOLDER_MAX or _CONTROL.search(item):
            errors["folders"] = f"Each folder is a name of 1 to {FOLDER_MAX} characters, without line breaks."
            return None
        if item.strip() not in folders:
            folders.append(item.strip())
    return folders


def _clean(data: Mapping[str, Any], instance: Mailbox | None) -> dict[str, Any]:
    """Column values of valid input (the plaintext password under "password" when one is given).
    Raises ValidationFailed naming every invalid field at once."""
    errors: dict[str, str] = {}
    for name in sorted(set(data) - FIELDS):
        errors[name] = "Unknown field."
    creating = instance is None
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = _text(data["name"], "name", NAME_MAX, errors)
    if "host" in data or creating:
        host = _text(data.get("host"), "host", HOST_MAX, errors, required=True)
        if host is not None and not _HOST.match(host):
            errors["host"] = "Enter a host name such as imap.example.com (no spaces or schemes)."
        values["host"] = (host or "").lower()
    if "port" in data:
        port = data["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            errors["port"] = "Enter a port between 1 and 65535."
        values["port"] = port
    if "security" in data:
        if data["security"] not in Security.values:
            errors["security"] = f"Choose one of: {', '.join(Security.values)}."
        values["security"] = data["security"]
    if "username" in data or creating:
        values["username"] = _text(data.get("username"), "username", USERNAME_MAX, errors, required=True)
    password = data.get("password")
    if password not in (None, ""):
        if not isinstance(password, str) or len(password) > PASSWORD_MAX or "\x00" in password:
            errors["password"] = f"Enter a password of at most {PASSWORD_MAX} characters."
        values["password"] = password
    elif creating:
        errors["password"] = "Enter the mailbox's password."  # noqa: S105 (a message, not a secret)
    if "folders" in data:
        values["folders"] = _folders(data["folders"], errors)
    for flag in ("create_unknown_contacts", "share_synced", "enabled"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors[flag] = "Give true or false."
            values[flag] = data[flag]
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise ValidationFailed("validation_error", f"Some fields are not valid — {summary}", fields=errors)
    if "port" not in values and creating:
        values["port"] = 143 if values.get("security") == Security.NONE else 993
    return values


def _snapshot(mailbox: Mailbox) -> dict[str, Any]:
    values = {
        name: getattr(mailbox, name)
        for name in (
            "name",
            "host",
            "port",
            "security",
            "username",
            "folders",
            "create_unknown_contacts",
            "share_synced",
            "enabled",
        )
    }
    values["shared"] = mailbox.user_id is None
    return values


def mailbox_check(*, host: str, port: int, security: str, username: str, password: str, folders: list[str]) -> None:
    """Log in and open every folder (INBOX when none); ValidationFailed naming the field to fix."""
    try:
        with ImapSession.open(
            host=host, port=port, security=security, username=username, password=password, timeout=CHECK_TIMEOUT
        ) as session:
            for folder in folders or ["INBOX"]:
                try:
                    session.select(folder)
                except ImapFailure as exc:
                    raise ValidationFailed("connection_failed", str(exc), fields={"folders": str(exc)}) from None
    except ImapLoginFailure as exc:
        raise ValidationFailed("connection_failed", str(exc), fields={"password": str(exc)}) from None
    except ImapFailure as exc:
        raise ValidationFailed("connection_failed", str(exc), fields={"host": str(exc)}) from None


def _check(mailbox: Mailbox, password: str) -> None:
    mailbox_check(
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=password,
        folders=list(mailbox.folders or []),
    )


def _stored_password(mailbox: Mailbox) -> str:
    try:
        return crypto.decrypt(mailbox.password_secret) if mailbox.password_secret else ""
    except crypto.SecretUnreadable:
        raise ValidationFailed(
            "password_unreadable",
            "The stored password can no longer be decrypted: enter it again.",
            fields={"password": "Enter the password again."},
        ) from None


# --- writes -----------------------------------------------------------------------------------


def mailbox_create(*, actor: Principal, data: Mapping[str, Any], shared: bool = False, verify: bool = True) -> Mailbox:
    """Connect a mailbox: the actor's own, or with `shared` one of the workspace (admins). With
    `verify` the connection is tried first and nothing is saved when it fails. Records
    `mailbox.created`."""
    if shared:
        if not actor.has_perm(Perm.MANAGE_SETTINGS):
            raise PermissionDenied()
    elif actor.scope != "write" or not actor.can(Entity.ACTIVITY, Mode.WRITE):
        raise PermissionDenied("Your role does not allow logging email.")
    values = _clean(data, None)
    password = values.pop("password")
    mailbox = Mailbox(org_id=actor.org_id, user=None if shared else actor.user, created_by=actor.user, **values)
    if verify:
        _check(mailbox, password)
    return _create(actor, mailbox, password)


@transaction.atomic
def _create(actor: Principal, mailbox: Mailbox, password: str) -> Mailbox:
    owned = Mailbox.objects.filter(org_id=actor.org_id).filter(
        Q(user_id=mailbox.user_id) if mailbox.user_id is not None else Q(user__isnull=True)
    )
    if owned.count() >= MAX_PER_OWNER:
        raise Conflict("too_many_mailboxes", f"At most {MAX_PER_OWNER} mailboxes each; remove one first.")
    mailbox.password_secret = crypto.encrypt(password)
    mailbox.save()
    record_event(actor, "mailbox.created", mailbox, {**diff({}, _snapshot(mailbox)), "password": ["", "set"]})
    return mailbox


def mailbox_update(
    *,
    actor: Principal,
    mailbox: Mailbox,
    data: Mapping[str, Any],
    expected_version: int | None,
    verify: bool = True,
) -> Mailbox:
    """Change a mailbox (only the keys in `data`); refuses a stale version. A new host, port or
    username starts the sync state over; turning it on or changing the connection makes it due now.
    With `verify`, a change of the connection is tried first. Records `mailbox.updated`."""
    if not can_manage(actor, mailbox) or mailbox.org_id != actor.org_id:
        raise PermissionDenied()
    values = _clean(data, mailbox)
    password = values.pop("password", None)
    after = Mailbox(**{**{f.attname: getattr(mailbox, f.attname) for f in Mailbox._meta.concrete_fields}, **values})
    connection_changed = password is not None or any(
        getattr(after, name) != getattr(mailbox, name) for name in (*CONNECTION_FIELDS, "security", "folders")
    )
    if verify and connection_changed and after.enabled:
        _check(after, password if password is not None else _stored_password(mailbox))
    return _update(actor, mailbox, values, password, expected_version, connection_changed)


@transaction.atomic
def _update(
    actor: Principal,
    mailbox: Mailbox,
    values: dict[str, Any],
    password: str | None,
    expected_version: int | None,
    connection_changed: bool,
) -> Mailbox:
    before = _snapshot(mailbox)
    if password is not None:
        values["password_secret"] = crypto.encrypt(password)
    restart = any(name in values and values[name] != getattr(mailbox, name) for name in CONNECTION_FIELDS)
    if connection_changed or (values.get("enabled") and not mailbox.enabled):
        # Due now, with a clean slate of failures.
        values.update(next_attempt_at=None, failures=0, last_error="")
    qs = Mailbox.objects.filter(pk=mailbox.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        raise StaleVersion()
    if restart:
        mailbox.folder_states.all().delete()
    mailbox.refresh_from_db()
    changes = diff(before, _snapshot(mailbox))
    if password is not None:
        changes["password"] = ["", "changed"]
    if changes:
        record_event(actor, "mailbox.updated", mailbox, changes)
    return mailbox


@transaction.atomic
def mailbox_delete(*, actor: Principal, mailbox: Mailbox) -> None:
    """Disconnect a mailbox: its password and sync state go; the activities it logged stay.
    Records `mailbox.deleted`."""
    if not can_manage(actor, mailbox) or mailbox.org_id != actor.org_id:
        raise PermissionDenied()
    record_event(actor, "mailbox.deleted", mailbox, diff(_snapshot(mailbox), {}))
    mailbox.delete()


@transaction.atomic
def mailbox_sync_now(*, actor: Principal, mailbox: Mailbox) -> Mailbox:
    """Queue a sync of the mailbox right away (whatever its backoff), after the transaction commits."""
    if not can_manage(actor, mailbox) or mailbox.org_id != actor.org_id:
        raise PermissionDenied()
    if not mailbox.enabled:
        raise ApplicationError("mailbox_disabled", "This mailbox is turned off: turn it on to sync it.", status=409)
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(next_attempt_at=now + LEASE)
    mailbox_id = mailbox.pk
    transaction.on_commit(lambda: sync_mailbox(mailbox_id))
    mailbox.refresh_from_db()
    return mailbox
