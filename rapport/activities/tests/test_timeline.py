"""Activities on the 360° timelines: each linked contact, the company, and the company's roll-up."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from rapport.activities import services
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import contact_with
from rapport.contacts.timeline import timeline, timeline_kinds

HX = {"HTTP_HX_REQUEST": "true"}


def _activity_titles(actor, subjects, **kwargs):
    return [item.title for item in timeline(actor=actor, subjects=subjects, **kwargs) if item.kind == "activity"]


def test_an_activity_is_on_the_timeline_of_each_participant_and_of_its_company(admin, ada, bob, company):
    log(admin, kind="call", subject="Kick-off", outcome="connected", duration=125, company_id=company.pk,
        participants=[{"contact_id": ada.pk}, {"contact_id": bob.pk}])  # fmt: skip
    assert _activity_titles(admin, [("contact", [ada.pk])]) == ["Call: Kick-off"]
    assert _activity_titles(admin, [("contact", [bob.pk])]) == ["Call: Kick-off"]
    assert _activity_titles(admin, [("company", [company.pk])]) == ["Call: Kick-off"]
    item = next(i for i in timeline(actor=admin, subjects=[("contact", [ada.pk])]) if i.kind == "activity")
    assert "Outcome: Connected" in item.lines and "Duration: 2 min 5 s" in item.lines
    assert any(line.startswith("With: Ada") for line in item.lines)


def test_the_company_roll_up_shows_an_activity_once(admin, ada, company):
    log(admin, subject="Both", company_id=company.pk, participants=[{"contact_id": ada.pk}])
    log(admin, subject="Person only", participants=[{"contact_id": ada.pk}])
    contact_ids = company.contacts.values("pk")
    titles = _activity_titles(admin, [("company", [company.pk]), ("contact", contact_ids)])
    assert titles == ["Note: Person only", "Note: Both"]


def test_a_full_company_page_stays_full_when_activities_are_on_both_the_company_and_its_people(admin, ada, company):
    now = timezone.now()
    for minutes in range(5):  # each shows up in both streams: the company's and its people's
        log(admin, subject=f"Shared {minutes}", occurred_at=now - timedelta(minutes=minutes),
            company_id=company.pk, participants=[{"contact_id": ada.pk}])  # fmt: skip
    subjects = [("company", [company.pk]), ("contact", company.contacts.values("pk"))]
    page = _activity_titles(admin, subjects, kinds=["activity"], limit=3)
    assert page == ["Note: Shared 0", "Note: Shared 1", "Note: Shared 2"]  # three, not fewer: older ones exist


def test_trashed_activities_leave_the_timeline_and_other_contacts_do_not_see_them(admin, ada, bob):
    activity = log(admin, subject="Gone", participants=[{"contact_id": ada.pk}])
    assert _activity_titles(admin, [("contact", [bob.pk])]) == []
    services.activity_delete(actor=admin, activity=activity)
    assert _activity_titles(admin, [("contact", [ada.pk])]) == []


def test_the_timeline_pages_by_occurred_at_and_filters_by_kind(admin, ada):
    now = timezone.now()
    for days in range(3):
        log(admin, subject=f"{days} days ago", occurred_at=now - timedelta(days=days),
            participants=[{"contact_id": ada.pk}])  # fmt: skip
    assert ("activity", "Activities") in timeline_kinds()
    subjects = [("contact", [ada.pk])]
    assert _activity_titles(admin, subjects, kinds=["activity"], limit=2) == ["Note: 0 days ago", "Note: 1 days ago"]
    older = _activity_titles(admin, subjects, kinds=["activity"], before=now - timedelta(hours=36))
    assert older == ["Note: 2 days ago"]
    assert all(i.kind == "change" for i in timeline(actor=admin, subjects=subjects, kinds=["change"]))


def test_bodies_on_the_timeline_are_sanitised_markdown(web, admin, ada):
    log(admin, body="**Hi** <script>alert(1)</script> [x](javascript:alert(1))",
        participants=[{"contact_id": ada.pk}])  # fmt: skip
    html = web(admin).get(f"/contacts/{ada.pk}/").content.decode()
    assert "<strong>Hi</strong>" in html
    assert "<script>alert(1)" not in html and 'href="javascript' not in html


def test_contact_timeline_query_count_does_not_grow_with_activities(
    web, admin, org, ada, django_assert_max_num_queries
):
    client = web(admin)
    log(admin, participants=[{"contact_id": ada.pk}])
    with django_assert_max_num_queries(30) as few:
        assert client.get(f"/contacts/{ada.pk}/timeline/", **HX).status_code == 200
    for n in range(15):
        other = contact_with(org, first_name=f"P{n}")
        log(admin, kind="call", outcome="busy", participants=[{"contact_id": ada.pk}, {"contact_id": other.pk}],
            user_ids=[admin.user_id])  # fmt: skip
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(f"/contacts/{ada.pk}/timeline/?kind=activity", **HX)
    assert resp.content.decode().count("timeline-activity") == 16


def test_company_page_query_count_does_not_grow_with_people_and_activities(
    web, admin, org, company, django_assert_max_num_queries
):
    client = web(admin)
    first = contact_with(org, first_name="First", company=company)
    log(admin, participants=[{"contact_id": first.pk}], company_id=company.pk)
    with django_assert_max_num_queries(40) as few:
        assert client.get(f"/companies/{company.pk}/").status_code == 200
    for n in range(10):
        person = contact_with(org, first_name=f"P{n}", company=company)
        log(admin, participants=[{"contact_id": person.pk}], company_id=company.pk if n % 2 else None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(f"/companies/{company.pk}/")
    assert resp.content.decode().count("timeline-activity") == 11
