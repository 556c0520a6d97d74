"""Products, competitors and exchange rates API. (No `from __future__ import annotations` in API modules.)

Amounts and rates are JSON strings ("49.90", "0.9200000000"): exact decimals, never floats.
Products: every role reads, managers and admins write. Competitors: whoever reads deals reads,
admins and managers write. Exchange rates: every member reads, admins write.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.roles import Mode
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn
from rapport.sales import catalog_services as services
from rapport.sales import money
from rapport.sales.models import Competitor, ExchangeRate, Product

router = Router(tags=["products, competitors and currencies"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
CURRENCY = Field(None, max_length=60, description="ISO 4217 code such as EUR (or the English name)")


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


# --- products ---------------------------------------------------------------------------------


class ProductPatch(StrictIn):
    sku: str | None = Field(None, max_length=64, description="Unique among the workspace's products; case kept")
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    category: str | None = Field(None, max_length=100)
    unit_price: Decimal | None = Field(None, description="0 or more, at most 2 decimals")
    currency: str | None = CURRENCY
    active: bool | None = None


class ProductIn(ProductPatch):
    sku: str = Field(..., max_length=64, description="Unique among the workspace's products; case kept")
    name: str = Field(..., max_length=200)
    unit_price: Decimal = Field(..., description="0 or more, at most 2 decimals")
    currency: str | None = Field(None, max_length=60, description="Default: the workspace's base currency")


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    description: str
    category: str
    unit_price: Decimal
    currency: str
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ProductListParams(Schema):
    q: str | None = Field(None, max_length=200, description="Part of the name or the SKU")
    category: str | None = Field(None, max_length=100)
    active: bool | None = None
    currency: str | None = Field(None, max_length=3)
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


@router.get("/products", response={200: PageOut[ProductOut], **ERRORS}, summary="List products")
def list_products(request: HttpRequest, params: Query[ProductListParams]) -> Any:
    """By name; one query per page."""
    qs = services.product_list(
        actor=_actor(request), q=params.q, category=params.category, active=params.active, currency=params.currency
    )
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("name", "id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/products", response={201: ProductOut, **ERRORS}, summary="Create a product")
@idempotent(ProductOut)
def create_product(request: HttpRequest, payload: ProductIn) -> Product:
    return services.product_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/products/{product_id}", response={200: ProductOut, **ERRORS}, summary="Get a product")
def get_product(request: HttpRequest, response: HttpResponse, product_id: int) -> Product:
    product = services.product_get(actor=_actor(request), product_id=product_id)
    with_etag(response, product)
    return product


@router.patch("/products/{product_id}", response={200: ProductOut, **ERRORS}, summary="Update a product")
def update_product(request: HttpRequest, response: HttpResponse, product_id: int, payload: ProductPatch) -> Product:
    actor = _actor(request)
    product = services.product_get(actor=actor, product_id=product_id, mode=Mode.WRITE)
    product = services.product_update(
        actor=actor, product=product, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, product)
    return product


@router.delete("/products/{product_id}", response={204: None, **ERRORS}, summary="Move a product to the trash")
def delete_product(request: HttpRequest, product_id: int) -> Status[None]:
    actor = _actor(request)
    services.product_delete(
        actor=actor, product=services.product_get(actor=actor, product_id=product_id, mode=Mode.WRITE)
    )
    return Status(204, None)


# --- competitors ------------------------------------------------------------------------------


class CompetitorPatch(StrictIn):
    name: str | None = Field(None, max_length=150, description="Unique in the workspace, ignoring case")
    website: str | None = Field(None, max_length=300, description="https:// is added when no scheme is given")
    strengths: str | None = Field(None, max_length=5000)
    weaknesses: str | None = Field(None, max_length=5000)


class CompetitorIn(CompetitorPatch):
    name: str = Field(..., max_length=150, description="Unique in the workspace, ignoring case")


class CompetitorOut(Schema):
    id: int
    name: str
    website: str
    strengths: str
    weaknesses: str
    version: int
    created_at: datetime
    updated_at: datetime


class CompetitorListParams(Schema):
    q: str | None = Field(None, max_length=150, description="Part of the name")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


@router.get("/competitors", response={200: PageOut[CompetitorOut], **ERRORS}, summary="List competitors")
def list_competitors(request: HttpRequest, params: Query[CompetitorListParams]) -> Any:
    qs = services.competitor_list(actor=_actor(request), q=params.q)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("name", "id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/competitors", response={201: CompetitorOut, **ERRORS}, summary="Create a competitor")
@idempotent(CompetitorOut)
def create_competitor(request: HttpRequest, payload: CompetitorIn) -> Competitor:
    return services.competitor_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/competitors/{competitor_id}", response={200: CompetitorOut, **ERRORS}, summary="Get a competitor")
def get_competitor(request: HttpRequest, response: HttpResponse, competitor_id: int) -> Competitor:
    competitor = services.competitor_get(actor=_actor(request), competitor_id=competitor_id)
    with_etag(response, competitor)
    return competitor


@router.patch("/competitors/{competitor_id}", response={200: CompetitorOut, **ERRORS}, summary="Update a competitor")
def update_competitor(
    request: HttpRequest, response: HttpResponse, competitor_id: int, payload: CompetitorPatch
) -> Competitor:
    actor = _actor(request)
    competitor = services.competitor_get(actor=actor, competitor_id=competitor_id, mode=Mode.WRITE)
    competitor = services.competitor_update(
        actor=actor, competitor=competitor, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, competitor)
    return competitor


@router.delete("/competitors/{competitor_id}", response={204: None, **ERRORS}, summary="Move a competitor to the trash")
def delete_competitor(request: HttpRequest, competitor_id: int) -> Status[None]:
    actor = _actor(request)
    competitor = services.competitor_get(actor=actor, competitor_id=competitor_id, mode=Mode.WRITE)
    services.competitor_delete(actor=actor, competitor=competitor)
    return Status(204, None)


# --- exchange rates ---------------------------------------------------------------------------


class ExchangeRateIn(StrictIn):
    currency: str = Field(..., max_length=60, description="ISO 4217 code; not the base currency")
    rate: Decimal = Field(..., description="Value of 1 unit of `currency` in the base currency; > 0")
    valid_from: date = Field(..., description="The first day the rate applies to")


class ExchangeRateOut(Schema):
    id: int
    currency: str
    rate: Decimal
    valid_from: date
    version: int
    created_at: datetime
    updated_at: datetime


class ExchangeRateListParams(Schema):
    currency: str | None = Field(None, max_length=60)
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


class ConvertParams(Schema):
    amount: Decimal = Field(..., max_digits=18, decimal_places=2)
    currency: str = Field(..., max_length=60)
    on: date | None = Field(None, description="The amount's date (default: today)")


class ConvertOut(Schema):
    amount: Decimal
    currency: str
    on: date
    base_currency: str
    rate: Decimal
    converted: Decimal = Field(..., description="In the base currency, rounded to the cent (half to even)")


@router.get("/exchange-rates", response={200: PageOut[ExchangeRateOut], **ERRORS}, summary="List exchange rates")
def list_rates(request: HttpRequest, params: Query[ExchangeRateListParams]) -> Any:
    """By currency, newest first."""
    qs = money.rate_list(actor=_actor(request), currency=params.currency)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("currency", "-valid_from", "-id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/exchange-rates/convert", response={200: ConvertOut, **ERRORS}, summary="Convert an amount")
def convert_amount(request: HttpRequest, params: Query[ConvertParams]) -> dict[str, Any]:
    """`amount` of `currency` on `on` in the workspace's base currency, with the latest rate on or
    before that day; 422 `missing_rate` when there is none."""
    org = _actor(request).org
    org.refresh_from_db(fields=["base_currency"])
    code = money.require_currency(params.currency)
    day = params.on or timezone.localdate()
    rates = money.rates_for(org, [code], day)
    converted = money.apply_rate(org, rates, params.amount, code, day)
    return {
        "amount": params.amount,
        "currency": code,
        "on": day,
        "base_currency": org.base_currency,
        "rate": rates.get(code, Decimal(1)),
        "converted": converted,
    }


@router.put(
    "/exchange-rates",
    response={200: ExchangeRateOut, 201: ExchangeRateOut, **ERRORS},
    summary="Set an exchange rate (create or replace)",
)
def put_rate(request: HttpRequest, response: HttpResponse, payload: ExchangeRateIn) -> Any:
    """Creates the rate of `currency` from `valid_from` (201) or replaces that day's rate (200)."""
    rate, created = money.rate_set(
        actor=_actor(request), currency=payload.currency, rate=payload.rate, valid_from=payload.valid_from
    )
    with_etag(response, rate)
    return Status(201 if created else 200, rate)


@router.post("/exchange-rates", response={201: ExchangeRateOut, **ERRORS}, summary="Add an exchange rate")
@idempotent(ExchangeRateOut)
def create_rate(request: HttpRequest, payload: ExchangeRateIn) -> ExchangeRate:
    """Adds a rate; 409 `rate_exists` when the currency already has one from that day (use PUT)."""
    rate, _ = money.rate_set(
        actor=_actor(request),
        currency=payload.currency,
        rate=payload.rate,
        valid_from=payload.valid_from,
        replace=False,
    )
    return rate


@router.get("/exchange-rates/{rate_id}", response={200: ExchangeRateOut, **ERRORS}, summary="Get an exchange rate")
def get_rate(request: HttpRequest, response: HttpResponse, rate_id: int) -> ExchangeRate:
    rate = money.rate_get(actor=_actor(request), rate_id=rate_id)
    with_etag(response, rate)
    return rate


@router.delete("/exchange-rates/{rate_id}", response={204: None, **ERRORS}, summary="Delete an exchange rate")
def delete_rate(request: HttpRequest, rate_id: int) -> Status[None]:
    actor = _actor(request)
    money.rate_delete(actor=actor, rate=money.rate_get(actor=actor, rate_id=rate_id))
    return Status(204, None)
