"""The deal pages besides the board: the list (/deals/list/, the board's filters, sortable,
keyset-paged), a deal's page (/deals/<id>/: fields, contacts with roles, competitors, line items,
stage history, events, and move / edit / delete), the create and edit forms, and delete.

Thin: reads through rapport.sales.deal_selectors / board_selectors, writes through
rapport.sales.deal_services; the services' field errors show on the forms' fields. Missing,
trashed and other workspaces' deals answer 404; a write the role does not allow answers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.contacts.models import Company, Contact
from rapport.contacts.views.common import (
    actor_of,
    add_errors,
    company_by_name,
    contact_by_text,
    contact_label,
    forbidden,
    member_choices,
    not_found,
)
from rapport.core.access import can_write, scope
from rapport.core.customfields.definitions import fields_of
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.principal import Principal
from rapport.sales import board_selectors, deal_lines, deal_selectors, deal_services, quote_services
from rapport.sales.board_views import FILTER_KEYS, filter_query, mark_cards, pipelines_of, team_choices
from rapport.sales.deal_forms import DealEditForm, DealForm, DealListForm, MoveForm
from rapport.sales.models import Competitor, Deal, DealLine, StageKind
from rapport.web.custom_fields import initial as custom_initial
from rapport.web.custom_fields import shown_values

VERBS = {
    "deal.created": "Created",
    "deal.updated": "Changed",
    "deal.moved": "Moved",
    "deal.trashed": "Deleted",
    "deal.restored": "Restored",
    "deal.lines_changed": "Products changed",
    # Its quotes' and orders' events ({number}: the quote's or order's number).
    "quote.created": "Quote {number} created",
    "quote.updated": "Quote {number} changed",
    "quote.sent": "Quote {number} sent",
    "quote.accepted": "Quote {number} accepted",
    "quote.declined": "Quote {number} declined",
    "quote.revised": "Quote {number} back to draft",
    "order.created": "Order {number} created",
    "order.updated": "Order {number} changed",
    "order.trashed": "Order {number} deleted",
}


@require_safe
@login_required
@principal_required
def list_page(request: HttpRequest) -> HttpResponse:
    """GET /deals/list/?pipeline=…: the deals of a pipeline, filtered and sorted, 50 a page."""
    actor = actor_of(request)
    if not actor.can(Entity.DEAL):
        return forbidden(request, "see the deals")
    pipelines = pipelines_of(actor)
    raw = request.GET.get("pipeline") or ""
    pipeline = next((p for p in pipelines if str(p.pk) == raw), None) if raw else pipelines[0]
    if pipeline is None:
        return not_found(request)
    form = DealListForm(request.GET or None, owners=member_choices(actor), teams=team_choices(actor))
    context: dict[str, Any] = {"form": form, "pipeline": pipeline, "pipelines": pipelines, "page": None}
    context["query"] = filter_query(request)
    context["clear_url"] = f"{reverse('sales:list')}?pipeline={pipeline.pk}"
    context["can_create"] = actor.can(Entity.DEAL, Mode.WRITE)
    context["list_query"] = filter_query(request, ("pipeline", "sort", *FILTER_KEYS))
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; correct them or clear them."
        return render(request, "sales/deals/list.html", context, status=400)
    filters = form.filters()
    filters = deal_selectors.DealFilter(**{**filters.__dict__, "pipeline_id": pipeline.pk})
    sort = (form.cleaned_data.get("sort") if form.is_bound else "") or "-created"
    try:
        page = board_selectors.deal_rows(actor=actor, filters=filters, sort=sort, cursor=request.GET.get("cursor"))
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "sales/deals/list.html", context, status=400)
    mark_cards(actor, page.items)
    context.update(page=page, filtered=bool(context["query"]))
    return render(request, "sales/deals/list.html", context)


def _timeline(actor: Principal, deal: Deal) -> list[dict[str, Any]]:
    items = []
    for event in quote_services.deal_page_events(actor=actor, deal=deal):
        changes = event.changes or {}
        number = (changes.get("number") or [None, ""])[-1] or ""
        if event.verb == "deal.moved" and "stage" in changes:
            detail = f"{changes['stage'][0]} → {changes['stage'][1]}"
            if changes.get("lost_reason", [None, ""])[1]:
                detail += f" (lost reason: {changes['lost_reason'][1]})"
        elif event.verb == "deal.updated":
            detail = "Changed: " + ", ".join(sorted(changes))
        elif "total" in changes and event.subject_type != "deal":
            currency = (changes.get("currency") or [None, ""])[-1] or ""
            detail = f"Total: {currency} {changes['total'][1]}".replace("  ", " ")
        elif event.verb == "deal.lines_changed" and "amount" in changes:
            detail = f"Amount: {changes['amount'][0]} → {changes['amount'][1]}"
        else:
            detail = ""
        label = VERBS.get(event.verb, event.verb).replace("{number}", str(number))
        items.append({"event": event, "label": label, "detail": detail})
    return items


def _sales_context(actor: Principal, deal: Deal) -> dict[str, Any]:
    """The deal page's products, quotes and orders, and whether "Create order" applies."""
    lines = deal_lines.deal_lines(deal=deal)
    orders = quote_services.deal_orders(actor=actor, deal=deal)
    writable = can_write(actor, deal, Entity.DEAL)
    return {
        "lines": lines,
        "lines_total": deal_lines.lines_total(lines),
        "quotes": list(
            quote_services.quote_list(actor=actor, deal_id=deal.pk)
            .prefetch_related(None)
            .order_by("-created_at", "-id")[:20]
        ),
        "orders": orders,
        "can_order": writable
        and bool(lines)
        and not orders
        and deal.stage.kind == StageKind.WON
        and actor.can(Entity.ORDER, Mode.WRITE),
    }


