"""A deal's line items and its order, over the API. (No `from __future__ import annotations` in
API modules: ninja reads the annotations.)

GET/PUT /deals/{id}/lines read and replace the lines (PUT needs the deal's ETag in If-Match and
answers the deal's new ETag); POST /deals/{id}/order makes the order of a won deal. Access follows
the deal (Entity.DEAL); the order also needs order write. Rules: rapport.sales.deal_lines and
rapport.sales.quote_services.
"""

from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.core.http import if_match, with_etag
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn
from rapport.sales import deal_lines, deal_selectors, quote_services
from rapport.sales.models import Deal, Order
from rapport.sales.order_api import OrderOut

router = Router(tags=["deals"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class DealLineIn(StrictIn):
    product_id: Id | None = Field(None, description="A product of the catalogue (name and price default from it)")
    name: str | None = Field(None, description="Default: the product's name; required without a product")
    quantity: Decimal | None = Field(None, description="Required: greater than 0, at most 3 decimals")
    unit_price: Decimal | None = Field(
        None, description="0 or more, at most 2 decimals; default: the product's price when in the deal's currency"
    )
    discount_percent: Decimal | None = Field(None, description="0 to 100, at most 2 decimals (default 0)")


class DealLinesIn(StrictIn):
    lines: list[DealLineIn] = Field(
        ..., max_length=deal_lines.MAX_LINES, description="Every line, in order ([] removes them all)"
    )


class DealLineOut(Schema):
    product_id: int | None
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    line_total: Decimal

    @staticmethod
    def resolve_sku(obj: Any) -> str:
        return obj.product.sku if obj.product_id and obj.product else ""

    @staticmethod
    def resolve_line_total(obj: Any) -> Decimal:
        return deal_lines.deal_line_total(obj)


class DealLinesOut(Schema):
    deal_id: int
    currency: str
    amount: Decimal
    version: int
    lines: list[DealLineOut]


def _lines_out(deal: Deal) -> dict[str, Any]:
    return {
        "deal_id": deal.pk,
        "currency": deal.currency,
        "amount": deal.amount,
        "version": deal.version,
        "lines": deal_lines.deal_lines(deal=deal),
    }


@router.get("/deals/{deal_id}/lines", response={200: DealLinesOut, **ERRORS}, summary="A deal's line items")
def get_deal_lines(request: HttpRequest, response: HttpResponse, deal_id: int) -> dict[str, Any]:
    deal = deal_selectors.deal_get(actor=_actor(request), deal_id=deal_id)
    with_etag(response, deal)
    return _lines_out(deal)


@router.put("/deals/{deal_id}/lines", response={200: DealLinesOut, **ERRORS}, summary="Replace a deal's line items")
def put_deal_lines(request: HttpRequest, response: HttpResponse, deal_id: int, payload: DealLinesIn) -> dict[str, Any]:
    """All the lines at once, in one transaction; with lines, the deal's amount becomes their total.
    Needs the deal's ETag in If-Match. Errors name the line: `lines[2].quantity`."""
    actor = _actor(request)
    deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id, mode=Mode.WRITE)
    lines = [line.dict() for line in payload.lines]
    deal = deal_lines.deal_lines_set(actor=actor, deal=deal, lines=lines, expected_version=if_match(request))
    with_etag(response, deal)
    return _lines_out(deal)


@router.post("/deals/{deal_id}/order", response={201: OrderOut, **ERRORS}, summary="Make the order of a won deal")
def create_deal_order(request: HttpRequest, deal_id: int) -> Status[Order]:
    """The order copies the deal's lines, customer and currency. 422 when the deal is not won or has
    no lines; 409 when it already has an order; needs order write."""
    actor = _actor(request)
    deal = deal_selectors.deal_get(actor=actor, deal_id=deal_id, mode=Mode.WRITE)
    return Status(201, quote_services.deal_create_order(actor=actor, deal=deal))
