"""Tasks in a real browser: create a task linked to a contact (picked with the type-ahead) with a
reminder time in the past, let the worker's reminder job run, see the bell and the notification
centre, open the task from the notification and tick it done. Then the task pages, "My day" and the
contact page's Tasks card on a desktop and on a phone (screenshots; no sideways scrolling)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rapport.web.tests.browser.conftest import PHONE, WebUser, console_of, log_in, save_screenshot

pytestmark = pytest.mark.browser


def _principal(user: WebUser) -> Any:
    from rapport.accounts.models import Membership
    from rapport.core.principal import Principal

    return Principal.for_membership(Membership.objects.get(user__email=user.email, org__name="Acme Ltd"))


def _local(when: Any) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def scroll_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def test_a_reminder_of_a_task_made_in_the_ui_rings_the_bell_and_the_task_is_ticked_done(
    page: Page, logged_in: Callable[[Page], Page], user: WebUser
) -> None:
    from rapport.activities.models import Task
    from rapport.activities.notifications import reminders_fire
    from rapport.contacts import services as contact_services

    actor = _principal(user)
    ada = contact_services.contact_create(
        actor=actor, data={"first_name": "Ada", "last_name": "Lovelace", "emails": ["ada@example.org"]}
    )
    logged_in(page)
    expect(page.locator(".bell")).to_contain_text("none unread")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tasks")
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Call Ada about the renewal")
    page.get_by_label("Description").fill("Ask about the second year.")
    page.get_by_label("Due").fill(_local(timezone.now() + timedelta(days=1)))
    page.get_by_label("Remind me at").fill(_local(timezone.now() - timedelta(minutes=10)))
    page.get_by_label("Priority").select_option("high")
    contact = page.get_by_label("Contact")
    contact.press_sequentially("Lovel")
    picked = f"Ada Lovelace (#{ada.pk})"
    expect(page.locator("#id_contact_suggestions option")).to_have_attribute("value", picked)
    contact.fill(picked)
    page.get_by_role("button", name="Create task").click()

    expect(page.get_by_role("status")).to_contain_text("Task “Call Ada about the renewal” added.")
    row = page.locator("tr", has_text="Call Ada about the renewal")
    expect(row.get_by_role("link", name="Ada Lovelace")).to_have_attribute("href", f"/contacts/{ada.pk}/")
    expect(row).to_contain_text("High")
    task = Task.objects.get(title="Call Ada about the renewal")
    assert task.contact_id == ada.pk and task.remind_at is not None and task.reminded_at is None

    page.goto(f"/contacts/{ada.pk}/")
    expect(page.locator("#tasks")).to_contain_text("Call Ada about the renewal")

    assert reminders_fire() == 1  # what the worker's periodic job runs every minute
    page.reload()
    expect(page.locator(".bell-count")).to_contain_text("1")
    page.locator(".bell").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    item = page.locator(".notification", has_text="Reminder: Call Ada about the renewal")
    expect(item).to_be_visible()
    item.get_by_role("button", name="Open").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Call Ada about the renewal")
    expect(page.locator(".bell")).to_contain_text("none unread")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    page.get_by_role("button", name="Mark “Call Ada about the renewal” done").click()
    expect(page.get_by_role("status")).to_contain_text("is done")
    expect(page.locator("tr", has_text="Call Ada about the renewal")).to_have_count(0)
    task.refresh_from_db()
    assert task.status == "done" and task.completed_at is not None
    console_of(page).assert_clean()


def _seed(user: WebUser) -> Any:
    """A contact with tasks (overdue, today, later, undated), a meeting today, a notification."""
    from rapport.activities import services
    from rapport.activities.notifications import notify
    from rapport.activities.task_selectors import day_bounds
    from rapport.activities.task_services import task_create
    from rapport.contacts import services as contact_services

    actor = _principal(user)
    acme = contact_services.company_create(actor=actor, data={"name": "Analytical Engines International Ltd"})
    ada = contact_services.contact_create(
        actor=actor,
        data={"first_name": "Ada", "last_name": "Lovelace", "emails": ["ada@example.org"], "company_id": acme.pk},
    )
    now = timezone.now()
    start, end = day_bounds(now)
    tasks = [
        ("Send the signed contract back to the lawyers with the annex", now - timedelta(days=2), "high"),
        ("Call Ada about the renewal", min(now + timedelta(minutes=30), end - timedelta(minutes=1)), "normal"),
        ("Prepare the quarterly review", now + timedelta(days=5), "low"),
        ("Think about a loyalty discount", None, "normal"),
    ]
    created = [
        task_create(
            actor=actor,
            data={"title": title, "due_at": due, "priority": priority, "contact_id": ada.pk, "company_id": acme.pk},
        )
        for title, due, priority in tasks
    ]
    services.activity_create(
        actor=actor,
        data={
            "kind": "meeting",
            "subject": "Renewal meeting with Ada",
            "occurred_at": max(start + timedelta(hours=1), min(now, end - timedelta(hours=1))),
            "duration": 2700,
            "location": "Main office, meeting room 4",
            "participants": [{"contact_id": ada.pk}],
        },
    )
    notify(org_id=actor.org_id, user_id=actor.user_id, kind="reminder", title="Reminder: Call Ada about the renewal")
    return ada, created[0]


def test_the_task_pages_fit_a_desktop_and_a_phone(
    phone_page: Page, open_page: Callable[..., Page], user: WebUser
) -> None:
    ada, task = _seed(user)
    pages = {
        "tasks-list": "/tasks/?assignee=anyone",
        "tasks-detail": f"/tasks/{task.pk}/",
        "tasks-form": f"/tasks/new/?contact={ada.pk}",
        "tasks-contact-card": f"/contacts/{ada.pk}/",
        "tasks-home": "/",
    }
    desktop = open_page()
    log_in(desktop, user)
    log_in(phone_page, user)
    for name, url in pages.items():
        for page, size in ((desktop, "desktop"), (phone_page, "phone")):
            page.goto(url)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            if name == "tasks-contact-card":
                page.locator("#tasks").scroll_into_view_if_needed()
            save_screenshot(page, f"{name}-{size}")
            if size == "phone":
                assert scroll_width(page) <= PHONE["width"], name
    expect(desktop.locator(".task-overdue")).to_have_count(1)
    desktop.goto("/")
    expect(desktop.locator("#my-day")).to_contain_text("Renewal meeting with Ada")
    expect(desktop.locator("#my-day")).to_contain_text("Main office, meeting room 4")
    expect(desktop.locator("#my-day").get_by_role("link", name=re.compile("Send the signed contract"))).to_be_visible()
    console_of(desktop).assert_clean()
    console_of(phone_page).assert_clean()
