"""Settings → Custom fields: the workspace's fields per entity; add, edit and delete them (admins only).

Thin pages over `rapport.core.customfields.definitions`: the forms shape the input (options one
per line, a default typed as text), the services decide what is valid and their errors land on
the form's fields. A field's key and type never change, so the edit form shows them read-only.
Deleting asks for the field's key on a page of its own: the values go from every record.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from rapport.accounts.decorators import perm_required
from rapport.accounts.forms import ServiceErrorsMixin
from rapport.accounts.roles import Perm
from rapport.core.customfields import definitions as defs
from rapport.core.customfields.types import CHOICE_TYPES, TYPES, FieldType, is_empty
from rapport.core.errors import ApplicationError, NotFound, StaleVersion
from rapport.core.models import CustomField
from rapport.core.principal import Principal

DEFAULT_HELP = {
    FieldType.BOOLEAN: "yes or no.",
    FieldType.DATE: "A date as YYYY-MM-DD.",
    FieldType.MULTI_CHOICE: "Options separated by commas.",
    FieldType.MONEY: "An amount and its currency, such as 100 EUR.",
    FieldType.CHOICE: "One of the options.",
}


def _actor(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined]


def _entity_choices() -> list[tuple[str, str]]:
    return [(name, spec.label) for name, spec in defs.ENTITIES.items()]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _default_from_text(field_type: str, text: str) -> Any:
    """The default typed on the form as the service takes it (None for no default)."""
    text = text.strip()
    if not text:
        return None
    if field_type == FieldType.MONEY:
        parts = text.replace(",", "").split()
        amounts = [p for p in parts if not p.isalpha()]
        currencies = [p for p in parts if p.isalpha()]
        value: dict[str, Any] = {"amount": amounts[0] if len(amounts) == 1 else text}
        if len(currencies) == 1:
            value["currency"] = currencies[0].upper()
        return value
    return text


def _default_as_text(field: CustomField) -> str:
    value = field.default
    if is_empty(value):
        return ""
    if field.type == FieldType.BOOLEAN:
        return "yes" if value else "no"
    if field.type == FieldType.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if field.type == FieldType.MONEY and isinstance(value, dict):
        return f"{value.get('amount')} {value.get('currency', '')}".strip()
    return str(value)


class _DefinitionForm(ServiceErrorsMixin, forms.Form):
    label = forms.CharField(max_length=100, help_text="What people see; you can rename it later.")
    help_text = forms.CharField(
        label="Help text", max_length=300, required=False, help_text="Shown under the field on forms."
    )
    required = forms.BooleanField(required=False, label="Required: every record must have a value")
    unique = forms.BooleanField(required=False, label="Unique: no two records may share a value")
    default = forms.CharField(
        max_length=500,
        required=False,
        label="Default value",
        help_text="Given to new records that leave the field empty. For yes / no: yes or no; for a date: "
        "YYYY-MM-DD; for multiple choice: options separated by commas; for money: such as 100 EUR.",
    )
    options = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="For single and multiple choice fields: one option per line.",
    )

    def add_service_error(self, exc: ApplicationError) -> None:
        if isinstance(exc, StaleVersion):
            self.add_error(None, "Someone else changed this field since you opened this form — reload to see it.")
            return
        super().add_service_error(exc)


class CustomFieldCreateForm(_DefinitionForm):
    entity = forms.ChoiceField(label="Applies to")
    type = forms.ChoiceField(label="Type", help_text="Cannot be changed later.")
    key = forms.CharField(
        max_length=40,
        required=False,
        help_text="The name in the API, filters and imports (lower-case letters, digits and _); "
        "made from the label if left empty. Cannot be changed later.",
    )
    field_order = ["entity", "label", "type", "key", "help_text", "required", "unique", "default", "options"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = _entity_choices()  # type: ignore[attr-defined]
        self.fields["type"].choices = [(t.value, t.label) for t in FieldType]  # type: ignore[attr-defined]

    def to_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        data_out: dict[str, Any] = {
            "entity": data["entity"],
            "type": data["type"],
            "label": data["label"],
            "help_text": data["help_text"],
            "required": data["required"],
            "unique": data["unique"],
            "options": _lines(data["options"]),
        }
        if data["key"].strip():
            data_out["key"] = data["key"].strip()
        default = _default_from_text(data["type"], data["default"])
        if default is not None:
            data_out["default"] = default
        return data_out


class CustomFieldEditForm(_DefinitionForm):
    position = forms.IntegerField(
        min_value=0, max_value=10000, help_text="Fields are shown in increasing position (then in creation order)."
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    field_order = ["label", "help_text", "required", "unique", "default", "options", "position"]

    def __init__(self, *args: Any, field: CustomField, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definition = field
        kind = FieldType(field.type)
        if kind not in CHOICE_TYPES:
            del self.fields["options"]
        if not TYPES[kind].uniqueable:
            del self.fields["unique"]
        self.fields["default"].help_text = "Given to new records that leave the field empty. " + DEFAULT_HELP.get(
            kind, ""
        )
        if kind == FieldType.DATE:
            self.fields["default"].widget = forms.DateInput(attrs={"type": "date"})

    @staticmethod
    def initial_for(field: CustomField) -> dict[str, Any]:
        return {
            "label": field.label,
            "help_text": field.help_text,
            "required": field.required,
            "unique": field.unique,
            "default": _default_as_text(field),
            "options": "\n".join(field.options),
            "position": field.position,
            "version": field.version,
        }

    def to_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {name: data[name] for name in ("label", "help_text", "required", "position")}
        if "unique" in self.fields:
            out["unique"] = data["unique"]
        if "options" in self.fields:
            out["options"] = _lines(data["options"])
        out["default"] = _default_from_text(self.definition.type, data["default"])
        return out


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "web/not_found.html", status=404)


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def custom_fields_view(request: HttpRequest) -> HttpResponse:
    fields = list(defs.custom_field_list(actor=_actor(request)))
    groups = [
        {
            "entity": name,
            "label": spec.label,
            "fields": [
                {"field": f, "type_label": FieldType(f.type).label, "default": _default_as_text(f)}
                for f in fields
                if f.entity == name
            ],
        }
        for name, spec in defs.ENTITIES.items()
    ]
    return render(request, "accounts/settings/custom_fields.html", {"groups": groups, "section": "custom_fields"})


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def custom_field_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    entity = request.GET.get("entity")
    initial = {"entity": entity if entity in defs.ENTITIES else next(iter(defs.ENTITIES), "")}
    form = CustomFieldCreateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                field = defs.custom_field_create(actor=actor, data=form.to_data())
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                label = defs.ENTITIES[field.entity].label.lower()
                messages.success(request, f"The field “{field.label}” was added to {label}.")
                return redirect("accounts:custom_fields")
        else:
            status = 400
    return render(
        request, "accounts/settings/custom_field_new.html", {"form": form, "section": "custom_fields"}, status=status
    )


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def custom_field_edit_view(request: HttpRequest, field_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        field = defs.custom_field_get(actor=actor, field_id=field_id)
    except NotFound:
        return _not_found(request)
    form = CustomFieldEditForm(request.POST or None, field=field, initial=CustomFieldEditForm.initial_for(field))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = defs.custom_field_update(
                    actor=actor, field=field, data=form.to_data(), expected_version=form.cleaned_data["version"]
                )
            except NotFound:
                return _not_found(request)
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The field “{saved.label}” was saved.")
                return redirect("accounts:custom_fields")
        else:
            status = 400
    return render(
        request,
        "accounts/settings/custom_field_edit.html",
        {
            "form": form,
            "field": field,
            "type_label": FieldType(field.type).label,
            "entity_label": defs.ENTITIES[field.entity].label if field.entity in defs.ENTITIES else field.entity,
            "section": "custom_fields",
        },
        status=status,
    )


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def custom_field_delete_view(request: HttpRequest, field_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        field = defs.custom_field_get(actor=actor, field_id=field_id)
    except NotFound:
        return _not_found(request)
    error = ""
    status = 200
    if request.method == "POST":
        try:
            defs.custom_field_delete(actor=actor, field=field, confirm=request.POST.get("confirm", "")[:100])
        except NotFound:
            return _not_found(request)
        except ApplicationError as exc:
            error = exc.fields.get("confirm", exc.message)
            status = exc.status
        else:
            messages.success(request, f"The field “{field.label}” was deleted; its values are being removed.")
            return redirect("accounts:custom_fields")
    spec = defs.ENTITIES.get(field.entity)
    holders = 0
    if spec is not None:
        model: Any = spec.model
        holders = model.objects.filter(org_id=actor.org_id, **{"custom__has_key": field.key}).count()
    return render(
        request,
        "accounts/settings/custom_field_delete.html",
        {
            "field": field,
            "error": error,
            "holders": holders,
            "entity_label": spec.label.lower() if spec else field.entity,
            "section": "custom_fields",
        },
        status=status,
    )
