"""The order pages (purchase history): the list (/sales/orders/: filters, keyset pages of 50, newest
first), an order's page (/sales/orders/<id>/: customer, lines with totals, source, status change,
history), the create and edit forms (customer pickers, lines as a formset) and delete.

Thin: reads through rapport.sales.order_selectors / order_services, writes through
rapport.sales.order_services; the services' field errors show on the forms' fields. Missing,
trashed and other workspaces' orders answer 404; what the role does not allow answers 403.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.contacts.models import Company, Contact
from rapport.contacts.views.common import (
    actor_of,
    company_by_name,
    contact_by_text,
    contact_label,
    forbidden,
    not_found,
)
from rapport.core.access import can_write, scope
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.principal import Principal
from rapport.sales import order_selectors, order_services
from rapport.sales.board_views import filter_query
from rapport.sales.models import Order, OrderStatus, Product
from rapport.sales.order_forms import (
    EXTRA_LINES,
    OrderEditForm,
    OrderFilterForm,
    OrderForm,
    OrderLineFormSet,
    StatusForm,
    line_initial,
    place_errors,
)
from rapport.sales.order_services import CENT, MAX_LINES
from rapport.sales.order_timeline import PURCHASES

FILTER_KEYS = ("q", "status", "ordered_from", "ordered_to", "product", "contact", "company")
LINES = "lines"  # the formset's prefix
STALE = "Someone else changed this order since you opened it — reload to see their changes."
VERBS = {"order.created": "Created", "order.updated": "Changed", "order.trashed": "Deleted"}
STATUS_BADGES: dict[str, str] = {
    OrderStatus.PENDING: "badge-warn",
    OrderStatus.COMPLETED: "badge-ok",
    OrderStatus.CANCELLED: "badge-off",
    OrderStatus.REFUNDED: "badge-danger",
}


def _visible(actor: Principal, model: type[Contact] | type[Company], entity: Entity, pk: Any) -> Any:
    """The live contact or company `pk` if the actor may read it, else None (one query)."""
    return scope(actor, model.objects.alive(), entity).filter(pk=pk).first() if pk else None


def _mark(orders: list[Order]) -> list[Order]:
    for order in orders:
        order.badge = STATUS_BADGES.get(order.status, "")  # type: ignore[attr-defined]
    return orders


@require_safe
@login_required
@principal_required
def list_page(request: HttpRequest) -> HttpResponse:
    """GET /sales/orders/?q=…&status=…&ordered_from=…&ordered_to=…&product=…&contact=…&company=…&cursor=…"""
    actor = actor_of(request)
    if not actor.can(Entity.ORDER):
        return forbidden(request, "see the orders")
    form = OrderFilterForm(request.GET or None, products=order_selectors.product_choices(actor, inactive=True))
    query = filter_query(request, FILTER_KEYS)
    context: dict[str, Any] = {"form": form, "page": None, "query": query, "filtered": bool(query)}
    context["can_create"] = actor.can(Entity.ORDER, Mode.WRITE)
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; correct them or clear them."
        return render(request, "sales/orders/list.html", context, status=400)
    filters = form.filters()
    context["chips"] = _chips(actor, request, filters)
    try:
        page = order_selectors.order_rows(actor=actor, filters=filters, cursor=request.GET.get("cursor"))
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "sales/orders/list.html", context, status=400)
    for order in _mark(page.items):
        shown = len(getattr(order, "first_lines", ()))
        order.more_lines = max(0, int(getattr(order, "line_count", 0) or 0) - shown)  # type: ignore[attr-defined]
    context["page"] = page
    return render(request, "sales/orders/list.html", context)


def _chips(actor: Principal, request: HttpRequest, filters: order_selectors.OrderFilter) -> list[dict[str, str]]:
    """The customer a link filtered the list by (a contact's or company's "All orders"), with a
    link to their page and one that drops the filter."""
    chips = []
    for key, model, entity, url_name in (
        ("contact", Contact, Entity.CONTACT, "contacts:detail"),
        ("company", Company, Entity.COMPANY, "contacts:company_detail"),
    ):
        pk = getattr(filters, f"{key}_id")
        if pk is None:
            continue
        record = _visible(actor, model, entity, pk)
        rest = urlencode({k: request.GET[k] for k in FILTER_KEYS if request.GET.get(k) and k != key})
        chips.append(
            {
                "label": str(record) if record else f"{key.title()} #{pk}",
                "url": reverse(url_name, args=[pk]) if record else "",
                "remove": f"{reverse('orders:list')}?{rest}" if rest else reverse("orders:list"),
            }
        )
    return chips


def _detail_context(actor: Principal, order: Order, status_form: StatusForm | None = None) -> dict[str, Any]:
    lines = list(order.lines.all())
    gross = sum((line.quantity * cast(Decimal, line.unit_price) for line in lines), Decimal(0)).quantize(CENT)
    events = []
    for event in order_selectors.order_events(actor=actor, order=order):
        changes = event.changes or {}
        if event.verb == "order.updated" and set(changes) == {"status"}:
            old, new = changes["status"]
            detail = f"Status: {OrderStatus(old).label} → {OrderStatus(new).label}"
        elif event.verb == "order.updated":
            detail = ", ".join(sorted(changes))
        else:
            detail = ""
        events.append({"event": event, "label": VERBS.get(event.verb, event.verb), "detail": detail})
    _mark([order])
    return {
        "order": order,
        "lines": lines,
        "gross": gross,
        "discounts": gross - cast(Decimal, order.total),
        "events": events,
        "is_purchase": order.status in PURCHASES,
        "can_write": can_write(actor, order, Entity.ORDER),
        "status_form": status_form or StatusForm(initial={"status": order.status, "version": order.version}),
    }


@require_safe
@login_required
@principal_required
def detail_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """GET /sales/orders/<id>/: everything about one order."""
    actor = actor_of(request)
    try:
        order = order_services.order_get(actor=actor, order_id=order_id)
    except NotFound:
        return not_found(request)
    return render(request, "sales/orders/detail.html", _detail_context(actor, order))


def _writable(request: HttpRequest, actor: Principal, order_id: int, what: str) -> Order | HttpResponse:
    """The order the actor may change, or the answer: 404 (missing, or not theirs to read), 403."""
    try:
        order = order_services.order_get(actor=actor, order_id=order_id)
    except NotFound:
        return not_found(request)
    return order if can_write(actor, order, Entity.ORDER) else forbidden(request, what)


@require_POST
@login_required
@principal_required
def status_view(request: HttpRequest, order_id: int) -> HttpResponse:
    """POST /sales/orders/<id>/status/: change the status, with the version the page was opened at."""
    actor = actor_of(request)
    order = _writable(request, actor, order_id, "change this order")
    if isinstance(order, HttpResponse):
        return order
    form = StatusForm(request.POST)
    if not form.is_valid():
        return render(request, "sales/orders/detail.html", _detail_context(actor, order, form), status=400)
    try:
        order_services.order_update(
            actor=actor,
            order=order,
            data={"status": form.cleaned_data["status"]},
            expected_version=form.cleaned_data["version"],
        )
    except StaleVersion:
        form.add_error(None, STALE)
        return render(request, "sales/orders/detail.html", _detail_context(actor, order, form), status=409)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return render(request, "sales/orders/detail.html", _detail_context(actor, order, form), status=exc.status)
    messages.success(request, f"Order {order.number} is now {OrderStatus(form.cleaned_data['status']).label.lower()}.")
    return redirect("orders:detail", order.pk)


# --- create and edit -------------------------------------------------------------------------------


def _form_page(
    request: HttpRequest,
    form: OrderForm,
    lines: Any,
    order: Order | None,
    status: int = 200,
    line_errors: list[str] | None = None,
) -> HttpResponse:
    context = {"form": form, "lines": lines, "order": order, "line_errors": line_errors or [], "max_lines": MAX_LINES}
    return render(request, "sales/orders/form.html", context, status=status)


def _customer_initial(actor: Principal, request: HttpRequest) -> dict[str, Any]:
    """A new order's customer from ?contact=…&company=… (a contact brings their company)."""
    initial: dict[str, Any] = {}
    contact_id, company_id = (request.GET.get(key, "") for key in ("contact", "company"))
    contact = _visible(actor, Contact, Entity.CONTACT, int(contact_id)) if contact_id.isdigit() else None
    if contact is not None:
        initial["contact"] = contact_label(contact)
        company_id = company_id or str(contact.company_id or "")
    company = _visible(actor, Company, Entity.COMPANY, int(company_id)) if company_id.isdigit() else None
    if company is not None:
        initial["company"] = company.name
    return initial


