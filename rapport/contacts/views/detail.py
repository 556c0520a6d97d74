"""The 360° pages: a contact, a company; their sections edited inline over HTMX; their timelines.

Each section of a page is a fragment (`contacts/_section.html`) shown read-only, or as a small
form (GET …/edit/) that posts back to the same URL. A save goes through `services.*_update` with
the version the form was rendered from: a stale version answers 409 with a notice and changes
nothing; a refused write answers 403. Without JavaScript the same links and forms work as plain
page loads (`?edit=<section>` opens a section's form in the full page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity
from rapport.contacts import forms as f
from rapport.contacts import selectors, services
from rapport.contacts.channel_forms import ContactChannelsForm
from rapport.contacts.facts import facts_for
from rapport.contacts.timeline import timeline, timeline_kinds
from rapport.contacts.views.common import (
    actor_of,
    add_errors,
    company_by_name,
    is_htmx,
    member_choices,
    not_found,
    parse_before,
)
from rapport.core.access import can_write
from rapport.core.customfields.definitions import fields_of
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion
from rapport.core.models import CustomField
from rapport.core.principal import Principal
from rapport.web.custom_fields import shown_values

TIMELINE_PAGE = 30
CONTACTS_ON_COMPANY_PAGE = 50


@dataclass(frozen=True)
class SectionSpec:
    title: str
    form: type[f.RecordForm]
    # The template of the form's inputs; by default every field in a grid (contacts/_section_fields.html).
    form_template: str = "contacts/_section_fields.html"


CONTACT_SECTIONS: dict[str, SectionSpec] = {
    "details": SectionSpec("Details", f.ContactDetailsForm),
    "custom": SectionSpec("Custom fields", f.CustomFieldsForm),
    "channels": SectionSpec("Email and phone", ContactChannelsForm, "contacts/sections/contact_channels_form.html"),
    "address": SectionSpec("Address", f.AddressForm),
    "preferences": SectionSpec("Communication preferences", f.PreferencesForm),
    "tags": SectionSpec("Tags", f.TagsForm),
    "social": SectionSpec("Social profiles", f.SocialForm),
    "notes": SectionSpec("Notes", f.NotesForm),
}
COMPANY_SECTIONS: dict[str, SectionSpec] = {
    "details": SectionSpec("Details", f.CompanyDetailsForm),
    "custom": SectionSpec("Custom fields", f.CustomFieldsForm),
    "address": SectionSpec("Address", f.AddressForm),
    "tags": SectionSpec("Tags", f.TagsForm),
    "description": SectionSpec("Description", f.DescriptionForm),
}


class Kind:
    """What differs between the contact and the company pages."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entity = Entity.CONTACT if name == "contact" else Entity.COMPANY
        self.sections = CONTACT_SECTIONS if name == "contact" else COMPANY_SECTIONS
        self.detail_route = "contacts:detail" if name == "contact" else "contacts:company_detail"
        self.prefix = "contacts:" if name == "contact" else "contacts:company_"

    def get(self, actor: Principal, pk: int) -> Any:
        if self.name == "contact":
            return selectors.contact_get(actor=actor, contact_id=pk)
        return selectors.company_get(actor=actor, company_id=pk)

    def update(self, actor: Principal, record: Any, data: dict[str, Any], version: int | None) -> Any:
        if self.name == "contact":
            return services.contact_update(actor=actor, contact=record, data=data, expected_version=version)
        return services.company_update(actor=actor, company=record, data=data, expected_version=version)


CONTACT = Kind("contact")
COMPANY = Kind("company")
# The section of the workspace's own fields: shown only when the entity has some.
CUSTOM = "custom"


def _section(
    kind: Kind,
    record: Any,
    name: str,
    *,
    can_edit: bool,
    form: f.RecordForm | None = None,
    notice: str = "",
    notice_kind: str = "error",
    definitions: list[CustomField] | None = None,
) -> dict[str, Any]:
    spec = kind.sections[name]
    custom = []
    if name == CUSTOM:
        definitions = fields_of(record.org_id, kind.name) if definitions is None else definitions
        custom = shown_values(definitions, record.custom)
    return {
        "name": name,
        "title": spec.title,
        "form": form,
        "notice": notice,
        "notice_kind": notice_kind,
        "template": f"contacts/sections/{kind.name}_{name}.html",
        "form_template": spec.form_template,
        "url": reverse(f"{kind.prefix}section", args=[record.pk, name]),
        "edit_url": reverse(f"{kind.prefix}section_edit", args=[record.pk, name]),
        "can_edit": can_edit,
        "custom_values": custom,
    }


def _blank_form(
    kind: Kind, record: Any, name: str, actor: Principal, definitions: list[CustomField] | None = None
) -> f.RecordForm:
    form_class = kind.sections[name].form
    initial = form_class.initial_for(record)  # type: ignore[attr-defined]
    initial["version"] = record.version
    return form_class(initial=initial, prefix=name, **_form_kwargs(kind, name, actor, definitions))


