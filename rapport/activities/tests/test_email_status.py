"""Where an email is on its way out, as the timelines, its page and the API show it: "Queued",
"Sending", "Failed: <reason>" with Resend (over htmx from a timeline, permission-checked), the time
for a sent one; and the ETag of GET /api/v1/emails/{id}."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities.email_services import email_compose
from rapport.activities.models import Activity
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import contact_with
from rapport.core.models import Event
from rapport.integrations.tests.conftest import configure_smtp

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def mailer(org: Any, smtp: Any) -> Any:
    configure_smtp(org, smtp.port)
    return smtp


def written(actor: Any, contact: Any, status: str, error: str = "", subject: str = "Offer") -> Activity:
    email = email_compose(
        actor=actor, data={"to": [contact.email], "subject": subject, "body": "Hi", "contact_id": contact.pk}
    )
    sent_at = timezone.now() if status == "sent" else None
    Activity.objects.filter(pk=email.pk).update(send_status=status, send_error=error, sent_at=sent_at)
    email.refresh_from_db()
    return email


def timeline_of(client: Any, contact: Any) -> str:
    resp = client.get(f"/contacts/{contact.pk}/timeline/", headers=HX)
    assert resp.status_code == 200
    return str(resp.content.decode())


# --- the timeline -----------------------------------------------------------------------------------


def test_the_timeline_shows_each_emails_state_and_resend_for_a_failed_one(web, admin, ada, mailer):
    failed = written(admin, ada, "failed", "The server refused every recipient: ada@example.org (550 no such user)")
    written(admin, ada, "queued", subject="Waiting")
    written(admin, ada, "sending", subject="Going")
    sent = written(admin, ada, "sent", subject="Gone")
    html = timeline_of(web(admin), ada)
    assert 'Failed<span class="visually-hidden">:</span></span>' in html
    assert "The server refused every recipient: ada@example.org (550 no such user)" in html
    assert f'hx-post="/activities/{failed.pk}/resend/"' in html and ">Resend</button>" in html
    # Without script, the button opens the email's page (whose form carries the CSRF token).
    assert f'method="get" action="/activities/{failed.pk}/#email"' in html
    assert ">Queued</span>" in html and ">Sending</span>" in html
    assert html.count(">Resend</button>") == 1
    assert f'id="email-status-{sent.pk}"' in html and "Sent <time" in html


def test_an_email_state_shows_escaped(web, admin, ada, mailer):
    written(admin, ada, "failed", "<script>alert(1)</script>")
    html = timeline_of(web(admin), ada)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_who_may_read_but_not_change_the_email_sees_the_failure_without_resend(web, admin, member_of, ada, mailer):
    written(admin, ada, "failed", "Refused.")
    html = timeline_of(web(member_of(Role.VIEWER)), ada)
    assert "Refused." in html and "Resend" not in html


def test_failed_emails_add_one_query_to_the_timeline_whatever_their_number(web, admin, ada, mailer):
    client = web(admin)
    written(admin, ada, "failed", "Refused.")
    timeline_of(client, ada)
    with CaptureQueriesContext(connection) as one:
        timeline_of(client, ada)
    for i in range(4):
        written(admin, ada, "failed", "Refused.", subject=f"S{i}")
    with CaptureQueriesContext(connection) as five:
        html = timeline_of(client, ada)
    assert html.count(">Resend</button>") == 5 and len(five) == len(one)


def test_other_activities_show_no_sending_state(web, admin, ada, mailer):
    log(admin, kind="call", participants=[{"contact_id": ada.pk}])
    assert "email-status" not in timeline_of(web(admin), ada)


# --- Resend from a timeline (htmx) --------------------------------------------------------------------


def test_resend_over_htmx_answers_the_status_block_and_sends_once(
    web, admin, ada, mailer, django_capture_on_commit_callbacks
):
    email = written(admin, ada, "failed", "Refused.")
    with django_capture_on_commit_callbacks(execute=True):
        resp = web(admin).post(f"/activities/{email.pk}/resend/", headers=HX)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert html.lstrip().startswith('<div class="email-status') and f'id="email-status-{email.pk}"' in html
    assert "Queued again: it is being sent." in html and "Resend" not in html
    email.refresh_from_db()
    assert email.send_status == "sent" and len(mailer.messages) == 1
    assert Event.objects.filter(verb="email.requeued", subject_id=email.pk).count() == 1


def test_resend_over_htmx_of_an_email_no_longer_failed_says_why(web, admin, ada, mailer):
    email = written(admin, ada, "queued")
    resp = web(admin).post(f"/activities/{email.pk}/resend/", headers=HX)
    assert resp.status_code == 409 and "Only an email that failed to send can be sent again." in resp.content.decode()
    email.refresh_from_db()
    assert email.send_status == "queued" and mailer.messages == []


def test_resend_over_htmx_is_refused_to_whoever_may_not_change_the_email(web, admin, member_of, ada, mailer):
    email = written(admin, ada, "failed", "Refused.")
    resp = web(member_of(Role.SALES)).post(f"/activities/{email.pk}/resend/", headers=HX)
    assert resp.status_code == 403 and "does not let you send this email again" in resp.content.decode()
    email.refresh_from_db()
    assert email.send_status == "failed" and mailer.messages == []
    assert not Event.objects.filter(verb="email.requeued").exists()


def test_resend_of_another_workspaces_email_is_404(web, admin, other_admin, other_org, mailer):
    configure_smtp(other_org, mailer.port)
    eve = contact_with(other_org, email="eve@example.org")
    theirs = written(other_admin, eve, "failed", "Refused.")
    for headers in (HX, {}):
        assert web(admin).post(f"/activities/{theirs.pk}/resend/", headers=headers).status_code == 404
    theirs.refresh_from_db()
    assert theirs.send_status == "failed" and mailer.messages == []


def test_resend_needs_the_csrf_token(admin, ada, mailer):
    from django.test import Client

    email = written(admin, ada, "failed", "Refused.")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session["rapport_org_id"] = admin.org_id
    session.save()
    assert client.post(f"/activities/{email.pk}/resend/", headers=HX).status_code == 403
    email.refresh_from_db()
    assert email.send_status == "failed"


# --- the email's page ---------------------------------------------------------------------------------


def test_the_emails_page_shows_failed_with_its_reason_and_a_resend_form(web, admin, ada, mailer):
    email = written(admin, ada, "failed", "Wrong password.")
    page = web(admin).get(f"/activities/{email.pk}/").content.decode()
    assert "Wrong password." in page and 'Failed<span class="visually-hidden">:</span>' in page
    assert (
        f'method="post" action="/activities/{email.pk}/resend/"><input type="hidden" name="csrfmiddlewaretoken"' in page
    )


def test_a_sent_email_shows_when_it_was_sent_and_what_the_server_refused(web, admin, ada, mailer):
    email = written(admin, ada, "sent", "Sent, but the server refused: bob@example.org (550 no such user)")
    page = web(admin).get(f"/activities/{email.pk}/").content.decode()
    assert '<span class="badge badge-ok">Sent</span>' in page and "bob@example.org (550 no such user)" in page
    assert "Resend" not in page


# --- the API's ETag -----------------------------------------------------------------------------------


def test_get_email_answers_the_etag_that_a_patch_accepts(api, admin, mailer, django_capture_on_commit_callbacks):
    client = api(admin)
    with django_capture_on_commit_callbacks(execute=False):
        created = client.post("/api/v1/emails", {"to": ["ada@example.org"], "subject": "Hi", "body": ""})
    first = client.get(f"/api/v1/emails/{created.json()['id']}")
    assert first.status_code == 200 and first["ETag"] == f'"v{first.json()["version"]}"' == created["ETag"]
    assert client.get(f"/api/v1/activities/{created.json()['id']}")["ETag"] == first["ETag"]
    resp = client.patch(f"/api/v1/activities/{created.json()['id']}", {"private": True}, **{"If-Match": first["ETag"]})
    assert resp.status_code == 200 and resp["ETag"] != first["ETag"]


def test_the_etag_changes_when_the_email_is_sent(api, admin, mailer, django_capture_on_commit_callbacks):
    from rapport.integrations.sending import email_send

    client = api(admin)
    with django_capture_on_commit_callbacks(execute=False):
        email_id = client.post("/api/v1/emails", {"to": ["ada@example.org"], "subject": "Hi", "body": ""}).json()["id"]
    queued = client.get(f"/api/v1/emails/{email_id}")
    email_send(activity_id=email_id)
    sent = client.get(f"/api/v1/emails/{email_id}")
    assert sent.json()["send_status"] == "sent" and sent["ETag"] != queued["ETag"]
    # A PATCH with the ETag read before the send is stale.
    resp = client.patch(f"/api/v1/activities/{email_id}", {"private": True}, **{"If-Match": queued["ETag"]})
    assert resp.status_code == 412


def test_resend_answers_the_new_etag(api, admin, ada, mailer):
    email = written(admin, ada, "failed", "Refused.")
    resp = api(admin).post(f"/api/v1/emails/{email.pk}/resend")
    assert resp.status_code == 200 and resp["ETag"] == f'"v{resp.json()["version"]}"' != f'"v{email.version}"'


def test_get_email_of_another_workspace_or_a_hidden_one_is_404_without_etag(api, admin, member_of, other_admin, mailer):
    theirs = log(other_admin, kind="email", subject="Theirs")
    resp = api(admin).get(f"/api/v1/emails/{theirs.pk}")
    assert resp.status_code == 404 and "ETag" not in resp
    mine = email_compose(actor=admin, data={"to": ["ada@example.org"], "subject": "Mine", "body": ""})
    Activity.objects.filter(pk=mine.pk).update(private=True)
    resp = api(member_of(Role.ADMIN)).get(f"/api/v1/emails/{mine.pk}")
    assert resp.status_code == 404 and "ETag" not in resp
