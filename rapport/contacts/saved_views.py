"""Saved views of the contact and company lists: services and selectors.

A user sees their own views and the views shared with a team they belong to; only the owner
changes or deletes a view. Conditions are stored in the list's `field:operator:value` form and
checked against the list's filter fields when saved, so a saved view always opens. Conditions,
the sort and the columns may name the workspace's custom fields (`custom.<key>`); a view whose
custom field is later deleted still opens (the list drops the column; the condition reports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from rapport.accounts.models import Team
from rapport.contacts.models import Company, Contact, SavedView
from rapport.contacts.selectors import COMPANY_FILTERS, CONTACT_FILTERS, list_fields
from rapport.core.customfields.definitions import fields_of
from rapport.core.customfields.values import PREFIX
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.events import record_event
from rapport.core.filtering import apply_filters, ordering_for, parse_conditions
from rapport.core.principal import Principal

ENTITIES = {"contact": CONTACT_FILTERS, "company": COMPANY_FILTERS}
COLUMNS = {
    "contact": ("full_name", "email", "company", "lifecycle_stage", "country", "owner", "created_at"),
    "company": ("name", "domain", "industry", "country", "owner", "created_at"),
}
FIELDS = ("name", "entity", "conditions", "sort", "columns", "team_id")


def saved_view_list(*, actor: Principal, entity: str | None = None) -> QuerySet[SavedView]:
    """The actor's own views and those shared with one of their teams."""
    qs = SavedView.objects.filter(org_id=actor.org_id).filter(
        Q(owner_id=actor.user_id) | Q(team_id__in=list(actor.team_ids))
    )
    return qs.filter(entity=entity) if entity else qs


def saved_view_get(*, actor: Principal, view_id: object, write: bool = False) -> SavedView:
    """One visible view (its owner's only, with write=True); NotFound otherwise."""
    try:
        pk = int(str(view_id))
    except ValueError:
        raise NotFound("not_found", "No such view.") from None
    qs = saved_view_list(actor=actor)
    if write:
        qs = qs.filter(owner_id=actor.user_id)
    view = qs.filter(pk=pk).first()
    if view is None:
        raise NotFound("not_found", "No such view.")
    return view


def _clean(actor: Principal, data: Mapping[str, Any], entity: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ValidationFailed("invalid", "Give a name of 1 to 100 characters.", field="name")
        values["name"] = name.strip()
    if "conditions" in data:
        raw = data["conditions"]
        if not isinstance(raw, list) or len(raw) > 50 or not all(isinstance(c, str) for c in raw):
            raise ValidationFailed("invalid", "Give at most 50 conditions as text.", field="conditions")
        model: Any = Contact if entity == "contact" else Company
        conditions = parse_conditions(raw)
        apply_filters(model.objects.none(), list_fields(actor, entity, conditions, None), conditions)
        values["conditions"] = raw
    if "sort" in data:
        sort = data["sort"] or ""
        if sort:
            ordering_for(list_fields(actor, entity, [], sort), sort, ("id",))
        values["sort"] = sort
    if "columns" in data:
        cols = data["columns"]
        allowed = list(COLUMNS[entity])
        if isinstance(cols, list) and any(isinstance(c, str) and c.startswith(PREFIX) for c in cols):
            allowed += [PREFIX + f.key for f in fields_of(actor.org_id, entity)]
        if not isinstance(cols, list) or any(c not in allowed for c in cols):
            raise ValidationFailed("invalid", f"Choose columns from: {', '.join(allowed)}.", field="columns")
        values["columns"] = list(dict.fromkeys(cols))
    if "team_id" in data:
        team_id = data["team_id"]
        if team_id is not None and (
            team_id not in actor.team_ids or not Team.objects.filter(org_id=actor.org_id, pk=team_id).exists()
        ):
            raise ValidationFailed("invalid", "Share only with a team you belong to.", field="team_id")
        values["team_id"] = team_id
    return values


@transaction.atomic
def saved_view_create(*, actor: Principal, data: Mapping[str, Any]) -> SavedView:
    """Save a list setup for the actor; `entity` is "contact" or "company"."""
    entity = data.get("entity")
    if entity not in ENTITIES:
        raise ValidationFailed("invalid", "Choose contact or company.", field="entity")
    if "name" not in data:
        raise ValidationFailed("required", "Give a name.", field="name")
    values = _clean(actor, data, entity)
    view = SavedView.objects.create(
        org_id=actor.org_id, owner_id=actor.user_id, created_by=actor.user, entity=entity, **values
    )
    record_event(actor, "saved_view.created", view, {"name": [None, view.name]})
    return view


@transaction.atomic
def saved_view_update(*, actor: Principal, view: SavedView, data: Mapping[str, Any]) -> SavedView:
    """Change the owner's view (entity cannot change)."""
    if view.owner_id != actor.user_id:
        raise NotFound("not_found", "No such view.")
    values = _clean(actor, data, view.entity)
    changes = {k: [getattr(view, k), v] for k, v in values.items() if getattr(view, k) != v}
    for key, value in values.items():
        setattr(view, key, value)
    view.save()
    if changes:
        record_event(actor, "saved_view.updated", view, changes)
    return view


@transaction.atomic
def saved_view_delete(*, actor: Principal, view: SavedView) -> None:
    """Delete the owner's view."""
    if view.owner_id != actor.user_id:
        raise NotFound("not_found", "No such view.")
    record_event(actor, "saved_view.deleted", view, {"name": [view.name, None]})
    view.delete()
