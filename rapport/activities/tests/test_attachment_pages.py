"""Attachments on the activity page: list, upload with clear errors, download, delete, permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from rapport.accounts.roles import Role
from rapport.activities import attachments, services
from rapport.activities.models import Attachment
from rapport.activities.tests.attachment_support import LIMIT, PDF, note_of, stored_files, upload, use_media
from rapport.activities.timeline import activity_items
from rapport.core.models import Event


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    return use_media(settings, tmp_path)


def _state(media: Path) -> tuple[list[int], list[Path], int]:
    return (
        list(Attachment.objects.order_by("id").values_list("id", flat=True)),
        stored_files(media),
        Event.objects.filter(verb__startswith="activity.attachment").count(),
    )


def test_a_writer_sees_the_upload_form_and_attaches_a_file(web, admin, media):
    activity = note_of(admin)
    client = web(admin)
    page = client.get(f"/activities/{activity.pk}/").content.decode()
    assert 'id="attachments"' in page and "No files attached." in page
    assert 'enctype="multipart/form-data"' in page and f'action="/activities/{activity.pk}/attachments/"' in page
    resp = client.post(f"/activities/{activity.pk}/attachments/", {"file": upload("Offer.pdf")})
    assert resp.status_code == 302 and resp["Location"] == f"/activities/{activity.pk}/#attachments"
    attachment = Attachment.objects.get()
    page = client.get(f"/activities/{activity.pk}/").content.decode()
    assert "File attached." in page and "Offer.pdf" in page and "Attachments (1)" in page
    assert f'href="/activities/{activity.pk}/attachments/{attachment.pk}/"' in page
    assert f'action="/activities/{activity.pk}/attachments/{attachment.pk}/delete/"' in page
    assert [p.read_bytes() for p in stored_files(media)] == [PDF]


def test_a_file_over_the_limit_shows_the_limit_on_the_form_and_stores_nothing(web, admin, media):
    activity = note_of(admin)
    resp = web(admin).post(f"/activities/{activity.pk}/attachments/", {"file": upload("big.pdf", b"x" * (LIMIT + 1))})
    assert resp.status_code == 413
    page = resp.content.decode()
    assert "larger than the limit of 1 MB" in page and 'role="alert"' in page
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_a_program_is_refused_on_the_form(web, admin, media):
    activity = note_of(admin)
    resp = web(admin).post(f"/activities/{activity.pk}/attachments/", {"file": upload("setup.exe", b"MZ..")})
    assert resp.status_code == 422 and "not accepted" in resp.content.decode()
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_posting_no_file_asks_for_one(web, admin, media):
    activity = note_of(admin)
    resp = web(admin).post(f"/activities/{activity.pk}/attachments/", {})
    assert resp.status_code == 422 and "This field is required." in resp.content.decode()


def test_the_download_link_sends_the_file_with_safe_headers(web, admin, media):
    attachment = attachments.attachment_add(
        actor=admin, activity=note_of(admin), file=upload("page.html", b"<script>x</script>", "text/html")
    )
    resp = web(admin).get(f"/activities/{attachment.activity_id}/attachments/{attachment.pk}/")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == b"<script>x</script>"
    assert resp["Content-Type"] == "application/octet-stream"
    assert resp["Content-Disposition"] == 'attachment; filename="page.html"'
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_an_attachment_is_not_reachable_under_another_activity(web, admin, media):
    attachment = attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())
    other = note_of(admin)
    client = web(admin)
    assert client.get(f"/activities/{other.pk}/attachments/{attachment.pk}/").status_code == 404
    assert client.post(f"/activities/{other.pk}/attachments/{attachment.pk}/delete/").status_code == 404
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_deleting_from_the_page(web, admin, media, django_capture_on_commit_callbacks):
    attachment = attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())
    client = web(admin)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(f"/activities/{attachment.activity_id}/attachments/{attachment.pk}/delete/")
    assert resp.status_code == 302
    assert not Attachment.objects.exists() and stored_files(media) == []
    assert "“report.pdf” deleted." in client.get(resp["Location"]).content.decode()


def test_uploads_and_deletes_need_the_csrf_token(admin, media):
    attachment = attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session["rapport_org_id"] = admin.org_id
    session.save()
    before = _state(media)
    activity_id = attachment.activity_id
    assert client.post(f"/activities/{activity_id}/attachments/", {"file": upload()}).status_code == 403
    assert client.post(f"/activities/{activity_id}/attachments/{attachment.pk}/delete/").status_code == 403
    assert _state(media) == before


def test_a_reader_sees_and_downloads_files_but_may_not_change_them(web, admin, member_of, media):
    attachment = attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())
    activity_id = attachment.activity_id
    client = web(member_of(Role.SALES))  # may change only their own activities
    before = _state(media)
    page = client.get(f"/activities/{activity_id}/").content.decode()
    assert "report.pdf" in page and "/delete/" not in page.split('id="attachments"')[1]
    assert 'enctype="multipart/form-data"' not in page
    assert client.get(f"/activities/{activity_id}/attachments/{attachment.pk}/").status_code == 200
    assert client.post(f"/activities/{activity_id}/attachments/", {"file": upload()}).status_code == 403
    assert client.post(f"/activities/{activity_id}/attachments/{attachment.pk}/delete/").status_code == 403
    assert _state(media) == before


def test_another_workspace_gets_404_on_every_page_and_changes_nothing(web, admin, other_admin, media):
    attachment = attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())
    activity_id = attachment.activity_id
    before = _state(media)
    client = web(other_admin)
    assert client.get(f"/activities/{activity_id}/attachments/{attachment.pk}/").status_code == 404
    assert client.post(f"/activities/{activity_id}/attachments/", {"file": upload()}).status_code == 404
    assert client.post(f"/activities/{activity_id}/attachments/{attachment.pk}/delete/").status_code == 404
    assert _state(media) == before


def test_someone_elses_private_activity_hides_its_files_on_the_pages(web, admin, member_of, media):
    owner = member_of(Role.SALES)
    activity = note_of(owner)
    attachment = attachments.attachment_add(actor=owner, activity=activity, file=upload())
    type(activity).objects.filter(pk=activity.pk).update(private=True)
    before = _state(media)
    client = web(admin)
    assert client.get(f"/activities/{activity.pk}/attachments/{attachment.pk}/").status_code == 404
    assert client.post(f"/activities/{activity.pk}/attachments/", {"file": upload()}).status_code == 404
    assert client.post(f"/activities/{activity.pk}/attachments/{attachment.pk}/delete/").status_code == 404
    assert _state(media) == before


def test_the_pages_need_a_login(client, admin, media):
    attachment = attachments.attachment_add(actor=admin, activity=note_of(admin), file=upload())
    resp = client.get(f"/activities/{attachment.activity_id}/attachments/{attachment.pk}/")
    assert resp.status_code == 302 and "/login" in resp["Location"]


def test_the_timeline_counts_an_activitys_files_in_the_same_query(web, admin, ada, media, django_assert_num_queries):
    with_file = note_of(admin)
    attachments.attachment_add(actor=admin, activity=with_file, file=upload())
    attachments.attachment_add(actor=admin, activity=with_file, file=upload("b.pdf"))
    services.activity_update(
        actor=admin, activity=with_file, data={"participants": [{"contact_id": ada.pk}]}, expected_version=None
    )
    services.activity_create(actor=admin, data={"kind": "note", "body": "x", "participants": [{"contact_id": ada.pk}]})
    with django_assert_num_queries(2):  # the activities with their counts, then their participants
        items = activity_items(admin, "contact", [ada.pk], 10, None)
    assert sorted("Attachments: 2" in item.lines for item in items) == [False, True]
    timeline = web(admin).get(f"/contacts/{ada.pk}/timeline/", HTTP_HX_REQUEST="true").content.decode()
    assert "Attachments: 2" in timeline
