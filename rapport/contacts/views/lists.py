"""List pages (contacts, companies), their trash, the create forms, delete and restore."""

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
from rapport.accounts.roles import Entity, Mode
from rapport.contacts import bulk, choices, normalize, saved_views, selectors, services
from rapport.contacts.forms import CompanyCreateForm, CompanyFilterForm, ContactCreateForm, ContactFilterForm
from rapport.contacts.models import Company, Contact
from rapport.contacts.views.common import actor_of, add_errors, company_by_name, forbidden, member_choices, not_found
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from rapport.core.filtering import Condition, parse_conditions
from rapport.core.pagination import paginate
from rapport.core.principal import Principal

PAGE_SIZE = 50
UNDO_KEY = "contacts_undo"
COLUMN_KEYS = {"Name": "full_name", "Email": "email", "Company": "company", "Stage": "lifecycle_stage"}
COLUMN_KEYS |= {"Country": "country", "Owner": "owner", "Created": "created_at"}

# (label, sort key or "" when the column does not sort)
CONTACT_COLUMNS = [
    ("Name", "full_name"),
    ("Email", "email"),
    ("Company", ""),
    ("Stage", "lifecycle_stage"),
    ("Country", "country"),
    ("Owner", ""),
    ("Created", "created_at"),
]
COMPANY_COLUMNS = [
    ("Name", "name"),
    ("Domain", "domain"),
    ("Industry", "industry"),
    ("Country", "country"),
    ("Owner", ""),
    ("Created", "created_at"),
]


def _columns(request: HttpRequest, spec: list[tuple[str, str]], current: str) -> list[dict[str, Any]]:
    """Column headers: a sortable one links to the list sorted by it (again: the other direction)."""
    query = request.GET.copy()
    query.pop("cursor", None)
    columns = []
    for label, key in spec:
        column: dict[str, Any] = {"label": label, "url": "", "sort": "", "key": COLUMN_KEYS.get(label, "")}
        if key:
            ascending = current == key
            query["sort"] = f"-{key}" if ascending else key
            column["url"] = "?" + query.urlencode()
            column["sort"] = "ascending" if current == key else "descending" if current == f"-{key}" else ""
        columns.append(column)
    return columns


