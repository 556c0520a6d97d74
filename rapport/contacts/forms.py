"""Forms of the contacts pages. They check shape and build the services' input; services check meaning.

Every form turns its cleaned data into the mapping `services.contact_*` / `company_*` take
(`to_data`), and places a service's ValidationFailed.fields back on its own fields
(`add_service_error`, with `FIELD_MAP` translating the services' names such as "emails.0.email").
The "Email and phone" section's form, a row per email and phone, is in `channel_forms`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.urls import reverse

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.contacts import choices
from rapport.contacts.models import Company, Contact
from rapport.core.errors import ApplicationError
from rapport.core.models import CustomField
from rapport.web.custom_fields import FORM_PREFIX, add_fields, form_name, initial_value, to_custom

MEMBER_CHOICES = list[tuple[int, str]]


def _blank(options: Any, label: str = "—") -> list[tuple[str, str]]:
    return [("", label), *[(str(k), str(v)) for k, v in options.choices]]


def split_tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


class RecordForm(ServiceErrorsMixin, forms.Form):
    """Base: service field names → form field names, owner choices, the hidden version.

    Given `custom_fields` (definitions), the form gets one `cf_<key>` input per custom field and
    `to_data` a `custom` object; a create form (`CREATES`) starts them at their defaults and leaves
    empty ones out, so the service applies defaults and required rules.
    """

    CREATES = False

    FIELD_MAP: dict[str, str] = {
        "emails": "email",
        "emails.0": "email",
        "emails.0.email": "email",
        "phones": "phone",
        "phones.0": "phone",
        "phones.0.number": "phone",
        "company_id": "company",
        "parent_id": "parent",
        "owner_id": "owner",
    }

    def __init__(
        self,
        *args: Any,
        member_choices: MEMBER_CHOICES | None = None,
        custom_fields: Iterable[CustomField] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            self.fields["owner"].choices = [("", "Nobody"), *(member_choices or [])]  # type: ignore[attr-defined]
        self.custom_definitions = list(custom_fields or [])
        add_fields(self, self.custom_definitions, for_create=self.CREATES)

    def error_field(self, service_field: str) -> str | None:
        return self.FIELD_MAP.get(service_field, form_name(service_field))

    def to_data(self) -> dict[str, Any]:
        """The services' input for the fields of this form (keys present only for the form's fields)."""
        data: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name in {"version", "email", "phone", "company", "parent", "owner", "tags"} or name.startswith(
                FORM_PREFIX
            ):
                continue
            data[name] = value
        if "owner" in self.cleaned_data:
            owner = self.cleaned_data["owner"]
            data["owner_id"] = int(owner) if owner else None
        if "tags" in self.cleaned_data:
            data["tags"] = split_tags(self.cleaned_data["tags"])
        if self.custom_definitions:
            data["custom"] = to_custom(self.custom_definitions, self.cleaned_data, skip_empty=self.CREATES)
        return data


class SuggestInput(forms.TextInput):
    """A text input with type-ahead: a <datalist> that htmx fills from the suggestions endpoint
    named by `suggest_url` (a URL name).

    The endpoint reads the typed text under the input's own name (`field` names it), as htmx sends
    it. Without script it is a plain text input.
    """

    template_name = "contacts/widgets/company_name.html"  # an input and its empty <datalist>
    suggest_url = "contacts:company_suggest"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        list_id = f"{widget['attrs'].get('id') or name}_suggestions"
        widget["list_id"] = list_id
        widget["attrs"].update(
            {
                "list": list_id,
                "autocomplete": "off",
                "hx-get": f"{reverse(self.suggest_url)}?{urlencode({'field': name})}",
                "hx-trigger": "input changed delay:200ms",
                "hx-target": f"#{list_id}",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )
        return context


class CompanyNameInput(SuggestInput):
    """A company's name with type-ahead from the company suggestions."""

    suggest_url = "contacts:company_suggest"


class ContactPickerInput(SuggestInput):
    """A contact picked by typing, from the contact suggestions ("Ada Lovelace (#12)"). Without
    script it is a plain text input that takes a contact's exact name or email; the views turn the
    text into an id with rapport.contacts.views.common.contact_by_text."""

    suggest_url = "tasks:contact_suggest"


def _text(label: str | None = None, max_length: int = 200, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=False, **kwargs)


