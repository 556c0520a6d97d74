"""Mailboxes whose mail is not logged as email activities: another app (the service desk, for its
support mailboxes) registers a resolver from its AppConfig.ready(), and the sync hands each parsed
message of a mailbox the resolver claims to the handler it returns. Integrations never imports
those apps; they import this module.

Handler contract: `handler(mailbox, parsed, raw) -> str` runs inside the sync's transaction for
that message (the MailboxMessage row that makes the sync idempotent is written in the same
transaction, after the handler returns). It returns "" when it took the message, or a short reason
(at most 100 characters) when it deliberately ignored it: the message is then recorded as skipped
with that reason. An ApplicationError is recorded as "refused: <message>"; an IntegrityError
(a concurrent run stored the same message first) makes the sync roll back and call the handler once
more, so a handler must recognise a message it has already taken.
"""

from __future__ import annotations

from collections.abc import Callable

from rapport.integrations.mail_parse import ParsedMessage
from rapport.integrations.models import Mailbox

MessageHandler = Callable[[Mailbox, ParsedMessage, bytes], str]
HandlerResolver = Callable[[Mailbox], MessageHandler | None]

_resolvers: list[HandlerResolver] = []


def register_message_handler(resolver: HandlerResolver) -> None:
    """Add a resolver: `resolver(mailbox)` returns the handler for the mailboxes it claims, else None.
    Registering the same resolver twice keeps one."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def message_handler_for(mailbox: Mailbox) -> MessageHandler | None:
    """The handler of the first resolver that claims the mailbox; None means log mail as activities."""
    for resolver in _resolvers:
        handler = resolver(mailbox)
        if handler is not None:
            return handler
    return None
