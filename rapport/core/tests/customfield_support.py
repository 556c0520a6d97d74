"""Shared helpers of the custom field definition tests."""

from typing import Any

from rapport.contacts.models import Company, Contact
from rapport.core.customfields import definitions as defs
from rapport.core.models import CustomField, Event
from rapport.core.principal import Principal

URL = "/api/v1/custom-fields"

# type → (extra definition fields, a valid value as sent, its stored form)
TYPES: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "text": ({}, "  Gold member ", "Gold member"),
    "long_text": ({}, "line one\r\nline two", "line one\nline two"),
    "number": ({}, "42", 42),
    "decimal": ({}, "12.50", 12.5),
    "date": ({}, "2024-02-29", "2024-02-29"),
    "boolean": ({}, "yes", True),
    "choice": ({"options": ["Bronze", "Silver", "Gold"]}, "gold", "Gold"),
    "multi_choice": ({"options": ["Red", "Green", "Blue"]}, ["blue", "Red"], ["Red", "Blue"]),
    "url": ({}, "example.org/x", "https://example.org/x"),
    "email": ({}, "Jo@Example.ORG", "jo@example.org"),
    "money": ({}, {"amount": "12.5", "currency": "eur"}, {"amount": 12.5, "currency": "EUR"}),
}


def define(actor: Principal, type_: str = "text", label: str = "Tier", entity: str = "contact", **data: Any) -> Any:
    """A custom field made through the service (as the settings page and the API do)."""
    extra = dict(TYPES[type_][0])
    extra.update(data)
    return defs.custom_field_create(actor=actor, data={"entity": entity, "label": label, "type": type_, **extra})


def definitions() -> list[dict[str, Any]]:
    """Every definition row as it is stored (deleted ones too)."""
    return [dict(row) for row in CustomField.objects.order_by("id").values()]


def records() -> list[tuple[str, int, int, dict[str, Any]]]:
    """Every contact's and company's custom values and version."""
    contacts = [("contact", c.pk, c.version, c.custom) for c in Contact.objects.order_by("id")]
    companies = [("company", c.pk, c.version, c.custom) for c in Company.objects.order_by("id")]
    return contacts + companies


def state() -> tuple[Any, ...]:
    return definitions(), records(), Event.objects.exclude(verb__startswith="token.").count()


def detail(field: CustomField) -> str:
    return f"{URL}/{field.pk}"
