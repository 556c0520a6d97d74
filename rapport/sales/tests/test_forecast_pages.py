"""The forecast page and the quota grid: what each role sees, the figures and bars on the page,
bad choices (400 with the message on the field), saving the grid (errors on the cell, stale
versions), and query counts that do not grow with the deals or the members."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.sales import quota_services
from rapport.sales.models import Quota
from rapport.sales.tests.test_forecast import TODAY, book, make_deal  # noqa: F401 (the fixture)

PAGE = "/sales/forecast/"
GRID = "/sales/forecast/quotas/"


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr("rapport.sales.forecast.current_day", lambda: TODAY)


def test_the_page_shows_the_figures_forecast_against_actual_and_bars(web, admin, book):  # noqa: F811
    quota_services.quota_create(
        actor=admin,
        data={"user_id": book.rep.user_id, "period": "month", "period_start": "2026-01-01", "amount": "2000"},
    )
    resp = web(admin).get(f"{PAGE}?start=2026-01&periods=3")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'aria-current="page"' in html and ">Forecast</a>" in html  # the sales tab
    assert "Jan 2026 \N{EN DASH} Mar 2026" in html
    assert 'data-label="Closed won (USD)"' in html
    assert "2,100.00" in html and "105.0 %" in html  # January: won and attainment
    assert "+1,400.00" in html  # January: won 2,100 against 700 forecast at its start
    assert "-960.00" in html  # March so far
    assert html.count('<svg class="fc-bar"') == 3
    assert (
        'aria-label="Closed won USD 2,100.00, weighted pipeline USD 0.00, best case USD 2,100.00, quota USD 2,000.00"'
        in html
    )
    assert "Set quotas" in html


def test_grouped_by_owner_each_owner_has_a_section_and_the_workspace_comes_last(web, admin, book):  # noqa: F811
    html = web(admin).get(f"{PAGE}?start=2026-01&periods=3&group=owner").content.decode()
    names = [book.rep.user.display_name, book.rep2.user.display_name, "Whole workspace"]
    positions = [html.index(f'<th scope="rowgroup" colspan="9">{name}</th>') for name in names]
    assert positions == sorted(positions)


def test_a_viewer_sees_the_forecast_but_not_the_quota_button(web, member_of, book):  # noqa: F811
    resp = web(member_of(Role.VIEWER)).get(f"{PAGE}?start=2026-01&periods=3")
    assert resp.status_code == 200
    assert "2,100.00" in resp.content.decode() and "Set quotas" not in resp.content.decode()


def test_a_rep_sees_only_their_own_deals(web, book):  # noqa: F811
    html = web(book.rep2).get(f"{PAGE}?start=2026-01&periods=3").content.decode()
    assert "2,100.00" not in html and "350.00" in html


def test_bad_choices_show_their_message_on_the_field(web, admin):
    resp = web(admin).get(f"{PAGE}?period=week&periods=99&start=nope")
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'id="fc-period-error"' in html and "Choose month or quarter." in html
    assert "Enter a number of periods from 1 to 24." in html
    assert 'aria-invalid="true"' in html


def test_a_missing_rate_is_named_instead_of_a_wrong_total(web, admin, book, sales_pipeline):  # noqa: F811
    make_deal(sales_pipeline, admin, "100", "GBP", [("Won", "2026-02-03")])
    html = web(admin).get(f"{PAGE}?start=2026-01&periods=3").content.decode()
    assert "No exchange rate from GBP to USD on or before 2026-02-03" in html
    assert "No rate for GBP" in html


def test_the_page_costs_the_same_queries_for_more_deals(web, admin, book, sales_pipeline):  # noqa: F811
    client = web(admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{PAGE}?start=2026-01&group=team").status_code == 200
        return len(ctx.captured_queries)

    count()
    before = count()
    for n in range(25):
        make_deal(sales_pipeline, book.rep, "7", "EUR", [("Won", f"2026-0{n % 9 + 1}-03")], team=book.team)
    assert count() == before


# --- the quota grid ---------------------------------------------------------------------------------


def test_only_admins_and_managers_open_the_grid(web, admin, member_of):
    assert web(admin).get(GRID).status_code == 200
    assert web(member_of(Role.MANAGER)).get(GRID).status_code == 200
    for role in (Role.SALES, Role.VIEWER):
        assert web(member_of(role)).get(GRID).status_code == 403
        assert web(member_of(role)).post(GRID, {"period": "month", "start": "2026-01"}).status_code == 403


def test_the_grid_saves_new_changed_and_emptied_cells(web, admin, member_of):
    rep = member_of(Role.SALES)
    old = quota_services.quota_create(
        actor=admin, data={"user_id": rep.user_id, "period": "month", "period_start": "2026-02-01", "amount": "500"}
    )
    client = web(admin)
    html = client.get(f"{GRID}?period=month&start=2026-01").content.decode()
    assert f'name="q-{rep.user_id}-2026-02-01" value="500"' in html
    assert f'aria-labelledby="m-{rep.user_id} p-2026-01"' in html
    form = {
        "period": "month",
        "start": "2026-01",
        "page": "1",
        f"q-{rep.user_id}-2026-01-01": "1,000",
        f"v-{rep.user_id}-2026-01-01": "",
        f"q-{rep.user_id}-2026-02-01": "",
        f"v-{rep.user_id}-2026-02-01": str(old.version),
    }
    resp = client.post(GRID, form)
    assert resp.status_code == 302
    assert list(Quota.objects.values_list("period_start", "amount")) == [
        (old.period_start.replace(month=1), Decimal("1000.00"))
    ]
    assert "1 set, 0 changed, 1 removed" in client.get(resp["Location"]).content.decode()


def test_a_bad_amount_is_shown_on_its_cell_and_nothing_is_saved(web, admin, member_of):
    rep = member_of(Role.SALES)
    client = web(admin)
    form = {
        "period": "quarter",
        "start": "2026-01",
        f"q-{rep.user_id}-2026-01-01": "100",
        f"q-{rep.user_id}-2026-04-01": "-5",
    }
    resp = client.post(GRID, form)
    assert resp.status_code == 422
    html = resp.content.decode()
    assert f'id="e-{rep.user_id}-2026-04-01">A quota cannot be negative.' in html
    assert f'name="q-{rep.user_id}-2026-04-01" value="-5"' in html  # what was typed stays
    assert not Quota.objects.exists() and not Event.objects.filter(verb__startswith="quota.").exists()


def test_a_quota_changed_meanwhile_refuses_the_save(web, admin, member_of):
    rep = member_of(Role.SALES)
    quota = quota_services.quota_create(
        actor=admin, data={"user_id": rep.user_id, "period": "quarter", "period_start": "2026-01-01", "amount": "9"}
    )
    quota_services.quota_update(actor=admin, quota=quota, data={"amount": "10"}, expected_version=1)
    form = {
        "period": "quarter",
        "start": "2026-01",
        f"q-{rep.user_id}-2026-01-01": "11",
        f"v-{rep.user_id}-2026-01-01": "1",
    }
    resp = web(admin).post(GRID, form)
    assert resp.status_code == 409
    assert "Someone changed these quotas" in resp.content.decode()
    assert Quota.objects.get().amount == Decimal("10.00")


def test_a_quarter_shows_the_sum_of_its_months_as_a_hint(web, admin, member_of):
    rep = member_of(Role.SALES)
    for month in ("2026-01-01", "2026-02-01"):
        quota_services.quota_create(
            actor=admin, data={"user_id": rep.user_id, "period": "month", "period_start": month, "amount": "1500"}
        )
    html = web(admin).get(f"{GRID}?period=quarter&start=2026-01").content.decode()
    assert (
        f'name="q-{rep.user_id}-2026-01-01" value="" aria-labelledby="m-{rep.user_id} p-2026-Q1" placeholder="3,000.00"'
        in html
    )


def test_the_grid_costs_the_same_queries_for_more_members(web, admin, member_of):
    client = web(admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{GRID}?period=month&start=2026-01").status_code == 200
        return len(ctx.captured_queries)

    count()
    before = count()
    for _ in range(5):
        rep = member_of(Role.SALES)
        quota_services.quota_create(
            actor=admin, data={"user_id": rep.user_id, "period": "month", "period_start": "2026-03-01", "amount": "1"}
        )
    assert count() == before
