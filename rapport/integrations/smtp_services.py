"""The workspace's outgoing mail server: read, set, remove and test it (admins only).

The password is encrypted with `rapport.core.crypto` before it is stored and is never returned:
reads say only whether one is set (`has_password`). Setting the server without a password (the
key absent or None) keeps the stored one; an empty string removes it. Every change records an
`smtp.updated` / `smtp.deleted` event whose changes never hold the password, only that it changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from rapport.accounts.roles import Perm
from rapport.core import crypto, normalize
from rapport.core.access import require
from rapport.core.errors import ApplicationError, NotFound, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.integrations.models import Security, SmtpServer

FIELDS = {"host", "port", "security", "username", "password", "from_email"}
HOST_MAX = 255
USERNAME_MAX = 255
PASSWORD_MAX = 1000
# A host name (letters, digits, dots, dashes, underscores) or an IPv4 / bracket-less IPv6 address.
_HOST = re.compile(r"^[A-Za-z0-9._:-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SmtpNotConfigured(ApplicationError):
    status = 409
    code = "smtp_not_configured"
    message = "No outgoing mail server is configured: an admin sets it up under Settings → Email (SMTP)."


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """The column values of valid settings (password in plaintext under "password", or absent).

    Raises ValidationFailed naming every invalid field at once."""
    errors: dict[str, str] = {}
    for name in sorted(set(data) - FIELDS):
        errors[name] = "Unknown field."
    values: dict[str, Any] = {}

    host = data.get("host")
    if not isinstance(host, str) or not host.strip():
        errors["host"] = "Enter the server's host name."
    elif len(host.strip()) > HOST_MAX or not _HOST.match(host.strip()):
        errors["host"] = "Enter a host name such as smtp.example.com (no spaces or schemes)."
    else:
        values["host"] = host.strip().lower()

    port = data.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors["port"] = "Enter a port between 1 and 65535."
    else:
        values["port"] = port

    security = data.get("security", Security.STARTTLS.value)
    if security not in Security.values:
        errors["security"] = f"Choose one of: {', '.join(Security.values)}."
    else:
        values["security"] = security

    # The SMTP login (AUTH PLAIN / LOGIN in smtplib) sends ASCII only: other characters are refused
    # here rather than failing at every send.
    username = data.get("username") or ""
    if not isinstance(username, str) or len(username) > USERNAME_MAX or _CONTROL.search(username):
        errors["username"] = f"Enter at most {USERNAME_MAX} characters, without line breaks."
    elif not username.isascii():
        errors["username"] = "The SMTP login accepts only ASCII characters."
    else:
        values["username"] = username.strip()

    if "password" in data and data["password"] is not None:
        password = data["password"]
        if not isinstance(password, str) or len(password) > PASSWORD_MAX or _CONTROL.search(password):
            errors["password"] = f"Enter at most {PASSWORD_MAX} characters, without line breaks."
        elif not password.isascii():
            errors["password"] = "The SMTP login accepts only ASCII characters."  # noqa: S105  (a message)
        else:
            values["password"] = password

    from_email = data.get("from_email") or ""
    if not isinstance(from_email, str):
        errors["from_email"] = "Enter an email address."
    elif from_email.strip():
        try:
            values["from_email"] = normalize.email(from_email, field="from_email")
        except ApplicationError as exc:
            errors["from_email"] = next(iter(exc.fields.values()), exc.message)
    else:
        values["from_email"] = ""

    if errors:
        raise ValidationFailed(fields=errors)
    return values


def _snapshot(server: SmtpServer | None) -> dict[str, Any]:
    if server is None:
        return {}
    return {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "username": server.username,
        "from_email": server.from_email,
        "has_password": bool(server.password_secret),
    }


def smtp_server_of(org_id: int) -> SmtpServer | None:
    """The SMTP server of a workspace (for the sending code, which has no actor), or None."""
    return SmtpServer.objects.filter(org_id=org_id).first()


def smtp_get(*, actor: Principal) -> SmtpServer:
    """The workspace's SMTP server; 404 (`smtp_not_configured`) when there is none."""
    require(actor, Perm.MANAGE_SETTINGS)
    server = smtp_server_of(actor.org_id)
    if server is None:
        raise NotFound("smtp_not_configured", "No outgoing mail server is configured.")
    return server


@transaction.atomic
def smtp_set(*, actor: Principal, data: Mapping[str, Any]) -> SmtpServer:
    """Create or replace the workspace's SMTP server (see the module for the password rule)."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean(data)
    server = SmtpServer.objects.select_for_update().filter(org_id=actor.org_id).first()
    before = _snapshot(server)
    password_changed = False
    if server is None:
        server = SmtpServer(org_id=actor.org_id)
    password = values.pop("password", None)
    for name, value in values.items():
        setattr(server, name, value)
    if password is not None:
        new_secret = crypto.encrypt(password) if password else ""
        password_changed = bool(password or server.password_secret)
        server.password_secret = new_secret
    server.save()
    changes = diff(before, _snapshot(server))
    if password_changed:
        changes["password"] = ["(hidden)", "(changed)"]
    if changes:
        record_event(actor, "smtp.updated", server, changes)
    return server


@transaction.atomic
def smtp_delete(*, actor: Principal) -> None:
    """Remove the workspace's SMTP server (its stored password with it); 404 when there is none."""
    server = smtp_get(actor=actor)
    record_event(actor, "smtp.deleted", server, diff(_snapshot(server), {}))
    server.delete()


@dataclass(frozen=True)
class SmtpTestResult:
    ok: bool
    message: str


def smtp_test(*, actor: Principal) -> SmtpTestResult:
    """Connect to the saved server and log in (nothing is sent): whether that worked, and a
    message saying what went wrong in words an admin can act on."""
    from rapport.integrations.outbound import SendFailure, open_connection

    server = smtp_get(actor=actor)
    try:
        connection = open_connection(server)
    except SendFailure as exc:
        return SmtpTestResult(ok=False, message=exc.message)
    connection.close()
    login = " and logged in" if server.username else ""
    return SmtpTestResult(ok=True, message=f"Connected to {server.host}:{server.port}{login}.")
