"""Files attached to activities: add (an upload, or a part of a synced email), list, fetch, delete.

The file goes through Django's storage API (settings.STORAGES["default"]) under a random name; the
user's file name is only metadata, cleaned by `clean_filename`. Whoever may change an activity may
attach files to it and delete them; whoever may read it (the role's level, and privacy: see
`selectors.activity_get`) may list and download them.

Limits, checked before anything is stored:
- size: at most settings.ATTACHMENT_MAX_BYTES (counted while streaming, whatever the client says);
  larger answers AttachmentTooLarge (413);
- count: at most settings.ATTACHMENT_MAX_PER_ACTIVITY files per activity (422);
- type: programs and scripts are refused (422): a name whose last extension is in
  settings.ATTACHMENT_BLOCKED_EXTENSIONS, a declared or guessed content type in
  BLOCKED_CONTENT_TYPES, or content starting like an executable (MZ, ELF, Mach-O, Java class, "#!").
  Other types are accepted, HTML and SVG included: downloads are never rendered by the browser
  (see `attachment_views.download_response`).

Nothing is half-saved: the file is stored first, then its row and event are written in one
transaction; if that fails, the stored file is removed before the error goes on. A file whose row
is rolled back later by an enclosing transaction (or whose activity is purged) is an orphan that
`attachment_sweep_orphans` removes.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import posixpath
import re
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.activities import selectors
from rapport.activities.models import Activity, Attachment
from rapport.core.access import can_write
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.core.events import record_event
from rapport.core.principal import Principal

log = logging.getLogger(__name__)

FILENAME_MAX = 200
FALLBACK_NAME = "attachment"

# Content types of programs and scripts: refused whatever the file's name.
BLOCKED_CONTENT_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/vnd.microsoft.portable-executable",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-ms-shortcut",
        "application/x-executable",
        "application/x-elf",
        "application/x-sharedlib",
        "application/x-mach-binary",
        "application/java-archive",
        "application/x-java-archive",
        "application/java-vm",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/javascript",
        "text/ecmascript",
        "application/x-sh",
        "application/x-shellscript",
        "text/x-shellscript",
        "application/x-csh",
        "application/x-bat",
        "application/x-msbatch",
        "text/vbscript",
        "application/x-vbscript",
        "application/hta",
        "application/x-powershell",
    }
)
# How executables start: refused even under an innocent name ("invoice.pdf").
EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",  # Linux, BSD
    b"\xfe\xed\xfa\xce",  # Mach-O (32, 64 bits, both byte orders)
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal / Java class
    b"#!",  # a script with an interpreter line
)
# Types a download is labelled with; any other is sent as application/octet-stream.
SAFE_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
        "text/calendar",
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "audio/mpeg",
        "video/mp4",
    }
)
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
# Characters file systems refuse or treat specially (Windows), replaced in names.
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')


class AttachmentTooLarge(ValidationFailed):
    """A file over settings.ATTACHMENT_MAX_BYTES: 413 in the API, the message on the form."""

    status = 413
    code = "file_too_large"


def max_megabytes() -> str:
    """The size limit as users read it: "25 MB", "0.5 MB"."""
    return f"{settings.ATTACHMENT_MAX_BYTES / (1024 * 1024):g} MB"


def _too_large() -> AttachmentTooLarge:
    message = f"The file is larger than the limit of {max_megabytes()}."
    return AttachmentTooLarge(message=message, fields={"file": message})


def _name_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    return "" if category[0] == "C" or category in {"Zl", "Zp"} else ch


def clean_filename(name: object) -> str:
    """A name safe to show and to send in Content-Disposition: the last path component only, no
    control or formatting characters (so no CR/LF and no right-to-left override), none of
    <>:"|?*, no leading or trailing dots and spaces, at most FILENAME_MAX characters (keeping
    the extension); "attachment" when nothing is left."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(_name_char(ch) for ch in text)
    text = _UNSAFE_CHARS.sub("_", text)
    text = re.sub(r" {2,}", " ", text).strip(" .")
    if len(text) > FILENAME_MAX:
        stem, ext = posixpath.splitext(text)
        ext = ext if len(ext) <= 20 else ""
        text = stem[: FILENAME_MAX - len(ext)].rstrip(" .") + ext
    return text or FALLBACK_NAME


