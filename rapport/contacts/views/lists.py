"""List pages (contacts, companies), their bulk actions and saved views, their trash, the create forms,
delete and restore. What the two lists share (columns, filters, conditions) is in `listing`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.models import Team
from rapport.accounts.roles import Entity, Mode
from rapport.contacts import bulk, choices, saved_views, selectors, services
from rapport.contacts.forms import CompanyCreateForm, CompanyFilterForm, ContactCreateForm, ContactFilterForm
from rapport.contacts.models import Company, Contact
from rapport.contacts.views import listing
from rapport.contacts.views.common import actor_of, add_errors, company_by_name, forbidden, member_choices, not_found
from rapport.contacts.views.listing import ListSpec
from rapport.core.access import scope
from rapport.core.customfields.definitions import fields_of
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from rapport.core.pagination import paginate
from rapport.core.principal import Principal

PAGE_SIZE = 50
UNDO_KEY = "contacts_undo"

BULK_ACTIONS = [
    ("assign_owner", "Assign owner"),
    ("add_tag", "Add tag"),
    ("remove_tag", "Remove tag"),
    ("set_lifecycle_stage", "Change lifecycle stage"),
    ("trash", "Move to trash"),
]
COMPANY_BULK_ACTIONS = [(value, label) for value, label in BULK_ACTIONS if value in bulk.COMPANY_ACTIONS]

CONTACTS = ListSpec(
    kind="contact",
    entity=Entity.CONTACT,
    noun="contact",
    plural="contacts",
    columns=[
        ("full_name", "Name", "full_name"),
        ("email", "Email", "email"),
        ("company", "Company", ""),
        ("lifecycle_stage", "Stage", "lifecycle_stage"),
        ("country", "Country", "country"),
        ("owner", "Owner", ""),
        ("created_at", "Created", "created_at"),
    ],
    filter_form=ContactFilterForm,
    select=selectors.contact_list,
    text_fields=("email", "full_name"),
    choice_field="lifecycle_stage",
    template="contacts/contact_list.html",
    default_sort="-created_at",
    list_route="contacts:list",
    bulk_route="contacts:bulk",
    view_save_route="contacts:view_save",
    bulk_service=bulk.contact_bulk_update,
    bulk_actions=BULK_ACTIONS,
)
COMPANIES = ListSpec(
    kind="company",
    entity=Entity.COMPANY,
    noun="company",
    plural="companies",
    columns=[
        ("name", "Name", "name"),
        ("domain", "Domain", "domain"),
        ("industry", "Industry", "industry"),
        ("country", "Country", "country"),
        ("owner", "Owner", ""),
        ("created_at", "Created", "created_at"),
    ],
    filter_form=CompanyFilterForm,
    select=selectors.company_list,
    text_fields=("domain", "name"),
    choice_field="industry",
    template="contacts/company_list.html",
    default_sort="name",
    list_route="contacts:company_list",
    bulk_route="contacts:company_bulk",
    view_save_route="contacts:company_view_save",
    bulk_service=bulk.company_bulk_update,
    bulk_actions=COMPANY_BULK_ACTIONS,
)


def _list_page(request: HttpRequest, spec: ListSpec) -> HttpResponse:
    if "ff" in request.GET:  # the filter row: field / condition / value become one filter=field:op:value
        query = listing.added_filter(request.GET)
        return redirect(listing.list_url(spec) + (f"?{query.urlencode()}" if query else ""))
    actor = actor_of(request)
    members = member_choices(actor)
    definitions = fields_of(actor.org_id, spec.kind)
    views = listing.visible_views(actor, spec)
    view = listing.view_of(views, request.GET)
    form = spec.filter_form(request.GET or None, member_choices=members)
    sort = request.GET.get("sort") or (view.sort if view is not None else "")
    shown = listing.shown_columns(spec, definitions, request.GET.getlist("columns"), view)
    can_bulk = actor.can(spec.entity, Mode.WRITE)
    page = None
    matching: int | None = None
    error = None
    try:
        conditions, _raw = listing.conditions_for(spec, form, request.GET, view)
        qs, ordering = spec.select(actor=actor, conditions=conditions, sort=sort or None)
        page = paginate(qs, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE, ordering=ordering)
        if can_bulk and page.items:
            matching = qs.order_by()[: listing.COUNT_CAP + 1].count()
    except ApplicationError as exc:
        error = exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    current_sort = sort or spec.default_sort
    teams = (
        list(Team.objects.filter(org_id=actor.org_id, pk__in=actor.team_ids).order_by("name").values_list("pk", "name"))
        if actor.team_ids
        else []
    )
    return render(
        request,
        spec.template,
        {
            "spec": spec,
            "form": form,
            "page": page,
            "rows": listing.custom_cells(page.items, definitions, shown) if page is not None else [],
            "error": error,
            "columns": listing.column_headers(request, spec, definitions, shown, current_sort),
            "shown": shown,
            "views": views,
            "view": view,
            "column_choices": listing.column_choices(spec, definitions),
            "teams": teams,
            "sort": current_sort,
            "sort_options": listing.sort_options(spec, definitions, shown, current_sort),
            "query": query.urlencode(),
            "query_items": [(k, v) for k, values in query.lists() for v in values],
            "filter_fields": listing.filter_field_choices(spec, definitions),
            "operators": list(listing.OPERATORS.items()),
            "active_filters": listing.active_filters(spec, definitions, query, listing.list_url(spec)),
            "filtered": any(v for k, v in request.GET.items() if k not in {"sort", "cursor", "columns"}),
            "can_create": actor.can(spec.entity, Mode.WRITE),
            "undo": request.session.pop(UNDO_KEY, None),
            "bulk": can_bulk,
            "bulk_actions": spec.bulk_actions,
            "matching": matching,
            "matching_label": listing.count_label(matching),
            "stages": choices.LIFECYCLE_STAGES.choices if spec.kind == "contact" else [],
            "members": members,
        },
        status=200 if page is not None else 400,
    )


@require_safe
@login_required
@principal_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, CONTACTS)


@require_safe
@login_required
@principal_required
def company_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, COMPANIES)


# --- bulk actions and saved views -----------------------------------------------------------


def _posted_query(request: HttpRequest) -> QueryDict:
    """The list's query string the bulk bar or the save-view form was posted from."""
    return QueryDict(request.POST.get("query", "")[:4000])


