"""Request id: taken from X-Request-ID when sane, else generated; echoed back and put on events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from rapport.core.context import request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class ApiErrorShapeMiddleware:
    """API requests that reach no endpoint (an unknown path: 404, a method the path does not take:
    405) answer in the API's error shape, like every other API error, instead of an HTML page."""

    PREFIX = "/api/v1/"
    ANSWERS = {
        404: ("not_found", "There is no such API endpoint."),
        405: ("method_not_allowed", "This endpoint does not accept that method."),
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        answer = self.ANSWERS.get(response.status_code)
        if answer is None or not request.path.startswith(self.PREFIX):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = answer
        shaped = JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=response.status_code)
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped
