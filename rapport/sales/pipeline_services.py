"""Writes of pipelines and their stages: create, rename, reorder, delete. The API and the settings
pages share these.

Only members whose role holds `Perm.MANAGE_SETTINGS` change pipelines (everyone who reads deals
reads them, see `pipeline_selectors`). Every pipeline keeps at least one open, one won and one
lost stage. Stage positions are kept as 0, 1, 2 … in board order. Any change to a pipeline's
stages also bumps the pipeline's `version` (its representation lists the stages), so a stale
reorder or rename is refused with StaleVersion. Structure changes lock the pipeline row first, so
two admins changing the same pipeline at once are serialised.

A stage that holds deals (in the trash too: `Deal.stage` protects the stage) is deleted only
when the request names another stage of the same pipeline and of the same kind to move them to;
the move closes each deal's open stage-history row, opens one in the target stage and records a
`deal.moved` event per deal, all in the transaction of the delete. The history rows of the
deleted stage itself go with it (`DealStage.stage` cascades); the events keep its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max, ProtectedError, QuerySet
from django.utils import timezone

from rapport.accounts.models import Organization
from rapport.accounts.roles import Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core.access import require
from rapport.core.errors import Conflict, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.sales.models import Deal, DealStage, Pipeline, Stage, StageKind

PIPELINE_FIELDS = {"name", "position", "stages"}
STAGE_FIELDS = {"name", "probability", "kind", "rotting_days", "position"}
NAME_MAX = 100
POSITION_MAX = 10_000
ROTTING_MAX = 3650
MAX_STAGES = 30
DEFAULT_PIPELINE = "Sales"
# (name, probability, kind, rotting days): the stages of a pipeline created without any.
DEFAULT_STAGES: tuple[tuple[str, int, StageKind, int | None], ...] = (
    ("Qualified", 10, StageKind.OPEN, 30),
    ("Proposal", 40, StageKind.OPEN, 21),
    ("Negotiation", 70, StageKind.OPEN, 14),
    ("Won", 100, StageKind.WON, None),
    ("Lost", 0, StageKind.LOST, None),
)
DEFAULT_PROBABILITY = {StageKind.OPEN: 0, StageKind.WON: 100, StageKind.LOST: 0}
KIND_WORDS = {StageKind.OPEN: "an open", StageKind.WON: "a won", StageKind.LOST: "a lost"}
STAGE_SNAPSHOT = ("name", "probability", "kind", "rotting_days", "position")


# --- cleaning ----------------------------------------------------------------------------------


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _name(value: Any, name: str, errors: FieldErrors) -> str:
    if not isinstance(value, str) or "\x00" in value:
        errors.add(name, "This field is required." if value is None else "Enter text.")
        return ""
    value = " ".join(value.split())
    if not value:
        errors.add(name, "This field is required.")
    elif len(value) > NAME_MAX:
        errors.add(name, f"At most {NAME_MAX} characters.")
    return value


def _int(value: Any, name: str, low: int, high: int, errors: FieldErrors) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.add(name, f"Enter a whole number from {low} to {high}.")
        return None
    return value


def _clean_stage(
    data: Mapping[str, Any], errors: FieldErrors, prefix: str = "", *, stage: Stage | None = None
) -> dict[str, Any]:
    """The stage fields present in `data` (all of a new stage's, with defaults), cleaned."""
    allowed = STAGE_FIELDS - ({"position"} if prefix else set())
    for name in sorted(set(data) - allowed):
        errors.add(prefix + name, "Unknown field.")
    values: dict[str, Any] = {}
    if "name" in data or stage is None:
        values["name"] = _name(data.get("name"), prefix + "name", errors)
    kind = stage.kind if stage else StageKind.OPEN
    if "kind" in data:
        if data["kind"] not in StageKind.values:
            errors.add(prefix + "kind", f"Choose one of: {', '.join(StageKind.values)}.")
        else:
            kind = values["kind"] = StageKind(data["kind"])
    elif stage is None:
        values["kind"] = kind
    if data.get("probability") is not None:
        values["probability"] = _int(data["probability"], prefix + "probability", 0, 100, errors)
    elif "probability" in data:
        errors.add(prefix + "probability", "Enter a whole number from 0 to 100.")
    elif stage is None:
        values["probability"] = DEFAULT_PROBABILITY[StageKind(kind)]
    if data.get("rotting_days") is not None:
        if kind != StageKind.OPEN:
            errors.add(
                prefix + "rotting_days", "Only deals in open stages rot; leave it empty for won and lost stages."
            )
        else:
            values["rotting_days"] = _int(data["rotting_days"], prefix + "rotting_days", 1, ROTTING_MAX, errors)
    elif "rotting_days" in data or kind != StageKind.OPEN:
        values["rotting_days"] = None
    if data.get("position") is not None and not prefix:
        values["position"] = _int(data["position"], "position", 0, POSITION_MAX, errors)
    return values


def _check_kinds(kinds: Sequence[str], field: str, errors: FieldErrors) -> None:
    missing = [KIND_WORDS[k] for k in StageKind if k not in kinds]
    if missing:
        words = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
        errors.add(field, f"A pipeline needs at least {words} stage.")


def _name_taken_pipeline(actor: Principal, name: str, exclude: int | None = None) -> bool:
    qs = Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, name__iexact=name)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


