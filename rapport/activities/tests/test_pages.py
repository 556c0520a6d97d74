"""Log a call and add a note from the contact and company pages, over HTMX and as plain posts."""

from __future__ import annotations

import pytest

from rapport.accounts.roles import Role
from rapport.activities.models import Activity
from rapport.activities.tests.conftest import log
from rapport.core.models import Event

HX = {"HTTP_HX_REQUEST": "true"}


def test_contact_page_offers_log_a_call_and_add_a_note(web, admin, ada):
    html = web(admin).get(f"/contacts/{ada.pk}/").content.decode()
    assert f'hx-get="/contacts/{ada.pk}/activities/call/"' in html and "Log a call" in html
    assert f'hx-get="/contacts/{ada.pk}/activities/note/"' in html and "Add a note" in html


def test_company_page_offers_add_a_note(web, admin, company):
    html = web(admin).get(f"/companies/{company.pk}/").content.decode()
    assert f'hx-get="/companies/{company.pk}/activities/note/"' in html
    assert "Log a call" not in html


def test_the_call_form_opens_in_the_panel(web, admin, ada):
    resp = web(admin).get(f"/contacts/{ada.pk}/activities/call/", **HX)
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="activity-panel"' in html
    for name in ("direction", "outcome", "duration", "when", "body"):
        assert f'name="{name}"' in html
    assert "<html" not in html


def test_logging_a_call_over_htmx_saves_it_and_refreshes_the_timeline(web, admin, ada, company):
    resp = web(admin).post(
        f"/contacts/{ada.pk}/activities/call/",
        {
            "direction": "inbound",
            "outcome": "voicemail",
            "duration": "3",
            "when": "2026-01-05T09:30",
            "body": "Left a message",
        },
        **HX,
    )
    assert resp.status_code == 200, resp.content
    assert resp["HX-Trigger"] == "record-changed" and "Call logged." in resp.content.decode()
    activity = Activity.objects.get()
    assert (activity.kind, activity.direction, activity.outcome, activity.duration) == (
        "call",
        "inbound",
        "voicemail",
        180,
    )
    assert activity.company_id == company.pk and activity.owner_id == admin.user_id
    assert [link.contact_id for link in activity.contact_links.all()] == [ada.pk]
    assert Event.objects.filter(verb="activity.created", subject_id=activity.pk).exists()
    timeline = web(admin).get(f"/contacts/{ada.pk}/timeline/", **HX).content.decode()
    assert "Outcome: Voicemail" in timeline


def test_adding_a_note_with_a_plain_post_redirects_to_the_timeline(web, admin, ada):
    client = web(admin)
    resp = client.post(f"/contacts/{ada.pk}/activities/note/", {"body": "Met at *the fair*"})
    assert resp.status_code == 302 and resp["Location"] == f"/contacts/{ada.pk}/#timeline"
    page = client.get(f"/contacts/{ada.pk}/").content.decode()
    assert "Note added." in page and "<em>the fair</em>" in page


def test_the_note_form_without_javascript_is_a_page(web, admin, ada):
    resp = web(admin).get(f"/contacts/{ada.pk}/activities/note/")
    assert resp.status_code == 200 and "<html" in resp.content.decode() and 'name="body"' in resp.content.decode()


def test_a_note_on_the_company_page_is_on_its_timeline(web, admin, company):
    client = web(admin)
    resp = client.post(f"/companies/{company.pk}/activities/note/", {"body": "Board approved"}, **HX)
    assert resp.status_code == 200 and resp["HX-Trigger"] == "record-changed"
    assert Activity.objects.get().company_id == company.pk
    assert "Board approved" in client.get(f"/companies/{company.pk}/timeline/", **HX).content.decode()


@pytest.mark.parametrize("htmx", [True, False])
def test_an_invalid_form_is_shown_again_with_its_errors_and_nothing_is_saved(web, admin, ada, htmx):
    headers = HX if htmx else {}
    resp = web(admin).post(f"/contacts/{ada.pk}/activities/note/", {"body": ""}, **headers)
    assert resp.status_code == 422
    assert 'id="activity-panel"' in resp.content.decode()
    resp = web(admin).post(f"/contacts/{ada.pk}/activities/call/", {"direction": "up", "duration": "-4"}, **headers)
    assert resp.status_code == 422
    assert not Activity.objects.exists()


def test_a_date_the_service_refuses_is_shown_on_the_form(web, admin, ada):
    resp = web(admin).post(
        f"/contacts/{ada.pk}/activities/call/", {"direction": "outbound", "when": "1800-01-01T00:00"}, **HX
    )
    assert resp.status_code == 422 and "1900" in resp.content.decode()
    assert not Activity.objects.exists()


def test_a_viewer_gets_no_buttons_and_403_on_post(web, member_of, ada, company):
    viewer = member_of(Role.VIEWER)
    client = web(viewer)
    html = client.get(f"/contacts/{ada.pk}/").content.decode()
    assert "Log a call" not in html and "Add a note" not in html
    assert "Add a note" not in client.get(f"/companies/{company.pk}/").content.decode()
    for headers in (HX, {}):
        assert client.post(f"/contacts/{ada.pk}/activities/note/", {"body": "x"}, **headers).status_code == 403
        assert (
            client.post(f"/contacts/{ada.pk}/activities/call/", {"direction": "inbound"}, **headers).status_code == 403
        )
        assert client.post(f"/companies/{company.pk}/activities/note/", {"body": "x"}, **headers).status_code == 403
    assert client.get(f"/contacts/{ada.pk}/activities/note/", **HX).status_code == 403
    assert not Activity.objects.exists()


def test_another_workspaces_contact_is_not_found(web, other_admin, ada, company):
    client = web(other_admin)
    assert client.post(f"/contacts/{ada.pk}/activities/note/", {"body": "x"}, **HX).status_code == 404
    assert client.post(f"/companies/{company.pk}/activities/note/", {"body": "x"}, **HX).status_code == 404
    assert client.get(f"/contacts/{ada.pk}/activities/", **HX).status_code == 404
    assert not Activity.objects.exists()


def test_unknown_form_is_not_found_and_cancel_shows_the_buttons(web, admin, ada, company):
    client = web(admin)
    assert client.get(f"/contacts/{ada.pk}/activities/fax/", **HX).status_code == 404
    assert client.get(f"/companies/{company.pk}/activities/call/", **HX).status_code == 404
    panel = client.get(f"/contacts/{ada.pk}/activities/", **HX).content.decode()
    assert "Log a call" in panel and "<form" not in panel


def test_a_sales_rep_logs_a_note_on_any_contact_they_can_read(web, member_of, admin, ada):
    rep = member_of(Role.SALES)
    log(admin, participants=[{"contact_id": ada.pk}])  # someone else's activity on the same contact
    resp = web(rep).post(f"/contacts/{ada.pk}/activities/note/", {"body": "Mine"}, **HX)
    assert resp.status_code == 200
    assert Activity.objects.filter(owner_id=rep.user_id).count() == 1
