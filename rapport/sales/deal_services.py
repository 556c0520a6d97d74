"""Writes of deals: create, update, move to another stage, trash and restore. The API, the pages,
the board, lead conversion and the importer all go through here.

Access follows the deal levels (rapport.accounts.roles, Entity.DEAL): at the OWN level a member
creates and changes only deals they own (and cannot give one away). Input is a mapping of field →
value; every problem of one record is reported together (ValidationFailed naming the fields),
and nothing is written unless the whole record is valid.

The stage of a deal changes only through `deal_move`, which keeps the stage history (`DealStage`,
one open row per deal) and refuses a lost stage without a reason. Every write bumps `version`
in a conditional UPDATE (`WHERE version = <the version the caller read>`): of two people moving
the same deal at once one wins, the other gets StaleVersion (412) and nothing of theirs is
written; the one-open-row constraint of the history is the second guard (Conflict, 409).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.accounts.models import Membership, Team
from rapport.accounts.roles import Entity, Level, Mode
from rapport.contacts.cleaning import FieldErrors, clean_text, readable_record
from rapport.contacts.models import Company, Contact
from rapport.core import normalize
from rapport.core.access import can_write, require_entity, scope
from rapport.core.customfields.values import clean_custom
from rapport.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.sales.models import (
    Competitor,
    Deal,
    DealContact,
    DealLine,
    DealRole,
    DealStage,
    Pipeline,
    Stage,
    StageKind,
)

FIELDS = {
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "pipeline_id",
    "stage_id",
    "owner_id",
    "team_id",
    "contact_id",
    "company_id",
    "contacts",
    "competitor_ids",
    "source",
    "lost_reason",
    "custom",
}
# Fields only a create takes: afterwards the stage (and the pipeline) change through `deal_move`.
CREATE_ONLY = {"pipeline_id", "stage_id"}
NAME_MAX = 200
SOURCE_MAX = 100
LOST_REASON_MAX = 500
AMOUNT_LIMIT = Decimal("1e16")
MAX_CONTACTS = 50
MAX_COMPETITORS = 50
SNAPSHOT = (
    "name",
    "currency",
    "expected_close_date",
    "pipeline_id",
    "stage_id",
    "owner_id",
    "team_id",
    "contact_id",
    "company_id",
    "source",
    "lost_reason",
)


# --- cleaning ----------------------------------------------------------------------------------


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _amount(value: Any, errors: FieldErrors) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        errors.add("amount", "Enter an amount such as 1250.00 (0 or more).")
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors.add("amount", "Enter an amount such as 1250.00 (0 or more).")
        return None
    if not amount.is_finite() or amount < 0 or amount >= AMOUNT_LIMIT:
        errors.add("amount", "Enter an amount of 0 or more, below 10^16.")
        return None
    return amount.quantize(Decimal("0.01"))


def _close_date(value: Any, errors: FieldErrors) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    parsed = value if isinstance(value, date) else parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        errors.add("expected_close_date", "Enter a date as YYYY-MM-DD.")
    return parsed


def _owner(actor: Principal, value: Any, errors: FieldErrors) -> int | None:
    pk = _id(value)
    if pk is None:
        errors.add("owner_id", "Give the user id of a member." if value is not None else "A deal needs an owner.")
        return None
    if not Membership.objects.filter(org_id=actor.org_id, is_active=True, user_id=pk).exists():
        errors.add("owner_id", f"No member with the id {value}.")
        return None
    if pk != actor.user_id and actor.level(Entity.DEAL, Mode.WRITE) is Level.OWN:
        errors.add("owner_id", "Your role lets you own deals only yourself.")
        return None
    return pk


def _contacts(actor: Principal, value: Any, errors: FieldErrors) -> list[tuple[int, str]] | None:
    """[(contact id, role)] from [{contact_id, role}], each contact once and readable by the actor."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CONTACTS:
        errors.add("contacts", f"Give at most {MAX_CONTACTS} contacts as a list of {{contact_id, role}}.")
        return None
    links: dict[int, str] = {}
    positions: dict[int, int] = {}  # contact id → its place in the list, for the error's path
    for i, entry in enumerate(value):
        if not isinstance(entry, Mapping) or set(entry) - {"contact_id", "role"}:
            errors.add(f"contacts.{i}", "Give {contact_id, role}.")
            continue
        pk = _id(entry.get("contact_id"))
        role = entry.get("role") or DealRole.OTHER
        if pk is None:
            errors.add(f"contacts.{i}.contact_id", "Give a contact id.")
        elif pk in links:
            errors.add(f"contacts.{i}.contact_id", "This contact is listed twice.")
        if role not in DealRole.values:
            errors.add(f"contacts.{i}.role", f"Choose one of: {', '.join(DealRole.values)}.")
        if pk is not None:
            links[pk] = role
            positions.setdefault(pk, i)
    found = set(scope(actor, Contact.objects.alive(), Entity.CONTACT).filter(pk__in=links).values_list("pk", flat=True))
    for pk, i in positions.items():
        if pk not in found:
            errors.add(f"contacts.{i}.contact_id", f"No contact with the id {pk}.")
    return list(links.items())


