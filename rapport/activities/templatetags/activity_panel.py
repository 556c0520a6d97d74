"""`{% activity_panel record "contact" %}`: the "Log a call" / "Add a note" panel of a 360° page.

A tag (rather than context from the contacts views) so that the contacts app needs no knowledge
of activities beyond one line in its templates.
"""

from __future__ import annotations

from typing import Any

from django import template

from rapport.activities.views import panel_context, subject_url

register = template.Library()


@register.inclusion_tag("activities/_panel.html", takes_context=True)
def activity_panel(context: dict[str, Any], record: Any, subject_type: str) -> dict[str, Any]:
    request = context["request"]
    return {
        "record": record,
        "subject_type": subject_type,
        "detail_url": subject_url(subject_type, record.pk),
        "csrf_token": context.get("csrf_token"),
        **panel_context(request.principal, subject_type, record.pk),
    }
