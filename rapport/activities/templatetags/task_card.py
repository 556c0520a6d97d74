"""`{% task_card record "contact" %}`: the "Tasks" card of a contact's or company's page: its open
tasks (soonest due first) with a Done tick, "Add task" pre-filled with the record, and a link to
all of them. One query, whatever the number of tasks. A tag, so the contacts app needs no knowledge
of tasks beyond one line in its templates."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.activities.task_selectors import RECORD_CARD_LIMIT, day_bounds, task_open_for_record, task_row

register = template.Library()


@register.inclusion_tag("activities/task_card.html", takes_context=True)
def task_card(context: dict[str, Any], record: Any, subject_type: str) -> dict[str, Any]:
    request = context["request"]
    actor = request.principal
    if not actor.can(Entity.ACTIVITY):
        return {"hidden": True}
    link = {"contact": record.pk} if subject_type == "contact" else {"company": record.pk}
    detail = "contacts:detail" if subject_type == "contact" else "contacts:company_detail"
    here = reverse(detail, args=[record.pk])
    tasks = task_open_for_record(actor=actor, **{f"{subject_type}_id": record.pk})
    now = timezone.now()
    _, today_end = day_bounds(now)
    return {
        "record": record,
        "subject_type": subject_type,
        "csrf_token": context.get("csrf_token"),
        "rows": [task_row(task, now, today_end) for task in tasks[:RECORD_CARD_LIMIT]],
        "more": len(tasks) > RECORD_CARD_LIMIT,
        "all_url": f"{reverse('tasks:list')}?{urlencode({**link, 'assignee': 'anyone'})}",
        "add_url": (
            f"{reverse('tasks:add')}?{urlencode({**link, 'next': here})}"
            if actor.can(Entity.ACTIVITY, Mode.WRITE)
            else ""
        ),
        "here": here + "#tasks",
    }
