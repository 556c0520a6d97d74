"""Contact.last_contacted_at follows the contact's live calls, meetings, emails, SMS and chats (not notes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.activities import services
from rapport.activities.tests.conftest import log
from rapport.contacts.models import Contact

T0 = timezone.now().replace(microsecond=0) - timedelta(days=30)


def _last(contact: Contact) -> datetime | None:
    return Contact.objects.get(pk=contact.pk).last_contacted_at


def _call(actor: Any, contact: Contact, when: datetime) -> Any:
    return log(actor, kind="call", occurred_at=when, participants=[{"contact_id": contact.pk}])


def test_logging_a_call_sets_last_contacted(admin, ada):
    assert _last(ada) is None
    _call(admin, ada, T0)
    assert _last(ada) == T0


def test_a_later_note_does_not_count_as_contact(admin, ada):
    _call(admin, ada, T0)
    log(admin, kind="note", occurred_at=T0 + timedelta(days=1), participants=[{"contact_id": ada.pk}])
    assert _last(ada) == T0


def test_every_communication_kind_counts(admin, ada, bob):
    for offset, kind in enumerate(("meeting", "email", "sms", "chat")):
        when = T0 + timedelta(days=offset)
        log(admin, kind=kind, occurred_at=when, participants=[{"contact_id": ada.pk}, {"contact_id": bob.pk}])
        assert (_last(ada), _last(bob)) == (when, when)


def test_trashing_the_latest_call_moves_it_back_and_restoring_brings_it_again(admin, ada):
    _call(admin, ada, T0)
    latest = _call(admin, ada, T0 + timedelta(days=2))
    assert _last(ada) == T0 + timedelta(days=2)
    services.activity_delete(actor=admin, activity=latest)
    assert _last(ada) == T0
    services.activity_restore(actor=admin, activity=latest)
    assert _last(ada) == T0 + timedelta(days=2)


def test_trashing_the_only_call_clears_it(admin, ada):
    only = _call(admin, ada, T0)
    services.activity_delete(actor=admin, activity=only)
    assert _last(ada) is None


def test_an_activity_moved_to_another_contact_moves_it_for_both(admin, ada, bob):
    _call(admin, bob, T0)
    call = _call(admin, ada, T0 + timedelta(days=1))
    services.activity_update(
        actor=admin, activity=call, data={"participants": [{"contact_id": bob.pk}]}, expected_version=call.version
    )
    assert _last(ada) is None
    assert _last(bob) == T0 + timedelta(days=1)


def test_changing_the_time_or_the_kind_recomputes_it(admin, ada):
    call = _call(admin, ada, T0)
    call = services.activity_update(
        actor=admin, activity=call, data={"occurred_at": T0 - timedelta(days=3)}, expected_version=call.version
    )
    assert _last(ada) == T0 - timedelta(days=3)
    services.activity_update(
        actor=admin, activity=call, data={"kind": "note", "body": "Only a note"}, expected_version=call.version
    )
    assert _last(ada) is None


def test_the_recompute_is_one_update_for_all_affected_contacts(admin, ada, bob):
    _call(admin, ada, T0)
    _call(admin, bob, T0 + timedelta(days=1))
    with CaptureQueriesContext(connection) as ctx:
        services.refresh_last_contacted(admin.org_id, {ada.pk, bob.pk})
    assert len(ctx.captured_queries) == 1 and ctx.captured_queries[0]["sql"].lstrip().upper().startswith("UPDATE")
    assert (_last(ada), _last(bob)) == (T0, T0 + timedelta(days=1))


def test_the_recompute_does_not_change_the_contacts_version(admin, ada):
    version = Contact.objects.get(pk=ada.pk).version
    _call(admin, ada, T0)
    assert Contact.objects.get(pk=ada.pk).version == version


def test_a_meeting_planned_for_later_counts_once_it_has_happened(admin, ada):
    _call(admin, ada, T0)
    soon = timezone.now().replace(microsecond=0) + timedelta(minutes=30)
    log(admin, kind="meeting", occurred_at=soon, participants=[{"contact_id": ada.pk}])
    assert _last(ada) == T0  # not yet: it has not happened

    assert services.refresh_last_contacted_since(soon - timedelta(hours=2)) == 0  # still ahead
    assert _last(ada) == T0
    assert services.refresh_last_contacted_since(soon - timedelta(hours=2), now=soon + timedelta(minutes=5)) == 1
    assert _last(ada) == soon
