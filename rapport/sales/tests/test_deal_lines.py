"""A deal's line items: the service (products, prices, per-line errors, version, event, amount)
and GET/PUT /api/v1/deals/{id}/lines (permissions, workspaces, bad input)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error
from rapport.core.errors import PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales import deal_lines
from rapport.sales.models import Deal, DealLine
from rapport.sales.tests.quote_support import LINES, make_deal, make_product


def _state(pk: int) -> dict[str, Any]:
    deal = Deal.objects.get(pk=pk)
    return {
        "deal": (deal.amount, deal.version),
        "lines": list(DealLine.objects.filter(deal_id=pk).values_list("name", "quantity", "unit_price")),
        "events": Event.objects.filter(subject_type="deal", subject_id=pk).count(),
    }


def test_lines_replace_all_and_set_the_amount_to_their_total(admin, sales_pipeline):
    product = make_product(admin, "W-1", "19.99", "EUR")
    deal = make_deal(admin, sales_pipeline)
    assert deal.amount == Decimal("100.00")
    lines = [{"product_id": product.pk, "quantity": "3", "discount_percent": "10"}, LINES[1]]
    deal = deal_lines.deal_lines_set(actor=admin, deal=deal, lines=lines, expected_version=1)
    assert deal.amount == Decimal("79.22") and deal.version == 2  # 53.97 + 25.25
    stored = deal_lines.deal_lines(deal=deal)
    assert [(line.name, line.product_id, line.unit_price, deal_lines.deal_line_total(line)) for line in stored] == [
        ("Product W-1", product.pk, Decimal("19.99"), Decimal("53.97")),
        ("Cable", None, Decimal("10.10"), Decimal("25.25")),
    ]
    event = Event.objects.get(verb="deal.lines_changed", subject_id=deal.pk)
    assert event.changes["amount"] == ["100.00", "79.22"]
    assert event.changes["lines"][1] == ["3 x Product W-1 at 19.99 less 10% = 53.97", "2.5 x Cable at 10.10 = 25.25"]
    # The same lines again: nothing written. No lines: the amount stays what it was.
    assert deal_lines.deal_lines_set(actor=admin, deal=deal, lines=lines, expected_version=2).version == 2
    deal = deal_lines.deal_lines_set(actor=admin, deal=deal, lines=[], expected_version=2)
    assert deal.amount == Decimal("79.22") and not DealLine.objects.filter(deal_id=deal.pk).exists()
    assert Event.objects.filter(verb="deal.lines_changed").count() == 2


def test_a_product_in_another_currency_needs_a_price(admin, sales_pipeline):
    dollars = make_product(admin, "D-1", "50.00", "USD")
    deal = make_deal(admin, sales_pipeline)
    with pytest.raises(ValidationFailed) as exc:
        deal_lines.deal_lines_set(
            actor=admin, deal=deal, lines=[{"product_id": dollars.pk, "quantity": 1}], expected_version=1
        )
    assert "priced in USD, not EUR" in exc.value.fields["lines[0].unit_price"]
    deal = deal_lines.deal_lines_set(
        actor=admin,
        deal=deal,
        lines=[{"product_id": dollars.pk, "quantity": 1, "unit_price": "45"}],
        expected_version=1,
    )
    assert deal.amount == Decimal("45.00")


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ({"name": "X", "quantity": "0", "unit_price": "1"}, "lines[2].quantity"),
        ({"name": "X", "quantity": "1.0001", "unit_price": "1"}, "lines[2].quantity"),
        ({"name": "X", "unit_price": "1"}, "lines[2].quantity"),
        ({"name": "X", "quantity": "1", "unit_price": "-1"}, "lines[2].unit_price"),
        ({"name": "X", "quantity": "1", "unit_price": "1.001"}, "lines[2].unit_price"),
        ({"name": "X", "quantity": "1"}, "lines[2].unit_price"),
        ({"name": "X", "quantity": "1", "unit_price": "1", "discount_percent": "100.5"}, "lines[2].discount_percent"),
        ({"name": "X", "quantity": "1", "unit_price": "1", "discount_percent": "5.555"}, "lines[2].discount_percent"),
        ({"quantity": "1", "unit_price": "1"}, "lines[2].name"),
        ({"name": "X", "quantity": "1", "unit_price": "1", "product_id": 2**62}, "lines[2].product_id"),
        ({"name": "X", "quantity": "1", "unit_price": "1", "colour": "red"}, "lines[2].colour"),
        ({"name": "X" * 201, "quantity": "1", "unit_price": "1"}, "lines[2].name"),
        ("not a line", "lines[2]"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_written(admin, sales_pipeline, line, path):
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    before = _state(deal.pk)
    with pytest.raises(ValidationFailed) as exc:
        deal_lines.deal_lines_set(actor=admin, deal=deal, lines=[*LINES, line], expected_version=deal.version)
    assert path in exc.value.fields, exc.value.fields
    assert _state(deal.pk) == before


def test_stale_version_and_permissions(admin, member_of, sales_pipeline, other_admin, other_pipeline):
    deal = make_deal(admin, sales_pipeline)
    with pytest.raises(StaleVersion):
        deal_lines.deal_lines_set(actor=admin, deal=deal, lines=LINES, expected_version=7)
    for role in (Role.VIEWER, Role.SALES, Role.SUPPORT):
        with pytest.raises(PermissionDenied):
            deal_lines.deal_lines_set(actor=member_of(role), deal=deal, lines=LINES, expected_version=1)
    # A product of another workspace is not found.
    theirs = make_product(other_admin, "B-1", "5", "EUR")
    with pytest.raises(ValidationFailed) as exc:
        deal_lines.deal_lines_set(
            actor=admin, deal=deal, lines=[{"product_id": theirs.pk, "quantity": 1}], expected_version=1
        )
    assert "lines[0].product_id" in exc.value.fields
    assert _state(deal.pk)["lines"] == []


def test_api_reads_and_replaces_lines_with_if_match(api, admin, sales_pipeline):
    product = make_product(admin, "W-1", "19.99", "EUR")
    deal = make_deal(admin, sales_pipeline)
    client = api(admin)
    url = f"/api/v1/deals/{deal.pk}/lines"
    got = client.get(url)
    assert got.status_code == 200 and got["ETag"] == '"v1"'
    assert got.json() == {"deal_id": deal.pk, "currency": "EUR", "amount": "100.00", "version": 1, "lines": []}
    body = {"lines": [{"product_id": product.pk, "quantity": 3, "discount_percent": 10}, LINES[1]]}
    api_error(client._send("put", url, body), 428)
    api_error(client._send("put", url, body, **{"If-Match": '"v5"'}), 412)
    resp = client._send("put", url, body, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    assert resp["ETag"] == '"v2"' and resp.json()["amount"] == "79.22"
    assert resp.json()["lines"][0] == {
        "product_id": product.pk, "sku": "W-1", "name": "Product W-1", "quantity": "3.000", "unit_price": "19.99",
        "discount_percent": "10.00", "line_total": "53.97",
    }  # fmt: skip
    err = api_error(
        client._send("put", url, {"lines": [{"name": "X", "quantity": -1, "unit_price": 1}]}, **{"If-Match": '"v2"'}),
        422,
    )
    assert "lines[0].quantity" in err["fields"]
    err = api_error(
        client._send("put", url, {"lines": [{"name": "X", "quantity": 1, "price": 1}]}, **{"If-Match": '"v2"'}), 422
    )
    assert "lines.0.price" in err["fields"]
    assert client.get(url).json()["amount"] == "79.22"


def test_api_permission_denied_changes_nothing(api, admin, member_of, sales_pipeline):
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    before = _state(deal.pk)
    viewer = api(member_of(Role.VIEWER))
    assert viewer.get(f"/api/v1/deals/{deal.pk}/lines").status_code == 200
    api_error(viewer._send("put", f"/api/v1/deals/{deal.pk}/lines", {"lines": []}, **{"If-Match": '"v2"'}), 403)
    rep = api(member_of(Role.SALES))  # not in the owner's team: cannot even see it
    api_error(rep.get(f"/api/v1/deals/{deal.pk}/lines"), 404)
    api_error(rep._send("put", f"/api/v1/deals/{deal.pk}/lines", {"lines": []}, **{"If-Match": '"v2"'}), 404)
    assert _state(deal.pk) == before


@pytest.mark.parametrize("method", ["get", "put"])
def test_another_workspaces_deal_lines_answer_404(api, admin, other_admin, other_pipeline, method):
    theirs = make_deal(other_admin, other_pipeline, lines=LINES)
    before = _state(theirs.pk)
    client = api(admin)
    a_events = Event.objects.filter(org_id=admin.org_id).count()
    url = f"/api/v1/deals/{theirs.pk}/lines"
    resp = client._send("put", url, {"lines": []}, **{"If-Match": '"v2"'}) if method == "put" else client.get(url)
    assert api_error(resp, 404)["code"] == "not_found"
    assert _state(theirs.pk) == before and Event.objects.filter(org_id=admin.org_id).count() == a_events
