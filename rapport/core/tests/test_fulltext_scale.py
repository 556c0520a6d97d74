"""What keeps global search fast at a million records: when the fuzzy pass runs, and broad prefixes.

The fuzzy (typo-tolerant) pass is the costliest part of a search, so it runs only when no title
holds the query as typed; a broad prefix is answered from unranked candidates, titles first.
"""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.models import Organization
from rapport.core import fulltext
from rapport.core.fulltext import index_entry, search_entries


def _ids(org: Organization, q: str, **kwargs: Any) -> list[int]:
    return [hit.object_id for hit in search_entries(org_id=org.pk, q=q, **kwargs)]


@pytest.fixture
def names(org: Organization) -> Organization:
    for pk, title in enumerate(["John Smith", "Jon Smith", "John Smyth", "Joan Smithson", "Emma Stone"], start=1):
        index_entry(org_id=org.pk, kind="contact", object_id=pk, title=title)
    return org


@pytest.fixture
def fuzzy_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = fulltext._fuzzy_candidates

    def spy(org_id: int, query: Any, where: str, params: list[Any]) -> list[tuple[Any, ...]]:
        calls.append(" ".join(query.tokens))
        return real(org_id, query, where, params)

    monkeypatch.setattr(fulltext, "_fuzzy_candidates", spy)
    return calls


def test_a_name_spelled_as_a_record_is_gets_no_fuzzy_neighbours(names, fuzzy_calls):
    assert _ids(names, "John Smith") == [1]
    assert _ids(names, "jon smith") == [2]
    assert fuzzy_calls == []


def test_short_words_are_read_as_prefixes_being_typed(names, fuzzy_calls):
    assert set(_ids(names, "jo smi")) == {1, 2, 4}
    assert set(_ids(names, "emm sto")) == {5}
    assert fuzzy_calls == []


def test_a_misspelled_word_still_finds_its_neighbours(names, fuzzy_calls):
    assert {1, 2} <= set(_ids(names, "Jonh Smiht"))
    assert 3 in _ids(names, "smythe")  # a prefix of no word: fuzzy "Smyth" joins
    assert fuzzy_calls == ["jonh smiht", "smythe"]


def test_a_whole_word_prefix_of_a_longer_word_is_not_enough_to_skip_the_fuzzy_pass(names, fuzzy_calls):
    hits = _ids(names, "smiths")  # only "Smithson" starts with it; "Smith" is a likely typo
    assert hits[0] == 4 and 1 in hits
    assert fuzzy_calls == ["smiths"]


@pytest.mark.parametrize("cap", [2, 3])
def test_a_broad_prefix_is_answered_from_title_matches_first(org, monkeypatch, cap):
    monkeypatch.setattr(fulltext, "RANK_CAP", cap)
    monkeypatch.setattr(fulltext, "UNRANKED_CANDIDATES", 3)
    for pk in range(1, 8):
        index_entry(org_id=org.pk, kind="contact", object_id=pk, title=f"Person {pk}", keywords=[f"mar{pk}@x.example"])
    index_entry(org_id=org.pk, kind="contact", object_id=100, title="Mary Jones")
    index_entry(org_id=org.pk, kind="contact", object_id=101, title="Marco Polo")
    hits = _ids(org, "mar", limit=5)
    assert set(hits[:2]) == {100, 101} and len(hits) == 5


def test_when_enough_titles_start_with_the_query_words_they_fill_the_answer(org):
    for pk in range(1, 6):
        index_entry(org_id=org.pk, kind="contact", object_id=pk, title=f"Marta Forster{pk}")
    index_entry(org_id=org.pk, kind="contact", object_id=10, title="Ann Lee", keywords=["marta.forster@x.example"])
    index_entry(org_id=org.pk, kind="contact", object_id=11, title="Omar Forsterling")  # "mar" inside a word
    assert set(_ids(org, "mar for", limit=3)) <= {1, 2, 3, 4, 5}
    assert set(_ids(org, "mar for")) == {1, 2, 3, 4, 5, 10}  # fewer titles than asked: keywords count too
