"""`rapport demo` gives the demo contacts an activity history and their last-contacted dates."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from rapport.accounts.demo import DEMO_STEPS, build_demo
from rapport.activities.choices import Kind, Outcome
from rapport.activities.demo import ACTIVITIES, add_demo_activities
from rapport.activities.models import Activity, ActivityContact
from rapport.activities.services import CONTACT_KINDS
from rapport.contacts.demo import add_demo_contacts
from rapport.contacts.models import Contact
from rapport.core.models import Event


def test_the_demo_step_runs_after_the_demo_contacts():
    assert DEMO_STEPS.index(add_demo_contacts) < DEMO_STEPS.index(add_demo_activities)


def test_the_demo_logs_activities_with_the_demo_contacts_and_sets_last_contacted(db):
    org = build_demo().org
    # The history ends yesterday; today and later are the demo agenda's meetings (test_demo_agenda.py).
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    activities = Activity.objects.filter(org=org, occurred_at__lt=today)
    assert activities.count() == round(ACTIVITIES * settings.DEMO_SCALE)
    assert set(activities.values_list("kind", flat=True)) <= set(Kind.values)
    assert {Kind.CALL, Kind.EMAIL, Kind.MEETING, Kind.NOTE} <= set(activities.values_list("kind", flat=True))
    assert not activities.filter(contact_links__isnull=True).exists()
    assert not ActivityContact.objects.filter(org=org).exclude(contact__org=org).exists()
    assert not activities.exclude(kind=Kind.CALL).exclude(outcome="").exists()
    assert set(activities.filter(kind=Kind.CALL).values_list("outcome", flat=True)) <= set(Outcome.values)
    assert not activities.filter(kind=Kind.CALL, duration__isnull=True).exists()
    assert not activities.filter(kind=Kind.NOTE, body="").exists()
    emails = activities.filter(kind=Kind.EMAIL)
    assert not emails.filter(message_id="").exists() and not emails.filter(email_from="").exists()
    assert set(emails.filter(direction="outbound").values_list("send_status", flat=True)) == {"sent"}
    assert Event.objects.filter(org=org, verb="activity.created").count() == Activity.objects.filter(org=org).count()

    contacts = Contact.objects.filter(org=org)
    expected = dict(
        ActivityContact.objects.filter(org=org, activity__kind__in=CONTACT_KINDS, occurred_at__lte=timezone.now())
        .values_list("contact_id")
        .annotate(latest=Max("occurred_at"))
    )
    assert (
        expected
        and dict(contacts.filter(last_contacted_at__isnull=False).values_list("pk", "last_contacted_at")) == expected
    )


def test_the_demo_run_twice_adds_no_more_activities(db):
    org = build_demo().org
    count = Activity.objects.filter(org=org).count()
    build_demo()
    assert Activity.objects.filter(org=org).count() == count
