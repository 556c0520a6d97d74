"""Tickets on the 360° view (timeline items and facts of the requester and the company) and in the
global search — only for those who may read tickets, never trashed ones."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.models import Team
from rapport.accounts.roles import Role
from rapport.contacts.facts import facts_for
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.contacts.timeline import timeline
from rapport.core.search import search
from rapport.service import ticket_services
from rapport.service.tests.ticket_support import in_team, make_queue, new_ticket


def _titles(actor, subject_type, ids):
    return [item.title for item in timeline(actor=actor, subjects=[(subject_type, ids)], kinds=["ticket"])]


def _facts(actor, subject_type, record):
    return {f.label: f.value for f in facts_for(actor=actor, subject_type=subject_type, record=record)}


def test_tickets_show_on_the_requesters_and_the_companys_timeline(admin, org):
    acme = CompanyFactory.create(org=org, name="Acme")
    ada = contact_with(org, email="ada@example.org", first_name="Ada", company=acme)
    bob = contact_with(org, email="bob@example.org", first_name="Bob", company=acme)
    first = new_ticket(admin, "Printer on fire")
    new_ticket(admin, "Login fails", requester_email="bob@example.org")
    assert _titles(admin, "contact", [ada.pk]) == ["Ticket #1001: Printer on fire"]
    assert _titles(admin, "company", [acme.pk]) == ["Ticket #1002: Login fails", "Ticket #1001: Printer on fire"]
    # The company page's roll-up of its people shows each ticket once.
    items = timeline(actor=admin, subjects=[("company", [acme.pk]), ("contact", [ada.pk, bob.pk])], kinds=["ticket"])
    assert len(items) == 2
    ticket_services.ticket_delete(actor=admin, ticket=first)
    assert _titles(admin, "contact", [ada.pk]) == []


def test_the_timeline_costs_one_query_whatever_the_number_of_tickets(admin, org):
    ada = contact_with(org, email="ada@example.org", first_name="Ada")
    queue = make_queue(org, "Q")
    new_ticket(admin, queue_id=queue.pk, assignee_id=admin.user_id)
    with CaptureQueriesContext(connection) as one:
        _titles(admin, "contact", [ada.pk])
    for i in range(5):
        new_ticket(admin, f"More {i}", queue_id=queue.pk, assignee_id=admin.user_id)
    with CaptureQueriesContext(connection) as six:
        assert len(_titles(admin, "contact", [ada.pk])) == 6
    assert len(six.captured_queries) == len(one.captured_queries) == 1


def test_facts_count_open_tickets_and_name_the_last_one(admin, org):
    acme = CompanyFactory.create(org=org, name="Acme")
    ada = contact_with(org, email="ada@example.org", first_name="Ada", company=acme)
    assert "Open tickets" not in _facts(admin, "contact", ada)
    new_ticket(admin, "Printer on fire")
    last = new_ticket(admin, "Paper jam")
    ticket_services.ticket_set_status(actor=admin, ticket=last, status="solved")
    facts = _facts(admin, "contact", ada)
    assert facts["Open tickets"] == "1" and facts["Last ticket"].startswith("#1002 Paper jam (")
    assert _facts(admin, "company", acme)["Open tickets"] == "1"


def test_members_who_may_not_read_tickets_see_none_on_the_360_view(admin, org, member_of):
    ada = contact_with(org, email="ada@example.org", first_name="Ada")
    new_ticket(admin)
    marketing = member_of(Role.MARKETING)
    assert _titles(marketing, "contact", [ada.pk]) == []
    assert "Open tickets" not in _facts(marketing, "contact", ada)


def test_global_search_finds_a_ticket_by_number_and_subject(admin, org, member_of):
    ticket = new_ticket(admin, "Invoice shows the wrong VAT")
    for q in ("1001", "#1001", "invoice", "wrong vat", "INVOICE Shows"):
        hits = [hit for hit in search(actor=admin, q=q) if hit.kind == "ticket"]
        assert [hit.label for hit in hits] == ["#1001 Invoice shows the wrong VAT"], q
    ticket_services.ticket_update(actor=admin, ticket=ticket, data={"subject": "VAT rounding"})
    assert [hit.label for hit in search(actor=admin, q="rounding") if hit.kind == "ticket"] == ["#1001 VAT rounding"]
    assert not [hit for hit in search(actor=member_of(Role.MARKETING), q="rounding") if hit.kind == "ticket"]
    assert [hit.kind for hit in search(actor=member_of(Role.VIEWER), q="1001")].count("ticket") == 1


def test_search_follows_the_ticket_read_level(admin, org):
    team = Team.objects.create(org=org, name="T")
    agent = in_team(org, Role.SUPPORT, team)
    new_ticket(admin, "Router blinking", queue_id=make_queue(org, "Q", team=team).pk)
    assert Contact.objects.count() == 1
    assert [hit.label for hit in search(actor=agent, q="router") if hit.kind == "ticket"] == ["#1001 Router blinking"]
