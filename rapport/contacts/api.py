"""Contacts and companies API: CRUD, filtered lists, trash, bulk upsert.

(No `from __future__ import annotations` in API modules: ninja reads the real annotations.)
"""

from collections.abc import Callable
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ValidationError

from rapport.accounts.roles import Entity, Mode
from rapport.contacts import bulk as bulk_actions
from rapport.contacts import saved_views, selectors, services
from rapport.contacts.models import Company, Contact
from rapport.contacts.schemas import (
    BulkResult,
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    ContactIn,
    ContactListItem,
    ContactOut,
    ContactPatch,
)
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, ValidationFailed
from rapport.core.filtering import parse_conditions
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn

router = Router(tags=["contacts"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
BULK_MAX = 1000


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class ListParams(Schema):
    filter: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Conditions as field:operator:value, e.g. country:eq:FR, "
        "created_at:after:2026-01-01, tag:in:vip,partner. Repeat to combine.",
    )
    sort: str | None = Field(None, max_length=60, description="A sortable field, '-' for descending.")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT
    trashed: bool = Field(False, description="List the trash instead (records deleted in the last 30 days).")


def _list(request: HttpRequest, params: ListParams, select: Callable[..., Any], item: Callable[..., Any]) -> Any:
    """One page as JSON: its rows are read with one query as plain values and rendered as they are
    (the items have the documented schema already; validating 50 of them again is what made lists slow)."""
    qs, ordering = select(
        actor=_actor(request), conditions=parse_conditions(params.filter), sort=params.sort, trashed=params.trashed
    )
    page = paginate(selectors.list_values(qs, ordering), cursor=params.cursor, limit=params.limit, ordering=ordering)
    body = {"items": [item(row) for row in page.items], "next_cursor": page.next_cursor}
    from rapport.config.api import api  # the NinjaAPI this router is mounted on (imported late: it imports us)

    return api.create_response(request, body, status=200)


# --- bulk upsert ----------------------------------------------------------------------------


class BulkIn(StrictIn):
    records: list[dict[str, Any]] = Field(..., min_length=1, max_length=BULK_MAX)
    match_on: Literal["external_id", "email"] = Field(
        "external_id",
        description="Update the record with this external id — or, with 'email', the contact with this primary "
        "email / the company with this domain — and create one otherwise.",
    )


class BulkOut(Schema):
    created: int
    updated: int
    errors: int
    results: list[BulkResult]


def _schema_error(exc: ValidationError) -> dict[str, Any]:
    fields = {".".join(str(p) for p in err["loc"]): err["msg"] for err in exc.errors()}
    return {"code": "validation_error", "message": "Some fields are not valid.", "fields": fields}


def _bulk(request: HttpRequest, payload: BulkIn, kind: Literal["contact", "company"]) -> dict[str, Any]:
    actor = _actor(request)
    schema = ContactIn if kind == "contact" else CompanyIn
    model: Any = Contact if kind == "contact" else Company
    entity = Entity.CONTACT if kind == "contact" else Entity.COMPANY
    create: Callable[..., Any] = services.contact_create if kind == "contact" else services.company_create
    results: list[dict[str, Any]] = []
    for index, record in enumerate(payload.records):
        try:
            data = schema.model_validate(record).dict(exclude_unset=True)
        except ValidationError as exc:
            results.append({"index": index, "status": "error", "error": _schema_error(exc)})
            continue
        try:
            # One savepoint per record: a bad record leaves nothing half-written and spares the others.
            with transaction.atomic():
                existing = _match(actor, model, entity, payload.match_on, data)
                if existing is None:
                    obj = create(actor=actor, data=data)
                    results.append({"index": index, "status": "created", "id": obj.pk})
                else:
                    if kind == "contact":
                        services.contact_update(actor=actor, contact=existing, data=data, expected_version=None)
                    else:
                        services.company_update(actor=actor, company=existing, data=data, expected_version=None)
                    results.append({"index": index, "status": "updated", "id": existing.pk})
        except ApplicationError as exc:
            results.append({"index": index, "status": "error", "error": exc.as_dict()["error"]})
    counts = {status: sum(r["status"] == status for r in results) for status in ("created", "updated", "error")}
    return {"created": counts["created"], "updated": counts["updated"], "errors": counts["error"], "results": results}


def _match(actor: Principal, model: Any, entity: Entity, match_on: str, data: dict[str, Any]) -> Any:
    key: Any
    if match_on == "external_id":
        key = data.get("external_id")
        lookup = {"external_id": key}
    else:
        emails = data.get("emails") or []
        key = next((e["email"] for e in emails if e.get("is_primary")), emails[0]["email"] if emails else None)
        lookup = {"email": str(key).strip().lower()} if key else {}
        if model is Company:
            key = data.get("domain")
            lookup = {"domain": str(key).strip().lower()} if key else {}
    if not key:
        return None
    found = model.objects.alive().filter(org_id=actor.org_id, **lookup).order_by("id").first()
    if found is None:
        return None
    writable = scope(actor, model.objects.alive(), entity, Mode.WRITE).filter(pk=found.pk).first()
    if writable is None:
        raise ApplicationError("permission_denied", "A matching record exists that you may not change.", status=403)
    return writable


class BulkActionIn(StrictIn):
    filter: list[str] | None = Field(
        None, max_length=50, description="Apply to every contact matching these conditions (as on the list)."
    )
    ids: list[int] | None = Field(None, max_length=bulk_actions.MAX_IDS, description="Or apply to these contacts.")
    action: Literal["assign_owner", "add_tag", "remove_tag", "set_lifecycle_stage", "trash"]
    value: int | str | None = Field(None, description="User id, tag name or lifecycle stage, as the action needs.")


class BulkActionOut(Schema):
    matched: int
    changed: int
    skipped: int
    not_found: int


def _bulk_action(request: HttpRequest, payload: Any, service: Callable[..., Any]) -> dict[str, Any]:
    if (payload.filter is None) == (payload.ids is None):
        raise ValidationFailed("invalid", "Give either 'filter' or 'ids'.", field="filter")
    result = service(
        actor=_actor(request),
        conditions=parse_conditions(payload.filter or []),
        ids=payload.ids,
        action=payload.action,
        value=payload.value,
    )
    return dict(result.__dict__)


@router.post(
    "/contacts/bulk-actions",
    response={200: BulkActionOut, **ERRORS},
    summary="Apply one action to selected contacts or to a whole filtered list",
)
def bulk_action_contacts(request: HttpRequest, payload: BulkActionIn) -> Any:
    return _bulk_action(request, payload, bulk_actions.contact_bulk_update)


class CompanyBulkActionIn(StrictIn):
    filter: list[str] | None = Field(
        None, max_length=50, description="Apply to every company matching these conditions (as on the list)."
    )
    ids: list[int] | None = Field(None, max_length=bulk_actions.MAX_IDS, description="Or apply to these companies.")
    action: Literal["assign_owner", "add_tag", "remove_tag", "trash"]
    value: int | str | None = Field(None, description="User id or tag name, as the action needs.")


@router.post(
    "/companies/bulk-actions",
    response={200: BulkActionOut, **ERRORS},
    summary="Apply one action to selected companies or to a whole filtered list",
)
def bulk_action_companies(request: HttpRequest, payload: CompanyBulkActionIn) -> Any:
    return _bulk_action(request, payload, bulk_actions.company_bulk_update)


@router.post("/contacts/bulk", response={200: BulkOut, **ERRORS}, summary="Create or update up to 1,000 contacts")
def bulk_contacts(request: HttpRequest, payload: BulkIn) -> dict[str, Any]:
    return _bulk(request, payload, "contact")


@router.post("/companies/bulk", response={200: BulkOut, **ERRORS}, summary="Create or update up to 1,000 companies")
def bulk_companies(request: HttpRequest, payload: BulkIn) -> dict[str, Any]:
    return _bulk(request, payload, "company")


# --- contacts -------------------------------------------------------------------------------


@router.get("/contacts", response={200: PageOut[ContactListItem], **ERRORS}, summary="List contacts")
def list_contacts(request: HttpRequest, params: Query[ListParams]) -> Any:
    """One SQL query per page. Items carry the primary `email` and `phone`; GET /contacts/{id} has all of them."""
    return _list(request, params, selectors.contact_list, selectors.contact_list_item)


@router.post("/contacts", response={201: ContactOut, **ERRORS}, summary="Create a contact")
@idempotent(ContactOut)
def create_contact(request: HttpRequest, payload: ContactIn) -> Contact:
    return services.contact_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact")
def get_contact(request: HttpRequest, response: HttpResponse, contact_id: int) -> Contact:
    contact = selectors.contact_get(actor=_actor(request), contact_id=contact_id)
    with_etag(response, contact)
    return contact


@router.patch("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Update a contact")
def update_contact(request: HttpRequest, response: HttpResponse, contact_id: int, payload: ContactPatch) -> Contact:
    actor = _actor(request)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id, mode=Mode.WRITE)
    version = if_match(request)
    contact = services.contact_update(
        actor=actor, contact=contact, data=payload.dict(exclude_unset=True), expected_version=version
    )
    with_etag(response, contact)
    return contact


