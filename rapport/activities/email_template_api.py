"""Email templates API. (No `from __future__ import annotations` in API modules.)

Any member may list, read and render templates; creating needs a role that may write activities;
changing and deleting a template is for its owner and for admins (see email_template_services).
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.accounts.roles import Entity, Mode
from rapport.activities import email_template_services as services
from rapport.activities.email_templates import merge_fields
from rapport.activities.models import EmailTemplate
from rapport.contacts.models import Company, Contact
from rapport.contacts.schemas import UserRef
from rapport.core.access import access
from rapport.core.http import idempotent, if_match, with_etag
from rapport.core.pagination import DEFAULT_LIMIT, PageOut, paginate
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn

router = Router(tags=["email templates"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
ID = Field(None, ge=1, le=2**63 - 1)


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class EmailTemplatePatch(StrictIn):
    name: str | None = Field(None, max_length=services.NAME_MAX)
    subject: str | None = Field(
        None,
        max_length=services.SUBJECT_MAX,
        description="One line, with merge fields",
    )
    body: str | None = Field(None, max_length=services.BODY_MAX, description="Markdown with merge fields")


class EmailTemplateIn(EmailTemplatePatch):
    name: str = Field(..., max_length=services.NAME_MAX)


class EmailTemplateOut(Schema):
    id: int
    name: str
    subject: str
    body: str
    owner: UserRef | None
    can_edit: bool = Field(False, description="Whether the caller may change or delete it")
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": obj.owner.display_name, "email": obj.owner.email} if obj.owner else None


class EmailTemplateListParams(Schema):
    q: str | None = Field(None, max_length=100, description="Part of the name")
    cursor: str | None = Field(None, max_length=500)
    limit: int = DEFAULT_LIMIT


class RenderIn(StrictIn):
    contact_id: int | None = ID
    company_id: int | None = ID


class RenderOut(Schema):
    subject: str
    body: str = Field(..., description="Markdown source")


class MergeFieldOut(Schema):
    name: str
    label: str
    example: str


def _out(actor: Principal, template: EmailTemplate) -> EmailTemplate:
    template.can_edit = services.can_edit(actor, template)  # type: ignore[attr-defined]
    return template


@router.get("/email-templates", response={200: PageOut[EmailTemplateOut], **ERRORS}, summary="List email templates")
def list_templates(request: HttpRequest, params: Query[EmailTemplateListParams]) -> Any:
    """Every live template of the workspace, by name; one query per page."""
    actor = _actor(request)
    qs = services.email_template_list(actor=actor, q=params.q)
    page = paginate(qs, cursor=params.cursor, limit=params.limit, ordering=("sort_name", "id"))
    return {"items": [_out(actor, t) for t in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/email-templates/fields", response={200: list[MergeFieldOut], **ERRORS}, summary="Merge fields templates may use"
)
def list_merge_fields(request: HttpRequest) -> Any:
    return merge_fields(actor=_actor(request))


@router.post("/email-templates", response={201: EmailTemplateOut, **ERRORS}, summary="Create an email template")
@idempotent(EmailTemplateOut)
def create_template(request: HttpRequest, payload: EmailTemplateIn) -> EmailTemplate:
    actor = _actor(request)
    return _out(actor, services.email_template_create(actor=actor, data=payload.dict(exclude_unset=True)))


@router.get("/email-templates/{template_id}", response={200: EmailTemplateOut, **ERRORS}, summary="Get a template")
def get_template(request: HttpRequest, response: HttpResponse, template_id: int) -> EmailTemplate:
    actor = _actor(request)
    template = services.email_template_get(actor=actor, template_id=template_id)
    with_etag(response, template)
    return _out(actor, template)


@router.patch("/email-templates/{template_id}", response={200: EmailTemplateOut, **ERRORS}, summary="Update a template")
def update_template(
    request: HttpRequest, response: HttpResponse, template_id: int, payload: EmailTemplatePatch
) -> EmailTemplate:
    actor = _actor(request)
    template = services.email_template_get(actor=actor, template_id=template_id, mode=Mode.WRITE)
    template = services.email_template_update(
        actor=actor, template=template, data=payload.dict(exclude_unset=True), expected_version=if_match(request)
    )
    with_etag(response, template)
    return _out(actor, template)


@router.delete("/email-templates/{template_id}", response={204: None, **ERRORS}, summary="Delete a template")
def delete_template(request: HttpRequest, template_id: int) -> Status[None]:
    actor = _actor(request)
    template = services.email_template_get(actor=actor, template_id=template_id, mode=Mode.WRITE)
    services.email_template_delete(actor=actor, template=template)
    return Status(204, None)


@router.post(
    "/email-templates/{template_id}/render",
    response={200: RenderOut, **ERRORS},
    summary="Render a template for a contact",
)
def render_template(request: HttpRequest, template_id: int, payload: RenderIn) -> dict[str, str]:
    """The subject and body with the merge fields of `contact_id` (and its company, or
    `company_id`) filled in. A contact or company you cannot read answers 404."""
    actor = _actor(request)
    template = services.email_template_get(actor=actor, template_id=template_id)
    contact = access(actor, Contact.objects.alive(), payload.contact_id, Entity.CONTACT) if payload.contact_id else None
    company = access(actor, Company.objects.alive(), payload.company_id, Entity.COMPANY) if payload.company_id else None
    subject, body = services.email_template_render(actor=actor, template=template, contact=contact, company=company)
    return {"subject": subject, "body": body}
