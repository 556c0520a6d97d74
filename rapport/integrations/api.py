"""Integrations API: the workspace's outgoing mail server (admins only). (No `from __future__
import annotations` in API modules.)

The password is write-only: send it to set or change it, leave it out to keep it, send "" to
remove it; answers only say whether one is set (`has_password`).
"""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn
from rapport.integrations import smtp_services
from rapport.integrations.models import SmtpServer

router = Router(tags=["mail"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 422)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class SmtpServerIn(StrictIn):
    host: str = Field(..., max_length=255)
    port: int = Field(587, ge=1, le=65535)
    security: str = Field("starttls", max_length=10, description="ssl, starttls or none (local servers only)")
    username: str = Field("", max_length=255)
    password: str | None = Field(None, max_length=1000, description="Write-only; omit to keep, '' to remove")
    from_email: str = Field(
        "", max_length=254, description="Send as this address (members become Reply-To); empty: as each member"
    )


class SmtpServerOut(Schema):
    host: str
    port: int
    security: str
    username: str
    from_email: str
    has_password: bool

    @staticmethod
    def resolve_has_password(obj: SmtpServer) -> bool:
        return bool(obj.password_secret)


class SmtpTestOut(Schema):
    ok: bool
    message: str


@router.get("/mail/smtp", response={200: SmtpServerOut, **ERRORS}, summary="Get the outgoing mail server")
def get_smtp(request: HttpRequest) -> SmtpServer:
    """404 `smtp_not_configured` when none is set."""
    return smtp_services.smtp_get(actor=_actor(request))


@router.put("/mail/smtp", response={200: SmtpServerOut, **ERRORS}, summary="Set the outgoing mail server")
def put_smtp(request: HttpRequest, payload: SmtpServerIn) -> SmtpServer:
    return smtp_services.smtp_set(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.delete("/mail/smtp", response={204: None, **ERRORS}, summary="Remove the outgoing mail server")
def delete_smtp(request: HttpRequest) -> Status[None]:
    smtp_services.smtp_delete(actor=_actor(request))
    return Status(204, None)


@router.post("/mail/smtp/test", response={200: SmtpTestOut, **ERRORS}, summary="Test the outgoing mail server")
def test_smtp(request: HttpRequest) -> smtp_services.SmtpTestResult:
    """Connects and logs in with the saved settings (nothing is sent); `ok` false with a message
    saying what went wrong."""
    return smtp_services.smtp_test(actor=_actor(request))