def _posted(request: HttpRequest, form_class: type[OrderForm], products: list[Any]) -> tuple[OrderForm, Any]:
    """ "Add a line" (without script): the form as it was typed, unvalidated, and one more line row."""
    data = request.POST.copy()
    total = data.get(f"{LINES}-TOTAL_FORMS", "0")
    data[f"{LINES}-TOTAL_FORMS"] = str(min(int(total) + 1 if total.isdigit() else 1, MAX_LINES))
    form = form_class(initial={name: request.POST.get(name) for name in form_class.base_fields})
    return form, OrderLineFormSet(data, prefix=LINES, products=products)


def _save(request: HttpRequest, actor: Principal, form: OrderForm, lines: Any, order: Order | None) -> Any:
    """Run the service with the forms' data: the saved order, or the response to give."""
    rows = [row for row in lines.forms if not row.is_blank()]
    sent = [lines.forms.index(row) for row in rows]
    wanted = {row.cleaned_data["product"] for row in rows if row.cleaned_data.get("product")}
    products = Product.objects.filter(org_id=actor.org_id).in_bulk(wanted) if wanted else {}
    currency = form.cleaned_data["currency"]
    data_lines = [row.to_line(products.get(row.cleaned_data.get("product")), currency) for row in rows]
    contact_id, contact_message = contact_by_text(actor, form.cleaned_data.get("contact") or "")
    current = order.company_id if order else None
    company_id, company_message = company_by_name(actor, form.cleaned_data.get("company") or "", current=current)
    data = {**form.to_data(), "contact_id": contact_id, "company_id": company_id, "lines": data_lines}
    try:
        if order is None:
            return order_services.order_create(actor=actor, data=data)
        version = form.cleaned_data["version"]
        return order_services.order_update(actor=actor, order=order, data=data, expected_version=version)
    except PermissionDenied:
        return forbidden(request, "save this order")
    except StaleVersion:
        form.add_error(None, STALE)
        return _form_page(request, form, lines, order, 409)
    except ApplicationError as exc:
        for service_field, field, message in (
            ("contact_id", "contact", contact_message),
            ("company_id", "company", company_message),
        ):
            if message:
                exc.fields.pop(service_field, None)
                form.add_error(field, message)
        line_errors = place_errors(form, lines, sent, exc)
        return _form_page(request, form, lines, order, exc.status, line_errors)


