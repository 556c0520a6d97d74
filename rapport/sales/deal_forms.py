"""The forms of the deal pages: the board's and list's filters, a deal's create and edit form, and
the move form. They only shape the input; the deal services (rapport.sales.deal_services) validate
it and their field errors are shown on these forms' fields."""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.contacts.forms import CompanyNameInput, ContactPickerInput, RecordForm
from rapport.sales.board_selectors import SORT_LABELS
from rapport.sales.catalog_forms import currency_choices
from rapport.sales.deal_selectors import DealFilter
from rapport.sales.deal_services import LOST_REASON_MAX, MAX_CONTACTS, NAME_MAX, SOURCE_MAX
from rapport.sales.models import DealRole, Pipeline

DATE = forms.DateInput(attrs={"type": "date"})
Choices = list[tuple[int, str]]


class DealFilterForm(forms.Form):
    """The filters of the board and the list (all optional)."""

    owner = forms.TypedChoiceField(label="Owner", coerce=int, empty_value=None, required=False)
    team = forms.TypedChoiceField(label="Team", coerce=int, empty_value=None, required=False)
    close_from = forms.DateField(label="Closing from", required=False, widget=DATE)
    close_to = forms.DateField(label="Closing until", required=False, widget=DATE)
    amount_min = forms.DecimalField(label="Amount from", required=False, min_value=0, max_digits=18, decimal_places=2)
    amount_max = forms.DecimalField(label="Amount up to", required=False, min_value=0, max_digits=18, decimal_places=2)

    def __init__(self, *args: Any, owners: Choices, teams: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Anyone"), *owners]  # type: ignore[attr-defined]
        self.fields["team"].choices = [("", "Any team"), *teams]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("close_from") and data.get("close_to") and data["close_from"] > data["close_to"]:
            self.add_error("close_to", "The end of the range is before its start.")
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The largest amount is below the smallest.")
        return data

    def filters(self) -> DealFilter:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return DealFilter(
            owner_id=data.get("owner"),
            team_id=data.get("team"),
            close_from=data.get("close_from"),
            close_to=data.get("close_to"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
        )


class DealListForm(DealFilterForm):
    sort = forms.ChoiceField(label="Sort by", choices=list(SORT_LABELS.items()), required=False)


ROLE_CHOICES = [(value, label) for value, label in DealRole.choices]
MIN_BLANK_ROWS = 2


def contact_row_count(data: Any, initial_rows: int) -> int:
    """How many "other contact" rows the form has: those posted (the hidden `contact_rows`, three
    more when "More contact rows" was pressed), else the deal's links plus blank ones; at most
    MAX_CONTACTS."""
    rows = initial_rows + MIN_BLANK_ROWS
    if data is not None:
        raw = str(data.get("contact_rows", ""))
        rows = int(raw) if raw.isdigit() else rows
        if "more_rows" in data:
            rows += 3
    return max(1, min(rows, MAX_CONTACTS))


class DealForm(RecordForm):
    """Every field `deal_create` takes (the edit form leaves out pipeline and stage: a deal moves)."""

    CREATES = True
    FIELD_MAP = {
        **RecordForm.FIELD_MAP,
        "pipeline_id": "pipeline",
        "stage_id": "stage",
        "team_id": "team",
        "contact_id": "contact",
        "competitor_ids": "competitors",
    }
    name = forms.CharField(label="Name", max_length=NAME_MAX)
    amount = forms.DecimalField(
        label="Amount", min_value=0, max_digits=18, decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01"})
    )
    currency = forms.ChoiceField(label="Currency")
    expected_close_date = forms.DateField(label="Expected close date", required=False, widget=DATE)
    pipeline = forms.TypedChoiceField(label="Pipeline", coerce=int)
    stage = forms.TypedChoiceField(
        label="Stage", coerce=int, empty_value=None, required=False, help_text="Empty: the pipeline's first open stage."
    )
    owner = forms.ChoiceField(label="Owner", required=False)
    team = forms.TypedChoiceField(label="Team", coerce=int, empty_value=None, required=False)
    contact = forms.CharField(
        label="Primary contact",
        max_length=300,
        required=False,
        widget=ContactPickerInput(),
        help_text="Type a name or an email, then pick from the suggestions; empty for none.",
    )
    company = forms.CharField(
        label="Company",
        max_length=200,
        required=False,
        widget=CompanyNameInput,
        help_text="An existing company's name (type for suggestions); empty for none.",
    )
    competitors = forms.TypedMultipleChoiceField(
        label="Competitors", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    source = forms.CharField(label="Source", max_length=SOURCE_MAX, required=False)
    lost_reason = forms.CharField(
        label="Lost reason", max_length=LOST_REASON_MAX, required=False, help_text="Needed in a lost stage."
    )

    def __init__(
        self,
        *args: Any,
        pipelines: list[Pipeline],
        teams: Choices,
        competitors: Choices,
        initial_rows: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.link_rows: list[int] = []  # the row of each link given to the service, in order
        self.row_count = contact_row_count(self.data if self.is_bound else None, initial_rows)
        for i in range(self.row_count):
            self.fields[f"link_contact_{i}"] = forms.CharField(
                label=f"Contact {i + 1}", max_length=300, required=False, widget=ContactPickerInput()
            )
            self.fields[f"link_role_{i}"] = forms.ChoiceField(
                label=f"Role of contact {i + 1}", choices=ROLE_CHOICES, initial=DealRole.OTHER, required=False
            )
        self.fields["currency"].choices = currency_choices()  # type: ignore[attr-defined]
        self.fields["team"].choices = [("", "No team"), *teams]  # type: ignore[attr-defined]
        self.fields["competitors"].choices = competitors  # type: ignore[attr-defined]
        if "pipeline" in self.fields:
            self.fields["pipeline"].choices = [(p.pk, p.name) for p in pipelines]  # type: ignore[attr-defined]
            groups = [(p.name, [(s.pk, f"{s.name} ({p.name})") for s in p.stages.all()]) for p in pipelines]
            self.fields["stage"].choices = [("", "First open stage"), *groups]  # type: ignore[attr-defined]

    def error_field(self, service_field: str) -> str | None:
        """`contacts.<k>.<part>` → the field of the row that gave the k-th link (`link_rows`)."""
        parts = service_field.split(".")
        if parts[0] == "contacts":
            if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(self.link_rows):
                row = self.link_rows[int(parts[1])]
                return f"link_role_{row}" if parts[-1] == "role" else f"link_contact_{row}"
            return None
        return super().error_field(service_field)

    def contact_rows_bound(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """The (contact, role) fields of each "other contact" row, for the template."""
        return [(self[f"link_contact_{i}"], self[f"link_role_{i}"]) for i in range(self.row_count)]

    def link_texts(self) -> list[tuple[int, str, str]]:
        """(row, typed contact, role) of each filled row."""
        rows = []
        for i in range(self.row_count):
            text = (self.cleaned_data.get(f"link_contact_{i}") or "").strip()
            if text:
                rows.append((i, text, self.cleaned_data.get(f"link_role_{i}") or DealRole.OTHER))
        return rows

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        for name in ("pipeline", "stage", "owner", "team", "contact", "company", "competitors"):
            data.pop(name, None)
        for name in [name for name in data if name.startswith("link_")]:
            data.pop(name)
        if "pipeline" in self.fields:
            data["pipeline_id"] = self.cleaned_data["pipeline"]
            if self.cleaned_data.get("stage"):
                data["stage_id"] = self.cleaned_data["stage"]
        data["team_id"] = self.cleaned_data.get("team")
        data["competitor_ids"] = self.cleaned_data.get("competitors") or []
        data["expected_close_date"] = self.cleaned_data.get("expected_close_date")
        return data


class DealEditForm(DealForm):
    """The edit form; a deal with line items shows its amount and currency without changing them
    (they are its products' total, changed on the products page)."""

    CREATES = False
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, has_lines: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["pipeline"], self.fields["stage"]
        if has_lines:
            for name in ("amount", "currency"):
                self.fields[name].disabled = True
            self.fields["amount"].help_text = "The total of the deal's products: change the products to change it."


class MoveForm(forms.Form):
    """Move a deal: the stage, the version the page was opened at, and a lost reason for a lost stage."""

    stage = forms.TypedChoiceField(label="Move to", coerce=int)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    lost_reason = forms.CharField(label="Lost reason", max_length=LOST_REASON_MAX, required=False)

    def __init__(self, *args: Any, stages: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(s.pk, s.name) for s in stages]  # type: ignore[attr-defined]
