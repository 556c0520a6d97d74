"""Quotas: a member's sales target for a month or a quarter, in the workspace's base currency.

Reading: whoever may read deals reads the quotas of the members whose deals their level covers —
all members with "all", themselves and the members of their teams with "team", themselves with
"own" (`quota_user_filter`); the forecast (rapport.sales.forecast) uses the same rule.

Writing: admins (manage settings) and whoever may change every deal of the workspace (managers),
as for competitors: a quota is a target a seller is measured against, not the seller's own record.
Other members get 403 for a quota they may read and 404 for one they may not.

A quota is one (member, period kind, period start) with an amount ≥ 0 (2 decimals, base
currency). `period_start` is the first day of its month, or of its quarter (1 January, April, July,
October). Member, period and start identify the quota and do not change: delete it and set
another. Updates need the version read (If-Match / the form's hidden version); every write records
an event (`quota.created`, `quota.updated`, `quota.deleted`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.accounts.models import Membership
from rapport.accounts.roles import Entity, Level, Mode, Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import record_event
from rapport.core.principal import Principal
from rapport.sales.models import PeriodKind, Quota
from rapport.sales.order_services import to_decimal

FIELDS = {"user_id", "period", "period_start", "amount"}
# Quota.amount is DECIMAL(18, 2): 16 digits before the point.
AMOUNT_MAX = Decimal(10) ** 16
CENT = Decimal("0.01")
QUARTER_MONTHS = (1, 4, 7, 10)
ID_MAX = 2**63 - 1


# --- who --------------------------------------------------------------------------------------------


def can_manage_quotas(actor: Principal) -> bool:
    """Admins (manage settings) and whoever may change every deal of the workspace (managers)."""
    return actor.has_perm(Perm.MANAGE_SETTINGS) or actor.level(Entity.DEAL, Mode.WRITE) is Level.ALL


def quota_user_filter(actor: Principal, field: str = "user_id") -> Q | None:
    """The members whose quotas the actor may read, as a Q on `field` (a user id), or None for
    nobody: all members at the "all" deal read level, the actor and their teams' members at "team",
    the actor alone at "own"."""
    level = actor.level(Entity.DEAL, Mode.READ)
    if level is Level.NONE:
        return None
    if level is Level.ALL:
        return Q()
    if level is Level.TEAM and actor.team_ids:
        team_users = Membership.objects.filter(org_id=actor.org_id, teams__in=actor.team_ids).values("user_id")
        return Q(**{field: actor.user_id}) | Q(**{f"{field}__in": team_users})
    return Q(**{field: actor.user_id})


# --- cleaning ---------------------------------------------------------------------------------------


def period_start_of(kind: str, day: date) -> date:
    """The first day of the month or quarter that holds `day`."""
    if kind == PeriodKind.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def clean_period(value: Any, errors: FieldErrors, field: str = "period") -> str | None:
    if value in PeriodKind.values:
        return str(value)
    errors.add(field, "Choose month or quarter.")
    return None


def clean_period_start(value: Any, kind: str | None, errors: FieldErrors, field: str = "period_start") -> date | None:
    """A date that is the first day of a month (or of a quarter); a text date is parsed."""
    day = value if isinstance(value, date) else None
    if isinstance(value, str):
        try:
            day = parse_date(value.strip())
        except ValueError:
            day = None
    if day is None:
        errors.add(field, "Enter the first day of the period, such as 2026-04-01.")
        return None
    if kind is not None and day != period_start_of(kind, day):
        what = "a quarter (1 January, April, July or October)" if kind == PeriodKind.QUARTER else "a month"
        errors.add(field, f"{day.isoformat()} is not the first day of {what}.")
        return None
    return day


def clean_amount(value: Any, errors: FieldErrors, field: str = "amount") -> Decimal | None:
    """An amount ≥ 0 with at most 2 decimals (a number or its text; a float by its shortest text)."""
    if value is None or value == "" or isinstance(value, bool):
        errors.add(field, "Enter an amount (0 or more).")
        return None
    amount = to_decimal(value.replace(",", "") if isinstance(value, str) else value)
    if amount is None:
        errors.add(field, "Enter a number, such as 25000.")
    elif amount < 0:
        errors.add(field, "A quota cannot be negative.")
    elif amount >= AMOUNT_MAX:
        errors.add(field, "This amount is too large.")
    elif amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        errors.add(field, "Use at most 2 decimal places.")
    else:
        return amount.quantize(CENT)
    return None


def _member(actor: Principal, value: Any, errors: FieldErrors) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        errors.add("user_id", "Choose a member of the workspace.")
        return None
    if not Membership.objects.filter(org_id=actor.org_id, user_id=value, is_active=True).exists():
        errors.add("user_id", "No active member of this workspace has this id.")
        return None
    return value


def _snapshot(quota: Quota) -> dict[str, Any]:
    return {
        "user_id": quota.user_id,
        "period": quota.period,
        "period_start": quota.period_start.isoformat(),
        "amount": str(quota.amount),
    }


def _exists(period: str, start: date) -> Conflict:
    return Conflict(
        "quota_exists",
        f"This member already has a {period} quota from {start.isoformat()}; change it instead.",
        field="period_start",
    )


# --- reads ------------------------------------------------------------------------------------------


def quota_list(
    *,
    actor: Principal,
    user_id: int | None = None,
    period: str | None = None,
    start_from: date | None = None,
    start_to: date | None = None,
) -> QuerySet[Quota]:
    """The quotas the actor may read (see `quota_user_filter`), with their members; filters by
    member, period kind and period start (inclusive)."""
    visible = quota_user_filter(actor)
    if visible is None:
        return Quota.objects.none()
    if period is not None and period not in PeriodKind.values:
        raise ValidationFailed("invalid_period", "Choose month or quarter.", field="period")
    qs = Quota.objects.filter(visible, org_id=actor.org_id)
    exact = {"user_id": user_id, "period": period, "period_start__gte": start_from, "period_start__lte": start_to}
    return qs.filter(**{k: v for k, v in exact.items() if v is not None}).select_related("user")


def quota_get(*, actor: Principal, quota_id: object, mode: Mode = Mode.READ) -> Quota:
    """One quota the actor may read; 404 for missing, other workspaces' and invisible ones alike,
    403 to a write without the right to manage quotas."""
    pk: Any = quota_id
    try:
        quota = quota_list(actor=actor).get(pk=pk)
    except (Quota.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if mode is Mode.WRITE and not can_manage_quotas(actor):
        raise PermissionDenied()
    return quota


# --- writes -----------------------------------------------------------------------------------------


def _require_manage(actor: Principal) -> None:
    if not can_manage_quotas(actor):
        raise PermissionDenied("permission_denied", "Only admins and managers set quotas.")


@transaction.atomic
def quota_create(*, actor: Principal, data: Mapping[str, Any]) -> Quota:
    """Set a member's quota for a period that has none (409 `quota_exists` when it has one).
    Needs `user_id`, `period`, `period_start` and `amount`. Records `quota.created`."""
    _require_manage(actor)
    errors = FieldErrors()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "Unknown field.")
    user_id = _member(actor, data.get("user_id"), errors)
    period = clean_period(data.get("period"), errors)
    start = clean_period_start(data.get("period_start"), period, errors)
    amount = clean_amount(data.get("amount"), errors)
    errors.raise_if_any()
    assert user_id is not None and period is not None and start is not None and amount is not None
    taken = Quota.objects.filter(org_id=actor.org_id, user_id=user_id, period=period, period_start=start)
    if taken.exists():
        raise _exists(period, start)
    try:
        with transaction.atomic():
            quota = Quota.objects.create(
                org_id=actor.org_id,
                created_by=actor.user,
                user_id=user_id,
                period=period,
                period_start=start,
                amount=amount,
            )
    except IntegrityError:  # set meanwhile by a concurrent request
        raise _exists(period, start) from None
    record_event(actor, "quota.created", quota, {k: [None, v] for k, v in _snapshot(quota).items()})
    return quota


@transaction.atomic
def quota_update(*, actor: Principal, quota: Quota, data: Mapping[str, Any], expected_version: int | None) -> Quota:
    """Change a quota's amount (the only field that changes); refuses a stale version (412).
    Records `quota.updated` when the amount changed."""
    _require_manage(actor)
    if quota.org_id != actor.org_id:
        raise NotFound()
    errors = FieldErrors()
    for name in sorted(set(data) - {"amount"}):
        message = "Unknown field." if name not in FIELDS else "This cannot change: delete the quota and set another."
        errors.add(name, message)
    amount = clean_amount(data.get("amount"), errors) if "amount" in data else quota.amount
    errors.raise_if_any()
    qs = Quota.objects.filter(pk=quota.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    before = quota.amount
    if amount == before:
        if not qs.exists():
            raise StaleVersion()
        return Quota.objects.select_related("user").get(pk=quota.pk)
    if not qs.update(amount=amount, version=F("version") + 1, updated_at=timezone.now()):
        raise StaleVersion()
    quota = Quota.objects.select_related("user").get(pk=quota.pk)
    record_event(actor, "quota.updated", quota, {"amount": [str(before), str(quota.amount)]})
    return quota


@transaction.atomic
def quota_delete(*, actor: Principal, quota: Quota, expected_version: int | None = None) -> None:
    """Delete a quota (the period then has none; a quarter falls back to its months' quotas).
    With `expected_version`, refuses a stale one (412). Records `quota.deleted`."""
    _require_manage(actor)
    if quota.org_id != actor.org_id:
        raise NotFound()
    snapshot = _snapshot(quota)
    qs = Quota.objects.filter(pk=quota.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    pk = quota.pk
    if not qs.delete()[0]:
        if expected_version is not None and Quota.objects.filter(pk=pk).exists():
            raise StaleVersion()
        return
    quota.pk = pk  # delete() clears it; the event names the row that was
    record_event(actor, "quota.deleted", quota, {k: [v, None] for k, v in snapshot.items()})


@dataclass(frozen=True)
class GridCell:
    """One cell of the quota grid as a form sent it: the amount ("" for none) and the version of
    the quota the form showed (None: it showed no quota)."""

    user_id: int
    period_start: date
    amount: str
    version: int | None


@dataclass(frozen=True)
class GridResult:
    created: int
    updated: int
    deleted: int


@transaction.atomic
def quota_grid_save(*, actor: Principal, period: str, cells: Iterable[GridCell]) -> GridResult:
    """Save a grid of quotas (members x periods of one kind) in one transaction: a new amount sets
    a quota, a changed one updates it, an emptied one deletes it, an unchanged one is left alone.

    Every bad amount is reported at once (422, fields named "<user id>-<period start>"); a cell
    whose quota someone changed since the form was opened (its version differs, or it was set or
    deleted meanwhile) refuses the whole save (412). Nothing is written unless everything is valid.
    Queries: one to read the grid's quotas and members, then one write and one event per change."""
    _require_manage(actor)
    errors = FieldErrors()
    kind = clean_period(period, errors)
    errors.raise_if_any()
    assert kind is not None
    wanted: dict[tuple[int, date], tuple[Decimal | None, int | None]] = {}
    for cell in cells:
        name = f"{cell.user_id}-{cell.period_start.isoformat()}"
        clean_period_start(cell.period_start, kind, errors, field=name)
        amount = None if not cell.amount.strip() else clean_amount(cell.amount, errors, field=name)
        wanted[(cell.user_id, cell.period_start)] = (amount, cell.version)
    errors.raise_if_any()
    if not wanted:
        return GridResult(0, 0, 0)
    users = {user_id for user_id, _ in wanted}
    starts = {start for _, start in wanted}
    members = set(
        Membership.objects.filter(org_id=actor.org_id, user_id__in=users, is_active=True).values_list(
            "user_id", flat=True
        )
    )
    current = {
        (q.user_id, q.period_start): q
        for q in Quota.objects.select_for_update().filter(
            org_id=actor.org_id, period=kind, user_id__in=users, period_start__in=starts
        )
    }
    created = updated = deleted = 0
    for (user_id, start), (amount, version) in sorted(wanted.items(), key=lambda item: (item[0][0], item[0][1])):
        quota = current.get((user_id, start))
        if quota is None:
            if version is not None:
                raise StaleVersion("stale_version", "A quota in the grid was deleted meanwhile; reload the grid.")
            if amount is None:
                continue
            if user_id not in members:
                errors.add(f"{user_id}-{start.isoformat()}", "No active member of this workspace has this id.")
                continue
            quota_create(
                actor=actor, data={"user_id": user_id, "period": kind, "period_start": start, "amount": amount}
            )
            created += 1
        elif version != quota.version:
            raise StaleVersion("stale_version", "A quota in the grid was changed meanwhile; reload the grid.")
        elif amount is None:
            quota_delete(actor=actor, quota=quota, expected_version=version)
            deleted += 1
        elif amount != quota.amount:
            quota_update(actor=actor, quota=quota, data={"amount": amount}, expected_version=version)
            updated += 1
    errors.raise_if_any()
    return GridResult(created, updated, deleted)
