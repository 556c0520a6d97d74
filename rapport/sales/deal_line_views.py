"""The deal's products page (/deals/<id>/products/: its line items as rows to edit, with a product
picker) and "Create order" of a won deal (/deals/<id>/order/, POST).

Thin: writes through rapport.sales.deal_lines and quote_services; their errors show on the row and
field they name. Missing, trashed and other workspaces' deals answer 404; a deal the member may
read but not change answers 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity
from rapport.contacts.views.common import actor_of, forbidden, not_found
from rapport.core.access import can_write
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.sales import deal_lines, deal_selectors, quote_services
from rapport.sales.models import Deal
from rapport.sales.quote_forms import LineFormSet, line_formset, line_rows, product_choices


def _page(request: HttpRequest, deal: Deal, formset: LineFormSet, version: int, status: int = 200) -> HttpResponse:
    context = {"deal": deal, "formset": formset, "version": version}
    return render(request, "sales/deals/lines.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def lines_page(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: the deal's lines as rows (and blank ones); POST: replace them all."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id)
    except NotFound:
        return not_found(request)
    if not can_write(actor, deal, Entity.DEAL):
        return forbidden(request, "change this deal's products")
    current = deal_lines.deal_lines(deal=deal)
    products = product_choices(actor, keep={line.product_id for line in current if line.product_id})
    if request.method != "POST":
        formset = line_formset(products=products, initial=line_rows(current))
        return _page(request, deal, formset, deal.version)
    version_text = request.POST.get("version", "")
    version = int(version_text) if version_text.isdigit() else None
    formset = line_formset(products=products, data=request.POST)
    if "more_rows" in request.POST:
        return _page(request, deal, formset, version or deal.version)
    if not formset.is_valid() or version is None:
        return _page(request, deal, formset, version or deal.version, 422)
    rows, at = formset.rows()
    try:
        deal_lines.deal_lines_set(actor=actor, deal=deal, lines=rows, expected_version=version)
    except PermissionDenied:
        return forbidden(request, "change this deal's products")
    except StaleVersion:
        formset.service_errors = ["Someone else changed this deal since you opened it — reload to see their changes."]
        return _page(request, deal, formset, version, 409)
    except ApplicationError as exc:
        formset.add_service_error(exc, at)
        return _page(request, deal, formset, version, exc.status)
    messages.success(request, f"Products of “{deal.name}” saved.")
    return redirect("sales:detail", deal.pk)


@require_POST
@login_required
@principal_required
def order_view(request: HttpRequest, deal_id: int) -> HttpResponse:
    """POST: make the order of a won deal, then back to the deal with a message."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id)
    except NotFound:
        return not_found(request)
    try:
        order = quote_services.deal_create_order(actor=actor, deal=deal)
    except PermissionDenied:
        return forbidden(request, "create orders from this deal")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("sales:detail", deal.pk)
    messages.success(request, f"Order {order.number} created from “{deal.name}”.")
    return redirect("sales:detail", deal.pk)
