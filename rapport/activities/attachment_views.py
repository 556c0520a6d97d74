"""Attachments on the activity page: the list, the upload form, download and delete.

GET  /activities/<id>/attachments/<attachment_id>/         the file, as a download
POST /activities/<id>/attachments/                          upload (multipart, CSRF)
POST /activities/<id>/attachments/<attachment_id>/delete/   delete (CSRF)

All go through `rapport.activities.attachments`. Missing, other workspaces' and not-visible
activities and attachments answer 404; a write on an activity the actor may only read answers 403.
`download_response` is also what the API's download answers.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Mode
from rapport.activities import attachments, selectors
from rapport.activities.models import Activity, Attachment
from rapport.contacts.views.common import actor_of, forbidden, not_found
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied
from rapport.core.principal import Principal

log = logging.getLogger(__name__)


class AttachmentForm(forms.Form):
    file = forms.FileField(label="File", allow_empty_file=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = f"At most {attachments.max_megabytes()}; programs and scripts are not accepted."


def attachment_context(
    actor: Principal, activity: Activity, editable: bool, form: AttachmentForm | None = None
) -> dict[str, Any]:
    """What the activity page shows of its attachments: the list, and the upload form for writers."""
    return {
        "attachments": list(attachments.attachment_list(actor=actor, activity=activity)),
        "attachment_form": (form or AttachmentForm()) if editable else None,
    }


def download_response(attachment: Attachment) -> FileResponse:
    """The stored file as a download: Content-Disposition attachment with the cleaned name
    (Django writes filename*= for non-ASCII names), a Content-Type from the safe list or
    application/octet-stream, nosniff, a sandboxing CSP and private caching. 404 when the stored
    file is gone."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        log.warning("The stored file of attachment %s is missing", attachment.pk)
        raise NotFound() from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachments.clean_filename(attachment.filename),
        content_type=attachments.download_content_type(attachment),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _detail_url(activity_id: int) -> str:
    return reverse("activities:detail", args=[activity_id]) + "#attachments"


@require_safe
@login_required
@principal_required
def attachment_download(request: HttpRequest, activity_id: int, attachment_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        attachment = attachments.access_attachment(actor, attachment_id)
        if attachment.activity_id != activity_id:
            raise NotFound()
        return download_response(attachment)  # type: ignore[return-value]  # a streaming response
    except NotFound:
        return not_found(request)


@require_POST
@login_required
@principal_required
def attachment_upload(request: HttpRequest, activity_id: int) -> HttpResponse:
    """Add the posted file; on a refusal the activity page again, with the message on the form."""
    from rapport.activities.pages import _detail  # the page imports this module

    actor = actor_of(request)
    try:
        activity = selectors.activity_get(actor=actor, activity_id=activity_id, mode=Mode.WRITE)
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return forbidden(request, "add files to this activity")
    form = AttachmentForm(request.POST, request.FILES)
    status = 422
    if form.is_valid():
        try:
            attachments.attachment_add(actor=actor, activity=activity, file=form.cleaned_data["file"])
        except PermissionDenied:
            return forbidden(request, "add files to this activity")
        except ApplicationError as exc:
            form.add_error("file", exc.fields.get("file", exc.message))
            status = exc.status
        else:
            messages.success(request, "File attached.")
            return redirect(_detail_url(activity.pk))
    return _detail(request, actor, activity, None, status, attachment_form=form)


@require_http_methods(["POST"])
@login_required
@principal_required
def attachment_delete(request: HttpRequest, activity_id: int, attachment_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        attachment = attachments.access_attachment(actor, attachment_id)
        if attachment.activity_id != activity_id:
            raise NotFound()
    except NotFound:
        return not_found(request)
    try:
        attachments.attachment_delete(actor=actor, attachment=attachment)
    except PermissionDenied:
        return forbidden(request, "delete files of this activity")
    messages.success(request, f"“{attachment.filename}” deleted.")
    return redirect(_detail_url(activity_id))
