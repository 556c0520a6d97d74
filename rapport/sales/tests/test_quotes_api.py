"""Quotes API: create from a deal, read, change a draft, its lines, the status moves, the order,
the PDF, the list's filters and pages; permissions and workspaces for every endpoint (404 for
another workspace's quote or deal, nothing changed); POST /deals/{id}/order."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.models import Event
from rapport.sales.models import Order, Quote, QuoteLine
from rapport.sales.tests.quote_support import LINES, advance, make_deal, make_quote, win

V1 = {"If-Match": '"v1"'}


def _state(quote: Quote) -> dict[str, Any]:
    fresh = Quote.objects.get(pk=quote.pk)
    return {
        "quote": {f.attname: getattr(fresh, f.attname) for f in Quote._meta.concrete_fields},
        "lines": list(QuoteLine.objects.filter(quote_id=quote.pk).values_list("name", "quantity", "tax_percent")),
        "events": Event.objects.filter(subject_type="quote", subject_id=quote.pk).count(),
        "orders": Order.objects.count(),
    }


def test_create_read_change_send_accept_and_order(api, admin, sales_pipeline, ada, company):
    deal = make_deal(admin, sales_pipeline, lines=LINES, contact_id=ada.pk, company_id=company.pk)
    client = api(admin)
    resp = client.post("/api/v1/quotes", {"deal_id": deal.pk, "tax_percent": "20", "valid_until": "2031-01-31"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert resp["ETag"] == '"v1"'
    assert (body["number"], body["status"], body["currency"], body["total"]) == (1001, "draft", "EUR", "95.06")
    assert body["deal"] == {"id": deal.pk, "name": "Acme rollout"} and body["company"]["id"] == company.pk
    assert body["lines"][0] == {
        "product_id": None, "sku": "", "name": "Widget", "description": "", "quantity": "3.000",
        "unit_price": "19.99", "discount_percent": "10.00", "tax_percent": "20.00", "line_total": "53.97",
    }  # fmt: skip
    url = f"/api/v1/quotes/{body['id']}"
    assert client.get(url).json() == body
    api_error(client.patch(url, {"title": "Offer"}), 428)
    resp = client.patch(url, {"title": "Offer", "notes": "Net 30"}, **V1)
    assert resp.status_code == 200 and resp.json()["title"] == "Offer" and resp["ETag"] == '"v2"'
    lines = [{"name": "Setup", "quantity": 1, "unit_price": "100", "tax_percent": "10"}]
    resp = client._send("put", f"{url}/lines", {"lines": lines}, **{"If-Match": '"v2"'})
    assert resp.status_code == 200, resp.content
    assert (resp.json()["subtotal"], resp.json()["tax_total"], resp.json()["total"]) == ("100.00", "10.00", "110.00")
    err = api_error(
        client._send("put", f"{url}/lines", {"lines": [{**lines[0], "tax_percent": 120}]}, **{"If-Match": '"v3"'}), 422
    )
    assert "lines[0].tax_percent" in err["fields"]
    api_error(client.post(f"{url}/accept", **{"If-Match": '"v3"'}), 409)
    api_error(client.post(f"{url}/order"), 422)
    resp = client.post(f"{url}/send", **{"If-Match": '"v3"'})
    assert resp.status_code == 200 and resp.json()["status"] == "sent" and resp.json()["sent_at"]
    api_error(client.patch(url, {"title": "Late"}, **{"If-Match": '"v4"'}), 409)
    assert client.post(f"{url}/accept", **{"If-Match": '"v4"'}).json()["status"] == "accepted"
    order = client.post(f"{url}/order")
    assert order.status_code == 201, order.content
    assert (order.json()["number"], order.json()["total"], order.json()["contact"]["id"]) == (1001, "100.00", ada.pk)
    assert api_error(client.post(f"{url}/order"), 409)["code"] == "quote_has_order"
    api_error(client.post(f"{url}/decline", **{"If-Match": '"v5"'}), 409)
    assert Order.objects.count() == 1


def test_revise_takes_a_sent_quote_back_to_draft(api, admin, sales_pipeline):
    quote = advance(admin, make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES)), "send")
    resp = api(admin).post(f"/api/v1/quotes/{quote.pk}/revise", **{"If-Match": '"v2"'})
    assert resp.status_code == 200 and resp.json()["status"] == "draft" and resp.json()["sent_at"] is None


def test_bad_input_is_a_422(api, admin, sales_pipeline):
    empty = make_deal(admin, sales_pipeline)
    client = api(admin)
    assert "deal_id" in api_error(client.post("/api/v1/quotes", {"deal_id": empty.pk}), 422)["fields"]
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    for body, field in (
        ({"deal_id": deal.pk, "tax_percent": "-1"}, "tax_percent"),
        ({"deal_id": deal.pk, "valid_until": "tomorrow"}, "valid_until"),
        ({"deal_id": deal.pk, "title": ""}, "title"),
        ({"deal_id": deal.pk, "colour": "red"}, "colour"),
        ({}, "deal_id"),
    ):
        assert field in api_error(client.post("/api/v1/quotes", body), 422)["fields"], body
    assert api_error(client.post("/api/v1/quotes", {"deal_id": 2**62}), 404)
    api_error(client.get("/api/v1/quotes?status=won"), 422)
    assert not Quote.objects.exists()


def test_list_filters_and_pages(api, admin, sales_pipeline, django_assert_max_num_queries):
    first = make_deal(admin, sales_pipeline, lines=LINES)
    second = make_deal(admin, sales_pipeline, lines=LINES, name="Second")
    for _ in range(3):
        make_quote(admin, first)
    sent = advance(admin, make_quote(admin, second), "send")
    client = api(admin)
    with django_assert_max_num_queries(8):
        page = client.get("/api/v1/quotes?limit=2").json()
    assert [q["number"] for q in page["items"]] == [1004, 1003] and page["next_cursor"]
    rest = client.get(f"/api/v1/quotes?limit=10&cursor={page['next_cursor']}").json()["items"]
    assert [q["number"] for q in rest] == [1002, 1001]
    assert [q["id"] for q in client.get("/api/v1/quotes?status=sent").json()["items"]] == [sent.pk]
    assert len(client.get(f"/api/v1/quotes?deal_id={first.pk}").json()["items"]) == 3


def test_pdf_is_a_real_pdf(api, admin, sales_pipeline, company):
    quote = make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES, company_id=company.pk), tax_percent="20")
    resp = api(admin).get(f"/api/v1/quotes/{quote.pk}/pdf")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert resp["Content-Disposition"] == 'attachment; filename="quote-1001.pdf"'
    assert resp.content.startswith(b"%PDF-") and b"%%EOF" in resp.content[-1024:] and len(resp.content) > 2000


def test_deal_order_endpoint_only_for_a_won_deal(api, admin, sales_pipeline, ada):
    deal = make_deal(admin, sales_pipeline, lines=LINES, contact_id=ada.pk)
    client = api(admin)
    err = api_error(client.post(f"/api/v1/deals/{deal.pk}/order"), 422)
    assert err["code"] == "deal_not_won" and "not won" in err["message"]
    win(admin, deal, sales_pipeline)
    resp = client.post(f"/api/v1/deals/{deal.pk}/order")
    assert resp.status_code == 201 and resp.json()["total"] == "79.22"
    assert api_error(client.post(f"/api/v1/deals/{deal.pk}/order"), 409)["code"] == "deal_has_order"


def _accepted(actor: Any, pipeline: Any, org: Any) -> Quote:
    customer = contact_with(org, email=f"c{org.pk}@example.org", first_name="C")
    deal = make_deal(actor, pipeline, lines=LINES, contact_id=customer.pk)
    return advance(actor, make_quote(actor, deal), "send", "accept")


# Every endpoint that takes a quote or deal id, with what a hostile request would send to it.
ID_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/quotes/{quote_id}", None),
    ("patch", "/api/v1/quotes/{quote_id}", {"title": "Taken over"}),
    ("put", "/api/v1/quotes/{quote_id}/lines", {"lines": [{"name": "X", "quantity": 1, "unit_price": 0}]}),
    ("post", "/api/v1/quotes/{quote_id}/send", None),
    ("post", "/api/v1/quotes/{quote_id}/accept", None),
    ("post", "/api/v1/quotes/{quote_id}/decline", None),
    ("post", "/api/v1/quotes/{quote_id}/revise", None),
    ("post", "/api/v1/quotes/{quote_id}/order", None),
    ("get", "/api/v1/quotes/{quote_id}/pdf", None),
    ("post", "/api/v1/deals/{deal_id}/order", None),
]


def _send(client: Any, method: str, url: str, body: dict[str, Any] | None) -> Any:
    headers = {"If-Match": '"v3"'}  # the quote's current version: only access can refuse
    if method in {"patch", "put"}:
        return client._send(method, url, body, **headers)
    if method == "post":
        return client.post(url, **headers)
    return client.get(url)


@pytest.mark.parametrize(("method", "template", "body"), ID_ENDPOINTS)
def test_every_quote_endpoint_answers_404_for_another_workspace(
    api, admin, other_admin, other_org, other_pipeline, method, template, body
):
    theirs = _accepted(other_admin, other_pipeline, other_org)
    win(other_admin, theirs.deal, other_pipeline)
    client = api(admin)
    before = _state(theirs)
    a_events = Event.objects.filter(org_id=admin.org_id).count()
    url = template.format(quote_id=theirs.pk, deal_id=theirs.deal_id)
    assert api_error(_send(client, method, url, body), 404)["code"] == "not_found"
    assert _state(theirs) == before
    assert Event.objects.filter(org_id=admin.org_id).count() == a_events


@pytest.mark.parametrize(("method", "template", "body"), [e for e in ID_ENDPOINTS if e[0] != "get"])
@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUPPORT, Role.MARKETING])
def test_roles_that_only_read_deals_are_refused_every_write(
    api, admin, org, member_of, sales_pipeline, method, template, body, role
):
    quote = _accepted(admin, sales_pipeline, org)
    win(admin, quote.deal, sales_pipeline)
    client = api(member_of(role))
    before = _state(quote)
    url = template.format(quote_id=quote.pk, deal_id=quote.deal_id)
    assert api_error(_send(client, method, url, body), 403)["code"] == "permission_denied"
    assert client.get(f"/api/v1/quotes/{quote.pk}").status_code == 200
    assert _state(quote) == before


def test_a_sales_rep_sees_only_quotes_of_deals_they_may_read(api, member_of, org, sales_pipeline):
    owner = member_of(Role.SALES)
    quote = _accepted(owner, sales_pipeline, org)
    rep = api(member_of(Role.SALES))
    before = _state(quote)
    assert rep.get("/api/v1/quotes").json()["items"] == []
    for method, template, body in ID_ENDPOINTS:
        url = template.format(quote_id=quote.pk, deal_id=quote.deal_id)
        api_error(_send(rep, method, url, body), 404)
    api_error(rep.post("/api/v1/quotes", {"deal_id": quote.deal_id}), 404)
    api_error(api(member_of(Role.VIEWER)).post("/api/v1/quotes", {"deal_id": quote.deal_id}), 403)
    assert _state(quote) == before and Quote.objects.count() == 1
