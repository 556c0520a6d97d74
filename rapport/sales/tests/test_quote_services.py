"""Quotes: totals with known numbers, numbering per workspace, statuses (and the refused moves),
orders from accepted quotes (once) and won deals (only), and access through the deal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.accounts.roles import ROLES, Entity, Grant, Level, Role, RoleSpec
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales import quote_services
from rapport.sales.models import Order, OrderLine, Quote, QuoteStatus
from rapport.sales.tests.quote_support import LINES, advance, make_deal, make_quote, win

# Four lines whose numbers show each rounding: line totals to the cent, then each line's tax.
PRICED = [
    {"name": "Widget", "quantity": "3", "unit_price": "19.99", "discount_percent": "10", "tax_percent": "20"},
    {"name": "Cable", "quantity": "2.5", "unit_price": "10.10", "tax_percent": "7"},
    {"name": "Sticker", "quantity": "1", "unit_price": "0.05", "discount_percent": "50", "tax_percent": "10"},
    {"name": "Pin", "quantity": "1", "unit_price": "0.25", "tax_percent": "10"},
]


def test_quote_totals_round_each_lines_tax_half_to_even(admin, sales_pipeline, ada, company):
    deal = make_deal(admin, sales_pipeline, lines=LINES, contact_id=ada.pk, company_id=company.pk)
    quote = make_quote(admin, deal, tax_percent="20", notes="Net 30")
    # Copied from the deal: 53.97 + 25.25, each taxed 20 %: 10.794 → 10.79 and 5.05.
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        Decimal("79.22"), Decimal("6.00"), Decimal("15.84"), Decimal("95.06"),
    )  # fmt: skip
    assert (quote.contact_id, quote.company_id, quote.currency, quote.owner_id) == (
        ada.pk,
        company.pk,
        "EUR",
        admin.user_id,
    )
    assert quote.status == QuoteStatus.DRAFT and quote.title == deal.name and quote.notes == "Net 30"
    assert quote.valid_until is not None and (quote.valid_until - quote.issued_on).days == 30
    assert [line.sku for line in quote.lines.all()] == ["", ""]
    quote = quote_services.quote_update(actor=admin, quote=quote, data={"lines": PRICED}, expected_version=1)
    # Lines: 53.97, 25.25, 0.025 → 0.02 (half to even), 0.25. Gross 59.97 + 25.25 + 0.05 + 0.25.
    # Tax: 10.794 → 10.79, 1.7675 → 1.77, 0.002 → 0.00, 0.025 → 0.02 (half to even, not 0.03).
    assert [line.line_total for line in quote.lines.all()] == [
        Decimal("53.97"), Decimal("25.25"), Decimal("0.02"), Decimal("0.25")
    ]  # fmt: skip
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        Decimal("79.49"), Decimal("6.03"), Decimal("12.58"), Decimal("92.07"),
    )  # fmt: skip
    assert quote.version == 2
    event = Event.objects.get(verb="quote.updated", subject_id=quote.pk)
    assert event.changes["total"] == ["95.06", "92.07"]


def test_numbers_count_per_workspace(admin, other_admin, sales_pipeline, other_pipeline):
    ours = make_deal(admin, sales_pipeline, lines=LINES)
    theirs = make_deal(other_admin, other_pipeline, lines=LINES)
    assert [make_quote(admin, ours).number for _ in range(3)] == [1001, 1002, 1003]
    assert make_quote(other_admin, theirs).number == 1001
    assert make_quote(admin, ours).number == 1004


def test_a_deal_without_lines_makes_no_quote(admin, sales_pipeline):
    deal = make_deal(admin, sales_pipeline)
    with pytest.raises(ValidationFailed) as exc:
        make_quote(admin, deal)
    assert "no products" in exc.value.fields["deal_id"]
    with pytest.raises(ValidationFailed) as exc:
        make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES), tax_percent="101", valid_until="2020-01-01")
    assert set(exc.value.fields) == {"tax_percent", "valid_until"}
    assert not Quote.objects.exists()


def test_statuses_move_forward_and_refuse_the_rest(admin, sales_pipeline):
    deal = make_deal(admin, sales_pipeline, lines=LINES)
    quote = make_quote(admin, deal)
    for action in ("accept", "decline", "revise"):
        with pytest.raises(Conflict):
            advance(admin, quote, action)
    quote = advance(admin, quote, "send")
    assert quote.status == QuoteStatus.SENT and quote.sent_at is not None
    with pytest.raises(Conflict):  # only drafts change
        quote_services.quote_update(actor=admin, quote=quote, data={"title": "New"}, expected_version=quote.version)
    quote = advance(admin, quote, "revise")
    assert quote.status == QuoteStatus.DRAFT and quote.sent_at is None
    quote = advance(admin, quote, "send", "accept")
    assert quote.status == QuoteStatus.ACCEPTED and quote.decided_at is not None
    for action in ("send", "accept", "decline", "revise"):
        with pytest.raises(Conflict) as exc:
            advance(admin, quote, action)
        assert "final" in exc.value.message
    with pytest.raises(StaleVersion):
        quote_services.quote_transition(actor=admin, quote=quote, action="send", expected_version=1)
    declined = advance(admin, make_quote(admin, deal), "send", "decline")
    assert declined.status == QuoteStatus.DECLINED
    verbs = list(
        Event.objects.filter(subject_id=quote.pk, subject_type="quote").order_by("pk").values_list("verb", flat=True)
    )
    assert verbs == ["quote.created", "quote.sent", "quote.revised", "quote.sent", "quote.accepted"]


def test_an_accepted_quote_becomes_one_order(admin, sales_pipeline, ada):
    deal = make_deal(admin, sales_pipeline, lines=LINES, contact_id=ada.pk)
    quote = make_quote(admin, deal, tax_percent="20")
    with pytest.raises(ValidationFailed):
        quote_services.quote_create_order(actor=admin, quote=quote)
    quote = advance(admin, quote, "send", "accept")
    order = quote_services.quote_create_order(actor=admin, quote=quote)
    assert (order.number, order.quote_id, order.deal_id, order.contact_id) == (1001, quote.pk, deal.pk, ada.pk)
    assert order.total == Decimal("79.22") and order.currency == "EUR"  # the lines before tax
    assert list(OrderLine.objects.filter(order=order).order_by("position").values_list("name", "line_total")) == [
        ("Widget", Decimal("53.97")), ("Cable", Decimal("25.25"))
    ]  # fmt: skip
    with pytest.raises(Conflict) as exc:
        quote_services.quote_create_order(actor=admin, quote=quote)
    assert "already became order 1001" in exc.value.message
    assert Order.objects.count() == 1
    assert Event.objects.get(verb="order.created").changes["quote_id"] == [None, quote.pk]


def test_a_quote_without_a_customer_makes_no_order(admin, sales_pipeline):
    quote = advance(admin, make_quote(admin, make_deal(admin, sales_pipeline, lines=LINES)), "send", "accept")
    with pytest.raises(ValidationFailed) as exc:
        quote_services.quote_create_order(actor=admin, quote=quote)
    assert "customer" in exc.value.message and not Order.objects.exists()


def test_only_a_won_deal_with_lines_becomes_an_order(admin, sales_pipeline, company):
    deal = make_deal(admin, sales_pipeline, lines=LINES, company_id=company.pk)
    with pytest.raises(ValidationFailed) as exc:
        quote_services.deal_create_order(actor=admin, deal=deal)
    assert exc.value.code == "deal_not_won"
    empty = win(admin, make_deal(admin, sales_pipeline, company_id=company.pk), sales_pipeline)
    with pytest.raises(ValidationFailed) as exc:
        quote_services.deal_create_order(actor=admin, deal=empty)
    assert exc.value.code == "deal_has_no_lines"
    deal = win(admin, deal, sales_pipeline)
    order = quote_services.deal_create_order(actor=admin, deal=deal)
    assert (order.company_id, order.deal_id, order.quote_id, order.total) == (
        company.pk,
        deal.pk,
        None,
        Decimal("79.22"),
    )
    with pytest.raises(Conflict):
        quote_services.deal_create_order(actor=admin, deal=deal)
    assert Order.objects.count() == 1


def test_quotes_follow_the_deals_access(admin, member_of, sales_pipeline):
    owner = member_of(Role.SALES)
    deal = make_deal(owner, sales_pipeline, lines=LINES)
    quote = make_quote(owner, deal)
    assert quote.owner_id == owner.user_id
    colleague = member_of(Role.SALES)  # another team: cannot read the deal
    with pytest.raises(NotFound):
        quote_services.quote_get(actor=colleague, quote_id=quote.pk)
    assert not quote_services.quote_list(actor=colleague).exists()
    viewer = member_of(Role.VIEWER)
    assert quote_services.quote_get(actor=viewer, quote_id=quote.pk) == quote
    for actor in (viewer, colleague):
        with pytest.raises((PermissionDenied, NotFound)):
            quote_services.quote_get(actor=actor, quote_id=quote.pk, mode=quote_services.Mode.WRITE)
        with pytest.raises(PermissionDenied):
            advance(actor, quote, "send")
        with pytest.raises(PermissionDenied):
            make_quote(actor, deal)
    assert quote_services.quote_get(actor=admin, quote_id=quote.pk, mode=quote_services.Mode.WRITE) == quote


def test_an_order_needs_order_write(admin, member_of, sales_pipeline, ada, monkeypatch):
    rep = member_of(Role.SALES)
    no_orders = {**ROLES[Role.SALES].grants, Entity.ORDER: Grant(read=Level.TEAM, write=Level.NONE)}
    monkeypatch.setitem(ROLES, Role.SALES, RoleSpec(grants=no_orders))
    deal = make_deal(rep, sales_pipeline, lines=LINES, contact_id=ada.pk)
    quote = advance(rep, make_quote(rep, deal), "send", "accept")
    with pytest.raises(PermissionDenied):
        quote_services.quote_create_order(actor=rep, quote=quote)
    with pytest.raises(PermissionDenied):
        quote_services.deal_create_order(actor=rep, deal=win(rep, deal, sales_pipeline))
    assert not Order.objects.exists()
