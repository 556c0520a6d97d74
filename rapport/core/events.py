"""The event log and its dispatcher.

`record_event` is called by every write service, inside the service's transaction: the event row
commits or rolls back with the change it describes. When the transaction commits, the event is
handed to the worker, which delivers it to every subscribed consumer, each in its own task (so a
failing consumer is retried alone and cannot block the others).

Subscribing a consumer (do it at import time of the app's `consumers.py`, imported from
`AppConfig.ready`):

    from rapport.core.events import subscribe

    @subscribe("deal.*")                  # a verb, or a prefix ending in ".*", or "*"
    def update_forecast(event: Event) -> None:
        ...                               # must be idempotent: a retry delivers the event again
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models, transaction

from rapport.core.context import current_request_id
from rapport.core.models import Event

if TYPE_CHECKING:
    from rapport.core.principal import Principal

log = logging.getLogger(__name__)

Consumer = Callable[[Event], None]


@dataclass(frozen=True)
class Subscription:
    pattern: str
    name: str
    func: Consumer

    def matches(self, verb: str) -> bool:
        if self.pattern == "*":
            return True
        if self.pattern.endswith(".*"):
            return verb.startswith(self.pattern[:-1])
        return verb == self.pattern


_subscriptions: dict[str, Subscription] = {}


def subscribe(pattern: str) -> Callable[[Consumer], Consumer]:
    """Register `func` to receive every committed event whose verb matches `pattern`."""

    def register(func: Consumer) -> Consumer:
        name = f"{func.__module__}.{func.__qualname__}"
        _subscriptions[name] = Subscription(pattern=pattern, name=name, func=func)
        return func

    return register


def subscriptions_for(verb: str) -> list[Subscription]:
    return [sub for sub in _subscriptions.values() if sub.matches(verb)]


def get_subscription(name: str) -> Subscription | None:
    return _subscriptions.get(name)


def unsubscribe(name: str) -> None:
    _subscriptions.pop(name, None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The fields whose values differ, as {field: [old, new]}, ready for `record_event`."""
    return {
        key: [_jsonable(before.get(key)), _jsonable(after.get(key))]
        for key in {**before, **after}
        if _jsonable(before.get(key)) != _jsonable(after.get(key))
    }


def record_event(
    actor: Principal,
    verb: str,
    subject: models.Model,
    changes: Mapping[str, Any] | None = None,
    *,
    subject_type: str | None = None,
) -> Event:
    """Append an event for `subject` in the current transaction; dispatch it once it commits.

    Must be called inside `transaction.atomic()`: an event without its change, or a change
    without its event, must never be committed.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the write's transaction")
    event = Event.objects.create(
        org_id=actor.org_id,
        actor_id=actor.user_id,
        verb=verb,
        subject_type=subject_type or subject._meta.model_name or type(subject).__name__.lower(),
        subject_id=subject.pk,
        changes=_jsonable(dict(changes or {})),
        request_id=current_request_id(),
    )
    if subscriptions_for(verb):
        from rapport.core.tasks import dispatch_event

        event_id = event.pk
        transaction.on_commit(lambda: dispatch_event(event_id))
    return event


def deliver(event_id: int, consumer_name: str) -> None:
    """Hand one committed event to one consumer (run by the worker)."""
    sub = get_subscription(consumer_name)
    if sub is None:
        log.warning("event consumer %s is no longer registered; skipping", consumer_name)
        return
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return
    sub.func(event)
