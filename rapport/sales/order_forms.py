"""The forms of the order pages: the list's filters, an order's create and edit form with its lines
(a formset), and the status change. They only shape the input; the order services
(rapport.sales.order_services) validate it and their field errors are shown on these forms'
fields — `lines.<n>.<field>` on the field of the n-th line that was sent."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from django import forms

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.contacts.forms import CompanyNameInput, ContactPickerInput
from rapport.core.errors import ApplicationError
from rapport.sales.catalog_forms import currency_choices
from rapport.sales.models import OrderStatus, Product
from rapport.sales.order_selectors import OrderFilter
from rapport.sales.order_services import EXTERNAL_ID_MAX, MAX_LINES, NAME_MAX, plain_number

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
EXTRA_LINES = 3  # empty line rows a new order starts with
LINE_PATH = re.compile(r"^lines\.(?P<index>\d+)(?:\.(?P<field>\w+))?$")
LINE_FIELDS = {"product_id": "product", "sku": "product", "name": "name", "quantity": "quantity"}
LINE_FIELDS |= {"unit_price": "unit_price", "discount_percent": "discount_percent"}
Groups = list[Any]


class OrderFilterForm(forms.Form):
    """The list's filters (all optional). `contact` and `company` are ids, as links from a contact's
    or company's page give them."""

    q = forms.CharField(
        label="Customer",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, email or company"}),
    )
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *OrderStatus.choices], required=False)
    ordered_from = forms.DateField(label="Ordered from", required=False, widget=DATE)
    ordered_to = forms.DateField(label="Ordered until", required=False, widget=DATE)
    product = forms.TypedChoiceField(label="Product", coerce=int, empty_value=None, required=False)
    contact = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    company = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, products: Groups, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "Any product"), *products]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("ordered_from") and data.get("ordered_to") and data["ordered_from"] > data["ordered_to"]:
            self.add_error("ordered_to", "The end of the range is before its start.")
        return data

    def filters(self) -> OrderFilter:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return OrderFilter(
            q=data.get("q") or "",
            contact_id=data.get("contact"),
            company_id=data.get("company"),
            status=data.get("status") or None,
            ordered_from=data.get("ordered_from"),
            ordered_to=data.get("ordered_to"),
            product_id=data.get("product"),
        )