@router.delete("/contacts/{contact_id}", response={204: None, **ERRORS}, summary="Move a contact to the trash")
def delete_contact(request: HttpRequest, contact_id: int) -> Status[None]:
    actor = _actor(request)
    services.contact_delete(
        actor=actor, contact=selectors.contact_get(actor=actor, contact_id=contact_id, mode=Mode.WRITE)
    )
    return Status(204, None)


@router.post(
    "/contacts/{contact_id}/restore", response={200: ContactOut, **ERRORS}, summary="Restore a contact from the trash"
)
def restore_contact(request: HttpRequest, response: HttpResponse, contact_id: int) -> Contact:
    actor = _actor(request)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id, mode=Mode.WRITE, trashed=True)
    services.contact_restore(actor=actor, contact=contact)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id)
    with_etag(response, contact)
    return contact


# --- companies ------------------------------------------------------------------------------


@router.get("/companies", response={200: PageOut[CompanyOut], **ERRORS}, summary="List companies")
def list_companies(request: HttpRequest, params: Query[ListParams]) -> Any:
    return _list(request, params, selectors.company_list, selectors.company_list_item)


@router.post("/companies", response={201: CompanyOut, **ERRORS}, summary="Create a company")
@idempotent(CompanyOut)
def create_company(request: HttpRequest, payload: CompanyIn) -> Company:
    return services.company_create(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/companies/{company_id}", response={200: CompanyOut, **ERRORS}, summary="Get a company")
def get_company(request: HttpRequest, response: HttpResponse, company_id: int) -> Company:
    company = selectors.company_get(actor=_actor(request), company_id=company_id)
    with_etag(response, company)
    return company


@router.patch("/companies/{company_id}", response={200: CompanyOut, **ERRORS}, summary="Update a company")
def update_company(request: HttpRequest, response: HttpResponse, company_id: int, payload: CompanyPatch) -> Company:
    actor = _actor(request)
    company = selectors.company_get(actor=actor, company_id=company_id, mode=Mode.WRITE)
    version = if_match(request)
    company = services.company_update(
        actor=actor, company=company, data=payload.dict(exclude_unset=True), expected_version=version
    )
    with_etag(response, company)
    return company


@router.delete("/companies/{company_id}", response={204: None, **ERRORS}, summary="Move a company to the trash")
def delete_company(request: HttpRequest, company_id: int) -> Status[None]:
    actor = _actor(request)
    services.company_delete(
        actor=actor, company=selectors.company_get(actor=actor, company_id=company_id, mode=Mode.WRITE)
    )
    return Status(204, None)


@router.post(
    "/companies/{company_id}/restore", response={200: CompanyOut, **ERRORS}, summary="Restore a company from the trash"
)
def restore_company(request: HttpRequest, response: HttpResponse, company_id: int) -> Company:
    actor = _actor(request)
    company = selectors.company_get(actor=actor, company_id=company_id, mode=Mode.WRITE, trashed=True)
    services.company_restore(actor=actor, company=company)
    company = selectors.company_get(actor=actor, company_id=company_id)
    with_etag(response, company)
    return company


# --- global search --------------------------------------------------------------------------


class SearchHitOut(Schema):
    kind: str
    label: str
    detail: str
    url: str


@router.get("/search", response={200: list[SearchHitOut], **ERRORS}, summary="Search everything", tags=["search"])
def search(request: HttpRequest, q: str = Query(..., max_length=200), limit: int = Query(20, ge=1, le=100)) -> Any:
    """Contacts and companies (by name prefix, email, phone in any format, domain, with typo tolerance),
    then settings pages and members; only what the caller may see."""
    from rapport.core.search import search as run_search

    return run_search(actor=_actor(request), q=q, limit=limit)


# --- saved views ----------------------------------------------------------------------------


class SavedViewIn(StrictIn):
    name: str = Field(..., max_length=100)
    entity: Literal["contact", "company"]
    conditions: list[str] = Field(default_factory=list, max_length=50)
    sort: str = Field("", max_length=60)
    columns: list[str] = Field(default_factory=list, max_length=20)
    team_id: int | None = None


class SavedViewPatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    conditions: list[str] | None = Field(None, max_length=50)
    sort: str | None = Field(None, max_length=60)
    columns: list[str] | None = Field(None, max_length=20)
    team_id: int | None = None


class SavedViewOut(Schema):
    id: int
    name: str
    entity: str
    conditions: list[str]
    sort: str
    columns: list[str]
    team_id: int | None
    owner_id: int


@router.get(
    "/views", response={200: list[SavedViewOut], **ERRORS}, summary="List my and my teams' saved views", tags=["views"]
)
def list_views(request: HttpRequest, entity: Literal["contact", "company"] | None = None) -> Any:
    return list(saved_views.saved_view_list(actor=_actor(request), entity=entity))


@router.post("/views", response={201: SavedViewOut, **ERRORS}, summary="Save a view", tags=["views"])
def create_view(request: HttpRequest, payload: SavedViewIn) -> Any:
    return Status(201, saved_views.saved_view_create(actor=_actor(request), data=payload.dict()))


@router.get("/views/{view_id}", response={200: SavedViewOut, **ERRORS}, summary="Get a saved view", tags=["views"])
def get_view(request: HttpRequest, view_id: int) -> Any:
    return saved_views.saved_view_get(actor=_actor(request), view_id=view_id)


@router.patch("/views/{view_id}", response={200: SavedViewOut, **ERRORS}, summary="Change a saved view", tags=["views"])
def update_view(request: HttpRequest, view_id: int, payload: SavedViewPatch) -> Any:
    actor = _actor(request)
    view = saved_views.saved_view_get(actor=actor, view_id=view_id, write=True)
    return saved_views.saved_view_update(actor=actor, view=view, data=payload.dict(exclude_unset=True))


@router.delete("/views/{view_id}", response={204: None, **ERRORS}, summary="Delete a saved view", tags=["views"])
def delete_view(request: HttpRequest, view_id: int) -> Status[None]:
    actor = _actor(request)
    saved_views.saved_view_delete(
        actor=actor, view=saved_views.saved_view_get(actor=actor, view_id=view_id, write=True)
    )
    return Status(204, None)
