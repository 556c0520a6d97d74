"""`rapport demo` gives each demo member an agenda: open tasks (overdue, today, later), the coming
days' meetings and a few email templates, so "My day" and the email composer are not empty."""

from __future__ import annotations

from django.utils import timezone

from rapport.accounts.demo import DEMO_STEPS, build_demo
from rapport.accounts.models import Membership
from rapport.activities.choices import Kind
from rapport.activities.demo import add_demo_activities
from rapport.activities.demo_agenda import ROLES, add_demo_agenda
from rapport.activities.models import Activity, EmailTemplate, Notification, Task, TaskStatus
from rapport.core.merge import MergeTemplate


def test_the_agenda_comes_after_the_history():
    assert DEMO_STEPS.index(add_demo_activities) < DEMO_STEPS.index(add_demo_agenda)


def test_every_member_who_works_with_customers_has_open_tasks_and_meetings_ahead(db):
    org = build_demo().org
    now = timezone.now()
    members = Membership.objects.filter(org=org, is_active=True, role__in=ROLES)
    assert members.count() == len(ROLES)
    for membership in members:
        tasks = Task.objects.filter(org=org, owner=membership.user, deleted_at__isnull=True)
        open_tasks = tasks.filter(status=TaskStatus.OPEN)
        assert open_tasks.filter(due_at__lt=now).exists(), membership.role  # something overdue
        assert open_tasks.filter(due_at__date=timezone.localdate()).exists(), membership.role  # today
        assert open_tasks.filter(due_at__isnull=True).exists()
        assert tasks.filter(status=TaskStatus.DONE).exists()
        assert not open_tasks.filter(contact__isnull=True).exclude(title__startswith="Review").exists()
        meetings = Activity.objects.filter(org=org, owner=membership.user, kind=Kind.MEETING, occurred_at__gt=now)
        assert meetings.exists() and not meetings.filter(contact_links__isnull=True).exists()
    viewer = Membership.objects.get(org=org, role="viewer").user
    assert not Task.objects.filter(org=org, owner=viewer).exists()
    # The admin handed one task over: its assignee has an "assigned" notification.
    assert Notification.objects.filter(org=org, kind="assigned").count() == 1


def test_the_demo_templates_are_valid_merge_templates(db):
    org = build_demo().org
    templates = EmailTemplate.objects.filter(org=org)
    assert templates.count() == 3
    for template in templates:
        MergeTemplate(template.subject)
        MergeTemplate(template.body)


def test_the_agenda_is_added_once(db):
    org = build_demo().org
    counts = (Task.objects.filter(org=org).count(), EmailTemplate.objects.filter(org=org).count())
    build_demo()
    assert (Task.objects.filter(org=org).count(), EmailTemplate.objects.filter(org=org).count()) == counts
