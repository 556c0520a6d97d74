"""The deal board: /deals/ (the first pipeline) and /deals/board/<pipeline>/, one column per stage
with its count and total in the base currency, the first cards of each column and "Show more"
(an HTMX fragment of the next cards, keyset-paged); and the move of a deal (drag and drop in
rapport.js, or the "Move to…" form of each card, which works without script).

Every read goes through rapport.sales.board_selectors / deal_selectors, every move through
`deal_move` with the version the page showed (a stale one answers 412, a lost stage without a
reason 422 with the reason's form).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_safe

from rapport.accounts import selectors as account_selectors
from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.contacts.views.common import actor_of, forbidden, is_htmx, member_choices, not_found
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, StaleVersion
from rapport.core.principal import Principal
from rapport.sales import board_selectors, deal_selectors, deal_services, pipeline_selectors
from rapport.sales.deal_forms import DealFilterForm, MoveForm
from rapport.sales.models import Deal, Pipeline, Stage, StageKind

FILTER_KEYS = ("owner", "team", "close_from", "close_to", "amount_min", "amount_max")
STALE = "Someone else moved or changed “{name}” since you opened this page; it was reloaded — try again."


def pipelines_of(actor: Principal) -> list[Pipeline]:
    return list(pipeline_selectors.pipeline_list(actor=actor).order_by(*pipeline_selectors.ORDERING))


def team_choices(actor: Principal) -> list[tuple[int, str]]:
    return [(t.pk, t.name) for t in account_selectors.team_list(actor=actor)]


def filter_query(request: HttpRequest, keys: tuple[str, ...] = FILTER_KEYS) -> str:
    """The filters of the request as a query string (for column, "Show more" and list links)."""
    return urlencode({key: request.GET[key] for key in keys if request.GET.get(key)})


def mark_cards(actor: Principal, deals: list[Deal]) -> list[Deal]:
    """Each deal with `writable` (may the actor move it: one query for all), `days` (in its
    stage) and `rotting`."""
    ids = [deal.pk for deal in deals]
    writable = set(scope(actor, Deal.objects.filter(pk__in=ids), Entity.DEAL, Mode.WRITE).values_list("pk", flat=True))
    for deal in deals:
        deal.writable = deal.pk in writable  # type: ignore[attr-defined]
        deal.days = board_selectors.days_in_stage(deal)  # type: ignore[attr-defined]
        rot = deal.stage.rotting_days
        deal.rotting = deal.stage.kind == StageKind.OPEN and rot is not None and deal.days > rot  # type: ignore[attr-defined]
    return deals


def _pipeline(pipelines: list[Pipeline], pipeline_id: int | None) -> Pipeline:
    if pipeline_id is None:
        return pipelines[0]
    for pipeline in pipelines:
        if pipeline.pk == pipeline_id:
            return pipeline
    raise NotFound()


@require_safe
@login_required
@principal_required
def board_page(request: HttpRequest, pipeline_id: int | None = None) -> HttpResponse:
    """GET /deals/ and /deals/board/<pipeline_id>/: the board, filtered."""
    actor = actor_of(request)
    if not actor.can(Entity.DEAL):
        return forbidden(request, "see the deals")
    pipelines = pipelines_of(actor)
    try:
        pipeline = _pipeline(pipelines, pipeline_id)
    except NotFound:
        return not_found(request)
    form = DealFilterForm(request.GET or None, owners=member_choices(actor), teams=team_choices(actor))
    context: dict[str, Any] = {
        "form": form,
        "pipeline": pipeline,
        "pipelines": pipelines,
        "stages": list(pipeline.stages.all()),
        "columns": [],
        **_urls(request, pipeline),
        "base_currency": actor.org.base_currency,
        "can_create": actor.can(Entity.DEAL, Mode.WRITE),
    }
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; correct them or clear them."
        return render(request, "sales/deals/board.html", context, status=400)
    columns = board_selectors.board_columns(actor=actor, pipeline=pipeline, filters=form.filters())
    mark_cards(actor, [deal for column in columns if column.page for deal in column.page.items])
    context["columns"] = columns
    return render(request, "sales/deals/board.html", context)


@require_safe
@login_required
@principal_required
def column_view(request: HttpRequest, stage_id: int) -> HttpResponse:
    """GET /deals/board/stages/<stage_id>/: one column (HTMX, after a move) or, with `cursor`, its
    next cards ("Show more")."""
    actor = actor_of(request)
    if not actor.can(Entity.DEAL):
        return forbidden(request, "see the deals")
    try:
        stage = pipeline_selectors.stage_get(actor=actor, stage_id=stage_id)
    except NotFound:
        return not_found(request)
    form = DealFilterForm(request.GET, owners=member_choices(actor), teams=team_choices(actor))
    if not form.is_valid():
        return HttpResponse("Some filters are not valid; correct them on the board.", status=400)
    pipeline = stage.pipeline
    context: dict[str, Any] = {"pipeline": pipeline, "stages": _stages(pipeline), **_urls(request, pipeline)}
    cursor = request.GET.get("cursor")
    try:
        if cursor:
            page = board_selectors.column_cards(actor=actor, stage=stage, filters=form.filters(), cursor=cursor)
            mark_cards(actor, page.items)
            context.update(stage=stage, page=page)
            return render(request, "sales/deals/_cards.html", context)
        (column,) = board_selectors.board_columns(actor=actor, pipeline=pipeline, filters=form.filters(), stage=stage)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    if column.page is not None:
        mark_cards(actor, column.page.items)
    context.update(column=column, base_currency=actor.org.base_currency)
    return render(request, "sales/deals/_column.html", context)


def _urls(request: HttpRequest, pipeline: Pipeline) -> dict[str, str]:
    """The filters' query string, and the board's address with and without them."""
    query = filter_query(request)
    plain = reverse("sales:pipeline_board", args=[pipeline.pk])
    return {"query": query, "board_url_plain": plain, "board_url": f"{plain}?{query}" if query else plain}


def _stages(pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.order_by("position", "id"))


def _next_url(request: HttpRequest, deal: Deal) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("sales:detail", args=[deal.pk])


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def move_view(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: the move form (a page, or the board's lost-reason dialog for HTMX); POST: move the deal.

    An HTMX/script POST answers 204 on success and a plain-text message with 4xx otherwise; a form
    POST redirects to `next` (or shows the form again with its errors)."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id)
    except NotFound:
        return not_found(request)
    stages = _stages(deal.pipeline)
    htmx = is_htmx(request)
    if request.method != "POST":
        initial = {"version": deal.version, "stage": request.GET.get("stage") or deal.stage_id}
        form = MoveForm(initial=initial, stages=stages)
        return _move_page(request, deal, form, 200)
    form = MoveForm(request.POST, stages=stages)
    if not form.is_valid():
        if htmx:
            return HttpResponse("Choose a stage of this deal's pipeline.", status=400)
        return _move_page(request, deal, form, 400)
    try:
        moved = deal_services.deal_move(
            actor=actor,
            deal=deal,
            stage_id=form.cleaned_data["stage"],
            expected_version=form.cleaned_data["version"],
            lost_reason=form.cleaned_data["lost_reason"] or None,
        )
    except PermissionDenied:
        if htmx:
            return HttpResponse(f"Your role does not let you move “{deal.name}”.", status=403)
        return forbidden(request, "move this deal")
    except (StaleVersion, Conflict) as exc:
        message = STALE.format(name=deal.name)
        if htmx:
            return HttpResponse(message, status=exc.status)
        data = {**form.cleaned_data, "version": deal.version, "lost_reason": form.cleaned_data["lost_reason"]}
        form = MoveForm(data, stages=stages)  # at the version now: sending it again moves the deal
        form.is_valid()
        form.add_error(None, message)
        return _move_page(request, deal, form, 409)
    except ApplicationError as exc:
        if htmx:
            return HttpResponse(" ".join(exc.fields.values()) or exc.message, status=exc.status)
        for name, text in exc.fields.items():
            form.add_error(name if name in {"lost_reason"} else None, text)
        if not exc.fields:
            form.add_error(None, exc.message)
        return _move_page(request, deal, form, exc.status)
    if htmx:
        return HttpResponse(status=204)
    messages.success(request, f"“{moved.name}” moved to {moved.stage.name}.")
    return redirect(_next_url(request, moved))


def _move_page(request: HttpRequest, deal: Deal, form: MoveForm, status: int) -> HttpResponse:
    template = "sales/deals/_lost_dialog.html" if is_htmx(request) else "sales/deals/move.html"
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, template, {"deal": deal, "form": form, "next": next_url}, status=status)
