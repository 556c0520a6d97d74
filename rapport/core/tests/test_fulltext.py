"""The global full-text index (rapport.core.fulltext), on the real database (SQLite FTS5 or PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from rapport.accounts.models import Organization
from rapport.accounts.roles import Entity, Level, Role
from rapport.core.fulltext import (
    Visibility,
    index_entry,
    remove_entry,
    search_entries,
    visibility_for,
)
from rapport.core.models import SearchEntry
from rapport.testing.factories import make_principal


def _ids(org: Organization, q: str, **kwargs: Any) -> list[int]:
    return [hit.object_id for hit in search_entries(org_id=org.pk, q=q, **kwargs)]


@pytest.fixture
def people(org: Organization) -> Organization:
    index_entry(
        org_id=org.pk,
        kind="contact",
        object_id=1,
        title="John Smith",
        subtitle="Acme Corp",
        keywords=["john.smith@example.com", "+1 (212) 555-0134"],
        owner_id=100,
    )
    index_entry(
        org_id=org.pk,
        kind="contact",
        object_id=2,
        title="José Álvarez",
        subtitle="Globex",
        keywords=["jose@alvarez.es", "+34 612 345 678"],
        owner_id=200,
        team_id=7,
    )
    index_entry(
        org_id=org.pk,
        kind="contact",
        object_id=3,
        title="Jane Smithers",
        keywords=["jane@initech.com", "+44 20 7946 0958"],
        owner_id=300,
    )
    index_entry(
        org_id=org.pk,
        kind="company",
        object_id=10,
        title="Acme Corp",
        subtitle="Manufacturing",
        keywords=["acme.com", "acme-corp.co.uk"],
    )
    return org


def test_first_name_prefix_finds_the_contact(people: Organization) -> None:
    assert set(_ids(people, "jo")) == {1, 2}
    assert _ids(people, "Joh") == [1]


def test_last_name_prefix_finds_the_contacts(people: Organization) -> None:
    assert set(_ids(people, "smi")) == {1, 3}
    # "Smithers" matches; "Smith" follows only as a fuzzy (likely typo) hit.
    hits = search_entries(org_id=people.pk, q="smithe")
    assert [h.object_id for h in hits] == [3, 1] and hits[0].rank > 1 > hits[1].rank


def test_every_word_must_match_as_a_prefix(people: Organization) -> None:
    assert _ids(people, "jo sm") == [1]
    assert _ids(people, "john s") == [1]
    assert _ids(people, "s john") == [1]
    assert _ids(people, "john x") == []
    assert _ids(people, "smith john") == [1]
    assert _ids(people, "jane alvarez") == []


def test_diacritics_are_ignored_both_ways(people: Organization) -> None:
    assert _ids(people, "jose alvarez") == [2]
    assert _ids(people, "JOSÉ") == [2]
    assert _ids(people, "alv") == [2]


def test_email_exact_and_prefix(people: Organization) -> None:
    assert _ids(people, "john.smith@example.com") == [1]
    assert _ids(people, "John.Smith@Exam") == [1]
    assert _ids(people, "jane@initech.com") == [3]
    assert _ids(people, "jane@acme.com") == []


@pytest.mark.parametrize(
    "q",
    ["+1 (212) 555-0134", "2125550134", "212-555-0134", "555 0134", "5550134", "(212) 555 0134", "12125550134"],
)
def test_phone_in_any_format_finds_the_contact(people: Organization, q: str) -> None:
    assert _ids(people, q) == [1]


def test_national_phone_with_trunk_zero_finds_the_international_number(people: Organization) -> None:
    assert _ids(people, "020 7946 0958") == [3]
    assert _ids(people, "+44 20 7946 0958") == [3]
    assert _ids(people, "612 345 678") == [2]


def test_domain_finds_the_company(people: Organization) -> None:
    assert _ids(people, "acme.com", kinds=["company"]) == [10]
    assert _ids(people, "acme-corp.co.uk") == [10]


def test_company_name_finds_the_company_first_then_its_people(people: Organization) -> None:
    hits = search_entries(org_id=people.pk, q="acme")
    assert [(h.kind, h.object_id) for h in hits] == [("company", 10), ("contact", 1)]


def test_typos_are_tolerated(people: Organization) -> None:
    assert _ids(people, "Jonh Smiht") == [1]
    assert _ids(people, "Alvraez") == [2]


def test_unrelated_words_find_nothing(people: Organization) -> None:
    assert _ids(people, "Wolfgang Mozart") == []


def test_exact_prefix_ranks_before_fuzzy(org: Organization) -> None:
    index_entry(org_id=org.pk, kind="contact", object_id=1, title="Jon Smyth")
    index_entry(org_id=org.pk, kind="contact", object_id=2, title="Jonathan Smith")
    index_entry(org_id=org.pk, kind="contact", object_id=3, title="Mary Jonas")
    hits = search_entries(org_id=org.pk, q="jonathan smith")
    assert hits[0].object_id == 2
    hits = search_entries(org_id=org.pk, q="jon")
    # "Jon Smyth" and "Jonathan Smith" start with the query; "Mary Jonas" only has a word that does.
    assert [h.object_id for h in hits][:2] == [1, 2] and hits[2].object_id == 3
    assert hits[0].rank >= hits[1].rank > hits[2].rank
    hits = search_entries(org_id=org.pk, q="Jonathon Smith")  # a typo: only fuzzy
    assert hits and hits[0].object_id == 2


def test_title_match_ranks_before_keyword_match(org: Organization) -> None:
    index_entry(org_id=org.pk, kind="contact", object_id=1, title="Ann Lee", keywords=["parker@example.com"])
    index_entry(org_id=org.pk, kind="contact", object_id=2, title="Peter Parker")
    assert _ids(org, "parker") == [2, 1]


def test_another_workspace_never_sees_a_hit(people: Organization, other_org: Organization) -> None:
    index_entry(org_id=other_org.pk, kind="contact", object_id=99, title="John Smithson")
    assert 99 not in _ids(people, "john")
    assert 99 not in _ids(people, "jonh smithsno")
    assert _ids(other_org, "john") == [99]
    assert _ids(other_org, "2125550134") == []
    assert _ids(other_org, "john.smith@example.com") == []


def test_visibility_restricts_by_owner_and_team(people: Organization) -> None:
    own = {"contact": Visibility(owner_id=100)}
    assert set(_ids(people, "jo", visible=own)) == {1}
    team = {"contact": Visibility(owner_id=999, team_ids=frozenset({7}))}
    assert set(_ids(people, "jo", visible=team)) == {2}
    assert _ids(people, "jonh smiht", visible=team) == []  # fuzzy hits are filtered too
    # Kinds missing from `visible` are not searched at all.
    assert _ids(people, "acme", visible={"company": Visibility(everything=True)}) == [10]
    assert _ids(people, "acme", visible={}) == []
    assert _ids(people, "acme", visible={"contact": Visibility()}) == []


def test_kinds_restrict_the_search(people: Organization) -> None:
    assert _ids(people, "acme", kinds=["contact"]) == [1]
    assert _ids(people, "acme", kinds=[]) == []


def test_visibility_for_an_actor_follows_the_role(people: Organization) -> None:
    admin = make_principal(people, Role.ADMIN)
    assert visibility_for(admin, {"contact": Entity.CONTACT}) == {"contact": Visibility(everything=True)}
    assert Visibility.for_level(Level.OWN, user_id=5, team_ids=[1]) == Visibility(owner_id=5)
    assert Visibility.for_level(Level.TEAM, user_id=5, team_ids=[1]) == Visibility(owner_id=5, team_ids=frozenset({1}))
    assert Visibility.for_level(Level.NONE, user_id=5) is None


def test_upsert_replaces_the_indexed_text(people: Organization) -> None:
    index_entry(org_id=people.pk, kind="contact", object_id=1, title="Johanna Miller", keywords=["jm@example.org"])
    assert SearchEntry.objects.filter(org=people, kind="contact", object_id=1).count() == 1
    assert 1 not in _ids(people, "smith")
    assert 1 not in _ids(people, "2125550134")
    assert 1 not in _ids(people, "john.smith@example.com")
    assert _ids(people, "miller") == [1]
    assert _ids(people, "jm@example.org") == [1]


def test_remove_takes_the_record_out_of_the_index(people: Organization) -> None:
    remove_entry(org_id=people.pk, kind="contact", object_id=1)
    assert 1 not in _ids(people, "john")
    assert 1 not in _ids(people, "jonh smiht")
    assert _ids(people, "2125550134") == []
    remove_entry(org_id=people.pk, kind="contact", object_id=1)  # twice is harmless


def test_a_broad_prefix_still_puts_title_starts_first(org: Organization, settings: Any) -> None:
    from rapport.core import fulltext

    for i in range(40):
        index_entry(org_id=org.pk, kind="contact", object_id=i, title=f"Person {i}", keywords=[f"ma{i}@example.com"])
    index_entry(org_id=org.pk, kind="contact", object_id=100, title="Mary Poppins")
    for cap in (fulltext.RANK_CAP, 5):  # ranked, then the unranked path for broad queries
        fulltext.RANK_CAP, saved = cap, fulltext.RANK_CAP
        try:
            hits = search_entries(org_id=org.pk, q="ma", limit=10)
        finally:
            fulltext.RANK_CAP = saved
        assert hits[0].object_id == 100 and len(hits) == 10


def test_limit_is_honoured(org: Organization) -> None:
    for i in range(30):
        index_entry(org_id=org.pk, kind="contact", object_id=i, title=f"Sam Person{i}")
    assert len(search_entries(org_id=org.pk, q="sam", limit=5)) == 5
    assert len(search_entries(org_id=org.pk, q="sam")) == 20


HOSTILE = [
    "",
    "   ",
    '"',
    '"john',
    "'; DROP TABLE core_searchentry; --",
    "*",
    "john*",
    "**",
    "NEAR(john smith)",
    "NEAR(",
    "john NOT smith",
    "AND OR NOT",
    "-john",
    "title:john",
    "keywords : x",
    "(john",
    "john)",
    "^john",
    "{title subtitle}: john",
    "john\x00smith",
    "\x00",
    "a" * 10_000,
    "john " * 500,
    "@",
    "@@@",
    "+",
    "()",
    "+()-",
    "0000000",
    "%",
    "%s %(x)s",
    "\\",
    "j:*",
    "a & b | !c <-> d",
    "ŝ̷̢ẗ̸r̵ä̷n̶g̸e̵",
    "😀 🧑‍💻",
    "日本語",
    "smith_jones",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_raise(people: Organization, q: str) -> None:
    hits = search_entries(org_id=people.pk, q=q)
    assert isinstance(hits, list)
    # The index still works afterwards (nothing was dropped, the connection is healthy).
    assert _ids(people, "john") == [1]


def test_hostile_text_can_be_indexed_and_found(org: Organization) -> None:
    index_entry(org_id=org.pk, kind="contact", object_id=1, title='O\'Brien "NEAR(" *x* \x00', keywords=["a:b", "-"])
    assert _ids(org, "o'brien") == [1]
    assert _ids(org, "brien near") == [1]


def test_the_sqlite_index_is_kept_by_triggers(people: Organization) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite FTS5 structures")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_searchentry'")
        assert {row[0] for row in cursor.fetchall()} == {
            "core_searchentry_fts_ai",
            "core_searchentry_fts_ad",
            "core_searchentry_fts_au",
        }
        cursor.execute("INSERT INTO core_searchentry_fts(core_searchentry_fts) VALUES ('integrity-check')")
        cursor.execute("INSERT INTO core_searchentry_trgm(core_searchentry_trgm) VALUES ('integrity-check')")
