"""The email API: compose and queue, read the sending state, send a failed email again; validation,
Idempotency-Key, permissions and workspaces. Sending itself: rapport/integrations/tests/test_sending.py."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.activities.models import Activity, ActivityContact
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import contact_with
from rapport.core.models import Event
from rapport.integrations.models import SmtpServer
from rapport.integrations.tests.conftest import configure_smtp

pytestmark = pytest.mark.django_db

EMAIL = {"to": ["ada@example.org"], "subject": "Renewal", "body": "Hello"}


@pytest.fixture
def mailer(org: Any, smtp: Any) -> Any:
    """The workspace sends through the test SMTP sink."""
    configure_smtp(org, smtp.port)
    return smtp


def _emails() -> list[dict[str, Any]]:
    return [dict(row) for row in Activity.objects.filter(kind="email").order_by("pk").values()]


def test_composing_logs_a_queued_outbound_email_with_its_headers(api, admin, mailer, ada, bob, company):
    resp = api(admin).post(
        "/api/v1/emails", {**EMAIL, "to": ["ADA@example.org", "stranger@example.net"], "cc": ["bob@example.org"]}
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["kind"] == "email" and body["direction"] == "outbound" and body["send_status"] == "queued"
    assert body["email_to"] == ["ada@example.org", "stranger@example.net"] and body["email_cc"] == ["bob@example.org"]
    assert body["email_from"] == f"{admin.user.name} <{admin.user.email}>"
    assert body["message_id"].startswith("<") and body["thread_key"] == body["message_id"]
    # Participants: the contacts whose address is a recipient; the unknown address is a recipient only.
    assert {c["id"] for c in body["contacts"]} == {ada.pk, bob.pk}
    assert Event.objects.filter(verb="email.queued", subject_id=body["id"]).count() == 1
    # Not sent within the request: the worker sends after the commit (not run in this test).
    assert mailer.messages == []


def test_the_sending_state_is_read_back(api, admin, mailer, django_capture_on_commit_callbacks):
    client = api(admin)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/emails", EMAIL).json()
    got = client.get(f"/api/v1/emails/{created['id']}")
    assert got.status_code == 200 and got.json()["send_status"] == "sent" and got.json()["sent_at"]
    assert len(mailer.messages) == 1 and mailer.messages[0]["Message-ID"] == created["message_id"]


def test_a_contact_link_adds_the_contact_and_its_company(api, admin, mailer, ada, company):
    body = api(admin).post("/api/v1/emails", {**EMAIL, "to": ["x@example.net"], "contact_id": ada.pk}).json()
    assert [c["id"] for c in body["contacts"]] == [ada.pk] and body["company"]["id"] == company.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to": []}, "to"),
        ({"to": ["not an address"]}, "to"),
        ({"cc": ["a@b"]}, "cc"),
        ({"subject": ""}, "subject"),
        ({"subject": "Hello\r\nBcc: everyone@example.org"}, "subject"),
        ({"subject": "Hello\nX-Evil: 1"}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"to": [f"p{i}@example.org" for i in range(51)]}, "to"),
        ({"contact_id": 999999}, "contact_id"),
        ({"reply_to_activity_id": 999999}, "reply_to_activity_id"),
        ({"invite_for_activity_id": 999999}, "invite_for_activity_id"),
    ],
)
def test_invalid_input_is_refused_naming_the_field_and_nothing_is_saved(api, admin, mailer, payload, field):
    resp = api(admin).post("/api/v1/emails", {**EMAIL, **payload})
    assert resp.status_code == 422, resp.content
    assert field in resp.json()["error"]["fields"]
    assert _emails() == [] and not Event.objects.filter(verb__startswith="email.").exists()


def test_without_an_smtp_server_composing_is_refused_with_409(api, admin, org):
    resp = api(admin).post("/api/v1/emails", EMAIL)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "smtp_not_configured"
    assert _emails() == []


def test_a_repeated_idempotency_key_queues_the_email_once(api, admin, mailer):
    client = api(admin)
    first = client.post("/api/v1/emails", EMAIL, **{"Idempotency-Key": "mail-1"})
    again = client.post("/api/v1/emails", EMAIL, **{"Idempotency-Key": "mail-1"})
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"] and len(_emails()) == 1


def test_a_viewer_may_not_compose(api, member_of, mailer):
    resp = api(member_of(Role.VIEWER)).post("/api/v1/emails", EMAIL)
    assert resp.status_code == 403 and _emails() == []


def test_a_read_only_token_may_not_compose(api, admin, mailer):
    assert api(admin, "read").post("/api/v1/emails", EMAIL).status_code == 403 and _emails() == []


def test_another_workspaces_records_cannot_be_linked_replied_to_or_invited_to(
    api, admin, other_admin, other_org, mailer
):
    configure_smtp(other_org, mailer.port)
    theirs = contact_with(other_org, email="eve@example.org")
    their_email = api(other_admin).post("/api/v1/emails", {**EMAIL, "to": ["eve@example.org"]}).json()
    their_meeting = log(other_admin, kind="meeting", subject="Secret")
    before = _emails()
    client = api(admin)
    for extra, field in (
        ({"contact_id": theirs.pk}, "contact_id"),
        ({"reply_to_activity_id": their_email["id"]}, "reply_to_activity_id"),
        ({"invite_for_activity_id": their_meeting.pk}, "invite_for_activity_id"),
    ):
        resp = client.post("/api/v1/emails", {**EMAIL, **extra})
        assert resp.status_code == 422 and field in resp.json()["error"]["fields"]
    assert client.get(f"/api/v1/emails/{their_email['id']}").status_code == 404
    assert client.post(f"/api/v1/emails/{their_email['id']}/resend").status_code == 404
    assert _emails() == before


def test_participants_only_match_contacts_of_the_workspace(api, admin, other_org, mailer):
    contact_with(other_org, email="ada@example.org")
    body = api(admin).post("/api/v1/emails", EMAIL).json()
    assert body["contacts"] == [] and not ActivityContact.objects.filter(activity_id=body["id"]).exists()


def test_a_reply_defaults_to_the_sender_of_an_incoming_email(api, admin, mailer, ada):
    from rapport.activities.email_headers import EmailHeaders
    from rapport.activities.services import activity_create

    incoming = activity_create(
        actor=admin,
        data={"kind": "email", "direction": "inbound", "subject": "Question", "participants": [{"contact_id": ada.pk}]},
        email=EmailHeaders(message_id="<q1@example.org>", email_from="Ada <ada@example.org>", email_to=["me@x.org"]),
    )
    body = api(admin).post("/api/v1/emails", {"reply_to_activity_id": incoming.pk, "body": "Answer"}).json()
    assert body["email_to"] == ["ada@example.org"] and body["subject"] == "Re: Question"
    assert body["in_reply_to"] == "<q1@example.org>" and body["references"] == "<q1@example.org>"
    assert body["thread_key"] == "<q1@example.org>" and [c["id"] for c in body["contacts"]] == [ada.pk]


# --- send again ----------------------------------------------------------------------------------


def _failed(actor: Any) -> Activity:
    from rapport.activities.email_services import email_compose

    email = email_compose(actor=actor, data=EMAIL)
    Activity.objects.filter(pk=email.pk).update(send_status="failed", send_error="The server refused …")
    return email


def test_a_failed_email_is_sent_again(api, admin, mailer, django_capture_on_commit_callbacks):
    email = _failed(admin)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api(admin).post(f"/api/v1/emails/{email.pk}/resend")
    assert resp.status_code == 200 and resp.json()["send_status"] == "queued" and resp.json()["send_error"] == ""
    email.refresh_from_db()
    assert email.send_status == "sent" and len(mailer.messages) == 1
    assert Event.objects.filter(verb="email.requeued", subject_id=email.pk).count() == 1


@pytest.mark.parametrize("status", ["queued", "sending", "sent"])
def test_only_a_failed_email_can_be_sent_again(api, admin, mailer, status):
    email = _failed(admin)
    Activity.objects.filter(pk=email.pk).update(send_status=status)
    resp = api(admin).post(f"/api/v1/emails/{email.pk}/resend")
    assert resp.status_code == 409
    email.refresh_from_db()
    assert email.send_status == status


def test_a_call_is_not_an_email_to_the_email_api(api, admin, mailer):
    call = log(admin, kind="call")
    assert api(admin).get(f"/api/v1/emails/{call.pk}").status_code == 404
    assert api(admin).post(f"/api/v1/emails/{call.pk}/resend").status_code == 404


def test_a_colleague_who_may_only_change_their_own_activities_cannot_resend_mine(api, admin, member_of, mailer):
    email = _failed(admin)
    resp = api(member_of(Role.SALES)).post(f"/api/v1/emails/{email.pk}/resend")
    assert resp.status_code == 403
    email.refresh_from_db()
    assert email.send_status == "failed"


def test_the_smtp_password_never_appears_in_an_email_answer(api, admin, org, smtp):
    configure_smtp(org, smtp.port, username="u", password="pw-do-not-leak")
    resp = api(admin).post("/api/v1/emails", EMAIL)
    assert resp.status_code == 201 and "pw-do-not-leak" not in resp.content.decode()
    assert SmtpServer.objects.get(org=org).password_secret not in resp.content.decode()
