"""POST /api/v1/orders/bulk: upsert by external_id, idempotency, all-or-nothing validation,
create_products / create_customers, permissions, and a query count independent of the batch size."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.contacts.models import Contact, ContactEmail
from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.models import Event
from rapport.sales.models import NumberSequence, Order, OrderLine, Product
from rapport.sales.order_bulk import order_bulk_upsert

URL = "/api/v1/orders/bulk"


def _item(n: int, contact_id: int | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "external_id": f"shop-{n}",
        "ordered_at": f"2026-03-01T10:{n % 60:02d}:00Z",
        "currency": "EUR",
        "lines": [
            {"sku": f"SKU-{k}", "name": f"Item {k}", "quantity": k + 1, "unit_price": "9.99", "discount_percent": 5}
            for k in range(2)
        ],
        **extra,
    }
    if contact_id is not None:
        item["contact_id"] = contact_id
    return item


def _everything() -> dict[str, Any]:
    return {
        "orders": list(Order.objects.order_by("pk").values()),
        "lines": list(OrderLine.objects.order_by("pk").values()),
        "events": Event.objects.count(),
        "products": Product.objects.count(),
        "contacts": Contact.objects.count(),
        "sequence": list(NumberSequence.objects.values_list("last", flat=True)),
    }


def test_the_same_batch_twice_changes_nothing_the_second_time(api, admin, ada):
    client = api(admin)
    batch = {"items": [_item(n, ada.pk) for n in range(5)]}
    first = client.post(URL, batch)
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (5, 0, 0)
    assert [(i["external_id"], i["number"], i["status"]) for i in body["items"]] == [
        (f"shop-{n}", 1001 + n, "created") for n in range(5)
    ]
    order = Order.objects.get(external_id="shop-0")
    assert order.total == Decimal("28.47")  # 9.99 * 0.95 = 9.4905 → 9.49; 19.98 * 0.95 = 18.981 → 18.98
    before = _everything()
    second = client.post(URL, batch).json()
    assert [(i["id"], i["status"]) for i in second["items"]] == [(i["id"], "unchanged") for i in body["items"]]
    assert _everything() == before  # no version bump, no new lines, no event


def test_changed_orders_are_updated_and_only_they(api, admin, ada, company):
    client = api(admin)
    client.post(URL, {"items": [_item(n, ada.pk) for n in range(4)]})
    versions = dict(Order.objects.values_list("external_id", "version"))
    events = Event.objects.filter(subject_type="order").count()
    untouched_lines = list(OrderLine.objects.filter(order__external_id="shop-0").values_list("pk", flat=True))
    items = [_item(n, ada.pk) for n in range(4)]
    items[1]["status"] = "shipped"
    items[2]["lines"][0]["quantity"] = 7
    items[3]["company_id"] = company.pk
    body = client.post(URL, {"items": [*items, _item(9, ada.pk)]}).json()
    assert [i["status"] for i in body["items"]] == ["unchanged", "updated", "updated", "updated", "created"]
    after = dict(Order.objects.values_list("external_id", "version"))
    assert after == {**versions, "shop-1": 2, "shop-2": 2, "shop-3": 2, "shop-9": 1}
    assert list(OrderLine.objects.filter(order__external_id="shop-0").values_list("pk", flat=True)) == untouched_lines
    # 7 * 9.99 * .95 = 66.4335 → 66.43, plus the second line's 18.98
    assert Order.objects.get(external_id="shop-2").total == Decimal("85.41")
    new_events = Event.objects.filter(subject_type="order").order_by("pk")[events:]
    assert sorted((e.verb, e.subject_id) for e in new_events) == sorted(
        [*(("order.updated", i["id"]) for i in body["items"][1:4]), ("order.created", body["items"][4]["id"])]
    )
    assert Event.objects.get(verb="order.updated", subject_id=body["items"][1]["id"]).changes == {
        "status": ["confirmed", "shipped"]
    }


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda items: items[3].update(external_id="shop-1"), "items.3.external_id"),
        (lambda items: items[2]["lines"][1].update(quantity=-1), "items.2.lines.1.quantity"),
        (lambda items: items[4].update(currency="ZZZ"), "items.4.currency"),
        (lambda items: items[1].update(contact_id=None), "items.1.contact_id"),
        (lambda items: items[0].pop("external_id"), "items.0.external_id"),
        (lambda items: items[2]["lines"][0].update(discount_percent=101), "items.2.lines.0.discount_percent"),
    ],
)
def test_one_bad_item_is_a_422_naming_it_and_nothing_is_written(api, admin, ada, mutate, field):
    client = api(admin)
    client.post(URL, {"items": [_item(0, ada.pk)]})
    items = [_item(n, ada.pk, status="shipped") for n in range(5)]
    mutate(items)
    before = _everything()
    err = api_error(client.post(URL, {"items": items}), 422)
    assert field in err["fields"], err
    assert _everything() == before


def test_duplicate_external_id_is_caught_by_the_service_too(admin, ada):
    """The service is the one code path (the importer calls it without the API's schema)."""
    from rapport.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as raised:
        order_bulk_upsert(actor=admin, items=[_item(1, ada.pk), _item(2, ada.pk), _item(1, ada.pk)])
    assert set(raised.value.fields) == {"items.2.external_id"}
    assert "items.0" in raised.value.fields["items.2.external_id"]
    assert not Order.objects.exists() and not NumberSequence.objects.exists()


def test_a_batch_may_hold_at_most_1000_orders(api, admin, ada):
    err = api_error(api(admin).post(URL, {"items": [_item(n, ada.pk) for n in range(1001)]}), 422)
    assert "items" in err["fields"] and not Order.objects.exists()


def test_create_products_and_customers(api, admin, org):
    existing = Product.objects.create(org=org, sku="SKU-0", name="Known", unit_price=Decimal(1), currency="EUR")
    known = contact_with(org, email="known@example.org", first_name="Known")
    client = api(admin)
    items = [
        _item(1, customer_email="known@example.org"),
        _item(2, customer_email="New.Buyer@Example.org", customer_name="New Buyer"),
        _item(3, customer_email="new.buyer@example.org"),
    ]
    err = api_error(client.post(URL, {"items": items}), 422)  # unknown email without the option
    assert set(err["fields"]) == {"items.1.customer_email", "items.2.customer_email"}
    body = client.post(URL, {"items": items, "create_products": True, "create_customers": True})
    assert body.status_code == 200, body.content
    new_contact = Contact.objects.get(emails__email="new.buyer@example.org")
    assert (new_contact.first_name, new_contact.last_name) == ("New", "Buyer")
    assert list(Order.objects.order_by("external_id").values_list("contact_id", flat=True)) == [
        known.pk, new_contact.pk, new_contact.pk
    ]  # fmt: skip
    created = Product.objects.get(sku="SKU-1")
    assert (created.name, created.unit_price, created.currency) == ("Item 1", Decimal("9.99"), "EUR")
    assert Product.objects.count() == 2 and Product.objects.get(pk=existing.pk).name == "Known"
    assert set(OrderLine.objects.values_list("sku", "product_id")) == {("SKU-0", existing.pk), ("SKU-1", created.pk)}
    assert Event.objects.filter(verb="product.created", subject_id=created.pk).exists()
    assert Event.objects.filter(verb="contact.created", subject_id=new_contact.pk).exists()
    assert ContactEmail.objects.filter(email="new.buyer@example.org").count() == 1


def test_without_create_products_an_unknown_sku_is_kept_on_the_line(api, admin, ada):
    api(admin).post(URL, {"items": [_item(1, ada.pk)]})
    assert set(OrderLine.objects.values_list("sku", "product_id")) == {("SKU-0", None), ("SKU-1", None)}
    assert not Product.objects.exists()


def test_permissions_of_the_bulk_upsert(api, admin, member_of, ada):
    rep = member_of(Role.SALES)
    api(admin).post(URL, {"items": [_item(1, ada.pk)]})
    client, viewer = api(rep), api(member_of(Role.VIEWER))
    before = _everything()
    err = api_error(client.post(URL, {"items": [_item(2, ada.pk), _item(1, ada.pk, status="shipped")]}), 403)
    assert err["fields"] == {"items.1.external_id": "You may not change this order."}
    err = api_error(client.post(URL, {"items": [_item(3, ada.pk)], "create_products": True}), 403)
    assert "create_products" in err["fields"]
    api_error(viewer.post(URL, {"items": [_item(4, ada.pk)]}), 403)
    assert _everything() == before
    mine = client.post(URL, {"items": [_item(5, ada.pk)], "create_customers": True})
    assert mine.status_code == 200 and Order.objects.get(external_id="shop-5").owner_id == rep.user_id


def test_query_count_does_not_grow_with_the_batch(api, admin, org):
    customers = [contact_with(org, email=f"c{n}@example.org", first_name=f"C{n}") for n in range(40)]
    Product.objects.bulk_create(
        [Product(org=org, sku=f"SKU-{k}", name=f"P{k}", unit_price=Decimal(1), currency="EUR") for k in range(2)]
    )
    client = api(admin)
    client.post(URL, {"items": [_item(1000, customers[0].pk)]})  # the first order creates the number sequence

    def batch(start: int, size: int, **extra: Any) -> dict[str, Any]:
        return {
            "items": [_item(n, customer_email=f"c{n % 40}@example.org", **extra) for n in range(start, start + size)]
        }

    counts = {}
    for label, start, size in (("small", 0, 4), ("large", 100, 40)):
        for phase, extra in (("create", {}), ("same", {}), ("change", {"status": "shipped"})):
            with CaptureQueriesContext(connection) as ctx:
                resp = client.post(URL, batch(start, size, **extra))
            assert resp.status_code == 200, resp.content
            counts[(label, phase)] = len(ctx.captured_queries)
    for phase in ("create", "same", "change"):
        assert counts[("small", phase)] == counts[("large", phase)], counts
