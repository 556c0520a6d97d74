"""Global search: apps register providers; the command palette and the search page ask them all.

A provider takes the actor and the query and returns at most `limit` hits the actor may see. The
contacts issue adds the full-text index (SQLite FTS5 / PostgreSQL) behind this same selector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapport.core.principal import Principal

MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class SearchHit:
    kind: str
    label: str
    detail: str
    url: str


Provider = Callable[[Principal, str, int], list[SearchHit]]
_providers: list[tuple[int, Provider]] = []


def register_provider(priority: int = 50) -> Callable[[Provider], Provider]:
    """Register a provider; lower priority answers first (records 10, settings pages 50)."""

    def register(provider: Provider) -> Provider:
        if all(existing is not provider for _, existing in _providers):
            _providers.append((priority, provider))
            _providers.sort(key=lambda item: item[0])
        return provider

    return register


def search(*, actor: Principal, q: str, limit: int = 20) -> list[SearchHit]:
    """Hits for `q` from every provider, in provider order, at most `limit` from each."""
    # NUL is not text to any database (PostgreSQL refuses it in a query): it separates words like a space.
    q = " ".join(q.replace("\x00", " ").split())[:MAX_QUERY_LENGTH]
    if not q:
        return []
    hits: list[SearchHit] = []
    for _priority, provider in _providers:
        hits.extend(provider(actor, q, limit))
    return hits