@require_safe
@login_required
@principal_required
def detail_page(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET /deals/<id>/: everything about one deal."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id)
    except NotFound:
        return not_found(request)
    mark_cards(actor, [deal])
    stages = list(deal.pipeline.stages.order_by("position", "id"))
    context = {
        "deal": deal,
        "history": deal_selectors.deal_history(actor=actor, deal=deal),
        "timeline": _timeline(actor, deal),
        **_sales_context(actor, deal),
        "custom": shown_values(fields_of(actor.org_id, "deal"), deal.custom),
        "move_form": MoveForm(initial={"version": deal.version, "stage": deal.stage_id}, stages=stages),
        "can_write": can_write(actor, deal, Entity.DEAL),
    }
    return render(request, "sales/deals/detail.html", context)


def _form_kwargs(actor: Principal) -> dict[str, Any]:
    competitors = Competitor.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).order_by("name")
    return {
        "member_choices": member_choices(actor),
        "custom_fields": fields_of(actor.org_id, "deal"),
        "pipelines": pipelines_of(actor),
        "teams": team_choices(actor),
        "competitors": [(c.pk, c.name) for c in competitors],
    }


def _form_page(request: HttpRequest, form: DealForm, deal: Deal | None, status: int = 200) -> HttpResponse:
    return render(request, "sales/deals/form.html", {"form": form, "deal": deal}, status=status)


def _save(request: HttpRequest, form: DealForm, deal: Deal | None) -> Deal | HttpResponse:
    """Run the service with the form's data; the saved deal, or the response to give."""
    actor = actor_of(request)
    current = deal.company_id if deal else None
    company_id, message = company_by_name(actor, form.cleaned_data.get("company") or "", current=current)
    contact_id, contact_message = contact_by_text(actor, form.cleaned_data.get("contact") or "")
    lookups = {"company_id": ("company", message), "contact_id": ("contact", contact_message)}
    links: list[dict[str, Any]] = []
    for row, text, role in form.link_texts():
        link_id, link_message = contact_by_text(actor, text)
        lookups[f"contacts.{len(links)}.contact_id"] = (f"link_contact_{row}", link_message)
        form.link_rows.append(row)
        links.append({"contact_id": link_id, "role": role})
    data = {**form.to_data(), "company_id": company_id, "contact_id": contact_id, "contacts": links}
    try:
        if deal is None:
            return deal_services.deal_create(actor=actor, data=data)
        return deal_services.deal_update(
            actor=actor, deal=deal, data=data, expected_version=form.cleaned_data["version"]
        )
    except PermissionDenied:
        return forbidden(request, "save this deal")
    except StaleVersion:
        form.add_error(None, "Someone else changed this deal since you opened it — reload to see their changes.")
        return _form_page(request, form, deal, 409)
    except ApplicationError as exc:
        add_errors(form, exc, lookups)
        return _form_page(request, form, deal, exc.status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def create_page(request: HttpRequest) -> HttpResponse:
    """GET /deals/new/?contact=…&company=…&pipeline=…: the form; POST: create the deal."""
    actor = actor_of(request)
    if not actor.can(Entity.DEAL, Mode.WRITE):
        return forbidden(request, "add deals")
    kwargs = _form_kwargs(actor)
    if request.method != "POST":
        return _form_page(request, DealForm(initial=_initial(actor, request, kwargs), **kwargs), None)
    form = DealForm(request.POST, **kwargs)
    if "more_rows" in request.POST:
        return _form_page(request, form, None)
    if not form.is_valid():
        return _form_page(request, form, None, 400)
    result = _save(request, form, None)
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, f"Deal “{result.name}” added.")
    return redirect("sales:detail", result.pk)


