"""API schemas of tickets. (No `from __future__ import annotations`: ninja reads the annotations.)"""

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from rapport.contacts.schemas import Ref, UserRef
from rapport.core.pagination import DEFAULT_LIMIT
from rapport.core.schemas import Id, StrictIn
from rapport.service.models import Channel, LinkKind, TicketPriority, TicketStatus, TicketType

Tags = Field(None, max_length=30, description="Free labels (each at most 50 characters)")


def _user(user: Any) -> dict[str, Any] | None:
    return {"id": user.pk, "name": user.display_name, "email": user.email} if user is not None else None


class TicketPatch(StrictIn):
    """The fields a PATCH may change. The status may also change here (same rules as
    POST /tickets/{id}/status); the assignee and queue as POST /tickets/{id}/assign."""

    subject: str | None = Field(None, max_length=250)
    description: str | None = Field(None, max_length=200_000)
    contact_id: Id | None = Field(None, description="The requester (a contact)")
    company_id: Id | None = Field(None, description="Default: the requester's company")
    requester_email: str | None = Field(None, max_length=254, description="Where public replies are sent")
    priority: TicketPriority | None = None
    type: TicketType | None = None
    status: TicketStatus | None = None
    queue_id: Id | None = None
    assignee_id: Id | None = Field(None, description="A member whose role works on tickets")
    tags: list[str] | None = Tags
    custom: dict[str, Any] | None = None
    external_id: str | None = Field(None, max_length=100, description="The ticket's id in the source system")


class TicketIn(TicketPatch):
    """A new ticket. The requester is `contact_id`, or found (or created) by `requester_email` and
    `requester_name`. Without `queue_id` the routing rules place it."""

    subject: str = Field(..., max_length=250)
    requester_name: str | None = Field(None, max_length=200, description="Names a new contact made for the email")
    channel: Channel = Field(Channel.API, description="Where the request came from (chat and phone systems)")


class TicketReplyIn(StrictIn):
    body: str = Field(..., min_length=1, max_length=200_000)
    status: TicketStatus | None = Field(None, description="Move the ticket to this status with the reply")


class TicketNoteIn(StrictIn):
    body: str = Field(..., min_length=1, max_length=200_000)


class TicketStatusIn(StrictIn):
    status: TicketStatus


class TicketAssignIn(StrictIn):
    assignee_id: Id | None = Field(None, description="null: nobody")
    queue_id: Id | None = Field(None, description="Move to this queue (null: no queue); leave out to keep it")
    auto: bool = Field(False, description="With no assignee: let the queue assign (round robin / least open)")


class TicketLinkIn(StrictIn):
    other_id: Id
    kind: LinkKind = LinkKind.RELATED


class TicketUnlinkParams(Schema):
    other_id: Id


class TicketLinkOut(Schema):
    kind: str
    ticket: Ref

    @staticmethod
    def resolve_ticket(obj: Any) -> dict[str, Any]:
        other = obj[1]
        return {"id": other.pk, "name": f"#{other.number} {other.subject}"}

    @staticmethod
    def resolve_kind(obj: Any) -> str:
        return str(obj[0])


class TicketOut(Schema):
    id: int
    number: int
    subject: str
    description: str
    contact: Ref | None
    company: Ref | None
    requester_email: str
    channel: str
    status: str
    priority: str
    type: str
    queue: Ref | None
    assignee: UserRef | None
    team: Ref | None
    tags: list[str]
    custom: dict[str, Any]
    external_id: str
    sla_policy_id: int | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_paused_at: datetime | None
    last_customer_message_at: datetime | None
    last_agent_reply_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.contact.pk, "name": str(obj.contact)} if obj.contact_id else None

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.company.pk, "name": obj.company.name} if obj.company_id else None

    @staticmethod
    def resolve_queue(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.queue.pk, "name": obj.queue.name} if obj.queue_id else None

    @staticmethod
    def resolve_team(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.team.pk, "name": obj.team.name} if obj.team_id else None

    @staticmethod
    def resolve_assignee(obj: Any) -> dict[str, Any] | None:
        return _user(obj.owner) if obj.owner_id else None


class TicketMessageOut(Schema):
    id: int
    ticket_id: int
    kind: str = Field(..., description="customer, reply (public, emailed) or note (internal)")
    author: UserRef | None
    contact: Ref | None
    body: str
    channel: str
    created_at: datetime
    email_from: str
    email_to: list[str]
    send_status: str = Field(..., description="For replies: queued, sent or failed (empty when not emailed)")
    sent_at: datetime | None

    @staticmethod
    def resolve_author(obj: Any) -> dict[str, Any] | None:
        return _user(obj.author) if obj.author_id else None

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.contact.pk, "name": str(obj.contact)} if obj.contact_id else None


class TicketListParams(Schema):
    status: str | None = Field(None, max_length=10, description="A status, or “unsolved”")
    priority: TicketPriority | None = None
    type: TicketType | None = None
    queue_id: Id | None = None
    assignee: str | None = Field(None, max_length=20, description="“me”, “none” or a user id")
    channel: Channel | None = None
    tag: str | None = Field(None, max_length=50)
    contact_id: Id | None = None
    company_id: Id | None = None
    q: str | None = Field(None, max_length=200, description="Number, subject, requester or customer name")
    sla_breached: bool | None = Field(None, description="Only unsolved tickets with an overdue SLA target")
    sort: str | None = Field(None, max_length=20, description="-created (default), created, -updated, -number, …")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT
