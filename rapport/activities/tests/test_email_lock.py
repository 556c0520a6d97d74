"""An email written in Rapport keeps what it sent: the generic activity update (the API's PATCH and the
activity's edit form) refuses to change its recipients (participants), subject or message once it is
queued, being sent or sent, and its kind and direction ever; filing fields stay editable, and a failed
email may be corrected before it is resent (to a real SMTP sink)."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.activities.email_services import email_compose
from rapport.activities.models import Activity
from rapport.core.models import Event
from rapport.integrations.tests.conftest import configure_smtp

pytestmark = pytest.mark.django_db
EMAIL = {"to": ["ada@example.org"], "subject": "Renewal", "body": "Hello **Ada**"}


@pytest.fixture
def mailer(org: Any, smtp: Any) -> Any:
    configure_smtp(org, smtp.port)
    return smtp


def written(actor: Any, status: str, ada: Any) -> Activity:
    """An email to Ada, written in Rapport, in `status` (its send task not run)."""
    email = email_compose(actor=actor, data={**EMAIL, "contact_id": ada.pk})
    Activity.objects.filter(pk=email.pk).update(send_status=status)
    email.refresh_from_db()
    return email


def _row(email: Activity) -> dict[str, Any]:
    row: dict[str, Any] = dict(Activity.objects.filter(pk=email.pk).values().get())
    row["contacts"] = sorted(email.contact_links.values_list("contact_id", flat=True))
    return row


def _patch(api: Any, actor: Any, email: Activity, data: dict[str, Any]) -> Any:
    return api(actor).patch(f"/api/v1/activities/{email.pk}", data, **{"If-Match": f'"v{email.version}"'})


@pytest.mark.parametrize("status", ["queued", "sending", "sent"])
@pytest.mark.parametrize(
    ("change", "field"),
    [({"subject": "Changed"}, "subject"), ({"body": "Other words"}, "body"), ({"participants": []}, "participants")],
)
def test_what_an_email_on_its_way_or_sent_says_cannot_be_patched(api, admin, ada, mailer, status, change, field):
    email = written(admin, status, ada)
    before = _row(email)
    resp = _patch(api, admin, email, change)
    assert resp.status_code == 409, resp.content
    error = resp.json()["error"]
    assert error["code"] == "email_locked" and field in error["fields"]
    assert "recipients, subject and message cannot be changed" in error["message"]
    assert _row(email) == before and not Event.objects.filter(verb="activity.updated").exists()


@pytest.mark.parametrize("status", ["failed", "sent"])
def test_an_email_written_in_rapport_stays_an_outgoing_email(api, admin, ada, mailer, status):
    email = written(admin, status, ada)
    before = _row(email)
    for change in ({"kind": "note", "body": "x"}, {"direction": "inbound"}):
        resp = _patch(api, admin, email, change)
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "email_locked"
    assert _row(email) == before


def test_filing_fields_of_a_sent_email_stay_editable_and_unchanged_content_is_no_change(
    api, admin, member_of, org, ada, mailer
):
    from rapport.contacts.tests.factories import CompanyFactory

    email = written(admin, "sent", ada)
    company = CompanyFactory.create(org=org, name="Initech")
    colleague = member_of(Role.SALES)
    resp = _patch(
        api,
        admin,
        email,
        {
            # Sent back as they are (with the trimming and line ends of a form): no change.
            "subject": " Renewal ",
            "body": "Hello **Ada**\r\n",
            "direction": "outbound",
            "participants": [{"contact_id": ada.pk}],
            # Filing: when, company, owner, members, privacy.
            "occurred_at": "2026-01-05T10:00:00+00:00",
            "company_id": company.pk,
            "owner_id": colleague.user_id,
            "user_ids": [admin.user_id],
        },
    )
    assert resp.status_code == 200, resp.content
    email.refresh_from_db()
    assert email.subject == "Renewal" and email.body == "Hello **Ada**" and email.owner_id == colleague.user_id
    assert email.occurred_at.isoformat().startswith("2026-01-05T10:00")
    (event,) = Event.objects.filter(verb="activity.updated", subject_id=email.pk)
    assert set(event.changes) == {"occurred_at", "company_id", "owner_id", "user_ids"}


def test_a_failed_email_can_be_corrected_then_resent_as_corrected(
    api, admin, ada, mailer, django_capture_on_commit_callbacks
):
    email = written(admin, "failed", ada)
    resp = _patch(api, admin, email, {"subject": "Renewal (corrected)", "body": "Hello again"})
    assert resp.status_code == 200, resp.content
    with django_capture_on_commit_callbacks(execute=True):
        assert api(admin).post(f"/api/v1/emails/{email.pk}/resend").status_code == 200
    (message,) = mailer.messages
    assert message["Subject"] == "Renewal (corrected)" and "Hello again" in message.get_body(("plain",)).get_content()
    # Now it is sent: no more corrections.
    email.refresh_from_db()
    assert email.send_status == "sent"
    assert _patch(api, admin, email, {"subject": "Too late"}).status_code == 409


def test_an_activity_that_is_not_an_email_written_in_rapport_is_not_locked(api, admin, ada, mailer):
    from rapport.activities.tests.conftest import log

    logged = log(admin, kind="email", direction="inbound", subject="Logged by hand")
    resp = api(admin).patch(f"/api/v1/activities/{logged.pk}", {"subject": "Renamed"}, **{"If-Match": "*"})
    assert resp.status_code == 200 and resp.json()["subject"] == "Renamed"


def test_the_lock_is_checked_after_the_permission(api, admin, member_of, ada, mailer):
    email = written(admin, "sent", ada)
    before = _row(email)
    viewer = member_of(Role.VIEWER)
    assert _patch(api, viewer, email, {"subject": "x"}).status_code == 403
    assert _row(email) == before


# --- the edit form of the activity's page -----------------------------------------------------------


def _form_post(email: Activity, **changes: Any) -> dict[str, Any]:
    data = {
        "subject": email.subject,
        "when": "2026-01-05T10:00",
        "direction": email.direction,
        "body": email.body,
        "private": "",
        "version": email.version,
    }
    data.update(changes)
    return data


def test_the_edit_form_shows_a_sent_emails_content_fixed_and_saves_the_rest(web, admin, ada, mailer):
    email = written(admin, "sent", ada)
    client = web(admin)
    page = client.get(f"/activities/{email.pk}/").content.decode()
    assert "its recipients, subject and message stay as they are" in page
    assert '<input type="hidden" name="subject" value="Renewal">' in page
    assert 'name="body" cols' not in page and '<textarea name="body"' not in page  # no editable message
    resp = client.post(f"/activities/{email.pk}/edit/", _form_post(email))
    assert resp.status_code == 302, resp.content.decode()[:2000]
    email.refresh_from_db()
    assert email.occurred_at.isoformat().startswith("2026-01-05") and email.subject == "Renewal"


def test_the_edit_form_refuses_a_changed_subject_with_a_clear_message(web, admin, ada, mailer):
    email = written(admin, "queued", ada)
    before = _row(email)
    resp = web(admin).post(f"/activities/{email.pk}/edit/", _form_post(email, subject="Sneaky"))
    assert resp.status_code == 409
    assert "Cannot be changed once the email is queued or sent." in resp.content.decode()
    assert _row(email) == before


def test_the_edit_form_of_a_failed_email_lets_its_content_be_corrected(web, admin, ada, mailer):
    email = written(admin, "failed", ada)
    client = web(admin)
    page = client.get(f"/activities/{email.pk}/").content.decode()
    assert "you can correct its subject and message, then resend it" in page
    resp = client.post(f"/activities/{email.pk}/edit/", _form_post(email, subject="Fixed", body="Better"))
    assert resp.status_code == 302
    email.refresh_from_db()
    assert (email.subject, email.body, email.send_status) == ("Fixed", "Better", "failed")
