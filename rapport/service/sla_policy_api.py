"""SLA policies API. (No `from __future__ import annotations` in API modules.)

Everyone who reads tickets reads the policies, in the order they are tried; roles with the
manage-settings permission change them (PATCH needs the policy's ETag in If-Match) and set their
order with POST /sla-policies/order. Targets are minutes of business time (of clock time when
`business_hours` is false).
"""

from datetime import datetime

from ninja import Field, Router, Schema

from rapport.contacts.schemas import Ref
from rapport.core.schemas import Id, StrictIn
from rapport.service import config_selectors as selectors
from rapport.service import sla_policy_services as services
from rapport.service.ordered_api import Schemas, Words, add_ordered_routes

router = Router(tags=["service settings"])
# The six endpoints are written once for routing rules and SLA policies (rapport.service.ordered_api).
WORDS = Words("/sla-policies", "policy", "policies", "an SLA policy", "SLA policies")
LIST_DOC = "In the order they are tried (the first active match applies)."
MINUTES = Field(None, description="Minutes (business time unless business_hours is false); null: no target")


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


SCHEMAS = Schemas(PolicyOut, PolicyIn, PolicyPatch, PolicyOrderIn)
add_ordered_routes(router, WORDS, SCHEMAS, services.POLICIES, selectors.sla_policy_list, doc=LIST_DOC, module=__name__)