def clean_content_type(declared: object, filename: str) -> str:
    """The declared media type (lower case, without parameters) when well formed; else the one the
    name's extension suggests; else application/octet-stream."""
    value = str(declared or "").split(";", 1)[0].strip().lower()
    if _CONTENT_TYPE.match(value):
        return value
    guessed, _encoding = mimetypes.guess_type(filename, strict=False)
    return guessed.lower() if guessed else "application/octet-stream"


def download_content_type(attachment: Attachment) -> str:
    """The Content-Type of a download: the stored type when it is on SAFE_CONTENT_TYPES, else
    application/octet-stream (so HTML, SVG and unknown types are never rendered)."""
    return attachment.content_type if attachment.content_type in SAFE_CONTENT_TYPES else "application/octet-stream"


def _blocked_reason(filename: str, content_type: str, head: bytes) -> str:
    """Why the file is refused as a program or script ("" when it is not)."""
    extension = posixpath.splitext(filename)[1].lower()
    blocked = {str(ext).lower() for ext in settings.ATTACHMENT_BLOCKED_EXTENSIONS}
    if extension in blocked:
        return f"Files of type {extension} may contain programs and are not accepted."
    guessed, _encoding = mimetypes.guess_type(filename, strict=False)
    if content_type in BLOCKED_CONTENT_TYPES or (guessed or "").lower() in BLOCKED_CONTENT_TYPES:
        return "Programs and scripts are not accepted as attachments."
    if head.startswith(EXECUTABLE_MAGIC):
        return "The file looks like a program or a script; those are not accepted as attachments."
    return ""


def _head(file: Any) -> bytes:
    """The first bytes of an upload, leaving it at its start."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    return head if isinstance(head, bytes) else str(head).encode()


class _CountingFile(File):
    """The upload as the storage reads it: counts and hashes the bytes as they stream through and
    stops with AttachmentTooLarge past the limit. It has no `temporary_file_path`, so a
    FileSystemStorage streams it rather than moving the temporary file."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        super().__init__(source)
        self.limit = limit
        self.counted = 0
        self.digest = hashlib.sha256()

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self.counted = 0
        self.digest = hashlib.sha256()
        for chunk in super().chunks(chunk_size):
            data = chunk if isinstance(chunk, bytes) else str(chunk).encode()
            self.counted += len(data)
            if self.counted > self.limit:
                raise _too_large()
            self.digest.update(data)
            yield data


def _require_write(actor: Principal, activity: Activity) -> None:
    if activity.org_id != actor.org_id or not can_write(actor, activity, Entity.ACTIVITY):
        raise PermissionDenied()


def _check_count(activity: Activity) -> None:
    limit = settings.ATTACHMENT_MAX_PER_ACTIVITY
    if Attachment.objects.filter(org_id=activity.org_id, activity_id=activity.pk).count() >= limit:
        message = f"An activity holds at most {limit} attachments; delete one to add another."
        raise ValidationFailed("too_many_attachments", message, fields={"file": message})


