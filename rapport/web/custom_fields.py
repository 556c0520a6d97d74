"""Custom fields in the web forms: one Django form field per definition, with the widget its type needs.

A record form names a custom field's input `cf_<key>` (services name it `custom.<key>` in their
errors: `form_name` translates). The form only shapes the input (text, a list of options,
{"amount", "currency"}); the services' per-type clean functions decide what is valid, so pages,
the API and imports accept and refuse the same values. Values are shown with `types.display`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms

from rapport.core.customfields.types import MAX_LONG_TEXT, MAX_TEXT, FieldType, display, is_empty
from rapport.core.customfields.values import PREFIX
from rapport.core.models import CustomField

FORM_PREFIX = "cf_"
BOOLEAN_CHOICES = [("", "—"), ("true", "Yes"), ("false", "No")]


def form_name(service_name: str) -> str:
    """`custom.<key>` (a service's error field) → `cf_<key>` (the form field); other names unchanged."""
    return FORM_PREFIX + service_name.removeprefix(PREFIX) if service_name.startswith(PREFIX) else service_name


class MoneyWidget(forms.MultiWidget):
    """An amount and its currency side by side."""

    template_name = "web/widgets/money.html"

    def __init__(self, attrs: dict[str, Any] | None = None, label: str = "Amount") -> None:
        widgets = (
            forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "aria-label": f"{label}: amount"}),
            forms.TextInput(
                attrs={
                    "maxlength": "3",
                    "size": "4",
                    "placeholder": "EUR",
                    "autocomplete": "off",
                    "class": "currency",
                    "aria-label": f"{label}: currency",
                }
            ),
        )
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, Mapping):
            return [value.get("amount"), value.get("currency")]
        return [None, None]


class MoneyField(forms.MultiValueField):
    """{"amount": text, "currency": text}, or None when both are empty (the service checks them)."""

    def __init__(self, **kwargs: Any) -> None:
        label = kwargs.get("label") or "Amount"
        fields = (forms.CharField(required=False, max_length=30), forms.CharField(required=False, max_length=10))
        super().__init__(fields, require_all_fields=False, widget=MoneyWidget(label=label), **kwargs)

    def compress(self, data_list: list[Any]) -> dict[str, Any] | None:
        amount, currency = [*data_list, "", ""][:2]
        if not amount and not currency:
            return None
        return {"amount": amount or "", "currency": (currency or "").upper()}


def form_field(definition: CustomField, *, required: bool | None = None) -> forms.Field:
    """The form field of one custom field (its label, help and required mark come from the definition)."""
    kind = FieldType(definition.type)
    is_required = definition.required if required is None else required
    common: dict[str, Any] = {"label": definition.label, "help_text": definition.help_text, "required": is_required}
    field: forms.Field
    if kind == FieldType.LONG_TEXT:
        field = forms.CharField(max_length=MAX_LONG_TEXT, widget=forms.Textarea(attrs={"rows": 3}), **common)
    elif kind == FieldType.NUMBER:
        field = forms.CharField(max_length=30, widget=forms.NumberInput(attrs={"step": "1"}), **common)
    elif kind == FieldType.DECIMAL:
        field = forms.CharField(
            max_length=40, widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}), **common
        )
    elif kind == FieldType.DATE:
        field = forms.CharField(max_length=10, widget=forms.DateInput(attrs={"type": "date"}), **common)
    elif kind == FieldType.BOOLEAN:
        field = forms.ChoiceField(choices=BOOLEAN_CHOICES, **common)
    elif kind == FieldType.CHOICE:
        field = forms.ChoiceField(choices=[("", "—"), *[(o, o) for o in definition.options]], **common)
    elif kind == FieldType.MULTI_CHOICE:
        field = forms.MultipleChoiceField(
            choices=[(o, o) for o in definition.options], widget=forms.CheckboxSelectMultiple, **common
        )
    elif kind == FieldType.URL:
        field = forms.CharField(max_length=MAX_TEXT, widget=forms.URLInput, **common)
    elif kind == FieldType.EMAIL:
        field = forms.CharField(max_length=320, widget=forms.EmailInput, **common)
    elif kind == FieldType.MONEY:
        field = MoneyField(**common)
    else:
        field = forms.CharField(max_length=MAX_TEXT, **common)
    setattr(field, "mark_required", is_required)  # noqa: B010  (read by web/_field.html)
    return field


def add_fields(form: forms.BaseForm, definitions: Iterable[CustomField], *, for_create: bool = False) -> None:
    """Add one field per definition to `form` (named `cf_<key>`); on create, defaults are the initial values."""
    for definition in definitions:
        name = FORM_PREFIX + definition.key
        form.fields[name] = form_field(definition)
        if for_create and not is_empty(definition.default) and name not in form.initial:
            form.initial[name] = initial_value(definition.type, definition.default)


def initial_value(field_type: str, value: Any) -> Any:
    """A stored value as the form field shows it."""
    if is_empty(value):
        return None
    if field_type == FieldType.BOOLEAN:
        return "true" if value else "false"
    if field_type in {FieldType.MULTI_CHOICE, FieldType.MONEY}:
        return value
    return str(value)


def initial(definitions: Iterable[CustomField], custom: Mapping[str, Any] | None) -> dict[str, Any]:
    """The form's initial values of a record's custom fields."""
    values = custom or {}
    return {FORM_PREFIX + d.key: initial_value(d.type, values.get(d.key)) for d in definitions if d.key in values}


def to_custom(
    definitions: Iterable[CustomField], cleaned_data: Mapping[str, Any], *, skip_empty: bool = False
) -> dict[str, Any]:
    """The services' `custom` input from a valid form: {key: value}, None to clear (or left out with skip_empty)."""
    result: dict[str, Any] = {}
    for definition in definitions:
        name = FORM_PREFIX + definition.key
        if name not in cleaned_data:
            continue
        value = cleaned_data[name]
        if definition.type == FieldType.BOOLEAN and value in {"true", "false"}:
            value = value == "true"
        if is_empty(value):
            if skip_empty:
                continue
            value = None
        result[definition.key] = value
    return result


def shown_values(definitions: Iterable[CustomField], custom: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """(label, shown value, type, help) of each field of a record, for its read-only section."""
    values = custom or {}
    return [
        {
            "key": d.key,
            "label": d.label,
            "type": d.type,
            "value": display(d.type, values.get(d.key)),
            "help": d.help_text,
        }
        for d in definitions
    ]