class VersionMixin(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- contacts ------------------------------------------------------------------------------


class ContactCreateForm(RecordForm):
    CREATES = True
    first_name = _text(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    last_name = _text(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = _text("Primary email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    phone = _text("Primary phone", max_length=40, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    company = _text(
        "Company", widget=CompanyNameInput, help_text="An existing company's name: type a few letters for suggestions."
    )
    job_title = _text(max_length=150)
    lifecycle_stage = forms.ChoiceField(choices=choices.LIFECYCLE_STAGES.choices, initial="lead")
    owner = forms.ChoiceField(required=False)
    country = _text("Country", max_length=60, help_text="ISO code or name, such as FR or France.")
    tags = _text("Tags", max_length=1000, help_text="Separated by commas.")

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        email, phone = self.cleaned_data.get("email"), self.cleaned_data.get("phone")
        data["emails"] = [{"email": email, "is_primary": True}] if email else []
        data["phones"] = [{"number": phone, "is_primary": True}] if phone else []
        return data


class ContactDetailsForm(VersionMixin, RecordForm):
    first_name = _text(max_length=100)
    last_name = _text(max_length=100)
    job_title = _text(max_length=150)
    company = _text(
        "Company",
        widget=CompanyNameInput,
        help_text="An existing company's name (type for suggestions); empty for none.",
    )
    profession = _text(max_length=150)
    birth_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    gender = forms.ChoiceField(choices=choices.GENDERS.choices)
    lifecycle_stage = forms.ChoiceField(choices=choices.LIFECYCLE_STAGES.choices)
    lead_status = forms.ChoiceField(choices=_blank(choices.LEAD_STATUSES), required=False)
    lead_source = forms.ChoiceField(choices=_blank(choices.LEAD_SOURCES), required=False)
    owner = forms.ChoiceField(required=False)
    language = _text("Language", max_length=20, help_text="ISO 639-1 code, such as en or fr.")
    time_zone = _text("Time zone", max_length=64, help_text="Such as Europe/Paris.")

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        return {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "job_title": contact.job_title,
            "company": contact.live_company.name if contact.live_company else "",
            "profession": contact.profession,
            "birth_date": contact.birth_date,
            "gender": contact.gender,
            "lifecycle_stage": contact.lifecycle_stage,
            "lead_status": contact.lead_status,
            "lead_source": contact.lead_source,
            "owner": contact.owner_id or "",
            "language": contact.language,
            "time_zone": contact.time_zone,
        }

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        if data.get("birth_date") is None:
            data["birth_date"] = None
        return data


class AddressForm(VersionMixin, RecordForm):
    street = forms.CharField(max_length=200, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    city = _text(max_length=100)
    region = _text(max_length=100)
    postal_code = _text(max_length=20)
    country = _text("Country", max_length=60, help_text="ISO code or name, such as FR or France.")

    @staticmethod
    def initial_for(record: Contact | Company) -> dict[str, Any]:
        return {name: getattr(record, name) for name in ("street", "city", "region", "postal_code", "country")}


class PreferencesForm(VersionMixin, RecordForm):
    do_not_email = forms.BooleanField(required=False, label="Do not email")
    do_not_call = forms.BooleanField(required=False, label="Do not call")
    do_not_sms = forms.BooleanField(required=False, label="Do not text (SMS)")

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        return {
            "do_not_email": contact.do_not_email,
            "do_not_call": contact.do_not_call,
            "do_not_sms": contact.do_not_sms,
        }


class TagsForm(VersionMixin, RecordForm):
    tags = _text("Tags", max_length=1000, help_text="Separated by commas.")

    @staticmethod
    def initial_for(record: Contact | Company) -> dict[str, Any]:
        return {"tags": ", ".join(t.name for t in record.tags.all())}


class SocialForm(VersionMixin, RecordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in choices.SOCIAL_NETWORKS.choices:
            self.fields[f"social_{key}"] = forms.CharField(
                label=str(label), max_length=300, required=False, widget=forms.URLInput
            )

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        return {f"social_{k}": v for k, v in (contact.social_profiles or {}).items()}

    def add_service_error(self, exc: ApplicationError) -> None:
        if "social_profiles" in exc.fields:
            self.add_error(None, exc.fields["social_profiles"])
            return
        super().add_service_error(exc)

    def to_data(self) -> dict[str, Any]:
        links = {
            name.removeprefix("social_"): value.strip()
            for name, value in self.cleaned_data.items()
            if name.startswith("social_") and value.strip()
        }
        return {"social_profiles": links}


class NotesForm(VersionMixin, RecordForm):
    notes = forms.CharField(max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 6}))

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        return {"notes": contact.notes}


class CustomFieldsForm(VersionMixin, RecordForm):
    """The "Custom fields" section of a contact or company: its inputs come from `custom_fields`."""

    @staticmethod
    def initial_for(record: Contact | Company) -> dict[str, Any]:
        values = record.custom or {}
        return {FORM_PREFIX + key: initial_value(_stored_type(value), value) for key, value in values.items()}


def _stored_type(value: Any) -> str:
    """The custom field type whose form input shows a stored value like this one."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "multi_choice"
    return "money" if isinstance(value, dict) else "text"


# --- companies -----------------------------------------------------------------------------


class CompanyCreateForm(RecordForm):
    CREATES = True
    name = forms.CharField(max_length=200)
    website = _text("Website", max_length=300, widget=forms.URLInput)
    industry = forms.ChoiceField(choices=_blank(choices.INDUSTRIES), required=False)
    size = forms.ChoiceField(choices=_blank(choices.COMPANY_SIZES), required=False, label="Size")
    owner = forms.ChoiceField(required=False)
    country = _text("Country", max_length=60, help_text="ISO code or name, such as FR or France.")
    tags = _text("Tags", max_length=1000, help_text="Separated by commas.")


class CompanyDetailsForm(VersionMixin, RecordForm):
    name = forms.CharField(max_length=200)
    website = _text("Website", max_length=300, widget=forms.URLInput)
    domain = _text("Domain", max_length=253)
    phone = _text("Phone", max_length=40, widget=forms.TextInput(attrs={"type": "tel"}))
    industry = forms.ChoiceField(choices=_blank(choices.INDUSTRIES), required=False)
    size = forms.ChoiceField(choices=_blank(choices.COMPANY_SIZES), required=False, label="Size")
    support_tier = forms.ChoiceField(
        choices=_blank(choices.SUPPORT_TIERS),
        required=False,
        label="Support tier",
        help_text="SLA policies can give a tier faster targets.",
    )
    annual_revenue = _text("Annual revenue", max_length=30)
    revenue_currency = _text("Currency", max_length=3, help_text="ISO 4217, such as EUR.")
    parent = _text(
        "Parent company",
        widget=CompanyNameInput,
        help_text="An existing company's name (type for suggestions); empty for none.",
    )
    owner = forms.ChoiceField(required=False)

    @staticmethod
    def initial_for(company: Company) -> dict[str, Any]:
        return {
            "name": company.name,
            "website": company.website,
            "domain": company.domain,
            "phone": company.phone,
            "industry": company.industry,
            "size": company.size,
            "support_tier": company.support_tier,
            "annual_revenue": "" if company.annual_revenue is None else company.annual_revenue,
            "revenue_currency": company.revenue_currency,
            "parent": company.live_parent.name if company.live_parent else "",
            "owner": company.owner_id or "",
        }

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        data["phone"] = self.cleaned_data.get("phone", "")
        return data


class DescriptionForm(VersionMixin, RecordForm):
    description = forms.CharField(max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 6}))

    @staticmethod
    def initial_for(company: Company) -> dict[str, Any]:
        return {"description": company.description}


# --- list filter bars ----------------------------------------------------------------------


class ContactFilterForm(forms.Form):
    q = forms.CharField(
        required=False, max_length=200, label="Search", widget=forms.TextInput(attrs={"type": "search"})
    )
    lifecycle_stage = forms.ChoiceField(required=False, label="Stage")
    owner = forms.ChoiceField(required=False)
    country = forms.CharField(required=False, max_length=60)
    tag = forms.CharField(required=False, max_length=60)

    def __init__(self, *args: Any, member_choices: MEMBER_CHOICES | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lifecycle_stage"].choices = _blank(choices.LIFECYCLE_STAGES, "Any")  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", "Anyone"), *(member_choices or [])]  # type: ignore[attr-defined]


class CompanyFilterForm(forms.Form):
    q = forms.CharField(
        required=False, max_length=200, label="Search", widget=forms.TextInput(attrs={"type": "search"})
    )
    industry = forms.ChoiceField(required=False)
    owner = forms.ChoiceField(required=False)
    country = forms.CharField(required=False, max_length=60)
    tag = forms.CharField(required=False, max_length=60)

    def __init__(self, *args: Any, member_choices: MEMBER_CHOICES | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["industry"].choices = _blank(choices.INDUSTRIES, "Any")  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", "Anyone"), *(member_choices or [])]  # type: ignore[attr-defined]
