"""API schemas of the core: the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class EventOut(Schema):
    id: int
    verb: str
    subject_type: str
    subject_id: int
    actor_id: int | None
    actor_email: str | None = None
    changes: dict[str, Any]
    request_id: str
    created_at: datetime

    @staticmethod
    def resolve_actor_email(obj: Any) -> str | None:
        return obj.actor.email if obj.actor_id else None


class EventFilter(Schema):
    verb: str | None = Field(None, max_length=80, description="Exact verb, or a prefix ending in '.*'.")
    subject_type: str | None = Field(None, max_length=60)
    subject_id: int | None = None
    actor_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
