"""`{% sales_tabs %}`: the tabs across the top of every sales page (board, list, quotes, orders,
forecast, dashboard, competitors, products). A tab shows when its page exists and the member may
read what it lists; the tab whose address starts the current path is marked current."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from rapport.accounts.roles import Entity

register = template.Library()

# (label, url name, entity the member must be able to read, paths that also make it current)
SALES_TABS: list[tuple[str, str, Entity, tuple[str, ...]]] = [
    ("Board", "sales:board", Entity.DEAL, ("/deals/board/",)),
    ("List", "sales:list", Entity.DEAL, ()),
    ("Dashboard", "sales_dashboard:page", Entity.DEAL, ()),
    ("Forecast", "forecast:page", Entity.DEAL, ()),
    ("Quotes", "quotes:list", Entity.DEAL, ()),
    ("Orders", "orders:list", Entity.ORDER, ()),
    ("Competitors", "competitors:list", Entity.DEAL, ()),
    ("Products", "catalog:products", Entity.PRODUCT, ()),
]


def _current(path: str, url: str, also: tuple[str, ...]) -> bool:
    if url == "/deals/":  # the board's address is the prefix of every deal page
        return path == url or path.startswith(also)
    return path.startswith(url) or path.startswith(also)


@register.inclusion_tag("sales/_tabs.html", takes_context=True)
def sales_tabs(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    actor = getattr(request, "principal", None)
    tabs = []
    for label, name, entity, also in SALES_TABS:
        if actor is None or not actor.can(entity):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        tabs.append({"label": label, "url": url, "current": _current(request.path, url, also)})
    return {"tabs": tabs}