def _form_kwargs(
    kind: Kind, name: str, actor: Principal, definitions: list[CustomField] | None = None
) -> dict[str, Any]:
    """What a section's form needs besides its data: the owner choices, or the custom field definitions."""
    if name == CUSTOM:
        return {"custom_fields": fields_of(actor.org_id, kind.name) if definitions is None else definitions}
    return {"member_choices": member_choices(actor)}


def _timeline_context(request: HttpRequest, kind: Kind, record: Any, actor: Principal) -> dict[str, Any]:
    wanted = request.GET.get("kind") or ""
    known = dict(timeline_kinds())
    subjects: list[tuple[str, Any]] = [(kind.name, [record.pk])]
    if kind.name == "company":
        contact_ids = selectors.company_contacts(actor=actor, company=record).order_by().values("pk")
        subjects.append(("contact", contact_ids))
    error = ""
    try:
        before = parse_before(request.GET.get("before"))
        items = timeline(
            actor=actor,
            subjects=subjects,
            limit=TIMELINE_PAGE,
            before=before,
            kinds=[wanted] if wanted in known else None,
        )
    except ApplicationError as exc:
        items, error = [], exc.message
    older = ""
    if len(items) == TIMELINE_PAGE:
        query = request.GET.copy()
        query["before"] = items[-1].at.isoformat()
        older = "?" + query.urlencode()
    return {
        "items": items,
        "kinds": list(known.items()),
        "timeline_kind": wanted if wanted in known else "",
        "older": older,
        "timeline_error": error,
        "timeline_url": reverse(f"{kind.prefix}timeline", args=[record.pk]),
        "rollup": kind.name == "company",
    }