def _competitors(actor: Principal, value: Any, errors: FieldErrors) -> list[int] | None:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_COMPETITORS or any(_id(v) is None for v in value):
        errors.add("competitor_ids", f"Give at most {MAX_COMPETITORS} competitor ids as a list.")
        return None
    ids = list(dict.fromkeys(value))
    found = set(
        Competitor.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, pk__in=ids).values_list("pk", flat=True)
    )
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        errors.add("competitor_ids", f"No competitor with the id {', '.join(missing)}.")
        return None
    return ids


def _placement(actor: Principal, data: Mapping[str, Any], errors: FieldErrors) -> tuple[Pipeline | None, Stage | None]:
    """The pipeline and stage of a new deal: the stage must belong to the pipeline; without one,
    the pipeline's first open stage."""
    pipeline_pk = _id(data.get("pipeline_id"))
    pipeline = (
        Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, pk=pipeline_pk).first()
        if pipeline_pk
        else None
    )
    if pipeline is None:
        errors.add("pipeline_id", "A deal needs a pipeline of this workspace (pipeline_id).")
        return None, None
    if data.get("stage_id") is None:
        stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "id").first()
        if stage is None:
            errors.add("stage_id", "This pipeline has no open stage; give stage_id.")
        return pipeline, stage
    stage_pk = _id(data["stage_id"])
    stage = Stage.objects.filter(org_id=actor.org_id, pipeline=pipeline, pk=stage_pk).first() if stage_pk else None
    if stage is None:
        errors.add("stage_id", f"The pipeline “{pipeline.name}” has no stage with the id {data['stage_id']}.")
    return pipeline, stage


Related = tuple[dict[str, Any], list[tuple[int, str]] | None, list[int] | None]


def _keep_lines_total(deal: Deal, values: Mapping[str, Any], errors: FieldErrors) -> None:
    """A deal with line items has their total as its amount, in their currency: neither is typed."""
    if not DealLine.objects.filter(deal=deal).exists():
        return
    if values.get("amount") is not None and values["amount"] != deal.amount:
        errors.add("amount", "This deal's amount is the total of its products: change the products instead.")
    if values.get("currency") is not None and values["currency"] != deal.currency:
        errors.add(
            "currency",
            f"This deal's products are priced in {deal.currency}: remove them before changing the currency.",
        )


def _clean(actor: Principal, data: Mapping[str, Any], instance: Deal | None) -> Related:
    """The column values, the contacts with roles and the competitor ids (None: unchanged)."""
    errors = FieldErrors()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "Unknown field.")
    if instance is not None:
        for name in sorted(CREATE_ONLY & set(data)):
            errors.add(name, "Move the deal to change its stage or pipeline (POST /api/v1/deals/{id}/move).")
    values: dict[str, Any] = {}
    if "name" in data or instance is None:
        values["name"] = clean_text(data.get("name"), "name", NAME_MAX, errors, required=True)
    if "amount" in data:
        values["amount"] = _amount(data["amount"], errors)
    if "currency" in data or instance is None:
        raw = data.get("currency") or (actor.org.base_currency if instance is None else None)
        values["currency"] = errors.run("currency", normalize.currency, raw) if raw else None
        if values["currency"] is None:
            errors.add("currency", "Enter a currency such as EUR or USD.")
    if "expected_close_date" in data:
        values["expected_close_date"] = _close_date(data["expected_close_date"], errors)
    for name, limit in (("source", SOURCE_MAX), ("lost_reason", LOST_REASON_MAX)):
        if name in data:
            values[name] = clean_text(data[name], name, limit, errors)
    if "owner_id" in data:
        values["owner_id"] = _owner(actor, data["owner_id"], errors)
    if "team_id" in data:
        team_pk = _id(data["team_id"])
        if data["team_id"] is not None and (
            team_pk is None or not Team.objects.filter(org_id=actor.org_id, pk=team_pk).exists()
        ):
            errors.add("team_id", f"No team with the id {data['team_id']}.")
        values["team_id"] = team_pk
    if "contact_id" in data:
        values["contact"] = readable_record(actor, Contact, Entity.CONTACT, data["contact_id"], "contact_id", errors)
    if "company_id" in data:
        values["company"] = readable_record(actor, Company, Entity.COMPANY, data["company_id"], "company_id", errors)
    if instance is None:
        values["pipeline"], values["stage"] = _placement(actor, data, errors)
    if "custom" in data or instance is None:
        values["custom"] = clean_custom(
            org_id=actor.org_id,
            entity="deal",
            raw=data.get("custom"),
            current=None if instance is None else dict(instance.custom or {}),
            record_pk=None if instance is None else instance.pk,
            errors=errors.fields,
        )
    if instance is not None and ("amount" in values or "currency" in values):
        _keep_lines_total(instance, values, errors)
    stage = values.get("stage") or (instance.stage if instance is not None else None)
    reason = values.get("lost_reason", instance.lost_reason if instance else "")
    if stage is not None and stage.kind == StageKind.LOST and not reason:
        errors.add("lost_reason", "A lost deal needs a lost reason.")
    links = _contacts(actor, data["contacts"], errors) if "contacts" in data else None
    competitors = _competitors(actor, data["competitor_ids"], errors) if "competitor_ids" in data else None
    errors.raise_if_any()
    return values, links, competitors


