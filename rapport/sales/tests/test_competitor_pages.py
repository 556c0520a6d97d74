"""The competitor pages: the list with win/loss (table and chart), a competitor's page with its
deals, create / edit / delete through the services' rules, escaping, other workspaces' ids (404,
nothing changes), a role without deal access (403), and bounded queries."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.sales import catalog_services
from rapport.sales.models import Competitor
from rapport.sales.tests.deal_data import (
    at,
    make_deal,
    member_without_deal_access,
)

FORM = {"name": "Initech", "website": "initech.example", "strengths": "Cheap", "weaknesses": "Slow support"}


def rival(actor: Any, name: str = "Acme", **data: Any) -> Competitor:
    return catalog_services.competitor_create(actor=actor, data={"name": name, **data})


def test_the_list_shows_win_loss_per_competitor_and_a_chart(web, admin, sales_pipeline):
    acme, globex = rival(admin, "Acme"), rival(admin, "Globex")
    s = sales_pipeline.stages
    make_deal(admin, [(s["Won"], at(2026, 3, 1))], amount="100", currency="USD", competitors=[acme])
    make_deal(admin, [(s["Lost"], at(2026, 3, 2))], amount="40", currency="USD", competitors=[acme, globex])
    make_deal(admin, [(s["Qualified"], at(2026, 3, 3))], amount="5", currency="USD", competitors=[globex])
    page = web(admin).get("/sales/competitors/")
    assert page.status_code == 200
    html = page.content.decode()
    rows = {c.name: (s.won, s.lost, s.open) for c, s in page.context["rows"]}
    assert rows == {"Acme": (1, 1, 0), "Globex": (0, 1, 1)}
    assert "USD 100.00" in html and "50%" in html
    assert 'role="img"' in html and "Won: Acme 1, Globex 0. Lost: Acme 1, Globex 1." in html
    assert 'href="/sales/competitors/" aria-current="page"' in html  # the Competitors tab
    assert [c.name for c, _ in web(admin).get("/sales/competitors/?q=glob").context["rows"]] == ["Globex"]
    assert "No competitor matches" in web(admin).get("/sales/competitors/?q=zzz").content.decode()


def test_names_are_escaped_in_the_table_and_the_chart(web, admin, sales_pipeline):
    evil = rival(admin, '<script>alert("x")</script>')
    make_deal(admin, [(sales_pipeline.stages["Won"], at(2026, 3, 1))], amount="1", competitors=[evil])
    html = web(admin).get("/sales/competitors/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    detail = web(admin).get(f"/sales/competitors/{evil.pk}/").content.decode()
    assert "<script>alert" not in detail


def test_the_detail_page_lists_the_deals_that_name_the_competitor(web, admin, member_of, sales_pipeline):
    acme = rival(admin, "Acme", website="acme.example", strengths="Big\nbrand")
    s = sales_pipeline.stages
    make_deal(admin, [(s["Won"], at(2026, 3, 1))], amount="100", competitors=[acme], name="Big win")
    make_deal(admin, [(s["Qualified"], at(2026, 3, 2))], amount="5", name="Unrelated")
    rep = member_of(Role.SALES)
    make_deal(rep, [(s["Qualified"], at(2026, 3, 3))], amount="7", competitors=[acme], name="Rep's deal")
    page = web(admin).get(f"/sales/competitors/{acme.pk}/")
    assert page.status_code == 200
    assert [d.name for d in page.context["deals"].items] == ["Rep's deal", "Big win"]
    html = page.content.decode()
    assert "https://acme.example" in html and "Big<br>brand" in html
    assert (page.context["stats"].won, page.context["stats"].open) == (1, 1)
    # A rep sees only the deals they may read, and no edit buttons.
    rep_page = web(rep).get(f"/sales/competitors/{acme.pk}/")
    assert [d.name for d in rep_page.context["deals"].items] == ["Rep's deal"]
    assert f"/sales/competitors/{acme.pk}/edit/" not in rep_page.content.decode()


def test_an_admin_creates_edits_and_deletes_a_competitor(web, admin):
    client = web(admin)
    assert "New competitor" in client.get("/sales/competitors/").content.decode()
    assert client.get("/sales/competitors/new/").status_code == 200
    resp = client.post("/sales/competitors/new/", FORM)
    created = Competitor.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sales/competitors/{created.pk}/"
    assert (created.name, created.website) == ("Initech", "https://initech.example")
    edit = f"/sales/competitors/{created.pk}/edit/"
    assert client.get(edit).status_code == 200
    assert client.post(edit, {**FORM, "strengths": "Cheaper", "version": "1"}).status_code == 302
    created.refresh_from_db()
    assert created.strengths == "Cheaper" and created.version == 2
    stale = client.post(edit, {**FORM, "name": "Late", "version": "1"})
    assert stale.status_code == 409 and "Someone else changed this competitor" in stale.content.decode()
    assert client.get(f"/sales/competitors/{created.pk}/delete/").status_code == 200
    assert client.post(f"/sales/competitors/{created.pk}/delete/").status_code == 302
    created.refresh_from_db()
    assert created.deleted_at is not None
    assert client.get(f"/sales/competitors/{created.pk}/").status_code == 404
    verbs = list(Event.objects.filter(subject_type="competitor").order_by("id").values_list("verb", flat=True))
    assert verbs == ["competitor.created", "competitor.updated", "competitor.trashed"]


def test_form_errors_show_on_their_field_and_nothing_is_written(web, admin):
    rival(admin, "Acme")
    client = web(admin)
    resp = client.post("/sales/competitors/new/", {**FORM, "name": "acme"})
    assert resp.status_code == 409 and "already exists" in str(resp.context["form"].errors["name"])
    resp = client.post("/sales/competitors/new/", {**FORM, "website": "javascript:alert(1)"})
    assert resp.status_code == 422 and "website" in resp.context["form"].errors
    resp = client.post("/sales/competitors/new/", {**FORM, "name": ""})
    assert resp.status_code == 422 and "name" in resp.context["form"].errors
    assert Competitor.objects.count() == 1


@pytest.mark.parametrize("role", [Role.SALES, Role.VIEWER, Role.SUPPORT])
def test_roles_that_read_deals_see_competitors_but_cannot_change_them(web, admin, member_of, role):
    acme = rival(admin, "Acme")
    client = web(member_of(role))
    page = client.get("/sales/competitors/")
    assert page.status_code == 200 and "Acme" in page.content.decode()
    assert "New competitor" not in page.content.decode()
    assert client.get(f"/sales/competitors/{acme.pk}/").status_code == 200
    assert client.get("/sales/competitors/new/").status_code == 403
    assert client.post("/sales/competitors/new/", FORM).status_code == 403
    assert client.post(f"/sales/competitors/{acme.pk}/edit/", {**FORM, "version": "1"}).status_code == 403
    assert client.post(f"/sales/competitors/{acme.pk}/delete/").status_code == 403
    acme.refresh_from_db()
    assert (acme.name, acme.deleted_at, Competitor.objects.count()) == ("Acme", None, 1)


def test_a_manager_may_change_competitors(web, admin, member_of):
    acme = rival(admin, "Acme")
    client = web(member_of(Role.MANAGER))
    assert client.post(f"/sales/competitors/{acme.pk}/edit/", {**FORM, "version": "1"}).status_code == 302


def test_a_role_without_deal_access_gets_403_or_404(web, admin, monkeypatch, member_of):
    no_deal_role = member_without_deal_access(monkeypatch, member_of)
    acme = rival(admin, "Acme")
    client = web(no_deal_role)
    assert client.get("/sales/competitors/").status_code == 403
    assert client.get(f"/sales/competitors/{acme.pk}/").status_code == 404
    assert client.post(f"/sales/competitors/{acme.pk}/delete/").status_code == 404


def test_another_workspaces_competitor_is_404_and_unchanged(web, admin, other_admin):
    theirs = rival(other_admin, "Theirs")
    client = web(admin)
    assert "Theirs" not in client.get("/sales/competitors/").content.decode()
    for url in ("", "edit/", "delete/"):
        assert client.get(f"/sales/competitors/{theirs.pk}/{url}").status_code == 404
    assert client.post(f"/sales/competitors/{theirs.pk}/edit/", {**FORM, "version": "1"}).status_code == 404
    assert client.post(f"/sales/competitors/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.deleted_at, theirs.version) == ("Theirs", None, 1)


def test_a_bad_cursor_answers_400(web, admin):
    assert web(admin).get("/sales/competitors/?cursor=nonsense").status_code == 400


def test_the_pages_cost_a_bounded_number_of_queries(web, admin, sales_pipeline, django_assert_max_num_queries):
    s = sales_pipeline.stages
    rivals = [rival(admin, f"Rival {i}") for i in range(12)]
    for i, competitor in enumerate(rivals):
        make_deal(admin, [(s["Won" if i % 2 else "Lost"], at(2026, 3, 1))], amount="9", competitors=[competitor])
        make_deal(admin, [(s["Qualified"], at(2026, 3, 2))], amount="4", competitors=rivals[:3])
    client = web(admin)
    client.get("/sales/competitors/")
    with django_assert_max_num_queries(14):
        assert client.get("/sales/competitors/").status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(f"/sales/competitors/{rivals[0].pk}/").status_code == 200
