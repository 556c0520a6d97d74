"""The email pages: compose from a contact or a company, reply, invite to a meeting, send again, and
the email section of an activity's page (headers, sending state, thread)."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.activities.email_services import email_compose
from rapport.activities.models import Activity
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import contact_with
from rapport.integrations.tests.conftest import configure_smtp


@pytest.fixture
def mailer(org: Any, smtp: Any) -> Any:
    configure_smtp(org, smtp.port)
    return smtp


def _emails() -> list[dict[str, Any]]:
    return [dict(row) for row in Activity.objects.filter(kind="email").order_by("pk").values()]


def test_the_contact_page_offers_email_and_the_form_is_prefilled(web, admin, ada, mailer):
    client = web(admin)
    assert f'href="/contacts/{ada.pk}/email/"'.encode() in client.get(f"/contacts/{ada.pk}/").content
    page = client.get(f"/contacts/{ada.pk}/email/")
    assert page.status_code == 200
    assert page.context["form"].initial["to"] == "ada@example.org"


def test_composing_from_a_contact_sends_the_email_and_returns_to_the_timeline(
    web, admin, ada, mailer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        resp = web(admin).post(
            f"/contacts/{ada.pk}/email/",
            {"to": "ada@example.org, cc-me@example.net", "cc": "", "subject": "Hello", "body": "Hi *Ada*"},
        )
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{ada.pk}/#timeline"
    (email,) = Activity.objects.filter(kind="email")
    assert email.send_status == "sent" and email.email_to == ["ada@example.org", "cc-me@example.net"]
    assert [m["Subject"] for m in mailer.messages] == ["Hello"]


def test_a_subject_with_a_line_break_is_refused_on_the_page_and_nothing_is_saved(web, admin, ada, mailer):
    resp = web(admin).post(
        f"/contacts/{ada.pk}/email/", {"to": "ada@example.org", "subject": "Hi\r\nBcc: x@example.org", "body": ""}
    )
    assert resp.status_code == 422 and "must be one line" in resp.content.decode()
    assert _emails() == [] and mailer.messages == []


def test_without_an_smtp_server_the_page_says_so_and_a_post_is_refused(web, admin, ada):
    client = web(admin)
    page = client.get(f"/contacts/{ada.pk}/email/")
    assert "No outgoing mail server is configured" in page.content.decode()
    assert b'href="/settings/smtp/"' in page.content
    resp = client.post(f"/contacts/{ada.pk}/email/", {"to": "ada@example.org", "subject": "Hi", "body": ""})
    assert resp.status_code == 409 and _emails() == []


def test_the_company_page_composes_an_email_linked_to_the_company(web, admin, company, mailer):
    client = web(admin)
    assert f'href="/companies/{company.pk}/email/"'.encode() in client.get(f"/companies/{company.pk}/").content
    resp = client.post(f"/companies/{company.pk}/email/", {"to": "info@acme.example", "subject": "Hi", "body": ""})
    assert resp.status_code == 302
    assert Activity.objects.get(kind="email").company_id == company.pk


def test_reply_from_an_emails_page_threads_it(web, admin, ada, mailer):
    first = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Offer", "body": "x"})
    client = web(admin)
    detail = client.get(f"/activities/{first.pk}/")
    assert f'href="/activities/{first.pk}/reply/"'.encode() in detail.content
    assert b"ada@example.org" in detail.content and b"Queued" in detail.content
    form = client.get(f"/activities/{first.pk}/reply/").context["form"]
    assert form.initial["subject"] == "Re: Offer" and form.initial["to"] == "ada@example.org"
    resp = client.post(f"/activities/{first.pk}/reply/", {"to": "ada@example.org", "subject": "Re: Offer", "body": "y"})
    reply = Activity.objects.filter(kind="email").latest("pk")
    assert resp["Location"] == f"/activities/{reply.pk}/"
    assert reply.in_reply_to == first.message_id and reply.thread_key == first.thread_key
    # Each shows the other in its thread.
    assert f'href="/activities/{first.pk}/"'.encode() in client.get(f"/activities/{reply.pk}/").content


def test_the_thread_leaves_out_what_the_actor_may_not_read(web, admin, member_of, ada, mailer):
    first = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Offer", "body": ""})
    hidden = email_compose(actor=admin, data={"reply_to_activity_id": first.pk, "body": "private"})
    Activity.objects.filter(pk=hidden.pk).update(private=True)
    sales = member_of(Role.SALES)
    page = web(sales).get(f"/activities/{first.pk}/")
    assert page.status_code == 200 and f'href="/activities/{hidden.pk}/"'.encode() not in page.content


def test_a_meetings_page_offers_an_invitation_email_with_its_attendees(web, admin, org, mailer):
    ada = contact_with(org, email="ada@example.org", first_name="Ada")
    meeting = log(admin, kind="meeting", subject="Kick-off", participants=[{"contact_id": ada.pk}])
    client = web(admin)
    assert f'href="/activities/{meeting.pk}/invite/"'.encode() in client.get(f"/activities/{meeting.pk}/").content
    form = client.get(f"/activities/{meeting.pk}/invite/").context["form"]
    assert form.initial["to"] == "ada@example.org" and form.initial["subject"].startswith("Invitation: Kick-off")
    resp = client.post(
        f"/activities/{meeting.pk}/invite/",
        {"to": "ada@example.org", "subject": form.initial["subject"], "body": form.initial["body"]},
    )
    assert resp.status_code == 302
    email = Activity.objects.get(kind="email")
    assert [a.filename for a in email.attachments.all()] == ["invite.ics"]


def test_a_failed_email_shows_its_error_and_is_sent_again_from_its_page(
    web, admin, mailer, django_capture_on_commit_callbacks
):
    email = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Offer", "body": ""})
    Activity.objects.filter(pk=email.pk).update(send_status="failed", send_error="The server refused the password.")
    client = web(admin)
    page = client.get(f"/activities/{email.pk}/").content.decode()
    assert "The server refused the password." in page and ">Resend</button>" in page
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(f"/activities/{email.pk}/resend/")
    assert resp.status_code == 302
    email.refresh_from_db()
    assert email.send_status == "sent" and len(mailer.messages) == 1


def test_an_email_being_sent_says_what_happens_if_the_attempt_was_interrupted(web, admin, mailer):
    email = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Offer", "body": ""})
    Activity.objects.filter(pk=email.pk).update(send_status="sending")
    page = web(admin).get(f"/activities/{email.pk}/").content.decode()
    assert "may not have been sent" in page and "Resend" not in page


def test_a_viewer_sees_no_email_button_and_gets_403_on_every_email_page(web, admin, member_of, ada, company, mailer):
    email = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Offer", "body": ""})
    Activity.objects.filter(pk=email.pk).update(send_status="failed")
    meeting = log(admin, kind="meeting")
    before = _emails()
    client = web(member_of(Role.VIEWER))
    assert f'href="/contacts/{ada.pk}/email/"'.encode() not in client.get(f"/contacts/{ada.pk}/").content
    data = {"to": "ada@example.org", "subject": "Hi", "body": ""}
    for url in (
        f"/contacts/{ada.pk}/email/",
        f"/companies/{company.pk}/email/",
        f"/activities/{email.pk}/reply/",
        f"/activities/{meeting.pk}/invite/",
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, data).status_code == 403, url
    assert client.post(f"/activities/{email.pk}/resend/").status_code == 403
    assert _emails() == before


def test_another_workspaces_member_gets_404_on_every_email_page(
    web, admin, other_admin, other_org, ada, company, mailer
):
    configure_smtp(other_org, mailer.port)
    email = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Offer", "body": ""})
    Activity.objects.filter(pk=email.pk).update(send_status="failed")
    meeting = log(admin, kind="meeting")
    before = _emails()
    client = web(other_admin)
    data = {"to": "ada@example.org", "subject": "Hi", "body": ""}
    for url in (
        f"/contacts/{ada.pk}/email/",
        f"/companies/{company.pk}/email/",
        f"/activities/{email.pk}/reply/",
        f"/activities/{meeting.pk}/invite/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, data).status_code == 404, url
    assert client.post(f"/activities/{email.pk}/resend/").status_code == 404
    assert _emails() == before


def test_a_template_fills_subject_and_body_for_the_contact(web, admin, ada, mailer):
    from rapport.activities.email_template_services import email_template_create

    template = email_template_create(
        actor=admin,
        data={"name": "Hello", "subject": "Hi {{ contact.first_name }}", "body": "Dear {{ contact.first_name }},"},
    )
    client = web(admin)
    page = client.get(f"/contacts/{ada.pk}/email/")
    assert f'<option value="{template.pk}">Hello</option>'.encode() in page.content
    form = client.get(f"/contacts/{ada.pk}/email/?template={template.pk}").context["form"]
    assert form.initial["subject"] == "Hi Ada" and form.initial["body"] == "Dear Ada,"


def test_files_uploaded_on_the_compose_page_are_attached_and_sent(
    web, admin, ada, mailer, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("notes.txt", b"see attached", content_type="text/plain")
    with django_capture_on_commit_callbacks(execute=True):
        resp = web(admin).post(
            f"/contacts/{ada.pk}/email/", {"to": "ada@example.org", "subject": "Notes", "body": "", "files": upload}
        )
    assert resp.status_code == 302
    email = Activity.objects.get(kind="email")
    assert [a.filename for a in email.attachments.all()] == ["notes.txt"]
    (message,) = mailer.messages
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "notes.txt" and part.get_content() == "see attached"


def test_a_refused_upload_saves_no_email(web, admin, ada, mailer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    resp = web(admin).post(
        f"/contacts/{ada.pk}/email/", {"to": "ada@example.org", "subject": "Tool", "body": "", "files": upload}
    )
    assert resp.status_code == 422 and _emails() == [] and mailer.messages == []