# --- writes ------------------------------------------------------------------------------------


def _snapshot(deal: Deal) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(deal, name) for name in SNAPSHOT}
    values["amount"] = str(deal.amount)
    values["expected_close_date"] = deal.expected_close_date.isoformat() if deal.expected_close_date else None
    values["contacts"] = sorted([link.contact_id, link.role] for link in deal.contact_links.all())
    values["competitor_ids"] = sorted(c.pk for c in deal.competitors.all())
    values.update({f"custom.{key}": value for key, value in sorted((deal.custom or {}).items())})
    return values


def deal_reload(deal: Deal) -> Deal:
    """The deal with what the API and the pages show joined and prefetched."""
    return (
        Deal.objects.select_related("pipeline", "stage", "owner", "team", "contact", "company")
        .prefetch_related("contact_links__contact", "competitors")
        .get(pk=deal.pk)
    )


def _require_write(actor: Principal, deal: Deal) -> None:
    if deal.org_id != actor.org_id or not can_write(actor, deal, Entity.DEAL):
        raise PermissionDenied()


def _apply_related(deal: Deal, links: list[tuple[int, str]] | None, competitors: list[int] | None) -> None:
    if links is not None:
        deal.contact_links.all().delete()
        DealContact.objects.bulk_create(
            [DealContact(org_id=deal.org_id, deal=deal, contact_id=pk, role=role) for pk, role in links]
        )
    if competitors is not None:
        deal.competitors.set(competitors)


@transaction.atomic
def deal_create(*, actor: Principal, data: Mapping[str, Any]) -> Deal:
    """Create a deal in a pipeline (in `stage_id`, or the pipeline's first open stage), owned by the
    actor unless `owner_id` names another member; opens its stage history. Records `deal.created`."""
    require_entity(actor, Entity.DEAL, Mode.WRITE)
    values, links, competitors = _clean(actor, data, None)
    values.setdefault("owner_id", actor.user_id)
    if "team_id" not in values and len(actor.team_ids) == 1:
        values["team_id"] = next(iter(actor.team_ids))
    now = timezone.now()
    stage: Stage = values["stage"]
    if stage.kind != StageKind.OPEN:
        values["closed_at"] = now
    deal = Deal.objects.create(org_id=actor.org_id, created_by=actor.user, stage_entered_at=now, **values)
    DealStage.objects.create(
        org_id=actor.org_id, deal=deal, pipeline=deal.pipeline, stage=stage, entered_at=now, actor=actor.user
    )
    _apply_related(deal, links, competitors)
    deal = deal_reload(deal)
    record_event(actor, "deal.created", deal, diff({}, _snapshot(deal)))
    return deal


@transaction.atomic
def deal_update(*, actor: Principal, deal: Deal, data: Mapping[str, Any], expected_version: int | None) -> Deal:
    """Change some fields of a deal (only the keys in `data`; not its stage: see `deal_move`);
    refuses a stale version. Records `deal.updated` when anything changed."""
    _require_write(actor, deal)
    deal = deal_reload(deal)
    before = _snapshot(deal)
    values, links, competitors = _clean(actor, data, deal)
    qs = Deal.objects.filter(pk=deal.pk, deleted_at__isnull=True, version=deal.version)
    if expected_version is not None and expected_version != deal.version:
        raise StaleVersion()
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        raise StaleVersion()
    _apply_related(deal, links, competitors)
    deal = deal_reload(deal)
    changes = diff(before, _snapshot(deal))
    if changes:
        record_event(actor, "deal.updated", deal, changes)
    return deal