def _name_taken_stage(pipeline: Pipeline, name: str, exclude: int | None = None) -> bool:
    qs = Stage.objects.filter(pipeline=pipeline, name__iexact=name)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


# --- helpers -----------------------------------------------------------------------------------


def _lock(pipeline: Pipeline) -> Pipeline:
    """The living pipeline, its row locked until the transaction ends (StaleVersion when it went)."""
    locked = Pipeline.objects.select_for_update().filter(pk=pipeline.pk, deleted_at__isnull=True).first()
    if locked is None:
        raise StaleVersion("stale_version", "This pipeline was deleted; reload the page.")
    return locked


def _renumber(pipeline: Pipeline, order: Sequence[int] | None = None, *, bumped: int | None = None) -> None:
    """Give the pipeline's stages positions 0, 1, 2 … (in `order`, or their current order). A stage
    whose position changes gets a new version, except `bumped` (its own update already gave one)."""
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    if order is not None:
        rank = {pk: i for i, pk in enumerate(order)}
        stages.sort(key=lambda s: rank[s.pk])
    for position, stage in enumerate(stages):
        if stage.position != position:
            version = F("version") if stage.pk == bumped else F("version") + 1
            Stage.objects.filter(pk=stage.pk).update(position=position, version=version)


def _index(others: Sequence[Stage], kind: str, position: int | None) -> int:
    """Where a stage goes among `others` (in board order): at `position` (capped at the end), or by
    default an open stage before the first won or lost stage and a closed one at the end."""
    if position is None:
        if kind == StageKind.OPEN:
            return next((i for i, s in enumerate(others) if s.kind != StageKind.OPEN), len(others))
        return len(others)
    return min(position, len(others))


def _place(pipeline: Pipeline, stage: Stage, position: int | None) -> None:
    """Put `stage` at index `position` of the board (see `_index`) and renumber."""
    others = list(Stage.objects.filter(pipeline=pipeline).exclude(pk=stage.pk).order_by("position", "id"))
    order = [s.pk for s in others]
    order.insert(_index(others, stage.kind, position), stage.pk)
    _renumber(pipeline, order, bumped=stage.pk)


def _touch(pipeline: Pipeline) -> None:
    Pipeline.objects.filter(pk=pipeline.pk).update(version=F("version") + 1, updated_at=timezone.now())


def _stage_names(pipeline: Pipeline) -> list[str]:
    return list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id").values_list("name", flat=True))


def _stage_snapshot(stage: Stage) -> dict[str, Any]:
    return {name: getattr(stage, name) for name in STAGE_SNAPSHOT}


def _create_stages(actor: Principal, pipeline: Pipeline, stages: Sequence[Mapping[str, Any]]) -> None:
    Stage.objects.bulk_create(
        [
            Stage(org_id=actor.org_id, pipeline=pipeline, position=i, created_by=actor.user, **values)
            for i, values in enumerate(stages)
        ]
    )


def _clean_pipeline(actor: Principal, data: Mapping[str, Any], pipeline: Pipeline | None) -> dict[str, Any]:
    errors = FieldErrors()
    allowed = PIPELINE_FIELDS if pipeline is None else PIPELINE_FIELDS - {"stages"}
    for name in sorted(set(data) - allowed):
        errors.add(name, "Change stages through the stage endpoints." if name == "stages" else "Unknown field.")
    values: dict[str, Any] = {}
    if "name" in data or pipeline is None:
        values["name"] = _name(data.get("name"), "name", errors)
        if values["name"] and _name_taken_pipeline(actor, values["name"], pipeline.pk if pipeline else None):
            errors.add("name", f"There is already a pipeline named “{values['name']}”.")
    if data.get("position") is not None:
        values["position"] = _int(data["position"], "position", 0, POSITION_MAX, errors)
    elif "position" in data:
        errors.add("position", f"Enter a whole number from 0 to {POSITION_MAX}.")
    if pipeline is None:
        raw = data.get("stages")
        if raw is None:
            values["stages"] = [
                {"name": n, "probability": p, "kind": k, "rotting_days": r} for n, p, k, r in DEFAULT_STAGES
            ]
        elif not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STAGES:
            errors.add("stages", f"Give a list of 3 to {MAX_STAGES} stages (or leave it out for the default stages).")
        else:
            stages, seen = [], set()
            for i, item in enumerate(raw):
                if not isinstance(item, Mapping):
                    errors.add(f"stages.{i}", "Give a stage as an object with a name.")
                    continue
                cleaned = _clean_stage(item, errors, f"stages.{i}.")
                key = cleaned.get("name", "").casefold()
                if key and key in seen:
                    errors.add(f"stages.{i}.name", f"Two stages are named “{cleaned['name']}”.")
                seen.add(key)
                stages.append(cleaned)
            _check_kinds([s.get("kind", "") for s in stages], "stages", errors)
            values["stages"] = stages
    errors.raise_if_any()
    return values


# --- pipelines ---------------------------------------------------------------------------------


