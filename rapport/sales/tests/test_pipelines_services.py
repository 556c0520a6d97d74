"""Pipeline and stage services: defaults, validation (every pipeline keeps an open, a won and a lost
stage), ordering, versions, permissions, and deleting a stage that holds deals."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales import deal_services, pipeline_selectors, pipeline_services
from rapport.sales.models import Deal, DealStage, Pipeline, Stage, StageKind
from rapport.sales.tests.conftest import make_pipeline


def _names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("name", flat=True))


def _positions(pipeline: Pipeline) -> list[int]:
    return list(pipeline.stages.order_by("position").values_list("position", flat=True))


def _deal(actor: Any, fixture: Any, stage: str, name: str = "Deal") -> Deal:
    return deal_services.deal_create(
        actor=actor,
        data={"name": name, "pipeline_id": fixture.pipeline.pk, "stage_id": fixture.stages[stage].pk},
    )


def test_a_new_pipeline_without_stages_gets_the_default_stages(admin):
    pipeline = pipeline_services.pipeline_create(actor=admin, data={"name": "  Renewals  "})
    assert pipeline.name == "Renewals" and pipeline.version == 1
    stages = list(pipeline.stages.order_by("position"))
    assert [(s.name, s.probability, s.kind, s.position) for s in stages] == [
        ("Qualified", 10, "open", 0),
        ("Proposal", 40, "open", 1),
        ("Negotiation", 70, "open", 2),
        ("Won", 100, "won", 3),
        ("Lost", 0, "lost", 4),
    ]
    event = Event.objects.get(verb="pipeline.created", subject_id=pipeline.pk)
    assert event.changes["stages"] == [None, ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]]


def test_a_new_pipeline_takes_its_stages_in_order_with_kind_defaults(admin):
    pipeline = pipeline_services.pipeline_create(
        actor=admin,
        data={
            "name": "Partners",
            "stages": [
                {"name": "Intro", "probability": 20, "rotting_days": 7},
                {"name": "Signed", "kind": "won"},
                {"name": "Dropped", "kind": "lost"},
            ],
        },
    )
    stages = list(pipeline.stages.order_by("position"))
    assert [(s.name, s.kind, s.probability, s.rotting_days) for s in stages] == [
        ("Intro", "open", 20, 7),
        ("Signed", "won", 100, None),
        ("Dropped", "lost", 0, None),
    ]


def test_a_pipeline_without_a_won_and_a_lost_stage_is_refused_and_nothing_written(admin):
    with pytest.raises(ValidationFailed) as exc:
        pipeline_services.pipeline_create(actor=admin, data={"name": "Odd", "stages": [{"name": "Only"}]})
    assert exc.value.fields == {"stages": "A pipeline needs at least a won and a lost stage."}
    assert not Pipeline.objects.exists() and not Stage.objects.exists() and not Event.objects.exists()


def test_every_bad_field_of_a_new_pipeline_is_named(admin, sales_pipeline):
    with pytest.raises(ValidationFailed) as exc:
        pipeline_services.pipeline_create(
            actor=admin,
            data={
                "name": "new BUSINESS",
                "colour": "red",
                "stages": [
                    {"name": "A", "probability": 101},
                    {"name": "a", "kind": "maybe"},
                    {"name": "W", "kind": "won", "rotting_days": 3},
                    {"name": "", "kind": "lost", "position": 2},
                ],
            },
        )
    assert set(exc.value.fields) == {
        "name",
        "colour",
        "stages.0.probability",
        "stages.1.name",
        "stages.1.kind",
        "stages.2.rotting_days",
        "stages.3.name",
        "stages.3.position",
    }
    assert "already a pipeline named" in exc.value.fields["name"]
    assert Pipeline.objects.count() == 1 and not Event.objects.exists()


def test_only_members_who_manage_settings_change_pipelines(member_of, sales_pipeline):
    for role in (Role.MANAGER, Role.SALES, Role.VIEWER):
        actor = member_of(role)
        with pytest.raises(PermissionDenied):
            pipeline_services.pipeline_create(actor=actor, data={"name": "Mine"})
        with pytest.raises(PermissionDenied):
            pipeline_services.stage_update(
                actor=actor, stage=sales_pipeline.stages["Won"], data={"name": "Yay"}, expected_version=None
            )
        assert [p.name for p in pipeline_selectors.pipeline_list(actor=actor)] == ["New business"]
    assert Pipeline.objects.count() == 1 and not Event.objects.exists()


def test_a_workspace_without_pipelines_gets_the_default_one_once(admin, member_of):
    viewer = member_of(Role.VIEWER)
    (pipeline,) = pipeline_selectors.pipeline_list(actor=viewer)
    assert pipeline.name == "Sales" and _names(pipeline)[-2:] == ["Won", "Lost"]
    assert list(pipeline_selectors.pipeline_list(actor=admin)) == [pipeline]
    assert Event.objects.filter(verb="pipeline.created").count() == 1


def test_rename_checks_the_version_and_bumps_it(admin, sales_pipeline):
    pipeline = sales_pipeline.pipeline
    updated = pipeline_services.pipeline_update(
        actor=admin, pipeline=pipeline, data={"name": "Enterprise"}, expected_version=1
    )
    assert updated.name == "Enterprise" and updated.version == 2
    with pytest.raises(StaleVersion):
        pipeline_services.pipeline_update(actor=admin, pipeline=pipeline, data={"name": "Other"}, expected_version=1)
    assert Pipeline.objects.get().name == "Enterprise"
    assert Event.objects.get(verb="pipeline.updated").changes == {"name": ["New business", "Enterprise"]}


def test_a_pipeline_with_living_deals_cannot_be_deleted(admin, sales_pipeline, org):
    make_pipeline(org, "Renewals")
    deal = _deal(admin, sales_pipeline, "Proposal")
    with pytest.raises(Conflict) as exc:
        pipeline_services.pipeline_delete(actor=admin, pipeline=sales_pipeline.pipeline)
    assert exc.value.code == "pipeline_has_deals" and "still has 1 deal;" in exc.value.message
    deal_services.deal_delete(actor=admin, deal=deal)
    pipeline_services.pipeline_delete(actor=admin, pipeline=sales_pipeline.pipeline)
    assert Pipeline.objects.get(pk=sales_pipeline.pipeline.pk).deleted_at is not None
    assert [p.name for p in pipeline_selectors.pipeline_list(actor=admin)] == ["Renewals"]
    # the name is free again
    assert pipeline_services.pipeline_create(actor=admin, data={"name": "New business"}).pk


def test_the_last_pipeline_cannot_be_deleted(admin, sales_pipeline):
    with pytest.raises(Conflict) as exc:
        pipeline_services.pipeline_delete(actor=admin, pipeline=sales_pipeline.pipeline)
    assert exc.value.code == "last_pipeline"
    assert Pipeline.objects.get().deleted_at is None


def test_a_new_open_stage_goes_before_the_closed_stages(admin, sales_pipeline):
    stage = pipeline_services.stage_create(
        actor=admin, pipeline=sales_pipeline.pipeline, data={"name": "Demo", "probability": 55, "rotting_days": 10}
    )
    assert _names(sales_pipeline.pipeline) == ["Qualified", "Proposal", "Negotiation", "Demo", "Won", "Lost"]
    assert _positions(sales_pipeline.pipeline) == [0, 1, 2, 3, 4, 5]
    assert stage.position == 3 and stage.kind == StageKind.OPEN
    assert Pipeline.objects.get().version == 2
    pipeline_services.stage_create(actor=admin, pipeline=sales_pipeline.pipeline, data={"name": "Lead", "position": 0})
    assert _names(sales_pipeline.pipeline)[:2] == ["Lead", "Qualified"]


def test_a_stage_name_is_unique_in_its_pipeline(admin, sales_pipeline, org):
    with pytest.raises(ValidationFailed) as exc:
        pipeline_services.stage_create(actor=admin, pipeline=sales_pipeline.pipeline, data={"name": "proposal"})
    assert "already has a stage" in exc.value.fields["name"]
    other = make_pipeline(org, "Renewals")
    assert pipeline_services.stage_create(actor=admin, pipeline=other.pipeline, data={"name": "Demo"}).pk


def test_stage_update_changes_fields_and_position(admin, sales_pipeline):
    stage = sales_pipeline.stages["Negotiation"]
    updated = pipeline_services.stage_update(
        actor=admin,
        stage=stage,
        data={"name": "Negotiating", "probability": 80, "rotting_days": None, "position": 0},
        expected_version=stage.version,
    )
    assert (updated.name, updated.probability, updated.rotting_days, updated.position) == ("Negotiating", 80, None, 0)
    assert updated.version == 2 and Stage.objects.get(pk=sales_pipeline.stages["Qualified"].pk).version == 2
    assert _names(sales_pipeline.pipeline)[:2] == ["Negotiating", "Qualified"]
    event = Event.objects.get(verb="stage.updated")
    assert event.changes["name"] == ["Negotiation", "Negotiating"] and event.changes["position"] == [2, 0]
    with pytest.raises(StaleVersion):
        pipeline_services.stage_update(actor=admin, stage=stage, data={"name": "X"}, expected_version=1)


def test_the_last_won_stage_cannot_change_kind_or_go(admin, sales_pipeline):
    won = sales_pipeline.stages["Won"]
    with pytest.raises(ValidationFailed) as exc:
        pipeline_services.stage_update(actor=admin, stage=won, data={"kind": "open"}, expected_version=None)
    assert exc.value.fields == {"kind": "A pipeline needs at least a won stage."}
    with pytest.raises(Conflict) as conflict:
        pipeline_services.stage_delete(actor=admin, stage=won)
    assert conflict.value.code == "last_stage_of_kind"
    assert Stage.objects.get(pk=won.pk).kind == StageKind.WON


def test_a_stage_holding_deals_cannot_change_kind(admin, sales_pipeline):
    _deal(admin, sales_pipeline, "Proposal")
    with pytest.raises(Conflict) as exc:
        pipeline_services.stage_update(
            actor=admin, stage=sales_pipeline.stages["Proposal"], data={"kind": "won"}, expected_version=None
        )
    assert exc.value.fields == {"kind": exc.value.message}
    assert Stage.objects.get(pk=sales_pipeline.stages["Proposal"].pk).kind == StageKind.OPEN


def test_reorder_needs_every_stage_once_and_the_current_version(admin, sales_pipeline):
    pipeline, s = sales_pipeline.pipeline, sales_pipeline.stages
    new = [s["Proposal"].pk, s["Qualified"].pk, s["Negotiation"].pk, s["Lost"].pk, s["Won"].pk]
    for bad in ([*new, new[0]], new[:-1], [*new[:-1], 999_999], "1,2", [True, *new[1:]]):
        with pytest.raises(ValidationFailed) as exc:
            pipeline_services.stages_reorder(actor=admin, pipeline=pipeline, stage_ids=bad, expected_version=1)
        assert set(exc.value.fields) == {"stage_ids"}
    assert _names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    result = pipeline_services.stages_reorder(actor=admin, pipeline=pipeline, stage_ids=new, expected_version=1)
    assert result.version == 2
    assert _names(pipeline) == ["Proposal", "Qualified", "Negotiation", "Lost", "Won"]
    with pytest.raises(StaleVersion):
        pipeline_services.stages_reorder(actor=admin, pipeline=pipeline, stage_ids=new[::-1], expected_version=1)
    assert Event.objects.filter(verb="pipeline.stages_reordered").count() == 1


def test_deleting_an_empty_stage_renumbers_the_rest(admin, sales_pipeline):
    assert pipeline_services.stage_delete(actor=admin, stage=sales_pipeline.stages["Proposal"]) == 0
    assert _names(sales_pipeline.pipeline) == ["Qualified", "Negotiation", "Won", "Lost"]
    assert _positions(sales_pipeline.pipeline) == [0, 1, 2, 3]
    assert Event.objects.get(verb="stage.deleted").changes["name"] == ["Proposal", None]


def test_a_stage_with_deals_is_not_deleted_without_a_target(admin, sales_pipeline):
    deal = _deal(admin, sales_pipeline, "Proposal")
    deal_services.deal_delete(actor=admin, deal=deal)  # the trash counts too: the deal still points at it
    with pytest.raises(Conflict) as exc:
        pipeline_services.stage_delete(actor=admin, stage=sales_pipeline.stages["Proposal"])
    assert exc.value.code == "stage_has_deals" and "move_to" in exc.value.fields
    assert Stage.objects.filter(pk=sales_pipeline.stages["Proposal"].pk).exists()
    assert not Event.objects.filter(verb__in=["stage.deleted", "deal.moved"]).exists()


def test_a_target_must_be_another_stage_of_the_same_pipeline_and_kind(admin, sales_pipeline, org, other_pipeline):
    _deal(admin, sales_pipeline, "Proposal")
    proposal = sales_pipeline.stages["Proposal"]
    other = make_pipeline(org, "Renewals")
    for target in (proposal.pk, other.stages["Qualified"].pk, other_pipeline.stages["Qualified"].pk, 0, "x"):
        with pytest.raises(ValidationFailed) as exc:
            pipeline_services.stage_delete(actor=admin, stage=proposal, move_to=target)
        assert set(exc.value.fields) == {"move_to"}
    with pytest.raises(ValidationFailed) as exc:
        pipeline_services.stage_delete(actor=admin, stage=proposal, move_to=sales_pipeline.stages["Won"].pk)
    assert "open stage" in exc.value.fields["move_to"]
    assert Deal.objects.get().stage_id == proposal.pk and Stage.objects.filter(pk=proposal.pk).exists()


def test_deleting_a_stage_moves_its_deals_with_stage_history(admin, member_of, sales_pipeline):
    rep = member_of(Role.SALES)
    s = sales_pipeline.stages
    mine = _deal(admin, sales_pipeline, "Qualified", "Mine")
    deal_services.deal_move(actor=admin, deal=mine, stage_id=s["Proposal"].pk, expected_version=mine.version)
    theirs = _deal(rep, sales_pipeline, "Proposal", "Theirs")
    untouched = _deal(admin, sales_pipeline, "Negotiation", "Untouched")
    before = timezone.now()

    moved = pipeline_services.stage_delete(actor=admin, stage=s["Proposal"], move_to=s["Negotiation"].pk)

    assert moved == 2
    assert not Stage.objects.filter(pk=s["Proposal"].pk).exists()
    for deal, version in ((mine, 3), (theirs, 2)):
        deal.refresh_from_db()
        assert deal.stage_id == s["Negotiation"].pk and deal.stage_entered_at >= before and deal.version == version
        open_row = DealStage.objects.get(deal=deal, left_at__isnull=True)
        assert open_row.stage_id == s["Negotiation"].pk and open_row.entered_at == deal.stage_entered_at
        assert open_row.actor_id == admin.user_id
        event = Event.objects.get(verb="deal.moved", subject_id=deal.pk, changes__reason="stage_deleted")
        assert event.changes["stage"] == ["Proposal", "Negotiation"]
    # Mine's earlier stays stay in its history, the one in the deleted stage without its stage.
    path = list(DealStage.objects.filter(deal=mine).order_by("entered_at", "id").values_list("stage_id", "left_at"))
    assert [stage for stage, _left in path] == [s["Qualified"].pk, None, s["Negotiation"].pk]
    assert path[0][1] is not None and path[1][1] is not None and path[2][1] is None
    untouched.refresh_from_db()
    assert untouched.version == 1 and DealStage.objects.filter(deal=untouched).count() == 1
    assert _positions(sales_pipeline.pipeline) == [0, 1, 2, 3]
    assert Event.objects.get(verb="stage.deleted").changes["deals_moved"] == 2


def test_deal_counts_follow_what_the_actor_may_read(admin, member_of, sales_pipeline):
    rep = member_of(Role.SALES)
    _deal(admin, sales_pipeline, "Proposal")
    _deal(rep, sales_pipeline, "Proposal")
    for actor, expected in ((admin, 2), (rep, 1)):
        (pipeline,) = pipeline_selectors.with_deal_counts(
            actor=actor, pipelines=pipeline_selectors.pipeline_list(actor=actor)
        )
        counts = {stage.name: stage.deal_count for stage in pipeline.stages.all()}  # type: ignore[attr-defined]
        assert counts["Proposal"] == expected and counts["Won"] == 0
