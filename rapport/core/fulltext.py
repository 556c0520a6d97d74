"""The global full-text index: one `SearchEntry` per searchable record, whatever its kind.

Generic and domain-free: write services call `index_entry` / `remove_entry` with what the record
shows (title, subtitle) and what it can be found by (keywords: emails, phones, domains…);
selectors call `search_entries` and turn the hits into links. Two backends behind one API:

- SQLite: an FTS5 table (`unicode61 remove_diacritics 2`, prefix indexes 2/3/4) over title,
  subtitle and keywords (external content), plus a contentless FTS5 `trigram` table over
  `title_folded` padded with spaces, for typo tolerance; both kept in sync by triggers (migration
  core 0003).
- PostgreSQL: a generated `search_vector` tsvector column ('simple' config) with a GIN index, and
  a pg_trgm GIN index on `title_folded`.

How a query is read (`q` is untrusted; nothing in it reaches SQL except as a bound parameter, and
the engine's query language only ever sees tokens of letters and digits we built ourselves):

- It contains "@": an email. The index holds each email also as one compact token (its letters and
  digits run together), so the exact address or any prefix of it finds the record.
- It is made only of digits and phone punctuation (spaces, dashes, dots, parentheses, slashes, +)
  with at least 3 digits: a phone number. Each phone keyword is indexed as every digits-only
  suffix of 7 digits or more, so "555 0134", "212-555-0134", "+1 (212) 555-0134" and "12125550134"
  all find "+12125550134" by prefix. A leading trunk "0" is also tried without it.
- Otherwise: words, each a prefix ("jo smi" finds "John Smith"), folded (case, diacritics).
  When fewer than `limit` records match and no title holds the query as typed (every word whole,
  or a word of fewer than 4 letters as the start of a word), a fuzzy pass fills the rest with
  titles close to the query word by word ("Jonh Smiht" finds "John Smith", "alvraez" finds "Álvarez"): candidates
  sharing trigrams with the query come from the trigram index over `title_folded` (FTS5 trigram
  table / pg_trgm), then each is scored in Python (`similarity`): every query word must be a
  prefix of, or at least `FUZZY_THRESHOLD` similar (difflib ratio) to, some title word.

Order: titles starting with the query, then titles whose words start with every query word, then
the other word matches (bm25 / ts_rank), then fuzzy matches by similarity.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from rapport.accounts.roles import Level, Mode
from rapport.core.models import SearchEntry

if TYPE_CHECKING:
    from rapport.accounts.roles import Entity
    from rapport.core.principal import Principal

MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 8
MAX_WORD_LENGTH = 64
MAX_LIMIT = 100
MIN_PHONE_SUFFIX = 7
FUZZY_THRESHOLD = 0.7
FUZZY_CANDIDATES = 200
FUZZY_MIN_WORD = 4  # shorter query words are read as prefixes being typed, not as misspellings
# SQLite: above this many matches a query is too broad to rank with bm25 (see _sqlite_fts_rows).
RANK_CAP = 2000
UNRANKED_CANDIDATES = 500
# pg_trgm similarity floor for fuzzy candidates (the Python score decides what is kept).
PG_TRGM_THRESHOLD = "0.2"

_WORD = re.compile(r"[^\W_]+")
_PHONE_QUERY = re.compile(r"[\d\s().+\-/]+")


@dataclass(frozen=True)
class SearchResult:
    """One hit. `rank` is higher for better hits; results come already sorted by it."""

    kind: str
    object_id: int
    title: str
    subtitle: str
    rank: float


@dataclass(frozen=True)
class Visibility:
    """Which entries of one kind a searcher may see.

    `everything=True`: all of them. Otherwise those whose `owner_id` equals `owner_id` or whose
    `team_id` is in `team_ids` (either may be empty/None; both empty means none).
    """

    everything: bool = False
    owner_id: int | None = None
    team_ids: frozenset[int] = frozenset()

    @classmethod
    def for_level(cls, level: Level, *, user_id: int, team_ids: Iterable[int] = ()) -> Visibility | None:
        """The visibility an access level grants (None for Level.NONE: the kind is not searched)."""
        if level is Level.NONE:
            return None
        if level is Level.ALL:
            return cls(everything=True)
        if level is Level.OWN:
            return cls(owner_id=user_id)
        return cls(owner_id=user_id, team_ids=frozenset(team_ids))


def visibility_for(actor: Principal, kinds: Mapping[str, Entity]) -> dict[str, Visibility]:
    """The `visible` argument of `search_entries` for an actor: kind → what its read level allows.

    `kinds` maps each index kind to the permission entity deciding it, e.g. {"contact": Entity.CONTACT}.
    Kinds the actor may not read at all are left out, so they are not searched.
    """
    result: dict[str, Visibility] = {}
    for kind, entity in kinds.items():
        vis = Visibility.for_level(actor.level(entity, Mode.READ), user_id=actor.user_id, team_ids=actor.team_ids)
        if vis is not None:
            result[kind] = vis
    return result


# --- text normalisation ---------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without diacritics ("José" → "jose"), as the SQLite tokenizer folds."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    """The folded words (runs of letters and digits) of `text`."""
    return _WORD.findall(fold(text))


def _phone_suffixes(digits: str) -> list[str]:
    return [digits[i:] for i in range(len(digits) - MIN_PHONE_SUFFIX + 1)]


def _is_phone(text: str) -> bool:
    return bool(_PHONE_QUERY.fullmatch(text)) and sum(ch.isdigit() for ch in text) >= MIN_PHONE_SUFFIX


def build_keywords(title: str, subtitle: str = "", keywords: Iterable[str] = ()) -> str:
    """The indexed keywords text: the keywords as given, plus the derived tokens search relies on.

    Derived: each email as one compact token, each phone as its digits-only suffixes of 7+ digits,
    and the diacritic-free forms of subtitle words (PostgreSQL's 'simple' config keeps accents; the
    title is indexed there from `title_folded`).
    """
    parts: list[str] = []
    derived: list[str] = []
    for keyword in keywords:
        keyword = " ".join(str(keyword).replace("\x00", "").split())
        if not keyword:
            continue
        parts.append(keyword)
        if "@" in keyword:
            derived.append("".join(words(keyword)))
        if _is_phone(keyword):
            derived.extend(_phone_suffixes(re.sub(r"\D", "", keyword)))
    plain = {w.casefold() for w in _WORD.findall(subtitle)}
    derived.extend(w for w in words(subtitle) if w not in plain)
    seen: set[str] = set()
    unique = [t for t in derived if t and not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]
    return "\n".join([*parts, " ".join(unique)]).strip()


def prepare_entry(
    *,
    org_id: int,
    kind: str,
    object_id: int,
    title: str,
    subtitle: str = "",
    keywords: Iterable[str] = (),
    owner_id: int | None = None,
    team_id: int | None = None,
) -> SearchEntry:
    """An unsaved SearchEntry with its keywords prepared, for bulk loaders (`bulk_create` keeps the index in sync)."""
    title = title.replace("\x00", "")[:300]
    subtitle = subtitle.replace("\x00", "")[:300]
    return SearchEntry(
        org_id=org_id,
        kind=kind,
        object_id=object_id,
        title=title,
        title_folded=" ".join(words(title))[:300],
        subtitle=subtitle,
        keywords=build_keywords(title, subtitle, keywords),
        owner_id=owner_id,
        team_id=team_id,
    )


# --- writes ---------------------------------------------------------------------------------


def index_entry(
    *,
    org_id: int,
    kind: str,
    object_id: int,
    title: str,
    subtitle: str = "",
    keywords: Iterable[str] = (),
    owner_id: int | None = None,
    team_id: int | None = None,
) -> SearchEntry:
    """Add or replace the index entry of one record (call it from the write service, in its transaction)."""
    entry = prepare_entry(
        org_id=org_id,
        kind=kind,
        object_id=object_id,
        title=title,
        subtitle=subtitle,
        keywords=keywords,
        owner_id=owner_id,
        team_id=team_id,
    )
    saved, _ = SearchEntry.objects.update_or_create(
        org_id=org_id,
        kind=kind,
        object_id=object_id,
        defaults={
            "title": entry.title,
            "title_folded": entry.title_folded,
            "subtitle": entry.subtitle,
            "keywords": entry.keywords,
            "owner_id": owner_id,
            "team_id": team_id,
        },
    )
    return saved


def remove_entry(*, org_id: int, kind: str, object_id: int) -> None:
    """Take one record out of the index (no error if it was not there)."""
    SearchEntry.objects.filter(org_id=org_id, kind=kind, object_id=object_id).delete()


# --- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    mode: str  # "words" | "email" | "phone"
    # Groups of alternatives: every group must match, any token of a group may (each as a prefix).
    groups: list[list[str]]

    @property
    def tokens(self) -> list[str]:
        return [group[0] for group in self.groups]


def _parse(q: str) -> _Query | None:
    q = " ".join(q.replace("\x00", " ").split())[:MAX_QUERY_LENGTH]
    if not q:
        return None
    if "@" in q:
        compact = "".join(words(q))[: MAX_WORD_LENGTH * 2]
        return _Query("email", [[compact]]) if compact else None
    if _PHONE_QUERY.fullmatch(q):
        digits = re.sub(r"\D", "", q)[:20]
        if len(digits) >= 3:
            alternatives = [digits]
            national = digits.lstrip("0")
            if national != digits and len(national) >= 3:
                alternatives.append(national)
            return _Query("phone", [alternatives])
    tokens = [w[:MAX_WORD_LENGTH] for w in words(q)][:MAX_QUERY_WORDS]
    return _Query("words", [[t] for t in tokens]) if tokens else None


def _index_groups(query: _Query) -> list[list[tuple[str, bool]]]:
    """The groups to ask the index, as (token, is_prefix).

    A one-letter prefix matches a large part of any index, so a one-letter word is left to the
    filter in `search_entries` when longer words narrow the search, and matched exactly otherwise.
    """
    if query.mode == "words" and any(len(t) >= 2 for t in query.tokens):
        return [[(t, True) for t in group] for group in query.groups if len(group[0]) >= 2]
    return [[(t, len(t) >= 2) for t in group] for group in query.groups]


def _sqlite_match(query: _Query) -> str:
    # Tokens are letters and digits only, so quoting them cannot break out of the phrase.
    groups = []
    for group in _index_groups(query):
        phrases = " OR ".join(f'"{token}"' + ("*" if prefix else "") for token, prefix in group)
        groups.append(f"({phrases})" if len(group) > 1 else phrases)
    return " AND ".join(groups)


def _pg_tsquery(query: _Query, weight: str = "") -> str:
    """The tsquery text; `weight` "A" matches in the title only (its weight in `search_vector`)."""
    groups = []
    for group in _index_groups(query):
        alternatives = " | ".join(
            token + (f":*{weight}" if prefix else f":{weight}" if weight else "") for token, prefix in group
        )
        groups.append(f"({alternatives})" if len(group) > 1 else alternatives)
    return " & ".join(groups)


def _restriction(kinds: Iterable[str] | None, visible: Mapping[str, Visibility] | None) -> tuple[str, list[Any]] | None:
    """SQL (with placeholders) restricting entries `e` to the kinds asked and visible; None when nothing is."""
    allowed: list[str] | None = None if kinds is None else list(dict.fromkeys(kinds))
    if visible is None:
        if allowed is None:
            return "", []
        if not allowed:
            return None
        return f" AND e.kind IN ({', '.join(['%s'] * len(allowed))})", list(allowed)
    clauses: list[str] = []
    params: list[Any] = []
    for kind, vis in visible.items():
        if allowed is not None and kind not in allowed:
            continue
        if vis.everything:
            clauses.append("e.kind = %s")
            params.append(kind)
            continue
        conditions: list[str] = []
        condition_params: list[Any] = []
        if vis.owner_id is not None:
            conditions.append("e.owner_id = %s")
            condition_params.append(int(vis.owner_id))
        if vis.team_ids:
            team_ids = sorted(int(t) for t in vis.team_ids)
            conditions.append(f"e.team_id IN ({', '.join(['%s'] * len(team_ids))})")
            condition_params.extend(team_ids)
        if not conditions:
            continue
        clauses.append(f"(e.kind = %s AND ({' OR '.join(conditions)}))")
        params.extend([kind, *condition_params])
    if not clauses:
        return None
    return f" AND ({' OR '.join(clauses)})", params


_COLUMNS = "e.id, e.kind, e.object_id, e.title, e.subtitle, e.title_folded"


def _sqlite_fts_rows(query: _Query, org_id: int, where: str, params: list[Any], limit: int) -> list[tuple[Any, ...]]:
    sql = (
        f"SELECT {_COLUMNS}, {{relevance}}"  # noqa: S608 (no input in it)
        " FROM core_searchentry_fts CROSS JOIN core_searchentry e ON e.id = core_searchentry_fts.rowid"
        f" WHERE core_searchentry_fts MATCH %s AND e.org_id = %s{where}{{order}} LIMIT %s"
    )
    match = _sqlite_match(query)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_searchentry_fts WHERE core_searchentry_fts MATCH %s", [match])
        if cursor.fetchone()[0] <= RANK_CAP:
            # Few matches: let bm25 rank them all (negative, more negative is better).
            cursor.execute(
                sql.format(relevance="core_searchentry_fts.rank", order=" ORDER BY core_searchentry_fts.rank"),
                [match, org_id, *params, limit],
            )
            return [(*row[:6], -float(row[6])) for row in cursor.fetchall()]
        # A broad prefix ("ma"): ranking every match would cost too much. Take matches in the
        # title first, unranked; shorter titles are the closer ones.
        rows: dict[int, tuple[Any, ...]] = {}
        for expression in (f"title : ({match})", match):
            cursor.execute(sql.format(relevance="0", order=""), [expression, org_id, *params, UNRANKED_CANDIDATES])
            for row in cursor.fetchall():
                rows.setdefault(row[0], (*row[:6], 1 / (1 + len(row[5]))))
            if len(rows) >= limit:
                break
        return list(rows.values())


def _pg_title_rows(org_id: int, query: _Query, where: str, params: list[Any], limit: int) -> list[tuple[Any, ...]]:
    """Up to `limit` entries whose title has a word starting with each query word (PostgreSQL, words
    of 3 letters or more): found through the trigram index over `title_folded`, which answers a short
    prefix in milliseconds where the full-text index must first visit every word starting with it
    (every email address too: tens of thousands for "mar" at a million contacts)."""
    groups = _index_groups(query)
    tokens = [group[0][0] for group in groups]
    if query.mode != "words" or any(len(group) > 1 or len(t) < 3 for group, t in zip(groups, tokens, strict=True)):
        return []
    # LIKE is what the trigram index serves; the regular expression keeps word starts only.
    conditions = " AND ".join(["e.title_folded LIKE %s AND e.title_folded ~ %s"] * len(tokens))
    values = [v for t in tokens for v in (f"%{t}%", f"(^| ){t}")]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM core_searchentry e"  # noqa: S608 (no input in it)
            f" WHERE e.org_id = %s AND {conditions}{where} LIMIT %s",
            [org_id, *values, *params, limit],
        )
        return list(cursor.fetchall())


def _fts_rows(
    org_id: int, query: _Query, where: str, params: list[Any], limit: int, enough: int
) -> list[tuple[Any, ...]]:
    """(id, kind, object_id, title, subtitle, title_folded, relevance ≥ 0, higher better) of the matches.

    On PostgreSQL, when `enough` titles have a word starting with each query word, those are the
    answer (matches in the subtitle or keywords alone would rank below them), unranked: shorter
    titles are the closer ones.
    """
    if connection.vendor != "postgresql":
        return _sqlite_fts_rows(query, org_id, where, params, limit)
    titles = _pg_title_rows(org_id, query, where, params, limit)
    if len(titles) >= enough:
        return [(*row, 1 / (1 + len(row[5]))) for row in titles]
    # First at most `cap` + 1 matches, each ranked as it is read (no ORDER BY: PostgreSQL stops
    # reading there, and for a common prefix scans the table until it has them rather than build a
    # bitmap of every match). Up to `cap` they are all the matches, sorted here by rank. Beyond, the
    # query is a broad prefix ("mic"): ranking every match would read every match's vector, so as on
    # SQLite matches in the title are taken first, unranked; shorter titles are the closer ones.
    cap = min(RANK_CAP, UNRANKED_CANDIDATES)
    sql = (
        f"SELECT {_COLUMNS}, ts_rank(e.search_vector, query)"  # noqa: S608 (no input in it)
        " FROM core_searchentry e, to_tsquery('simple', %s) query"
        f" WHERE e.search_vector @@ query AND e.org_id = %s{where} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_pg_tsquery(query), org_id, *params, max(cap, UNRANKED_CANDIDATES) + 1])
        rows = cursor.fetchall()
        if len(rows) <= cap:
            rows.sort(key=lambda row: (-row[6], row[0]))
            return [(*row[:6], float(row[6])) for row in rows[:limit]]
        in_title: list[tuple[Any, ...]] = []
        if sum(_tier(query.tokens, row[5]) > 0 for row in rows) < limit:  # too few title matches read
            cursor.execute(sql, [_pg_tsquery(query, weight="A"), org_id, *params, UNRANKED_CANDIDATES])
            in_title = cursor.fetchall()
    unranked = {row[0]: (*row[:6], 1 / (1 + len(row[5]))) for row in [*in_title, *rows]}
    return list(unranked.values())


def _trigrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def _fuzzy_candidates(org_id: int, query: _Query, where: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """(id, kind, object_id, title, subtitle, title_folded) of titles sharing trigrams with the query."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with transaction.atomic():
                cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [PG_TRGM_THRESHOLD])
                text = " ".join(query.tokens)
                cursor.execute(
                    f"SELECT {_COLUMNS} FROM core_searchentry e"  # noqa: S608 (no input in it)
                    f" WHERE e.title_folded %% %s AND e.org_id = %s{where}"
                    " ORDER BY similarity(e.title_folded, %s) DESC, e.id LIMIT %s",
                    [text, org_id, *params, text, FUZZY_CANDIDATES],
                )
                return list(cursor.fetchall())
        # Every query word must share a trigram with the title (as `similarity` demands that every
        # word be close to some title word); bm25 puts the titles sharing the rarest ones first.
        groups = []
        for token in dict.fromkeys(t for t in query.tokens if len(t) >= 2):
            groups.append("(" + " OR ".join(f'"{t}"' for t in dict.fromkeys(_trigrams(token))) + ")")
        if not groups:
            return []
        cursor.execute(
            f"SELECT {_COLUMNS}"  # noqa: S608 (no input in it)
            " FROM core_searchentry_trgm CROSS JOIN core_searchentry e ON e.id = core_searchentry_trgm.rowid"
            f" WHERE core_searchentry_trgm MATCH %s AND e.org_id = %s{where}"
            " ORDER BY core_searchentry_trgm.rank LIMIT %s",
            [" AND ".join(groups), org_id, *params, FUZZY_CANDIDATES],
        )
        return list(cursor.fetchall())


