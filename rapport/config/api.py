"""The one NinjaAPI: mounted at /api/v1/, OpenAPI at /api/openapi.json, docs at /api/docs.

Every error leaves in one shape: {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from rapport.accounts.api import router as accounts_router
from rapport.accounts.auth import API_AUTH
from rapport.activities.api import router as activities_router
from rapport.activities.attachment_api import router as attachments_router
from rapport.activities.email_api import router as emails_router
from rapport.activities.email_template_api import router as email_templates_router
from rapport.activities.task_api import router as tasks_router
from rapport.contacts.api import router as contacts_router
from rapport.core.api import router as core_router
from rapport.core.customfields.api import router as custom_fields_router
from rapport.core.errors import ApplicationError, ValidationFailed
from rapport.integrations.api import router as integrations_router
from rapport.integrations.mailbox_api import router as mailboxes_router
from rapport.sales.catalog_api import router as catalog_router
from rapport.sales.competitor_api import router as competitor_stats_router
from rapport.sales.dashboard_api import router as sales_dashboard_router
from rapport.sales.deal_api import router as deals_router
from rapport.sales.deal_line_api import router as deal_lines_router
from rapport.sales.forecast_api import router as forecast_router
from rapport.sales.lead_api import router as leads_router
from rapport.sales.order_api import router as orders_router
from rapport.sales.pipeline_api import router as pipelines_router
from rapport.sales.quote_api import router as quotes_router
from rapport.service.calendar_api import router as service_calendar_router
from rapport.service.canned_api import router as canned_replies_router
from rapport.service.dashboard_api import router as service_dashboard_router
from rapport.service.queue_api import router as queues_router
from rapport.service.routing_rule_api import router as routing_rules_router
from rapport.service.sla_policy_api import router as sla_policies_router
from rapport.service.support_mailbox_api import router as support_mailboxes_router
from rapport.service.ticket_api import router as tickets_router

log = logging.getLogger(__name__)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class TextParser(Parser):
    """JSON bodies and query strings, refusing NUL characters: no text column can store one
    (PostgreSQL rejects them), so they are bad input (400 in a body, 422 in the query)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if _has_nul(data):
            raise ValueError("the body contains a NUL character")
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        for key, value in result.items():
            if _has_nul(key) or _has_nul(value):
                raise ValidationFailed("invalid_characters", "Text may not contain NUL characters.", field=str(key))
        return result


api = NinjaAPI(
    title="Rapport API",
    version="1",
    description=(
        "The Rapport CRM API. Authenticate with `Authorization: Bearer <token>` "
        "(create a token with POST /api/v1/auth/token or on the settings page). "
        'Errors: `{"error": {"code", "message", "fields"}}`.'
    ),
    auth=API_AUTH,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    parser=TextParser(),
)

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "stale_version",
    413: "file_too_large",
    422: "validation_error",
    428: "precondition_required",
    429: "too_many_requests",
}


def error_response(
    request: HttpRequest, status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.fields)


def _field_name(loc: list[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    # ninja nests the body under the parameter name ("payload"); drop it when it is the only wrapper.
    if len(parts) > 1 and parts[0] in {"payload", "body", "data", "filters"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for err in exc.errors:
        fields.setdefault(_field_name(list(err.get("loc", []))), str(err.get("msg", "Invalid value.")))
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return error_response(request, 422, "validation_error", f"Invalid input — {summary}", fields)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, 401, "not_authenticated", "Authentication is required: send a valid bearer token or a session cookie."
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in str(exc):
        # django-ninja's cookie auth refuses a session write without a valid CSRF token.
        return error_response(
            request,
            403,
            "csrf_failed",
            "CSRF check failed: send the csrftoken cookie's value in an X-CSRFToken header.",
        )
    return error_response(request, exc.status_code, _CODES.get(exc.status_code, "error"), str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "No such record.")


@api.exception_handler(DjangoPermissionDenied)
def on_permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return error_response(request, 403, "permission_denied", str(exc) or "Your role does not allow this.")


api.add_router("/v1/", accounts_router)
api.add_router("/v1/", core_router)
api.add_router("/v1/", custom_fields_router)
api.add_router("/v1/", contacts_router)
api.add_router("/v1/", activities_router)
api.add_router("/v1/", attachments_router)
api.add_router("/v1/", tasks_router)
api.add_router("/v1/", email_templates_router)
api.add_router("/v1/", emails_router)
api.add_router("/v1/", integrations_router)
api.add_router("/v1/", mailboxes_router)
api.add_router("/v1/", deals_router)
api.add_router("/v1/", deal_lines_router)
api.add_router("/v1/", quotes_router)
api.add_router("/v1/", leads_router)
api.add_router("/v1/", orders_router)
# Before the catalogue: /competitors/stats must not be taken for /competitors/{competitor_id}.
api.add_router("/v1/", competitor_stats_router)
api.add_router("/v1/", catalog_router)
api.add_router("/v1/", sales_dashboard_router)
api.add_router("/v1/", pipelines_router)
api.add_router("/v1/", forecast_router)
api.add_router("/v1/", service_dashboard_router)
api.add_router("/v1/", canned_replies_router)
api.add_router("/v1/", tickets_router)
api.add_router("/v1/", queues_router)
api.add_router("/v1/", support_mailboxes_router)
api.add_router("/v1/", routing_rules_router)
api.add_router("/v1/", sla_policies_router)
api.add_router("/v1/", service_calendar_router)
