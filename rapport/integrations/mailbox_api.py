"""Mailboxes API: connect IMAP mailboxes whose mail is logged as email activities, see their sync
state, change, remove and sync them now. (No `from __future__ import annotations` in API modules.)

A member sees their own mailboxes and the workspace's shared ones (read-only unless admin); another
member's mailbox answers 404. The password is write-only: answers say only `has_password`.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn
from rapport.integrations import mailbox_services as services
from rapport.integrations.models import Mailbox

router = Router(tags=["mailboxes"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
ID = Field(..., ge=1, le=2**63 - 1)


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class MailboxPatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    host: str | None = Field(None, max_length=255, description="IMAP server host name")
    port: int | None = Field(None, ge=1, le=65535)
    security: str | None = Field(None, max_length=10, description="ssl, starttls or none (local servers only)")
    username: str | None = Field(None, max_length=255)
    password: str | None = Field(None, max_length=1000, description="Write-only; omit (or '') to keep")
    folders: list[str] | None = Field(None, max_length=20, description="Folders to sync; empty means INBOX")
    create_unknown_contacts: bool | None = Field(None, description="Create contacts from unknown senders")
    share_synced: bool | None = Field(None, description="Personal mailboxes: log mail visible to everyone")
    enabled: bool | None = None
    verify: bool = Field(True, description="Try the connection before saving; nothing is saved if it fails")


class MailboxIn(MailboxPatch):
    host: str = Field(..., max_length=255, description="IMAP server host name")
    username: str = Field(..., max_length=255)
    password: str = Field(..., max_length=1000, description="Write-only")
    security: str = Field("ssl", max_length=10, description="ssl, starttls or none (local servers only)")
    shared: bool = Field(False, description="A shared mailbox of the workspace (admins) instead of your own")


class MailboxOut(Schema):
    id: int
    name: str
    shared: bool
    user_id: int | None
    host: str
    port: int
    security: str
    username: str
    has_password: bool
    folders: list[str]
    create_unknown_contacts: bool
    share_synced: bool
    enabled: bool
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    failures: int
    next_attempt_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_shared(obj: Mailbox) -> bool:
        return obj.user_id is None

    @staticmethod
    def resolve_has_password(obj: Mailbox) -> bool:
        return bool(obj.password_secret)


class MailboxListOut(Schema):
    items: list[MailboxOut]
    next_cursor: str | None = Field(None, description="Always null: every mailbox fits on one page")


def _data(payload: MailboxPatch) -> dict[str, Any]:
    return payload.dict(exclude_unset=True, exclude={"verify", "shared"})


@router.get("/mailboxes", response={200: MailboxListOut, **ERRORS}, summary="List mailboxes")
def list_mailboxes(request: HttpRequest) -> Any:
    """Your own mailboxes, then the workspace's shared ones (one query)."""
    return {"items": list(services.mailbox_list(actor=_actor(request))), "next_cursor": None}


@router.post("/mailboxes", response={201: MailboxOut, **ERRORS}, summary="Connect a mailbox")
@idempotent(MailboxOut)
def create_mailbox(request: HttpRequest, payload: MailboxIn) -> Mailbox:
    """Tries the connection first unless `verify` is false: a failure is a 422 naming the field
    to fix (host, password or folders) and nothing is saved."""
    return services.mailbox_create(
        actor=_actor(request), data=_data(payload), shared=payload.shared, verify=payload.verify
    )


@router.get("/mailboxes/{mailbox_id}", response={200: MailboxOut, **ERRORS}, summary="Get a mailbox")
def get_mailbox(request: HttpRequest, response: HttpResponse, mailbox_id: int) -> Mailbox:
    mailbox = services.mailbox_get(actor=_actor(request), mailbox_id=mailbox_id)
    with_etag(response, mailbox)
    return mailbox


@router.patch("/mailboxes/{mailbox_id}", response={200: MailboxOut, **ERRORS}, summary="Change a mailbox")
def update_mailbox(request: HttpRequest, response: HttpResponse, mailbox_id: int, payload: MailboxPatch) -> Mailbox:
    actor = _actor(request)
    mailbox = services.mailbox_get(actor=actor, mailbox_id=mailbox_id, mode=Mode.WRITE)
    version = if_match(request)
    mailbox = services.mailbox_update(
        actor=actor, mailbox=mailbox, data=_data(payload), expected_version=version, verify=payload.verify
    )
    with_etag(response, mailbox)
    return mailbox


@router.delete("/mailboxes/{mailbox_id}", response={204: None, **ERRORS}, summary="Disconnect a mailbox")
def delete_mailbox(request: HttpRequest, mailbox_id: int) -> Status[None]:
    """The activities it logged stay."""
    actor = _actor(request)
    services.mailbox_delete(
        actor=actor, mailbox=services.mailbox_get(actor=actor, mailbox_id=mailbox_id, mode=Mode.WRITE)
    )
    return Status(204, None)


@router.post("/mailboxes/{mailbox_id}/sync", response={202: MailboxOut, **ERRORS}, summary="Sync a mailbox now")
def sync_mailbox_now(request: HttpRequest, mailbox_id: int) -> Status[Mailbox]:
    """Queues a sync right away, whatever the backoff; read the mailbox again for its outcome."""
    actor = _actor(request)
    mailbox = services.mailbox_get(actor=actor, mailbox_id=mailbox_id, mode=Mode.WRITE)
    return Status(202, services.mailbox_sync_now(actor=actor, mailbox=mailbox))
