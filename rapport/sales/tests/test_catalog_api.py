"""The products, competitors and exchange-rates API: shapes, bad input (4xx naming the field, nothing
written), permissions, versions, idempotency and other workspaces' ids (always 404, nothing changes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.sales import catalog_services, money
from rapport.sales.models import Competitor, ExchangeRate, Product

PRODUCT = {"sku": "WID-1", "name": "Widget", "unit_price": "49.90", "currency": "EUR", "category": "Hardware"}


def _fields(resp: Any) -> dict[str, str]:
    return resp.json()["error"]["fields"]


def _nothing_written() -> None:
    assert not Product.objects.exists() and not Competitor.objects.exists() and not ExchangeRate.objects.exists()
    assert not Event.objects.filter(verb__regex=r"^(product|competitor|exchange_rate)\.").exists()


# --- products -------------------------------------------------------------------------------------


def test_a_product_is_created_read_updated_and_trashed(api, admin):
    client = api(admin)
    resp = client.post("/api/v1/products", PRODUCT)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["unit_price"] == "49.90" and body["currency"] == "EUR" and body["active"] is True
    assert resp["ETag"] == '"v1"'
    url = f"/api/v1/products/{body['id']}"
    got = client.get(url)
    assert got.status_code == 200 and got["ETag"] == '"v1"' and got.json()["sku"] == "WID-1"
    assert client.patch(url, {"unit_price": "45"}).status_code == 428
    patched = client.patch(url, {"unit_price": "45", "active": False}, **{"If-Match": '"v1"'})
    assert patched.status_code == 200 and patched.json()["unit_price"] == "45.00" and patched["ETag"] == '"v2"'
    stale = client.patch(url, {"name": "Late"}, **{"If-Match": '"v1"'})
    assert stale.status_code == 412 and Product.objects.get().name == "Widget"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/api/v1/products").json()["items"] == []


def test_the_product_list_filters_and_pages_by_name(api, admin):
    for i in range(5):
        catalog_services.product_create(
            actor=admin, data={"sku": f"S{i}", "name": f"Item {i}", "unit_price": i, "category": "A" if i % 2 else "B"}
        )
    client = api(admin)
    first = client.get("/api/v1/products?limit=2").json()
    second = client.get(f"/api/v1/products?limit=2&cursor={first['next_cursor']}").json()
    assert [p["sku"] for p in first["items"] + second["items"]] == ["S0", "S1", "S2", "S3"]
    assert [p["sku"] for p in client.get("/api/v1/products?category=A").json()["items"]] == ["S1", "S3"]
    assert [p["sku"] for p in client.get("/api/v1/products?q=item%204").json()["items"]] == ["S4"]
    assert client.get("/api/v1/products?active=false").json()["items"] == []


def test_a_page_of_products_is_one_query_however_many_there_are(api, admin, django_assert_num_queries):
    client = api(admin)
    catalog_services.product_create(actor=admin, data={"sku": "S-0", "name": "Item", "unit_price": 1})
    client.get("/api/v1/products")  # the token's first use records its last-used time
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/products").json()["items"]) == 1
    for i in range(1, 30):
        catalog_services.product_create(actor=admin, data={"sku": f"S-{i}", "name": "Item", "unit_price": i})
    with django_assert_num_queries(len(one)):
        assert len(client.get("/api/v1/products").json()["items"]) == 30


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit_price": "-1"}, "unit_price"),
        ({"unit_price": -0.5}, "unit_price"),
        ({"unit_price": "1.234"}, "unit_price"),
        ({"unit_price": "lots"}, "unit_price"),
        ({"currency": "XYZ"}, "currency"),
        ({"sku": ""}, "sku"),
        ({"name": "x" * 201}, "name"),
        ({"owner_id": 1}, "owner_id"),
    ],
)
def test_bad_product_input_is_a_422_naming_the_field_and_nothing_is_written(api, admin, change, field):
    resp = api(admin).post("/api/v1/products", {**PRODUCT, **change})
    assert resp.status_code == 422, resp.content
    assert field in _fields(resp)
    _nothing_written()


def test_a_duplicate_sku_is_a_409_naming_the_sku_and_nothing_is_written(api, admin):
    client = api(admin)
    assert client.post("/api/v1/products", PRODUCT).status_code == 201
    resp = client.post("/api/v1/products", {**PRODUCT, "name": "Copy"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "duplicate_sku" and "sku" in _fields(resp)
    other = client.post("/api/v1/products", {**PRODUCT, "sku": "WID-2"}).json()
    resp = client.patch(f"/api/v1/products/{other['id']}", {"sku": "WID-1"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 409 and "sku" in _fields(resp)
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["WID-1", "WID-2"]
    assert Event.objects.filter(verb="product.created").count() == 2
    assert not Event.objects.filter(verb="product.updated").exists()


def test_an_idempotency_key_replays_the_create(api, admin):
    client = api(admin)
    first = client.post("/api/v1/products", PRODUCT, **{"Idempotency-Key": "k-1"})
    again = client.post("/api/v1/products", PRODUCT, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true" and Product.objects.count() == 1


@pytest.mark.parametrize("role", [Role.SALES, Role.VIEWER])
def test_sales_cannot_write_products_but_reads_them(api, admin, member_of, role):
    product = catalog_services.product_create(actor=admin, data={"sku": "A", "name": "A", "unit_price": 1})
    client = api(member_of(role))
    events = Event.objects.count()
    assert client.post("/api/v1/products", PRODUCT).status_code == 403
    url = f"/api/v1/products/{product.pk}"
    resp = client.patch(url, {"name": "Mine"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied"
    assert client.delete(url).status_code == 403
    assert client.get(url).status_code == 200 and len(client.get("/api/v1/products").json()["items"]) == 1
    product.refresh_from_db()
    assert product.name == "A" and product.deleted_at is None and product.version == 1
    assert Product.objects.count() == 1 and Event.objects.count() == events


def test_a_read_only_token_cannot_write_products(api, admin):
    assert api(admin, scope="read").post("/api/v1/products", PRODUCT).status_code == 403
    _nothing_written()


# --- competitors ----------------------------------------------------------------------------------


def test_a_competitor_is_created_updated_listed_and_trashed(api, admin):
    client = api(admin)
    resp = client.post("/api/v1/competitors", {"name": "Globex", "website": "globex.example", "strengths": "Price"})
    assert resp.status_code == 201 and resp.json()["website"] == "https://globex.example"
    url = f"/api/v1/competitors/{resp.json()['id']}"
    patched = client.patch(url, {"weaknesses": "Support"}, **{"If-Match": resp["ETag"]})
    assert patched.status_code == 200 and patched.json()["weaknesses"] == "Support" and patched["ETag"] == '"v2"'
    assert [c["name"] for c in client.get("/api/v1/competitors?q=glob").json()["items"]] == ["Globex"]
    assert client.delete(url).status_code == 204 and client.get(url).status_code == 404


def test_competitor_bad_input_and_duplicates(api, admin):
    client = api(admin)
    resp = client.post("/api/v1/competitors", {"name": "Globex", "website": "ftp://globex.example"})
    assert resp.status_code == 422 and "website" in _fields(resp)
    _nothing_written()
    assert client.post("/api/v1/competitors", {"name": "Globex"}).status_code == 201
    resp = client.post("/api/v1/competitors", {"name": "GLOBEX"})
    assert resp.status_code == 409 and "name" in _fields(resp) and Competitor.objects.count() == 1


def test_sales_reads_competitors_but_cannot_change_them(api, admin, member_of):
    competitor = catalog_services.competitor_create(actor=admin, data={"name": "Globex"})
    client = api(member_of(Role.SALES))
    url = f"/api/v1/competitors/{competitor.pk}"
    assert client.get(url).status_code == 200
    assert client.post("/api/v1/competitors", {"name": "Initech"}).status_code == 403
    assert client.patch(url, {"name": "Mine"}, **{"If-Match": '"v1"'}).status_code == 403
    assert client.delete(url).status_code == 403
    competitor.refresh_from_db()
    assert competitor.name == "Globex" and competitor.deleted_at is None and Competitor.objects.count() == 1
    assert api(member_of(Role.MANAGER)).post("/api/v1/competitors", {"name": "Initech"}).status_code == 201


# --- exchange rates -------------------------------------------------------------------------------


@pytest.fixture
def eur(admin):
    admin.org.base_currency = "EUR"
    admin.org.save(update_fields=["base_currency"])
    return admin


def test_rates_are_added_replaced_listed_and_deleted(api, eur):
    client = api(eur)
    body = {"currency": "usd", "rate": "0.92", "valid_from": "2026-01-01"}
    created = client.post("/api/v1/exchange-rates", body)
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "USD" and Decimal(created.json()["rate"]) == Decimal("0.92")
    again = client.post("/api/v1/exchange-rates", body)
    assert again.status_code == 409 and "valid_from" in _fields(again)
    put = client._send("put", "/api/v1/exchange-rates", {**body, "rate": "0.93"})
    assert put.status_code == 200 and put.json()["id"] == created.json()["id"] and put["ETag"] == '"v2"'
    new = client._send("put", "/api/v1/exchange-rates", {**body, "currency": "GBP", "rate": "1.17"})
    assert new.status_code == 201
    assert [r["currency"] for r in client.get("/api/v1/exchange-rates").json()["items"]] == ["GBP", "USD"]
    assert [r["currency"] for r in client.get("/api/v1/exchange-rates?currency=GBP").json()["items"]] == ["GBP"]
    assert client.get("/api/v1/exchange-rates?currency=nope").status_code == 422
    assert client.get(f"/api/v1/exchange-rates/{new.json()['id']}").json()["currency"] == "GBP"
    assert client.delete(f"/api/v1/exchange-rates/{new.json()['id']}").status_code == 204
    assert list(ExchangeRate.objects.values_list("currency", "rate")) == [("USD", Decimal("0.93"))]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "USD", "rate": "-1", "valid_from": "2026-01-01"}, "rate"),
        ({"currency": "USD", "rate": "0", "valid_from": "2026-01-01"}, "rate"),
        ({"currency": "XYZ", "rate": "1", "valid_from": "2026-01-01"}, "currency"),
        ({"currency": "EUR", "rate": "1", "valid_from": "2026-01-01"}, "currency"),
        ({"currency": "USD", "rate": "1", "valid_from": "2026-02-30"}, "valid_from"),
        ({"currency": "USD", "rate": "1"}, "valid_from"),
    ],
)
def test_bad_rates_are_a_422_naming_the_field(api, eur, body, field):
    client = api(eur)
    for resp in (client.post("/api/v1/exchange-rates", body), client._send("put", "/api/v1/exchange-rates", body)):
        assert resp.status_code == 422 and field in _fields(resp), resp.content
    _nothing_written()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES])
def test_only_admins_set_rates_but_everyone_reads_and_converts(api, eur, member_of, role):
    rate, _ = money.rate_set(actor=eur, currency="USD", rate="0.9", valid_from=date(2026, 1, 1))
    client = api(member_of(role))
    body = {"currency": "GBP", "rate": "1.1", "valid_from": "2026-01-01"}
    assert client.post("/api/v1/exchange-rates", body).status_code == 403
    assert client._send("put", "/api/v1/exchange-rates", {**body, "currency": "USD"}).status_code == 403
    assert client.delete(f"/api/v1/exchange-rates/{rate.pk}").status_code == 403
    assert list(ExchangeRate.objects.values_list("currency", "rate")) == [("USD", Decimal("0.9"))]
    assert len(client.get("/api/v1/exchange-rates").json()["items"]) == 1
    assert client.get("/api/v1/exchange-rates/convert?amount=10&currency=USD&on=2026-02-01").status_code == 200


def test_convert_answers_with_the_rate_and_the_rounded_amount(api, eur):
    money.rate_set(actor=eur, currency="USD", rate="0.9", valid_from=date(2026, 1, 1))
    money.rate_set(actor=eur, currency="USD", rate="0.95", valid_from=date(2026, 3, 1))
    client = api(eur)
    resp = client.get("/api/v1/exchange-rates/convert?amount=10.05&currency=usd&on=2026-02-01")
    assert resp.status_code == 200
    assert resp.json() == {
        "amount": "10.05",
        "currency": "USD",
        "on": "2026-02-01",
        "base_currency": "EUR",
        "rate": "0.9000000000",
        "converted": "9.04",  # 9.045 → 9.04, half to even
    }
    assert (
        client.get("/api/v1/exchange-rates/convert?amount=10&currency=USD&on=2026-03-01").json()["converted"] == "9.50"
    )
    same = client.get("/api/v1/exchange-rates/convert?amount=10&currency=EUR").json()
    assert same["converted"] == "10" and same["rate"] == "1"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("amount=10&currency=USD&on=2025-12-31", 422, "currency"),
        ("amount=10&currency=XYZ", 422, "currency"),
        ("amount=ten&currency=USD", 422, "amount"),
        ("amount=1.001&currency=USD", 422, "amount"),
        ("currency=USD", 422, "amount"),
        ("amount=10&currency=USD&on=someday", 422, "on"),
    ],
)
def test_convert_refuses_what_it_cannot_convert(api, eur, query, status, field):
    money.rate_set(actor=eur, currency="USD", rate="0.9", valid_from=date(2026, 1, 1))
    resp = api(eur).get(f"/api/v1/exchange-rates/convert?{query}")
    assert resp.status_code == status and field in _fields(resp), resp.content
    if "2025-12-31" in query:
        assert resp.json()["error"]["code"] == "missing_rate" and "2025-12-31" in resp.json()["error"]["message"]


# --- other workspaces -----------------------------------------------------------------------------

ID_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/products/{product}", None),
    ("patch", "/api/v1/products/{product}", {"name": "Taken over", "unit_price": "0"}),
    ("delete", "/api/v1/products/{product}", None),
    ("get", "/api/v1/competitors/{competitor}", None),
    ("patch", "/api/v1/competitors/{competitor}", {"name": "Taken over"}),
    ("delete", "/api/v1/competitors/{competitor}", None),
    ("get", "/api/v1/competitors/{competitor}/stats", None),
    ("get", "/api/v1/exchange-rates/{rate}", None),
    ("delete", "/api/v1/exchange-rates/{rate}", None),
]


@pytest.fixture
def b_records(other_admin) -> dict[str, Any]:
    product = catalog_services.product_create(actor=other_admin, data={"sku": "B-1", "name": "B's", "unit_price": 1})
    competitor = catalog_services.competitor_create(actor=other_admin, data={"name": "B's rival"})
    rate, _ = money.rate_set(actor=other_admin, currency="CHF", rate="1.1", valid_from=date(2026, 1, 1))
    return {"product": product, "competitor": competitor, "rate": rate}


def _snapshot(records: dict[str, Any]) -> list[Any]:
    return [list(type(obj).objects.filter(pk=obj.pk).values()) for obj in records.values()] + [Event.objects.count()]


def test_every_id_endpoint_is_listed_here():
    from rapport.config.api import api as ninja_api

    paths = ninja_api.get_openapi_schema()["paths"]
    mine = {
        (method, path)
        for path, ops in paths.items()
        if "{" in path and path.startswith(("/api/v1/products", "/api/v1/competitors", "/api/v1/exchange-rates"))
        for method in ops
    }
    listed = {
        (m, t.replace("{product}", "{product_id}").replace("{competitor}", "{competitor_id}"))
        for m, t, _ in ID_ENDPOINTS
    }
    assert mine == {(m, t.replace("{rate}", "{rate_id}")) for m, t in listed}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.SALES, Role.VIEWER])
def test_other_workspaces_records_are_404_and_nothing_changes(api, member_of, b_records, role):
    client = api(member_of(role))
    before = _snapshot(b_records)
    for method, template, body in ID_ENDPOINTS:
        url = template.format(**{name: obj.pk for name, obj in b_records.items()})
        headers = {"If-Match": '"v1"'} if method == "patch" else {}
        resp = client.patch(url, body, **headers) if method == "patch" else getattr(client, method)(url)
        assert resp.status_code == 404, (method, url, resp.status_code)
        assert resp.json()["error"]["code"] == "not_found"
    assert _snapshot(b_records) == before
    assert client.get("/api/v1/products").json()["items"] == []
    assert client.get("/api/v1/competitors").json()["items"] == []
    assert client.get("/api/v1/exchange-rates").json()["items"] == []
