"""The timeline of the 360° view: one chronological stream built from registered sources.

This module knows nothing of the apps that feed it. An app contributes its items by registering
a source under a kind (do it at import time of a module imported from its `AppConfig.ready`):

    from rapport.contacts.timeline import TimelineItem, register_timeline_source

    def deal_items(actor, subject_type, subject_ids, limit, before):
        ...  # at most `limit` items strictly older than `before` (None: the newest), newest first
        return [TimelineItem(at=..., kind="deal", title="Deal won", body="", actor_name="Ann", icon="deal")]

    register_timeline_source("deal", deal_items)

A source receives the actor (it must show only what the actor may read), a subject type
("contact" or "company"), the subjects' ids — a list, or a queryset of ids that the source should
use as a subquery (the company page passes its contacts this way, however many there are) — the
page size, and the time before which to look. It must run a bounded number of queries whatever
the number of items or subjects: the 360° page's query count is tested. Sources that do not
know a subject type return [].

The contacts app registers the source for `Event` rows ("change": created, field changes with
old → new, trashed, restored). Activities, deals, tickets, orders and campaigns will register
theirs the same way, and the contact and company pages will show them without change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.urls import reverse

from rapport.accounts.roles import Entity
from rapport.contacts import choices
from rapport.contacts.models import Company, Contact
from rapport.core.customfields.types import display
from rapport.core.customfields.values import PREFIX as CUSTOM_PREFIX
from rapport.core.models import CustomField, Event
from rapport.core.principal import Principal

SubjectIds = Sequence[int] | QuerySet[Any]


@dataclass(frozen=True)
class TimelineItem:
    """One entry of a timeline. `lines` are optional detail lines (such as "City: Paris → Lyon").

    `html` is an optional body already made safe by its source (sanitised HTML, such as rendered
    Markdown); `key` identifies the underlying record, so that an item several subjects reach (an
    activity with a company and its contacts, on the company's roll-up) is shown once.
    """

    at: datetime
    kind: str
    title: str
    body: str = ""
    actor_name: str = ""
    icon: str = ""
    lines: tuple[str, ...] = field(default_factory=tuple)
    subject: str = ""
    url: str = ""
    html: str = ""
    key: str = ""


Source = Callable[[Principal, str, SubjectIds, int, datetime | None], list[TimelineItem]]

_sources: dict[str, Source] = {}
_labels: dict[str, str] = {}


def register_timeline_source(kind: str, func: Source, *, label: str | None = None) -> Source:
    """Add (or replace) the source of items of `kind`; `label` names the kind in the filter."""
    _sources[kind] = func
    _labels[kind] = label or kind.replace("_", " ").capitalize()
    return func


def unregister_timeline_source(kind: str) -> None:
    _sources.pop(kind, None)
    _labels.pop(kind, None)


def timeline_kinds() -> list[tuple[str, str]]:
    """(kind, label) of every registered source, for the filter."""
    return list(_labels.items())


def timeline(
    *,
    actor: Principal,
    subjects: Iterable[tuple[str, SubjectIds]],
    limit: int = 30,
    before: datetime | None = None,
    kinds: Iterable[str] | None = None,
) -> list[TimelineItem]:
    """The newest `limit` items (older than `before`) about the subjects, from every source (or `kinds`)."""
    wanted = set(kinds) if kinds else set(_sources)
    items: list[TimelineItem] = []
    subjects = list(subjects)
    for kind, source in list(_sources.items()):
        if kind not in wanted:
            continue
        for subject_type, ids in subjects:
            items.extend(source(actor, subject_type, ids, limit, before))
    items.sort(key=lambda item: item.at, reverse=True)
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.key:
            if item.key in seen:
                continue
            seen.add(item.key)
        unique.append(item)
    return unique[:limit]


# --- the contacts app's own source: Event rows ----------------------------------------------

_TITLES = {
    "created": "Created",
    "updated": "Changed",
    "trashed": "Moved to the trash",
    "restored": "Restored from the trash",
}
_CHOICE_FIELDS: dict[str, Any] = {
    "lifecycle_stage": choices.LIFECYCLE_STAGES,
    "lead_status": choices.LEAD_STATUSES,
    "lead_source": choices.LEAD_SOURCES,
    "gender": choices.GENDERS,
    "industry": choices.INDUSTRIES,
    "size": choices.COMPANY_SIZES,
    "support_tier": choices.SUPPORT_TIERS,
}
_LABELS = {
    "owner_id": "Owner",
    "team_id": "Team",
    "company_id": "Company",
    "parent_id": "Parent company",
    "emails": "Emails",
    "phones": "Phones",
    "tags": "Tags",
    "social_profiles": "Social profiles",
    "do_not_email": "Do not email",
    "do_not_call": "Do not call",
    "do_not_sms": "Do not text",
    "external_id": "External id",
    "email_domains": "Email domains",
    "deleted_at": "In the trash since",
}
# Fields whose change is not shown as values (long text: only "changed").
_LONG = {"notes", "description"}


def field_label(name: str, model: type[Contact] | type[Company] = Contact) -> str:
    if name in _LABELS:
        return _LABELS[name]
    try:
        return str(model._meta.get_field(name).verbose_name).capitalize()  # type: ignore[union-attr]
    except Exception:  # an event may name a field that no longer exists
        return name.replace("_", " ").capitalize()


class _Names:
    """Display names of users, companies and custom fields named by events, looked up in one query each."""

    def __init__(self, org_id: int, events: list[Event]) -> None:
        user_ids: set[int] = set()
        company_ids: set[int] = set()
        custom_keys: set[str] = set()
        for event in events:
            for name, values in (event.changes or {}).items():
                if name.startswith(CUSTOM_PREFIX):
                    custom_keys.add(name.removeprefix(CUSTOM_PREFIX))
                bucket = (
                    user_ids if name == "owner_id" else company_ids if name in {"company_id", "parent_id"} else None
                )
                if bucket is not None and isinstance(values, list):
                    bucket.update(v for v in values if isinstance(v, int))
        user_model = get_user_model()
        self.users = {u.pk: u.display_name for u in user_model.objects.filter(pk__in=user_ids)} if user_ids else {}
        self.companies = (
            dict(Company.objects.filter(org_id=org_id, pk__in=company_ids).values_list("pk", "name"))
            if company_ids
            else {}
        )
        # (entity, key) → (label, type); a deleted field keeps its row until its values are purged.
        self.custom: dict[tuple[str, str], tuple[str, str]] = (
            {
                (entity, key): (label, kind)
                for entity, key, label, kind in CustomField.objects.filter(
                    org_id=org_id, key__in=custom_keys
                ).values_list("entity", "key", "label", "type")
            }
            if custom_keys
            else {}
        )

    def custom_field(self, subject_type: str, name: str) -> tuple[str, str]:
        """(label, type) of the custom field an event names `custom.<key>`; the key when it is gone."""
        key = name.removeprefix(CUSTOM_PREFIX)
        return self.custom.get((subject_type, key), (key.replace("_", " ").capitalize(), ""))

    def value(self, name: str, value: Any) -> str:
        if value is None or value == "" or value == [] or value == {}:
            return "—"
        if name == "owner_id":
            return self.users.get(value, f"user #{value}")
        if name in {"company_id", "parent_id"}:
            return self.companies.get(value, f"company #{value}")
        if name in _CHOICE_FIELDS:
            return str(dict(_CHOICE_FIELDS[name].choices).get(value, value))
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items())
        return str(value)


def _change_lines(event: Event, names: _Names, model: type[Contact] | type[Company]) -> tuple[str, ...]:
    lines = []
    verb = event.verb.rsplit(".", 1)[-1]
    for name, values in (event.changes or {}).items():
        if name in {"deleted_at", "version"} or not isinstance(values, list) or len(values) != 2:
            continue
        old, new = values
        label = field_label(name, model)
        if name.startswith(CUSTOM_PREFIX):
            label, kind = names.custom_field(event.subject_type, name)
            if kind:
                shown = [display(kind, v) or "—" for v in (old, new)]
                if verb == "created":
                    if shown[1] != "—":
                        lines.append(f"{label}: {shown[1]}")
                else:
                    lines.append(f"{label}: {shown[0]} → {shown[1]}")
                continue
        if name in _LONG:
            if old or new:
                lines.append(f"{label}: {'added' if verb == 'created' else 'changed'}")
        elif verb == "created":
            if new not in (None, "", [], {}, False) and not (name == "gender" and new == "unspecified"):
                lines.append(f"{label}: {names.value(name, new)}")
        else:
            lines.append(f"{label}: {names.value(name, old)} → {names.value(name, new)}")
    return tuple(lines)


def event_items(
    actor: Principal, subject_type: str, subject_ids: SubjectIds, limit: int, before: datetime | None
) -> list[TimelineItem]:
    """Timeline items of the contact and company events: one query, plus at most three for names."""
    if subject_type not in {"contact", "company"} or not actor.can(Entity(subject_type)):
        return []
    qs = Event.objects.filter(org_id=actor.org_id, subject_type=subject_type, subject_id__in=subject_ids)
    if before is not None:
        qs = qs.filter(Q(created_at__lt=before))
    events = list(qs.select_related("actor").order_by("-created_at", "-id")[:limit])
    if not events:
        return []
    names = _Names(actor.org_id, events)
    model: type[Contact] | type[Company] = Contact if subject_type == "contact" else Company
    subjects: dict[int, str] = {}
    if isinstance(subject_ids, QuerySet) or len(subject_ids) > 1:
        ids = {e.subject_id for e in events}
        if subject_type == "contact":
            rows = Contact.objects.filter(org_id=actor.org_id, pk__in=ids).values_list("pk", "full_name", "email")
            subjects = {pk: full or email or f"Contact {pk}" for pk, full, email in rows}
        else:
            subjects = dict(Company.objects.filter(org_id=actor.org_id, pk__in=ids).values_list("pk", "name"))
    route = "contacts:detail" if subject_type == "contact" else "contacts:company_detail"
    items = []
    for event in events:
        verb = event.verb.rsplit(".", 1)[-1]
        subject = subjects.get(event.subject_id, "")
        items.append(
            TimelineItem(
                at=event.created_at,
                kind="change",
                title=_TITLES.get(verb, verb.replace("_", " ").capitalize()),
                body="",
                actor_name=event.actor.display_name if event.actor else "System",
                icon=verb,
                lines=_change_lines(event, names, model),
                subject=subject,
                url=reverse(route, args=[event.subject_id]) if subject else "",
            )
        )
    return items


register_timeline_source("change", event_items, label="Changes")
