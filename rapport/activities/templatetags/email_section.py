"""`{% email_section activity %}`: on an activity's page, an email's headers, sending state, thread,
Reply and Send again; on a meeting's page, "Email invitation". A tag, so the detail view needs no
knowledge of email beyond one line in its template."""

from __future__ import annotations

from typing import Any

from django import template

from rapport.accounts.roles import Entity, Mode
from rapport.activities.choices import Kind, SendStatus
from rapport.activities.email_selectors import email_thread
from rapport.activities.models import Activity
from rapport.core.access import can_write

register = template.Library()


@register.inclusion_tag("activities/_email_section.html", takes_context=True)
def email_section(context: dict[str, Any], activity: Activity) -> dict[str, Any]:
    actor = context["request"].principal
    may_write = actor.can(Entity.ACTIVITY, Mode.WRITE)
    is_email = activity.kind == Kind.EMAIL
    return {
        "activity": activity,
        "csrf_token": context.get("csrf_token"),
        "thread": list(email_thread(actor=actor, activity=activity)) if is_email else [],
        "can_reply": is_email and may_write and bool(activity.message_id),
        "can_resend": is_email
        and activity.send_status == SendStatus.FAILED
        and can_write(actor, activity, Entity.ACTIVITY),
        "can_invite": activity.kind == Kind.MEETING and may_write,
    }
