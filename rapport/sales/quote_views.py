"""The quote pages: the list (/sales/quotes/: status and text filters, keyset pages), a quote
(/sales/quotes/<id>/: lines, totals and its actions), the draft's edit page, the new-quote page of
a deal (/deals/<id>/quotes/new/), the status actions and "Create order" (POST), the printable
quote (/sales/quotes/<id>/print/) and its PDF (/sales/quotes/<id>/pdf/).

Thin: reads and writes through rapport.sales.quote_services; service errors show on the form's
fields. Quotes follow their deal's access: a quote the member cannot read answers 404, a write
the role does not allow answers 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.contacts.views.common import actor_of, forbidden, not_found
from rapport.core.access import can_write
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.pagination import paginate
from rapport.core.principal import Principal
from rapport.sales import deal_lines, deal_selectors, quote_pdf, quote_services
from rapport.sales.models import Quote, QuoteStatus
from rapport.sales.quote_forms import (
    LineFormSet,
    QuoteCreateForm,
    QuoteEditForm,
    QuoteFilterForm,
    line_formset,
    line_rows,
    product_choices,
)

PAGE_SIZE = 50
ACTIONS = {
    "send": "Quote {number} marked as sent.",
    "accept": "Quote {number} accepted.",
    "decline": "Quote {number} declined.",
    "revise": "Quote {number} is a draft again.",
}


def _get(request: HttpRequest, quote_id: int) -> Quote | HttpResponse:
    try:
        return quote_services.quote_get(actor=actor_of(request), quote_id=quote_id)
    except NotFound:
        return not_found(request)


@require_safe
@login_required
@principal_required
def list_page(request: HttpRequest) -> HttpResponse:
    """GET /sales/quotes/: the quotes of the deals the member may read, newest first, 50 a page."""
    actor = actor_of(request)
    if not actor.can(Entity.DEAL):
        return forbidden(request, "see the quotes")
    form = QuoteFilterForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "page": None, "error": ""}
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; clear them and try again."
        return render(request, "sales/quotes/list.html", context, status=400)
    data = form.cleaned_data if form.is_bound else {}
    deal_raw = request.GET.get("deal", "")
    deal_id = int(deal_raw) if deal_raw.isdigit() and len(deal_raw) < 19 else None
    qs = quote_services.quote_list(actor=actor, status=data.get("status") or None, deal_id=deal_id)
    qs = qs.prefetch_related(None)  # the list shows no lines
    text = (data.get("q") or "").strip()
    if text:
        number = text.removeprefix("Q").removeprefix("-").strip()
        match = Q(title__icontains=text)
        if number.isdigit() and len(number) < 19:
            match |= Q(number=int(number))
        qs = qs.filter(match)
    try:
        page = paginate(qs, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE, ordering=("-created_at", "-id"))
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "sales/quotes/list.html", context, status=400)
    keep = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    context.update(page=page, query=urlencode(keep), filtered=bool(keep))
    return render(request, "sales/quotes/list.html", context)


def _detail_context(actor: Principal, quote: Quote) -> dict[str, Any]:
    order = quote_services.quote_order(quote)
    writable = quote_services.can_write_quote(actor, quote)
    lines = list(quote.lines.all())
    for line in lines:
        line.tax = quote_services.line_tax(line)  # type: ignore[attr-defined]
    return {
        "quote": quote,
        "lines": lines,
        "order": order,
        "can_write": writable,
        "can_order": writable
        and quote.status == QuoteStatus.ACCEPTED
        and order is None
        and actor.can(Entity.ORDER, Mode.WRITE),
        "actions": [
            (action, label)
            for action, label in (("send", "Mark as sent"), ("accept", "Accepted"), ("decline", "Declined"))
            if quote.status in quote_services.TRANSITIONS[action][0]
        ],
        "can_revise": quote.status == QuoteStatus.SENT,
    }


@require_safe
@login_required
@principal_required
def detail_page(request: HttpRequest, quote_id: int) -> HttpResponse:
    """GET /sales/quotes/<id>/: the quote with its lines, totals and actions."""
    quote = _get(request, quote_id)
    if isinstance(quote, HttpResponse):
        return quote
    return render(request, "sales/quotes/detail.html", _detail_context(actor_of(request), quote))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def create_page(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET /deals/<id>/quotes/new/: title, tax, validity and notes; POST: make the draft."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id)
    except NotFound:
        return not_found(request)
    if not can_write(actor, deal, Entity.DEAL):
        return forbidden(request, "make quotes for this deal")
    lines = deal_lines.deal_lines(deal=deal)
    context: dict[str, Any] = {"deal": deal, "lines": lines, "lines_total": deal_lines.lines_total(lines)}
    if request.method != "POST":
        context["form"] = QuoteCreateForm(initial={"title": deal.name, "tax_percent": 0})
        return render(request, "sales/quotes/create.html", context)
    form = context["form"] = QuoteCreateForm(request.POST)
    if not form.is_valid():
        return render(request, "sales/quotes/create.html", context, status=422)
    data = {key: value for key, value in form.cleaned_data.items() if value is not None}
    data["tax_percent"] = str(form.cleaned_data["tax_percent"])
    if form.cleaned_data.get("valid_until") is None:
        data.pop("valid_until", None)
    try:
        quote = quote_services.quote_create(actor=actor, deal=deal, data=data)
    except PermissionDenied:
        return forbidden(request, "make quotes for this deal")
    except ApplicationError as exc:
        form.add_service_error(exc)
        return render(request, "sales/quotes/create.html", context, status=exc.status)
    messages.success(request, f"Quote {quote.number} created as a draft.")
    return redirect("quotes:detail", quote.pk)


def _edit_page(request: HttpRequest, quote: Quote, form: Any, formset: LineFormSet, status: int = 200) -> HttpResponse:
    context = {"quote": quote, "form": form, "formset": formset}
    return render(request, "sales/quotes/edit.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def edit_page(request: HttpRequest, quote_id: int) -> HttpResponse:
    """GET: the draft's fields and lines; POST: save them (drafts only)."""
    actor = actor_of(request)
    quote = _get(request, quote_id)
    if isinstance(quote, HttpResponse):
        return quote
    if not quote_services.can_write_quote(actor, quote):
        return forbidden(request, "change this quote")
    if quote.status != QuoteStatus.DRAFT:
        messages.error(request, f"Quote {quote.number} is {quote.get_status_display().lower()}: only drafts change.")
        return redirect("quotes:detail", quote.pk)
    current = list(quote.lines.all())
    products = product_choices(actor, keep={line.product_id for line in current if line.product_id})
    if request.method != "POST":
        names = ("title", "issued_on", "valid_until", "notes", "version")
        form = QuoteEditForm(initial={name: getattr(quote, name) for name in names})
        formset = line_formset(products=products, initial=line_rows(current, quote=True), quote=True)
        return _edit_page(request, quote, form, formset)
    form = QuoteEditForm(request.POST)
    formset = line_formset(products=products, data=request.POST, quote=True)
    if "more_rows" in request.POST:
        return _edit_page(request, quote, form, formset)
    if not form.is_valid() or not formset.is_valid():
        return _edit_page(request, quote, form, formset, 422)
    rows, at = formset.rows()
    data = {name: form.cleaned_data.get(name) for name in ("title", "issued_on", "valid_until", "notes")}
    data["lines"] = rows
    try:
        quote = quote_services.quote_update(
            actor=actor, quote=quote, data=data, expected_version=form.cleaned_data["version"]
        )
    except PermissionDenied:
        return forbidden(request, "change this quote")
    except StaleVersion:
        form.add_error(None, "Someone else changed this quote since you opened it — reload to see their changes.")
        return _edit_page(request, quote, form, formset, 409)
    except ApplicationError as exc:
        formset.add_service_error(exc, at)
        if not exc.fields:
            formset.service_errors = []  # the form shows the message
        form.add_service_error(ApplicationError(exc.code, exc.message, fields=_not_lines(exc.fields)))
        return _edit_page(request, quote, form, formset, exc.status)
    messages.success(request, f"Quote {quote.number} saved.")
    return redirect("quotes:detail", quote.pk)


