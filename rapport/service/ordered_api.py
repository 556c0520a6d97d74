"""The API of an ordered configuration list: routing rules and SLA policies. (No `from __future__
import annotations` in API modules: ninja reads the annotations.)

`add_ordered_routes` puts one kind's six endpoints on a router, the same way for both: list in
the order they are tried (cursor pages), add last (Idempotency-Key), put them in a new order, get
one (ETag), change one (If-Match), delete one. Each endpoint keeps the name, summary and
operation id it would have had written out in the kind's own module.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Schema, Status
from pydantic import create_model

from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import PageOut, paginate
from rapport.core.principal import Principal
from rapport.service.config_selectors import ORDERED, one
from rapport.service.ordered_config import OrderedKind
from rapport.service.queue_api import ERRORS, ListParams


class Words(NamedTuple):
    """How one kind is named: its path, its functions' names and its summaries."""

    path: str  # "/routing-rules"
    one: str  # "rule": get_rule, update_rule …, path parameter rule_id
    many: str  # "rules": list_rules, reorder_rules, "Put the rules in a new order"
    label: str  # "a routing rule": "Get a routing rule"
    labels: str  # "routing rules": "List routing rules"


class Schemas(NamedTuple):
    out: type[Schema]
    create_in: type[Schema]
    patch_in: type[Schema]
    order_in: type[Schema]  # its one field is the kind's `ids_field`


Rows = Callable[..., QuerySet[Any]]


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def add_ordered_routes(
    router: Router, words: Words, schemas: Schemas, kind: OrderedKind[Any], rows: Rows, *, doc: str, module: str
) -> None:
    """Register one kind's six endpoints on `router`, named as functions of `module`. `rows` is the
    kind's list selector; `doc` describes the list endpoint."""
    out, record_path, id_name = schemas.out, f"{words.path}/{{{words.one}_id}}", f"{words.one}_id"
    responses = {200: out, **ERRORS}

    def get(actor: Principal, pk: int) -> Any:
        return one(rows(actor=actor), pk)

    def named(name: str, description: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def rename(view: Callable[..., Any]) -> Callable[..., Any]:
            view.__name__ = view.__qualname__ = name
            view.__module__, view.__doc__ = module, description or None
            return view

        return rename

    @router.get(words.path, response={200: PageOut[out], **ERRORS}, summary=f"List {words.labels}")  # type: ignore[valid-type]
    @named(f"list_{words.many}", doc)
    def list_records(request: HttpRequest, params: Query[ListParams]) -> Any:
        qs = rows(actor=_actor(request))
        return paginate(qs, cursor=params.cursor, limit=params.limit, ordering=ORDERED)

    @router.post(words.path, response={201: out, **ERRORS}, summary=f"Add {words.label} (last)")
    @idempotent(out)
    @named(f"create_{words.one}")
    def create_record(request: HttpRequest, payload: schemas.create_in) -> Any:  # type: ignore[name-defined]
        actor = _actor(request)
        record = kind.create(actor=actor, data=payload.dict(exclude_unset=True))
        return get(actor, record.pk)

    order_path, order_summary = f"{words.path}/order", f"Put the {words.many} in a new order"
    order_out = create_model(f"{out.__name__.removesuffix('Out')}ListOut", __base__=Schema, items=(list[out], ...))  # type: ignore[valid-type]

    @router.post(order_path, response={200: order_out, **ERRORS}, summary=order_summary)
    @named(f"reorder_{words.many}")
    def reorder_records(request: HttpRequest, payload: schemas.order_in) -> Any:  # type: ignore[name-defined]
        actor = _actor(request)
        kind.reorder(actor=actor, ids=getattr(payload, kind.ids_field))
        return {"items": list(rows(actor=actor).order_by(*ORDERED))}

    @router.get(record_path, response=responses, summary=f"Get {words.label}")
    @named(f"get_{words.one}")
    def get_record(request: HttpRequest, response: HttpResponse, pk: int = Path(..., alias=id_name)) -> Any:
        record = get(_actor(request), pk)
        with_etag(response, record)
        return record

    @router.patch(record_path, response=responses, summary=f"Change {words.label}")
    @named(f"update_{words.one}")
    def update_record(
        request: HttpRequest,
        response: HttpResponse,
        payload: schemas.patch_in,  # type: ignore[name-defined]
        pk: int = Path(..., alias=id_name),
    ) -> Any:
        actor = _actor(request)
        data = payload.dict(exclude_unset=True)
        kind.update(actor=actor, record=get(actor, pk), data=data, expected_version=if_match(request))
        record = get(actor, pk)
        with_etag(response, record)
        return record

    @router.delete(record_path, response={204: None, **ERRORS}, summary=f"Delete {words.label}")
    @named(f"delete_{words.one}")
    def delete_record(request: HttpRequest, pk: int = Path(..., alias=id_name)) -> Status[None]:
        actor = _actor(request)
        kind.delete(actor=actor, record=get(actor, pk))
        return Status(204, None)
