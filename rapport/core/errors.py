"""Application errors. Services raise these; the API and the pages turn them into 4xx answers.

Every error carries a stable machine `code`, a human `message` and optional per-field messages,
rendered by the API as {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations


class ApplicationError(Exception):
    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        field: str | None = None,
        fields: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        self.code = code or self.code
        self.message = message or self.message
        self.fields = dict(fields or {})
        if field:
            self.fields.setdefault(field, self.message)
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def as_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(ApplicationError):
    status = 422
    code = "validation_error"
    message = "Some fields are not valid."


class NotAuthenticated(ApplicationError):
    status = 401
    code = "not_authenticated"
    message = "Authentication is required: send a valid bearer token or a session cookie."


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"
    message = "Your role does not allow this."


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    message = "No such record."


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class StaleVersion(ApplicationError):
    status = 412
    code = "stale_version"
    message = "The record was changed by someone else since you read it; reload it and try again."


class PreconditionRequired(ApplicationError):
    status = 428
    code = "precondition_required"
    message = "Send the record's ETag in an If-Match header to update it."


class TooManyRequests(ApplicationError):
    status = 429
    code = "too_many_requests"
    message = "Too many attempts; wait and try again."
