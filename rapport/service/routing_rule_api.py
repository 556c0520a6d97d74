"""Routing rules API. (No `from __future__ import annotations` in API modules.)

Everyone who reads tickets reads the rules, in the order they are tried; roles with the
manage-settings permission change them (PATCH needs the rule's ETag in If-Match) and set their
order with POST /routing-rules/order.
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
from rapport.service import routing_rule_services as services
from rapport.service.models import RoutingRule
from rapport.service.queue_api import ERRORS, ListParams

router = Router(tags=["service settings"])


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class RulePatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    active: bool | None = None
    channels: list[str] | None = Field(None, max_length=10, description="email, web, phone, chat, api; empty: any")
    types: list[str] | None = Field(None, max_length=10, description="question, incident, problem, task; empty: any")
    priorities: list[str] | None = Field(None, max_length=10, description="low, normal, high, urgent; empty: any")
    tags: list[str] | None = Field(
        None, max_length=50, description="The requester's or company's tags (any); empty: any"
    )
    queue_id: Id | None = Field(None, description="Where matching tickets go")


class RuleIn(RulePatch):
    name: str = Field(..., max_length=100)
    queue_id: Id


class RuleOrderIn(StrictIn):
    rule_ids: list[Id] = Field(..., max_length=1000, description="Every rule once, in the new order")


class RuleOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    channels: list[str]
    types: list[str]
    priorities: list[str]
    tags: list[str]
    queue: Ref
    version: int
    created_at: datetime
    updated_at: datetime


class RuleListOut(Schema):
    items: list[RuleOut]


@router.get("/routing-rules", response={200: PageOut[RuleOut], **ERRORS}, summary="List routing rules")
def list_rules(request: HttpRequest, params: Query[ListParams]) -> Any:
    """In the order they are tried (the first active match wins)."""
    qs = selectors.routing_rule_list(actor=_actor(request))
    return paginate(qs, cursor=params.cursor, limit=params.limit, ordering=selectors.ORDERED)


@router.post("/routing-rules", response={201: RuleOut, **ERRORS}, summary="Add a routing rule (last)")
@idempotent(RuleOut)
def create_rule(request: HttpRequest, payload: RuleIn) -> RoutingRule:
    actor = _actor(request)
    rule = services.routing_rule_create(actor=actor, data=payload.dict(exclude_unset=True))
    return selectors.routing_rule_get(actor=actor, rule_id=rule.pk)


@router.post("/routing-rules/order", response={200: RuleListOut, **ERRORS}, summary="Put the rules in a new order")
def reorder_rules(request: HttpRequest, payload: RuleOrderIn) -> Any:
    actor = _actor(request)
    services.routing_rules_reorder(actor=actor, rule_ids=payload.rule_ids)
    return {"items": list(selectors.routing_rule_list(actor=actor).order_by(*selectors.ORDERED))}


@router.get("/routing-rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Get a routing rule")
def get_rule(request: HttpRequest, response: HttpResponse, rule_id: int) -> RoutingRule:
    rule = selectors.routing_rule_get(actor=_actor(request), rule_id=rule_id)
    with_etag(response, rule)
    return rule


@router.patch("/routing-rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Change a routing rule")
def update_rule(request: HttpRequest, response: HttpResponse, rule_id: int, payload: RulePatch) -> RoutingRule:
    actor = _actor(request)
    rule = selectors.routing_rule_get(actor=actor, rule_id=rule_id)
    services.routing_rule_update(
        actor=actor, rule=rule, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    rule = selectors.routing_rule_get(actor=actor, rule_id=rule_id)
    with_etag(response, rule)
    return rule


@router.delete("/routing-rules/{rule_id}", response={204: None, **ERRORS}, summary="Delete a routing rule")
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    actor = _actor(request)
    services.routing_rule_delete(actor=actor, rule=selectors.routing_rule_get(actor=actor, rule_id=rule_id))
    return Status(204, None)
