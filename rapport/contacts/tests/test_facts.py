"""Key facts contributed by other apps appear on the 360° pages and their refreshed fragment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rapport.contacts import services
from rapport.contacts.facts import Fact, register_fact_source, unregister_fact_source


@pytest.fixture
def deal_facts() -> Iterator[list[tuple[Any, str, int]]]:
    """A stand-in for a later app: facts about contacts only, with what it was asked recorded."""
    calls: list[tuple[Any, str, int]] = []

    def source(actor: Any, subject_type: str, record: Any) -> list[Fact]:
        calls.append((actor.user_id, subject_type, record.pk))
        if subject_type != "contact":
            return []
        return [Fact("Open deals", f"2 for <{record.first_name}>", url="/deals/?contact=1"), Fact("Won", "€1,000")]

    register_fact_source("test-deals", source)
    yield calls
    unregister_fact_source("test-deals")


def test_a_registered_source_adds_its_facts_to_the_contact_page_escaped(web, admin, deal_facts):
    contact = services.contact_create(actor=admin, data={"first_name": "Ada"})
    html = web(admin).get(f"/contacts/{contact.pk}/").content.decode()
    assert "Open deals" in html and "2 for &lt;Ada&gt;" in html and '<a href="/deals/?contact=1">' in html
    assert "€1,000" in html
    assert deal_facts == [(admin.user_id, "contact", contact.pk)]


def test_the_facts_fragment_shows_them_too(web, admin, deal_facts):
    contact = services.contact_create(actor=admin, data={"first_name": "Ada"})
    html = web(admin).get(f"/contacts/{contact.pk}/facts/").content.decode()
    assert "Open deals" in html and "€1,000" in html


def test_a_source_that_knows_nothing_of_companies_adds_nothing_there(web, admin, deal_facts):
    company = services.company_create(actor=admin, data={"name": "Acme"})
    resp = web(admin).get(f"/companies/{company.pk}/")
    assert resp.status_code == 200
    assert "Open deals" not in resp.content.decode()
    assert deal_facts == [(admin.user_id, "company", company.pk)]


def test_without_sources_the_page_shows_only_its_own_facts(web, admin):
    contact = services.contact_create(actor=admin, data={"first_name": "Ada"})
    html = web(admin).get(f"/contacts/{contact.pk}/").content.decode()
    assert "Last contacted" in html and "Open deals" not in html