def _word_score(query_word: str, title_word: str) -> float:
    if title_word.startswith(query_word):
        return 1.0
    return SequenceMatcher(None, query_word, title_word, autojunk=False).ratio()


def similarity(query_words: list[str], title_folded: str) -> float:
    """How close a folded title is to the query words (0..1): 0 unless every query word is at
    least FUZZY_THRESHOLD close to (or a prefix of) some title word, else the mean closeness."""
    title_words = title_folded.split()
    if not query_words or not title_words:
        return 0.0
    total = 0.0
    for qw in query_words:
        best = max(_word_score(qw, tw) for tw in title_words)
        if best < FUZZY_THRESHOLD:
            return 0.0
        total += best
    return total / len(query_words)


def _tier(tokens: list[str], title_folded: str) -> int:
    """2: the title starts with the query; 1: every query word starts a title word; 0: other."""
    title_words = title_folded.split()
    if title_folded.startswith(" ".join(tokens)):
        return 2
    if all(any(tw.startswith(t) for tw in title_words) for t in tokens):
        return 1
    return 0


def _as_typed(tokens: list[str], title_folded: str) -> bool:
    """Whether the title holds every query word as a whole word, or, for a word shorter than
    FUZZY_MIN_WORD (one still being typed), as the start of a word."""
    title_words = title_folded.split()
    return all(
        t in title_words or (len(t) < FUZZY_MIN_WORD and any(w.startswith(t) for w in title_words)) for t in tokens
    )


