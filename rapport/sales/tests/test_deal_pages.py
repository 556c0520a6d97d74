"""The deal pages besides the board: the list (filters, sorts, keyset pages), a deal's page
(fields, contacts with roles, competitors, line items, stage history incl. a deleted stage, its
events), the create and edit forms (service errors on their fields, stale version), delete.
Permission denied and other workspaces' deals are tested for each; nothing changes then."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.sales import deal_services
from rapport.sales.models import Competitor, Deal, DealLine, DealStage, Stage

FORM = {
    "name": "Rollout",
    "amount": "1200.50",
    "currency": "EUR",
    "expected_close_date": "2026-09-30",
    "owner": "",
    "team": "",
    "contact": "",
    "company": "",
    "source": "Referral",
    "lost_reason": "",
}


def _deal(actor: Any, pipeline: Any, **data: Any) -> Deal:
    return deal_services.deal_create(
        actor=actor, data={"name": "Deal", "amount": "100", "pipeline_id": pipeline.pipeline.pk, **data}
    )


def _state() -> dict[str, Any]:
    return {
        "deals": list(Deal.objects.order_by("pk").values()),
        "history": DealStage.objects.count(),
        "events": Event.objects.count(),
    }


def test_the_list_filters_sorts_and_pages(web, admin, sales_pipeline):
    for name, amount, close in (("Pebble", "5", "2026-01-10"), ("Boulder", "900", None), ("Stone", "50", "2026-02-01")):
        _deal(admin, sales_pipeline, name=name, amount=amount, expected_close_date=close)
    client = web(admin)
    base = f"/deals/list/?pipeline={sales_pipeline.pipeline.pk}"
    html = client.get(base + "&sort=-amount").content.decode()
    assert html.index("Boulder") < html.index("Stone") < html.index("Pebble")
    assert f'href="/deals/board/{sales_pipeline.pipeline.pk}/"' in html  # back to the board
    html = client.get(base + "&sort=close").content.decode()
    assert html.index("Pebble") < html.index("Stone") < html.index("Boulder")  # no date: last
    html = client.get(base + "&sort=-close").content.decode()
    assert html.index("Stone") < html.index("Pebble") < html.index("Boulder")
    html = client.get(base + "&amount_min=10&amount_max=100").content.decode()
    assert "Stone" in html and "Pebble" not in html and "Boulder" not in html
    resp = client.get(base + "&sort=sideways")
    assert resp.status_code == 400 and "Some filters are not valid" in resp.content.decode()


def test_the_list_pages_with_a_cursor(web, admin, sales_pipeline):
    for i in range(55):
        _deal(admin, sales_pipeline, name=f"Deal {i:02d}", amount=str(i))
    client = web(admin)
    html = client.get(f"/deals/list/?pipeline={sales_pipeline.pipeline.pk}&sort=amount").content.decode()
    assert "Deal 49" in html and "Deal 50" not in html and "cursor=" in html
    start = html.index("cursor=") + len("cursor=")
    cursor = html[start : html.index('"', start)]
    page2 = client.get(f"/deals/list/?pipeline={sales_pipeline.pipeline.pk}&sort=amount&cursor={cursor}")
    assert "Deal 50" in page2.content.decode() and "Deal 49" not in page2.content.decode()
    bad = client.get(f"/deals/list/?pipeline={sales_pipeline.pipeline.pk}&cursor=nonsense")
    assert bad.status_code == 400 and "The cursor is not valid" in bad.content.decode()


def test_the_list_of_another_workspaces_pipeline_is_not_found(web, admin, other_pipeline, sales_pipeline):
    assert web(admin).get(f"/deals/list/?pipeline={other_pipeline.pipeline.pk}").status_code == 404


def test_the_deal_page_shows_everything(web, admin, sales_pipeline, ada, company, org):
    rival = Competitor.objects.create(org=org, name="Globex Sales")
    deal = _deal(
        admin,
        sales_pipeline,
        name="Big one",
        amount="4800",
        contact_id=ada.pk,
        company_id=company.pk,
        contacts=[{"contact_id": ada.pk, "role": "champion"}],
        competitor_ids=[rival.pk],
        source="Fair",
    )
    DealLine.objects.create(org=org, deal=deal, name="Seats", quantity=Decimal("12"), unit_price=Decimal("400"))
    deal = deal_services.deal_move(
        actor=admin, deal=deal, stage_id=sales_pipeline.stages["Proposal"].pk, expected_version=1
    )
    html = web(admin).get(f"/deals/{deal.pk}/").content.decode()
    for text in (
        "Big one",
        "USD 4,800.00",
        "Proposal",
        "Ada",
        "Acme Corp",
        "Champion",
        "Globex Sales",
        "Seats",
        "Fair",
    ):
        assert text in html, text
    assert "Stage history" in html and "Qualified" in html and "still there" in html
    assert "Moved</strong>: Qualified → Proposal" in html and "Created</strong>" in html
    assert f'href="/deals/{deal.pk}/edit/"' in html and f'href="/deals/{deal.pk}/delete/"' in html


def test_a_deleted_stages_row_says_so(web, admin, sales_pipeline):
    extra = Stage.objects.create(org=admin.org, pipeline=sales_pipeline.pipeline, name="Temp", position=9)
    deal = _deal(admin, sales_pipeline, stage_id=extra.pk)
    deal_services.deal_move(actor=admin, deal=deal, stage_id=sales_pipeline.stages["Proposal"].pk, expected_version=1)
    extra.delete()
    assert "deleted stage" in web(admin).get(f"/deals/{deal.pk}/").content.decode()


def test_another_workspaces_deal_is_not_found_on_every_page(web, admin, other_admin, other_pipeline):
    theirs = _deal(other_admin, other_pipeline)
    client = web(admin)
    before = _state()
    for url in ("", "edit/", "delete/", "move/"):
        assert client.get(f"/deals/{theirs.pk}/{url}").status_code == 404
    assert client.post(f"/deals/{theirs.pk}/edit/", {**FORM, "version": 1}).status_code == 404
    assert client.post(f"/deals/{theirs.pk}/delete/").status_code == 404
    assert client.get("/deals/999999/").status_code == 404
    assert _state() == before


def test_create_a_deal_from_a_contact(web, admin, sales_pipeline, ada, company, org):
    rival = Competitor.objects.create(org=org, name="Initrode")
    client = web(admin)
    html = client.get(f"/deals/new/?contact={ada.pk}").content.decode()
    assert f'value="{ada} (#{ada.pk})"' in html and 'value="Acme Corp"' in html  # the contact and their company
    data = {
        **FORM,
        "pipeline": sales_pipeline.pipeline.pk,
        "stage": sales_pipeline.stages["Proposal"].pk,
        "owner": admin.user_id,
        "contact": f"{ada} (#{ada.pk})",  # as the suggestions give it
        "company": "Acme Corp",
        "link_contact_0": f"{ada} (#{ada.pk})",
        "link_role_0": "decision_maker",
        "competitors": [rival.pk],
    }
    resp = client.post("/deals/new/", data)
    deal = Deal.objects.get(name="Rollout")
    assert resp.status_code == 302 and resp["Location"] == f"/deals/{deal.pk}/"
    assert deal.stage.name == "Proposal" and deal.amount == Decimal("1200.50") and deal.currency == "EUR"
    assert deal.contact_id == ada.pk and deal.company_id == company.pk and deal.source == "Referral"
    assert list(deal.contact_links.values_list("role", flat=True)) == ["decision_maker"]
    assert list(deal.competitors.all()) == [rival]


def test_bad_input_is_shown_on_its_fields_and_nothing_is_saved(web, admin, sales_pipeline, other_pipeline):
    client = web(admin)
    before = _state()
    base = {**FORM, "pipeline": sales_pipeline.pipeline.pk, "owner": admin.user_id}
    cases = [
        ({"name": ""}, "This field is required."),
        ({"amount": "-3"}, "greater than or equal to 0"),
        ({"stage": sales_pipeline.stages["Lost"].pk}, "A lost deal needs a lost reason."),
        ({"stage": other_pipeline.stages["Won"].pk}, "Select a valid choice"),
        ({"company": "Nobody Inc"}, "No company is named “Nobody Inc”."),
        ({"contact": "Nobody (#999999)"}, "No contact has the number 999999."),
        ({"contact": "Nobody at all"}, "No contact is called “Nobody at all”"),
        ({"link_contact_1": "Nobody (#999999)"}, "No contact has the number 999999."),
        ({"link_contact_0": "Nobody at all"}, "No contact is called “Nobody at all”"),
        ({"link_contact_0": "ada@example.org", "link_role_0": "boss"}, "Select a valid choice. boss is not one"),
        ({"pipeline": other_pipeline.pipeline.pk}, "Select a valid choice"),
    ]
    for change, message in cases:
        resp = client.post("/deals/new/", {**base, **change})
        html = resp.content.decode()
        assert resp.status_code in {400, 422}, change
        assert message in html, (change, html[html.find("error") - 200 : html.find("error") + 300])
    assert _state() == before


def test_edit_saves_and_a_stale_version_is_refused(web, admin, sales_pipeline):
    deal = _deal(admin, sales_pipeline, name="Old name")
    client = web(admin)
    html = client.get(f"/deals/{deal.pk}/edit/").content.decode()
    assert 'value="Old name"' in html and 'name="pipeline"' not in html
    data = {**FORM, "name": "New name", "owner": admin.user_id, "version": 1}
    resp = client.post(f"/deals/{deal.pk}/edit/", data)
    assert resp.status_code == 302
    deal.refresh_from_db()
    assert deal.name == "New name" and deal.version == 2
    before = _state()
    resp = client.post(f"/deals/{deal.pk}/edit/", {**data, "name": "Lost update"})
    assert resp.status_code == 409 and "Someone else changed this deal" in resp.content.decode()
    resp = client.post(f"/deals/{deal.pk}/edit/", {**data, "owner": "", "version": 2})
    assert resp.status_code == 422 and "A deal needs an owner." in resp.content.decode()
    assert _state() == before


def test_delete_moves_the_deal_to_the_trash(web, admin, sales_pipeline):
    deal = _deal(admin, sales_pipeline, name="Goner")
    client = web(admin)
    assert "Delete Goner?" in client.get(f"/deals/{deal.pk}/delete/").content.decode()
    resp = client.post(f"/deals/{deal.pk}/delete/")
    assert resp.status_code == 302 and resp["Location"] == f"/deals/board/{sales_pipeline.pipeline.pk}/"
    deal.refresh_from_db()
    assert deal.deleted_at is not None
    assert client.get(f"/deals/{deal.pk}/").status_code == 404


def test_a_viewer_reads_but_cannot_create_edit_or_delete(web, admin, member_of, sales_pipeline):
    deal = _deal(admin, sales_pipeline, name="Readable")
    viewer = member_of(Role.VIEWER)
    client = web(viewer)
    html = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Readable" in html and "You can view this deal" in html and f"/deals/{deal.pk}/edit/" not in html
    assert "New deal" not in client.get("/deals/").content.decode()
    before = _state()
    assert client.get("/deals/new/").status_code == 403
    assert client.post("/deals/new/", {**FORM, "pipeline": sales_pipeline.pipeline.pk}).status_code == 403
    assert client.get(f"/deals/{deal.pk}/edit/").status_code == 403
    assert client.post(f"/deals/{deal.pk}/edit/", {**FORM, "version": 1}).status_code == 403
    assert client.post(f"/deals/{deal.pk}/delete/").status_code == 403
    assert _state() == before


def test_a_sales_rep_cannot_edit_a_colleagues_deal(web, member_of, sales_pipeline):
    rep, colleague = member_of(Role.SALES), member_of(Role.SALES)
    theirs = _deal(colleague, sales_pipeline, name="Theirs")
    client = web(rep)
    before = _state()
    assert client.get(f"/deals/{theirs.pk}/").status_code == 404  # no shared team: not even readable
    assert client.post(f"/deals/{theirs.pk}/edit/", {**FORM, "version": 1}).status_code == 404
    mine = client.post("/deals/new/", {**FORM, "pipeline": sales_pipeline.pipeline.pk, "owner": rep.user_id})
    assert mine.status_code == 302
    resp = client.post(
        "/deals/new/", {**FORM, "name": "Given", "pipeline": sales_pipeline.pipeline.pk, "owner": colleague.user_id}
    )
    assert resp.status_code == 422 and "Your role lets you own deals only yourself." in resp.content.decode()
    assert len(_state()["deals"]) == len(before["deals"]) + 1


def test_contact_and_company_pages_show_their_open_deals_and_new_deal(
    web, admin, member_of, sales_pipeline, ada, company
):
    _deal(admin, sales_pipeline, name="Open one", contact_id=ada.pk, company_id=company.pk)
    won = _deal(admin, sales_pipeline, name="Won one", contact_id=ada.pk)
    deal_services.deal_move(actor=admin, deal=won, stage_id=sales_pipeline.stages["Won"].pk, expected_version=1)
    client = web(admin)
    html = client.get(f"/contacts/{ada.pk}/").content.decode()
    assert 'id="deals-title">Deals' in html and "Open one" in html
    assert f'href="/deals/new/?contact={ada.pk}"' in html
    card = html[html.index('id="deals-title"') : html.index("</section>", html.index('id="deals-title"'))]
    assert "Won one" not in card
    html = client.get(f"/companies/{company.pk}/").content.decode()
    assert "Open one" in html and f'href="/deals/new/?company={company.pk}"' in html
    viewer_html = web(member_of(Role.VIEWER)).get(f"/contacts/{ada.pk}/").content.decode()
    assert "Open one" in viewer_html and "/deals/new/" not in viewer_html


def test_other_contacts_are_rows_picked_by_typing(web, admin, sales_pipeline, ada, org):
    from rapport.contacts.tests.factories import contact_with

    bob = contact_with(org, email="bob@example.org", first_name="Bob")
    deal = _deal(admin, sales_pipeline, contacts=[{"contact_id": ada.pk, "role": "champion"}])
    client = web(admin)
    html = client.get(f"/deals/{deal.pk}/edit/").content.decode()
    # The link is a row with the contact as the suggestions name it, then blank rows.
    assert f'name="link_contact_0" value="{ada} (#{ada.pk})"' in html.replace('class="suggest" ', "")
    assert 'name="link_contact_2"' in html and 'name="link_contact_3"' not in html
    assert '<option value="champion" selected>' in html
    data = {**FORM, "name": "Deal", "amount": "100", "owner": admin.user_id, "version": deal.version}
    # "More contact rows" shows three more rows and saves nothing.
    resp = client.post(f"/deals/{deal.pk}/edit/", {**data, "contact_rows": "3", "more_rows": "1"})
    assert resp.status_code == 200 and 'name="link_contact_5"' in resp.content.decode()
    assert 'name="contact_rows" value="6"' in resp.content.decode()
    deal.refresh_from_db()
    assert deal.version == 1
    # The same contact twice: refused on the second row, nothing saved.
    twice = {"contact_rows": "3", "link_contact_0": "ada@example.org", "link_role_0": "champion"}
    twice |= {"link_contact_2": f"{ada} (#{ada.pk})", "link_role_2": "user"}
    resp = client.post(f"/deals/{deal.pk}/edit/", {**data, **twice})
    html = resp.content.decode()
    assert resp.status_code == 422 and "This contact is listed twice." in html
    assert html.index("This contact is listed twice.") > html.index('name="link_contact_2"')
    # Ada's row emptied, Bob typed by email: the links are replaced.
    swap = {"contact_rows": "3", "link_contact_1": "bob@example.org", "link_role_1": "decision_maker"}
    resp = client.post(f"/deals/{deal.pk}/edit/", {**data, **swap})
    assert resp.status_code == 302
    assert list(deal.contact_links.values_list("contact_id", "role")) == [(bob.pk, "decision_maker")]


def test_deal_custom_fields_in_the_form_the_page_and_the_api(web, api, admin, sales_pipeline):
    from rapport.core.customfields.definitions import custom_field_create

    custom_field_create(
        actor=admin,
        data={"entity": "deal", "label": "Contract term", "type": "choice", "options": ["1 year", "3 years"]},
    )
    client = web(admin)
    html = client.get("/deals/new/").content.decode()
    assert "Contract term" in html and 'name="cf_contract_term"' in html
    data = {**FORM, "pipeline": sales_pipeline.pipeline.pk, "owner": admin.user_id, "cf_contract_term": "3 years"}
    resp = client.post("/deals/new/", data)
    deal = Deal.objects.get(name="Rollout")
    assert resp.status_code == 302 and deal.custom == {"contract_term": "3 years"}
    assert "3 years" in client.get(f"/deals/{deal.pk}/").content.decode()
    rest = api(admin)
    before = _state()
    resp = client.post("/deals/new/", {**data, "name": "Other", "cf_contract_term": "forever"})
    assert resp.status_code == 400 and "Select a valid choice" in resp.content.decode()
    resp = rest.post(
        "/api/v1/deals", {"name": "Other", "pipeline_id": sales_pipeline.pipeline.pk, "custom": {"contract_term": "9"}}
    )
    assert resp.status_code == 422 and "custom.contract_term" in resp.json()["error"]["fields"]
    assert _state() == before
    resp = rest.post(
        "/api/v1/deals",
        {"name": "Other", "pipeline_id": sales_pipeline.pipeline.pk, "custom": {"contract_term": "1 year"}},
    )
    assert resp.status_code == 201 and resp.json()["custom"] == {"contract_term": "1 year"}


def test_a_deal_with_products_keeps_their_total_as_its_amount(web, api, admin, sales_pipeline):
    from rapport.sales.deal_lines import deal_lines_set

    deal = _deal(admin, sales_pipeline, amount="5", currency="EUR")
    deal = deal_lines_set(
        actor=admin, deal=deal, lines=[{"name": "Seats", "quantity": "3", "unit_price": "40"}], expected_version=1
    )
    assert deal.amount == Decimal("120.00")
    client = web(admin)
    html = client.get(f"/deals/{deal.pk}/edit/").content.decode()
    assert "The total of the deal&#x27;s products" in html and 'name="amount" value="120.00"' in html
    assert html.count("disabled") >= 2
    # The form's amount and currency are not taken from the post: the products' total stands.
    data = {**FORM, "name": "Renamed", "amount": "1", "currency": "USD", "owner": admin.user_id}
    resp = client.post(f"/deals/{deal.pk}/edit/", {**data, "version": deal.version})
    deal.refresh_from_db()
    assert resp.status_code == 302 and deal.name == "Renamed"
    assert (deal.amount, deal.currency) == (Decimal("120.00"), "EUR")
    rest = api(admin)
    before = _state()
    headers = {"If-Match": f'"v{deal.version}"'}
    for body, field in (({"amount": "99"}, "amount"), ({"currency": "USD"}, "currency")):
        resp = rest.patch(f"/api/v1/deals/{deal.pk}", body, **headers)
        assert resp.status_code == 422 and field in resp.json()["error"]["fields"], body
    assert _state() == before
    resp = rest.patch(f"/api/v1/deals/{deal.pk}", {"amount": "120", "source": "Web"}, **headers)
    assert resp.status_code == 200 and resp.json()["source"] == "Web"
