"""Blocking: which pairs of records are worth comparing at all.

Comparing every pair is quadratic (10 000 contacts are 50 million pairs). Instead each record gets
several cheap *block keys*, each built from a different field, so that a typo, a missing value or
a swapped name breaks some keys but rarely all of them: two duplicates share at least one key with
high probability, and two unrelated records share none. Only records sharing a key are compared.

A key that many records share (a generic email domain, "smith|j" in a large file) would bring the
quadratic cost back and carries little evidence: blocks larger than ``max_block`` are skipped and
reported in a ``BlockingReport``, never silently truncated.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from rapport.data.dedupe.normalize import GENERIC_EMAIL_LOCALS, NormCompany, NormContact

logger = logging.getLogger(__name__)

DEFAULT_MAX_BLOCK = 100


def _initial(text: str) -> str:
    return text[:1]


def contact_block_keys(norm: NormContact) -> set[str]:
    """Block keys of one contact; each starts with a short prefix naming the rule that made it."""
    keys: set[str] = set()
    for email in norm.emails:
        keys.add(f"e:{email}")
    for local in norm.email_locals:
        if len(local) >= 5 and local not in GENERIC_EMAIL_LOCALS:
            keys.add(f"el:{local}")
    for tail in norm.phone_tails:
        keys.add(f"p:{tail}")
    first, last = norm.first.replace(" ", ""), norm.last.replace(" ", "")
    if norm.name_key and norm.first and norm.last:
        keys.add(f"n:{norm.name_key}")  # same tokens in any order: swapped first/last
    if last:
        initials = {_initial(first)} | {_initial(c) for c in norm.first_canon} if first else {""}
        for initial in initials:
            # Sound of the last name + first initial (nickname-canonical initial too: Bob/Robert).
            keys.add(f"lm:{norm.last_metaphone}|{initial}")
            keys.add(f"ln:{norm.last_nysiis}|{initial}")
        if first:
            # The same with the parts swapped, so "Smith John" meets "John Smith".
            keys.add(f"lm:{norm.first_metaphone}|{_initial(last)}")
            # Spelling, not sound: a typo in the first letters of the last name is rare.
            keys.add(f"lp:{last[:4]}|{first[:2]}")
            keys.add(f"fp:{first[:4]}|{last[:2]}")
    if norm.birth:
        if last:
            keys.add(f"b:{norm.birth}|{_initial(last)}")
        if first:
            keys.add(f"b:{norm.birth}|{_initial(first)}")
    if norm.postal_code and (first or last):
        keys.add(f"pc:{norm.postal_code}|{_initial(last)}{_initial(first)}")
    if norm.company and (norm.city or norm.postal_code):
        keys.add(f"c:{norm.company[:5]}|{norm.city or norm.postal_code}|{_initial(last)}")
    return keys


def company_block_keys(norm: NormCompany) -> set[str]:
    """Block keys of one company."""
    keys: set[str] = set()
    if norm.name:
        keys.add(f"n:{' '.join(sorted(norm.name_tokens))}")
        keys.add(f"nm:{norm.name_metaphone[:6]}")
        if norm.city or norm.postal_code:
            keys.add(f"nc:{norm.name.replace(' ', '')[:4]}|{norm.city or norm.postal_code}")
        if norm.country:
            keys.add(f"nk:{norm.name.replace(' ', '')[:6]}|{norm.country}")
    for domain in norm.domains:
        keys.add(f"d:{domain}")
    for tail in norm.phone_tails:
        keys.add(f"p:{tail}")
    if norm.street and norm.postal_code:
        keys.add(f"a:{' '.join(norm.street)}|{norm.postal_code}")
    return keys


def block_keys(norm: NormContact | NormCompany) -> set[str]:
    """Block keys of a normalised contact or company."""
    if isinstance(norm, NormCompany):
        return company_block_keys(norm)
    return contact_block_keys(norm)


@dataclass
class BlockingReport:
    """What a blocking pass did: sizes, the blocks it skipped, and how many pairs it produced."""

    records: int = 0
    blocks: int = 0
    pairs: int = 0
    oversized: dict[str, int] = field(default_factory=dict)  # key → number of records, skipped

    @property
    def all_pairs(self) -> int:
        """Number of pairs a full comparison would have needed."""
        return self.records * (self.records - 1) // 2

    @property
    def reduction_ratio(self) -> float:
        """Share of all pairs that blocking avoided (1.0 is everything)."""
        return 1.0 - self.pairs / self.all_pairs if self.all_pairs else 1.0


def candidate_pairs(
    records: Iterable[NormContact | NormCompany],
    *,
    max_block: int = DEFAULT_MAX_BLOCK,
    keys: Callable[[NormContact | NormCompany], set[str]] = block_keys,
    report: BlockingReport | None = None,
) -> Iterator[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, of records that share a block key; each pair once.

    ``records`` is read once. Memory is the keys of every record (a few per record), never the
    pairs: a pair is yielded only from the smallest key the two records share among the blocks
    kept, so no set of seen pairs is needed. Blocks with more than ``max_block`` records are
    skipped and listed in ``report.oversized`` (and logged). Pairs are positions in ``records``.
    """
    report = report if report is not None else BlockingReport()
    record_keys: list[frozenset[str]] = []
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, norm in enumerate(records):
        found = frozenset(keys(norm))
        record_keys.append(found)
        for key in found:
            blocks[key].append(index)
    report.records = len(record_keys)
    kept = {key: members for key, members in blocks.items() if 1 < len(members) <= max_block}
    for key, members in blocks.items():
        if len(members) > max_block:
            report.oversized[key] = len(members)
    if report.oversized:
        logger.info(
            "blocking skipped %d oversized blocks (largest %d records)",
            len(report.oversized),
            max(report.oversized.values()),
        )
    report.blocks = len(kept)
    for key in sorted(kept):
        members = kept[key]
        for position, i in enumerate(members):
            keys_i = record_keys[i]
            for j in members[position + 1 :]:
                shared = keys_i & record_keys[j]
                if min(k for k in shared if k in kept) != key:
                    continue  # yielded from a smaller shared key already
                report.pairs += 1
                yield (i, j)
