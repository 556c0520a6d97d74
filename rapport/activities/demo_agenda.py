"""Demo agenda for `rapport demo`: what each demo user has on their plate when they first log in.

Open tasks for every member who owns customers (some overdue, some due today, later this week or
with no date, a few with a reminder, a few done), the coming days' meetings, and a handful of email
templates. Written through the services, as each member (so events, assignment notifications and
the search index are the real ones). Deterministic (a fixed seed); run again, it adds nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.activities.choices import Kind
from rapport.activities.email_template_services import email_template_create
from rapport.activities.models import EmailTemplate, Task
from rapport.activities.services import activity_create
from rapport.activities.task_services import task_complete, task_create
from rapport.contacts.models import Contact
from rapport.core.principal import Principal

SEED = 20261203
ROLES = ("admin", "manager", "sales", "support", "marketing")
TASKS_PER_USER = 8
MEETINGS_PER_USER = 4
TASK_TITLES = [
    "Call {name} back about the renewal",
    "Send {name} the updated proposal",
    "Prepare the quote for {name}",
    "Follow up with {name} after the demo",
    "Check the contract terms with {name}",
    "Book the onboarding workshop with {name}",
    "Ask {name} for a case-study quote",
    "Confirm the Q3 order with {name}",
    "Answer {name}'s invoice question",
    "Share the pilot results with {name}",
]
MEETING_SUBJECTS = ["Quarterly review", "Product demo", "Onboarding workshop", "Contract review", "Lunch"]
LOCATIONS = ["Video call", "Their office", "Our office, room 2", "Café Central", ""]
TEMPLATES = [
    (
        "Follow-up after a call",
        "Following up on our call, {{ contact.first_name|default:'there' }}",
        "Hi {{ contact.first_name|default:'there' }},\n\nThank you for your time today. As promised, here is a "
        "short summary of what we discussed.\n\n- \n- \n\nBest regards,\n{{ sender.full_name }}",
    ),
    (
        "Meeting request",
        "Could we meet next week?",
        "Hi {{ contact.first_name|default:'there' }},\n\nI would love to show you what is new for "
        "{{ company.name|default:'your team' }}. Would a 30-minute call next week suit you?\n\n"
        "Best regards,\n{{ sender.full_name }}",
    ),
    (
        "Welcome a new customer",
        "Welcome aboard, {{ contact.first_name|default:'and thank you' }}!",
        "Hi {{ contact.first_name|default:'there' }},\n\nWelcome! I am your contact person from now on: write "
        "to me or call me whenever you need anything.\n\nBest regards,\n{{ sender.full_name }}",
    ),
]


def add_demo_agenda(actor: Principal) -> None:
    """Tasks, upcoming meetings and email templates for the demo workspace, once."""
    if Task.objects.filter(org_id=actor.org_id).exists() or EmailTemplate.objects.filter(org_id=actor.org_id).exists():
        return
    rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
    members = list(
        Membership.objects.filter(org_id=actor.org_id, is_active=True, role__in=ROLES)
        .select_related("user", "org")
        .order_by("id")
    )
    now = timezone.localtime()
    for membership in members:
        member = Principal.for_membership(membership)
        contacts = list(
            Contact.objects.filter(org_id=actor.org_id, owner_id=member.user_id, deleted_at__isnull=True)
            .exclude(email="")
            .order_by("id")[:200]
        ) or list(Contact.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).exclude(email="")[:200])
        if not contacts:
            continue
        _tasks(member, rng, contacts, now)
        _meetings(member, rng, contacts, now)
    # One task handed over by the admin: its assignee finds an "assigned" notification.
    others = [m for m in members if m.user_id != actor.user_id]
    if others:
        task_create(
            actor=actor,
            data={
                "title": "Review the key accounts list before Monday",
                "owner_id": others[0].user_id,
                "priority": "high",
                "due_at": _at(now + timedelta(days=2), 12),
            },
        )
    for name, subject, body in TEMPLATES:
        email_template_create(actor=actor, data={"name": name, "subject": subject, "body": body})


def _at(day: datetime, hour: int, minute: int = 0) -> str:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).isoformat()


def _tasks(member: Principal, rng: random.Random, contacts: list[Contact], now: datetime) -> None:
    # Overdue, today, this week, later, no date: the mix a real to-do list has.
    offsets = [-3, -1, 0, 0, 1, 3, 8, None]
    for index, offset in enumerate(offsets[:TASKS_PER_USER]):
        contact = rng.choice(contacts)
        data: dict[str, object] = {
            "title": rng.choice(TASK_TITLES).format(name=contact.first_name or str(contact)),
            "contact_id": contact.pk,
            "priority": rng.choice(["low", "normal", "normal", "high"]),
        }
        if contact.company_id:
            data["company_id"] = contact.company_id
        if offset is not None:
            day = now + timedelta(days=offset)
            data["due_at"] = _at(day, rng.choice([9, 11, 14, 16]))
            if offset > 0 and index % 2:
                data["remind_at"] = _at(day, 8, 30)
        task = task_create(actor=member, data=data)
        if offset is not None and offset < -1:
            task_complete(actor=member, task=task)  # done late, but done


def _meetings(member: Principal, rng: random.Random, contacts: list[Contact], now: datetime) -> None:
    for day in range(MEETINGS_PER_USER):
        contact = rng.choice(contacts)
        extra = {"company_id": contact.company_id} if contact.company_id else {}
        activity_create(
            actor=member,
            data={
                "kind": Kind.MEETING,
                "subject": f"{rng.choice(MEETING_SUBJECTS)} with {contact}",
                "occurred_at": _at(
                    now + timedelta(days=day), rng.choice([9, 10, 11, 13, 14, 15, 16]), rng.choice([0, 30])
                ),
                "duration": rng.choice([30, 45, 60]) * 60,
                "location": rng.choice(LOCATIONS),
                "participants": [{"contact_id": contact.pk}],
                "body": "### Agenda\n\n1. Where they are\n2. What they need next\n3. Next steps",
                **extra,
            },
        )
