"""SLA policies API. (No `from __future__ import annotations` in API modules.)

Everyone who reads tickets reads the policies, in the order they are tried; roles with the
manage-settings permission change them (PATCH needs the policy's ETag in If-Match) and set their
order with POST /sla-policies/order. Targets are minutes of business time (of clock time when
`business_hours` is false).
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.contacts.schemas import Ref
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn
from rapport.service import config_selectors as selectors
from rapport.service import sla_policy_services as services
from rapport.service.models import SlaPolicy
from rapport.service.queue_api import ERRORS, ListParams

router = Router(tags=["service settings"])
MINUTES = Field(None, description="Minutes (business time unless business_hours is false); null: no target")


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class PolicyPatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    active: bool | None = None
    priorities: list[str] | None = Field(None, max_length=10, description="low, normal, high, urgent; empty: any")
    tiers: list[str] | None = Field(
        None, max_length=10, description="The company's support tier: standard, premium, enterprise; empty: any"
    )
    tags: list[str] | None = Field(
        None, max_length=50, description="The requester's or company's tags (any); empty: any"
    )
    first_response_minutes: int | None = MINUTES
    next_response_minutes: int | None = MINUTES
    resolution_minutes: int | None = MINUTES
    business_hours: bool | None = Field(None, description="Count targets in the workspace's business hours")
    warn_before_minutes: int | None = Field(None, description="Warn the assignee this long before a due time")
    notify_on_breach: bool | None = Field(None, description="Notify the assignee and the queue's manager on a breach")
    raise_priority: bool | None = Field(None, description="Raise the priority one step on a breach")
    escalate_to_queue_id: Id | None = Field(None, description="Move a breached ticket to this queue")


class PolicyIn(PolicyPatch):
    name: str = Field(..., max_length=100)


class PolicyOrderIn(StrictIn):
    policy_ids: list[Id] = Field(..., max_length=1000, description="Every policy once, in the new order")


class PolicyOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    priorities: list[str]
    tiers: list[str]
    tags: list[str]
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    business_hours: bool
    warn_before_minutes: int
    notify_on_breach: bool
    raise_priority: bool
    escalate_to_queue: Ref | None
    version: int
    created_at: datetime
    updated_at: datetime


class PolicyListOut(Schema):
    items: list[PolicyOut]


@router.get("/sla-policies", response={200: PageOut[PolicyOut], **ERRORS}, summary="List SLA policies")
def list_policies(request: HttpRequest, params: Query[ListParams]) -> Any:
    """In the order they are tried (the first active match applies)."""
    qs = selectors.sla_policy_list(actor=_actor(request))
    return paginate(qs, cursor=params.cursor, limit=params.limit, ordering=selectors.ORDERED)


@router.post("/sla-policies", response={201: PolicyOut, **ERRORS}, summary="Add an SLA policy (last)")
@idempotent(PolicyOut)
def create_policy(request: HttpRequest, payload: PolicyIn) -> SlaPolicy:
    actor = _actor(request)
    policy = services.sla_policy_create(actor=actor, data=payload.dict(exclude_unset=True))
    return selectors.sla_policy_get(actor=actor, policy_id=policy.pk)


@router.post("/sla-policies/order", response={200: PolicyListOut, **ERRORS}, summary="Put the policies in a new order")
def reorder_policies(request: HttpRequest, payload: PolicyOrderIn) -> Any:
    actor = _actor(request)
    services.sla_policies_reorder(actor=actor, policy_ids=payload.policy_ids)
    return {"items": list(selectors.sla_policy_list(actor=actor).order_by(*selectors.ORDERED))}


@router.get("/sla-policies/{policy_id}", response={200: PolicyOut, **ERRORS}, summary="Get an SLA policy")
def get_policy(request: HttpRequest, response: HttpResponse, policy_id: int) -> SlaPolicy:
    policy = selectors.sla_policy_get(actor=_actor(request), policy_id=policy_id)
    with_etag(response, policy)
    return policy


@router.patch("/sla-policies/{policy_id}", response={200: PolicyOut, **ERRORS}, summary="Change an SLA policy")
def update_policy(request: HttpRequest, response: HttpResponse, policy_id: int, payload: PolicyPatch) -> SlaPolicy:
    actor = _actor(request)
    policy = selectors.sla_policy_get(actor=actor, policy_id=policy_id)
    services.sla_policy_update(
        actor=actor, policy=policy, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    policy = selectors.sla_policy_get(actor=actor, policy_id=policy_id)
    with_etag(response, policy)
    return policy


@router.delete("/sla-policies/{policy_id}", response={204: None, **ERRORS}, summary="Delete an SLA policy")
def delete_policy(request: HttpRequest, policy_id: int) -> Status[None]:
    actor = _actor(request)
    services.sla_policy_delete(actor=actor, policy=selectors.sla_policy_get(actor=actor, policy_id=policy_id))
    return Status(204, None)
