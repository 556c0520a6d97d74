"""A contact's timeline page is one walk of the participant index, whatever the contact's history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.activities import services
from rapport.activities.tests.conftest import log
from rapport.activities.timeline import activity_items


def _activity_query(actor, contact_id):
    with CaptureQueriesContext(connection) as ctx:
        activity_items(actor, "contact", [contact_id], 30, None)
    return next(q["sql"] for q in ctx.captured_queries if 'FROM "activities_activity"' in q["sql"])


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SALES])
def test_the_contact_timeline_walks_the_participant_index_without_sorting_the_history(member_of, ada, role):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL's at scale is in docs/performance.md")
    actor = member_of(role)
    for n in range(3):
        log(actor, subject=f"Call {n}", participants=[{"contact_id": ada.pk}])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {_activity_query(actor, ada.pk)}")
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert plan.splitlines()[0].startswith("SEARCH activities_activitycontact USING INDEX activitycontact_timeline")
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # at most the ties of one instant are sorted


def test_the_walk_keeps_access_and_privacy(member_of, ada):
    sales, support = member_of(Role.SALES), member_of(Role.SUPPORT)
    services.activity_create(
        actor=support, data={"kind": "email", "subject": "Mine only", "participants": [{"contact_id": ada.pk}]},
        private=True,
    )  # fmt: skip
    log(support, subject="Shared", participants=[{"contact_id": ada.pk}])
    assert [i.title for i in activity_items(sales, "contact", [ada.pk], 30, None)] == ["Note: Shared"]
    assert [i.title for i in activity_items(support, "contact", [ada.pk], 30, None)] == [
        "Note: Shared",
        "Email: Mine only",
    ]


def test_an_activity_with_two_people_of_a_company_shows_once_on_the_roll_up(admin, ada, bob, company):
    bob.company = company
    bob.save()
    log(admin, subject="Both", participants=[{"contact_id": ada.pk}, {"contact_id": bob.pk}])
    items = activity_items(admin, "contact", company.contacts.values("pk"), 30, None)
    assert [i.title for i in items] == ["Note: Both"]
