"""Key facts at the top of the 360° pages, contributed by the apps that know them.

The contact and company pages show their own facts (owner, lifecycle stage, company, last
contacted …) and then every registered source's. An app adds its facts (open deals, open
tickets, lifetime revenue …) without this app knowing it, from a module imported by its
`AppConfig.ready`:

    from rapport.contacts.facts import Fact, register_fact_source

    def deal_facts(actor, subject_type, record):
        ...  # only what the actor may read; a bounded number of queries
        return [Fact(label="Open deals", value="3 · €42,000", url="/deals/?contact=7")]

    register_fact_source("deals", deal_facts)

A source receives the actor, the subject type ("contact" or "company") and the record, and
returns its facts in display order ([] when it has nothing to say about that subject type).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rapport.core.principal import Principal


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    url: str = ""


FactSource = Callable[[Principal, str, Any], list[Fact]]
_sources: dict[str, FactSource] = {}


def register_fact_source(name: str, source: FactSource) -> None:
    """Add (or replace, under the same name) a source of key facts for the 360° pages."""
    _sources[name] = source


def unregister_fact_source(name: str) -> None:
    _sources.pop(name, None)


def facts_for(*, actor: Principal, subject_type: str, record: Any) -> list[Fact]:
    """The registered sources' facts about `record`, in registration order."""
    facts: list[Fact] = []
    for source in _sources.values():
        facts.extend(source(actor, subject_type, record))
    return facts
