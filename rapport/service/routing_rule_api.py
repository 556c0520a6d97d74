"""Routing rules API. (No `from __future__ import annotations` in API modules.)

Everyone who reads tickets reads the rules, in the order they are tried; roles with the
manage-settings permission change them (PATCH needs the rule's ETag in If-Match) and set their
order with POST /routing-rules/order.
"""

from datetime import datetime

from ninja import Field, Router, Schema

from rapport.contacts.schemas import Ref
from rapport.core.schemas import Id, StrictIn
from rapport.service import config_selectors as selectors
from rapport.service import routing_rule_services as services
from rapport.service.ordered_api import Schemas, Words, add_ordered_routes

router = Router(tags=["service settings"])
# The six endpoints are written once for routing rules and SLA policies (rapport.service.ordered_api).
WORDS = Words("/routing-rules", "rule", "rules", "a routing rule", "routing rules")
LIST_DOC = "In the order they are tried (the first active match wins)."


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


SCHEMAS = Schemas(RuleOut, RuleIn, RulePatch, RuleOrderIn)
add_ordered_routes(router, WORDS, SCHEMAS, services.RULES, selectors.routing_rule_list, doc=LIST_DOC, module=__name__)