@transaction.atomic
def pipeline_create(*, actor: Principal, data: Mapping[str, Any]) -> Pipeline:
    """Create a pipeline with its stages (`stages`, in board order; without them the default set:
    Qualified, Proposal, Negotiation, Won, Lost). Needs at least one open, won and lost stage.
    Records `pipeline.created`."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean_pipeline(actor, data, None)
    stages = values.pop("stages")
    if "position" not in values:
        last = Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).aggregate(m=Max("position"))["m"]
        values["position"] = 0 if last is None else last + 1
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    except IntegrityError:  # the same name, created at the same moment
        raise ValidationFailed(
            "name_taken", f"There is already a pipeline named “{values['name']}”.", field="name"
        ) from None
    _create_stages(actor, pipeline, stages)
    record_event(
        actor,
        "pipeline.created",
        pipeline,
        {"name": [None, pipeline.name], "stages": [None, [s["name"] for s in stages]]},
    )
    return pipeline


@transaction.atomic
def pipeline_update(
    *, actor: Principal, pipeline: Pipeline, data: Mapping[str, Any], expected_version: int | None
) -> Pipeline:
    """Rename a pipeline or change its place among the pipelines; refuses a stale version.
    Records `pipeline.updated` when anything changed."""
    require(actor, Perm.MANAGE_SETTINGS)
    values = _clean_pipeline(actor, data, pipeline)
    before = {"name": pipeline.name, "position": pipeline.position}
    qs = Pipeline.objects.filter(pk=pipeline.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    try:
        with transaction.atomic():
            updated = qs.update(version=F("version") + 1, updated_at=timezone.now(), **values)
    except IntegrityError:
        raise ValidationFailed(
            "name_taken", f"There is already a pipeline named “{values.get('name')}”.", field="name"
        ) from None
    if not updated:
        raise StaleVersion()
    pipeline = Pipeline.objects.get(pk=pipeline.pk)
    changes = diff(before, {"name": pipeline.name, "position": pipeline.position})
    if changes:
        record_event(actor, "pipeline.updated", pipeline, changes)
    return pipeline


@transaction.atomic
def pipeline_delete(*, actor: Principal, pipeline: Pipeline) -> Pipeline:
    """Delete a pipeline (it leaves the lists; its trashed deals keep pointing at it). Refused with
    Conflict while it holds living deals, and for the workspace's last pipeline. Records
    `pipeline.deleted`."""
    require(actor, Perm.MANAGE_SETTINGS)
    pipeline = _lock(pipeline)
    if not Pipeline.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).exclude(pk=pipeline.pk).exists():
        raise Conflict(
            "last_pipeline", "A workspace needs at least one pipeline; add another before deleting this one."
        )
    live = Deal.objects.filter(pipeline=pipeline, deleted_at__isnull=True).count()
    if live:
        raise Conflict(
            "pipeline_has_deals",
            f"The pipeline “{pipeline.name}” still has {live} deal{'s' if live != 1 else ''}; "
            "move them to another pipeline or delete them first.",
        )
    now = timezone.now()
    Pipeline.objects.filter(pk=pipeline.pk).update(deleted_at=now, version=F("version") + 1, updated_at=now)
    pipeline.deleted_at = now
    record_event(actor, "pipeline.deleted", pipeline, {"name": [pipeline.name, None]})
    return pipeline


@dataclass(frozen=True)
class _System:
    """The actor of a write nobody asked for (the lazily created default pipeline)."""

    org_id: int
    user_id: None = None


def ensure_default_pipeline(org: Organization, *, actor: Principal | None = None) -> Pipeline | None:
    """Give a workspace without any pipeline the default "Sales" pipeline (with the default stages)
    and return it; a workspace that has one is left as it is (None). Safe when two requests race."""
    if Pipeline.objects.filter(org_id=org.pk, deleted_at__isnull=True).exists():
        return None
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(org_id=org.pk, name=DEFAULT_PIPELINE, position=0)
            Stage.objects.bulk_create(
                [
                    Stage(org_id=org.pk, pipeline=pipeline, name=n, position=i, probability=p, kind=k, rotting_days=r)
                    for i, (n, p, k, r) in enumerate(DEFAULT_STAGES)
                ]
            )
            record_event(
                actor or _System(org_id=org.pk),  # type: ignore[arg-type]
                "pipeline.created",
                pipeline,
                {"name": [None, pipeline.name], "stages": [None, [s[0] for s in DEFAULT_STAGES]]},
            )
    except IntegrityError:  # another request created it a moment ago
        return None
    return pipeline


# --- stages ------------------------------------------------------------------------------------


@transaction.atomic
def stage_create(*, actor: Principal, pipeline: Pipeline, data: Mapping[str, Any]) -> Stage:
    """Add a stage to a pipeline at `position` (an index of the board; by default an open stage goes
    before the first won or lost stage, a closed one at the end). Records `stage.created`."""
    require(actor, Perm.MANAGE_SETTINGS)
    pipeline = _lock(pipeline)
    errors = FieldErrors()
    values = _clean_stage(data, errors)
    if values.get("name") and _name_taken_stage(pipeline, values["name"]):
        errors.add("name", f"The pipeline already has a stage named “{values['name']}”.")
    if Stage.objects.filter(pipeline=pipeline).count() >= MAX_STAGES:
        errors.add("name", f"A pipeline has at most {MAX_STAGES} stages.")
    errors.raise_if_any()
    others = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    index = _index(others, values["kind"], values.pop("position", None))
    stage = Stage.objects.create(
        org_id=actor.org_id, pipeline=pipeline, created_by=actor.user, position=index, **values
    )
    order = [s.pk for s in others]
    order.insert(index, stage.pk)
    _renumber(pipeline, order)
    _touch(pipeline)
    stage.refresh_from_db()
    record_event(
        actor, "stage.created", stage, {"pipeline_id": [None, pipeline.pk], **diff({}, _stage_snapshot(stage))}
    )
    return stage


@transaction.atomic
def stage_update(*, actor: Principal, stage: Stage, data: Mapping[str, Any], expected_version: int | None) -> Stage:
    """Change a stage's name, probability, kind, rotting threshold or position; refuses a stale
    version, a kind change of a stage that holds deals (Conflict) and one that would leave the
    pipeline without an open, a won or a lost stage. Records `stage.updated`."""
    require(actor, Perm.MANAGE_SETTINGS)
    pipeline = _lock(stage.pipeline)
    current = Stage.objects.filter(pk=stage.pk).first()
    if current is None or (expected_version is not None and current.version != expected_version):
        raise StaleVersion()
    before = _stage_snapshot(current)
    errors = FieldErrors()
    values = _clean_stage(data, errors, stage=current)
    if values.get("name") and _name_taken_stage(pipeline, values["name"], exclude=current.pk):
        errors.add("name", f"The pipeline already has a stage named “{values['name']}”.")
    new_kind = values.get("kind", current.kind)
    if new_kind != current.kind and "kind" not in errors.fields:
        others = Stage.objects.filter(pipeline=pipeline).exclude(pk=current.pk).values_list("kind", flat=True)
        _check_kinds([*others, new_kind], "kind", errors)
    errors.raise_if_any()
    if new_kind != current.kind:
        held = Deal.objects.filter(stage=current).count()
        if held:
            raise Conflict(
                "stage_has_deals",
                f"The stage “{current.name}” holds {held} deal{'s' if held != 1 else ''}: move them to another "
                "stage before changing its kind.",
                field="kind",
            )
    position = values.pop("position", None)
    Stage.objects.filter(pk=current.pk).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    if position is not None:
        _place(pipeline, current, position)
    current.refresh_from_db()
    changes = diff(before, _stage_snapshot(current))
    if changes:
        _touch(pipeline)
        record_event(actor, "stage.updated", current, changes)
    return current


@transaction.atomic
def stages_reorder(*, actor: Principal, pipeline: Pipeline, stage_ids: Any, expected_version: int | None) -> Pipeline:
    """Put a pipeline's stages in the order of `stage_ids` (every stage of the pipeline, once);
    refuses a stale pipeline version. Records `pipeline.stages_reordered`."""
    require(actor, Perm.MANAGE_SETTINGS)
    pipeline = _lock(pipeline)
    if expected_version is not None and pipeline.version != expected_version:
        raise StaleVersion()
    current = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id").values_list("pk", flat=True))
    ids = [_id(v) for v in stage_ids] if isinstance(stage_ids, list) else None
    if ids is None or None in ids or len(set(ids)) != len(ids) or set(ids) != set(current):
        raise ValidationFailed(
            "invalid_order",
            f"List every stage of the pipeline “{pipeline.name}” once, in the new order "
            f"(its stages: {', '.join(map(str, current))}).",
            field="stage_ids",
        )
    if ids != current:
        before = _stage_names(pipeline)
        _renumber(pipeline, ids)  # type: ignore[arg-type]
        _touch(pipeline)
        record_event(actor, "pipeline.stages_reordered", pipeline, {"stages": [before, _stage_names(pipeline)]})
    return Pipeline.objects.get(pk=pipeline.pk)


def _move_deals(actor: Principal, stage: Stage, target: Stage) -> int:
    """Move every deal of `stage` (trashed ones too) to `target`, with history rows and events."""
    deals = list(Deal.objects.filter(stage=stage).only("pk", "org_id"))
    if not deals:
        return 0
    now = timezone.now()
    ids = [d.pk for d in deals]
    Deal.objects.filter(pk__in=ids).update(stage=target, stage_entered_at=now, version=F("version") + 1, updated_at=now)
    DealStage.objects.filter(deal_id__in=ids, left_at__isnull=True).update(left_at=now)
    DealStage.objects.bulk_create(
        [
            DealStage(
                org_id=actor.org_id,
                deal_id=pk,
                pipeline_id=target.pipeline_id,
                stage=target,
                entered_at=now,
                actor=actor.user,
            )
            for pk in ids
        ]
    )
    changes = {
        "stage": [stage.name, target.name],
        "stage_id": [stage.pk, target.pk],
        "kind": [stage.kind, target.kind],
        "reason": "stage_deleted",
    }
    for deal in deals:
        record_event(actor, "deal.moved", deal, changes)
    return len(ids)


def stage_move_targets(stage: Stage) -> QuerySet[Stage]:
    """The stages a stage's deals may move to when it is deleted: the others of its pipeline and kind."""
    return Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=stage.kind).exclude(pk=stage.pk)


