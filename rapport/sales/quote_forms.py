"""Forms of the line-item and quote pages: the rows of lines (a Django formset: product picker,
name, quantity, price, discount, and for quotes tax and description; blank rows are skipped, a
ticked "Remove" drops a row; "More rows" adds blank ones without JavaScript), the new-quote form,
the draft's fields and the quote list's filters.

The forms only carry text: the services validate (rapport.sales.deal_lines, quote_services) and
their errors (`lines[2].quantity`) are put back on the row and field they name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.forms import BaseFormSet, formset_factory

from rapport.accounts.roles import Entity
from rapport.core.access import scope
from rapport.core.errors import ApplicationError
from rapport.core.principal import Principal
from rapport.sales.models import Product, QuoteStatus

BLANK_ROWS = 3
MAX_PRODUCTS = 500
PREFIX = "lines"
# Service field → form field of a row.
ROW_FIELDS = {"product_id": "product", "name": "name", "quantity": "quantity", "unit_price": "unit_price"}
ROW_FIELDS |= {"discount_percent": "discount_percent", "tax_percent": "tax_percent", "description": "description"}
ROW_FIELDS |= {"sku": "name"}


def _number(label: str, placeholder: str = "") -> forms.CharField:
    attrs = {"inputmode": "decimal", "autocomplete": "off", "size": "8"}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.CharField(label=label, required=False, max_length=40, widget=forms.TextInput(attrs=attrs))


class LineForm(forms.Form):
    product = forms.ChoiceField(label="Product", required=False, choices=())
    name = forms.CharField(label="Name", required=False, max_length=200)
    quantity = _number("Quantity")
    unit_price = _number("Unit price", "from product")
    discount_percent = _number("Discount %", "0")

    def __init__(self, *args: Any, products: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        assert isinstance(product, forms.ChoiceField)
        product.choices = [("", "— free text —"), *(products or [])]

    def row(self) -> dict[str, Any] | None:
        """The row as the services take it, or None for a blank or removed row."""
        data = self.cleaned_data if self.is_valid() else {}
        if not data or data.get("DELETE"):
            return None
        row = {name: (data.get(name) or "").strip() for name in self.fields if name != "DELETE"}
        if not any(row.values()):
            return None
        product = row.pop("product")
        return {
            "product_id": int(product) if product.isdigit() else None,
            **{key: value or None for key, value in row.items()},
        }


class QuoteLineForm(LineForm):
    tax_percent = _number("Tax %", "0")
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 1, "placeholder": "Description (optional)"}),
    )


class LineFormSet(BaseFormSet):
    service_errors: list[str]

    def rows(self) -> tuple[list[dict[str, Any]], list[int]]:
        """(the rows to save, the form index of each): the service's lines[i] is form rows_at[i]."""
        rows, at = [], []
        for index, form in enumerate(self.forms):
            row = form.row()
            if row is not None:
                rows.append(row)
                at.append(index)
        return rows, at

    def add_service_error(self, exc: ApplicationError, at: list[int]) -> None:
        """Put `lines[i].field` messages on their row's field; the rest above the rows."""
        unplaced = []
        for key, message in exc.fields.items():
            if key.startswith("lines[") and "]" in key:
                index_text, _, field = key[len("lines[") :].partition("]")
                field = field.lstrip(".")
                if index_text.isdigit() and int(index_text) < len(at):
                    form = self.forms[at[int(index_text)]]
                    name = ROW_FIELDS.get(field)
                    if name in form.fields:
                        form.add_error(name, message)
                    else:
                        form.add_error(None, message)
                    continue
            if key.startswith("lines"):
                unplaced.append(message)
        self.service_errors = unplaced or ([] if exc.fields else [exc.message])


def line_formset(
    *,
    products: list[tuple[str, str]],
    data: Any = None,
    initial: list[dict[str, Any]] | None = None,
    quote: bool = False,
    blank_rows: int = BLANK_ROWS,
) -> LineFormSet:
    """The rows of lines: `initial` ones then `blank_rows` empty ones (bound: what was posted).
    A bound formset whose "more rows" button was pressed gets `blank_rows` more."""
    form = QuoteLineForm if quote else LineForm
    cls = formset_factory(form, formset=LineFormSet, extra=blank_rows, can_delete=True, max_num=200, absolute_max=230)
    if data is not None and "more_rows" in data:
        data = data.copy()
        total = f"{PREFIX}-TOTAL_FORMS"
        count = int(data.get(total, "0")) if str(data.get(total, "0")).isdigit() else 0
        data[total] = str(min(count + blank_rows, 200))
    formset = cast(LineFormSet, cls(data=data, initial=initial, prefix=PREFIX, form_kwargs={"products": products}))
    formset.service_errors = []
    return formset


def product_choices(actor: Principal, keep: set[int] | None = None) -> list[tuple[str, str]]:
    """(id, "Name (SKU) · EUR 12.00") of the active products the actor may read, by name (at most
    500), and the products in `keep` (those the lines already name) even if inactive."""
    products = scope(actor, Product.objects.filter(org_id=actor.org_id, deleted_at__isnull=True), Entity.PRODUCT)
    found = list(products.filter(active=True).order_by("name", "id")[:MAX_PRODUCTS])
    missing = (keep or set()) - {p.pk for p in found}
    if missing:
        found += list(products.filter(pk__in=missing))
    return [(str(p.pk), f"{p.name} ({p.sku}) · {p.currency} {p.unit_price:,.2f}") for p in found]


def line_rows(lines: list[Any], *, quote: bool = False) -> list[dict[str, str]]:
    """The `initial` rows of stored lines (a deal's or a quote's, with tax and description)."""
    rows = []
    for line in lines:
        row = {"product": str(line.product_id or ""), "name": line.name}
        for name in ("quantity", "unit_price", "discount_percent", *(("tax_percent",) if quote else ())):
            row[name] = plain(getattr(line, name))
        if quote:
            row["description"] = line.description
        rows.append(row)
    return rows


def plain(value: object) -> str:
    """A Decimal as a form shows it: 3.000 → "3", 2.50 → "2.5"."""
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class QuoteCreateForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    tax_percent = forms.DecimalField(
        label="Tax %", min_value=0, max_value=100, decimal_places=2, initial=0, help_text="Applied to every line"
    )
    valid_until = forms.DateField(label="Valid until", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(
        label="Notes and terms", required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def add_service_error(self, exc: ApplicationError) -> None:
        for key, message in exc.fields.items():
            self.add_error(key if key in self.fields else None, message)
        if not exc.fields:
            self.add_error(None, exc.message)


class QuoteEditForm(QuoteCreateForm):
    # Each line has its own tax.
    tax_percent = None  # type: ignore[assignment]
    issued_on = forms.DateField(label="Issued on", widget=forms.DateInput(attrs={"type": "date"}))
    version = forms.IntegerField(widget=forms.HiddenInput)
    field_order = ["title", "issued_on", "valid_until", "notes"]


class QuoteFilterForm(forms.Form):
    q = forms.CharField(label="Number or title", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any"), *QuoteStatus.choices])
