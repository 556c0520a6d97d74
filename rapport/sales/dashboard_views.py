"""The sales dashboard page: /sales/dashboard/?pipeline=&period=&from=&to=&owner=&team=.

Thin: the figures come from rapport.sales.dashboard (over the deals the member may read), the
charts from rapport.core.charts. Invalid filters answer 400 with the reason; a currency without an
exchange rate shows the MissingRate message instead of the figures it would change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity
from rapport.contacts.views.common import actor_of, forbidden, member_choices
from rapport.core import charts
from rapport.core.errors import ApplicationError
from rapport.sales import dashboard
from rapport.sales.board_views import team_choices
from rapport.sales.models import Pipeline

DATE = forms.DateInput(attrs={"type": "date"})


class DashboardForm(forms.Form):
    """The dashboard's filters (all optional: the first pipeline, this month, everyone)."""

    pipeline = forms.TypedChoiceField(label="Pipeline", coerce=int, empty_value=None, required=False)
    period = forms.ChoiceField(label="Period", choices=list(dashboard.PERIODS.items()), required=False)
    owner = forms.TypedChoiceField(label="Owner", coerce=int, empty_value=None, required=False)
    team = forms.TypedChoiceField(label="Team", coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, pipelines: list[Pipeline], owners: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = [(p.pk, p.name) for p in pipelines]  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", "Anyone"), *owners]  # type: ignore[attr-defined]
        self.fields["team"].choices = [("", "Any team"), *teams]  # type: ignore[attr-defined]
        # "from" and "to" are Python keywords: added by name.
        self.fields["from"] = forms.DateField(label="From", required=False, widget=DATE)
        self.fields["to"] = forms.DateField(label="To", required=False, widget=DATE)
        self.order_fields(["pipeline", "period", "from", "to", "owner", "team"])


def _money(base: str) -> Callable[[Any], str]:
    return lambda value: f"{base} {value:,.2f}"


def _charts(board: dashboard.Dashboard) -> dict[str, SafeString | None]:
    """The dashboard's charts; a chart whose values are not all known (a missing rate) is left out."""
    fmt = _money(board.base_currency)
    by_stage = None
    if all(item.value is not None for item in board.stages):
        by_stage = charts.bar_chart(
            [item.stage.name for item in board.stages],
            [charts.Series("Open value", [item.value or 0 for item in board.stages])],
            title=f"Open pipeline value by stage, {board.base_currency}",
            fmt=fmt,
            empty="No open deals.",
        )
    by_month = None
    if all(month.value is not None for month in board.by_month):
        by_month = charts.line_chart(
            [
                f"{m.month:%b}" + (f" {m.month:%y}" if i == 0 or m.month.month == 1 else "")
                for i, m in enumerate(board.by_month)
            ],
            [m.value or 0 for m in board.by_month],
            title=f"Won value by month, {board.base_currency}",
            name="Won",
            tone="ok",
            fmt=fmt,
            empty="No deals won in this period.",
        )
    funnel = charts.funnel_chart(
        [(step.stage.name, step.entered) for step in board.funnel],
        rates=[step.rate for step in board.funnel[:-1]],
        title="Stage-to-stage conversion of the deals created in the period",
        empty="No deals were created in this period.",
    )
    return {"stage_chart": by_stage, "month_chart": by_month, "funnel_chart": funnel}


@require_safe
@login_required
@principal_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """GET /sales/dashboard/: the figures of a pipeline for a period, filtered."""
    actor = actor_of(request)
    if not actor.can(Entity.DEAL):
        return forbidden(request, "see the sales dashboard")
    pipelines = dashboard.dashboard_pipelines(actor=actor)
    form = DashboardForm(
        request.GET or None,
        initial={"period": "quarter"},  # what dashboard.period_for takes when none is given
        pipelines=pipelines,
        owners=member_choices(actor),
        teams=team_choices(actor),
    )
    context: dict[str, Any] = {"form": form, "board": None, "error": ""}
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; correct them or clear them."
        return render(request, "sales/dashboard/page.html", context, status=400)
    data = form.cleaned_data if form.is_bound else {}
    today: date = timezone.localdate()
    try:
        period = dashboard.period_for(
            data.get("period") or None, today=today, start=data.get("from"), end=data.get("to")
        )
        pipeline = dashboard.pick_pipeline(pipelines, data.get("pipeline"))
        filters = dashboard.DashboardFilter(
            period=period, pipeline_id=pipeline.pk, owner_id=data.get("owner"), team_id=data.get("team")
        )
        board = dashboard.sales_dashboard(actor=actor, pipeline=pipeline, filters=filters)
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "sales/dashboard/page.html", context, status=400)
    context.update(board=board, filtered=form.is_bound, **_charts(board))
    return render(request, "sales/dashboard/page.html", context)
