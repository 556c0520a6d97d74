"""Customer service → Settings: queues (and who is away), routing rules, SLA policies and business
hours. Everyone who reads tickets sees the configuration and sets their own away status; roles
with the manage-settings permission change it.

Thin pages over the configuration services and `config_selectors`: the forms shape the input, the
services decide what is valid and their errors land on the form's fields. Rules and policies move
up and down with plain forms (keyboard-friendly, no script needed); the away switch is a plain
form that HTMX posts in place when it is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from rapport.accounts.decorators import perm_required
from rapport.accounts.roles import Entity, Perm
from rapport.contacts.views.common import actor_of, is_htmx, not_found
from rapport.core.errors import ApplicationError, NotFound
from rapport.core.principal import Principal
from rapport.service import calendar_services, queue_services
from rapport.service import config_selectors as selectors
from rapport.service.calendar_services import WEEKDAYS
from rapport.service.ordered_config import OrderedKind
from rapport.service.routing_rule_services import RULES as RULE_WRITES
from rapport.service.settings_forms import CalendarForm, HolidayForm, PolicyForm, QueueForm, RuleForm
from rapport.service.sla_policy_services import POLICIES as POLICY_WRITES

View = Callable[..., HttpResponse]
manage = perm_required(Perm.MANAGE_SETTINGS)


def reader(view: View) -> View:
    """Logged in, in a workspace, and allowed to read tickets (the configuration is theirs to see)."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = getattr(request, "principal", None)
        if actor is None:
            return render(request, "accounts/no_workspace.html", status=403)
        if not actor.can(Entity.TICKET):
            return render(request, "web/denied.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    actor = actor_of(request)
    base = {"can_manage": actor.has_perm(Perm.MANAGE_SETTINGS)}
    return render(request, f"service/settings/{template}", {**base, **context}, status=status)


def _save(request: HttpRequest, form: Any, call: Callable[[dict[str, Any]], Any]) -> tuple[Any, int]:
    """Validate `form` and call the service with its data: (result, 200) or (None, error status)."""
    if not form.is_valid():
        return None, 400
    try:
        return call(form.to_data()), 200
    except ApplicationError as exc:
        form.add_service_error(exc)
        return None, exc.status


def _fetch(getter: Callable[..., Any], request: HttpRequest, **kwargs: Any) -> Any:
    try:
        return getter(actor=actor_of(request), **kwargs)
    except NotFound:
        return None


# --- home and away status ----------------------------------------------------------------------


@reader
def home_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    calendar = selectors.calendar_get(actor=actor)
    sections = [
        (
            "Queues",
            "service_settings:queues",
            selectors.queue_list(actor=actor).count(),
            "Support teams' inboxes, their agents and how tickets are handed out.",
        ),
        (
            "Routing rules",
            "service_settings:rules",
            selectors.routing_rule_list(actor=actor).count(),
            "Which queue a new ticket goes to, by channel, type, priority and customer tags.",
        ),
        (
            "SLA policies",
            "service_settings:policies",
            selectors.sla_policy_list(actor=actor).count(),
            "Response and resolution targets by priority, support tier or tag, and what happens on a breach.",
        ),
        ("Business hours", "service_settings:hours", None, "The working week and holidays SLA targets are counted in."),
    ]
    return _page(
        request,
        "home.html",
        {
            "sections": sections,
            "calendar": calendar,
            "status": selectors.agent_status_get(actor=actor, user_id=actor.user_id),
        },
    )


@reader
@require_POST
def away_view(request: HttpRequest) -> HttpResponse:
    """Set the current member (or, for admins, the member named by `user`) away or back."""
    actor = actor_of(request)
    raw = request.POST.get("user", "")
    user_id = int(raw) if raw.isdigit() else actor.user_id
    away = request.POST.get("away") == "1"
    try:
        status = queue_services.agent_set_away(actor=actor, user_id=user_id, data={"away": away})
    except ApplicationError as exc:
        if exc.status == 404:
            return not_found(request)
        if exc.status == 403:
            return render(request, "web/denied.html", status=403)
        messages.error(request, exc.message)
        return redirect("service_settings:home")
    if is_htmx(request) and user_id == actor.user_id:
        return _page(request, "_away.html", {"status": status})
    messages.success(
        request, "Marked away: no new tickets are assigned automatically." if away else "Marked available."
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("service_settings:home")
    return redirect(target)


# --- queues ------------------------------------------------------------------------------------


@reader
def queues_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = QueueForm(request.POST or None, actor=actor, initial={"assignment": "round_robin"})
    status = 200
    if request.method == "POST":
        if not actor.has_perm(Perm.MANAGE_SETTINGS):
            return render(request, "web/denied.html", status=403)
        queue, status = _save(request, form, lambda data: queue_services.queue_create(actor=actor, data=data))
        if queue is not None:
            messages.success(request, f"The queue “{queue.name}” was added.")
            return redirect("service_settings:queues")
    queues = list(selectors.queue_list(actor=actor).order_by("name", "id"))
    agents = list(selectors.agent_list(actor=actor).order_by("user__name", "user__email"))
    return _page(
        request, "queues.html", {"queues": queues, "agents": agents, "form": form, "section": "queues"}, status
    )


def _edit_page(
    request: HttpRequest,
    record: Any,
    *,
    form_class: type[Any],
    update: Callable[[Any, dict[str, Any], int | None], Any],
    names: tuple[str, str, str],
    saved: str,
) -> HttpResponse:
    """The edit form of `record` (None: 404). It saves with the version the page was opened at
    (a stale one shows the record as it is now) and goes back to the list. `names` are the
    template, the record's context name and the section (the list's URL name)."""
    if record is None:
        return not_found(request)
    template, key, section = names
    form = form_class(request.POST or None, actor=actor_of(request), initial=form_class.initial_for(record))
    status = 200
    if request.method == "POST":
        version = str(form.data.get("version", ""))
        expected = int(version) if version.isdigit() else None
        result, status = _save(request, form, lambda data: update(record, data, expected))
        if result is not None:
            messages.success(request, saved.format(name=result.name))
            return redirect(f"service_settings:{section}")
    return _page(request, template, {key: record, "form": form, "section": section}, status)


@reader
@manage
def queue_edit_view(request: HttpRequest, queue_id: int) -> HttpResponse:
    actor = actor_of(request)
    return _edit_page(
        request,
        _fetch(selectors.queue_get, request, queue_id=queue_id),
        form_class=QueueForm,
        update=lambda queue, data, version: queue_services.queue_update(
            actor=actor, queue=queue, data=data, expected_version=version
        ),
        names=("queue_edit.html", "queue", "queues"),
        saved="The queue “{name}” was saved.",
    )


def _delete_page(
    request: HttpRequest, record: Any, *, delete: Callable[[Any], Any], back: str, what: str, note: str
) -> HttpResponse:
    """Confirm, then delete `record` (None: 404) and go `back`; a refusal shows on the page."""
    if record is None:
        return not_found(request)
    error, status = "", 200
    if request.method == "POST":
        try:
            delete(record)
        except ApplicationError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, f"The {what} “{record.name}” was deleted.")
            return redirect(back)
    context = {"record": record, "what": what, "note": note, "back": back, "error": error}
    return _page(request, "confirm_delete.html", context, status)


@reader
@manage
def queue_delete_view(request: HttpRequest, queue_id: int) -> HttpResponse:
    actor = actor_of(request)
    note = (
        "Its unsolved tickets move to the default queue; the routing rules that send tickets to it are "
        "deleted and SLA policies stop escalating to it."
    )
    return _delete_page(
        request,
        _fetch(selectors.queue_get, request, queue_id=queue_id),
        delete=lambda queue: queue_services.queue_delete(actor=actor, queue=queue),
        back=reverse("service_settings:queues"),
        what="queue",
        note=note,
    )


# --- routing rules and SLA policies: one table, the same four pages ------------------------------


def minutes_label(minutes: int | None) -> str:
    """A target as people read it: "45 min", "8 h", "2 h 30 min" (hours, not days: a day of
    business time is as long as the working day, so "1 d" would mislead)."""
    if minutes is None:
        return "—"
    hours, rest = divmod(minutes, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


@dataclass(frozen=True)
class Ordered:
    """One ordered list of the settings. Its pages are `<section>.html` (the list, with the add
    form) and `<one>_edit.html`; settings_urls names them `<section>`, `<one>_edit`,
    `<one>_delete` and `<one>_move`."""

    section: str  # "rules": the list's URL name and the settings tab
    one: str  # "rule"
    what: str  # "routing rule": what the messages and the delete page call one
    form_class: type[Any]
    kind: OrderedKind[Any]  # the writes
    rows: Callable[..., QuerySet[Any]]  # the list selector (actor=)
    delete_note: str

    def get(self, *, actor: Principal, pk: int) -> Any:
        return selectors.one(self.rows(actor=actor), pk)


RULE_NOTE = "New tickets it would have routed go to the next matching rule, or the default queue."
POLICY_NOTE = "New tickets get the next matching policy. Open tickets keep the due times they have."
RULES = Ordered("rules", "rule", "routing rule", RuleForm, RULE_WRITES, selectors.routing_rule_list, RULE_NOTE)
POLICIES = Ordered(
    "policies", "policy", "SLA policy", PolicyForm, POLICY_WRITES, selectors.sla_policy_list, POLICY_NOTE
)
TARGETS = (  # SLA policies' targets, as the list shows them
    ("First response", "first_response_minutes"),
    ("Next response", "next_response_minutes"),
    ("Resolution", "resolution_minutes"),
)


@reader
def ordered_list_view(request: HttpRequest, kind: Ordered) -> HttpResponse:
    actor = actor_of(request)
    form = kind.form_class(request.POST or None, actor=actor)
    status = 200
    if request.method == "POST":
        if not actor.has_perm(Perm.MANAGE_SETTINGS):
            return render(request, "web/denied.html", status=403)
        created, status = _save(request, form, lambda data: kind.kind.create(actor=actor, data=data))
        if created is not None:
            messages.success(request, f"The {kind.what} “{created.name}” was added at the end of the list.")
            return redirect(f"service_settings:{kind.section}")
    listed = list(kind.rows(actor=actor).order_by(*selectors.ORDERED))
    for row in listed:
        row.targets = [
            (label, minutes_label(getattr(row, field)))
            for label, field in TARGETS
            if getattr(row, field, None) is not None
        ]
    context = {"rows": listed, "form": form, "section": kind.section}
    return _page(request, f"{kind.section}.html", context, status)


@reader
@manage
def ordered_edit_view(request: HttpRequest, pk: int, kind: Ordered) -> HttpResponse:
    actor = actor_of(request)
    return _edit_page(
        request,
        _fetch(kind.get, request, pk=pk),
        form_class=kind.form_class,
        update=lambda record, data, version: kind.kind.update(
            actor=actor, record=record, data=data, expected_version=version
        ),
        names=(f"{kind.one}_edit.html", "record", kind.section),
        saved="“{name}” was saved.",
    )


@reader
@manage
def ordered_delete_view(request: HttpRequest, pk: int, kind: Ordered) -> HttpResponse:
    actor = actor_of(request)
    return _delete_page(
        request,
        _fetch(kind.get, request, pk=pk),
        delete=lambda record: kind.kind.delete(actor=actor, record=record),
        back=reverse(f"service_settings:{kind.section}"),
        what=kind.what,
        note=kind.delete_note,
    )


@reader
@manage
@require_POST
def ordered_move_view(request: HttpRequest, kind: Ordered) -> HttpResponse:
    """Swap one record with its neighbour (POST id, direction) and save the whole order."""
    actor = actor_of(request)
    order = list(kind.rows(actor=actor).order_by(*selectors.ORDERED).values_list("pk", flat=True))
    raw, step = request.POST.get("id", ""), {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    index = order.index(int(raw)) if raw.isdigit() and int(raw) in order else None
    if index is None or step is None or not 0 <= index + step < len(order):
        messages.error(request, "That cannot move there.")
    else:
        order[index], order[index + step] = order[index + step], order[index]
        try:
            kind.kind.reorder(actor=actor, ids=order)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect(reverse(f"service_settings:{kind.section}") + f"#row-{raw}")


# --- business hours ----------------------------------------------------------------------------


@reader
def hours_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    calendar = selectors.calendar_get(actor=actor)
    action = request.POST.get("action") if request.method == "POST" else None
    form = CalendarForm(request.POST if action == "hours" else None, initial=CalendarForm.initial_for(calendar))
    holiday_form = HolidayForm(request.POST if action == "holiday" else None)
    status = 200
    if action and not actor.has_perm(Perm.MANAGE_SETTINGS):
        return render(request, "web/denied.html", status=403)
    if action == "hours":
        version = str(form.data.get("version", ""))
        saved, status = _save(
            request,
            form,
            lambda data: calendar_services.calendar_set(
                actor=actor, data=data, expected_version=int(version) if version.isdigit() else None
            ),
        )
        if saved is not None:
            messages.success(request, "The business hours were saved.")
            return redirect("service_settings:hours")
    elif action == "holiday":
        holiday, status = (None, 400)
        if holiday_form.is_valid():
            try:
                holiday = calendar_services.holiday_create(actor=actor, data=holiday_form.cleaned_data)
            except ApplicationError as exc:
                holiday_form.add_service_error(exc)
                status = exc.status
        if holiday is not None:
            messages.success(request, f"{holiday.date:%A %d %B %Y} is now a holiday.")
            return redirect(reverse("service_settings:hours") + "#holidays")
    week = [(name, calendar.hours.get(str(day), []) if calendar else []) for day, name in enumerate(WEEKDAYS)]
    context = {
        "calendar": calendar,
        "week": week,
        "holidays": list(calendar.holidays.all()) if calendar else [],
        "form": form,
        "holiday_form": holiday_form,
        "day_fields": [form[f"day_{d}"] for d in range(7)],
        "section": "hours",
    }
    return _page(request, "hours.html", context, status)


@reader
@manage
@require_POST
def holiday_delete_view(request: HttpRequest, holiday_id: int) -> HttpResponse:
    actor = actor_of(request)
    holiday = _fetch(selectors.holiday_get, request, holiday_id=holiday_id)
    if holiday is None:
        return not_found(request)
    calendar_services.holiday_delete(actor=actor, holiday=holiday)
    messages.success(request, f"{holiday.date:%A %d %B %Y} is a working day again.")
    return redirect(reverse("service_settings:hours") + "#holidays")
