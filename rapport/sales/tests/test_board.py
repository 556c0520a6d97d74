"""The deal board: columns with counts and totals in the base currency (a missing rate is shown,
not guessed), cards with age and the rotting mark, filters, "Show more" (keyset), the query count
(bounded, whatever the number of deals), and moving a deal (script or form, stale version, lost
reason, permissions, other workspaces)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.accounts.models import Membership, Team
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales import deal_services
from rapport.sales.board_selectors import CARDS_PER_COLUMN
from rapport.sales.models import Deal, DealStage, ExchangeRate

HX = {"HX-Request": "true"}


def _deal(actor: Any, pipeline: Any, stage: str = "Qualified", **data: Any) -> Deal:
    values = {
        "name": "Deal",
        "amount": "100",
        "pipeline_id": pipeline.pipeline.pk,
        "stage_id": pipeline.stages[stage].pk,
    }
    return deal_services.deal_create(actor=actor, data={**values, **data})


def _state() -> dict[str, Any]:
    return {
        "deals": list(Deal.objects.order_by("pk").values("pk", "stage_id", "version", "lost_reason")),
        "history": DealStage.objects.count(),
        "events": Event.objects.count(),
    }


def test_deals_opens_the_first_pipelines_board_with_counts_and_totals(web, admin, sales_pipeline, org):
    org.base_currency = "EUR"
    org.save()
    ExchangeRate.objects.create(org=org, currency="USD", rate=Decimal("0.5"), valid_from=date(2020, 1, 1))
    _deal(admin, sales_pipeline, name="Alpha", amount="100", currency="EUR")
    _deal(admin, sales_pipeline, name="Beta", amount="300", currency="USD")
    _deal(admin, sales_pipeline, "Proposal", name="Gamma", amount="1000", currency="GBP")
    resp = web(admin).get("/deals/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert 'href="/deals/" aria-current="page"' in html  # the main navigation's "Sales"
    for text in ("Qualified", "Alpha", "Beta", "2 deals", "EUR 250.00", "Gamma", "1 deal"):
        assert text in html
    assert "Total unknown: no GBP → EUR rate" in html  # not a wrong total
    assert f"/deals/list/?pipeline={sales_pipeline.pipeline.pk}" in html


def test_a_card_shows_its_age_and_rots_after_the_stages_limit(web, admin, sales_pipeline):
    fresh = _deal(admin, sales_pipeline, name="Fresh")
    old = _deal(admin, sales_pipeline, name="Stale one")
    Deal.objects.filter(pk=old.pk).update(
        stage_entered_at=timezone.now() - timedelta(days=20)
    )  # Qualified rots after 14
    html = web(admin).get(f"/deals/board/{sales_pipeline.pipeline.pk}/").content.decode()
    assert "20 days in stage" in html and "0 days in stage" in html
    assert html.count("Rotting</span>") == 1
    assert html.index("Fresh") < html.index("Stale one")  # newest in the stage first
    assert fresh.pk


def test_the_pipeline_switcher_and_another_workspaces_pipeline(web, admin, sales_pipeline, other_pipeline):
    from rapport.sales.tests.conftest import make_pipeline

    renewals = make_pipeline(admin.org, "Renewals")
    _deal(admin, renewals, name="Renewal deal")
    client = web(admin)
    html = client.get(f"/deals/board/{renewals.pipeline.pk}/").content.decode()
    assert "Renewal deal" in html and f'href="/deals/board/{sales_pipeline.pipeline.pk}/"' in html
    assert client.get(f"/deals/board/{other_pipeline.pipeline.pk}/").status_code == 404
    assert client.get(f"/deals/board/stages/{other_pipeline.stages['Qualified'].pk}/").status_code == 404


def test_filters_narrow_the_board_and_bad_filters_are_refused(web, admin, member_of, sales_pipeline):
    rep = member_of(Role.SALES)
    _deal(admin, sales_pipeline, name="Big", amount="9000", expected_close_date="2026-03-01")
    _deal(admin, sales_pipeline, name="Small", amount="10", expected_close_date="2026-06-01")
    _deal(rep, sales_pipeline, name="Reps deal", amount="500")
    client = web(admin)
    board = f"/deals/board/{sales_pipeline.pipeline.pk}/"
    html = client.get(board, {"amount_min": "1000"}).content.decode()
    assert "Big" in html and "Small" not in html and "1 deal" in html
    html = client.get(board, {"close_from": "2026-05-01", "close_to": "2026-12-31"}).content.decode()
    assert "Small" in html and "Big" not in html
    html = client.get(board, {"owner": rep.user_id}).content.decode()
    assert "Reps deal" in html and "Big" not in html
    team = Team.objects.create(org=admin.org, name="North")
    _deal(admin, sales_pipeline, name="Northern", team_id=team.pk)
    html = client.get(board, {"team": team.pk}).content.decode()
    assert "Northern" in html and "Reps deal" not in html and "Big" not in html
    assert client.get(board, {"team": 999999}).status_code == 400  # not a team of this workspace
    resp = client.get(board, {"amount_min": "lots"})
    assert resp.status_code == 400 and "Some filters are not valid" in resp.content.decode()
    resp = client.get(board, {"close_from": "2026-05-01", "close_to": "2026-01-01"})
    assert resp.status_code == 400 and "before its start" in resp.content.decode()


def test_show_more_loads_the_next_cards_of_a_column(web, admin, sales_pipeline):
    now = timezone.now()
    for i in range(CARDS_PER_COLUMN + 3):
        deal = _deal(admin, sales_pipeline, name=f"Deal {i:03d}")
        Deal.objects.filter(pk=deal.pk).update(stage_entered_at=now - timedelta(minutes=i))
    client = web(admin)
    html = client.get(f"/deals/board/{sales_pipeline.pipeline.pk}/").content.decode()
    assert (
        "Deal 000" in html and f"Deal {CARDS_PER_COLUMN - 1:03d}" in html and f"Deal {CARDS_PER_COLUMN:03d}" not in html
    )
    assert "Show more" in html
    start = html.index('hx-get="/deals/board/stages/')
    url = html[start + len('hx-get="') : html.index('"', start + len('hx-get="'))].replace("&amp;", "&")
    more = client.get(url, headers=HX).content.decode()
    assert f"Deal {CARDS_PER_COLUMN:03d}" in more and f"Deal {CARDS_PER_COLUMN + 2:03d}" in more
    assert "Deal 000" not in more and "Show more" not in more
    assert client.get(url.split("cursor=")[0] + "cursor=garbage").status_code == 422


def _board_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200

    return len(ctx.captured_queries)


def test_the_boards_query_count_does_not_grow_with_the_deals(web, admin, sales_pipeline, org):
    ExchangeRate.objects.create(org=org, currency="EUR", rate=Decimal("1.1"), valid_from=date(2020, 1, 1))
    client = web(admin)
    url = f"/deals/board/{sales_pipeline.pipeline.pk}/"
    for stage in ("Qualified", "Proposal", "Won"):
        _deal(admin, sales_pipeline, stage, currency="EUR")
    few = _board_queries(client, url)
    for i in range(60):
        _deal(
            admin,
            sales_pipeline,
            ("Qualified", "Proposal", "Negotiation", "Won")[i % 4],
            currency=("USD", "EUR")[i % 2],
        )
    many = _board_queries(client, url)
    assert many == few + 1  # one more column has cards now (Negotiation), nothing per deal
    assert many <= 20


# --- moving ----------------------------------------------------------------------------------


def test_a_script_move_answers_204_and_records_the_stage_history(web, admin, sales_pipeline):
    deal = _deal(admin, sales_pipeline, name="Moving")
    proposal = sales_pipeline.stages["Proposal"]
    resp = web(admin).post(f"/deals/{deal.pk}/move/", {"stage": proposal.pk, "version": deal.version}, headers=HX)
    assert resp.status_code == 204
    deal.refresh_from_db()
    assert deal.stage_id == proposal.pk and deal.version == 2
    assert DealStage.objects.filter(deal=deal).count() == 2
    assert Event.objects.filter(verb="deal.moved", subject_id=deal.pk).count() == 1


def test_the_column_fragment_shows_the_moved_deal(web, admin, sales_pipeline):
    deal = _deal(admin, sales_pipeline, "Proposal", name="In proposal", amount="70")
    html = web(admin).get(f"/deals/board/stages/{deal.stage_id}/", headers=HX).content.decode()
    assert 'id="column-' in html and "In proposal" in html and "1 deal" in html and "USD 70.00" in html


def test_a_stale_version_is_refused_with_a_clear_message(web, admin, sales_pipeline):
    deal = _deal(admin, sales_pipeline, name="Contested")
    client = web(admin)
    won, proposal = sales_pipeline.stages["Won"], sales_pipeline.stages["Proposal"]
    assert client.post(f"/deals/{deal.pk}/move/", {"stage": proposal.pk, "version": 1}, headers=HX).status_code == 204
    before = _state()
    resp = client.post(f"/deals/{deal.pk}/move/", {"stage": won.pk, "version": 1}, headers=HX)
    assert resp.status_code == 412 and "Someone else moved or changed “Contested”" in resp.content.decode()
    resp = client.post(f"/deals/{deal.pk}/move/", {"stage": won.pk, "version": 1})  # the form, without script
    assert resp.status_code == 409 and "Someone else moved or changed" in resp.content.decode()
    assert _state() == before


def test_a_lost_stage_asks_for_the_reason(web, admin, sales_pipeline):
    deal = _deal(admin, sales_pipeline, name="Doomed")
    lost = sales_pipeline.stages["Lost"]
    client = web(admin)
    page = client.get(f"/deals/{deal.pk}/move/?stage={lost.pk}").content.decode()  # without script: a page
    assert "<h1>Move Doomed</h1>" in page and 'name="lost_reason"' in page
    dialog = client.get(f"/deals/{deal.pk}/move/?stage={lost.pk}", headers=HX).content.decode()
    assert "Why was “Doomed” lost?" in dialog and 'name="lost_reason"' in dialog and "<html" not in dialog
    before = _state()
    resp = client.post(f"/deals/{deal.pk}/move/", {"stage": lost.pk, "version": 1}, headers=HX)
    assert resp.status_code == 422 and "A lost deal needs a lost reason." in resp.content.decode()
    resp = client.post(f"/deals/{deal.pk}/move/", {"stage": lost.pk, "version": 1, "next": "/deals/"})
    assert resp.status_code == 422 and "A lost deal needs a lost reason." in resp.content.decode()
    assert 'name="lost_reason"' in resp.content.decode()
    assert _state() == before
    data = {"stage": lost.pk, "version": 1, "lost_reason": "Went with a rival", "next": "/deals/"}
    resp = client.post(f"/deals/{deal.pk}/move/", data)
    assert resp.status_code == 302 and resp["Location"] == "/deals/"
    deal.refresh_from_db()
    assert deal.stage_id == lost.pk and deal.lost_reason == "Went with a rival"


def test_bad_move_input_changes_nothing(web, admin, sales_pipeline, other_pipeline):
    deal = _deal(admin, sales_pipeline)
    client = web(admin)
    before = _state()
    for data in ({"stage": "x", "version": 1}, {"stage": other_pipeline.stages["Won"].pk, "version": 1}, {"stage": ""}):
        resp = client.post(f"/deals/{deal.pk}/move/", data, headers=HX)
        assert resp.status_code == 400 and "Choose a stage" in resp.content.decode()
    resp = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": sales_pipeline.stages["Won"].pk, "version": 1, "next": "https://evil.example/"},
    )
    assert resp.status_code == 302 and resp["Location"] == f"/deals/{deal.pk}/"  # no open redirect
    deal.refresh_from_db()
    assert deal.stage.name == "Won"
    assert before["history"] + 1 == DealStage.objects.count()


def test_a_viewer_sees_the_board_but_cannot_move(web, admin, member_of, sales_pipeline):
    deal = _deal(admin, sales_pipeline, name="Look only")
    viewer = member_of(Role.VIEWER)
    client = web(viewer)
    html = client.get("/deals/").content.decode()
    assert "Look only" in html and 'draggable="true"' not in html and "deal-card-move" not in html
    before = _state()
    resp = client.post(f"/deals/{deal.pk}/move/", {"stage": sales_pipeline.stages["Won"].pk, "version": 1}, headers=HX)
    assert resp.status_code == 403 and "does not let you move" in resp.content.decode()
    assert (
        client.post(f"/deals/{deal.pk}/move/", {"stage": sales_pipeline.stages["Won"].pk, "version": 1}).status_code
        == 403
    )
    assert _state() == before


def test_a_sales_rep_cannot_move_a_colleagues_deal(web, member_of, sales_pipeline):
    rep, colleague = member_of(Role.SALES), member_of(Role.SALES)
    team = Team.objects.create(org=rep.org, name="Field")
    team.members.add(rep.membership_id, colleague.membership_id)
    theirs = _deal(colleague, sales_pipeline, name="Colleague's deal", team_id=team.pk)
    mine = _deal(rep, sales_pipeline, name="My deal")
    rep = Principal.for_membership(Membership.objects.get(pk=rep.membership_id))
    client = web(rep)
    html = client.get("/deals/").content.decode()
    assert "Colleague&#x27;s deal" in html  # the team level lets a rep read it
    assert f'data-deal-id="{mine.pk}" data-version="1" data-move-url="/deals/{mine.pk}/move/" draggable="true"' in html
    assert f'data-deal-id="{theirs.pk}" data-version="1" data-move-url="/deals/{theirs.pk}/move/">' in html
    before = _state()
    resp = client.post(
        f"/deals/{theirs.pk}/move/", {"stage": sales_pipeline.stages["Won"].pk, "version": 1}, headers=HX
    )
    assert resp.status_code == 403
    assert _state() == before


def test_another_workspaces_deal_cannot_be_moved(web, admin, other_admin, other_pipeline):
    theirs = _deal(other_admin, other_pipeline)
    before = _state()
    resp = web(admin).post(
        f"/deals/{theirs.pk}/move/", {"stage": other_pipeline.stages["Won"].pk, "version": 1}, headers=HX
    )
    assert resp.status_code == 404
    assert web(admin).get(f"/deals/{theirs.pk}/move/").status_code == 404
    assert _state() == before