@transaction.atomic
def deal_move(
    *,
    actor: Principal,
    deal: Deal,
    stage_id: Any,
    expected_version: int | None,
    lost_reason: str | None = None,
    pipeline_id: Any = None,
) -> Deal:
    """Move a deal to another stage of its pipeline (or, with `pipeline_id`, to a stage of that
    pipeline). A lost stage needs `lost_reason`. Closes the open stage-history row and opens one
    for the new stage; sets `closed_at` in a won or lost stage and clears it (and the lost reason)
    when the deal is reopened. Refuses a stale version. Records `deal.moved` with the stage names.
    Moving a deal to the stage it is in changes nothing."""
    _require_write(actor, deal)
    deal = Deal.objects.select_related("stage", "pipeline").get(pk=deal.pk)
    if expected_version is not None and expected_version != deal.version:
        raise StaleVersion()
    errors = FieldErrors()
    target_pipeline = deal.pipeline
    if pipeline_id is not None:
        pk = _id(pipeline_id)
        found = Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, pk=pk).first() if pk else None
        if found is None:
            raise ValidationFailed("unknown_pipeline", f"No pipeline with the id {pipeline_id}.", field="pipeline_id")
        target_pipeline = found
    stage_pk = _id(stage_id)
    stage = Stage.objects.filter(org_id=actor.org_id, pk=stage_pk).first() if stage_pk else None
    if stage is None or stage.pipeline_id != target_pipeline.pk:
        raise ValidationFailed(
            "stage_not_in_pipeline",
            f"The pipeline “{target_pipeline.name}” has no stage with the id {stage_id}.",
            field="stage_id",
        )
    reason = clean_text(lost_reason, "lost_reason", LOST_REASON_MAX, errors)
    if stage.kind == StageKind.LOST and not reason:
        errors.add("lost_reason", "A lost deal needs a lost reason.")
    errors.raise_if_any()
    if stage.pk == deal.stage_id:
        return deal_reload(deal)
    now = timezone.now()
    old_stage = deal.stage
    values: dict[str, Any] = {
        "stage": stage,
        "pipeline": target_pipeline,
        "stage_entered_at": now,
        # Closed when it enters a won or lost stage; a move between two won stages keeps the date.
        "closed_at": None
        if stage.kind == StageKind.OPEN
        else (deal.closed_at if stage.kind == old_stage.kind and deal.closed_at else now),
        "lost_reason": reason if stage.kind == StageKind.LOST else "",
    }
    updated = Deal.objects.filter(pk=deal.pk, deleted_at__isnull=True, version=deal.version).update(
        version=F("version") + 1, updated_at=now, **values
    )
    if not updated:
        raise StaleVersion()
    try:
        with transaction.atomic():
            DealStage.objects.filter(deal_id=deal.pk, left_at__isnull=True).update(left_at=now)
            DealStage.objects.create(
                org_id=actor.org_id,
                deal_id=deal.pk,
                pipeline=target_pipeline,
                stage=stage,
                entered_at=now,
                actor=actor.user,
            )
    except IntegrityError:
        raise Conflict("concurrent_move", "Someone else moved this deal at the same time; reload it.") from None
    changes: dict[str, Any] = {
        "stage": [old_stage.name, stage.name],
        "stage_id": [old_stage.pk, stage.pk],
        "kind": [old_stage.kind, stage.kind],
    }
    if target_pipeline.pk != deal.pipeline_id:
        changes["pipeline_id"] = [deal.pipeline_id, target_pipeline.pk]
    if values["lost_reason"] != deal.lost_reason:
        changes["lost_reason"] = [deal.lost_reason, values["lost_reason"]]
    record_event(actor, "deal.moved", deal, changes)
    return deal_reload(deal)


@transaction.atomic
def deal_delete(*, actor: Principal, deal: Deal) -> Deal:
    """Move a deal to the trash; records `deal.trashed`. Its stage history stays."""
    _require_write(actor, deal)
    if deal.deleted_at is None:
        deal.deleted_at = timezone.now()
        Deal.objects.filter(pk=deal.pk).update(deleted_at=deal.deleted_at, version=F("version") + 1)
        record_event(actor, "deal.trashed", deal, {"deleted_at": [None, deal.deleted_at.isoformat()]})
    return deal


@transaction.atomic
def deal_restore(*, actor: Principal, deal: Deal) -> Deal:
    """Bring a deal back from the trash; records `deal.restored`."""
    _require_write(actor, deal)
    if deal.deleted_at is not None:
        old = deal.deleted_at
        Deal.objects.filter(pk=deal.pk).update(deleted_at=None, version=F("version") + 1)
        record_event(actor, "deal.restored", deal, {"deleted_at": [old.isoformat(), None]})
    return deal_reload(deal)
