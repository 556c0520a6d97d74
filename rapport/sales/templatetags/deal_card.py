"""`{% deal_card record "contact" %}`: the "Deals" card of a contact's or company's page: its open
deals (newest first, at most DEAL_CARD_LIMIT) with stage and amount, "New deal" pre-filled with the
record, "Convert to deal" on a lead the user may change (the page's `can_edit`), and a link to the
board. One query. A tag, so the contacts app needs no knowledge of deals beyond one line in its
templates."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from rapport.accounts.roles import Entity, Mode
from rapport.sales.deal_selectors import DealFilter, deal_list, deal_ordering
from rapport.sales.lead_services import is_lead
from rapport.sales.models import StageKind

register = template.Library()
DEAL_CARD_LIMIT = 5


@register.inclusion_tag("sales/deals/deal_card.html", takes_context=True)
def deal_card(context: dict[str, Any], record: Any, subject_type: str) -> dict[str, Any]:
    actor = context["request"].principal
    if not actor.can(Entity.DEAL):
        return {"hidden": True}
    key = "contact_id" if subject_type == "contact" else "company_id"
    filters = DealFilter(status=StageKind.OPEN, **{key: record.pk})
    deals = list(deal_list(actor=actor, filters=filters).order_by(*deal_ordering(None))[: DEAL_CARD_LIMIT + 1])
    link = {subject_type: record.pk}
    convertible = (
        subject_type == "contact"
        and is_lead(record)
        and actor.can(Entity.DEAL, Mode.WRITE)
        and bool(context.get("can_edit"))
    )
    return {
        "convert_url": reverse("leads:convert", args=[record.pk]) if convertible else "",
        "deals": deals[:DEAL_CARD_LIMIT],
        "more": len(deals) > DEAL_CARD_LIMIT,
        "board_url": reverse("sales:board"),
        "add_url": f"{reverse('sales:create')}?{urlencode(link)}" if actor.can(Entity.DEAL, Mode.WRITE) else "",
    }
