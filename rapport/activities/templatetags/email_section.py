"""`{% email_section activity %}`: on an activity's page, an email's headers, sending state, thread,
Reply and Resend; on a meeting's page, "Email invitation". A tag, so the detail view needs no
knowledge of email beyond one line in its template.

`{% email_frozen_fields activity as frozen %}`: the names of the edit form's fields that show the
stored value instead of an input (an email written in Rapport keeps what it sent; see
rapport.activities.services.EMAIL_FIXED)."""

from __future__ import annotations

from typing import Any

from django import template

from rapport.accounts.roles import Entity, Mode
from rapport.activities.choices import Kind, SendStatus
from rapport.activities.email_selectors import email_thread
from rapport.activities.models import Activity
from rapport.activities.services import email_frozen_fields as frozen_fields
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


@register.simple_tag
def email_frozen_fields(activity: Activity) -> frozenset[str]:
    return frozenset(frozen_fields(activity))
