"""Custom fields API: definitions (admins write, every member reads) and each entity's JSON Schema.

(No `from __future__ import annotations` in API modules: ninja reads the real annotations.)
"""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from rapport.core.customfields import definitions as defs
from rapport.core.customfields.types import TYPES, FieldType
from rapport.core.errors import ValidationFailed
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.models import CustomField
from rapport.core.principal import Principal

router = Router(tags=["custom fields"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
TypeName = Literal[
    "text",
    "long_text",
    "number",
    "decimal",
    "date",
    "boolean",
    "choice",
    "multi_choice",
    "url",
    "email",
    "money",
]


class CustomFieldPatch(Schema):
    # A field's entity, key and type never change: sending one (or a misspelt name) is refused
    # rather than ignored, so a client never believes it changed something it did not.
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=100)
    help_text: str | None = Field(None, max_length=300)
    required: bool | None = None
    unique: bool | None = None
    default: Any = Field(None, description="A value of the field's type; null for none.")
    options: list[str] | None = Field(None, max_length=200, description="The choices of a (multiple) choice field.")
    position: int | None = Field(None, ge=0, le=10000)


class CustomFieldIn(CustomFieldPatch):
    model_config = ConfigDict(extra="ignore")

    entity: str = Field(..., max_length=30, description="contact, company or deal (the registered entities)")
    label: str = Field(..., min_length=1, max_length=100)
    type: TypeName
    key: str | None = Field(
        None, max_length=40, description="Stable name in the API and filters; derived from the label if omitted."
    )


class CustomFieldOut(Schema):
    id: int
    entity: str
    key: str
    label: str
    type: str
    help_text: str
    required: bool
    unique: bool
    default: Any
    options: list[str]
    position: int
    version: int
    created_at: datetime
    updated_at: datetime


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def _entity(entity: str) -> str:
    if entity not in defs.ENTITIES:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(sorted(defs.ENTITIES))}.", field="entity")
    return entity


@router.get("/custom-fields", response={200: list[CustomFieldOut], **ERRORS}, summary="List custom fields")
def list_fields(request: HttpRequest, entity: str | None = None) -> Any:
    return list(defs.custom_field_list(actor=_actor(request), entity=_entity(entity) if entity else None))


@router.post("/custom-fields", response={201: CustomFieldOut, **ERRORS}, summary="Add a custom field (admins)")
@idempotent(CustomFieldOut)
def create_field(request: HttpRequest, payload: CustomFieldIn) -> CustomField:
    return defs.custom_field_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/custom-fields/{field_id}", response={200: CustomFieldOut, **ERRORS}, summary="Get a custom field")
def get_field(request: HttpRequest, response: HttpResponse, field_id: int) -> CustomField:
    field = defs.custom_field_get(actor=_actor(request), field_id=field_id)
    with_etag(response, field)
    return field


@router.patch(
    "/custom-fields/{field_id}",
    response={200: CustomFieldOut, **ERRORS},
    summary="Rename or change a custom field (admins; its key and type never change)",
)
def update_field(request: HttpRequest, response: HttpResponse, field_id: int, payload: CustomFieldPatch) -> CustomField:
    actor = _actor(request)
    field = defs.custom_field_get(actor=actor, field_id=field_id)
    field = defs.custom_field_update(
        actor=actor, field=field, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, field)
    return field


@router.delete(
    "/custom-fields/{field_id}",
    response={204: None, **ERRORS},
    summary="Delete a custom field and its values (admins; send its key as confirm)",
)
def delete_field(request: HttpRequest, field_id: int, confirm: str = Query("", max_length=100)) -> Status[None]:
    actor = _actor(request)
    field = defs.custom_field_get(actor=actor, field_id=field_id)
    defs.custom_field_delete(actor=actor, field=field, confirm=confirm)
    return Status(204, None)


@router.get(
    "/custom-fields/schema/{entity}",
    response={200: dict[str, Any], **ERRORS},
    summary="The JSON Schema of an entity's `custom` object in this workspace",
)
def custom_schema(request: HttpRequest, entity: str) -> dict[str, Any]:
    fields = defs.custom_field_list(actor=_actor(request), entity=_entity(entity))
    properties = {}
    for field in fields:
        schema = dict(TYPES[FieldType(field.type)].json_schema)
        if field.options and field.type == FieldType.CHOICE:
            schema["enum"] = list(field.options)
        if field.options and field.type == FieldType.MULTI_CHOICE:
            schema["items"] = {"type": "string", "enum": list(field.options)}
        properties[field.key] = {"title": field.label, "description": field.help_text, **schema}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"custom ({entity})",
        "type": "object",
        "properties": properties,
        "required": [f.key for f in fields if f.required],
        "additionalProperties": False,
    }
