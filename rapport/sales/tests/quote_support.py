"""Helpers of the line-item, quote and order-from-deal tests: deals, products and lines made
through the services."""

from __future__ import annotations

from typing import Any

from rapport.core.principal import Principal
from rapport.sales import catalog_services, deal_lines, deal_services, quote_services
from rapport.sales.models import Deal, Product, Quote
from rapport.sales.tests.conftest import PipelineFixture

# Known numbers (see test_quote_totals_round_each_lines_tax_half_to_even).
LINES: list[dict[str, Any]] = [
    {"name": "Widget", "quantity": "3", "unit_price": "19.99", "discount_percent": "10"},  # 53.97
    {"name": "Cable", "quantity": "2.5", "unit_price": "10.10"},  # 25.25
]


def make_product(actor: Principal, sku: str = "W-1", price: str = "19.99", currency: str = "EUR") -> Product:
    data = {"sku": sku, "name": f"Product {sku}", "unit_price": price, "currency": currency}
    return catalog_services.product_create(actor=actor, data=data)


def make_deal(
    actor: Principal, pipeline: PipelineFixture, *, lines: list[dict[str, Any]] | None = None, **data: Any
) -> Deal:
    values = {"name": "Acme rollout", "currency": "EUR", "amount": "100", "pipeline_id": pipeline.pipeline.pk, **data}
    deal = deal_services.deal_create(actor=actor, data=values)
    if lines is not None:
        deal = deal_lines.deal_lines_set(actor=actor, deal=deal, lines=lines, expected_version=deal.version)
    return deal


def win(actor: Principal, deal: Deal, pipeline: PipelineFixture) -> Deal:
    deal.refresh_from_db()
    return deal_services.deal_move(
        actor=actor, deal=deal, stage_id=pipeline.stages["Won"].pk, expected_version=deal.version
    )


def make_quote(actor: Principal, deal: Deal, **data: Any) -> Quote:
    return quote_services.quote_create(actor=actor, deal=deal, data=data)


def advance(actor: Principal, quote: Quote, *actions: str) -> Quote:
    for action in actions:
        quote = quote_services.quote_transition(actor=actor, quote=quote, action=action, expected_version=quote.version)
    return quote