def _page(
    request: HttpRequest,
    kind: Kind,
    pk: int,
    *,
    editing: str = "",
    form: f.RecordForm | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    try:
        record = kind.get(actor, pk)
    except NotFound:
        return not_found(request)
    editable = can_write(actor, record, kind.entity)
    editing = editing or (request.GET.get("edit") or "")
    definitions = fields_of(actor.org_id, kind.name)
    sections = []
    for name in kind.sections:
        if name == CUSTOM and not definitions:
            continue
        section_form = None
        if editable and name == editing:
            section_form = form or _blank_form(kind, record, name, actor, definitions)
        sections.append(
            _section(
                kind,
                record,
                name,
                can_edit=editable,
                form=section_form,
                notice=notice if name == editing else "",
                definitions=definitions,
            )
        )
    context: dict[str, Any] = {
        "record": record,
        "kind": kind.name,
        "can_edit": editable,
        "sections": sections,
        "extra_facts": facts_for(actor=actor, subject_type=kind.name, record=record),
        **_timeline_context(request, kind, record, actor),
    }
    if kind.name == "company":
        contacts = list(
            selectors.company_contacts(actor=actor, company=record).select_related("owner")[
                : CONTACTS_ON_COMPANY_PAGE + 1
            ]
        )
        context.update(
            contacts=contacts[:CONTACTS_ON_COMPANY_PAGE],
            more_contacts=len(contacts) > CONTACTS_ON_COMPANY_PAGE,
            all_contacts_url=reverse("contacts:list") + f"?filter=company_id:eq:{record.pk}",
            subsidiaries=list(selectors.company_subsidiaries(actor=actor, company=record)[:100]),
        )
    return render(request, f"contacts/{kind.name}_detail.html", context, status=status)


@require_safe
@login_required
@principal_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _page(request, CONTACT, contact_id)


@require_safe
@login_required
@principal_required
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    return _page(request, COMPANY, company_id)


# --- sections ------------------------------------------------------------------------------


def _fragment(
    request: HttpRequest, kind: Kind, record: Any, section: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"record": record, "kind": kind.name, "section": section}
    return render(request, "contacts/_section.html", context, status=status)


def _section_view(request: HttpRequest, kind: Kind, pk: int, name: str, *, edit: bool) -> HttpResponse:
    actor = actor_of(request)
    if name not in kind.sections or (name == CUSTOM and not fields_of(actor.org_id, kind.name)):
        return not_found(request)
    try:
        record = kind.get(actor, pk)
    except NotFound:
        return not_found(request)
    editable = can_write(actor, record, kind.entity)
    denied = f"You may view this {kind.name} but not change it."
    if not edit:
        return _fragment(request, kind, record, _section(kind, record, name, can_edit=editable))
    if not editable:
        if request.method == "POST" and not is_htmx(request):
            return render(request, "contacts/forbidden.html", {"what": f"change this {kind.name}"}, status=403)
        return _fragment(request, kind, record, _section(kind, record, name, can_edit=False, notice=denied), 403)
    if request.method != "POST":
        form = _blank_form(kind, record, name, actor)
        return _fragment(request, kind, record, _section(kind, record, name, can_edit=True, form=form))

    form = kind.sections[name].form(request.POST, prefix=name, **_form_kwargs(kind, name, actor))
    if not form.is_valid():
        return _respond_form(request, kind, record, name, form, editable, "", 422)
    lookups: dict[str, tuple[str, str]] = {}
    try:
        data = _data_for(form, record, actor, lookups)
        kind.update(actor, record, data, form.cleaned_data.get("version"))
    except PermissionDenied:
        if is_htmx(request):
            return _fragment(request, kind, record, _section(kind, record, name, can_edit=False, notice=denied), 403)
        return render(request, "contacts/forbidden.html", {"what": f"change this {kind.name}"}, status=403)
    except StaleVersion:
        stale = f"Someone else changed this {kind.name} since you opened this form — reload to see their changes."
        return _respond_form(request, kind, record, name, form, editable, stale, 409)
    except NotFound:
        return not_found(request)
    except ApplicationError as exc:
        add_errors(form, exc, lookups)
        return _respond_form(request, kind, record, name, form, editable, "", exc.status)
    if not is_htmx(request):
        messages.success(request, f"{kind.sections[name].title} saved.")
        return redirect(reverse(kind.detail_route, args=[pk]) + f"#section-{name}")
    fresh = kind.get(actor, pk)
    response = _fragment(
        request, kind, fresh, _section(kind, fresh, name, can_edit=True, notice="Saved.", notice_kind="success")
    )
    response["HX-Trigger"] = "record-changed"
    return response


def _respond_form(
    request: HttpRequest, kind: Kind, record: Any, name: str, form: Any, editable: bool, notice: str, status: int
) -> HttpResponse:
    if is_htmx(request):
        section = _section(kind, record, name, can_edit=editable, form=form, notice=notice)
        return _fragment(request, kind, record, section, status)
    return _page(request, kind, record.pk, editing=name, form=form, notice=notice, status=status)


def _data_for(form: Any, record: Any, actor: Principal, lookups: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The services' input for a saved section (company names resolved to ids, failures in `lookups`).

    The record's current company (or parent) is passed along, so that its name keeps naming it even
    when another visible company has the same name.
    """
    data = form.to_data()
    for form_field, service_field in (("company", "company_id"), ("parent", "parent_id")):
        if form_field in form.cleaned_data:
            current = getattr(record, service_field)
            data[service_field], message = company_by_name(actor, form.cleaned_data[form_field], current=current)
            lookups[service_field] = (form_field, message)
    return data


@require_safe
@login_required
@principal_required
def contact_section(request: HttpRequest, contact_id: int, name: str) -> HttpResponse:
    return _section_view(request, CONTACT, contact_id, name, edit=False)


@login_required
@principal_required
def contact_section_edit(request: HttpRequest, contact_id: int, name: str) -> HttpResponse:
    return _section_view(request, CONTACT, contact_id, name, edit=True)


@require_safe
@login_required
@principal_required
def company_section(request: HttpRequest, company_id: int, name: str) -> HttpResponse:
    return _section_view(request, COMPANY, company_id, name, edit=False)


@login_required
@principal_required
def company_section_edit(request: HttpRequest, company_id: int, name: str) -> HttpResponse:
    return _section_view(request, COMPANY, company_id, name, edit=True)


# --- timeline and facts fragments -----------------------------------------------------------


def _timeline_view(request: HttpRequest, kind: Kind, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        record = kind.get(actor, pk)
    except NotFound:
        return not_found(request)
    if not is_htmx(request):
        query = request.GET.urlencode()
        return redirect(reverse(kind.detail_route, args=[pk]) + (f"?{query}" if query else "") + "#timeline")
    context = {"record": record, "kind": kind.name, **_timeline_context(request, kind, record, actor)}
    return render(request, "contacts/_timeline.html", context, status=400 if context["timeline_error"] else 200)


@require_safe
@login_required
@principal_required
def contact_timeline(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _timeline_view(request, CONTACT, contact_id)


@require_safe
@login_required
@principal_required
def company_timeline(request: HttpRequest, company_id: int) -> HttpResponse:
    return _timeline_view(request, COMPANY, company_id)


def _facts_view(request: HttpRequest, kind: Kind, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        record = kind.get(actor, pk)
    except NotFound:
        return not_found(request)
    extra = facts_for(actor=actor, subject_type=kind.name, record=record)
    return render(request, f"contacts/_{kind.name}_facts.html", {"record": record, "extra_facts": extra})


@require_safe
@login_required
@principal_required
def contact_facts(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _facts_view(request, CONTACT, contact_id)


@require_safe
@login_required
@principal_required
def company_facts(request: HttpRequest, company_id: int) -> HttpResponse:
    return _facts_view(request, COMPANY, company_id)
