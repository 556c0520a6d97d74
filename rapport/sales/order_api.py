"""Orders API: one order at a time, and the bulk upsert by external_id that shops and ERPs use.
(No `from __future__ import annotations` in API modules: ninja reads the annotations.)

Orders follow the order permissions (Entity.ORDER: sales read their team's and write their own).
Updates need the order's ETag in If-Match; creates take an Idempotency-Key. POST /orders/bulk is
idempotent by nature (an order identical to the stored one is left unchanged); see
rapport.sales.order_bulk for its rules.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from rapport.accounts.roles import Mode
from rapport.contacts.schemas import Ref, UserRef
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import Id, StrictIn, UtcDatetime
from rapport.sales import order_bulk, order_services
from rapport.sales.models import Order, OrderStatus

router = Router(tags=["orders"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class _LineFields(BaseModel):
    product_id: Id | None = Field(None, description="A product of the catalogue")
    sku: str | None = Field(None, max_length=64, description="Finds the product by SKU when product_id is not given")
    name: str | None = Field(None, max_length=200, description="Default: the product's name")
    quantity: Decimal = Field(..., gt=0, lt=Decimal("1e11"), max_digits=14, decimal_places=3)
    unit_price: Decimal = Field(..., ge=0, lt=Decimal("1e16"), max_digits=18, decimal_places=2)
    discount_percent: Decimal = Field(Decimal(0), ge=0, le=100, max_digits=5, decimal_places=2)


class OrderLineIn(StrictIn, _LineFields):
    pass


class OrderPatch(StrictIn):
    external_id: str | None = Field(None, max_length=100, description="The order's id in the source system")
    contact_id: Id | None = Field(None, description="The customer (a contact), and/or company_id")
    company_id: Id | None = None
    customer_email: str | None = Field(
        None, max_length=254, description="The customer by email (instead of contact_id)"
    )
    ordered_at: UtcDatetime | None = None
    status: OrderStatus | None = None
    currency: str | None = Field(None, max_length=60, description="ISO 4217 code, e.g. EUR")
    lines: list[OrderLineIn] | None = Field(None, min_length=1, max_length=500, description="Replace all lines")


class OrderIn(OrderPatch):
    ordered_at: UtcDatetime
    currency: str = Field(..., max_length=60, description="ISO 4217 code, e.g. EUR")
    lines: list[OrderLineIn] = Field(..., min_length=1, max_length=500)


# The items of a bulk upsert are plain pydantic models (unknown keys refused, as StrictIn does):
# ninja's Schema adds a per-object validator for reading ORM objects, which on 6,000 nested objects
# a batch cost more than the whole upsert.
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderBulkLineIn(_Strict, _LineFields):
    pass


class OrderBulkItemIn(_Strict):
    external_id: str = Field(..., min_length=1, max_length=100, description="Required: the upsert key")
    contact_id: Id | None = Field(None, description="The customer (a contact), and/or company_id")
    company_id: Id | None = None
    customer_email: str | None = Field(
        None, max_length=254, description="The customer by email (instead of contact_id)"
    )
    customer_name: str | None = Field(None, max_length=200, description="For a new customer (create_customers)")
    ordered_at: UtcDatetime
    status: OrderStatus = OrderStatus.CONFIRMED
    currency: str = Field(..., max_length=60, description="ISO 4217 code, e.g. EUR")
    lines: list[OrderBulkLineIn] = Field(..., min_length=1, max_length=500)


class OrderBulkIn(StrictIn):
    items: list[OrderBulkItemIn] = Field(..., min_length=1, max_length=order_bulk.MAX_ITEMS)
    create_products: bool = Field(False, description="Unknown SKUs become products")
    create_customers: bool = Field(False, description="Unknown customer emails become contacts")


class OrderLineOut(Schema):
    product_id: int | None
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    line_total: Decimal


class OrderOut(Schema):
    id: int
    number: int
    external_id: str
    contact: Ref | None
    company: Ref | None
    ordered_at: datetime
    status: str
    currency: str
    total: Decimal
    lines: list[OrderLineOut]
    owner: UserRef | None
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.contact.pk, "name": str(obj.contact)} if obj.contact_id else None

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.company.pk, "name": obj.company.name} if obj.company_id else None

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner_id else None

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class OrderBulkItemOut(BaseModel):
    external_id: str
    id: int
    number: int
    status: str = Field(..., description="created, updated or unchanged")


class OrderBulkOut(BaseModel):
    items: list[OrderBulkItemOut]
    created: int
    updated: int
    unchanged: int


class OrderListParams(Schema):
    contact_id: Id | None = None
    company_id: Id | None = None
    status: OrderStatus | None = None
    ordered_from: date | None = Field(None, description="Placed on or after this day (UTC)")
    ordered_to: date | None = Field(None, description="Placed on or before this day (UTC)")
    external_id: str | None = Field(None, max_length=100)
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


@router.get("/orders", response={200: PageOut[OrderOut], **ERRORS}, summary="List orders")
def list_orders(request: HttpRequest, params: Query[OrderListParams]) -> Any:
    """Newest first (by ordered_at), keyset-paged; two queries per page (the orders, their lines)."""
    qs = order_services.order_list(
        actor=_actor(request),
        contact_id=params.contact_id,
        company_id=params.company_id,
        status=params.status,
        ordered_from=params.ordered_from,
        ordered_to=params.ordered_to,
        external_id=params.external_id,
    )
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("-ordered_at", "-id"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/orders", response={201: OrderOut, **ERRORS}, summary="Create an order")
@idempotent(OrderOut)
def create_order(request: HttpRequest, payload: OrderIn) -> Order:
    return order_services.order_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.post("/orders/bulk", response={200: OrderBulkOut, **ERRORS}, summary="Create or update orders by external_id")
def bulk_orders(request: HttpRequest, payload: OrderBulkIn) -> dict[str, Any]:
    """Up to 1,000 orders per call, all or nothing; an order equal to the stored one is "unchanged"."""
    data = payload.dict(exclude_unset=True)
    results = order_bulk.order_bulk_upsert(
        actor=_actor(request),
        items=data["items"],
        create_products=payload.create_products,
        create_customers=payload.create_customers,
    )
    counts = {status: 0 for status in (order_bulk.CREATED, order_bulk.UPDATED, order_bulk.UNCHANGED)}
    for item in results:
        counts[item.status] += 1
    items = [
        {"external_id": item.external_id, "id": item.id, "number": item.number, "status": item.status}
        for item in results
    ]
    return {"items": items, **counts}


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, summary="Get an order")
def get_order(request: HttpRequest, response: HttpResponse, order_id: int) -> Order:
    order = order_services.order_get(actor=_actor(request), order_id=order_id)
    with_etag(response, order)
    return order


@router.patch("/orders/{order_id}", response={200: OrderOut, **ERRORS}, summary="Update an order")
def update_order(request: HttpRequest, response: HttpResponse, order_id: int, payload: OrderPatch) -> Order:
    actor = _actor(request)
    order = order_services.order_get(actor=actor, order_id=order_id, mode=Mode.WRITE)
    order = order_services.order_update(
        actor=actor, order=order, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, order)
    return order


@router.delete("/orders/{order_id}", response={204: None, **ERRORS}, summary="Move an order to the trash")
def delete_order(request: HttpRequest, order_id: int) -> Status[None]:
    actor = _actor(request)
    order_services.order_delete(
        actor=actor, order=order_services.order_get(actor=actor, order_id=order_id, mode=Mode.WRITE)
    )
    return Status(204, None)
