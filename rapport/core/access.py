"""Fetch-and-authorise helpers built on the permission table (rapport.accounts.roles).

`scope(actor, qs, entity)` narrows a queryset of one workspace's records to what the actor may
see; `access(actor, qs, pk, entity)` fetches one record and answers NotFound for "missing" and
"not yours" alike, so ids of other workspaces and other people's records leak nothing. A record
the actor may read but not write answers PermissionDenied on a write.
"""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q

from rapport.accounts.roles import Entity, Level, Mode, Perm
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.principal import Principal

M = TypeVar("M", bound=models.Model)


def _has_owner(model: type[models.Model]) -> bool:
    names = {f.name for f in model._meta.get_fields()}
    return "owner" in names and "team" in names


def level_filter(actor: Principal, model: type[models.Model], level: Level, via: str = "") -> Q | None:
    """The Q for one access level on `model`, or None for 'nothing'. With `via` (such as "deal__"),
    the owner and team are those of a related `model` record: a quote is read by its deal's rules."""
    if level is Level.NONE:
        return None
    base = Q(org_id=actor.org_id)
    if level is Level.ALL or not _has_owner(model):
        return base
    if level is Level.OWN:
        return base & Q(**{f"{via}owner_id": actor.user_id})
    return base & (Q(**{f"{via}owner_id": actor.user_id}) | Q(**{f"{via}team_id__in": actor.team_ids}))


def scope(actor: Principal, qs: models.QuerySet[M], entity: Entity, mode: Mode = Mode.READ) -> models.QuerySet[M]:
    """Records of `qs` the actor may read (or write, with mode=WRITE)."""
    condition = level_filter(actor, qs.model, actor.level(entity, mode))
    return qs.none() if condition is None else qs.filter(condition)


def can_write(actor: Principal, obj: models.Model, entity: Entity) -> bool:
    condition = level_filter(actor, type(obj), actor.level(entity, Mode.WRITE))
    if condition is None:
        return False
    return type(obj)._default_manager.filter(condition, pk=obj.pk).exists()


def access(actor: Principal, qs: models.QuerySet[M], pk: object, entity: Entity, mode: Mode = Mode.READ) -> M:
    """Fetch one record the actor may read; with mode=WRITE also require the right to change it."""
    try:
        obj = scope(actor, qs, entity, Mode.READ).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if mode is Mode.WRITE and not can_write(actor, obj, entity):
        raise PermissionDenied()
    return obj


def require(actor: Principal, perm: Perm) -> None:
    """Raise PermissionDenied unless the actor's role holds `perm`."""
    if not actor.has_perm(perm):
        raise PermissionDenied()


def require_entity(actor: Principal, entity: Entity, mode: Mode) -> None:
    """Raise PermissionDenied unless the actor may read/write at least some records of `entity`."""
    if not actor.can(entity, mode):
        raise PermissionDenied()
