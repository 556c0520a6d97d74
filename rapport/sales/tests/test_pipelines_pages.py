"""Settings → Pipelines pages: the list, a new pipeline, a pipeline's page (rename, add a stage, move
stages up and down), a stage's page, and deleting a stage (asking where its deals go) or a
pipeline. Admins only (others get 403 and change nothing); another workspace's ids answer 404."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.sales import deal_services
from rapport.sales.models import Deal, DealStage, Pipeline, Stage
from rapport.sales.tests.conftest import make_pipeline

LIST = "/settings/pipelines/"


def _state() -> dict[str, Any]:
    return {
        "pipelines": list(Pipeline.objects.order_by("pk").values()),
        "stages": list(Stage.objects.order_by("pk").values()),
        "deals": list(Deal.objects.order_by("pk").values("pk", "stage_id", "version")),
        "history": DealStage.objects.count(),
        "events": Event.objects.count(),
    }


def _names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("name", flat=True))


def test_the_list_shows_the_pipelines_and_their_stages(web, admin, sales_pipeline, other_pipeline):
    deal_services.deal_create(actor=admin, data={"name": "D", "pipeline_id": sales_pipeline.pipeline.pk})
    html = web(admin).get(LIST).content.decode()
    assert 'href="/settings/pipelines/" aria-current="page"' in html  # in the settings navigation
    for text in ("New business", "Qualified", "Negotiation", "70%", "14 days", "Won", "Lost", "Add pipeline"):
        assert text in html
    assert "B&#x27;s pipeline" not in html and "B's pipeline" not in html


def test_a_workspace_without_pipelines_sees_the_default_one(web, admin):
    html = web(admin).get(LIST).content.decode()
    assert "Sales" in html and "Proposal" in html


def test_adding_a_pipeline_gives_it_the_usual_stages(web, admin, sales_pipeline):
    client = web(admin)
    resp = client.post(LIST, {"name": "Renewals"})
    pipeline = Pipeline.objects.get(name="Renewals")
    assert resp.status_code == 302 and resp["Location"] == f"/settings/pipelines/{pipeline.pk}/"
    assert _names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    before = _state()
    resp = client.post(LIST, {"name": "renewals"})
    assert resp.status_code == 422 and "There is already a pipeline named" in resp.content.decode()
    assert _state() == before


def test_rename_add_a_stage_and_move_it_up(web, admin, sales_pipeline):
    client, pipeline = web(admin), sales_pipeline.pipeline
    page = f"/settings/pipelines/{pipeline.pk}/"
    html = client.get(page).content.decode()
    assert "Move Proposal up" in html and "Move Lost down" not in html and "Move Qualified up" not in html
    resp = client.post(page, {"pipeline-name": "Enterprise", "pipeline-position": "3", "pipeline-version": "1"})
    assert resp.status_code == 302
    pipeline.refresh_from_db()
    assert pipeline.name == "Enterprise" and pipeline.position == 3 and pipeline.version == 2

    resp = client.post(f"{page}stages/", {"stage-name": "Demo", "stage-kind": "open", "stage-probability": "50"})
    assert resp.status_code == 302
    assert _names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Demo", "Won", "Lost"]
    resp = client.post(f"{page}stages/", {"stage-name": "demo", "stage-kind": "open"})
    assert resp.status_code == 422 and "already has a stage named" in resp.content.decode()

    demo = Stage.objects.get(name="Demo")
    pipeline.refresh_from_db()
    move = {"stage": demo.pk, "direction": "up", "version": pipeline.version}
    assert client.post(f"{page}stages/move/", move).status_code == 302
    assert _names(pipeline) == ["Qualified", "Proposal", "Demo", "Negotiation", "Won", "Lost"]
    # the same click again, with the old version: refused, nothing moves
    resp = client.post(f"{page}stages/move/", move, follow=True)
    assert "Someone else changed this pipeline" in resp.content.decode()
    assert _names(pipeline) == ["Qualified", "Proposal", "Demo", "Negotiation", "Won", "Lost"]


def test_a_stage_page_saves_and_shows_service_errors(web, admin, sales_pipeline):
    client, stage = web(admin), sales_pipeline.stages["Won"]
    url = f"/settings/stages/{stage.pk}/"
    assert "Stage “Won”" in client.get(url).content.decode()
    resp = client.post(url, {"name": "Won", "kind": "open", "probability": "100", "version": "1"})
    assert resp.status_code == 422 and "A pipeline needs at least a won stage." in resp.content.decode()
    resp = client.post(url, {"name": "Closed won", "kind": "won", "probability": "100", "version": "1"})
    assert resp.status_code == 302
    stage.refresh_from_db()
    assert stage.name == "Closed won" and stage.version == 2
    resp = client.post(url, {"name": "Again", "kind": "won", "probability": "100", "version": "1"})
    assert resp.status_code == 412 and "Someone else changed" in resp.content.decode()


def test_deleting_a_stage_with_deals_asks_where_they_go(web, admin, sales_pipeline):
    client, s = web(admin), sales_pipeline.stages
    deal = deal_services.deal_create(
        actor=admin, data={"name": "D", "pipeline_id": sales_pipeline.pipeline.pk, "stage_id": s["Proposal"].pk}
    )
    url = f"/settings/stages/{s['Proposal'].pk}/delete/"
    html = client.get(url).content.decode()
    assert "1 deal is in this stage" in html and "Move the deals to" in html
    assert f'<option value="{s["Negotiation"].pk}">Negotiation</option>' in html
    assert f'value="{s["Won"].pk}"' not in html  # only stages of the same kind
    before = _state()
    resp = client.post(url, {})
    assert resp.status_code == 409 and "choose a stage to move them to" in resp.content.decode()
    assert _state() == before
    resp = client.post(url, {"move_to": s["Negotiation"].pk})
    assert resp.status_code == 302
    deal.refresh_from_db()
    assert deal.stage_id == s["Negotiation"].pk and not Stage.objects.filter(pk=s["Proposal"].pk).exists()
    assert DealStage.objects.get(deal=deal, left_at__isnull=True).stage_id == s["Negotiation"].pk


def test_the_only_won_stage_page_explains_why_it_cannot_go(web, admin, sales_pipeline):
    html = web(admin).get(f"/settings/stages/{sales_pipeline.stages['Won'].pk}/delete/").content.decode()
    assert "is the only won stage of this pipeline" in html and "Delete stage</button>" not in html


def test_deleting_a_pipeline(web, admin, sales_pipeline, org):
    client = web(admin)
    url = f"/settings/pipelines/{sales_pipeline.pipeline.pk}/delete/"
    resp = client.post(url)
    assert resp.status_code == 409 and "at least one pipeline" in resp.content.decode()
    other = make_pipeline(org, "Other")
    deal_services.deal_create(actor=admin, data={"name": "D", "pipeline_id": other.pipeline.pk})
    other_url = f"/settings/pipelines/{other.pipeline.pk}/delete/"
    assert "1 deal is still in this pipeline" in client.get(other_url).content.decode()
    assert client.post(url).status_code == 302
    assert Pipeline.objects.get(pk=sales_pipeline.pipeline.pk).deleted_at is not None


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.VIEWER])
def test_members_without_the_settings_permission_get_403_and_change_nothing(web, member_of, sales_pipeline, role):
    client = web(member_of(role))
    pipeline, stage = sales_pipeline.pipeline, sales_pipeline.stages["Proposal"]
    tokens_page = client.get("/settings/tokens/")
    assert tokens_page.status_code == 200 and 'href="/settings/pipelines/"' not in tokens_page.content.decode()
    before = _state()
    for url, data in (
        (LIST, {"name": "Mine"}),
        (f"/settings/pipelines/{pipeline.pk}/", {"pipeline-name": "Mine", "pipeline-version": "1"}),
        (f"/settings/pipelines/{pipeline.pk}/stages/", {"stage-name": "Mine", "stage-kind": "open"}),
        (f"/settings/pipelines/{pipeline.pk}/stages/move/", {"stage": stage.pk, "direction": "up", "version": "1"}),
        (f"/settings/stages/{stage.pk}/", {"name": "Mine", "kind": "open", "probability": "1", "version": "1"}),
        (f"/settings/stages/{stage.pk}/delete/", {}),
        (f"/settings/pipelines/{pipeline.pk}/delete/", {}),
    ):
        assert client.get(url).status_code in (403, 405), url
        assert client.post(url, data).status_code == 403, url
    assert _state() == before


def test_another_workspaces_pipelines_and_stages_answer_404(web, admin, sales_pipeline, other_pipeline):
    client = web(admin)
    pipeline, stage = other_pipeline.pipeline, other_pipeline.stages["Proposal"]
    before = _state()
    for url, data in (
        (f"/settings/pipelines/{pipeline.pk}/", {"pipeline-name": "Mine", "pipeline-version": "1"}),
        (f"/settings/pipelines/{pipeline.pk}/stages/", {"stage-name": "Mine", "stage-kind": "open"}),
        (f"/settings/pipelines/{pipeline.pk}/stages/move/", {"stage": stage.pk, "direction": "up", "version": "1"}),
        (f"/settings/stages/{stage.pk}/", {"name": "Mine", "kind": "open", "probability": "1", "version": "1"}),
        (f"/settings/stages/{stage.pk}/delete/", {}),
        (f"/settings/pipelines/{pipeline.pk}/delete/", {}),
    ):
        assert client.post(url, data).status_code == 404, url
    assert _state() == before