def _submit(
    request: HttpRequest, actor: Principal, form_class: type[OrderForm], order: Order | None
) -> HttpResponse | Order:
    """A POST of the form: "Add a line", invalid input (400), or the service's answer."""
    products = order_selectors.product_choices(actor, include=_product_ids(order))
    if "add_line" in request.POST:
        form, lines = _posted(request, form_class, products)
        return _form_page(request, form, lines, order)
    form = form_class(request.POST)
    lines = OrderLineFormSet(request.POST, prefix=LINES, products=products)
    if not (form.is_valid() & lines.is_valid()):  # both validated: every error shows at once
        return _form_page(request, form, lines, order, 400)
    return _save(request, actor, form, lines, order)


def _product_ids(order: Order | None) -> set[int]:
    return {line.product_id for line in order.lines.all() if line.product_id} if order else set()


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def create_page(request: HttpRequest) -> HttpResponse:
    """GET /sales/orders/new/?contact=…&company=…: the form; POST: create the order."""
    actor = actor_of(request)
    if not actor.can(Entity.ORDER, Mode.WRITE):
        return forbidden(request, "add orders")
    if request.method != "POST":
        initial: dict[str, Any] = {"currency": actor.org.base_currency, "status": OrderStatus.CONFIRMED}
        initial |= {"ordered_at": timezone.now().replace(second=0, microsecond=0), **_customer_initial(actor, request)}
        products = order_selectors.product_choices(actor)
        lines = OrderLineFormSet(prefix=LINES, initial=[{}] * EXTRA_LINES, products=products)
        return _form_page(request, OrderForm(initial=initial), lines, None)
    result = _submit(request, actor, OrderForm, None)
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, f"Order {result.number} added.")
    return redirect("orders:detail", result.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def edit_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """GET: the form with the order's values; POST: save with the version the form was opened at."""
    actor = actor_of(request)
    order = _writable(request, actor, order_id, "change this order")
    if isinstance(order, HttpResponse):
        return order
    if request.method != "POST":
        products = order_selectors.product_choices(actor, include=_product_ids(order))
        existing = list(order.lines.all())
        lines = OrderLineFormSet(prefix=LINES, initial=[*line_initial(existing), {}], products=products)
        return _form_page(request, OrderEditForm(initial=_values(order)), lines, order)
    result = _submit(request, actor, OrderEditForm, order)
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, f"Order {result.number} saved.")
    return redirect("orders:detail", result.pk)


def _values(order: Order) -> dict[str, Any]:
    contact = order.contact if order.contact and order.contact.deleted_at is None else None
    return {
        "contact": contact_label(contact) if contact else "",
        "company": order.company.name if order.company else "",
        "ordered_at": order.ordered_at,
        "status": order.status,
        "currency": order.currency,
        "external_id": order.external_id,
        "version": order.version,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def delete_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """GET: "delete this order?"; POST: move it to the trash and go back to the list."""
    actor = actor_of(request)
    order = _writable(request, actor, order_id, "delete this order")
    if isinstance(order, HttpResponse):
        return order
    if request.method != "POST":
        return render(request, "sales/orders/confirm_delete.html", {"order": order})
    try:
        order_services.order_delete(actor=actor, order=order)
    except PermissionDenied:
        return forbidden(request, "delete this order")
    messages.success(request, f"Order {order.number} deleted.")
    return redirect("orders:list")
