"""`{% notification_bell %}`: the bell of the top bar with the unread count (one COUNT query,
rendered only inside the signed-in shell)."""

from __future__ import annotations

from typing import Any

from django import template

from rapport.activities.notifications import notification_unread_count

register = template.Library()


@register.inclusion_tag("activities/_bell.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    principal = context.get("principal")
    return {"unread": notification_unread_count(actor=principal) if principal else 0}
