"""Sent quotes on the timelines of their contact and company, for those who may read the deal."""

from __future__ import annotations

from rapport.accounts.roles import Role
from rapport.contacts.timeline import timeline, timeline_kinds
from rapport.sales import deal_services
from rapport.sales.deal_lines import deal_lines_set
from rapport.sales.quote_services import quote_create, quote_transition


def _items(actor, subject_type, pk):
    return timeline(actor=actor, subjects=[(subject_type, [pk])], kinds=["quote"])


def test_a_sent_quote_shows_on_its_contact_and_company(admin, member_of, sales_pipeline, ada, company):
    deal = deal_services.deal_create(
        actor=admin,
        data={
            "name": "Fleet",
            "currency": "EUR",
            "pipeline_id": sales_pipeline.pipeline.pk,
            "contact_id": ada.pk,
            "company_id": company.pk,
        },
    )
    lines = [{"name": "Seats", "quantity": "2", "unit_price": "100"}]
    deal = deal_lines_set(actor=admin, deal=deal, lines=lines, expected_version=deal.version)
    quote = quote_create(actor=admin, deal=deal, data={"tax_percent": "20"})
    assert _items(admin, "contact", ada.pk) == []  # a draft is not the customer's yet
    quote = quote_transition(actor=admin, quote=quote, action="send", expected_version=quote.version)
    for subject_type, pk in (("contact", ada.pk), ("company", company.pk)):
        [item] = _items(admin, subject_type, pk)
        assert item.title == f"Quote {quote.number} sent: EUR 240.00"
        assert item.lines == ("Status: Sent", "Deal: Fleet")
        assert item.url == f"/sales/quotes/{quote.pk}/" and item.at == quote.sent_at
    quote = quote_transition(actor=admin, quote=quote, action="accept", expected_version=quote.version)
    assert _items(admin, "contact", ada.pk)[0].lines[0] == "Status: Accepted"
    assert ("quote", "Quotes") in timeline_kinds()
    assert _items(member_of(Role.SALES), "contact", ada.pk) == []  # a rep who may not read the deal
    assert len(_items(member_of(Role.VIEWER), "contact", ada.pk)) == 1
    assert _items(admin, "contact", ada.pk)[0].at == quote.sent_at
    older = timeline(actor=admin, subjects=[("contact", [ada.pk])], kinds=["quote"], before=quote.sent_at)
    assert older == []