def _sort_options(spec: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The choices of the "Sort by" select (the column headers do the same on wide screens)."""
    options = []
    for label, key in spec:
        if key == "created_at":
            options += [(f"-{key}", "Newest first"), (key, "Oldest first")]
        elif key:
            options += [(key, f"{label} A to Z"), (f"-{key}", f"{label} Z to A")]
    return options


def _filter_conditions(data: dict[str, Any], text_fields: tuple[str, str], choice_field: str) -> list[Condition]:
    conditions = []
    q = (data.get("q") or "").strip()
    if q:
        by_email, by_name = text_fields
        conditions.append(Condition(by_email if "@" in q else by_name, "contains", q))
    if data.get(choice_field):
        conditions.append(Condition(choice_field, "eq", data[choice_field]))
    if data.get("owner"):
        conditions.append(Condition("owner_id", "eq", data["owner"]))
    if data.get("country"):
        conditions.append(Condition("country", "eq", normalize.country(data["country"], field="filter.country")))
    if data.get("tag"):
        conditions.append(Condition("tag", "eq", data["tag"].strip()))
    return conditions


def _list_page(
    request: HttpRequest,
    *,
    entity: Entity,
    form_class: type[Any],
    select: Callable[..., Any],
    columns: list[tuple[str, str]],
    text_fields: tuple[str, str],
    choice_field: str,
    template: str,
    default_sort: str,
) -> HttpResponse:
    actor = actor_of(request)
    members = member_choices(actor)
    form = form_class(request.GET or None, member_choices=members)
    page = None
    error = None
    sort = request.GET.get("sort") or ""
    views = list(saved_views.saved_view_list(actor=actor, entity="contact")) if entity is Entity.CONTACT else []
    view = next((v for v in views if str(v.pk) == request.GET.get("view")), None)
    shown = set(saved_views.COLUMNS["contact"])
    if view is not None:
        sort = sort or view.sort
        shown = set(view.columns or shown) | {"full_name"}
    if form.is_bound and not form.is_valid():
        error = "Some filters are not valid: " + "; ".join(
            f"{form.fields[name].label or name}: {' '.join(errs)}" if name in form.fields else " ".join(errs)
            for name, errs in form.errors.items()
        )
    else:
        try:
            data = form.cleaned_data if form.is_bound else {}
            conditions = _filter_conditions(data, text_fields, choice_field)
            conditions += parse_conditions(request.GET.getlist("filter")[:50])
            if view is not None:
                conditions += parse_conditions(view.conditions)
            qs, ordering = select(actor=actor, conditions=conditions, sort=sort or None)
            page = paginate(qs, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE, ordering=ordering)
        except ApplicationError as exc:
            error = exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "error": error,
            "columns": [
                c
                for c in _columns(request, columns, sort or default_sort)
                if entity is not Entity.CONTACT or c["key"] in shown
            ],
            "shown": shown,
            "views": views,
            "view": view,
            "column_choices": [(key, label) for label, key in COLUMN_KEYS.items()],
            "teams": actor.team_ids,
            "sort": sort or default_sort,
            "sort_options": _sort_options(columns),
            "query": query.urlencode(),
            "filtered": any(v for k, v in request.GET.items() if k not in {"sort", "cursor"}),
            "can_create": actor.can(entity, Mode.WRITE),
            "undo": request.session.pop(UNDO_KEY, None),
            "bulk": entity is Entity.CONTACT and actor.can(entity, Mode.WRITE),
            "bulk_actions": BULK_ACTIONS,
            "stages": choices.LIFECYCLE_STAGES.choices,
            "members": members,
        },
        status=200 if page is not None else 400,
    )


@require_safe
@login_required
@principal_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return _list_page(
        request,
        entity=Entity.CONTACT,
        form_class=ContactFilterForm,
        select=selectors.contact_list,
        columns=CONTACT_COLUMNS,
        text_fields=("email", "full_name"),
        choice_field="lifecycle_stage",
        template="contacts/contact_list.html",
        default_sort="-created_at",
    )


@require_safe
@login_required
@principal_required
def company_list(request: HttpRequest) -> HttpResponse:
    return _list_page(
        request,
        entity=Entity.COMPANY,
        form_class=CompanyFilterForm,
        select=selectors.company_list,
        columns=COMPANY_COLUMNS,
        text_fields=("domain", "name"),
        choice_field="industry",
        template="contacts/company_list.html",
        default_sort="name",
    )


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
    form = form_class(request.POST or None, member_choices=member_choices(actor))
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


BULK_ACTIONS = [
    ("assign_owner", "Assign owner"),
    ("add_tag", "Add tag"),
    ("remove_tag", "Remove tag"),
    ("set_lifecycle_stage", "Change lifecycle stage"),
    ("trash", "Move to trash"),
]


@require_POST
@login_required
@principal_required
def contact_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one bulk action to the ticked contacts, or to every contact matching the list's filters."""
    actor = actor_of(request)
    query = QueryDict(request.POST.get("query", "")[:4000])
    back = reverse("contacts:list") + (f"?{query.urlencode()}" if query else "")
    action = request.POST.get("action", "")
    value = {
        "assign_owner": request.POST.get("owner") or None,
        "set_lifecycle_stage": request.POST.get("stage", ""),
    }.get(action, request.POST.get("tag", ""))
    everything = request.POST.get("scope") == "all"
    ids = None if everything else request.POST.getlist("ids")
    if not everything and not ids:
        messages.error(request, "Tick some contacts, or choose “all matching”.")
        return redirect(back)
    if action == "trash" and not request.POST.get("confirm"):
        messages.error(request, "Tick “Confirm” to move contacts to the trash.")
        return redirect(back)
    form = ContactFilterForm(query, member_choices=member_choices(actor))
    try:
        if not form.is_valid():
            raise ValidationFailed("invalid", "Some filters are not valid.", field="filter")
        conditions = _filter_conditions(form.cleaned_data, ("email", "full_name"), "lifecycle_stage")
        conditions += parse_conditions(query.getlist("filter")[:50])
        result = bulk.contact_bulk_update(actor=actor, conditions=conditions, ids=ids, action=action, value=value)
    except PermissionDenied:
        return forbidden(request, "change contacts in bulk")
    except ApplicationError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else exc.message
        messages.error(request, f"Nothing was changed: {detail}")
        return redirect(back)
    text = f"{result.changed} contact{'s' if result.changed != 1 else ''} changed"
    if result.skipped:
        text += f", {result.skipped} skipped (you may not change them)"
    if result.matched - result.changed - result.skipped:
        text += f", {result.matched - result.changed - result.skipped} already up to date"
    messages.success(request, text + ".")
    return redirect(back)


@require_POST
@login_required
@principal_required
def contact_view_save(request: HttpRequest) -> HttpResponse:
    """Save the contact list's current filters, sort and chosen columns as a named view."""
    actor = actor_of(request)
    query = QueryDict(request.POST.get("query", "")[:4000])
    form = ContactFilterForm(query, member_choices=member_choices(actor))
    try:
        if not form.is_valid():
            raise ValidationFailed("invalid", "Some filters are not valid.", field="filter")
        conditions = _filter_conditions(form.cleaned_data, ("email", "full_name"), "lifecycle_stage")
        raw = [f"{c.field}:{c.op}:{c.value}" for c in conditions] + query.getlist("filter")[:50]
        team = request.POST.get("team") or None
        view = saved_views.saved_view_create(
            actor=actor,
            data={
                "name": request.POST.get("name", ""),
                "entity": "contact",
                "conditions": raw,
                "sort": query.get("sort", ""),
                "columns": request.POST.getlist("columns"),
                "team_id": int(team) if team and team.isdigit() else None,
            },
        )
    except ApplicationError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else exc.message
        messages.error(request, f"The view was not saved: {detail}")
        return redirect(reverse("contacts:list") + (f"?{query.urlencode()}" if query else ""))
    messages.success(request, f"View “{view.name}” saved.")
    return redirect(reverse("contacts:list") + f"?view={view.pk}")