def _bulk(request: HttpRequest, spec: ListSpec) -> HttpResponse:
    """Apply one bulk action to the ticked records, or to every record the list (and its view) shows."""
    actor = actor_of(request)
    query = _posted_query(request)
    back = listing.list_url(spec) + (f"?{query.urlencode()}" if query else "")
    action = request.POST.get("action", "")
    value = {
        "assign_owner": request.POST.get("owner") or None,
        "set_lifecycle_stage": request.POST.get("stage", ""),
    }.get(action, request.POST.get("tag", ""))
    everything = request.POST.get("scope") == "all"
    ids = None if everything else request.POST.getlist("ids")
    if not everything and not ids:
        messages.error(request, f"Tick some {spec.plural}, or choose “all matching”.")
        return redirect(back)
    if action == "trash" and not request.POST.get("confirm"):
        messages.error(request, f"Tick “Confirm” to move {spec.plural} to the trash.")
        return redirect(back)
    try:
        form = spec.filter_form(query, member_choices=member_choices(actor))
        view = listing.view_of(listing.visible_views(actor, spec), query)
        conditions, _raw = listing.conditions_for(spec, form, query, view)
        result = spec.bulk_service(actor=actor, conditions=conditions, ids=ids, action=action, value=value)
    except PermissionDenied:
        return forbidden(request, f"change {spec.plural} in bulk")
    except ApplicationError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else exc.message
        messages.error(request, f"Nothing was changed: {detail}")
        return redirect(back)
    text = f"{result.changed} {spec.noun if result.changed == 1 else spec.plural} changed"
    if result.skipped:
        text += f", {result.skipped} skipped (you may not change them)"
    if result.matched - result.changed - result.skipped:
        text += f", {result.matched - result.changed - result.skipped} already up to date"
    messages.success(request, text + ".")
    return redirect(back)


def _view_save(request: HttpRequest, spec: ListSpec) -> HttpResponse:
    """Save the list's current filters (with those of the view it shows), sort and columns as a named view."""
    actor = actor_of(request)
    query = _posted_query(request)
    try:
        form = spec.filter_form(query, member_choices=member_choices(actor))
        base = listing.view_of(listing.visible_views(actor, spec), query)
        _conditions, raw = listing.conditions_for(spec, form, query, base)
        team = request.POST.get("team") or None
        view = saved_views.saved_view_create(
            actor=actor,
            data={
                "name": request.POST.get("name", ""),
                "entity": spec.kind,
                "conditions": raw,
                "sort": query.get("sort") or (base.sort if base is not None else ""),
                "columns": request.POST.getlist("columns"),
                "team_id": int(team) if team and team.isdigit() else None,
            },
        )
    except ApplicationError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else exc.message
        messages.error(request, f"The view was not saved: {detail}")
        return redirect(listing.list_url(spec) + (f"?{query.urlencode()}" if query else ""))
    messages.success(request, f"View “{view.name}” saved.")
    return redirect(listing.list_url(spec) + f"?view={view.pk}")


@require_POST
@login_required
@principal_required
def contact_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, CONTACTS)


@require_POST
@login_required
@principal_required
def company_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, COMPANIES)


@require_POST
@login_required
@principal_required
def contact_view_save(request: HttpRequest) -> HttpResponse:
    return _view_save(request, CONTACTS)


@require_POST
@login_required
@principal_required
def company_view_save(request: HttpRequest) -> HttpResponse:
    return _view_save(request, COMPANIES)


# --- create --------------------------------------------------------------------------------


