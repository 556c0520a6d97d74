"""Support mailboxes API: mark a shared IMAP mailbox of the workspace as a support mailbox (its mail
becomes tickets), change its address or queue, unmark it. (No `from __future__ import annotations`
in API modules.)

Everyone who reads tickets lists and reads them; changes need the manage-settings permission
(PATCH needs the ETag in If-Match). Another workspace's support mailbox answers 404.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.contacts.schemas import Ref
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn
from rapport.service import support_mailbox_services as services
from rapport.service.models import SupportMailbox

router = Router(tags=["service settings"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class SupportMailboxPatch(StrictIn):
    mailbox_id: Id | None = Field(None, description="A shared mailbox of the workspace (GET /api/v1/mailboxes)")
    address: str | None = Field(
        None, max_length=254, description="The address customers write to; replies come from it"
    )
    queue_id: Id | None = Field(None, description="Where new tickets land (null: the routing rules decide)")


class SupportMailboxIn(SupportMailboxPatch):
    mailbox_id: Id = Field(..., description="A shared mailbox of the workspace (GET /api/v1/mailboxes)")
    address: str | None = Field(
        None, max_length=254, description="Defaults to the mailbox's username when it is an address"
    )


class MailboxRef(Schema):
    id: int
    name: str
    username: str
    enabled: bool
    last_success_at: datetime | None
    last_error: str


class SupportMailboxOut(Schema):
    id: int
    address: str
    mailbox: MailboxRef
    queue: Ref | None
    version: int
    created_at: datetime
    updated_at: datetime


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


@router.get(
    "/support-mailboxes", response={200: PageOut[SupportMailboxOut], **ERRORS}, summary="List support mailboxes"
)
def list_support_mailboxes(request: HttpRequest, params: Query[ListParams]) -> Any:
    """By address, each with its IMAP mailbox (and its sync state) and queue."""
    qs = services.support_mailbox_list(actor=_actor(request))
    return paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("address", "id"))


@router.post("/support-mailboxes", response={201: SupportMailboxOut, **ERRORS}, summary="Mark a support mailbox")
@idempotent(SupportMailboxOut)
def create_support_mailbox(request: HttpRequest, payload: SupportMailboxIn) -> SupportMailbox:
    """From its next sync on, the mailbox's new mail becomes tickets instead of email activities."""
    return services.support_mailbox_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get(
    "/support-mailboxes/{support_id}", response={200: SupportMailboxOut, **ERRORS}, summary="Get a support mailbox"
)
def get_support_mailbox(request: HttpRequest, response: HttpResponse, support_id: int) -> SupportMailbox:
    support = services.support_mailbox_get(actor=_actor(request), support_id=support_id)
    with_etag(response, support)
    return support


@router.patch(
    "/support-mailboxes/{support_id}", response={200: SupportMailboxOut, **ERRORS}, summary="Change a support mailbox"
)
def update_support_mailbox(
    request: HttpRequest, response: HttpResponse, support_id: int, payload: SupportMailboxPatch
) -> SupportMailbox:
    actor = _actor(request)
    support = services.support_mailbox_get(actor=actor, support_id=support_id, mode=Mode.WRITE)
    support = services.support_mailbox_update(
        actor=actor, support=support, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, support)
    return support


@router.delete("/support-mailboxes/{support_id}", response={204: None, **ERRORS}, summary="Unmark a support mailbox")
def delete_support_mailbox(request: HttpRequest, support_id: int) -> Status[None]:
    """Its mail is logged as email activities again; the tickets made from it stay."""
    actor = _actor(request)
    services.support_mailbox_delete(
        actor=actor, support=services.support_mailbox_get(actor=actor, support_id=support_id, mode=Mode.WRITE)
    )
    return Status(204, None)
