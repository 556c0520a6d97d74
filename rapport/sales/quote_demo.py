"""Demo line items and quotes (`rapport demo`, after the deals): about one deal in six that got
as far as a proposal gets products (its amount split over one to three catalogue items, so the
amount stays what it was to the cent of a line) and a quote issued when it reached the proposal,
sent the next day; won deals' quotes were accepted, most lost ones' declined, open ones are sent
or still drafts. Quotes are numbered like real ones (order_services.next_number)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from rapport.core.principal import Principal
from rapport.sales.deal_lines import deal_line_total, decimal_of
from rapport.sales.models import Deal, DealLine, Product, Quote, QuoteLine, QuoteStatus, StageKind
from rapport.sales.order_services import next_number
from rapport.sales.quote_services import QUOTE_KIND, VALID_DAYS, quote_totals

SEED = 5150
SHARE = 6  # one deal in SHARE
TAX = {"EUR": Decimal(20), "GBP": Decimal(20), "USD": Decimal(0)}
LAST_OPEN_PROBABILITY = 40  # open deals from this probability on had a proposal


def _lines(rng: random.Random, deal: Deal, products: list[Product]) -> list[DealLine]:
    picked = rng.sample(products, k=min(len(products), rng.choice([1, 1, 2, 3])))
    weights = [rng.random() + 0.2 for _ in picked]
    lines = []
    for position, (product, weight) in enumerate(zip(picked, weights, strict=True)):
        share = decimal_of(deal.amount) * Decimal(weight / sum(weights))
        quantity = Decimal(max(1, round(share / decimal_of(product.unit_price))))
        price = (share / quantity).quantize(Decimal("0.01"))
        discount = Decimal(rng.choice([0, 0, 0, 5, 10]))
        lines.append(
            DealLine(
                org_id=deal.org_id,
                deal=deal,
                product=product,
                name=product.name,
                quantity=quantity,
                unit_price=(price * 100 / (100 - discount)).quantize(Decimal("0.01")),
                discount_percent=discount,
                position=position,
            )
        )
    return lines


def _status(rng: random.Random, deal: Deal) -> str:
    if deal.stage.kind == StageKind.WON:
        return QuoteStatus.ACCEPTED
    if deal.stage.kind == StageKind.LOST:
        return QuoteStatus.DECLINED if rng.random() < 0.7 else QuoteStatus.SENT
    return QuoteStatus.SENT if rng.random() < 0.8 else QuoteStatus.DRAFT


def add_demo_quotes(actor: Principal, now: datetime) -> None:
    rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
    products = list(Product.objects.filter(org_id=actor.org_id, active=True, unit_price__gt=0).order_by("id"))
    deals = [
        deal
        for deal in Deal.objects.filter(org_id=actor.org_id, amount__gt=0).select_related("stage").order_by("id")
        if deal.stage.kind != StageKind.OPEN or deal.stage.probability >= LAST_OPEN_PROBABILITY
    ]
    chosen = [deal for deal in deals if rng.randrange(SHARE) == 0][: max(1, round(400 * settings.DEMO_SCALE))]
    if not products or not chosen:
        return
    deal_lines: list[DealLine] = []
    quotes: list[Quote] = []
    quote_lines: list[list[QuoteLine]] = []
    issued_at: list[datetime] = []
    first = next_number(actor.org_id, QUOTE_KIND, count=len(chosen))
    for n, deal in enumerate(chosen):
        lines = _lines(rng, deal, products)
        deal_lines += lines
        deal.amount = sum((deal_line_total(x) for x in lines), Decimal(0))
        tax = TAX.get(deal.currency, Decimal(0))
        copies = [
            QuoteLine(
                org_id=deal.org_id,
                product=x.product,
                sku=x.product.sku if x.product else "",
                name=x.name,
                quantity=x.quantity,
                unit_price=x.unit_price,
                discount_percent=x.discount_percent,
                tax_percent=tax,
                line_total=deal_line_total(x),
                position=x.position,
            )
            for x in lines
        ]
        issued = min(deal.stage_entered_at, now) - timedelta(days=rng.randrange(2, 21))
        issued = max(issued, deal.created_at)
        status = _status(rng, deal)
        sent = None if status == QuoteStatus.DRAFT else issued + timedelta(days=1)
        totals = quote_totals(copies)
        quotes.append(
            Quote(
                org_id=deal.org_id,
                number=first + n,
                deal=deal,
                contact_id=deal.contact_id,
                company_id=deal.company_id,
                owner_id=deal.owner_id,
                team_id=deal.team_id,
                created_by_id=deal.owner_id,
                title=deal.name,
                status=status,
                currency=deal.currency,
                issued_on=issued.date(),
                valid_until=issued.date() + timedelta(days=VALID_DAYS),
                subtotal=totals.subtotal,
                discount_total=totals.discount_total,
                tax_total=totals.tax_total,
                total=totals.total,
                sent_at=sent,
                decided_at=deal.closed_at if status in {QuoteStatus.ACCEPTED, QuoteStatus.DECLINED} else None,
                created_at=issued,
            )
        )
        quote_lines.append(copies)
        issued_at.append(issued)
    DealLine.objects.bulk_create(deal_lines)
    Deal.objects.bulk_update(chosen, ["amount"])
    Quote.objects.bulk_create(quotes)
    for quote, copies in zip(quotes, quote_lines, strict=True):
        for line in copies:
            line.quote = quote
    QuoteLine.objects.bulk_create([line for copies in quote_lines for line in copies])
    # created_at is auto_now_add: put the quotes back in their own time.
    for quote, issued in zip(quotes, issued_at, strict=True):
        quote.created_at = issued
    Quote.objects.bulk_update(quotes, ["created_at"])
