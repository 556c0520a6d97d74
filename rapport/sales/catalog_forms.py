"""The forms of the product pages and of Settings → Currencies. They only shape the input; the
services (rapport.sales.catalog_services, rapport.sales.money) validate it and their field errors
are shown on these forms' fields."""

from __future__ import annotations

import functools
from typing import Any

import pycountry
from django import forms

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.contacts.forms import VersionMixin
from rapport.sales.catalog_services import CATEGORY_MAX, NAME_MAX, SKU_MAX, TEXT_MAX
from rapport.sales.models import Product

ACTIVE_CHOICES = [("", "Active and inactive"), ("1", "Active"), ("0", "Inactive")]


@functools.cache
def currency_choices() -> list[tuple[str, str]]:
    """Every ISO 4217 currency as ("EUR", "EUR — Euro"), by code."""
    return sorted((str(c.alpha_3), f"{c.alpha_3} — {c.name}") for c in pycountry.currencies)


class ProductFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", max_length=200, required=False, widget=forms.TextInput(attrs={"type": "search"})
    )
    category = forms.ChoiceField(label="Category", required=False)
    active = forms.ChoiceField(label="Status", choices=ACTIVE_CHOICES, required=False)

    def __init__(self, *args: Any, categories: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "All categories"), *((c, c) for c in categories)]  # type: ignore[attr-defined]
        self.fields["q"].widget.attrs["placeholder"] = "Name or SKU"

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        active = data.get("active")
        return {
            "q": data.get("q") or None,
            "category": data.get("category") or None,
            "active": None if not active else active == "1",
        }


class ProductForm(ServiceErrorsMixin, forms.Form):
    sku = forms.CharField(
        label="SKU", max_length=SKU_MAX, help_text="Unique in the workspace; upper and lower case differ."
    )
    name = forms.CharField(label="Name", max_length=NAME_MAX)
    category = forms.CharField(label="Category", max_length=CATEGORY_MAX, required=False)
    unit_price = forms.DecimalField(
        label="Unit price",
        max_digits=18,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    currency = forms.ChoiceField(label="Currency")
    active = forms.BooleanField(label="Active (still sold)", required=False)
    description = forms.CharField(
        label="Description", max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currency_choices()  # type: ignore[attr-defined]

    @staticmethod
    def initial_of(product: Product) -> dict[str, Any]:
        fields = ("sku", "name", "category", "unit_price", "currency", "active", "description", "version")
        return {name: getattr(product, name) for name in fields}

    def to_data(self) -> dict[str, Any]:
        names = ("sku", "name", "category", "unit_price", "currency", "active", "description")
        return {name: self.cleaned_data[name] for name in names}


class ProductEditForm(VersionMixin, ProductForm):
    pass


class BaseCurrencyForm(ServiceErrorsMixin, forms.Form):
    base_currency = forms.ChoiceField(label="Base currency")
    clear_rates = forms.BooleanField(
        label="Delete the exchange rates (they are values in the current base currency)", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["base_currency"].choices = currency_choices()  # type: ignore[attr-defined]


class RateForm(ServiceErrorsMixin, forms.Form):
    currency = forms.ChoiceField(label="Currency")
    rate = forms.DecimalField(
        label="Rate",
        max_digits=20,
        decimal_places=10,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0"}),
        help_text="What 1 unit of this currency is worth in the base currency.",
    )
    valid_from = forms.DateField(label="Valid from", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, base: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Choose…"), *(c for c in currency_choices() if c[0] != base)]
        self.fields["currency"].choices = choices  # type: ignore[attr-defined]