def _create_page(
    request: HttpRequest,
    *,
    entity: Entity,
    form_class: type[Any],
    create: Callable[..., Any],
    template: str,
    detail: str,
    company_field: str | None,
) -> HttpResponse:
    actor = actor_of(request)
    if not actor.can(entity, Mode.WRITE):
        return forbidden(request, "create contacts" if entity is Entity.CONTACT else "create companies")
    form = form_class(
        request.POST or None, member_choices=member_choices(actor), custom_fields=fields_of(actor.org_id, entity.value)
    )
    if request.method != "POST" and "owner" in form.fields:
        form.initial["owner"] = actor.user_id
    status = 200
    if request.method == "POST":
        if form.is_valid():
            lookups: dict[str, tuple[str, str]] = {}
            try:
                data = form.to_data()
                if company_field:
                    data["company_id"], message = company_by_name(actor, form.cleaned_data[company_field])
                    lookups["company_id"] = (company_field, message)
                record = create(actor=actor, data=data)
            except PermissionDenied:
                return forbidden(request, "create this record")
            except ApplicationError as exc:
                add_errors(form, exc, lookups)
            else:
                messages.success(request, f"{record} was created.")
                return redirect(detail, record.pk)
        status = 400
    return render(request, template, {"form": form}, status=status)


@login_required
@principal_required
def contact_create(request: HttpRequest) -> HttpResponse:
    return _create_page(
        request,
        entity=Entity.CONTACT,
        form_class=ContactCreateForm,
        create=services.contact_create,
        template="contacts/contact_new.html",
        detail="contacts:detail",
        company_field="company",
    )


@login_required
@principal_required
def company_create(request: HttpRequest) -> HttpResponse:
    return _create_page(
        request,
        entity=Entity.COMPANY,
        form_class=CompanyCreateForm,
        create=services.company_create,
        template="contacts/company_new.html",
        detail="contacts:company_detail",
        company_field=None,
    )


# --- delete, restore, trash ----------------------------------------------------------------


def _get(kind: str, actor: Principal, pk: int, *, trashed: bool) -> Any:
    if kind == "contact":
        return selectors.contact_get(actor=actor, contact_id=pk, trashed=trashed)
    return selectors.company_get(actor=actor, company_id=pk, trashed=trashed)


def _trash_or_restore(request: HttpRequest, kind: str, pk: int, *, restore: bool) -> HttpResponse:
    actor = actor_of(request)
    try:
        record = _get(kind, actor, pk, trashed=restore)
        if restore:
            if kind == "contact":
                services.contact_restore(actor=actor, contact=record)
            else:
                services.company_restore(actor=actor, company=record)
        elif kind == "contact":
            services.contact_delete(actor=actor, contact=record)
        else:
            services.company_delete(actor=actor, company=record)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, f"{'restore' if restore else 'delete'} this {kind}")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("contacts:list" if kind == "contact" else "contacts:company_list")
    if restore:
        messages.success(request, f"{record} was restored.")
        return redirect("contacts:detail" if kind == "contact" else "contacts:company_detail", record.pk)
    request.session[UNDO_KEY] = {
        "label": str(record),
        "url": reverse("contacts:restore" if kind == "contact" else "contacts:company_restore", args=[record.pk]),
    }
    return redirect("contacts:list" if kind == "contact" else "contacts:company_list")


@require_POST
@login_required
@principal_required
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _trash_or_restore(request, "contact", contact_id, restore=False)


@require_POST
@login_required
@principal_required
def contact_restore(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _trash_or_restore(request, "contact", contact_id, restore=True)


@require_POST
@login_required
@principal_required
def company_delete(request: HttpRequest, company_id: int) -> HttpResponse:
    return _trash_or_restore(request, "company", company_id, restore=False)


@require_POST
@login_required
@principal_required
def company_restore(request: HttpRequest, company_id: int) -> HttpResponse:
    return _trash_or_restore(request, "company", company_id, restore=True)


def _trash_page(request: HttpRequest, kind: str) -> HttpResponse:
    actor = actor_of(request)
    select = selectors.contact_list if kind == "contact" else selectors.company_list
    entity = Entity.CONTACT if kind == "contact" else Entity.COMPANY
    try:
        qs, _ordering = select(actor=actor, trashed=True)
        qs = qs.order_by("-deleted_at", "-id")
        page = paginate(qs, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE, ordering=("-deleted_at", "-id"))
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("contacts:trash" if kind == "contact" else "contacts:company_trash")
    ids = [r.pk for r in page.items]
    model: type[Contact] | type[Company] = Contact if kind == "contact" else Company
    writable = (
        set(scope(actor, model.objects.filter(pk__in=ids), entity, Mode.WRITE).values_list("pk", flat=True))
        if ids
        else set()
    )
    rows = [{"record": r, "can_restore": r.pk in writable} for r in page.items]
    return render(
        request,
        "contacts/trash.html",
        {
            "kind": kind,
            "rows": rows,
            "page": page,
            "purge_days": services.TRASH_DAYS,
            "list_url": reverse("contacts:list" if kind == "contact" else "contacts:company_list"),
        },
    )


@require_safe
@login_required
@principal_required
def contact_trash(request: HttpRequest) -> HttpResponse:
    return _trash_page(request, "contact")


@require_safe
@login_required
@principal_required
def company_trash(request: HttpRequest) -> HttpResponse:
    return _trash_page(request, "company")
