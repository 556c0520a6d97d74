"""The nightly task that keeps the query planner's statistics current."""

from __future__ import annotations

from django.db import connection

from rapport.contacts.tests.factories import ContactFactory
from rapport.core.tasks import refresh_statistics
from rapport.testing.factories import OrganizationFactory


def test_the_nightly_statistics_task_gives_sqlite_planner_statistics(db):
    org = OrganizationFactory.create()
    ContactFactory.create_batch(3, org=org)
    refresh_statistics.call_local()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'contacts_contact'")
        else:  # autovacuum's job on PostgreSQL: the task must leave it alone and not fail
            cursor.execute("SELECT COUNT(*) FROM contacts_contact")
        assert cursor.fetchone()[0] >= 1
