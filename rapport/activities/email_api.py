"""Email API: compose and queue an email (a new one, a reply, a meeting invitation), read its
sending state, and send a failed one again. (No `from __future__ import annotations` here.)

Sending happens in the worker after the request: the answer of `POST /emails` is the email with
`send_status` "queued"; poll `GET /emails/{id}` for "sent" or "failed" (with `send_error`). Every
answer carries the email's ETag, which changes with each step of its way out (queued, sending, sent
or failed), like any change of the activity.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router

from rapport.activities import email_services
from rapport.activities.email_selectors import email_get
from rapport.activities.models import Activity
from rapport.activities.schemas import ActivityOut
from rapport.core.http import idempotent, with_etag
from rapport.core.principal import Principal
from rapport.core.schemas import StrictIn

router = Router(tags=["emails"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 409, 412, 422, 428)}
ID = Field(None, ge=1, le=2**63 - 1)


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class EmailIn(StrictIn):
    to: list[str] | None = Field(
        None, max_length=50, description="Recipients; a reply or an invitation fills them in when empty"
    )
    cc: list[str] | None = Field(None, max_length=50)
    subject: str | None = Field(
        None, max_length=1000, description="One line; a reply defaults to 'Re: <subject>', an invitation to its title"
    )
    body: str | None = Field(None, max_length=20000, description="Markdown: sent as text and as sanitised HTML")
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1, description="The contact it is written from")
    company_id: int | None = ID
    reply_to_activity_id: int | None = Field(None, ge=1, le=2**63 - 1, description="The email this answers")
    invite_for_activity_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="A meeting: its .ics invitation is attached"
    )


class EmailOut(ActivityOut):
    message_id: str
    in_reply_to: str
    references: str
    thread_key: str
    email_from: str
    email_to: list[str]
    email_cc: list[str]
    send_status: str = Field(description="queued, sending, sent or failed")
    send_error: str
    sent_at: datetime | None


@router.post("/emails", response={201: EmailOut, **ERRORS}, summary="Compose an email and queue it for sending")
@idempotent(EmailOut)
def compose_email(request: HttpRequest, payload: EmailIn) -> Activity:
    """409 `smtp_not_configured` when the workspace has no SMTP server; 422 names every invalid
    field (a subject with a line break is refused, never sent)."""
    return email_services.email_compose(actor=_actor(request), data=payload.dict(exclude_unset=True))


@router.get("/emails/{activity_id}", response={200: EmailOut, **ERRORS}, summary="Get an email and its sending state")
def get_email(request: HttpRequest, response: HttpResponse, activity_id: int) -> Activity:
    """With the email's ETag (the If-Match of `PATCH /activities/{id}`)."""
    email = email_get(actor=_actor(request), activity_id=activity_id)
    with_etag(response, email)
    return email


@router.post("/emails/{activity_id}/resend", response={200: EmailOut, **ERRORS}, summary="Send a failed email again")
def resend_email(request: HttpRequest, response: HttpResponse, activity_id: int) -> Activity:
    """Only a failed email can be sent again (409 otherwise)."""
    actor = _actor(request)
    email = email_services.email_resend(actor=actor, activity=email_get(actor=actor, activity_id=activity_id))
    with_etag(response, email)
    return email
