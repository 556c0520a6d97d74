"""API schemas of the core: ids, times, strict bodies and query parameters, the event log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict

from rapport.core.errors import ValidationFailed

# The largest primary key a database row can have; larger numbers are refused before any query.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("The date is out of range.") from None


# A moment with its time zone, as UTC: a time without a zone is ambiguous and refused (422).
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class StrictIn(Schema):
    """A request body that names an unknown key is refused (422 naming it), rather than answered
    200 with the key ignored: a client that misspells a field, or sends one that cannot be
    changed, learns it at once."""

    model_config = ConfigDict(extra="forbid")


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
    subject_id: Id | None = None
    actor_id: Id | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None


def refuse_unknown_params(request: HttpRequest, schema: type[Schema]) -> None:
    """422 naming the first query parameter that `schema` does not know (ninja would ignore it):
    a misspelt filter must not silently answer unfiltered figures."""
    known = {info.alias or name for name, info in schema.model_fields.items()}
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise ValidationFailed(
            "unknown_parameter", f"Unknown parameter “{unknown[0]}”: use {', '.join(sorted(known))}.", field=unknown[0]
        )
