"""Moving a deal: the target stage is validated, a lost stage needs a reason, the stage history is
kept, won and lost close the deal, and of two concurrent moves only one is written."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from rapport.core.errors import StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales import deal_services
from rapport.sales.models import Deal, DealStage
from rapport.sales.tests.conftest import make_pipeline


@pytest.fixture
def deal(admin, sales_pipeline) -> Deal:
    return deal_services.deal_create(
        actor=admin, data={"name": "Acme", "amount": 100, "pipeline_id": sales_pipeline.pipeline.pk}
    )


def _state(deal: Deal) -> dict[str, Any]:
    fresh = Deal.objects.get(pk=deal.pk)
    return {
        "deal": {f.attname: getattr(fresh, f.attname) for f in Deal._meta.concrete_fields},
        "history": list(DealStage.objects.filter(deal_id=deal.pk).values_list("stage_id", "entered_at", "left_at")),
        "events": Event.objects.filter(subject_type="deal", subject_id=deal.pk).count(),
    }


def test_a_move_closes_the_open_stay_opens_a_new_one_and_records_the_stage_names(admin, deal, sales_pipeline):
    stages = sales_pipeline.stages
    moved = deal_services.deal_move(actor=admin, deal=deal, stage_id=stages["Proposal"].pk, expected_version=1)
    assert moved.stage == stages["Proposal"] and moved.version == 2 and moved.closed_at is None
    first, second = DealStage.objects.filter(deal=deal).order_by("entered_at", "id")
    assert first.stage == stages["Qualified"] and first.left_at == second.entered_at == moved.stage_entered_at
    assert second.stage == stages["Proposal"] and second.left_at is None and second.actor_id == admin.user_id
    event = Event.objects.get(verb="deal.moved")
    assert event.changes["stage"] == ["Qualified", "Proposal"]
    assert event.changes["stage_id"] == [stages["Qualified"].pk, stages["Proposal"].pk]


def test_a_stage_of_another_pipeline_is_refused_and_nothing_is_written(admin, deal, org, other_pipeline):
    renewals = make_pipeline(org, "Renewals")
    before = _state(deal)
    for stage in (renewals.stages["Proposal"], other_pipeline.stages["Proposal"]):
        with pytest.raises(ValidationFailed) as exc:
            deal_services.deal_move(actor=admin, deal=deal, stage_id=stage.pk, expected_version=1)
        assert exc.value.status == 422 and exc.value.code == "stage_not_in_pipeline"
        assert set(exc.value.fields) == {"stage_id"}
    with pytest.raises(ValidationFailed):
        deal_services.deal_move(actor=admin, deal=deal, stage_id=999999, expected_version=1)
    assert _state(deal) == before


def test_naming_the_other_pipeline_moves_the_deal_into_it(admin, deal, org, other_pipeline):
    renewals = make_pipeline(org, "Renewals")
    moved = deal_services.deal_move(
        actor=admin,
        deal=deal,
        stage_id=renewals.stages["Negotiation"].pk,
        pipeline_id=renewals.pipeline.pk,
        expected_version=1,
    )
    assert moved.pipeline == renewals.pipeline and moved.stage == renewals.stages["Negotiation"]
    assert DealStage.objects.get(deal=deal, left_at__isnull=True).pipeline_id == renewals.pipeline.pk
    assert Event.objects.get(verb="deal.moved").changes["pipeline_id"] == [deal.pipeline_id, renewals.pipeline.pk]
    before = _state(deal)
    with pytest.raises(ValidationFailed) as exc:  # B's pipeline is unknown here
        deal_services.deal_move(
            actor=admin,
            deal=moved,
            stage_id=other_pipeline.stages["Won"].pk,
            pipeline_id=other_pipeline.pipeline.pk,
            expected_version=2,
        )
    assert set(exc.value.fields) == {"pipeline_id"}
    assert _state(deal) == before


def test_a_lost_stage_needs_a_reason_and_nothing_is_written_without_one(admin, deal, sales_pipeline):
    lost = sales_pipeline.stages["Lost"]
    before = _state(deal)
    for reason in (None, "", "   "):
        with pytest.raises(ValidationFailed) as exc:
            deal_services.deal_move(actor=admin, deal=deal, stage_id=lost.pk, expected_version=1, lost_reason=reason)
        assert set(exc.value.fields) == {"lost_reason"} and exc.value.status == 422
    assert _state(deal) == before
    moved = deal_services.deal_move(actor=admin, deal=deal, stage_id=lost.pk, expected_version=1, lost_reason="Price")
    assert moved.lost_reason == "Price" and moved.closed_at == moved.stage_entered_at
    assert Event.objects.get(verb="deal.moved").changes["lost_reason"] == ["", "Price"]


def test_won_closes_the_deal_and_reopening_clears_the_close_date_and_reason(admin, deal, sales_pipeline):
    stages = sales_pipeline.stages
    won = deal_services.deal_move(actor=admin, deal=deal, stage_id=stages["Won"].pk, expected_version=1)
    assert won.closed_at is not None and won.closed_at == won.stage_entered_at
    lost = deal_services.deal_move(
        actor=admin, deal=won, stage_id=stages["Lost"].pk, expected_version=2, lost_reason="Went silent"
    )
    assert lost.closed_at is not None and lost.closed_at > won.closed_at
    reopened = deal_services.deal_move(actor=admin, deal=lost, stage_id=stages["Negotiation"].pk, expected_version=3)
    assert reopened.closed_at is None and reopened.lost_reason == ""
    assert list(
        DealStage.objects.filter(deal=deal).order_by("entered_at", "id").values_list("stage__name", flat=True)
    ) == [
        "Qualified",
        "Won",
        "Lost",
        "Negotiation",
    ]
    assert DealStage.objects.filter(deal=deal, left_at__isnull=True).count() == 1


def test_moving_to_the_current_stage_changes_nothing(admin, deal, sales_pipeline):
    before = _state(deal)
    same = deal_services.deal_move(
        actor=admin, deal=deal, stage_id=sales_pipeline.stages["Qualified"].pk, expected_version=1
    )
    assert same.version == 1 and _state(deal) == before


def test_a_move_from_a_stale_version_is_refused_and_the_first_move_stands(admin, member_of, deal, sales_pipeline):
    """Two people read the deal at version 1; both move it. The second is told, nothing of theirs is kept."""
    from rapport.accounts.roles import Role

    ann, bob = admin, member_of(Role.MANAGER)
    anns_copy, bobs_copy = Deal.objects.get(pk=deal.pk), Deal.objects.get(pk=deal.pk)
    stages = sales_pipeline.stages
    deal_services.deal_move(actor=ann, deal=anns_copy, stage_id=stages["Won"].pk, expected_version=1)
    after_ann = _state(deal)
    with pytest.raises(StaleVersion):
        deal_services.deal_move(
            actor=bob, deal=bobs_copy, stage_id=stages["Lost"].pk, expected_version=1, lost_reason="Price"
        )
    assert _state(deal) == after_ann
    assert Deal.objects.get(pk=deal.pk).stage == stages["Won"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_of_the_same_version_one_wins(admin, member_of, sales_pipeline):
    """Real concurrency (PostgreSQL): two threads move the same deal from version 1 at once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    from rapport.accounts.roles import Role

    deal = deal_services.deal_create(actor=admin, data={"name": "Race", "pipeline_id": sales_pipeline.pipeline.pk})
    bob = member_of(Role.MANAGER)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def move(name: str, actor: Any, stage_name: str) -> None:
        copy = Deal.objects.get(pk=deal.pk)
        barrier.wait()
        try:
            deal_services.deal_move(
                actor=actor, deal=copy, stage_id=sales_pipeline.stages[stage_name].pk, expected_version=1
            )
            outcomes[name] = "moved"
        except StaleVersion:
            outcomes[name] = "stale"
        except Exception as exc:  # pragma: no cover - reported below
            outcomes[name] = repr(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=move, args=("ann", admin, "Proposal")),
        threading.Thread(target=move, args=("bob", bob, "Negotiation")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes.values()) == ["moved", "stale"], outcomes
    winner = "Proposal" if outcomes["ann"] == "moved" else "Negotiation"
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.stage.name == winner and fresh.version == 2
    history = list(
        DealStage.objects.filter(deal=deal).order_by("entered_at", "id").values_list("stage__name", flat=True)
    )
    assert history == ["Qualified", winner]
    assert Event.objects.filter(verb="deal.moved", subject_id=deal.pk).count() == 1
