"""The activity list (/activities/) and one activity's page (/activities/<id>/) with edit and delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities.models import Activity
from rapport.activities.tests.conftest import log
from rapport.core.models import Event

T0 = timezone.make_aware(datetime(2026, 3, 10, 10, 0))


def _call(actor: Any, contact: Any, when: datetime = T0, **data: Any) -> Activity:
    return log(actor, kind="call", occurred_at=when, participants=[{"contact_id": contact.pk}], **data)


def _ids(html: str, activities: list[Activity]) -> list[int]:
    return [a.pk for a in activities if f'href="/activities/{a.pk}/"' in html]


def test_the_top_bar_links_to_activities(web, admin):
    html = web(admin).get("/").content.decode()
    assert 'href="/activities/"' in html and ">Activities<" in html


def test_the_list_shows_activities_newest_first_linking_to_their_contacts(web, admin, ada, bob):
    old = _call(admin, ada, T0, subject="Old call")
    new = log(
        admin,
        kind="meeting",
        occurred_at=T0 + timedelta(days=1),
        subject="Kick-off",
        participants=[{"contact_id": ada.pk}, {"contact_id": bob.pk}],
    )
    html = web(admin).get("/activities/").content.decode()
    assert html.index("Kick-off") < html.index("Old call")
    assert _ids(html, [old, new]) == [old.pk, new.pk]
    assert f'href="/contacts/{ada.pk}/"' in html and f'href="/contacts/{bob.pk}/"' in html


def test_the_list_filters_by_kind_owner_dates_and_contact(web, admin, member_of, ada, bob):
    sales = member_of(Role.SALES)
    call = _call(admin, ada, T0)
    note = log(admin, kind="note", occurred_at=T0 + timedelta(days=5), participants=[{"contact_id": bob.pk}])
    theirs = _call(sales, bob, T0 + timedelta(days=10))
    everything = [call, note, theirs]
    client = web(admin)

    def shown(query: str) -> list[int]:
        resp = client.get(f"/activities/?{query}")
        assert resp.status_code == 200
        return _ids(resp.content.decode(), everything)

    assert shown("kind=call") == [call.pk, theirs.pk]
    assert shown(f"owner={sales.user_id}") == [theirs.pk]
    assert shown("start=2026-03-12&end=2026-03-15") == [note.pk]
    assert shown("end=2026-03-10") == [call.pk]
    assert shown(f"contact={bob.pk}") == [note.pk, theirs.pk]
    assert shown(f"contact={bob.pk}&kind=call") == [theirs.pk]


def test_bad_filters_get_a_400_with_a_message(web, admin):
    resp = web(admin).get("/activities/?kind=fax&start=yesterday")
    assert resp.status_code == 400 and "not valid" in resp.content.decode()
    assert web(admin).get("/activities/?cursor=garbage").status_code == 400


def test_the_list_pages_with_a_cursor_keeping_the_filters(web, admin, ada, monkeypatch):
    monkeypatch.setattr("rapport.activities.pages.PAGE_SIZE", 2)
    calls = [_call(admin, ada, T0 + timedelta(hours=i)) for i in range(5)]
    client = web(admin)
    seen: list[int] = []
    url = "/activities/?kind=call"
    for _ in range(3):
        resp = client.get(url)
        html = resp.content.decode()
        seen += [pk for pk in reversed(_ids(html, calls))]
        if resp.context["page"].next_cursor is None:
            break
        assert "kind=call&amp;cursor=" in html
        url = f"/activities/?kind=call&cursor={resp.context['page'].next_cursor}"
    assert seen == [c.pk for c in reversed(calls)]


def test_a_page_of_rows_is_one_query_whatever_its_size(web, admin, ada, bob, monkeypatch):
    client = web(admin)
    client.get("/activities/")  # warm the session

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/activities/").status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    _call(admin, ada)
    few = queries()
    for i in range(12):
        log(
            admin,
            kind="meeting",
            occurred_at=T0 + timedelta(hours=i),
            participants=[{"contact_id": ada.pk}, {"contact_id": bob.pk}],
        )
    many = queries()
    assert len(many) == len(few)
    activity_table = Activity._meta.db_table
    rows = [sql for sql in many if f'FROM "{activity_table}"' in sql]
    assert len(rows) == 1  # the rows, with owner, team and company joined
    links = [sql for sql in many if 'FROM "activities_activitycontact"' in sql]
    assert len(links) == 1  # all the participants of the page, with their contacts


def test_a_viewer_sees_the_list_and_one_activity_but_no_edit(web, admin, member_of, ada):
    call = _call(admin, ada, body="Talked about **pricing**")
    client = web(member_of(Role.VIEWER))
    assert client.get("/activities/").status_code == 200
    html = client.get(f"/activities/{call.pk}/").content.decode()
    assert "<strong>pricing</strong>" in html and f"/activities/{call.pk}/edit/" not in html
    assert "Delete" not in html


def test_the_detail_page_renders_the_body_sanitised(web, admin, ada):
    note = log(
        admin,
        body="Hello <script>alert(1)</script> [site](javascript:alert(2)) *there*",
        participants=[{"contact_id": ada.pk}],
    )
    html = web(admin).get(f"/activities/{note.pk}/").content.decode()
    body = html.split('<div class="activity-body">', 1)[1].split("</div>", 1)[0]
    assert "<em>there</em>" in body and "&lt;script&gt;" in body
    assert "<script" not in body and 'href="javascript' not in body
    assert f'href="/contacts/{ada.pk}/"' in html


def test_editing_saves_through_the_service_with_the_version(web, admin, ada):
    call = _call(admin, ada, duration=425, outcome="connected", direction="outbound")
    resp = web(admin).post(
        f"/activities/{call.pk}/edit/",
        {
            "subject": "Renewal call",
            "when": "2026-03-11T09:15",
            "direction": "inbound",
            "outcome": "connected",
            "duration": "7",
            "body": "Agreed on *terms*",
            "version": str(call.version),
        },
    )
    assert resp.status_code == 302 and resp["Location"] == f"/activities/{call.pk}/"
    call.refresh_from_db()
    assert (call.subject, call.direction, call.body) == ("Renewal call", "inbound", "Agreed on *terms*")
    assert call.duration == 425  # an untouched duration keeps its seconds
    assert timezone.localtime(call.occurred_at).strftime("%Y-%m-%d %H:%M") == "2026-03-11 09:15"
    assert Event.objects.filter(verb="activity.updated", subject_id=call.pk).count() == 1


def test_a_stale_edit_is_refused_and_changes_nothing(web, admin, ada):
    call = _call(admin, ada, subject="First")
    resp = web(admin).post(
        f"/activities/{call.pk}/edit/",
        {"subject": "Second", "when": "2026-03-11T09:15", "version": str(call.version + 1)},
    )
    assert resp.status_code == 409 and "Someone else changed" in resp.content.decode()
    assert Activity.objects.get(pk=call.pk).subject == "First"


def test_an_invalid_edit_shows_the_errors_and_changes_nothing(web, admin, ada):
    note = log(admin, body="Keep me", participants=[{"contact_id": ada.pk}])
    resp = web(admin).post(f"/activities/{note.pk}/edit/", {"when": "", "body": "", "version": str(note.version)})
    assert resp.status_code == 422
    resp = web(admin).post(
        f"/activities/{note.pk}/edit/", {"when": "2026-03-11T09:15", "body": "", "version": str(note.version)}
    )
    assert resp.status_code == 422 and "A note needs some text." in resp.content.decode()
    assert Activity.objects.get(pk=note.pk).body == "Keep me"


def test_deleting_moves_it_to_the_trash(web, admin, ada):
    call = _call(admin, ada)
    resp = web(admin).post(f"/activities/{call.pk}/delete/")
    assert resp.status_code == 302 and resp["Location"] == "/activities/"
    assert Activity.objects.get(pk=call.pk).deleted_at is not None
    assert web(admin).get(f"/activities/{call.pk}/").status_code == 404


def test_a_colleague_who_may_only_write_their_own_gets_403_and_nothing_changes(web, admin, member_of, ada):
    call = _call(admin, ada, subject="Mine")
    client = web(member_of(Role.SALES))
    html = client.get(f"/activities/{call.pk}/").content.decode()
    assert "Mine" in html and f"/activities/{call.pk}/edit/" not in html
    edit = client.post(
        f"/activities/{call.pk}/edit/", {"subject": "Theirs", "when": "2026-03-11T09:15", "version": str(call.version)}
    )
    assert edit.status_code == 403
    assert client.post(f"/activities/{call.pk}/delete/").status_code == 403
    call.refresh_from_db()
    assert (call.subject, call.deleted_at, call.version) == ("Mine", None, 1)
    assert not Event.objects.filter(verb__in=["activity.updated", "activity.trashed"]).exists()


def test_another_workspace_gets_404_everywhere_and_nothing_changes(web, admin, other_admin, ada):
    call = _call(admin, ada, subject="Ours")
    client = web(other_admin)
    assert client.get(f"/activities/{call.pk}/").status_code == 404
    assert (
        client.post(
            f"/activities/{call.pk}/edit/", {"subject": "x", "when": "2026-03-11T09:15", "version": "1"}
        ).status_code
        == 404
    )
    assert client.post(f"/activities/{call.pk}/delete/").status_code == 404
    html = client.get("/activities/").content.decode()
    assert f"/activities/{call.pk}/" not in html and "Ours" not in html
    call.refresh_from_db()
    assert (call.subject, call.deleted_at) == ("Ours", None)


def test_missing_activities_are_404(web, admin):
    assert web(admin).get("/activities/999999/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    resp = client.get("/activities/")
    assert resp.status_code == 302 and "login" in resp["Location"]
