"""Queues and agents API. (No `from __future__ import annotations` in API modules.)

Everyone who reads tickets reads the queues and the agents' away status; roles with the
manage-settings permission change queues (PATCH needs the queue's ETag in If-Match) and anyone's
away status; a member sets their own with PUT /queues/agents/{their user id}/away.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.models import User
from rapport.contacts.schemas import Ref, UserRef
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn, UtcDatetime
from rapport.service import config_selectors as selectors
from rapport.service import queue_services as services
from rapport.service.models import Queue

router = Router(tags=["service settings"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
ASSIGNMENT = Field(None, max_length=12, description="round_robin, least_open or manual")


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def user_ref(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "name": user.display_name, "email": user.email} if user else None


class QueuePatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=300)
    team_id: Id | None = Field(None, description="The team that owns the queue's tickets")
    manager_id: Id | None = Field(None, description="A member told about SLA breaches of the queue's tickets")
    assignment: str | None = ASSIGNMENT
    is_default: bool | None = Field(None, description="true makes this the default queue (the old one is unset)")
    member_ids: list[Id] | None = Field(None, max_length=500, description="User ids of the agents (replaces them)")


class QueueIn(QueuePatch):
    name: str = Field(..., max_length=100)


class QueueOut(Schema):
    id: int
    name: str
    description: str
    team: Ref | None
    manager: UserRef | None
    assignment: str
    is_default: bool
    members: list[UserRef]
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_manager(obj: Queue) -> dict[str, Any] | None:
        return user_ref(obj.manager)

    @staticmethod
    def resolve_members(obj: Queue) -> list[dict[str, Any]]:
        return [user_ref(m.user) for m in obj.memberships.all()]  # type: ignore[misc]


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


class AwayIn(StrictIn):
    away: bool
    away_until: UtcDatetime | None = Field(None, description="When the agent is back (automatic assignment resumes)")


class AgentOut(Schema):
    user_id: int
    name: str
    email: str
    role: str
    away: bool
    away_until: datetime | None

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.user.display_name

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return obj.user.email

    @staticmethod
    def resolve_away(obj: Any) -> bool:
        return bool(obj.away)


# Agents first: "/queues/agents" must not be taken for "/queues/{queue_id}".
@router.get("/queues/agents", response={200: PageOut[AgentOut], **ERRORS}, summary="List agents and who is away")
def list_agents(request: HttpRequest, params: Query[ListParams]) -> Any:
    """Active members whose role works on tickets, with their away status."""
    qs = selectors.agent_list(actor=_actor(request))
    return paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("id",))


@router.put("/queues/agents/{user_id}/away", response={200: AgentOut, **ERRORS}, summary="Set an agent away or back")
def set_away(request: HttpRequest, user_id: int, payload: AwayIn) -> Any:
    """Automatic assignment skips an agent who is away (until `away_until`, when given)."""
    actor = _actor(request)
    services.agent_set_away(actor=actor, user_id=user_id, data=payload.dict())
    return next(a for a in selectors.agent_list(actor=actor).filter(user_id=user_id))


@router.get("/queues", response={200: PageOut[QueueOut], **ERRORS}, summary="List queues")
def list_queues(request: HttpRequest, params: Query[ListParams]) -> Any:
    """By name, each with its team, manager and members."""
    qs = selectors.queue_list(actor=_actor(request))
    return paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("name", "id"))


@router.post("/queues", response={201: QueueOut, **ERRORS}, summary="Create a queue")
@idempotent(QueueOut)
def create_queue(request: HttpRequest, payload: QueueIn) -> Queue:
    """The workspace's first queue becomes its default."""
    actor = _actor(request)
    queue = services.queue_create(actor=actor, data=payload.dict(exclude_unset=True))
    return selectors.queue_get(actor=actor, queue_id=queue.pk)


@router.get("/queues/{queue_id}", response={200: QueueOut, **ERRORS}, summary="Get a queue")
def get_queue(request: HttpRequest, response: HttpResponse, queue_id: int) -> Queue:
    queue = selectors.queue_get(actor=_actor(request), queue_id=queue_id)
    with_etag(response, queue)
    return queue


@router.patch("/queues/{queue_id}", response={200: QueueOut, **ERRORS}, summary="Change a queue")
def update_queue(request: HttpRequest, response: HttpResponse, queue_id: int, payload: QueuePatch) -> Queue:
    """`member_ids` replaces the members; `is_default: true` makes it the default queue."""
    actor = _actor(request)
    queue = selectors.queue_get(actor=actor, queue_id=queue_id)
    services.queue_update(
        actor=actor, queue=queue, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    queue = selectors.queue_get(actor=actor, queue_id=queue_id)
    with_etag(response, queue)
    return queue


@router.delete("/queues/{queue_id}", response={204: None, **ERRORS}, summary="Delete a queue")
def delete_queue(request: HttpRequest, queue_id: int) -> Status[None]:
    """Refused (409) for the default queue. Unsolved tickets move to the default queue; the routing
    rules that sent tickets here are deleted."""
    actor = _actor(request)
    services.queue_delete(actor=actor, queue=selectors.queue_get(actor=actor, queue_id=queue_id))
    return Status(204, None)
