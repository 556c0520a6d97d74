"""The product catalogue pages and Settings → Currencies.

/sales/products/ lists the living products (search by name or SKU, filter by category and
status; keyset pages by name) for every role that reads products; managers and admins also get
"New product", edit and delete (with confirmation). /settings/currencies/ (admins) sets the base
currency and adds and deletes exchange rates. Every write goes through the services; their field
errors show on the form's fields. Other workspaces' products answer 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from rapport.accounts.decorators import perm_required, principal_required
from rapport.accounts.models import Organization
from rapport.accounts.roles import Entity, Mode, Perm
from rapport.contacts.views.common import actor_of, forbidden, not_found
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.pagination import paginate
from rapport.sales import catalog_services as services
from rapport.sales import money
from rapport.sales.catalog_forms import BaseCurrencyForm, ProductEditForm, ProductFilterForm, ProductForm, RateForm
from rapport.sales.models import Product

PAGE_SIZE = 50
RATES_SHOWN = 500


@require_safe
@login_required
@principal_required
def product_list_page(request: HttpRequest) -> HttpResponse:
    """GET /sales/products/: the catalogue, filtered, by name."""
    actor = actor_of(request)
    if not actor.can(Entity.PRODUCT):
        return forbidden(request, "see the products")
    form = ProductFilterForm(request.GET or None, categories=services.product_categories(actor=actor))
    context: dict[str, Any] = {"form": form, "page": None, "error": "", "can_write": services.can_write_products(actor)}
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; clear them and try again."
        return render(request, "sales/catalog/product_list.html", context, status=400)
    try:
        page = paginate(
            services.product_list(actor=actor, **form.filters()),
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
            ordering=("name", "id"),
        )
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "sales/catalog/product_list.html", context, status=400)
    keep = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    context.update(page=page, query=urlencode(keep), filtered=bool(keep))
    return render(request, "sales/catalog/product_list.html", context)


def _form_page(request: HttpRequest, form: ProductForm, product: Product | None, status: int = 200) -> HttpResponse:
    return render(request, "sales/catalog/product_form.html", {"form": form, "product": product}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def product_create_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not services.can_write_products(actor):
        return forbidden(request, "add products")
    if request.method != "POST":
        base = Organization.objects.values_list("base_currency", flat=True).get(pk=actor.org_id)
        return _form_page(request, ProductForm(initial={"currency": base, "active": True}), None)
    form = ProductForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None, 422)
    try:
        product = services.product_create(actor=actor, data=form.to_data())
    except PermissionDenied:
        return forbidden(request, "add products")
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _form_page(request, form, None, exc.status)
    messages.success(request, f"Product “{product.name}” added.")
    return redirect(reverse("catalog:products") + "?" + urlencode({"q": product.sku}))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def product_edit_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """GET: the form with the product's values; POST: save with the version the form was opened at."""
    actor = actor_of(request)
    try:
        product = services.product_get(actor=actor, product_id=product_id, mode=Mode.WRITE)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "change products")
    initial = ProductForm.initial_of(product)
    if request.method != "POST":
        return _form_page(request, ProductEditForm(initial=initial), product)
    form = ProductEditForm(request.POST, initial=initial)
    if not form.is_valid():
        return _form_page(request, form, product, 422)
    try:
        product = services.product_update(
            actor=actor, product=product, data=form.to_data(), expected_version=form.cleaned_data["version"]
        )
    except PermissionDenied:
        return forbidden(request, "change products")
    except StaleVersion:
        form.add_error(None, "Someone else changed this product since you opened it — reload to see their changes.")
        return _form_page(request, form, product, 409)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _form_page(request, form, product, exc.status)
    messages.success(request, f"Product “{product.name}” saved.")
    return redirect("catalog:products")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def product_delete_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """GET asks for confirmation; POST moves the product to the trash."""
    actor = actor_of(request)
    try:
        product = services.product_get(actor=actor, product_id=product_id, mode=Mode.WRITE)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "delete products")
    if request.method != "POST":
        return render(request, "sales/catalog/product_confirm_delete.html", {"product": product})
    services.product_delete(actor=actor, product=product)
    messages.success(request, f"Product “{product.name}” deleted.")
    return redirect("catalog:products")


# --- Settings → Currencies ------------------------------------------------------------------------


def _currencies_page(
    request: HttpRequest, base_form: BaseCurrencyForm, rate_form: RateForm, org: Organization, status: int = 200
) -> HttpResponse:
    rates = money.rate_list(actor=actor_of(request)).order_by("currency", "-valid_from", "-id")[:RATES_SHOWN]
    context = {
        "base_form": base_form,
        "rate_form": rate_form,
        "base_currency": org.base_currency,
        "rates": list(rates),
        "section": "currencies",
    }
    return render(request, "sales/catalog/currencies.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def currencies_page(request: HttpRequest) -> HttpResponse:
    """The base currency (POST action=base) and the exchange rates (POST action=rate adds one)."""
    actor = actor_of(request)
    org = Organization.objects.get(pk=actor.org_id)
    base_form = BaseCurrencyForm(initial={"base_currency": org.base_currency})
    rate_form = RateForm(base=org.base_currency)
    if request.method != "POST":
        return _currencies_page(request, base_form, rate_form, org)
    action = request.POST.get("action")
    if action == "base":
        base_form = BaseCurrencyForm(request.POST)
        if not base_form.is_valid():
            return _currencies_page(request, base_form, rate_form, org, 422)
        try:
            org = money.org_base_currency_set(
                actor=actor,
                currency=base_form.cleaned_data["base_currency"],
                clear_rates=base_form.cleaned_data["clear_rates"],
            )
        except ApplicationError as exc:
            base_form.add_service_error(exc)
            return _currencies_page(request, base_form, rate_form, org, exc.status)
        messages.success(request, f"The base currency is {org.base_currency}.")
        return redirect("catalog:currencies")
    rate_form = RateForm(request.POST, base=org.base_currency)
    if not rate_form.is_valid():
        return _currencies_page(request, base_form, rate_form, org, 422)
    data = rate_form.cleaned_data
    try:
        rate, created = money.rate_set(
            actor=actor, currency=data["currency"], rate=data["rate"], valid_from=data["valid_from"]
        )
    except ApplicationError as exc:
        rate_form.add_service_error(exc)
        return _currencies_page(request, base_form, rate_form, org, exc.status)
    verb = "added" if created else "changed"
    messages.success(request, f"Rate {verb}: 1 {rate.currency} = {rate.rate.normalize():f} {org.base_currency}.")
    return redirect("catalog:currencies")


@require_POST
@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def rate_delete_view(request: HttpRequest, rate_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        rate = money.rate_get(actor=actor, rate_id=rate_id)
    except NotFound:
        return not_found(request)
    money.rate_delete(actor=actor, rate=rate)
    messages.success(request, f"The {rate.currency} rate from {rate.valid_from:%Y-%m-%d} was deleted.")
    return redirect("catalog:currencies")
