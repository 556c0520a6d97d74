"""Quotes API. (No `from __future__ import annotations` in API modules: ninja reads the annotations.)

Quotes follow their deal's access (Entity.DEAL): who reads the deal reads its quotes, who may
change the deal makes and changes them. Writes need the quote's ETag in If-Match (the create takes
an Idempotency-Key). Only drafts change; POST /quotes/{id}/send|accept|decline|revise move it
along; POST /quotes/{id}/order makes the order of an accepted quote (once; needs order write);
GET /quotes/{id}/pdf answers the printable quote as a PDF. Rules: rapport.sales.quote_services.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.contacts.schemas import Ref, UserRef
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn
from rapport.sales import deal_lines, deal_selectors, quote_pdf, quote_services
from rapport.sales.models import Order, Quote, QuoteStatus
from rapport.sales.order_api import OrderOut

router = Router(tags=["quotes"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
PDF = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class QuoteLineIn(StrictIn):
    product_id: Id | None = Field(None, description="A product of the catalogue (name, SKU and price default from it)")
    sku: str | None = Field(None, description="Default: the product's SKU")
    name: str | None = Field(None, description="Default: the product's name; required without a product")
    description: str | None = None
    quantity: Decimal | None = Field(None, description="Required: greater than 0, at most 3 decimals")
    unit_price: Decimal | None = Field(
        None, description="0 or more, at most 2 decimals; default: the product's price when in the quote's currency"
    )
    discount_percent: Decimal | None = Field(None, description="0 to 100, at most 2 decimals (default 0)")
    tax_percent: Decimal | None = Field(None, description="0 to 100, at most 2 decimals (default 0)")


class QuotePatch(StrictIn):
    title: str | None = Field(None, description="Up to 200 characters")
    issued_on: date | None = None
    valid_until: date | None = Field(None, description="On or after issued_on")
    notes: str | None = Field(None, description="Terms and notes printed on the quote")


class QuoteIn(QuotePatch):
    deal_id: Id = Field(..., description="The deal whose line items the quote copies")
    tax_percent: Decimal | None = Field(None, description="Tax of every line, 0 to 100 (default 0)")


class QuoteLinesIn(StrictIn):
    lines: list[QuoteLineIn] = Field(..., min_length=1, max_length=deal_lines.MAX_LINES)


class QuoteLineOut(Schema):
    product_id: int | None
    sku: str
    name: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_percent: Decimal
    line_total: Decimal


class QuoteOut(Schema):
    id: int
    number: int
    deal: Ref
    title: str
    status: str
    contact: Ref | None
    company: Ref | None
    currency: str
    issued_on: date
    valid_until: date | None
    notes: str
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    lines: list[QuoteLineOut]
    owner: UserRef | None
    sent_at: datetime | None
    decided_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_deal(obj: Any) -> dict[str, Any]:
        return {"id": obj.deal_id, "name": obj.deal.name}

    # The customer and the owner read as an order's do.
    resolve_contact = staticmethod(OrderOut.resolve_contact)
    resolve_company = staticmethod(OrderOut.resolve_company)
    resolve_owner = staticmethod(OrderOut.resolve_owner)

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class QuoteListParams(Schema):
    deal_id: Id | None = None
    status: QuoteStatus | None = None
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


@router.get("/quotes", response={200: PageOut[QuoteOut], **ERRORS}, summary="List quotes")
def list_quotes(request: HttpRequest, params: Query[QuoteListParams]) -> Any:
    """Newest first, keyset-paged; two queries per page (the quotes, their lines)."""
    qs = quote_services.quote_list(actor=_actor(request), deal_id=params.deal_id, status=params.status)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("-created_at", "-id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/quotes", response={201: QuoteOut, **ERRORS}, summary="Make a quote from a deal")
@idempotent(QuoteOut)
def create_quote(request: HttpRequest, payload: QuoteIn) -> Quote:
    """A draft with the deal's lines (each taxed at `tax_percent`), customer, currency and owner;
    422 when the deal has no lines."""
    actor = _actor(request)
    data = payload.dict(exclude_unset=True)
    deal = deal_selectors.deal_get(actor=actor, deal_id=data.pop("deal_id"), mode=Mode.WRITE)
    return quote_services.quote_create(actor=actor, deal=deal, data=data)


@router.get("/quotes/{quote_id}", response={200: QuoteOut, **ERRORS}, summary="Get a quote")
def get_quote(request: HttpRequest, response: HttpResponse, quote_id: int) -> Quote:
    quote = quote_services.quote_get(actor=_actor(request), quote_id=quote_id)
    with_etag(response, quote)
    return quote


def _update(request: HttpRequest, response: HttpResponse, quote_id: int, data: dict[str, Any]) -> Quote:
    actor = _actor(request)
    quote = quote_services.quote_get(actor=actor, quote_id=quote_id, mode=Mode.WRITE)
    quote = quote_services.quote_update(actor=actor, quote=quote, data=data, expected_version=if_match(request))
    with_etag(response, quote)
    return quote


@router.patch("/quotes/{quote_id}", response={200: QuoteOut, **ERRORS}, summary="Update a draft quote")
def update_quote(request: HttpRequest, response: HttpResponse, quote_id: int, payload: QuotePatch) -> Quote:
    """Title, dates and notes of a draft (409 for a quote that is not a draft)."""
    return _update(request, response, quote_id, payload.dict(exclude_unset=True))


@router.put("/quotes/{quote_id}/lines", response={200: QuoteOut, **ERRORS}, summary="Replace a draft quote's lines")
def put_quote_lines(request: HttpRequest, response: HttpResponse, quote_id: int, payload: QuoteLinesIn) -> Quote:
    """Every line at once (the totals follow); errors name the line: `lines[2].tax_percent`."""
    return _update(request, response, quote_id, {"lines": [line.dict() for line in payload.lines]})


def _transition(request: HttpRequest, response: HttpResponse, quote_id: int, action: str) -> Quote:
    actor = _actor(request)
    quote = quote_services.quote_get(actor=actor, quote_id=quote_id, mode=Mode.WRITE)
    quote = quote_services.quote_transition(actor=actor, quote=quote, action=action, expected_version=if_match(request))
    with_etag(response, quote)
    return quote


@router.post("/quotes/{quote_id}/send", response={200: QuoteOut, **ERRORS}, summary="Mark a draft quote sent")
def send_quote(request: HttpRequest, response: HttpResponse, quote_id: int) -> Quote:
    return _transition(request, response, quote_id, "send")


@router.post("/quotes/{quote_id}/accept", response={200: QuoteOut, **ERRORS}, summary="Mark a sent quote accepted")
def accept_quote(request: HttpRequest, response: HttpResponse, quote_id: int) -> Quote:
    return _transition(request, response, quote_id, "accept")


@router.post("/quotes/{quote_id}/decline", response={200: QuoteOut, **ERRORS}, summary="Mark a sent quote declined")
def decline_quote(request: HttpRequest, response: HttpResponse, quote_id: int) -> Quote:
    return _transition(request, response, quote_id, "decline")


@router.post("/quotes/{quote_id}/revise", response={200: QuoteOut, **ERRORS}, summary="Take a sent quote back to draft")
def revise_quote(request: HttpRequest, response: HttpResponse, quote_id: int) -> Quote:
    return _transition(request, response, quote_id, "revise")


@router.post(
    "/quotes/{quote_id}/order", response={201: OrderOut, **ERRORS}, summary="Make the order of an accepted quote"
)
def create_quote_order(request: HttpRequest, quote_id: int) -> Status[Order]:
    """Copies the quote's lines (totals before tax), customer and currency. 422 unless accepted;
    409 when the quote already has an order; needs order write."""
    actor = _actor(request)
    quote = quote_services.quote_get(actor=actor, quote_id=quote_id, mode=Mode.WRITE)
    return Status(201, quote_services.quote_create_order(actor=actor, quote=quote))


@router.get(
    "/quotes/{quote_id}/pdf",
    response={200: None, **ERRORS},
    summary="A quote as a PDF",
    openapi_extra={"responses": {200: {"description": "The printable quote", **PDF}}},
)
def quote_pdf_file(request: HttpRequest, quote_id: int) -> HttpResponse:
    actor = _actor(request)
    quote = quote_services.quote_get(actor=actor, quote_id=quote_id)
    return quote_pdf.pdf_response(actor, quote)