def search_entries(
    *,
    org_id: int,
    q: str,
    kinds: Iterable[str] | None = None,
    visible: Mapping[str, Visibility] | None = None,
    limit: int = 20,
) -> list[SearchResult]:
    """The best `limit` index entries of one workspace for the query `q`, best first.

    `kinds` restricts the kinds searched. `visible` restricts what the searcher may see: a map
    kind → `Visibility` (build it with `visibility_for(actor, {...})`); kinds missing from it are
    not searched at all. `visible=None` means no restriction (the caller has decided).
    Any string is a valid query: unusable input gives no results, never an error.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    query = _parse(q)
    restriction = _restriction(kinds, visible)
    if query is None or restriction is None:
        return []
    where, params = restriction

    rows = _fts_rows(org_id, query, where, params, max(limit * 5, 100), enough=limit)
    scored: list[tuple[float, int, SearchResult]] = []
    initials = [t for t in query.tokens if len(t) == 1] if query.mode == "words" else []
    for entry_id, kind, object_id, title, subtitle, title_folded, relevance in rows:
        if initials and len(initials) < len(query.tokens):
            entry_words = [*title_folded.split(), *words(subtitle)]
            if not all(any(w.startswith(i) for w in entry_words) for i in initials):
                continue
        tier = _tier(query.tokens, title_folded) if query.mode == "words" else 0
        rank = 1 + tier + relevance / (1 + relevance)
        scored.append((rank, entry_id, SearchResult(kind, object_id, title, subtitle, rank)))
    scored.sort(key=lambda item: (-item[0], item[1]))
    results = [item[2] for item in scored[:limit]]

    # A title holding the query as typed shows there is no typo to tolerate: no fuzzy pass (the
    # costliest part of a search at a million records).
    typed = query.mode != "words" or any(_as_typed(query.tokens, row[5]) for row in rows)
    if len(results) < limit and not typed and any(len(t) >= 3 for t in query.tokens):
        found = {item[1] for item in scored}
        fuzzy: list[tuple[float, int, SearchResult]] = []
        for entry_id, kind, object_id, title, subtitle, title_folded in _fuzzy_candidates(org_id, query, where, params):
            if entry_id in found:
                continue
            score = similarity(query.tokens, title_folded)
            if score >= FUZZY_THRESHOLD:
                fuzzy.append((score, entry_id, SearchResult(kind, object_id, title, subtitle, score)))
        fuzzy.sort(key=lambda item: (-item[0], item[1]))
        results.extend(item[2] for item in fuzzy[: limit - len(results)])
    return results
