"""The competitor pages: /sales/competitors/ (search by name, 50 a page by name, win/loss of each
as a table and a chart), a competitor's page (its fields, figures and the deals that list it),
and the create, edit and delete forms.

Whoever may read deals sees them; admins and managers change them (the rules of
rapport.sales.catalog_services, which every write goes through; their field errors show on the
form's fields). Missing, trashed and other workspaces' competitors answer 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.forms import ServiceErrorsMixin
from rapport.accounts.roles import Mode
from rapport.contacts.forms import VersionMixin
from rapport.contacts.views.common import actor_of, forbidden, not_found
from rapport.core import charts
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.pagination import paginate
from rapport.sales import catalog_services as services
from rapport.sales.catalog_services import COMPETITOR_NAME_MAX, TEXT_MAX, WEBSITE_MAX
from rapport.sales.competitor_stats import CompetitorReport, competitor_deals, competitor_stats
from rapport.sales.models import Competitor

PAGE_SIZE = 50
DEALS_PAGE_SIZE = 50
CHART_TOP = 10  # competitors in the win/loss chart: those with the most closed deals


class CompetitorForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=COMPETITOR_NAME_MAX)
    website = forms.CharField(
        label="Website", max_length=WEBSITE_MAX, required=False, help_text="https:// is added when left out."
    )
    strengths = forms.CharField(
        label="Strengths", max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    weaknesses = forms.CharField(
        label="Weaknesses", max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    FIELDS = ("name", "website", "strengths", "weaknesses")

    @classmethod
    def initial_of(cls, competitor: Competitor) -> dict[str, Any]:
        return {name: getattr(competitor, name) for name in (*cls.FIELDS, "version")}

    def to_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.FIELDS}


class CompetitorEditForm(VersionMixin, CompetitorForm):
    pass


def win_loss_chart(rows: list[tuple[str, Any]]) -> Any:
    """Won and lost deals of the competitors with the most closed deals (`rows`: name, stats)."""
    top = sorted((row for row in rows if row[1].closed), key=lambda row: (-row[1].closed, row[0].lower()))
    top = top[:CHART_TOP]
    return charts.bar_chart(
        [name for name, _ in top],
        [
            charts.Series("Won", [s.won for _, s in top], tone="ok"),
            charts.Series("Lost", [s.lost for _, s in top], tone="danger"),
        ],
        title="Deals won and lost against each competitor",
        empty="No closed deal lists a competitor yet.",
    )


@require_safe
@login_required
@principal_required
def competitor_list_page(request: HttpRequest) -> HttpResponse:
    """GET /sales/competitors/?q=: the competitors by name with their win/loss figures."""
    actor = actor_of(request)
    if not services.can_read_competitors(actor):
        return forbidden(request, "see the competitors")
    q = (request.GET.get("q") or "").strip()[:COMPETITOR_NAME_MAX]
    try:
        page = paginate(
            services.competitor_list(actor=actor, q=q or None),
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
            ordering=("name", "id"),
        )
    except ApplicationError as exc:
        failed = {"page": None, "error": exc.message, "q": q, "can_write": services.can_write_competitors(actor)}
        return render(request, "sales/competitors/list.html", failed, status=400)
    # Every competitor's figures (one grouped query): the chart ranks all of them, the table shows the page's.
    report = competitor_stats(actor=actor)
    names = dict(services.competitor_list(actor=actor).values_list("pk", "name"))
    context: dict[str, Any] = {
        "page": page,
        "rows": [(c, report.of(c.pk)) for c in page.items],
        "report": report,
        "chart": win_loss_chart([(names[pk], s) for pk, s in report.stats.items() if pk in names]),
        "q": q,
        "query": urlencode({"q": q}) if q else "",
        "can_write": services.can_write_competitors(actor),
    }
    return render(request, "sales/competitors/list.html", context)


@require_safe
@login_required
@principal_required
def competitor_detail_page(request: HttpRequest, competitor_id: int) -> HttpResponse:
    """GET /sales/competitors/<id>/: the competitor, its win/loss and the deals that list it."""
    actor = actor_of(request)
    try:
        competitor = services.competitor_get(actor=actor, competitor_id=competitor_id)
    except NotFound:
        return not_found(request)
    report: CompetitorReport = competitor_stats(actor=actor, competitor_ids=[competitor.pk])
    try:
        deals = paginate(
            competitor_deals(actor=actor, competitor=competitor),
            cursor=request.GET.get("cursor") or None,
            limit=DEALS_PAGE_SIZE,
            ordering=("-created_at", "-id"),
        )
    except ApplicationError as exc:
        failed = {"competitor": competitor, "error": exc.message}
        return render(request, "sales/competitors/detail.html", failed, status=400)
    context: dict[str, Any] = {
        "competitor": competitor,
        "stats": report.of(competitor.pk),
        "report": report,
        "deals": deals,
        "can_write": services.can_write_competitors(actor),
    }
    return render(request, "sales/competitors/detail.html", context)


def _form_page(request: HttpRequest, form: CompetitorForm, competitor: Competitor | None, status: int = 200) -> Any:
    return render(request, "sales/competitors/form.html", {"form": form, "competitor": competitor}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def competitor_create_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not services.can_write_competitors(actor):
        return forbidden(request, "add competitors")
    if request.method != "POST":
        return _form_page(request, CompetitorForm(), None)
    form = CompetitorForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None, 422)
    try:
        competitor = services.competitor_create(actor=actor, data=form.to_data())
    except PermissionDenied:
        return forbidden(request, "add competitors")
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _form_page(request, form, None, exc.status)
    messages.success(request, f"Competitor “{competitor.name}” added.")
    return redirect("competitors:detail", competitor.pk)


def _writable(request: HttpRequest, competitor_id: int, what: str) -> Competitor | HttpResponse:
    """The competitor to change, or the 404 / 403 page to answer."""
    try:
        return services.competitor_get(actor=actor_of(request), competitor_id=competitor_id, mode=Mode.WRITE)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, what)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def competitor_edit_page(request: HttpRequest, competitor_id: int) -> HttpResponse:
    """GET: the form with the competitor's values; POST: save with the version the form was opened at."""
    competitor = _writable(request, competitor_id, "change competitors")
    if isinstance(competitor, HttpResponse):
        return competitor
    initial = CompetitorForm.initial_of(competitor)
    if request.method != "POST":
        return _form_page(request, CompetitorEditForm(initial=initial), competitor)
    form = CompetitorEditForm(request.POST, initial=initial)
    if not form.is_valid():
        return _form_page(request, form, competitor, 422)
    try:
        competitor = services.competitor_update(
            actor=actor_of(request),
            competitor=competitor,
            data=form.to_data(),
            expected_version=form.cleaned_data["version"],
        )
    except PermissionDenied:
        return forbidden(request, "change competitors")
    except StaleVersion:
        form.add_error(None, "Someone else changed this competitor since you opened it — reload to see their changes.")
        return _form_page(request, form, competitor, 409)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _form_page(request, form, competitor, exc.status)
    messages.success(request, f"Competitor “{competitor.name}” saved.")
    return redirect("competitors:detail", competitor.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def competitor_delete_page(request: HttpRequest, competitor_id: int) -> HttpResponse:
    """GET asks for confirmation; POST moves the competitor to the trash (deals keep the link)."""
    competitor = _writable(request, competitor_id, "delete competitors")
    if isinstance(competitor, HttpResponse):
        return competitor
    if request.method != "POST":
        return render(request, "sales/competitors/confirm_delete.html", {"competitor": competitor})
    services.competitor_delete(actor=actor_of(request), competitor=competitor)
    messages.success(request, f"Competitor “{competitor.name}” deleted.")
    return redirect("competitors:list")