def _not_lines(fields: dict[str, str]) -> dict[str, str]:
    others = {key: value for key, value in fields.items() if not key.startswith("lines")}
    return others or ({"__all__": "Correct the lines below."} if fields else {})


@require_POST
@login_required
@principal_required
def transition_view(request: HttpRequest, quote_id: int, action: str) -> HttpResponse:
    """POST /sales/quotes/<id>/<send|accept|decline|revise>/ with the version the page showed."""
    actor = actor_of(request)
    quote = _get(request, quote_id)
    if isinstance(quote, HttpResponse):
        return quote
    if action not in ACTIONS:
        return not_found(request)
    raw = request.POST.get("version", "")
    try:
        quote = quote_services.quote_transition(
            actor=actor, quote=quote, action=action, expected_version=int(raw) if raw.isdigit() else -1
        )
    except PermissionDenied:
        return forbidden(request, "change this quote")
    except StaleVersion:
        messages.error(request, "Someone else changed this quote meanwhile; here it is as it is now.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ACTIONS[action].format(number=quote.number))
    return redirect("quotes:detail", quote.pk)


@require_POST
@login_required
@principal_required
def order_view(request: HttpRequest, quote_id: int) -> HttpResponse:
    """POST: make the order of an accepted quote (once)."""
    actor = actor_of(request)
    quote = _get(request, quote_id)
    if isinstance(quote, HttpResponse):
        return quote
    try:
        order = quote_services.quote_create_order(actor=actor, quote=quote)
    except PermissionDenied:
        return forbidden(request, "create orders")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("quotes:detail", quote.pk)
    messages.success(request, f"Order {order.number} created from quote {quote.number}.")
    return redirect("quotes:detail", quote.pk)


@require_safe
@login_required
@principal_required
def print_page(request: HttpRequest, quote_id: int) -> HttpResponse:
    """GET: the quote as a printable page (its own clean layout and print styles)."""
    quote = _get(request, quote_id)
    if isinstance(quote, HttpResponse):
        return quote
    context = quote_pdf.document_context(actor_of(request), quote)
    return render(request, "sales/quotes/document.html", context)


@require_safe
@login_required
@principal_required
def pdf_view(request: HttpRequest, quote_id: int) -> HttpResponse:
    """GET: the printable quote as a PDF download."""
    quote = _get(request, quote_id)
    if isinstance(quote, HttpResponse):
        return quote
    try:
        return quote_pdf.pdf_response(actor_of(request), quote)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("quotes:detail", quote.pk)
