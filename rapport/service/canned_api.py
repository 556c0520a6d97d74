"""Canned replies API: /api/v1/canned-replies (CRUD, preview, merge fields) and
POST /api/v1/tickets/{ticket_id}/canned-replies/{reply_id} (apply). (No `from __future__ import
annotations` in API modules.)

Members who read tickets see the shared replies and their own; personal replies are written by
any ticket writer, shared ones (`shared: true`) need the manage-settings permission (see
rapport.service.canned_services). Other members' personal replies answer 404.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.contacts.schemas import UserRef
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn, refuse_unknown_params
from rapport.service import canned_services as services
from rapport.service.models import CannedReply, TicketMessage
from rapport.service.ticket_schemas import TicketMessageOut
from rapport.service.ticket_selectors import access_ticket

router = Router(tags=["canned replies"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class CannedReplyPatch(StrictIn):
    name: str | None = Field(None, max_length=services.NAME_MAX)
    body: str | None = Field(None, max_length=services.BODY_MAX, description="Markdown with merge fields")
    set_status: str | None = Field(None, max_length=10, description="Status to set when applied; empty: leave it")
    set_priority: str | None = Field(None, max_length=10, description="Priority to set when applied; empty: leave it")
    add_tags: list[str] | None = Field(None, max_length=services.MAX_TAGS, description="Tags added when applied")
    shared: bool | None = Field(None, description="Shared with the workspace (needs manage settings) or personal")


class CannedReplyIn(CannedReplyPatch):
    name: str = Field(..., max_length=services.NAME_MAX)
    body: str = Field(..., max_length=services.BODY_MAX, description="Markdown with merge fields")


class CannedReplyOut(Schema):
    id: int
    name: str
    body: str
    set_status: str
    set_priority: str
    add_tags: list[str]
    shared: bool
    owner: UserRef | None
    usage_count: int
    can_edit: bool = Field(False, description="Whether the caller may change or delete it")
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_shared(obj: Any) -> bool:
        return obj.owner_id is None

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner else None


class CannedReplyListParams(Schema):
    q: str | None = Field(None, max_length=100, description="Part of the name")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


class PreviewParams(Schema):
    ticket: Id = Field(..., description="The ticket whose values fill the merge fields")


class PreviewOut(Schema):
    body: str = Field(..., description="Markdown source, merge fields filled in")


class ApplyIn(StrictIn):
    body: str | None = Field(
        None, max_length=services.BODY_MAX, description="The agent's edit of the rendered reply; default: as rendered"
    )


class MergeFieldOut(Schema):
    name: str
    label: str
    example: str


def _out(actor: Principal, reply: CannedReply) -> CannedReply:
    reply.can_edit = services.can_edit(actor, reply)  # type: ignore[attr-defined]
    return reply


@router.get("/canned-replies", response={200: PageOut[CannedReplyOut], **ERRORS}, summary="List canned replies")
def list_replies(request: HttpRequest, params: Query[CannedReplyListParams]) -> Any:
    """The shared replies and your own, by name; one query per page."""
    actor = _actor(request)
    refuse_unknown_params(request, CannedReplyListParams)
    qs = services.canned_reply_list(actor=actor, q=params.q)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("sort_name", "id"))
    return {"items": [_out(actor, r) for r in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/canned-replies/fields", response={200: list[MergeFieldOut], **ERRORS}, summary="Merge fields replies may use"
)
def list_merge_fields(request: HttpRequest) -> Any:
    return list(services.FIELDS_OFFERED)


@router.post("/canned-replies", response={201: CannedReplyOut, **ERRORS}, summary="Create a canned reply")
@idempotent(CannedReplyOut)
def create_reply(request: HttpRequest, payload: CannedReplyIn) -> CannedReply:
    actor = _actor(request)
    return _out(actor, services.canned_reply_create(actor=actor, data=payload.dict(exclude_unset=True)))


@router.get("/canned-replies/{reply_id}", response={200: CannedReplyOut, **ERRORS}, summary="Get a canned reply")
def get_reply(request: HttpRequest, response: HttpResponse, reply_id: int) -> CannedReply:
    actor = _actor(request)
    reply = services.canned_reply_get(actor=actor, reply_id=reply_id)
    with_etag(response, reply)
    return _out(actor, reply)


@router.patch("/canned-replies/{reply_id}", response={200: CannedReplyOut, **ERRORS}, summary="Update a canned reply")
def update_reply(request: HttpRequest, response: HttpResponse, reply_id: int, payload: CannedReplyPatch) -> CannedReply:
    actor = _actor(request)
    reply = services.canned_reply_get(actor=actor, reply_id=reply_id, mode=Mode.WRITE)
    reply = services.canned_reply_update(
        actor=actor, reply=reply, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, reply)
    return _out(actor, reply)


@router.delete("/canned-replies/{reply_id}", response={204: None, **ERRORS}, summary="Delete a canned reply")
def delete_reply(request: HttpRequest, reply_id: int) -> Status[None]:
    actor = _actor(request)
    reply = services.canned_reply_get(actor=actor, reply_id=reply_id, mode=Mode.WRITE)
    services.canned_reply_delete(actor=actor, reply=reply)
    return Status(204, None)


@router.get(
    "/canned-replies/{reply_id}/preview",
    response={200: PreviewOut, **ERRORS},
    summary="A canned reply rendered for a ticket",
)
def preview_reply(request: HttpRequest, reply_id: int, params: Query[PreviewParams]) -> dict[str, str]:
    """The body with the merge fields of `ticket` and of you filled in; nothing is sent or saved.
    A ticket you cannot read answers 404."""
    actor = _actor(request)
    refuse_unknown_params(request, PreviewParams)
    reply = services.canned_reply_get(actor=actor, reply_id=reply_id)
    ticket = access_ticket(actor, params.ticket)
    return {"body": services.canned_reply_render(reply=reply, ticket=ticket, agent=actor)}


@router.post(
    "/tickets/{ticket_id}/canned-replies/{reply_id}",
    response={201: TicketMessageOut, **ERRORS},
    summary="Answer a ticket with a canned reply",
)
@idempotent(TicketMessageOut)
def apply_reply(request: HttpRequest, ticket_id: int, reply_id: int, payload: ApplyIn) -> TicketMessage:
    """Post the reply (rendered, or your edited `body`) and set the reply's status, priority and
    tags, all in one transaction. 404 for a ticket you cannot read or a reply you cannot use; 403
    for a ticket you may read but not change."""
    actor = _actor(request)
    reply = services.canned_reply_get(actor=actor, reply_id=reply_id)
    ticket = access_ticket(actor, ticket_id, mode=Mode.WRITE)
    return services.canned_reply_apply(actor=actor, ticket=ticket, reply=reply, body=payload.body)
