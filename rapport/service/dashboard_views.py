"""The service dashboard page: /service/dashboard/?period=&from=&to=&queue=.

Thin: the figures come from rapport.service.dashboard (over the tickets the member may read), the
charts from rapport.core.charts. Invalid filters answer 400 with the reason.
"""

from __future__ import annotations

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
from rapport.contacts.views.common import actor_of
from rapport.core import charts
from rapport.core.errors import ApplicationError
from rapport.service import dashboard
from rapport.service.models import Queue

DATE = forms.DateInput(attrs={"type": "date"})
TEMPLATE = "service/dashboard/page.html"


class DashboardForm(forms.Form):
    """The dashboard's filters (all optional: this quarter, every queue)."""

    period = forms.ChoiceField(label="Period", choices=list(dashboard.PERIODS.items()), required=False)
    queue = forms.TypedChoiceField(label="Queue", coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, queues: list[Queue], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", "All queues"), *((q.pk, q.name) for q in queues)]  # type: ignore[attr-defined]
        # "from" and "to" are Python keywords: added by name.
        self.fields["from"] = forms.DateField(label="From", required=False, widget=DATE)
        self.fields["to"] = forms.DateField(label="To", required=False, widget=DATE)
        self.order_fields(["period", "from", "to", "queue"])


def _hours(value: float | int | Any) -> str:
    hours = float(value)
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def _bucket_label(board: dashboard.ServiceDashboard, i: int, start: date) -> str:
    if board.granularity == "week":
        return f"{start.day} {start:%b}"
    return f"{start:%b}" + (f" {start:%y}" if i == 0 or start.month == 1 else "")


def _charts(board: dashboard.ServiceDashboard) -> dict[str, SafeString]:
    labels = [_bucket_label(board, i, b.start) for i, b in enumerate(board.buckets)]
    per = board.granularity
    return {
        "status_chart": charts.bar_chart(
            [t.label for t in board.by_status],
            [charts.Series("Open tickets", [t.count for t in board.by_status])],
            title="Open tickets by status",
            empty="No open tickets.",
        ),
        "priority_chart": charts.bar_chart(
            [t.label for t in board.by_priority],
            [charts.Series("Open tickets", [t.count for t in board.by_priority], tone="warn")],
            title="Open tickets by priority",
            empty="No open tickets.",
        ),
        "queue_chart": charts.bar_chart(
            [t.label for t in board.by_queue],
            [charts.Series("Open tickets", [t.count for t in board.by_queue])],
            title="Open tickets by queue",
            empty="No open tickets.",
        ),
        "age_chart": charts.bar_chart(
            [t.label for t in board.by_age],
            [charts.Series("Open tickets", [t.count for t in board.by_age], tone="danger")],
            title="Backlog age (since the ticket was created)",
            horizontal=False,
            empty="No open tickets.",
        ),
        "volume_chart": charts.bar_chart(
            labels,
            [
                charts.Series("Created", [b.created for b in board.buckets]),
                charts.Series("Solved", [b.solved for b in board.buckets], tone="ok"),
            ],
            title=f"Tickets created and solved per {per}",
            horizontal=False,
            empty="No tickets created or solved in this period.",
        ),
        # Only the weeks or months with ratings: a bucket without any is no rating of 0.
        "csat_chart": charts.line_chart(
            [label for label, b in zip(labels, board.buckets, strict=True) if b.csat_average is not None],
            [b.csat_average for b in board.buckets if b.csat_average is not None],
            title=f"Average satisfaction rating (1 to 5) per {per}",
            name="CSAT",
            tone="ok",
            fmt=lambda v: f"{float(v):.2f}",
            empty="No ratings in this period.",
        ),
    }


@require_safe
@login_required
@principal_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """GET /service/dashboard/: the service figures for a period and a queue."""
    actor = actor_of(request)
    if not actor.can(Entity.TICKET):
        return render(request, "web/denied.html", status=403)
    queues = dashboard.dashboard_queues(actor=actor)
    form = DashboardForm(request.GET or None, initial={"period": "quarter"}, queues=queues)
    context: dict[str, Any] = {"form": form, "board": None, "error": ""}
    if form.is_bound and not form.is_valid():
        context["error"] = "Some filters are not valid; correct them or clear them."
        return render(request, TEMPLATE, context, status=400)
    data = form.cleaned_data if form.is_bound else {}
    try:
        period = dashboard.period_for(
            data.get("period") or None, today=timezone.localdate(), start=data.get("from"), end=data.get("to")
        )
        queue = dashboard.pick_queue(queues, data.get("queue"))
        board = dashboard.service_dashboard(actor=actor, period=period, queue=queue)
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, TEMPLATE, context, status=400)
    times = [
        ("First response", "created → first public reply", board.first_response),
        ("Resolution", "created → solved", board.resolution),
    ]
    context.update(
        board=board,
        filtered=form.is_bound,
        times=[
            {
                "label": label,
                "note": note,
                "count": t.count,
                "median": _hours(t.median_hours) if t.median_hours is not None else None,
                "p90": _hours(t.p90_hours) if t.p90_hours is not None else None,
            }
            for label, note, t in times
        ],
        **_charts(board),
    )
    return render(request, TEMPLATE, context)
