"""What the attachment tests share: a 1 MB limit, files kept in a temporary MEDIA_ROOT, uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.activities.models import Activity
from rapport.activities.tests.conftest import log
from rapport.core.principal import Principal

LIMIT = 1024 * 1024
PDF = b"%PDF-1.4\n% a small document\n%%EOF\n"


def use_media(settings: Any, tmp_path: Path) -> Path:
    """Stored files go to a temporary directory; the limit is 1 MB. (Each test module's autouse
    `media` fixture calls this.)"""
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.ATTACHMENT_MAX_BYTES = LIMIT
    return Path(settings.MEDIA_ROOT)


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def upload(name: str = "report.pdf", content: bytes = PDF, content_type: str = "application/pdf") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


def note_of(actor: Principal) -> Activity:
    return log(actor, body="Sent the proposal.")
