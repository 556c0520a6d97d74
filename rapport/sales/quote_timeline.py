"""Quotes on the 360° view: the "quote" timeline source.

A quote shows on the timeline of its contact and of its company once it has been sent (a draft
is the seller's work in progress, not something the customer has seen), at the time it was sent,
with its number, total, status and deal, linking to its page. Only quotes whose deal the actor
may read (rapport.sales.quote_services.quote_list). One query. Imported from SalesConfig.ready.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse

from rapport.accounts.roles import Entity
from rapport.contacts.timeline import SubjectIds, TimelineItem, register_timeline_source
from rapport.core.principal import Principal
from rapport.sales.models import QuoteStatus
from rapport.sales.order_timeline import money
from rapport.sales.quote_services import quote_list


def quote_items(
    actor: Principal, subject_type: str, subject_ids: SubjectIds, limit: int, before: datetime | None
) -> list[TimelineItem]:
    """The newest `limit` sent quotes (sent before `before`) of the contacts or companies."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity.DEAL):
        return []
    qs = quote_list(actor=actor).filter(**{f"{subject_type}_id__in": subject_ids}, sent_at__isnull=False)
    if before is not None:
        qs = qs.filter(sent_at__lt=before)
    quotes = qs.select_related("deal", "owner").prefetch_related(None).order_by("-sent_at", "-id")[:limit]
    return [
        TimelineItem(
            at=quote.sent_at,
            kind="quote",
            title=f"Quote {quote.number} sent: {money(quote.total, quote.currency)}",
            actor_name=quote.owner.display_name if quote.owner else "",
            icon="quote",
            lines=(f"Status: {QuoteStatus(quote.status).label}", f"Deal: {quote.deal.name}"),
            url=reverse("quotes:detail", args=[quote.pk]),
            key=f"quote:{quote.pk}",
        )
        for quote in quotes
        if quote.sent_at is not None
    ]


register_timeline_source("quote", quote_items, label="Quotes")