def stage_deals_held(stage: Stage) -> int:
    """How many deals are in the stage, trashed ones too (they keep it from being deleted)."""
    return Deal.objects.filter(stage=stage).count()


def _target(stage: Stage, move_to: Any) -> Stage:
    pk = _id(move_to)
    target = Stage.objects.filter(pipeline_id=stage.pipeline_id, pk=pk).exclude(pk=stage.pk).first() if pk else None
    if target is None:
        raise ValidationFailed(
            "invalid_target",
            f"Name another stage of the pipeline “{stage.pipeline.name}” to move the deals to.",
            field="move_to",
        )
    if target.kind != stage.kind:
        raise ValidationFailed(
            "invalid_target",
            f"Move the deals to {KIND_WORDS[StageKind(stage.kind)]} stage, like “{stage.name}”; "
            f"“{target.name}” is {target.get_kind_display().lower()}.",
            field="move_to",
        )
    return target


@transaction.atomic
def stage_delete(*, actor: Principal, stage: Stage, move_to: Any = None) -> int:
    """Delete a stage. One that holds deals is refused (Conflict) unless `move_to` names another
    stage of the same pipeline and kind: its deals then move there first, with stage history and a
    `deal.moved` event each. The last open, won or lost stage of a pipeline cannot go. Records
    `stage.deleted`; returns how many deals moved."""
    require(actor, Perm.MANAGE_SETTINGS)
    pipeline = _lock(stage.pipeline)
    stage = Stage.objects.select_related("pipeline").filter(pk=stage.pk).first() or stage
    if not stage_move_targets(stage).exists():
        raise Conflict(
            "last_stage_of_kind",
            f"A pipeline needs at least {KIND_WORDS[StageKind(stage.kind)]} stage; "
            f"add another before deleting “{stage.name}”.",
        )
    target = _target(stage, move_to) if move_to is not None else None
    held = stage_deals_held(stage)
    if held and target is None:
        raise Conflict(
            "stage_has_deals",
            f"The stage “{stage.name}” holds {held} deal{'s' if held != 1 else ''} (the trash counts); "
            "choose a stage to move them to.",
            field="move_to",
        )
    moved = _move_deals(actor, stage, target) if target is not None else 0
    record_event(
        actor,
        "stage.deleted",
        stage,
        {
            "name": [stage.name, None],
            "pipeline_id": [pipeline.pk, None],
            "moved_to": target.pk if target else None,
            "deals_moved": moved,
        },
    )
    try:
        with transaction.atomic():
            stage.delete()
    except ProtectedError:  # a deal came into the stage while it was being deleted
        raise Conflict("stage_has_deals", f"A deal just entered “{stage.name}”; try again.") from None
    _renumber(pipeline)
    _touch(pipeline)
    return moved
