"""Deals on the 360° view: their stage history on the timelines of their contacts and company, and
the open-deal facts; only for those who may read the deals."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.contacts.facts import Fact, facts_for
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import contact_with
from rapport.contacts.timeline import timeline, timeline_kinds
from rapport.sales import deal_services
from rapport.sales.deal_timeline import deal_facts


def _titles(actor, subject_type, ids):
    return [item.title for item in timeline(actor=actor, subjects=[(subject_type, ids)], kinds=["deal"])]


def test_a_deal_shows_its_creation_moves_and_outcome_on_its_contacts_and_company(
    admin, org, sales_pipeline, ada, company
):
    bob = contact_with(org, email="bob@example.org", first_name="Bob")
    stages = sales_pipeline.stages
    deal = deal_services.deal_create(
        actor=admin,
        data={
            "name": "Acme",
            "amount": 1200,
            "currency": "EUR",
            "pipeline_id": sales_pipeline.pipeline.pk,
            "contact_id": ada.pk,
            "company_id": company.pk,
            "contacts": [{"contact_id": bob.pk, "role": "champion"}],
        },
    )
    deal = deal_services.deal_move(actor=admin, deal=deal, stage_id=stages["Proposal"].pk, expected_version=1)
    deal = deal_services.deal_move(
        actor=admin, deal=deal, stage_id=stages["Lost"].pk, expected_version=2, lost_reason="Budget cut"
    )
    expected = ["Deal lost: Acme", "Deal moved: Acme", "Deal created: Acme"]
    assert _titles(admin, "contact", [ada.pk]) == expected
    assert _titles(admin, "contact", [bob.pk]) == expected
    assert _titles(admin, "company", [company.pk]) == expected
    # The company page's roll-up of its people shows each entry once.
    people = Contact.objects.filter(company=company).values("pk")
    items = timeline(actor=admin, subjects=[("company", [company.pk]), ("contact", people)], kinds=["deal"])
    assert [i.title for i in items] == expected
    lost, moved, created = items
    assert lost.lines == ("Stage: Proposal → Lost", "Amount: EUR 1,200.00", "Lost reason: Budget cut")
    assert moved.lines == ("Stage: Qualified → Proposal", "Amount: EUR 1,200.00")
    assert created.lines == ("Stage: Qualified", "Amount: EUR 1,200.00")
    assert created.actor_name == admin.user.display_name and created.kind == "deal"
    assert ("deal", "Deals") in timeline_kinds()
    assert _titles(admin, "contact", [ada.pk])[:1] == ["Deal lost: Acme"]
    older = timeline(actor=admin, subjects=[("contact", [ada.pk])], kinds=["deal"], before=moved.at)
    assert [i.title for i in older] == ["Deal created: Acme"]


def test_won_deals_and_trashed_ones(admin, sales_pipeline, ada):
    deal = deal_services.deal_create(
        actor=admin, data={"name": "Win", "pipeline_id": sales_pipeline.pipeline.pk, "contact_id": ada.pk}
    )
    deal = deal_services.deal_move(actor=admin, deal=deal, stage_id=sales_pipeline.stages["Won"].pk, expected_version=1)
    assert _titles(admin, "contact", [ada.pk]) == ["Deal won: Win", "Deal created: Win"]
    deal_services.deal_delete(actor=admin, deal=deal)
    assert _titles(admin, "contact", [ada.pk]) == []


def test_only_readers_of_the_deal_see_it(admin, member_of, sales_pipeline, ada):
    deal_services.deal_create(
        actor=admin, data={"name": "Secret", "pipeline_id": sales_pipeline.pipeline.pk, "contact_id": ada.pk}
    )
    rep = member_of(Role.SALES)  # reads own and team deals only
    assert _titles(rep, "contact", [ada.pk]) == []
    assert deal_facts(rep, "contact", ada) == []
    assert _titles(member_of(Role.VIEWER), "contact", [ada.pk]) == ["Deal created: Secret"]


def test_open_deal_facts_count_and_sum_per_currency(admin, member_of, org, sales_pipeline, ada, company):
    pk = sales_pipeline.pipeline.pk
    for name, amount, currency in (("A", 100, "EUR"), ("B", "250.50", "EUR"), ("C", 1000, "USD"), ("Won", 9, "EUR")):
        deal = deal_services.deal_create(
            actor=admin,
            data={"name": name, "amount": amount, "currency": currency, "pipeline_id": pk, "company_id": company.pk},
        )
        if name == "Won":
            deal_services.deal_move(
                actor=admin, deal=deal, stage_id=sales_pipeline.stages["Won"].pk, expected_version=1
            )
    with CaptureQueriesContext(connection) as queries:
        facts = deal_facts(admin, "company", company)
    assert facts == [Fact(label="Open deals", value="3 · EUR 350.50 + USD 1,000.00")]
    assert len(queries) == 1
    assert deal_facts(member_of(Role.SUPPORT), "company", company)[0].value.startswith("3 ·")  # support reads all
    assert deal_facts(admin, "ticket", company) == []
    # Registered: the 360° pages ask every source.
    assert facts[0] in facts_for(actor=admin, subject_type="company", record=company)
    assert deal_facts(admin, "contact", ada) == []  # Ada has no deal


def test_the_contact_page_shows_the_deal(web, admin, sales_pipeline, ada):
    deal_services.deal_create(
        actor=admin,
        data={"name": "Page deal <b>", "amount": 5, "pipeline_id": sales_pipeline.pipeline.pk, "contact_id": ada.pk},
    )
    client = web(admin)
    page = client.get(f"/contacts/{ada.pk}/")
    assert page.status_code == 200
    timeline_html = client.get(f"/contacts/{ada.pk}/timeline/").content.decode()
    html = page.content.decode() + timeline_html
    assert "Deal created: Page deal &lt;b&gt;" in html and "<b>" not in timeline_html
    assert "Open deals" in html


def test_a_stay_in_a_deleted_stage_reads_as_a_deleted_stage(web, admin, sales_pipeline, ada):
    from rapport.sales import pipeline_services

    stages = sales_pipeline.stages
    deal = deal_services.deal_create(
        actor=admin,
        data={"name": "Acme", "amount": 10, "pipeline_id": sales_pipeline.pipeline.pk, "contact_id": ada.pk},
    )
    deal = deal_services.deal_move(actor=admin, deal=deal, stage_id=stages["Proposal"].pk, expected_version=1)
    deal = deal_services.deal_move(actor=admin, deal=deal, stage_id=stages["Negotiation"].pk, expected_version=2)
    pipeline_services.stage_delete(actor=admin, stage=stages["Proposal"], move_to=None)

    items = timeline(actor=admin, subjects=[("contact", [ada.pk])], kinds=["deal"])
    assert [(i.title, i.lines[0]) for i in items] == [
        ("Deal moved: Acme", "Stage: a deleted stage → Negotiation"),
        ("Deal moved: Acme", "Stage: Qualified → a deleted stage"),
        ("Deal created: Acme", "Stage: Qualified"),
    ]
    assert web(admin).get(f"/contacts/{ada.pk}/").status_code == 200
