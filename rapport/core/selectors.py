"""Reads of the core: the audit trail."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from rapport.accounts.roles import Perm
from rapport.core.access import require
from rapport.core.errors import ValidationFailed
from rapport.core.models import Event
from rapport.core.principal import Principal


def event_list(
    *,
    actor: Principal,
    verb: str | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Event]:
    """The workspace's events, newest first, filtered; only for roles that may view the audit trail."""
    require(actor, Perm.VIEW_AUDIT)
    if since and until and since > until:
        raise ValidationFailed("invalid_range", "`since` must be before `until`.", field="since")
    qs = Event.objects.filter(org_id=actor.org_id).select_related("actor")
    if verb:
        qs = qs.filter(verb__startswith=verb[:-1]) if verb.endswith(".*") else qs.filter(verb=verb)
    if subject_type:
        qs = qs.filter(subject_type=subject_type)
    if subject_id is not None:
        qs = qs.filter(subject_id=subject_id)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-id")
