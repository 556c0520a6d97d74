"""Deal services: create, update, trash and restore; validation names every problem and writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import contact_with
from rapport.core.errors import PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales import deal_services
from rapport.sales.models import Competitor, Deal, DealStage
from rapport.sales.tests.conftest import make_pipeline


def _nothing_written() -> None:
    assert not Deal.objects.exists()
    assert not DealStage.objects.exists()
    assert not Event.objects.filter(verb__startswith="deal.").exists()


def test_a_new_deal_starts_in_the_first_open_stage_in_the_base_currency_owned_by_its_creator(admin, sales_pipeline):
    admin.org.base_currency = "EUR"
    admin.org.save()
    deal = deal_services.deal_create(
        actor=admin, data={"name": "  Acme renewal ", "amount": "1250.5", "pipeline_id": sales_pipeline.pipeline.pk}
    )
    assert deal.name == "Acme renewal" and deal.amount == Decimal("1250.50") and deal.currency == "EUR"
    assert deal.stage == sales_pipeline.stages["Qualified"] and deal.owner_id == admin.user_id
    assert deal.closed_at is None and deal.version == 1
    (row,) = DealStage.objects.filter(deal=deal)
    assert row.stage_id == deal.stage_id and row.left_at is None and row.entered_at == deal.stage_entered_at
    assert row.actor_id == admin.user_id and row.pipeline_id == sales_pipeline.pipeline.pk
    event = Event.objects.get(verb="deal.created", subject_id=deal.pk)
    assert event.subject_type == "deal"
    assert event.changes["name"] == [None, "Acme renewal"] and event.changes["amount"] == [None, "1250.50"]
    assert event.changes["stage_id"] == [None, deal.stage_id]


def test_create_takes_every_field(admin, sales_pipeline, ada, company, org):
    bob = contact_with(org, email="bob@example.org", first_name="Bob")
    rival = Competitor.objects.create(org=org, name="Initech")
    deal = deal_services.deal_create(
        actor=admin,
        data={
            "name": "Big one",
            "amount": 900,
            "currency": "euro",
            "expected_close_date": "2031-03-31",
            "pipeline_id": sales_pipeline.pipeline.pk,
            "stage_id": sales_pipeline.stages["Proposal"].pk,
            "contact_id": ada.pk,
            "company_id": company.pk,
            "contacts": [{"contact_id": bob.pk, "role": "champion"}, {"contact_id": ada.pk, "role": "decision_maker"}],
            "competitor_ids": [rival.pk, rival.pk],
            "source": "Referral",
            "custom": {},
        },
    )
    assert deal.currency == "EUR" and deal.expected_close_date == date(2031, 3, 31)
    assert deal.stage.name == "Proposal" and deal.contact == ada and deal.company == company
    assert {(link.contact_id, link.role) for link in deal.contact_links.all()} == {
        (bob.pk, "champion"),
        (ada.pk, "decision_maker"),
    }
    assert list(deal.competitors.all()) == [rival] and deal.source == "Referral"


def test_every_invalid_field_is_named_at_once_and_nothing_is_written(admin, sales_pipeline, other_pipeline):
    with pytest.raises(ValidationFailed) as exc:
        deal_services.deal_create(
            actor=admin,
            data={
                "name": " ",
                "amount": "-1",
                "currency": "XYZ",
                "expected_close_date": "soon",
                "pipeline_id": sales_pipeline.pipeline.pk,
                "stage_id": other_pipeline.stages["Proposal"].pk,
                "owner_id": 999999,
                "bogus": 1,
            },
        )
    assert set(exc.value.fields) == {
        "name",
        "amount",
        "currency",
        "expected_close_date",
        "stage_id",
        "owner_id",
        "bogus",
    }
    assert exc.value.status == 422
    _nothing_written()


def test_a_pipeline_of_another_workspace_is_unknown(admin, other_pipeline):
    with pytest.raises(ValidationFailed) as exc:
        deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": other_pipeline.pipeline.pk})
    assert set(exc.value.fields) == {"pipeline_id"}
    _nothing_written()


def test_a_deal_created_lost_needs_a_reason_and_is_closed(admin, sales_pipeline):
    data: dict[str, Any] = {
        "name": "Gone",
        "pipeline_id": sales_pipeline.pipeline.pk,
        "stage_id": sales_pipeline.stages["Lost"].pk,
    }
    with pytest.raises(ValidationFailed) as exc:
        deal_services.deal_create(actor=admin, data=data)
    assert set(exc.value.fields) == {"lost_reason"}
    _nothing_written()
    deal = deal_services.deal_create(actor=admin, data={**data, "lost_reason": "Budget"})
    assert deal.closed_at is not None and deal.lost_reason == "Budget"


def test_contacts_and_competitors_must_exist_in_the_workspace(admin, sales_pipeline, other_org):
    stranger = contact_with(other_org, email="x@example.org")
    theirs = Competitor.objects.create(org=other_org, name="Hooli")
    with pytest.raises(ValidationFailed) as exc:
        deal_services.deal_create(
            actor=admin,
            data={
                "name": "X",
                "pipeline_id": sales_pipeline.pipeline.pk,
                "contact_id": stranger.pk,
                "contacts": [{"contact_id": stranger.pk, "role": "king"}],
                "competitor_ids": [theirs.pk],
            },
        )
    assert {"contact_id", "contacts.0.contact_id", "contacts.0.role", "competitor_ids"} <= set(exc.value.fields)
    _nothing_written()


def test_a_sales_rep_can_only_own_deals_themselves(member_of, sales_pipeline):
    rep, manager = member_of(Role.SALES), member_of(Role.MANAGER)
    with pytest.raises(ValidationFailed) as exc:
        deal_services.deal_create(
            actor=rep, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk, "owner_id": manager.user_id}
        )
    assert set(exc.value.fields) == {"owner_id"}
    deal = deal_services.deal_create(
        actor=manager, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk, "owner_id": rep.user_id}
    )
    assert deal.owner_id == rep.user_id


def test_viewers_and_support_cannot_create_deals(member_of, sales_pipeline):
    for role in (Role.VIEWER, Role.SUPPORT):
        with pytest.raises(PermissionDenied):
            deal_services.deal_create(
                actor=member_of(role), data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk}
            )
    _nothing_written()


def test_update_records_the_changes_and_bumps_the_version(admin, sales_pipeline, ada):
    deal = deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk})
    deal = deal_services.deal_update(
        actor=admin,
        deal=deal,
        data={"name": "Y", "amount": 10, "contacts": [{"contact_id": ada.pk, "role": "user"}]},
        expected_version=1,
    )
    assert deal.name == "Y" and deal.amount == Decimal("10.00") and deal.version == 2
    event = Event.objects.get(verb="deal.updated")
    assert event.changes == {"name": ["X", "Y"], "amount": ["0.00", "10.00"], "contacts": [[], [[ada.pk, "user"]]]}
    unchanged = deal_services.deal_update(actor=admin, deal=deal, data={"name": "Y"}, expected_version=2)
    assert unchanged.version == 3 and Event.objects.filter(verb="deal.updated").count() == 1


def test_update_refuses_a_stale_version_and_stage_changes(admin, sales_pipeline):
    deal = deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk})
    with pytest.raises(StaleVersion):
        deal_services.deal_update(actor=admin, deal=deal, data={"name": "Y"}, expected_version=7)
    with pytest.raises(ValidationFailed) as exc:
        deal_services.deal_update(
            actor=admin,
            deal=deal,
            data={"stage_id": sales_pipeline.stages["Won"].pk, "pipeline_id": sales_pipeline.pipeline.pk},
            expected_version=1,
        )
    assert set(exc.value.fields) == {"stage_id", "pipeline_id"}
    deal.refresh_from_db()
    assert deal.name == "X" and deal.version == 1 and deal.stage.name == "Qualified"
    assert not Event.objects.filter(verb="deal.updated").exists()


def test_a_lost_deal_keeps_its_reason(admin, sales_pipeline):
    deal = deal_services.deal_create(
        actor=admin,
        data={
            "name": "X",
            "pipeline_id": sales_pipeline.pipeline.pk,
            "stage_id": sales_pipeline.stages["Lost"].pk,
            "lost_reason": "Price",
        },
    )
    with pytest.raises(ValidationFailed) as exc:
        deal_services.deal_update(actor=admin, deal=deal, data={"lost_reason": ""}, expected_version=None)
    assert set(exc.value.fields) == {"lost_reason"}


def test_trash_and_restore(admin, sales_pipeline):
    deal = deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": sales_pipeline.pipeline.pk})
    deal_services.deal_delete(actor=admin, deal=deal)
    deal.refresh_from_db()
    assert deal.deleted_at is not None and deal.version == 2
    restored = deal_services.deal_restore(actor=admin, deal=deal)
    assert restored.deleted_at is None and restored.version == 3
    verbs = list(Event.objects.filter(subject_type="deal").order_by("pk").values_list("verb", flat=True))
    assert verbs == ["deal.created", "deal.trashed", "deal.restored"]


def test_a_second_pipeline_can_be_chosen(admin, sales_pipeline, org):
    renewals = make_pipeline(org, "Renewals")
    deal = deal_services.deal_create(actor=admin, data={"name": "X", "pipeline_id": renewals.pipeline.pk})
    assert deal.pipeline == renewals.pipeline and deal.stage == renewals.stages["Qualified"]
