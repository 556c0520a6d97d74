"""Orders API: create / read / update / trash, the list's filters and pages, permissions, and
workspaces (every id endpoint answers 404 for another workspace's order)."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.models import Event
from rapport.sales.models import Order, OrderLine
from rapport.sales.order_services import order_create, order_delete

LINE = {"sku": "W-1", "name": "Widget", "quantity": "3", "unit_price": "19.99", "discount_percent": "10"}


def _body(**extra: Any) -> dict[str, Any]:
    return {"ordered_at": "2026-03-01T10:00:00Z", "currency": "eur", "lines": [LINE], **extra}


def _state(pk: int) -> dict[str, Any]:
    order = Order.objects.get(pk=pk)
    return {
        "order": {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields},
        "lines": list(OrderLine.objects.filter(order_id=pk).values_list("name", "quantity", "line_total")),
        "events": list(Event.objects.filter(subject_type="order", subject_id=pk).values_list("pk", flat=True)),
    }


def test_create_read_update_and_trash(api, admin, ada, company):
    client = api(admin)
    resp = client.post("/api/v1/orders", _body(contact_id=ada.pk, company_id=company.pk, external_id="shop-1"))
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert resp["ETag"] == '"v1"'
    assert (body["number"], body["currency"], body["total"], body["status"]) == (1001, "EUR", "53.97", "confirmed")
    assert body["contact"] == {"id": ada.pk, "name": str(ada)} and body["company"] == {
        "id": company.pk,
        "name": "Acme Corp",
    }
    assert body["lines"] == [
        {"product_id": None, "sku": "W-1", "name": "Widget", "quantity": "3.000", "unit_price": "19.99",
         "discount_percent": "10.00", "line_total": "53.97"}
    ]  # fmt: skip
    url = f"/api/v1/orders/{body['id']}"
    got = client.get(url)
    assert got.json() == body and got["ETag"] == '"v1"'
    api_error(client.patch(url, {"status": "shipped"}), 428)
    api_error(client.patch(url, {"status": "shipped"}, **{"If-Match": '"v9"'}), 412)
    resp = client.patch(url, {"status": "shipped", "lines": [{**LINE, "quantity": 1}]}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "shipped" and resp.json()["total"] == "17.99" and resp["ETag"] == '"v2"'
    assert client.post("/api/v1/orders", _body(contact_id=ada.pk)).json()["number"] == 1002
    assert client.delete(url).status_code == 204
    api_error(client.get(url), 404)
    verbs = list(Event.objects.filter(subject_type="order").order_by("pk").values_list("verb", flat=True))
    assert verbs == ["order.created", "order.updated", "order.created", "order.trashed"]


def test_create_with_an_idempotency_key_is_replayed(api, admin, ada):
    client = api(admin)
    first = client.post("/api/v1/orders", _body(contact_id=ada.pk), **{"Idempotency-Key": "k-1"})
    again = client.post("/api/v1/orders", _body(contact_id=ada.pk), **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and Order.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XXQ"}, "currency"),
        ({"lines": [{**LINE, "quantity": "-2"}]}, "lines.0.quantity"),
        ({"lines": [{**LINE, "discount_percent": "120"}]}, "lines.0.discount_percent"),
        ({"lines": [{**LINE, "unit_price": "1.001"}]}, "lines.0.unit_price"),
        ({"lines": [{**LINE, "colour": "red"}]}, "lines.0.colour"),
        ({"lines": []}, "lines"),
        ({"contact_id": None}, "contact_id"),
        ({"contact_id": 2**63}, "contact_id"),
        ({"ordered_at": "2026-03-01T10:00:00"}, "ordered_at"),
        ({"status": "won"}, "status"),
        ({"total": "5"}, "total"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, admin, ada, change, field):
    err = api_error(api(admin).post("/api/v1/orders", {**_body(contact_id=ada.pk), **change}), 422)
    assert field in err["fields"], err
    assert not Order.objects.exists() and not Event.objects.filter(subject_type="order").exists()


def test_list_filters_and_pages_newest_first(api, admin, ada, company, org):
    other = contact_with(org, email="bob@example.org", first_name="Bob")
    client = api(admin)
    for day in range(1, 6):
        client.post("/api/v1/orders", _body(contact_id=ada.pk, ordered_at=f"2026-03-0{day}T10:00:00Z"))
    client.post("/api/v1/orders", _body(contact_id=other.pk, company_id=company.pk, status="cancelled"))
    page = client.get("/api/v1/orders?limit=2").json()
    assert [o["ordered_at"][:10] for o in page["items"]] == ["2026-03-05", "2026-03-04"] and page["next_cursor"]
    rest = client.get(f"/api/v1/orders?limit=10&cursor={page['next_cursor']}").json()["items"]
    assert len(rest) == 4
    assert len(client.get(f"/api/v1/orders?contact_id={ada.pk}").json()["items"]) == 5
    assert [o["status"] for o in client.get(f"/api/v1/orders?company_id={company.pk}").json()["items"]] == ["cancelled"]
    assert len(client.get("/api/v1/orders?status=cancelled").json()["items"]) == 1
    ranged = client.get("/api/v1/orders?ordered_from=2026-03-02&ordered_to=2026-03-03").json()["items"]
    assert [o["ordered_at"][:10] for o in ranged] == ["2026-03-03", "2026-03-02"]
    assert len(client.get("/api/v1/orders?ordered_from=0001-01-01&ordered_to=9999-12-31").json()["items"]) == 6
    api_error(client.get("/api/v1/orders?ordered_from=2026-13-01"), 422)
    api_error(client.get("/api/v1/orders?status=lost"), 422)
    api_error(client.get("/api/v1/orders?cursor=nope"), 422)


def test_viewer_reads_but_cannot_write(api, admin, member_of, ada):
    order = order_create(actor=admin, data=_body(contact_id=ada.pk))
    client = api(member_of(Role.VIEWER))
    before = _state(order.pk)
    assert client.get(f"/api/v1/orders/{order.pk}").status_code == 200
    api_error(client.post("/api/v1/orders", _body(contact_id=ada.pk)), 403)
    api_error(client.patch(f"/api/v1/orders/{order.pk}", {"status": "shipped"}, **{"If-Match": '"v1"'}), 403)
    api_error(client.delete(f"/api/v1/orders/{order.pk}"), 403)
    api_error(client.post("/api/v1/orders/bulk", {"items": [{**_body(contact_id=ada.pk), "external_id": "x"}]}), 403)
    assert _state(order.pk) == before and Order.objects.count() == 1


def test_sales_cannot_change_a_colleagues_order_nor_see_another_teams(api, member_of, ada):
    owner = member_of(Role.SALES)
    theirs = order_create(actor=owner, data=_body(contact_id=ada.pk))
    rep = api(member_of(Role.SALES))
    before = _state(theirs.pk)
    api_error(rep.get(f"/api/v1/orders/{theirs.pk}"), 404)  # not in their team: invisible
    api_error(rep.patch(f"/api/v1/orders/{theirs.pk}", {"status": "shipped"}, **{"If-Match": '"v1"'}), 404)
    api_error(rep.delete(f"/api/v1/orders/{theirs.pk}"), 404)
    assert rep.get("/api/v1/orders").json()["items"] == []
    assert _state(theirs.pk) == before
    mine = rep.post("/api/v1/orders", _body(contact_id=ada.pk))
    assert mine.status_code == 201 and mine.json()["owner"]["id"] != owner.user_id


ID_ENDPOINTS = [
    ("get", "/api/v1/orders/{order_id}", None),
    ("patch", "/api/v1/orders/{order_id}", {"status": "shipped"}),
    ("delete", "/api/v1/orders/{order_id}", None),
]


@pytest.mark.parametrize("trashed", [False, True])
@pytest.mark.parametrize(("method", "template", "body"), ID_ENDPOINTS)
def test_every_order_endpoint_answers_404_for_another_workspace(
    api, admin, other_admin, other_org, method, template, body, trashed
):
    customer = contact_with(other_org, email="b@example.org", first_name="B")
    theirs = order_create(actor=other_admin, data=_body(contact_id=customer.pk, external_id="b-1"))
    if trashed:
        order_delete(actor=other_admin, order=theirs)
    client = api(admin)
    before = _state(theirs.pk)
    a_events = Event.objects.filter(org_id=admin.org_id).count()
    url = template.format(order_id=theirs.pk)
    resp = client.patch(url, body, **{"If-Match": '"v1"'}) if method == "patch" else getattr(client, method)(url)
    assert api_error(resp, 404)["code"] == "not_found"
    assert _state(theirs.pk) == before
    assert Event.objects.filter(org_id=admin.org_id).count() == a_events


def test_another_workspaces_orders_customers_and_external_ids_stay_apart(api, admin, other_admin, other_org, ada):
    customer = contact_with(other_org, email="b@example.org", first_name="B")
    theirs = order_create(actor=other_admin, data=_body(contact_id=customer.pk, external_id="same"))
    client = api(admin)
    assert client.get("/api/v1/orders").json()["items"] == []
    assert client.get(f"/api/v1/orders?contact_id={customer.pk}").json()["items"] == []
    err = api_error(client.post("/api/v1/orders", _body(contact_id=customer.pk)), 422)
    assert "contact_id" in err["fields"]
    err = api_error(client.post("/api/v1/orders", _body(customer_email="b@example.org")), 422)
    assert "customer_email" in err["fields"]
    bulk = client.post("/api/v1/orders/bulk", {"items": [{**_body(contact_id=ada.pk), "external_id": "same"}]})
    assert bulk.status_code == 200 and bulk.json()["items"][0]["status"] == "created"
    assert bulk.json()["items"][0]["number"] == 1001  # numbers count per workspace
    assert _state(theirs.pk)["order"]["contact_id"] == customer.pk
