"""The forecast page (/sales/forecast/) and the quota grid (/sales/forecast/quotas/).

The forecast page shows rapport.sales.forecast for the period kind, range, grouping and pipeline
chosen in its filter bar (GET parameters, the same as the API's): per period closed won, weighted
pipeline, forecast, best case, quota and attainment, and for begun periods the forecast at their
start against what was won, with a bar per period (inline SVG: closed won, weighted pipeline, the
rest of the best case, the quota as a line). Every member who reads deals sees it, narrowed to
what their level covers.

The quota grid (admins and managers) is a form of members x periods: an amount sets a quota, an
emptied cell removes it; each cell carries the version it showed, so a quota someone changed
meanwhile refuses the save (nothing written) instead of being overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.models import Membership, Organization
from rapport.accounts.roles import ROLES, Entity, Level, Mode, Role
from rapport.contacts.views.common import actor_of, forbidden
from rapport.core.errors import ApplicationError, StaleVersion, ValidationFailed
from rapport.core.principal import Principal
from rapport.sales import forecast as selectors
from rapport.sales import quota_services as services
from rapport.sales.models import PeriodKind, Pipeline, Quota

MEMBERS_PER_PAGE = 50
PARAMS = ("period", "start", "periods", "group", "pipeline")
GROUP_LABELS = {"workspace": "Whole workspace", "team": "Team", "owner": "Owner"}
# Roles whose members can own deals: the rows of the quota grid.
SELLING_ROLES = [role.value for role in Role if ROLES[role].level(Entity.DEAL, Mode.WRITE) > Level.NONE]


# --- the forecast page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """A period's bar in percent of its group's largest figure (widths 0-100): closed won, then the
    weighted pipeline, then the rest of the best case; the quota as a line at `quota`."""

    won: float
    weighted: float
    rest: float
    quota: float | None
    label: str

    @property
    def weighted_x(self) -> float:
        return self.won

    @property
    def rest_x(self) -> float:
        return self.won + self.weighted


def _money(value: Decimal | None, currency: str) -> str:
    return "unknown" if value is None else f"{currency} {value:,.2f}"


def _bar(cell: selectors.Cell, scale: Decimal, currency: str) -> Bar | None:
    if cell.closed_won is None or cell.weighted_pipeline is None or cell.best_case is None or not scale:
        return None

    def share(value: Decimal) -> float:
        return round(float(value * 100 / scale), 2)

    won = share(cell.closed_won)
    weighted = share(cell.weighted_pipeline)
    rest = share(cell.best_case - cell.closed_won - cell.weighted_pipeline)
    label = (
        f"Closed won {_money(cell.closed_won, currency)}, weighted pipeline {_money(cell.weighted_pipeline, currency)},"
        f" best case {_money(cell.best_case, currency)}"
    )
    if cell.quota is not None:
        label += f", quota {_money(cell.quota, currency)}"
    return Bar(won=won, weighted=weighted, rest=rest, quota=share(cell.quota) if cell.quota else None, label=label)


def _sections(result: selectors.Forecast) -> list[dict[str, Any]]:
    """The table's row groups: each group's periods (with their bars, scaled to the group's largest
    best case or quota) and its total; the whole workspace last when the rows are teams or owners."""
    rows = list(result.rows)
    if result.query.group != "workspace":
        rows.append(result.total)
    sections = []
    for row in rows:
        figures = [v for cell in row.cells for v in (cell.best_case, cell.quota) if v is not None]
        scale = max(figures, default=Decimal(0))
        lines = [
            {"cell": cell, "status": status, "bar": _bar(cell, scale, result.base_currency)}
            for cell, status in zip(row.cells, result.statuses, strict=True)
        ]
        sections.append({"row": row, "lines": lines, "is_total": row is result.total})
    return sections


def _pipelines(actor: Principal) -> list[tuple[int, str]]:
    return list(
        Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)
        .order_by("position", "name")
        .values_list("pk", "name")
    )


@require_safe
@login_required
@principal_required
def forecast_page(request: HttpRequest) -> HttpResponse:
    """GET /sales/forecast/: the forecast for the filter bar's choices (defaults: this year's
    months, the whole workspace, every pipeline)."""
    actor = actor_of(request)
    if not actor.can(Entity.DEAL):
        return forbidden(request, "see the forecast")
    params = {name: request.GET.get(name, "").strip() for name in PARAMS}
    context: dict[str, Any] = {
        "values": params,
        "pipelines": _pipelines(actor),
        "groups": GROUP_LABELS,
        "errors": {},
        "result": None,
        "can_manage": services.can_manage_quotas(actor),
    }
    try:
        query = selectors.forecast_query(
            actor=actor,
            period=params["period"],
            start=params["start"],
            periods=params["periods"],
            group=params["group"],
            pipeline=params["pipeline"],
        )
    except ValidationFailed as exc:
        context["errors"] = exc.fields
        return render(request, "sales/forecast/page.html", context, status=400)
    result = selectors.forecast(actor=actor, query=query)
    span = result.periods[0].label
    if len(result.periods) > 1:
        span += f" \N{EN DASH} {result.periods[-1].label}"
    pipeline = dict(context["pipelines"]).get(query.pipeline_id) if query.pipeline_id else None
    context.update(
        result=result,
        sections=_sections(result),
        title=f"{span} · {GROUP_LABELS[query.group] if query.group == 'workspace' else 'by ' + query.group}"
        + (f" · {pipeline}" if pipeline else ""),
        values={
            "period": query.period,
            "start": f"{query.start:%Y-%m}",
            "periods": str(query.periods),
            "group": query.group,
            "pipeline": str(query.pipeline_id or ""),
        },
        quotas_query=urlencode({"period": query.period, "start": f"{query.start:%Y-%m}"}),
        has_begun=any(status != "future" for status in result.statuses),
    )
    return render(request, "sales/forecast/page.html", context)


# --- the quota grid ---------------------------------------------------------------------------------


def _grid_periods(request: HttpRequest) -> tuple[str, list[selectors.Period], dict[str, str]]:
    source = request.POST if request.method == "POST" else request.GET
    kind = source.get("period") or PeriodKind.MONTH.value
    errors: dict[str, str] = {}
    if kind not in PeriodKind.values:
        errors["period"] = "Choose month or quarter."
        kind = PeriodKind.MONTH.value
    today = timezone.localdate()
    start = selectors.parse_start(source.get("start") or f"{today.year}-01")
    if start is None or not 1900 <= start.year <= 9000:
        errors["start"] = "Enter the first period as a month, such as 2026-01."
        start = date(today.year, 1, 1)
    return kind, selectors.period_range(kind, start, selectors.DEFAULT_PERIODS[PeriodKind(kind)]), errors


def _grid_members(actor: Principal, periods: list[selectors.Period], kind: str, page: int) -> tuple[list[Any], bool]:
    """Members who sell (or hold a quota in the range), by name: one page of them, and whether
    there is another."""
    holders = Quota.objects.filter(
        org_id=actor.org_id, period=kind, period_start__gte=periods[0].start, period_start__lt=periods[-1].end
    ).values("user_id")
    members = (
        Membership.objects.filter(org_id=actor.org_id)
        .filter(Q(is_active=True, role__in=SELLING_ROLES) | Q(user_id__in=holders))
        .select_related("user")
        .order_by("user__name", "user__email", "id")
    )
    chunk = list(members[(page - 1) * MEMBERS_PER_PAGE : page * MEMBERS_PER_PAGE + 1])
    return chunk[:MEMBERS_PER_PAGE], len(chunk) > MEMBERS_PER_PAGE


def _grid(
    actor: Principal,
    kind: str,
    periods: list[selectors.Period],
    members: list[Membership],
    posted: dict[str, str] | None,
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    """The rows of the grid: per member, per period the input's name, value, version, the sum of
    the months (a quarter's placeholder) and its error. Two queries."""
    users = [m.user_id for m in members]
    quotas = Quota.objects.filter(
        org_id=actor.org_id, user_id__in=users, period_start__gte=periods[0].start, period_start__lt=periods[-1].end
    )
    if kind == PeriodKind.MONTH:
        quotas = quotas.filter(period=PeriodKind.MONTH)
    own: dict[tuple[int, date], Quota] = {}
    months: dict[tuple[int, date], Decimal] = {}
    for quota in quotas:
        if quota.period == kind:
            own[(quota.user_id, quota.period_start)] = quota
        else:
            slot = (quota.user_id, services.period_start_of(kind, quota.period_start))
            months[slot] = months.get(slot, Decimal(0)) + cast(Decimal, quota.amount)
    rows = []
    for member in members:
        cells = []
        for period in periods:
            name = f"{member.user_id}-{period.start.isoformat()}"
            mine = own.get((member.user_id, period.start))
            value = _plain(cast(Decimal, mine.amount)) if mine else ""
            version: Any = mine.version if mine else ""
            if posted is not None:
                value = posted.get(f"q-{name}", value)
                version = posted.get(f"v-{name}", version)
            from_months = months.get((member.user_id, period.start))
            cells.append(
                {
                    "name": name,
                    "value": value,
                    "version": version,
                    "months": f"{from_months:,.2f}" if from_months is not None else "",
                    "error": errors.get(name, ""),
                    "period": period,
                }
            )
        rows.append({"member": member, "cells": cells})
    return rows


def _plain(amount: Decimal) -> str:
    """An amount as typed in a cell: 25000 rather than 25000.00, 99.50 as it is."""
    return f"{amount.quantize(Decimal(1)):f}" if amount == amount.to_integral_value() else f"{amount:f}"


def _cells(post: Any, members: list[Membership], periods: list[selectors.Period]) -> list[services.GridCell]:
    cells = []
    for member in members:
        for period in periods:
            name = f"{member.user_id}-{period.start.isoformat()}"
            if f"q-{name}" not in post:
                continue
            version = post.get(f"v-{name}", "")
            cells.append(
                services.GridCell(
                    user_id=member.user_id,
                    period_start=period.start,
                    amount=post.get(f"q-{name}", ""),
                    version=int(version) if version.isdigit() else None,
                )
            )
    return cells


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def quotas_page(request: HttpRequest) -> HttpResponse:
    """GET: the grid of members x periods (12 months or 4 quarters from `start`); POST: save it."""
    actor = actor_of(request)
    if not services.can_manage_quotas(actor):
        return forbidden(request, "set quotas")
    kind, periods, errors = _grid_periods(request)
    source = request.POST if request.method == "POST" else request.GET
    page = int(source["page"]) if source.get("page", "").isdigit() and 0 < int(source["page"]) < 10_000 else 1
    members, more = _grid_members(actor, periods, kind, page)
    base = Organization.objects.values_list("base_currency", flat=True).get(pk=actor.org_id)
    status, posted, notice = 200, None, ""
    if errors:
        status = 400
    elif request.method == "POST":
        posted = {key: str(value) for key, value in request.POST.items()}
        try:
            saved = services.quota_grid_save(actor=actor, period=kind, cells=_cells(request.POST, members, periods))
        except ValidationFailed as exc:
            errors, status = exc.fields, 422
            notice = "Some amounts are not valid; nothing was saved."
        except StaleVersion:
            status, posted = 409, None
            notice = (
                "Someone changed these quotas while you were editing; the grid shows theirs now. Enter yours again."
            )
        except ApplicationError as exc:
            status, notice = exc.status, exc.message
        else:
            messages.success(
                request, f"Quotas saved: {saved.created} set, {saved.updated} changed, {saved.deleted} removed."
            )
            keep = {"period": kind, "start": f"{periods[0].start:%Y-%m}", "page": page}
            return redirect(reverse("forecast:quotas") + "?" + urlencode(keep))
    context = {
        "kind": kind,
        "periods": periods,
        "rows": _grid(actor, kind, periods, members, posted, errors),
        "errors": errors,
        "notice": notice,
        "base_currency": base,
        "start_month": f"{periods[0].start:%Y-%m}",
        "page": page,
        "more": more,
        "forecast_query": urlencode({"period": kind, "start": f"{periods[0].start:%Y-%m}"}),
    }
    return render(request, "sales/forecast/quotas.html", context, status=status)
