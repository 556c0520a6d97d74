"""The order pages: the list (filters, keyset pages, bounded queries), an order's page (facts, lines
and totals, source, status change), create and edit by hand (lines as a formset, service errors on
their fields, stale version), delete, the "Orders" card of contacts and companies. Permission
denied and other workspaces' orders are tested for each; nothing changes then."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rapport.accounts.roles import ROLES, Entity, Grant, Level, Role, RoleSpec
from rapport.contacts.search import reindex
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.models import Event
from rapport.sales.models import ExchangeRate, Order, OrderLine, Product
from rapport.sales.order_services import order_create, order_update

WHEN = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _order(actor: Any, *, lines: list[dict[str, Any]] | None = None, **data: Any) -> Order:
    return order_create(
        actor=actor,
        data={
            "ordered_at": WHEN,
            "currency": "USD",
            "lines": lines or [{"name": "Widget", "quantity": "2", "unit_price": "10"}],
            **data,
        },
    )


def _state() -> dict[str, Any]:
    return {
        "orders": list(Order.objects.order_by("pk").values()),
        "lines": list(OrderLine.objects.order_by("pk").values()),
        "events": Event.objects.count(),
    }


def _form(ada: Any, **extra: Any) -> dict[str, Any]:
    """A filled create form with two lines (and one empty row, which is ignored)."""
    data = {
        "contact": f"{ada} (#{ada.pk})",
        "company": "",
        "ordered_at": "2026-04-02T09:30",
        "status": "confirmed",
        "currency": "USD",
        "external_id": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
        "lines-0-name": "Gizmo",
        "lines-0-quantity": "3",
        "lines-0-unit_price": "19.99",
        "lines-0-discount_percent": "10",
        "lines-1-name": "Cable",
        "lines-1-quantity": "2",
        "lines-1-unit_price": "4.50",
        "lines-1-discount_percent": "0",
        "lines-2-quantity": "1",
        "lines-2-discount_percent": "0",
    }
    data.update(extra)
    return data


def _cursor(html: str) -> str:
    match = re.search(r"cursor=([^\"&]+)", html)
    assert match, "no next page"
    return match.group(1)


# --- the list ---------------------------------------------------------------------------------------


def test_the_list_shows_orders_newest_first_with_customer_items_and_total(web, admin, ada, company):
    _order(admin, contact_id=ada.pk, company_id=company.pk, ordered_at=WHEN - timedelta(days=3))
    lines = [{"name": f"Part {i}", "quantity": "1", "unit_price": "1"} for i in range(5)]
    newest = _order(admin, company_id=company.pk, lines=lines, currency="EUR")
    html = web(admin).get("/sales/orders/").content.decode()
    assert html.index(f"Order {newest.number}") < html.index(f"Order {newest.number - 1}")
    times = "\u00d7"  # the multiplication sign
    assert f"1 {times} Part 0, 1 {times} Part 1, 1 {times} Part 2" in html
    assert "and 2 more" in html and "Part 3" not in html
    assert "EUR 5.00" in html and "USD 20.00" in html
    assert f'href="/contacts/{ada.pk}/"' in html and f'href="/companies/{company.pk}/"' in html
    assert 'href="/sales/orders/new/"' in html and 'aria-current="page">Orders' in html


def test_the_list_filters_by_customer_status_dates_and_product(web, admin, org, ada, company):
    widget = Product.objects.create(org=org, sku="W-1", name="Widget", unit_price=Decimal("10"), currency="USD")
    bob = contact_with(org, email="bob@example.org", first_name="Bob")
    for record in (bob, ada, company):
        reindex(record)  # the customer search uses the search index, as the services keep it
    a = _order(admin, contact_id=ada.pk, ordered_at=datetime(2026, 1, 10, tzinfo=UTC))
    b = _order(admin, contact_id=bob.pk, status="cancelled", ordered_at=datetime(2026, 2, 10, tzinfo=UTC))
    c = _order(
        admin,
        company_id=company.pk,
        ordered_at=datetime(2026, 3, 10, tzinfo=UTC),
        lines=[{"product_id": widget.pk, "quantity": "1", "unit_price": "10"}],
    )
    client = web(admin)

    def numbers(query: str) -> set[int]:
        html = client.get(f"/sales/orders/?{query}").content.decode()
        return {n for n in (a.number, b.number, c.number) if f"Order {n}<" in html}

    assert numbers("") == {a.number, b.number, c.number}
    assert numbers(f"contact={ada.pk}") == {a.number}
    assert numbers(f"company={company.pk}") == {c.number}
    assert numbers("status=cancelled") == {b.number}
    assert numbers("ordered_from=2026-02-01&ordered_to=2026-02-28") == {b.number}
    assert numbers("ordered_to=2026-01-10") == {a.number}  # the whole last day
    assert numbers(f"product={widget.pk}") == {c.number}
    assert numbers("q=Bob") == {b.number}
    assert c.number in numbers("q=Acme")  # a company's name finds its orders
    assert numbers("q=nobody-at-all") == set()
    html = client.get(f"/sales/orders/?contact={ada.pk}").content.decode()
    assert "Customer: " in html and f'<a href="/contacts/{ada.pk}/">Ada' in html  # the chip, with a way back
    resp = client.get("/sales/orders/?ordered_from=2026-03-01&ordered_to=2026-02-01")
    assert resp.status_code == 400 and "The end of the range is before its start." in resp.content.decode()
    assert client.get("/sales/orders/?status=lost").status_code == 400


def test_the_list_pages_by_50_with_a_cursor(web, admin, ada):
    first = _order(admin, contact_id=ada.pk)
    for i in range(1, 55):
        _order(admin, contact_id=ada.pk, ordered_at=WHEN + timedelta(hours=i))
    client = web(admin)
    html = client.get("/sales/orders/?status=confirmed").content.decode()
    assert html.count('<td class="name-cell">') == 50 and f"Order {first.number}<" not in html
    page2 = client.get(f"/sales/orders/?status=confirmed&cursor={_cursor(html)}").content.decode()
    assert page2.count('<td class="name-cell">') == 5 and f"Order {first.number}<" in page2
    assert "cursor=" not in page2.split('class="pager"')[1].split("First page")[1]  # the last page
    bad = client.get("/sales/orders/?cursor=nonsense")
    assert bad.status_code == 400 and "The cursor is not valid" in bad.content.decode()


def test_the_list_runs_the_same_queries_for_5_or_50_orders(
    web, admin, org, ada, company, django_assert_max_num_queries
):
    for _ in range(5):
        _order(admin, contact_id=ada.pk, company_id=company.pk)
    client = web(admin)
    with django_assert_max_num_queries(15) as few:
        client.get(f"/sales/orders/?q=Ada&status=confirmed&company={company.pk}")
    lines = [{"name": f"Part {i}", "quantity": "1", "unit_price": "1"} for i in range(6)]
    for i in range(50):
        other = contact_with(org, email=f"c{i}@example.org", first_name=f"C{i}", company=company)
        _order(admin, contact_id=other.pk, company_id=company.pk, lines=lines)
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(f"/sales/orders/?q=Ada&status=confirmed&company={company.pk}")
    assert resp.status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get("/sales/orders/")
    assert resp.content.decode().count('<td class="name-cell">') == 50


# --- an order's page --------------------------------------------------------------------------------


def test_the_order_page_shows_customer_lines_totals_source_and_history(web, admin, ada, company):
    order = _order(
        admin,
        contact_id=ada.pk,
        company_id=company.pk,
        external_id="SHOP-77",
        currency="EUR",
        lines=[
            {"sku": "W-1", "name": "Widget", "quantity": "3", "unit_price": "19.99", "discount_percent": "10"},
            {"name": "Cable", "quantity": "2", "unit_price": "4.50"},
        ],
    )
    html = web(admin).get(f"/sales/orders/{order.pk}/").content.decode()
    for text in (
        f"Order {order.number}",
        "Confirmed",
        "EUR 62.97",  # 53.97 + 9.00
        "EUR 53.97",
        "EUR 68.97",  # before discounts
        "\u2212 EUR 6.00",  # a minus sign
        "W-1",
        "SHOP-77",
        "A shop or ERP (API)",
        f'href="/contacts/{ada.pk}/"',
        f'href="/companies/{company.pk}/"',
        f'href="/sales/orders/{order.pk}/edit/"',
        f'href="/sales/orders/{order.pk}/delete/"',
        "<strong>Created</strong>",
    ):
        assert text in html, text


def test_change_the_status_from_the_order_page(web, admin, ada):
    order = _order(admin, contact_id=ada.pk)
    client = web(admin)
    resp = client.post(f"/sales/orders/{order.pk}/status/", {"status": "shipped", "version": 1})
    assert resp.status_code == 302 and resp["Location"] == f"/sales/orders/{order.pk}/"
    order.refresh_from_db()
    assert order.status == "shipped" and order.version == 2
    assert "Status: Confirmed → Shipped" in client.get(f"/sales/orders/{order.pk}/").content.decode()
    before = _state()
    resp = client.post(f"/sales/orders/{order.pk}/status/", {"status": "completed", "version": 1})
    assert resp.status_code == 409 and "Someone else changed this order" in resp.content.decode()
    assert client.post(f"/sales/orders/{order.pk}/status/", {"status": "lost", "version": 2}).status_code == 400
    assert _state() == before


# --- create and edit ------------------------------------------------------------------------------


def test_create_an_order_by_hand_with_two_lines(web, admin, ada, company):
    client = web(admin)
    html = client.get(f"/sales/orders/new/?contact={ada.pk}").content.decode()
    assert f'value="{ada} (#{ada.pk})"' in html and 'value="Acme Corp"' in html  # the contact and their company
    assert 'name="lines-2-quantity"' in html and 'name="lines-3-quantity"' not in html  # three empty rows
    resp = client.post("/sales/orders/new/", _form(ada, company="Acme Corp"))
    order = Order.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sales/orders/{order.pk}/"
    assert order.contact_id == ada.pk and order.company_id == company.pk and order.owner_id == admin.user_id
    assert order.ordered_at == datetime(2026, 4, 2, 9, 30, tzinfo=UTC) and order.currency == "USD"
    assert order.total == Decimal("62.97")  # 3 x 19.99 less 10% = 53.97, plus 2 x 4.50
    lines = list(order.lines.order_by("position").values_list("name", "quantity", "line_total"))
    assert lines == [("Gizmo", Decimal("3"), Decimal("53.97")), ("Cable", Decimal("2"), Decimal("9.00"))]
    assert Event.objects.filter(verb="order.created", subject_id=order.pk).count() == 1


def test_a_product_line_takes_the_products_name_and_price(web, admin, org, ada):
    widget = Product.objects.create(org=org, sku="W-9", name="Widget", unit_price=Decimal("12.50"), currency="USD")
    euro = Product.objects.create(org=org, sku="E-1", name="Euro thing", unit_price=Decimal("7"), currency="EUR")
    client = web(admin)
    assert f'<option value="{widget.pk}">Widget (W-9)</option>' in client.get("/sales/orders/new/").content.decode()
    form = _form(ada, **{"lines-0-name": "", "lines-0-product": widget.pk, "lines-0-unit_price": ""})
    form.update({"lines-1-product": euro.pk, "lines-1-name": "", "lines-1-unit_price": ""})
    resp = client.post("/sales/orders/new/", form)
    assert resp.status_code == 422 and "Enter a unit price in USD: Euro thing costs EUR 7.00." in resp.content.decode()
    assert not Order.objects.exists()
    form["lines-1-unit_price"] = "8"
    assert client.post("/sales/orders/new/", form).status_code == 302
    line = Order.objects.get().lines.get(position=0)
    assert (line.product_id, line.name, line.sku, line.unit_price) == (widget.pk, "Widget", "W-9", Decimal("12.50"))
    assert line.line_total == Decimal("33.75")  # 3 x 12.50 less 10%


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"lines-0-quantity": "-2"}, 422, "Enter a quantity greater than 0."),
        ({"lines-0-quantity": "abc"}, 400, "Enter a number."),
        ({"lines-1-unit_price": "-1"}, 422, "Enter a unit price of 0 or more."),
        ({"lines-0-discount_percent": "120"}, 422, "Enter a discount between 0 and 100"),
        ({"lines-0-name": ""}, 422, "This field is required."),
        ({"currency": "XYZ"}, 400, "Select a valid choice. XYZ is not one of the available choices."),
        ({"ordered_at": ""}, 400, "This field is required."),
        ({"status": "lost"}, 400, "Select a valid choice."),
        ({"contact": "", "company": ""}, 422, "An order needs a customer: a contact, a company or both."),
        ({"contact": "Nobody (#999999)"}, 422, "No contact has the number 999999."),
        ({"company": "Nobody Inc"}, 422, "No company is named “Nobody Inc”."),
        ({"lines-TOTAL_FORMS": "abc"}, 400, "ManagementForm data is missing or has been tampered with"),
    ],
)
def test_bad_input_is_shown_on_its_field_keeps_what_was_typed_and_saves_nothing(
    web, admin, ada, change, status, message
):
    client = web(admin)
    before = _state()
    resp = client.post("/sales/orders/new/", _form(ada, **change))
    html = resp.content.decode()
    assert resp.status_code == status, html[:3000]
    assert message in html, change
    if "lines-TOTAL_FORMS" not in change:
        assert 'value="Cable"' in html and 'value="19.99"' in html  # what was typed stays
    assert _state() == before


def test_an_order_without_lines_is_refused(web, admin, ada):
    before = _state()
    empty = {f"lines-{i}-{name}": "" for i in range(3) for name in ("name", "unit_price", "discount_percent")}
    resp = web(admin).post(
        "/sales/orders/new/", _form(ada, **empty, **{"lines-0-quantity": "1", "lines-1-quantity": ""})
    )
    assert resp.status_code == 422 and "Give 1 to 500 lines." in resp.content.decode()
    assert _state() == before


def test_add_a_line_shows_one_more_row_and_saves_nothing(web, admin, ada):
    resp = web(admin).post("/sales/orders/new/", {**_form(ada), "add_line": "1"})
    html = resp.content.decode()
    assert resp.status_code == 200 and 'name="lines-3-quantity"' in html and 'value="Gizmo"' in html
    assert 'value="2026-04-02T09:30"' in html and "This field is required" not in html
    assert not Order.objects.exists()


def test_edit_replaces_the_lines_and_a_stale_version_is_refused(web, admin, org, ada):
    widget = Product.objects.create(org=org, sku="W-1", name="Widget", unit_price=Decimal("10"), currency="USD")
    order = _order(admin, contact_id=ada.pk, lines=[{"product_id": widget.pk, "quantity": "2", "unit_price": "10"}])
    client = web(admin)
    html = client.get(f"/sales/orders/{order.pk}/edit/").content.decode()
    assert f'<option value="{widget.pk}" selected>' in html and 'name="version"' in html
    assert f'value="{ada} (#{ada.pk})"' in html and 'value="2026-03-01T10:00"' in html
    data = {
        **_form(ada),
        "version": "1",
        "lines-TOTAL_FORMS": "2",
        "lines-0-product": widget.pk,
        "lines-0-name": "",
        "lines-0-quantity": "5",
        "lines-0-unit_price": "10",
        "lines-0-discount_percent": "0",
        "lines-1-DELETE": "on",
    }
    resp = client.post(f"/sales/orders/{order.pk}/edit/", data)
    assert resp.status_code == 302
    order.refresh_from_db()
    assert order.version == 2 and order.total == Decimal("50.00") and order.lines.count() == 1
    before = _state()
    resp = client.post(f"/sales/orders/{order.pk}/edit/", {**data, "lines-0-quantity": "7"})  # still version 1
    assert resp.status_code == 409 and "Someone else changed this order" in resp.content.decode()
    assert 'value="7"' in resp.content.decode()
    assert _state() == before


def test_delete_moves_the_order_to_the_trash(web, admin, ada):
    order = _order(admin, contact_id=ada.pk)
    client = web(admin)
    assert f"Delete order {order.number}?" in client.get(f"/sales/orders/{order.pk}/delete/").content.decode()
    resp = client.post(f"/sales/orders/{order.pk}/delete/")
    assert resp.status_code == 302 and resp["Location"] == "/sales/orders/"
    order.refresh_from_db()
    assert order.deleted_at is not None
    assert client.get(f"/sales/orders/{order.pk}/").status_code == 404
    assert f"Order {order.number}<" not in client.get("/sales/orders/").content.decode()


# --- permissions and workspaces ------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_create_edit_or_delete(web, admin, member_of, ada):
    order = _order(admin, contact_id=ada.pk)
    client = web(member_of(Role.VIEWER))
    html = client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert f"Order {order.number}" in html and "You can view this order" in html
    assert f"/sales/orders/{order.pk}/edit/" not in html and "Change status" not in html
    assert "/sales/orders/new/" not in client.get("/sales/orders/").content.decode()
    assert "/sales/orders/new/" not in client.get(f"/contacts/{ada.pk}/").content.decode()
    before = _state()
    assert client.get("/sales/orders/new/").status_code == 403
    assert client.post("/sales/orders/new/", _form(ada)).status_code == 403
    assert client.get(f"/sales/orders/{order.pk}/edit/").status_code == 403
    assert client.post(f"/sales/orders/{order.pk}/edit/", {**_form(ada), "version": 1}).status_code == 403
    assert client.post(f"/sales/orders/{order.pk}/status/", {"status": "shipped", "version": 1}).status_code == 403
    assert client.get(f"/sales/orders/{order.pk}/delete/").status_code == 403
    assert client.post(f"/sales/orders/{order.pk}/delete/").status_code == 403
    assert _state() == before


def test_a_sales_rep_changes_only_their_own_orders(web, member_of, ada):
    rep, colleague = member_of(Role.SALES), member_of(Role.SALES)
    theirs = _order(colleague, contact_id=ada.pk)
    client = web(rep)
    before = _state()
    assert client.get(f"/sales/orders/{theirs.pk}/").status_code == 404  # no shared team: not even readable
    assert client.post(f"/sales/orders/{theirs.pk}/edit/", {**_form(ada), "version": 1}).status_code == 404
    assert client.post(f"/sales/orders/{theirs.pk}/delete/").status_code == 404
    assert f"Order {theirs.number}<" not in client.get("/sales/orders/").content.decode()
    assert _state() == before
    resp = client.post("/sales/orders/new/", _form(ada))
    mine = Order.objects.get(owner_id=rep.user_id)
    assert resp.status_code == 302 and resp["Location"] == f"/sales/orders/{mine.pk}/"
    assert client.post(f"/sales/orders/{mine.pk}/status/", {"status": "shipped", "version": 1}).status_code == 302


def test_a_team_mate_reads_but_cannot_change_a_colleagues_order(web, admin, member_of, ada):
    from rapport.accounts import services

    rep, colleague = member_of(Role.SALES), member_of(Role.SALES)
    services.team_create(actor=admin, name="East", member_ids=[rep.membership_id, colleague.membership_id])
    theirs = _order(_refresh(colleague), contact_id=ada.pk)
    client = web(_refresh(rep))
    html = client.get(f"/sales/orders/{theirs.pk}/").content.decode()
    assert "You can view this order" in html
    before = _state()
    assert client.get(f"/sales/orders/{theirs.pk}/edit/").status_code == 403
    assert client.post(f"/sales/orders/{theirs.pk}/delete/").status_code == 403
    assert _state() == before


def _refresh(principal: Any) -> Any:
    from rapport.accounts.models import Membership
    from rapport.core.principal import Principal

    return Principal.for_membership(Membership.objects.select_related("user", "org").get(pk=principal.membership_id))


def test_a_role_without_order_access_is_refused_every_page(web, admin, member_of, ada, monkeypatch):
    order = _order(admin, contact_id=ada.pk)
    spec = ROLES[Role.SUPPORT]
    grants = {**spec.grants, Entity.ORDER: Grant(read=Level.NONE, write=Level.NONE)}
    monkeypatch.setitem(ROLES, Role.SUPPORT, RoleSpec(grants=grants, perms=spec.perms))
    client = web(member_of(Role.SUPPORT))
    before = _state()
    assert client.get("/sales/orders/").status_code == 403
    assert client.get("/sales/orders/new/").status_code == 403
    assert client.post("/sales/orders/new/", _form(ada)).status_code == 403
    assert client.get(f"/sales/orders/{order.pk}/").status_code == 404
    assert client.post(f"/sales/orders/{order.pk}/delete/").status_code == 404
    assert 'id="orders-title"' not in client.get(f"/contacts/{ada.pk}/").content.decode()
    assert _state() == before


def test_another_workspaces_order_is_not_found_on_every_page(web, admin, other_admin, other_org):
    stranger = contact_with(other_org, email="x@example.org", first_name="Xena")
    theirs = _order(other_admin, contact_id=stranger.pk)
    client = web(admin)
    before = _state()
    for url in ("", "edit/", "delete/"):
        assert client.get(f"/sales/orders/{theirs.pk}/{url}").status_code == 404
    assert client.post(f"/sales/orders/{theirs.pk}/edit/", {**_form(stranger), "version": 1}).status_code == 404
    assert client.post(f"/sales/orders/{theirs.pk}/status/", {"status": "shipped", "version": 1}).status_code == 404
    assert client.post(f"/sales/orders/{theirs.pk}/delete/").status_code == 404
    assert client.get("/sales/orders/999999/").status_code == 404
    html = client.get(f"/sales/orders/?contact={stranger.pk}").content.decode()
    assert f"Order {theirs.number}<" not in html and "Xena" not in html
    resp = client.post("/sales/orders/new/", _form(stranger))  # their contact cannot be a customer here
    assert resp.status_code == 422 and f"No contact has the number {stranger.pk}." in resp.content.decode()
    assert _state() == before


# --- the Orders card ------------------------------------------------------------------------------


def test_the_contact_and_company_pages_show_their_orders_card(web, admin, member_of, org, ada, company):
    ExchangeRate.objects.create(org=org, currency="EUR", rate=Decimal("1.1"), valid_from=datetime(2020, 1, 1).date())
    for i in range(6):
        _order(admin, contact_id=ada.pk, company_id=company.pk, ordered_at=WHEN + timedelta(days=i))
    _order(admin, contact_id=ada.pk, currency="EUR", status="cancelled", ordered_at=WHEN - timedelta(days=9))
    newest = Order.objects.order_by("-ordered_at").first()
    assert newest is not None
    client = web(admin)
    html = client.get(f"/contacts/{ada.pk}/").content.decode()
    card = html[html.index('id="orders-title"') : html.index("</section>", html.index('id="orders-title"'))]
    assert card.count("/sales/orders/") - card.count("/sales/orders/?") - card.count("/sales/orders/new/") == 5
    assert f"Order {newest.number}" in card and f"Order {newest.number - 5}<" not in card  # the newest 5
    assert "Lifetime revenue: <strong>USD 120.00</strong>" in card  # 6 x 20; the cancelled one is not revenue
    assert f'href="/sales/orders/?contact={ada.pk}">All orders' in card
    assert f'href="/sales/orders/new/?contact={ada.pk}"' in card
    html = client.get(f"/companies/{company.pk}/").content.decode()
    assert 'id="orders-title"' in html and f'href="/sales/orders/?company={company.pk}">All orders' in html
    assert "(with its people" in html
    other = CompanyFactory.create(org=org, name="Quiet Ltd")
    assert "No orders in its name yet." in client.get(f"/companies/{other.pk}/").content.decode()
    viewer_html = web(member_of(Role.VIEWER)).get(f"/contacts/{ada.pk}/").content.decode()
    assert f"Order {newest.number}" in viewer_html and "/sales/orders/new/" not in viewer_html


def test_an_order_edited_elsewhere_shows_its_change_in_the_history(web, admin, ada):
    order = _order(admin, contact_id=ada.pk)
    order_update(actor=admin, order=order, data={"currency": "EUR"}, expected_version=1)
    html = web(admin).get(f"/sales/orders/{order.pk}/").content.decode()
    assert "<strong>Changed</strong>: currency" in html