def _initial(actor: Principal, request: HttpRequest, kwargs: dict[str, Any]) -> dict[str, Any]:
    initial: dict[str, Any] = {"currency": actor.org.base_currency, "owner": actor.user_id, "amount": 0}
    pipelines = kwargs["pipelines"]
    raw = request.GET.get("pipeline", "")
    initial["pipeline"] = next((p.pk for p in pipelines if str(p.pk) == raw), pipelines[0].pk if pipelines else None)
    if len(actor.team_ids) == 1:
        initial["team"] = next(iter(actor.team_ids))
    contact_id = request.GET.get("contact", "")
    if contact_id.isdigit():
        contact = scope(actor, Contact.objects.alive(), Entity.CONTACT).filter(pk=int(contact_id)).first()
        if contact is not None:
            initial["contact"] = contact_label(contact)
            if contact.company_id and not request.GET.get("company"):
                initial["company"] = (
                    Company.objects.filter(pk=contact.company_id).values_list("name", flat=True).first()
                )
    company_id = request.GET.get("company", "")
    if company_id.isdigit():
        name = (
            scope(actor, Company.objects.alive(), Entity.COMPANY)
            .filter(pk=int(company_id))
            .values_list("name", flat=True)
            .first()
        )
        if name:
            initial["company"] = name
    return initial


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def edit_page(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: the form with the deal's values; POST: save with the version the form was opened at."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id)
    except NotFound:
        return not_found(request)
    if not can_write(actor, deal, Entity.DEAL):
        return forbidden(request, "change this deal")
    kwargs = _form_kwargs(actor)
    # With line items the amount and currency are shown, not posted: their initial values stand.
    kwargs.update(initial=_values(deal, kwargs), has_lines=DealLine.objects.filter(deal=deal).exists())
    if request.method != "POST":
        return _form_page(request, DealEditForm(initial_rows=len(deal.contact_links.all()), **kwargs), deal)
    form = DealEditForm(request.POST, **kwargs)
    if "more_rows" in request.POST:
        return _form_page(request, form, deal)
    if not form.is_valid():
        return _form_page(request, form, deal, 400)
    result = _save(request, form, deal)
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, f"Deal “{result.name}” saved.")
    return redirect("sales:detail", result.pk)


def _values(deal: Deal, kwargs: dict[str, Any]) -> dict[str, Any]:
    names = ("name", "amount", "currency", "expected_close_date", "source", "lost_reason", "version")
    values: dict[str, Any] = {name: getattr(deal, name) for name in names}
    values.update(
        owner=deal.owner_id,
        team=deal.team_id,
        contact=contact_label(deal.contact) if deal.contact and deal.contact.deleted_at is None else "",
        company=deal.company.name if deal.company else "",
        competitors=[c.pk for c in deal.competitors.all()],
    )
    for i, link in enumerate(deal.contact_links.all()):
        values[f"link_contact_{i}"] = contact_label(link.contact)
        values[f"link_role_{i}"] = link.role
    values.update(custom_initial(kwargs["custom_fields"], deal.custom))
    return values


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def delete_page(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: "delete this deal?"; POST: move it to the trash and go back to its board."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id)
    except NotFound:
        return not_found(request)
    if not can_write(actor, deal, Entity.DEAL):
        return forbidden(request, "delete this deal")
    if request.method != "POST":
        return render(request, "sales/deals/confirm_delete.html", {"deal": deal})
    try:
        deal_services.deal_delete(actor=actor, deal=deal)
    except PermissionDenied:
        return forbidden(request, "delete this deal")
    messages.success(request, f"Deal “{deal.name}” deleted.")
    return redirect(reverse("sales:pipeline_board", args=[deal.pipeline_id]))
