"""`rapport demo` gives some deals products and quotes whose figures add up."""

from __future__ import annotations

from rapport.accounts.demo import build_demo
from rapport.sales.deal_lines import deal_line_total
from rapport.sales.models import Deal, Quote, QuoteStatus, StageKind
from rapport.sales.quote_services import quote_totals


def test_demo_quotes_add_up_and_follow_their_deals(db):
    org = build_demo().org
    quotes = list(Quote.objects.filter(org=org).select_related("deal__stage").prefetch_related("lines"))
    assert quotes
    assert sorted(q.number for q in quotes) == list(range(1001, 1001 + len(quotes)))
    for quote in quotes:
        lines = list(quote.lines.all())
        totals = quote_totals(lines)
        assert lines and (quote.subtotal, quote.tax_total, quote.total) == (
            totals.subtotal,
            totals.tax_total,
            totals.total,
        )
        assert quote.currency == quote.deal.currency and quote.contact_id == quote.deal.contact_id
        assert (quote.sent_at is None) == (quote.status == QuoteStatus.DRAFT)
        assert quote.created_at >= quote.deal.created_at
        if quote.status == QuoteStatus.ACCEPTED:
            assert quote.deal.stage.kind == StageKind.WON
        if quote.deal.stage.kind == StageKind.WON:
            assert quote.status == QuoteStatus.ACCEPTED
    # A deal with products has their total as its amount.
    for deal in Deal.objects.filter(org=org, lines__isnull=False).distinct().prefetch_related("lines"):
        assert deal.amount == sum(deal_line_total(line) for line in deal.lines.all())
