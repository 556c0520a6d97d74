"""The deal's products page, the Products / Quotes / Orders cards of the deal page, and the quote
pages (list, detail, new, edit, status actions, create order, print view, PDF): what they show,
what they save, their errors, permissions, other workspaces and query counts."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.sales.models import Deal, DealLine, Order, Quote, QuoteStatus
from rapport.sales.tests.quote_support import LINES, advance, make_deal, make_product, make_quote, win


def _rows(*rows: dict[str, str], total: int | None = None, version: int = 1) -> dict[str, Any]:
    """The POST of the rows form: `rows` then blank ones up to `total`."""
    count = total or len(rows)
    data: dict[str, Any] = {
        "version": str(version),
        "lines-TOTAL_FORMS": str(count),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
    }
    for i in range(count):
        row = rows[i] if i < len(rows) else {}
        for name in ("product", "name", "quantity", "unit_price", "discount_percent", "tax_percent", "description"):
            data[f"lines-{i}-{name}"] = row.get(name, "")
        if row.get("DELETE"):
            data[f"lines-{i}-DELETE"] = "on"
    return data


def test_the_products_page_saves_product_and_free_text_rows(web, admin, sales_pipeline):
    product = make_product(admin, "W-1", "19.99", "EUR")
    deal = make_deal(admin, sales_pipeline)
    client = web(admin)
    page = client.get(f"/deals/{deal.pk}/products/").content.decode()
    assert "Product W-1 (W-1) · EUR 19.99" in page and page.count('name="lines-0-quantity"') == 1
    assert 'name="lines-2-quantity"' in page  # three blank rows
    more = client.post(f"/deals/{deal.pk}/products/", {**_rows(total=3), "more_rows": "1"})
    assert more.status_code == 200 and 'name="lines-5-quantity"' in more.content.decode()
    data = _rows(
        {"product": str(product.pk), "quantity": "3", "discount_percent": "10"},
        {"name": "Cable", "quantity": "2.5", "unit_price": "10.10"},
        {"name": "Removed", "quantity": "1", "unit_price": "1", "DELETE": "1"},
        total=5,
    )
    resp = client.post(f"/deals/{deal.pk}/products/", data)
    assert resp.status_code == 302 and resp["Location"] == f"/deals/{deal.pk}/"
    deal.refresh_from_db()
    assert deal.amount == Decimal("79.22") and deal.version == 2
    assert list(DealLine.objects.filter(deal=deal).order_by("position").values_list("name", flat=True)) == [
        "Product W-1",
        "Cable",
    ]
    detail = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "EUR 53.97" in detail and "EUR 79.22" in detail and "Products changed" in detail
    assert f'href="/deals/{deal.pk}/quotes/new/"' in detail and "Edit products" in detail


def test_a_bad_row_shows_its_error_and_saves_nothing(web, admin, sales_pipeline):
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    client = web(admin)
    data = _rows(
        {"name": "Fine", "quantity": "1", "unit_price": "5"},
        {"name": "Bad", "quantity": "-2", "unit_price": "5"},
        version=deal.version,
    )
    resp = client.post(f"/deals/{deal.pk}/products/", data)
    assert resp.status_code == 422
    html = resp.content.decode()
    assert "Enter a quantity greater than 0." in html and 'value="Bad"' in html
    stale = client.post(f"/deals/{deal.pk}/products/", _rows({"name": "X", "quantity": "1", "unit_price": "1"}))
    assert stale.status_code == 409 and "Someone else changed this deal" in stale.content.decode()
    assert list(DealLine.objects.filter(deal=deal).values_list("name", flat=True)) == ["Widget", "Cable"]


def test_a_quote_from_the_deal_page_to_its_order(web, admin, sales_pipeline, ada):
    deal = make_deal(admin, sales_pipeline, lines=LINES, contact_id=ada.pk)
    client = web(admin)
    form = client.get(f"/deals/{deal.pk}/quotes/new/").content.decode()
    assert "The quote copies these products" in form and "EUR 79.22" in form
    resp = client.post(
        f"/deals/{deal.pk}/quotes/new/", {"title": "Rollout offer", "tax_percent": "20", "notes": "Net 30"}
    )
    quote = Quote.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sales/quotes/{quote.pk}/"
    page = client.get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert "Quote 1001" in page and "EUR 95.06" in page and "EUR 15.84" in page and "Mark as sent" in page
    for action, status in (("send", QuoteStatus.SENT), ("accept", QuoteStatus.ACCEPTED)):
        quote.refresh_from_db()
        resp = client.post(f"/sales/quotes/{quote.pk}/{action}/", {"version": quote.version})
        assert resp.status_code == 302
        quote.refresh_from_db()
        assert quote.status == status
    assert "Create order" in client.get(f"/sales/quotes/{quote.pk}/").content.decode()
    resp = client.post(f"/sales/quotes/{quote.pk}/order/", follow=True)
    order = Order.objects.get()
    assert f"Order {order.number} created from quote 1001." in resp.content.decode()
    again = client.post(f"/sales/quotes/{quote.pk}/order/", follow=True).content.decode()
    assert "already became order" in again and Order.objects.count() == 1
    detail = client.get(f"/deals/{deal.pk}/").content.decode()
    assert f"Order {order.number}" in detail and "Quote 1001 accepted" in detail and "Quote 1001 sent" in detail


def test_a_stale_or_refused_action_says_so(web, admin, sales_pipeline):
    quote = make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES))
    client = web(admin)
    html = client.post(f"/sales/quotes/{quote.pk}/accept/", {"version": 1}, follow=True).content.decode()
    assert "it cannot be accepted" in html
    html = client.post(f"/sales/quotes/{quote.pk}/send/", {"version": 9}, follow=True).content.decode()
    assert "Someone else changed this quote" in html
    assert client.post(f"/sales/quotes/{quote.pk}/nonsense/", {"version": 1}).status_code == 404
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT and quote.version == 1


def test_the_draft_edit_page_changes_fields_and_lines(web, admin, sales_pipeline):
    quote = make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES))
    client = web(admin)
    page = client.get(f"/sales/quotes/{quote.pk}/edit/").content.decode()
    assert 'value="Widget"' in page and 'name="lines-0-tax_percent"' in page
    fields = {"title": "Offer", "issued_on": "2031-01-10", "valid_until": "2031-02-10", "notes": ""}
    data = {**_rows({"name": "Setup", "quantity": "1", "unit_price": "100", "tax_percent": "10"}), **fields}
    resp = client.post(f"/sales/quotes/{quote.pk}/edit/", data)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    quote.refresh_from_db()
    assert (quote.title, quote.total, quote.lines.count()) == ("Offer", Decimal("110.00"), 1)
    bad = {**data, "version": "2", "lines-0-tax_percent": "150"}
    resp = client.post(f"/sales/quotes/{quote.pk}/edit/", bad)
    assert resp.status_code == 422 and "Enter a tax between 0 and 100" in resp.content.decode()
    advance(admin, quote, "send")
    resp = client.get(f"/sales/quotes/{quote.pk}/edit/", follow=True)
    assert "only drafts change" in resp.content.decode()


def test_the_list_filters_and_pages_in_constant_queries(web, admin, sales_pipeline, django_assert_max_num_queries):
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    quotes = [make_quote(admin, deal, title=f"Offer {i}") for i in range(3)]
    advance(admin, quotes[0], "send")
    client = web(admin)
    with django_assert_max_num_queries(12) as few:
        html = client.get("/sales/quotes/").content.decode()
    assert '<a href="/sales/quotes/" aria-current="page">Quotes</a>' in html
    assert html.index("Quote 1003") < html.index("Quote 1001")
    for _ in range(20):
        make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/sales/quotes/")
    sent = client.get("/sales/quotes/?status=sent").content.decode()
    assert "Quote 1001" in sent and "Quote 1002" not in sent
    assert "Quote 1002" in client.get("/sales/quotes/?q=1002").content.decode()
    assert "Offer 2" in client.get("/sales/quotes/?q=offer 2").content.decode()
    assert client.get("/sales/quotes/?status=won").status_code == 400


def test_the_deal_page_costs_the_same_queries_with_more_quotes(
    web, admin, sales_pipeline, django_assert_max_num_queries
):
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    make_quote(admin, deal)
    client = web(admin)
    with django_assert_max_num_queries(40) as few:
        client.get(f"/deals/{deal.pk}/")
    for _ in range(5):
        advance(admin, make_quote(admin, deal), "send")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(f"/deals/{deal.pk}/").content.decode()
    assert html.count('href="/sales/quotes/') >= 6


def test_print_view_and_pdf(web, admin, sales_pipeline, company):
    quote = make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES, company_id=company.pk), notes="Net 30")
    client = web(admin)
    html = client.get(f"/sales/quotes/{quote.pk}/print/").content.decode()
    assert "Quote 1001" in html and "Acme Corp" in html and "Net 30" in html and "quote-document.css" in html
    assert "Draft" in html and admin.org.name in html
    pdf = client.get(f"/sales/quotes/{quote.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")


def test_a_server_without_pango_says_so_instead_of_failing(web, api, admin, sales_pipeline, monkeypatch):
    quote = make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES))
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if WeasyPrint could not load pango
    html = web(admin).get(f"/sales/quotes/{quote.pk}/pdf/", follow=True).content.decode()
    assert "This server cannot make PDFs" in html and f"Quote {quote.number}" in html
    resp = api(admin).get(f"/api/v1/quotes/{quote.pk}/pdf")
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "pdf_unavailable"


def test_a_won_deal_becomes_an_order_from_its_page(web, admin, sales_pipeline, ada):
    deal = make_deal(admin, sales_pipeline, lines=LINES, contact_id=ada.pk)
    client = web(admin)
    assert "Create order" not in client.get(f"/deals/{deal.pk}/").content.decode()
    html = client.post(f"/deals/{deal.pk}/order/", follow=True).content.decode()
    assert "is not won" in html and not Order.objects.exists()
    win(admin, deal, sales_pipeline)
    assert "Create order" in client.get(f"/deals/{deal.pk}/").content.decode()
    html = client.post(f"/deals/{deal.pk}/order/", follow=True).content.decode()
    order = Order.objects.get()
    assert f"Order {order.number} created" in html and "Create order" not in html.split("Timeline")[0]


def _pages(deal: Deal, quote: Quote) -> list[tuple[str, str]]:
    q, d = quote.pk, deal.pk
    return [
        ("get", f"/sales/quotes/{q}/"),
        ("get", f"/sales/quotes/{q}/edit/"),
        ("post", f"/sales/quotes/{q}/edit/"),
        ("get", f"/sales/quotes/{q}/print/"),
        ("get", f"/sales/quotes/{q}/pdf/"),
        ("post", f"/sales/quotes/{q}/send/"),
        ("post", f"/sales/quotes/{q}/order/"),
        ("get", f"/deals/{d}/products/"),
        ("post", f"/deals/{d}/products/"),
        ("get", f"/deals/{d}/quotes/new/"),
        ("post", f"/deals/{d}/quotes/new/"),
        ("post", f"/deals/{d}/order/"),
    ]


def _snapshot() -> tuple[Any, ...]:
    return (
        list(Quote.objects.values_list("pk", "status", "version", "title")),
        list(DealLine.objects.values_list("pk", "name")),
        Order.objects.count(),
        Event.objects.count(),
    )


def test_other_workspaces_quotes_and_deals_answer_404(web, admin, other_admin, other_pipeline):
    deal = make_deal(other_admin, other_pipeline, lines=LINES)
    quote = make_quote(other_admin, deal)
    client = web(admin)
    before = _snapshot()
    for method, url in _pages(deal, quote):
        resp = getattr(client, method)(url, {"version": "1", "title": "Taken"} if method == "post" else None)
        assert resp.status_code == 404, (method, url, resp.status_code)
    assert "Quote 1001" not in client.get("/sales/quotes/").content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUPPORT])
def test_members_who_only_read_deals_read_quotes_and_change_nothing(web, admin, member_of, sales_pipeline, role):
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    quote = make_quote(admin, deal)
    client = web(member_of(role))
    before = _snapshot()
    for method, url in _pages(deal, quote):
        resp = getattr(client, method)(url, {"version": "1", "title": "Taken"} if method == "post" else None)
        expected = (
            200 if method == "get" and ("/edit/" not in url and "/products/" not in url and "/new/" not in url) else 403
        )
        assert resp.status_code == expected, (method, url, resp.status_code)
    detail = client.get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert "Mark as sent" not in detail and "You can view this quote" in detail
    assert _snapshot() == before
