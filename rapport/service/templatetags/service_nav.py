"""`{% service_tabs %}`: the tabs across the top of every customer-service page (tickets,
dashboard, canned replies, settings, mailboxes). A tab shows when its page exists and the member
may read tickets (and manage settings, for the mailboxes); the tab whose address starts
the current path is marked current."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from rapport.accounts.roles import Entity, Perm

register = template.Library()

# (label, url name, needs MANAGE_SETTINGS besides reading tickets)
SERVICE_TABS: list[tuple[str, str, bool]] = [
    ("Tickets", "service:list", False),
    ("Dashboard", "service_dashboard:page", False),
    ("Canned replies", "canned:list", False),
    ("Settings", "service_settings:home", False),  # every agent: queues, SLA policies, "I'm away"
    ("Mailboxes", "support_mailboxes:list", True),
]


@register.inclusion_tag("service/_tabs.html", takes_context=True)
def service_tabs(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    actor = getattr(request, "principal", None)
    tabs: list[dict[str, Any]] = []
    if actor is None or not actor.can(Entity.TICKET):
        return {"tabs": tabs}
    for label, name, settings_only in SERVICE_TABS:
        if settings_only and not actor.has_perm(Perm.MANAGE_SETTINGS):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        tabs.append({"label": label, "url": url, "current": request.path.startswith(url)})
    return {"tabs": tabs}
