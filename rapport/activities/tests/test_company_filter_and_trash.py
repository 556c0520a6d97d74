"""The activity list filtered by company (page and API), and the activity trash page with Restore."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.activities import services
from rapport.activities.models import Activity
from rapport.activities.tests.conftest import log
from rapport.contacts.tests.factories import CompanyFactory
from rapport.core.models import Event


@pytest.fixture
def other_company(org: Any) -> Any:
    return CompanyFactory.create(org=org, name="Globex")


def _trashed(actor: Any, **data: Any) -> Activity:
    activity = log(actor, **data)
    return services.activity_delete(actor=actor, activity=activity)


# --- the company filter ------------------------------------------------------------------------


def test_the_list_page_filters_by_company(web, admin, company, other_company):
    log(admin, subject="At Acme", company_id=company.pk)
    log(admin, subject="At Globex", company_id=other_company.pk)
    html = web(admin).get(f"/activities/?company={company.pk}").content.decode()
    assert "At Acme" in html and "At Globex" not in html
    assert f'href="/companies/{company.pk}/">Acme Corp</a> only' in html


def test_the_api_lists_filter_by_company(api, admin, company, other_company):
    mine = log(admin, subject="At Acme", company_id=company.pk)
    log(admin, subject="At Globex", company_id=other_company.pk)
    items = api(admin).get(f"/api/v1/activities?company_id={company.pk}").json()["items"]
    assert [a["id"] for a in items] == [mine.pk]


def test_the_company_filter_page_runs_a_fixed_number_of_queries(web, admin, company, django_assert_max_num_queries):
    for n in range(3):
        log(admin, subject=f"Acme {n}", company_id=company.pk)
    client = web(admin)
    client.get(f"/activities/?company={company.pk}")  # warm the session
    with django_assert_max_num_queries(12) as few:
        client.get(f"/activities/?company={company.pk}")
    for n in range(3, 10):
        log(admin, subject=f"Acme {n}", company_id=company.pk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(f"/activities/?company={company.pk}")


def test_another_workspaces_company_filters_to_nothing(web, api, admin, other_admin, company):
    log(admin, subject="At Acme", company_id=company.pk)
    html = web(other_admin).get(f"/activities/?company={company.pk}").content.decode()
    assert "At Acme" not in html and "Acme Corp" not in html
    assert api(other_admin).get(f"/api/v1/activities?company_id={company.pk}").json()["items"] == []


def test_a_bad_company_filter_is_a_400_not_a_500(web, admin):
    assert web(admin).get("/activities/?company=abc").status_code == 400


# --- the trash page ----------------------------------------------------------------------------


def test_the_list_page_links_to_the_trash(web, admin):
    assert 'href="/activities/trash/"' in web(admin).get("/activities/").content.decode()


def test_the_trash_lists_trashed_activities_newest_first_and_restores_one(web, admin, ada):
    first = _trashed(admin, subject="First gone", participants=[{"contact_id": ada.pk}])
    _trashed(admin, subject="Second gone")
    log(admin, subject="Still here")
    client = web(admin)
    html = client.get("/activities/trash/").content.decode()
    assert html.index("Second gone") < html.index("First gone") and "Still here" not in html
    resp = client.post(f"/activities/{first.pk}/restore/")
    assert resp.status_code == 302 and resp["Location"] == "/activities/trash/"
    first.refresh_from_db()
    assert first.deleted_at is None
    assert Event.objects.filter(verb="activity.restored", subject_id=first.pk).exists()
    html = client.get("/activities/trash/").content.decode()
    assert "First gone was restored." in html and '<td data-label="Subject">First gone' not in html
    assert '<td data-label="Subject">Second gone' in html


def test_the_trash_shows_only_what_the_actor_may_restore(web, admin, member_of):
    sales = member_of(Role.SALES)  # reads all activities, writes its own
    _trashed(admin, subject="Admin's")
    _trashed(sales, subject="Mine")
    html = web(sales).get("/activities/trash/").content.decode()
    assert "Mine" in html and "Admin's" not in html


def test_restoring_an_activity_the_actor_may_not_write_is_403_and_changes_nothing(web, admin, member_of):
    sales = member_of(Role.SALES)
    gone = _trashed(admin, subject="Admin's")
    assert web(sales).post(f"/activities/{gone.pk}/restore/").status_code == 403
    gone.refresh_from_db()
    assert gone.deleted_at is not None


def test_a_role_that_writes_no_activities_gets_403_on_the_trash(web, member_of):
    assert web(member_of(Role.VIEWER)).get("/activities/trash/").status_code == 403


def test_someone_elses_private_activity_is_not_in_the_trash_and_cannot_be_restored(web, admin, member_of):
    sales = member_of(Role.SALES)
    activity = services.activity_create(actor=sales, data={"kind": "email", "subject": "Private one"}, private=True)
    services.activity_delete(actor=sales, activity=activity)
    assert "Private one" not in web(admin).get("/activities/trash/").content.decode()
    assert web(admin).post(f"/activities/{activity.pk}/restore/").status_code == 404
    assert "Private one" in web(sales).get("/activities/trash/").content.decode()
    activity.refresh_from_db()
    assert activity.deleted_at is not None


def test_another_workspace_cannot_see_or_restore_the_trash(web, admin, other_admin):
    gone = _trashed(admin, subject="Acme's")
    client = web(other_admin)
    assert "Acme's" not in client.get("/activities/trash/").content.decode()
    assert client.post(f"/activities/{gone.pk}/restore/").status_code == 404
    gone.refresh_from_db()
    assert gone.deleted_at is not None


def test_restore_needs_a_post(web, admin):
    gone = _trashed(admin, subject="Gone")
    assert web(admin).get(f"/activities/{gone.pk}/restore/").status_code == 405


def test_the_trash_page_runs_a_fixed_number_of_queries(web, admin, ada, django_assert_max_num_queries):
    client = web(admin)
    _trashed(admin, subject="Gone 0", participants=[{"contact_id": ada.pk}])
    client.get("/activities/trash/")
    with django_assert_max_num_queries(20) as few:
        client.get("/activities/trash/")
    for n in range(1, 8):
        _trashed(admin, subject=f"Gone {n}", participants=[{"contact_id": ada.pk}])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "Gone 7" in client.get("/activities/trash/").content.decode()
