"""Attachments API: list, upload, read, download and delete the files of an activity.

Whoever may read the activity may list and download its files; whoever may change it may upload
and delete them. Uploads are multipart (field `file`); a file over the limit answers 413
`file_too_large`, a program or script or one file too many 422, and nothing is stored.
Uploads take no Idempotency-Key: a repeated upload is a second attachment (compare `sha256`).
(No `from __future__ import annotations` in API modules.)
"""

from datetime import datetime
from typing import Any

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import File, Router, Schema, Status, UploadedFile

from rapport.accounts.roles import Mode
from rapport.activities import attachments, selectors
from rapport.activities.attachment_views import download_response
from rapport.activities.models import Attachment
from rapport.contacts.schemas import UserRef
from rapport.core.principal import Principal

router = Router(tags=["attachments"])
ERRORS: dict[int, Any] = {code: dict for code in (400, 401, 403, 404, 413, 422)}


def _actor(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class AttachmentOut(Schema):
    id: int
    activity_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    created_by: UserRef | None
    download_url: str

    @staticmethod
    def resolve_created_by(obj: Attachment) -> dict[str, Any] | None:
        user = obj.created_by
        return {"id": user.pk, "name": user.display_name, "email": user.email} if user else None

    @staticmethod
    def resolve_download_url(obj: Attachment) -> str:
        return reverse("api:download_attachment", kwargs={"attachment_id": obj.pk})


@router.get(
    "/activities/{activity_id}/attachments",
    response={200: list[AttachmentOut], **ERRORS},
    summary="List the files attached to an activity",
)
def list_attachments(request: HttpRequest, activity_id: int) -> Any:
    """Oldest first; an activity holds at most a few (ATTACHMENT_MAX_PER_ACTIVITY), so no paging."""
    actor = _actor(request)
    activity = selectors.activity_get(actor=actor, activity_id=activity_id)
    return list(attachments.attachment_list(actor=actor, activity=activity))


@router.post(
    "/activities/{activity_id}/attachments",
    response={201: AttachmentOut, **ERRORS},
    summary="Attach a file to an activity",
)
def upload_attachment(request: HttpRequest, activity_id: int, file: File[UploadedFile]) -> Any:
    """Multipart, field `file`. Refused with nothing stored: over the size limit (413
    `file_too_large`), programs and scripts (422 `blocked_file_type`), one file too many (422
    `too_many_attachments`)."""
    actor = _actor(request)
    activity = selectors.activity_get(actor=actor, activity_id=activity_id, mode=Mode.WRITE)
    attachment = attachments.attachment_add(actor=actor, activity=activity, file=file)
    return Status(201, attachment)


@router.get(
    "/attachments/{attachment_id}",
    response={200: AttachmentOut, **ERRORS},
    summary="Get an attachment's details",
)
def get_attachment(request: HttpRequest, attachment_id: int) -> Any:
    return attachments.access_attachment(_actor(request), attachment_id)


@router.get(
    "/attachments/{attachment_id}/download",
    response=ERRORS,
    url_name="download_attachment",
    summary="Download an attachment",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as a download (Content-Disposition: attachment).",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    """The file with Content-Disposition: attachment and its name, X-Content-Type-Options: nosniff,
    and its type only when it is on the safe list (else application/octet-stream)."""
    return download_response(attachments.access_attachment(_actor(request), attachment_id))


@router.delete("/attachments/{attachment_id}", response={204: None, **ERRORS}, summary="Delete an attachment")
def delete_attachment(request: HttpRequest, attachment_id: int) -> Status[None]:
    actor = _actor(request)
    attachment = attachments.access_attachment(actor, attachment_id, mode=Mode.WRITE)
    attachments.attachment_delete(actor=actor, attachment=attachment)
    return Status(204, None)
