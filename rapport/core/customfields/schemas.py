"""The typed `custom` object of API schemas: each value is one of the custom field types' shapes.

The exact fields of a workspace (names, types, options, required) are in its JSON Schema at
GET /api/v1/custom-fields/schema/{entity}; the OpenAPI document, shared by every workspace,
types the values.

The OpenAPI document shows the union of the shapes, but values are not validated against it
here: each field's own type is checked by the write services (`clean_custom`), which name the
field (`custom.<key>`) and say what it needs. Validating the union first would answer a wrong
value with one message per union member ("custom.score.bool: Input should be a valid boolean"…),
drop unknown keys of a money object silently, and refuse an empty object meant to clear a value.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import WithJsonSchema

_MONEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Money",
    "properties": {"amount": {"type": "number"}, "currency": {"type": "string", "minLength": 3, "maxLength": 3}},
    "required": ["amount", "currency"],
    "additionalProperties": False,
}
_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
        _MONEY_SCHEMA,
    ],
    "description": "A value of the field's type (see the workspace's JSON Schema).",
}

CustomValue = Annotated[Any, WithJsonSchema(_VALUE_SCHEMA)]
CustomIn = dict[str, Annotated[Any, WithJsonSchema({"anyOf": [_VALUE_SCHEMA, {"type": "null"}]})]]
CustomOut = dict[str, CustomValue]
