"""`{% order_card record "contact" %}`: the "Orders" card of a contact's or company's page: its newest
orders (at most ORDER_CARD_LIMIT; a company's own, by company_id), its lifetime revenue in the
workspace's base currency (the purchase facts of rapport.sales.order_timeline, which count a
company's people's orders too), a link to all its orders on the order list, and "New order"
pre-filled with the record. One query: the revenue comes from the page's facts. A tag, so the
contacts app needs no knowledge of orders beyond one line in its templates."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from rapport.accounts.roles import Entity, Mode
from rapport.sales.order_selectors import recent_orders
from rapport.sales.order_timeline import order_facts

register = template.Library()
ORDER_CARD_LIMIT = 5
REVENUE = "Lifetime revenue"


@register.inclusion_tag("sales/orders/order_card.html", takes_context=True)
def order_card(context: dict[str, Any], record: Any, subject_type: str) -> dict[str, Any]:
    actor = context["request"].principal
    if not actor.can(Entity.ORDER):
        return {"hidden": True}
    orders = recent_orders(actor=actor, subject_type=subject_type, record_id=record.pk, limit=ORDER_CARD_LIMIT)
    facts = context.get("extra_facts")  # the page's facts, which hold the purchase facts already
    if facts is None:
        facts = order_facts(actor, subject_type, record)
    link = urlencode({subject_type: record.pk})
    return {
        "subject_type": subject_type,
        "orders": orders,
        "revenue": next((fact.value for fact in facts if fact.label == REVENUE), ""),
        "list_url": f"{reverse('orders:list')}?{link}",
        "add_url": f"{reverse('orders:create')}?{link}" if actor.can(Entity.ORDER, Mode.WRITE) else "",
    }
