"""Deal permission levels (Entity.DEAL): sales reps read their team's deals and change only their
own; managers read and change all; viewers read all and change none. A deal one may not read
answers 404; one that may be read but not changed answers 403; refused writes change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rapport.accounts import services as accounts
from rapport.accounts.models import Membership
from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error
from rapport.core.errors import PermissionDenied
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales import deal_selectors, deal_services
from rapport.sales.models import Deal, DealStage

ANN, CAT = "ann's", "cat's"


def _refresh(principal: Principal) -> Principal:
    return Principal.for_membership(Membership.objects.get(org_id=principal.org_id, user_id=principal.user_id))


@dataclass
class Crew:
    ann: Principal  # sales, team North
    ben: Principal  # sales, team North
    cat: Principal  # sales, no team
    manager: Principal
    viewer: Principal
    deals: dict[str, Deal]


@pytest.fixture
def crew(admin, member_of, sales_pipeline) -> Crew:
    ann, ben, cat = member_of(Role.SALES), member_of(Role.SALES), member_of(Role.SALES)
    accounts.team_create(actor=admin, name="North", member_ids=[ann.membership_id, ben.membership_id])
    ann, ben = _refresh(ann), _refresh(ben)
    pk = sales_pipeline.pipeline.pk
    deals = {
        name: deal_services.deal_create(actor=who, data={"name": name, "pipeline_id": pk})
        for name, who in (("ann's", ann), ("ben's", ben), ("cat's", cat), ("admin's", admin))
    }
    return Crew(ann=ann, ben=ben, cat=cat, manager=member_of(Role.MANAGER), viewer=member_of(Role.VIEWER), deals=deals)


def _names(actor: Principal) -> set[str]:
    return {d.name for d in deal_selectors.deal_list(actor=actor)}


def test_each_role_reads_its_level(crew):
    assert crew.deals["ben's"].team_id is not None  # a rep's deal belongs to their only team
    assert _names(crew.ann) == {"ann's", "ben's"}  # own and team
    assert _names(crew.cat) == {"cat's"}  # own only: no team
    everything = {"ann's", "ben's", "cat's", "admin's"}
    assert _names(crew.manager) == everything and _names(crew.viewer) == everything


def _state() -> Any:
    return (
        list(Deal.objects.order_by("pk").values_list("pk", "name", "stage_id", "version", "deleted_at")),
        DealStage.objects.count(),
        Event.objects.filter(verb__startswith="deal.").count(),
    )


def test_a_sales_rep_changes_only_their_own_deals_through_the_api(api, crew, sales_pipeline):
    client = api(crew.ann)
    won = sales_pipeline.stages["Won"].pk
    before = _state()
    team_deal = crew.deals["ben's"].pk
    api_error(client.patch(f"/api/v1/deals/{team_deal}", {"name": "Mine now"}, **{"If-Match": '"v1"'}), 403)
    api_error(client.post(f"/api/v1/deals/{team_deal}/move", {"stage_id": won}, **{"If-Match": '"v1"'}), 403)
    api_error(client.delete(f"/api/v1/deals/{team_deal}"), 403)
    assert client.get(f"/api/v1/deals/{team_deal}").status_code == 200
    assert client.get(f"/api/v1/deals/{team_deal}/history").status_code == 200
    other = crew.deals["cat's"].pk
    for resp in (
        client.get(f"/api/v1/deals/{other}"),
        client.get(f"/api/v1/deals/{other}/history"),
        client.patch(f"/api/v1/deals/{other}", {"name": "Mine now"}, **{"If-Match": '"v1"'}),
        client.post(f"/api/v1/deals/{other}/move", {"stage_id": won}, **{"If-Match": '"v1"'}),
        client.delete(f"/api/v1/deals/{other}"),
    ):
        api_error(resp, 404)
    err = api_error(
        client.patch(f"/api/v1/deals/{crew.deals[ANN].pk}", {"owner_id": crew.ben.user_id}, **{"If-Match": '"v1"'}),
        422,
    )
    assert "owner_id" in err["fields"]
    assert _state() == before
    own = crew.deals["ann's"].pk
    assert client.post(f"/api/v1/deals/{own}/move", {"stage_id": won}, **{"If-Match": '"v1"'}).status_code == 200


def test_a_manager_changes_anyones_deals(api, crew, sales_pipeline):
    client = api(crew.manager)
    for deal in crew.deals.values():
        resp = client.post(
            f"/api/v1/deals/{deal.pk}/move", {"stage_id": sales_pipeline.stages["Won"].pk}, **{"If-Match": '"v1"'}
        )
        assert resp.status_code == 200, resp.content
    resp = client.patch(f"/api/v1/deals/{crew.deals[CAT].pk}", {"owner_id": crew.ann.user_id}, **{"If-Match": '"v2"'})
    assert resp.status_code == 200 and resp.json()["owner"]["id"] == crew.ann.user_id


def test_a_viewer_reads_everything_and_changes_nothing(api, crew, sales_pipeline):
    client = api(crew.viewer)
    before = _state()
    deal = crew.deals["admin's"].pk
    assert client.get(f"/api/v1/deals/{deal}").status_code == 200
    assert len(client.get("/api/v1/deals").json()["items"]) == 4
    api_error(client.post("/api/v1/deals", {"name": "X", "pipeline_id": sales_pipeline.pipeline.pk}), 403)
    api_error(client.patch(f"/api/v1/deals/{deal}", {"name": "X"}, **{"If-Match": '"v1"'}), 403)
    api_error(
        client.post(
            f"/api/v1/deals/{deal}/move", {"stage_id": sales_pipeline.stages["Won"].pk}, **{"If-Match": '"v1"'}
        ),
        403,
    )
    api_error(client.delete(f"/api/v1/deals/{deal}"), 403)
    assert _state() == before


def test_a_read_only_token_changes_nothing(api, crew, sales_pipeline):
    client = api(crew.manager, scope="read")
    before = _state()
    deal = crew.deals["admin's"].pk
    assert client.get(f"/api/v1/deals/{deal}").status_code == 200
    api_error(client.post("/api/v1/deals", {"name": "X", "pipeline_id": sales_pipeline.pipeline.pk}), 403)
    api_error(client.delete(f"/api/v1/deals/{deal}"), 403)
    assert _state() == before


def test_services_refuse_writes_beyond_the_level(crew, sales_pipeline):
    with pytest.raises(PermissionDenied):
        deal_services.deal_move(
            actor=crew.ann, deal=crew.deals["ben's"], stage_id=sales_pipeline.stages["Won"].pk, expected_version=1
        )
    with pytest.raises(PermissionDenied):
        deal_services.deal_update(actor=crew.viewer, deal=crew.deals["ann's"], data={"name": "X"}, expected_version=1)
    with pytest.raises(PermissionDenied):
        deal_services.deal_delete(actor=crew.cat, deal=crew.deals["ann's"])