def _summary(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def attachment_add(
    *,
    actor: Principal,
    activity: Activity,
    file: Any,
    filename: str | None = None,
    content_type: str | None = None,
) -> Attachment:
    """Attach a file (an UploadedFile or any Django File) to an activity the actor may change.

    `filename` and `content_type` default to the file's own (`name`, `content_type`); both are
    cleaned. Refuses (ValidationFailed on `file`, nothing stored) a file over the size limit
    (AttachmentTooLarge, 413), a program or script, and a file beyond the per-activity count.
    Records `activity.attachment_added` on the activity."""
    _require_write(actor, activity)
    if activity.deleted_at is not None:
        raise NotFound()
    name = clean_filename(filename if filename is not None else getattr(file, "name", ""))
    declared = content_type if content_type is not None else getattr(file, "content_type", "")
    ctype = clean_content_type(declared, name)
    limit = settings.ATTACHMENT_MAX_BYTES
    size = getattr(file, "size", None)
    if isinstance(size, int) and size > limit:
        raise _too_large()
    reason = _blocked_reason(name, ctype, _head(file))
    if reason:
        raise ValidationFailed("blocked_file_type", reason, fields={"file": reason})
    _check_count(activity)

    attachment = Attachment(
        org_id=actor.org_id, activity=activity, filename=name, content_type=ctype, created_by_id=actor.user_id
    )
    field = attachment.file.field
    stream = _CountingFile(file, limit)
    target = field.generate_filename(attachment, name)
    try:
        stored = field.storage.save(target, stream, max_length=field.max_length)
    except BaseException:
        _remove(field.storage, target)  # a partly written file
        raise
    try:
        with transaction.atomic():
            # The activity's row lock serialises concurrent uploads to it, for the count.
            if not Activity.objects.select_for_update().filter(pk=activity.pk, deleted_at__isnull=True).exists():
                raise NotFound()
            _check_count(activity)
            attachment.file.name = stored
            attachment.size = stream.counted
            attachment.sha256 = stream.digest.hexdigest()
            attachment.save()
            record_event(actor, "activity.attachment_added", activity, {"attachment": [None, _summary(attachment)]})
    except BaseException:
        _remove(field.storage, stored)
        raise
    return attachment


def attachment_store_bytes(
    *, actor: Principal, activity: Activity, filename: str, content_type: str, data: bytes
) -> Attachment | None:
    """Attach bytes (a part of a synced email) with the same checks as `attachment_add`, but answer
    None instead of raising when the file is refused (too large, a program or script, too many):
    the email is still logged, without that attachment. A refusal is logged (the reason, not the
    content). Other errors (no write access, a trashed activity) are raised as by `attachment_add`."""
    try:
        return attachment_add(
            actor=actor,
            activity=activity,
            file=ContentFile(data, name=filename or FALLBACK_NAME),
            filename=filename,
            content_type=content_type,
        )
    except ValidationFailed as exc:
        log.info("Attachment of activity %s refused: %s", activity.pk, exc.code)
        return None


@transaction.atomic
def attachment_delete(*, actor: Principal, attachment: Attachment) -> None:
    """Delete an attachment of an activity the actor may change; the stored file is removed once
    the deletion commits. Records `activity.attachment_deleted` on the activity."""
    activity = attachment.activity
    _require_write(actor, activity)
    if attachment.org_id != actor.org_id:
        raise NotFound()
    summary = _summary(attachment)
    storage, name = attachment.file.storage, attachment.file.name
    deleted, _ = Attachment.objects.filter(pk=attachment.pk, org_id=actor.org_id).delete()
    if not deleted:
        raise NotFound()
    record_event(actor, "activity.attachment_deleted", activity, {"attachment": [summary, None]})
    if name:
        transaction.on_commit(lambda: _remove(storage, name))


def _remove(storage: Any, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        log.warning("Could not remove the stored attachment file %s", name, exc_info=True)


def attachment_list(*, actor: Principal, activity: Activity) -> QuerySet[Attachment]:
    """The attachments of an activity the caller fetched for the actor (selectors.activity_get),
    oldest first; one query, with their uploaders."""
    if activity.org_id != actor.org_id:
        raise NotFound()
    return (
        Attachment.objects.filter(org_id=actor.org_id, activity_id=activity.pk)
        .select_related("created_by")
        .order_by("created_at", "id")
    )


def access_attachment(actor: Principal, attachment_id: object, mode: Mode = Mode.READ) -> Attachment:
    """One attachment whose activity the actor may read (or change, with mode=WRITE), with that
    activity; NotFound alike for missing, other workspaces', trashed and not-visible activities'."""
    try:
        attachment = (
            Attachment.objects.select_related("created_by").filter(org_id=actor.org_id).get(pk=attachment_id)  # type: ignore[misc]
        )
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    attachment.activity = selectors.activity_get(actor=actor, activity_id=attachment.activity_id, mode=mode)
    return attachment


def attachment_sweep_orphans(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Remove stored attachment files that no row names (left by a rolled-back enclosing
    transaction, or by an activity purged from the trash) and that are older than `older_than`
    (so a file being added right now is left alone). Answers how many were removed."""
    storage = default_storage
    if not storage.exists("attachments"):
        return 0
    cutoff = timezone.now() - older_than
    removed = 0
    org_dirs, _files = storage.listdir("attachments")
    for org_dir in org_dirs:
        prefix = f"attachments/{org_dir}"
        _dirs, names = storage.listdir(prefix)
        known = set(Attachment.objects.filter(file__startswith=prefix + "/").values_list("file", flat=True))
        for name in names:
            path = f"{prefix}/{name}"
            if path not in known and storage.get_modified_time(path) < cutoff:
                _remove(storage, path)
                removed += 1
    return removed
