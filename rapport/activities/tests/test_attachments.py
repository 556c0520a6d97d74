"""Attachments through the services and the API: limits, refusals, headers, permissions, cleanup."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from rapport.accounts.roles import Role
from rapport.activities import attachments
from rapport.activities.models import Attachment
from rapport.activities.tests.attachment_support import LIMIT, PDF, note_of, stored_files, upload, use_media
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.core.models import Event


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    return use_media(settings, tmp_path)


def _post(client: Any, activity_id: int, file: Any) -> Any:
    return client.post(f"/api/v1/activities/{activity_id}/attachments", {"file": file})


def _added(admin: Any) -> Attachment:
    return attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())


# --- adding ------------------------------------------------------------------------------------


def test_an_upload_is_stored_with_its_hash_and_an_event(api, admin, media):
    activity = note_of(admin)
    resp = _post(api(admin).client, activity.pk, upload("Q3 report.pdf"))
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["filename"] == "Q3 report.pdf" and body["size"] == len(PDF)
    assert body["content_type"] == "application/pdf" and body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["download_url"] == f"/api/v1/attachments/{body['id']}/download"
    attachment = Attachment.objects.get()
    assert attachment.activity_id == activity.pk and attachment.created_by_id == admin.user_id
    assert attachment.file.name.startswith(f"attachments/{admin.org_id}/") and "Q3" not in attachment.file.name
    assert [p.read_bytes() for p in stored_files(media)] == [PDF]
    event = Event.objects.get(verb="activity.attachment_added")
    assert event.subject_id == activity.pk and event.changes["attachment"][1]["filename"] == "Q3 report.pdf"
    listed = api(admin).get(f"/api/v1/activities/{activity.pk}/attachments").json()
    assert [a["id"] for a in listed] == [attachment.pk]


def test_a_file_over_the_limit_is_refused_with_the_limit_and_nothing_is_stored(api, admin, media):
    activity = note_of(admin)
    resp = _post(api(admin).client, activity.pk, upload("big.pdf", b"x" * (LIMIT + 1)))
    assert resp.status_code == 413, resp.content
    error = resp.json()["error"]
    assert error["code"] == "file_too_large" and "1 MB" in error["fields"]["file"]
    assert not Attachment.objects.exists() and stored_files(media) == []
    assert not Event.objects.filter(verb="activity.attachment_added").exists()


def test_a_file_at_the_limit_is_accepted(api, admin, media):
    resp = _post(api(admin).client, note_of(admin).pk, upload("exact.pdf", b"x" * LIMIT))
    assert resp.status_code == 201, resp.content
    assert resp.json()["size"] == LIMIT


def test_an_upload_streamed_to_a_temporary_file_is_stored_whole(api, admin, media, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000  # Django spools larger uploads to disk
    content = bytes(range(256)) * 2000
    resp = _post(api(admin).client, note_of(admin).pk, upload("data.zip", content, "application/zip"))
    assert resp.status_code == 201, resp.content
    assert resp.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert [p.read_bytes() for p in stored_files(media)] == [content]


def test_a_stream_longer_than_its_declared_size_is_refused_and_removed(admin, media):
    file = upload("liar.pdf", b"x" * (LIMIT + 10))
    file.size = 10  # the client's claim is not trusted: the bytes are counted while stored
    with pytest.raises(attachments.AttachmentTooLarge):
        attachments.attachment_add(actor=admin, activity=note_of(admin), file=file)
    assert not Attachment.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("setup.exe", b"hello", "application/octet-stream"),
        ("Tool.JS", b"alert(1)", "text/plain"),
        ("invoice.pdf.exe", PDF, "application/pdf"),
        ("invoice.exe. ", PDF, "application/pdf"),
        ("run.sh", b"echo hi", "text/plain"),
        ("invoice.pdf", b"MZ\x90\x00 a PE file", "application/pdf"),
        ("notes.txt", b"#!/bin/sh\nrm -rf ~", "text/plain"),
        ("data.bin", b"plain", "application/x-msdownload"),
    ],
    ids=["exe", "js-upper-case", "double-extension", "trailing-dot", "shell", "pe-magic", "shebang", "exe-type"],
)
def test_programs_and_scripts_are_refused_and_nothing_is_stored(api, admin, media, name, content, content_type):
    resp = _post(api(admin).client, note_of(admin).pk, upload(name, content, content_type))
    assert resp.status_code == 422, resp.content
    error = resp.json()["error"]
    assert error["code"] == "blocked_file_type" and error["fields"]["file"]
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_the_blocked_extensions_are_a_setting(admin, media, settings):
    settings.ATTACHMENT_BLOCKED_EXTENSIONS = (".pdf",)
    with pytest.raises(ValidationFailed, match=r"\.pdf"):
        attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())
    attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload("notes.txt", b"hello", "text/plain"))


def test_html_and_svg_are_accepted_but_downloaded_as_octet_stream(api, admin, media):
    client = api(admin).client
    activity = note_of(admin)
    for name, ctype in (("page.html", "text/html"), ("logo.svg", "image/svg+xml")):
        created = _post(client, activity.pk, upload(name, b"<script>alert(1)</script>", ctype)).json()
        resp = client.get(created["download_url"])
        assert resp.status_code == 200 and resp["Content-Type"] == "application/octet-stream"
        assert resp["X-Content-Type-Options"] == "nosniff"


def test_an_activity_holds_a_limited_number_of_files(admin, media, settings):
    settings.ATTACHMENT_MAX_PER_ACTIVITY = 2
    activity = note_of(admin)
    for _ in range(2):
        attachments.attachment_add(actor=admin, activity=activity, file=upload())
    with pytest.raises(ValidationFailed, match="at most 2 attachments"):
        attachments.attachment_add(actor=admin, activity=activity, file=upload())
    assert Attachment.objects.count() == 2 and len(stored_files(media)) == 2


def test_a_failed_database_write_removes_the_stored_file(admin, media, monkeypatch):
    activity = note_of(admin)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(attachments, "record_event", broken)
    with pytest.raises(RuntimeError):
        attachments.attachment_add(actor=admin, activity=activity, file=upload())
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_a_trashed_activity_takes_no_files(api, admin, media):
    activity = note_of(admin)
    api(admin).delete(f"/api/v1/activities/{activity.pk}")
    assert _post(api(admin).client, activity.pk, upload()).status_code == 404
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_an_upload_without_a_file_is_a_validation_error(api, admin):
    resp = api(admin).client.post(f"/api/v1/activities/{note_of(admin).pk}/attachments", {})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error"


# --- synced email: attachment_store_bytes ---------------------------------------------------------


def test_store_bytes_keeps_an_acceptable_file(admin, media):
    activity = note_of(admin)
    attachment = attachments.attachment_store_bytes(
        actor=admin, activity=activity, filename="scan.pdf", content_type="application/pdf", data=PDF
    )
    assert attachment is not None and attachment.size == len(PDF) and attachment.filename == "scan.pdf"
    assert attachment.file.read() == PDF


@pytest.mark.parametrize(
    ("filename", "data"), [("big.pdf", b"x" * (LIMIT + 1)), ("virus.exe", b"hello")], ids=["too-large", "blocked"]
)
def test_store_bytes_answers_none_for_a_refused_file(admin, media, filename, data):
    activity = note_of(admin)
    assert (
        attachments.attachment_store_bytes(
            actor=admin, activity=activity, filename=filename, content_type="application/octet-stream", data=data
        )
        is None
    )
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_store_bytes_still_refuses_an_actor_who_may_not_change_the_activity(admin, member_of, media):
    with pytest.raises(PermissionDenied):
        attachments.attachment_store_bytes(
            actor=member_of(Role.VIEWER), activity=note_of(admin), filename="a.pdf", content_type="", data=PDF
        )


# --- downloads ---------------------------------------------------------------------------------


def test_a_download_sends_the_file_with_safe_headers(api, admin, media):
    attachment = _added(admin)
    resp = api(admin).get(f"/api/v1/attachments/{attachment.pk}/download")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == PDF
    assert resp["Content-Type"] == "application/pdf"
    assert resp["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert resp["Cache-Control"].startswith("private")


def test_a_hostile_file_name_is_cleaned_for_the_header(api, admin, media):
    hostile = '../../etc/passwd"\r\nX: y.pdf'
    attachment = attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload(), filename=hostile)
    assert attachment.filename == "passwd_X_ y.pdf"
    resp = api(admin).get(f"/api/v1/attachments/{attachment.pk}/download")
    assert resp["Content-Disposition"] == 'attachment; filename="passwd_X_ y.pdf"'
    assert "X" not in resp.headers
    # Over HTTP the multipart layer cuts the name at the quote; what is left has no path either.
    created = _post(api(admin).client, attachment.activity_id, upload(hostile)).json()
    assert "/" not in created["filename"] and "\r" not in created["filename"]


def test_a_unicode_file_name_is_sent_as_rfc_5987(api, admin, media):
    created = _post(api(admin).client, note_of(admin).pk, upload("Angebot für Zoë.pdf")).json()
    assert created["filename"] == "Angebot für Zoë.pdf"
    resp = api(admin).get(created["download_url"])
    assert resp["Content-Disposition"] == "attachment; filename*=utf-8''Angebot%20f%C3%BCr%20Zo%C3%AB.pdf"


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("..", "attachment"),
        ("", "attachment"),
        ("  .hidden  ", "hidden"),
        ("bill\u202egpj.exe", "billgpj.exe"),
        ("a<b>c:d|e?f*.txt", "a_b_c_d_e_f_.txt"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_cleaned(given, clean):
    assert attachments.clean_filename(given) == clean


def test_a_missing_stored_file_is_a_404(api, admin, media):
    attachment = _added(admin)
    for path in stored_files(media):
        path.unlink()
    assert api(admin).get(f"/api/v1/attachments/{attachment.pk}/download").status_code == 404


# --- deleting ----------------------------------------------------------------------------------


def test_deleting_removes_the_row_and_then_the_file(api, admin, media, django_capture_on_commit_callbacks):
    attachment = _added(admin)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api(admin).delete(f"/api/v1/attachments/{attachment.pk}")
    assert resp.status_code == 204
    assert not Attachment.objects.exists() and stored_files(media) == []
    event = Event.objects.get(verb="activity.attachment_deleted")
    assert event.subject_id == attachment.activity_id and event.changes["attachment"][0]["filename"] == "report.pdf"


def test_the_file_stays_until_the_deletion_commits(admin, media, django_capture_on_commit_callbacks):
    attachment = _added(admin)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attachments.attachment_delete(actor=admin, attachment=attachment)
    assert len(stored_files(media)) == 1 and len(callbacks) == 1


# --- permissions -------------------------------------------------------------------------------


def _state(media: Path) -> tuple[list[int], list[Path], int]:
    return (
        list(Attachment.objects.order_by("id").values_list("id", flat=True)),
        stored_files(media),
        Event.objects.filter(verb__startswith="activity.attachment").count(),
    )


def test_a_member_who_may_only_read_the_activity_may_list_and_download_but_not_change(api, admin, member_of, media):
    attachment = _added(admin)
    activity_id = attachment.activity_id
    sales = api(member_of(Role.SALES))  # writes only their own activities
    before = _state(media)
    assert sales.get(f"/api/v1/activities/{activity_id}/attachments").status_code == 200
    assert sales.get(f"/api/v1/attachments/{attachment.pk}").status_code == 200
    assert sales.get(f"/api/v1/attachments/{attachment.pk}/download").status_code == 200
    assert _post(sales.client, activity_id, upload()).status_code == 403
    assert sales.delete(f"/api/v1/attachments/{attachment.pk}").status_code == 403
    viewer = api(member_of(Role.VIEWER))
    assert _post(viewer.client, activity_id, upload()).status_code == 403
    assert viewer.delete(f"/api/v1/attachments/{attachment.pk}").status_code == 403
    assert _state(media) == before


def test_a_read_only_token_may_not_upload(api, admin, media):
    resp = _post(api(admin, scope="read").client, note_of(admin).pk, upload())
    assert resp.status_code == 403 and not Attachment.objects.exists()


def test_someone_elses_private_activity_hides_its_files(api, admin, member_of, media):
    owner = member_of(Role.SALES)
    activity = note_of(owner)
    attachment = attachments.attachment_add(actor=owner, activity=activity, file=upload())
    type(activity).objects.filter(pk=activity.pk).update(private=True)
    before = _state(media)
    client = api(admin)
    assert client.get(f"/api/v1/activities/{activity.pk}/attachments").status_code == 404
    assert client.get(f"/api/v1/attachments/{attachment.pk}").status_code == 404
    assert client.get(f"/api/v1/attachments/{attachment.pk}/download").status_code == 404
    assert _post(client.client, activity.pk, upload()).status_code == 404
    assert client.delete(f"/api/v1/attachments/{attachment.pk}").status_code == 404
    assert _state(media) == before
    assert api(owner).get(f"/api/v1/attachments/{attachment.pk}/download").status_code == 200


def test_another_workspace_gets_404_on_every_endpoint_and_changes_nothing(api, admin, other_admin, media):
    attachment = _added(admin)
    activity_id = attachment.activity_id
    before = _state(media)
    other = api(other_admin)
    for path in (
        f"/api/v1/activities/{activity_id}/attachments",
        f"/api/v1/attachments/{attachment.pk}",
        f"/api/v1/attachments/{attachment.pk}/download",
    ):
        resp = other.get(path)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", path
    assert _post(other.client, activity_id, upload()).status_code == 404
    assert other.delete(f"/api/v1/attachments/{attachment.pk}").status_code == 404
    assert other.get("/api/v1/attachments/999999999/download").status_code == 404
    assert _state(media) == before


# --- orphans -----------------------------------------------------------------------------------


def test_the_sweep_removes_old_files_no_row_names(admin, media):
    kept = _added(admin)
    orphan = default_storage.save(f"attachments/{admin.org_id}/orphan", upload())
    fresh = default_storage.save(f"attachments/{admin.org_id}/fresh", upload())
    old = time.time() - 3 * 86400
    for name in (orphan, kept.file.name):
        os.utime(default_storage.path(name), (old, old))
    assert attachments.attachment_sweep_orphans(older_than=timedelta(days=1)) == 1
    assert not default_storage.exists(orphan)
    assert default_storage.exists(kept.file.name) and default_storage.exists(fresh)
