"""The types a custom field can have: how a value is checked, stored, filtered, sorted and shown.

Stored forms (inside the record's `custom` JSON object; an empty value is never stored, its key
is absent):

| type         | stored as                                   |
|--------------|---------------------------------------------|
| text, long_text, url, email, choice | a string                |
| number       | an integer                                  |
| decimal      | a number (at most 15 significant digits, so it round-trips exactly) |
| date         | "YYYY-MM-DD"                                |
| boolean      | true / false                                |
| multi_choice | a list of option strings, in the options' order |
| money        | {"amount": number, "currency": "EUR"}       |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.utils.dateparse import parse_date

from rapport.core import normalize
from rapport.core.errors import ValidationFailed

MAX_TEXT = 500
MAX_LONG_TEXT = 10000
MAX_DIGITS = 15
MAX_INT = 2**53  # integers beyond this do not survive a JSON number in every client


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    URL = "url"
    EMAIL = "email"
    MONEY = "money"

    @property
    def label(self) -> str:
        return TYPE_LABELS[self]


TYPE_LABELS = {
    FieldType.TEXT: "Text",
    FieldType.LONG_TEXT: "Long text",
    FieldType.NUMBER: "Whole number",
    FieldType.DECIMAL: "Decimal number",
    FieldType.DATE: "Date",
    FieldType.BOOLEAN: "Yes / no",
    FieldType.CHOICE: "Single choice",
    FieldType.MULTI_CHOICE: "Multiple choice",
    FieldType.URL: "Web address (URL)",
    FieldType.EMAIL: "Email address",
    FieldType.MONEY: "Money (amount and currency)",
}
CHOICE_TYPES = {FieldType.CHOICE, FieldType.MULTI_CHOICE}
TEXT_TYPES = {FieldType.TEXT, FieldType.LONG_TEXT, FieldType.URL, FieldType.EMAIL}


def _fail(field: str, message: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(code, message, field=field)


def _string(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise _fail(field, "Enter text.", "invalid_type")
    if "\x00" in value:
        raise _fail(field, "Text may not contain NUL characters.")
    value = value.strip()
    if len(value) > max_length:
        raise _fail(field, f"At most {max_length} characters.", "too_long")
    return value


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _fail(field, "Enter a number such as 12.5.", "invalid_type")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _fail(field, "Enter a number such as 12.5.") from None
    if not number.is_finite():
        raise _fail(field, "Enter a finite number.")
    if len(number.normalize().as_tuple().digits) > MAX_DIGITS or abs(number) >= Decimal(10) ** MAX_DIGITS:
        raise _fail(field, f"Enter a number of at most {MAX_DIGITS} significant digits.")
    return number


def _to_json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def clean_text(value: Any, field: str, spec: Any) -> str:
    return _string(value, field, MAX_TEXT)


def clean_long_text(value: Any, field: str, spec: Any) -> str:
    if isinstance(value, str):
        value = value.replace("\r\n", "\n")
    return _string(value, field, MAX_LONG_TEXT)


def clean_number(value: Any, field: str, spec: Any) -> int:
    if isinstance(value, bool):
        raise _fail(field, "Enter a whole number.", "invalid_type")
    number = _decimal(value, field)
    if number != number.to_integral_value():
        raise _fail(field, "Enter a whole number.")
    if abs(number) > MAX_INT:
        raise _fail(field, f"Enter a whole number between -{MAX_INT} and {MAX_INT}.")
    return int(number)


def clean_decimal(value: Any, field: str, spec: Any) -> int | float:
    return _to_json_number(_decimal(value, field))


def clean_date(value: Any, field: str, spec: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        parsed = parse_date(value.strip()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise _fail(field, "Enter a date as YYYY-MM-DD.", "invalid_date")
    return parsed.isoformat()


def clean_boolean(value: Any, field: str, spec: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1", "false", "no", "0"}:
        return value.strip().lower() in {"true", "yes", "1"}
    raise _fail(field, "Enter true or false.", "invalid_type")


def _option(value: Any, field: str, options: list[str]) -> str:
    if not isinstance(value, str):
        raise _fail(field, "Choose one of the options.", "invalid_type")
    folded = value.strip().casefold()
    match = next((o for o in options if o.casefold() == folded), None)
    if match is None:
        shown = ", ".join(options[:20]) + (" …" if len(options) > 20 else "")
        raise _fail(field, f"'{value[:60]}' is not an option; choose from: {shown}.", "invalid_choice")
    return match


def clean_choice(value: Any, field: str, spec: Any) -> str:
    return _option(value, field, list(spec.options))


def clean_multi_choice(value: Any, field: str, spec: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list | tuple):
        raise _fail(field, "Give a list of options.", "invalid_type")
    chosen = {_option(v, field, list(spec.options)) for v in value}
    return [o for o in spec.options if o in chosen]


def clean_url(value: Any, field: str, spec: Any) -> str:
    return normalize.url(_string(value, field, MAX_TEXT), field=field)


def clean_email(value: Any, field: str, spec: Any) -> str:
    return normalize.email(_string(value, field, 320), field=field)


def clean_money(value: Any, field: str, spec: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"amount", "currency"} or "amount" not in value:
        raise _fail(field, 'Give money as {"amount": 12.5, "currency": "EUR"}.', "invalid_type")
    amount = _decimal(value["amount"], field)
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN):  # "12.500" is 12.5: fine
        raise _fail(field, "An amount has at most 2 decimal places.")
    currency = value.get("currency")
    if not currency or not isinstance(currency, str):
        raise _fail(field, "Give the amount's currency, such as EUR.")
    return {"amount": _to_json_number(amount), "currency": normalize.currency(currency, field=field)}


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass(frozen=True)
class TypeSpec:
    clean: Callable[[Any, str, Any], Any]
    json_schema: dict[str, Any]
    filter_kind: str  # a kind of rapport.core.filtering
    uniqueable: bool = True


_STRING = {"type": "string"}
TYPES: dict[FieldType, TypeSpec] = {
    FieldType.TEXT: TypeSpec(clean_text, {**_STRING, "maxLength": MAX_TEXT}, "text"),
    FieldType.LONG_TEXT: TypeSpec(clean_long_text, {**_STRING, "maxLength": MAX_LONG_TEXT}, "text", uniqueable=False),
    FieldType.NUMBER: TypeSpec(clean_number, {"type": "integer"}, "int"),
    FieldType.DECIMAL: TypeSpec(clean_decimal, {"type": "number"}, "decimal"),
    FieldType.DATE: TypeSpec(clean_date, {**_STRING, "format": "date"}, "date"),
    FieldType.BOOLEAN: TypeSpec(clean_boolean, {"type": "boolean"}, "bool", uniqueable=False),
    FieldType.CHOICE: TypeSpec(clean_choice, _STRING, "choice"),
    FieldType.MULTI_CHOICE: TypeSpec(
        clean_multi_choice, {"type": "array", "items": _STRING}, "multichoice", uniqueable=False
    ),
    FieldType.URL: TypeSpec(clean_url, {**_STRING, "format": "uri"}, "text"),
    FieldType.EMAIL: TypeSpec(clean_email, {**_STRING, "format": "email"}, "text"),
    FieldType.MONEY: TypeSpec(
        clean_money,
        {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "currency": {**_STRING, "pattern": "^[A-Z]{3}$"}},
            "required": ["amount", "currency"],
            "additionalProperties": False,
        },
        "decimal",
        uniqueable=False,
    ),
}


def display(field_type: str, value: Any) -> str:
    """A stored value as a person reads it (templates escape it)."""
    if is_empty(value):
        return ""
    if field_type == FieldType.BOOLEAN:
        return "Yes" if value else "No"
    if field_type == FieldType.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if field_type == FieldType.MONEY and isinstance(value, dict):
        return f"{Decimal(str(value.get('amount'))):,.2f} {value.get('currency', '')}".strip()
    if field_type == FieldType.DECIMAL:
        return f"{Decimal(str(value)):,f}"
    return str(value)