class OrderForm(ServiceErrorsMixin, forms.Form):
    """The order's own fields (its lines are `OrderLineFormSet`)."""

    FIELD_MAP = {"contact_id": "contact", "customer_email": "contact", "company_id": "company"}

    contact = forms.CharField(
        label="Contact",
        max_length=300,
        required=False,
        widget=ContactPickerInput(),
        help_text="Type a name or an email, then pick from the suggestions.",
    )
    company = forms.CharField(
        label="Company",
        max_length=200,
        required=False,
        widget=CompanyNameInput,
        help_text="An existing company's name (type for suggestions). A contact, a company or both.",
    )
    ordered_at = forms.DateTimeField(label="Ordered on", widget=DATETIME, help_text="Date and time (UTC).")
    status = forms.ChoiceField(label="Status", choices=OrderStatus.choices, initial=OrderStatus.CONFIRMED)
    currency = forms.ChoiceField(label="Currency")
    external_id = forms.CharField(
        label="External id",
        max_length=EXTERNAL_ID_MAX,
        required=False,
        help_text="Its number in the shop or ERP it came from, if any.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currency_choices()  # type: ignore[attr-defined]

    def error_field(self, service_field: str) -> str | None:
        return self.FIELD_MAP.get(service_field, service_field)

    def to_data(self) -> dict[str, Any]:
        """The service's input for the order's own fields (the customer ids are looked up by the view)."""
        data = self.cleaned_data
        return {
            "ordered_at": data["ordered_at"],
            "status": data["status"],
            "currency": data["currency"],
            "external_id": data.get("external_id") or "",
        }


class OrderEditForm(OrderForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class OrderLineForm(forms.Form):
    """One line: a product of the catalogue or a free-text item. Its unit price defaults to the
    product's price; `sku` keeps the SKU of a free-text line that came with one (from a shop)."""

    product = forms.TypedChoiceField(label="Product", coerce=int, empty_value=None, required=False)
    name = forms.CharField(
        label="Item", max_length=NAME_MAX, required=False, widget=forms.TextInput(attrs={"placeholder": "Product name"})
    )
    sku = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    quantity = forms.DecimalField(
        label="Quantity", max_digits=14, decimal_places=3, required=False, initial=1,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )  # fmt: skip
    unit_price = forms.DecimalField(
        label="Unit price", max_digits=18, decimal_places=2, required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "placeholder": "Product's price"}),
    )  # fmt: skip
    discount_percent = forms.DecimalField(
        label="Discount %", max_digits=5, decimal_places=2, required=False, initial=0,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )  # fmt: skip

    def __init__(self, *args: Any, products: Groups, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "— Free text —"), *products]  # type: ignore[attr-defined]

    def is_blank(self) -> bool:
        """Removed, or nothing picked or typed but the defaults: the row is left out (a new order
        shows a few empty rows)."""
        data = self.cleaned_data
        if data.get("DELETE"):
            return True
        named = data.get("product") or data.get("name") or data.get("sku") or data.get("unit_price") is not None
        return not named and data.get("quantity") in (None, 1) and not data.get("discount_percent")

    def to_line(self, product: Product | None, currency: str) -> dict[str, Any]:
        """The service's input for this line; the unit price defaults to the product's price when the
        product is priced in the order's currency (otherwise the line asks for a price)."""
        data = self.cleaned_data
        line: dict[str, Any] = {
            "quantity": data.get("quantity"),
            "discount_percent": data.get("discount_percent") or Decimal(0),
        }
        price = data.get("unit_price")
        if product is not None:
            line["product_id"] = product.pk
            if price is None and product.currency == currency:
                price = product.unit_price
            elif price is None:
                self.add_error(
                    "unit_price",
                    f"Enter a unit price in {currency}: {product.name} costs {product.currency} {product.unit_price}.",
                )
        elif data.get("sku"):
            line["sku"] = data["sku"]
        if data.get("name"):
            line["name"] = data["name"]
        line["unit_price"] = price
        return line


class _LineFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, products: Groups, **kwargs: Any) -> None:
        self.products = products
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "products": self.products}


OrderLineFormSet = cast(
    type[_LineFormSet],
    forms.formset_factory(
        OrderLineForm,
        formset=_LineFormSet,
        extra=0,
        can_delete=True,
        max_num=MAX_LINES,
        absolute_max=MAX_LINES,
        validate_max=True,
    ),
)


def place_errors(form: OrderForm, lines: Any, sent: list[int], exc: ApplicationError) -> list[str]:
    """Put a service error on the forms: `lines.<n>.<field>` on that field of the n-th sent line
    (`sent[n]` is its row in the formset), the order's fields on `form`; returns the messages about
    the lines as a whole (such as "Give 1 to 500 lines.")."""
    about_lines: list[str] = []
    rest: dict[str, str] = {}
    for name, message in exc.fields.items():
        match = LINE_PATH.match(name)
        if name == "lines":
            about_lines.append(message)
        elif match and int(match["index"]) < len(sent):
            row = lines.forms[sent[int(match["index"])]]
            target = LINE_FIELDS.get(match["field"] or "")
            if target is None:
                row.add_error(None, message)
            elif target not in row.errors:  # a message the page already put there is more precise
                row.add_error(target, message)
        else:
            rest[name] = message
    if rest or not (about_lines or form.errors or any(row.errors for row in lines.forms)):
        exc.fields = rest
        form.add_service_error(exc)
    return about_lines


def line_initial(lines: list[Any]) -> list[dict[str, Any]]:
    """The line rows of an order's edit form. A line's name is left empty when it is its product's
    name, so that picking another product renames it."""
    rows = []
    for line in lines:
        same_name = line.product is not None and line.product.name == line.name
        rows.append(
            {
                "product": line.product_id,
                "name": "" if same_name else line.name,
                "sku": "" if line.product_id else line.sku,
                "quantity": plain_number(line.quantity),
                "unit_price": line.unit_price,
                "discount_percent": plain_number(line.discount_percent),
            }
        )
    return rows


class StatusForm(forms.Form):
    """Change an order's status from its page, with the version the page was opened at."""

    status = forms.ChoiceField(label="Status", choices=OrderStatus.choices)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
