"""Writes of tickets and their conversation. The API, the pages, email-to-ticket, the web form and
canned replies all go through here.

Access follows the ticket levels (rapport.accounts.roles, Entity.TICKET): OWN = assigned to me
(`owner`), TEAM = in one of my teams' queues (`team`, copied from the queue). Support members
write their teams' tickets, managers and admins all, viewers and sales none.

Input (`data`) is a mapping of field → value, cleaned by rapport.service.ticket_cleaning (which
lists the keys): every problem of one ticket is reported together (ValidationFailed naming the
fields, 422) and nothing is written unless it is all valid.

Every write locks the ticket row, bumps `version` (refusing a stale `expected_version` with 412)
and records its event in the same transaction. Routing (rapport.service.routing) and the SLA
clock (rapport.service.sla) mutate the locked ticket in memory; the write saves it. Side effects
run on commit: the reply email (rapport.service.ticket_mail) and the satisfaction survey
(rapport.service.csat).

Statuses: new → open / pending / on hold → solved → closed. A ticket never goes back to "new".
A customer message reopens a solved, pending or on-hold ticket. Closed is final: a closed ticket
takes no change, reply or customer message (Conflict "ticket_closed", 409) — mail for it belongs
on a follow-up ticket (`ticket_link(kind="follow_up")`); notes and links are still allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode
from rapport.contacts.cleaning import FieldErrors
from rapport.contacts.models import Contact
from rapport.core.access import can_write, require_entity
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.sales.order_services import next_number
from rapport.service import routing, sla, ticket_search
from rapport.service.models import (
    Channel,
    LinkKind,
    MessageKind,
    Queue,
    SendStatus,
    Ticket,
    TicketLink,
    TicketMessage,
    TicketStatus,
)
from rapport.service.ticket_cleaning import (
    MAX_TAGS as MAX_TAGS,  # the tag limits, for the other writers of tags (canned replies)
)
from rapport.service.ticket_cleaning import (
    TAG_MAX as TAG_MAX,
)
from rapport.service.ticket_cleaning import (
    clean_assignee,
    clean_body,
    clean_queue,
    clean_ticket,
    find_or_create_contact,
    normalised,
)

NUMBER_KIND = "ticket"
MESSAGE_KEYS = {"message_id", "in_reply_to", "email_from", "email_to", "created_at"}
# Columns a write may change (everything but identity and creation): saved under the row lock.
MUTABLE = tuple(
    f.name for f in Ticket._meta.concrete_fields if f.name not in {"id", "org", "number", "created_at", "created_by"}
)
SNAPSHOT = ("subject", "contact_id", "company_id", "requester_email", "priority", "type", "tags", "external_id")
ASSIGNMENT = ("owner_id", "queue_id", "team_id")
UNSET: Any = ...


# --- helpers of the writes ---------------------------------------------------------------------


def ticket_reload(ticket: Ticket | int) -> Ticket:
    """The ticket with what the API and the pages show joined."""
    pk = ticket if isinstance(ticket, int) else ticket.pk
    return Ticket.objects.select_related("contact", "company", "queue", "owner", "team").get(pk=pk)


def _require_write(actor: Principal, ticket: Ticket) -> None:
    if ticket.org_id != actor.org_id or not can_write(actor, ticket, Entity.TICKET):
        raise PermissionDenied()


def _locked(actor: Principal, ticket: Ticket, expected_version: int | None = None, *, open_only: bool = True) -> Ticket:
    """The current row under a lock, after the access check; 412 on a stale version, 404 when
    trashed meanwhile, 409 when closed (unless `open_only` is off)."""
    _require_write(actor, ticket)
    current = Ticket.objects.select_for_update().filter(pk=ticket.pk, deleted_at__isnull=True).first()
    if current is None:
        raise NotFound()
    if expected_version is not None and expected_version != current.version:
        raise StaleVersion()
    if open_only and current.status == TicketStatus.CLOSED:
        raise Conflict("ticket_closed", "This ticket is closed; open a follow-up ticket instead.")
    return current


def _save(ticket: Ticket, now: datetime) -> None:
    ticket.version += 1
    ticket.updated_at = now
    ticket.save(update_fields=MUTABLE)


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(ticket, name) for name in SNAPSHOT}
    values.update({f"custom.{key}": value for key, value in sorted((ticket.custom or {}).items())})
    return values


def _set_status(ticket: Ticket, status: str, now: datetime) -> str:
    """Change the in-memory ticket's status with its dates and SLA clock; returns the old status."""
    old = ticket.status
    if status == old:
        return old
    if status not in TicketStatus.values:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(TicketStatus.values)}.", field="status")
    if status == TicketStatus.NEW:
        raise ValidationFailed("invalid_status", "A ticket cannot go back to new.", field="status")
    ticket.status = status
    if status == TicketStatus.SOLVED:
        ticket.solved_at = now
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.solved_at = ticket.solved_at or now
    else:
        ticket.solved_at = None
    sla.sla_on_status(ticket, old, now=now)
    if status == TicketStatus.SOLVED:
        ticket_id = ticket.pk
        transaction.on_commit(lambda: _survey(ticket_id))
    return old


def _survey(ticket_id: int) -> None:
    from rapport.service import csat  # the survey module imports the models only; loaded when used

    csat.csat_on_solved(ticket_id)


def _send(message_id: int) -> None:
    from rapport.service import ticket_mail  # loaded when used (the mail module reads the ticket)

    ticket_mail.send_reply_task(message_id)


def _status_event(actor: Principal, ticket: Ticket, old: str) -> None:
    if old != ticket.status:
        record_event(actor, "ticket.status_changed", ticket, {"status": [old, ticket.status]})


def _assignment_event(actor: Principal, ticket: Ticket, before: tuple[Any, ...]) -> None:
    after = tuple(getattr(ticket, name) for name in ASSIGNMENT)
    if before != after:
        changes = {name: [old, new] for name, old, new in zip(ASSIGNMENT, before, after, strict=True) if old != new}
        record_event(actor, "ticket.assigned", ticket, changes)


def _external_id_taken() -> Conflict:
    return Conflict("external_id_taken", "Another ticket already has this external id.", field="external_id")


def _stored_message(org_id: int, message_id: str) -> TicketMessage | None:
    """The workspace's message with this Message-ID ("" has none)."""
    if not message_id:
        return None
    # The exclude states the unique index's condition (message_id <> ''): SQLite uses a partial index
    # only when the query repeats it.
    return TicketMessage.objects.filter(org_id=org_id, message_id=message_id).exclude(message_id="").first()


def _place(ticket: Ticket, queue: Queue | None) -> None:
    ticket.queue = queue
    ticket.team_id = queue.team_id if queue is not None else None


# --- writes ------------------------------------------------------------------------------------


def ticket_create(
    *,
    actor: Principal,
    data: Mapping[str, Any],
    channel: str = "web",
    message: dict[str, Any] | None = None,
    fallback_queue: Queue | None = None,
) -> Ticket:
    """Create a ticket, numbered next in the workspace, with its description as the first customer
    message. The requester is `contact_id`, or found (or created) by `requester_email`; the company
    defaults to the contact's. Without a queue the routing rules place it (no rule matching:
    `fallback_queue` when given and not deleted, else the default queue); with a queue but no
    assignee the queue assigns it; then the SLA policy sets its due times. `message` gives the
    first message's message_id / in_reply_to / email_from / email_to / created_at (email-to-ticket):
    a message_id already stored in the workspace returns that message's ticket (no duplicate).
    Records `ticket.created`. One transaction (a savepoint inside the caller's)."""
    try:
        return _ticket_create(actor=actor, data=data, channel=channel, message=message, fallback_queue=fallback_queue)
    except IntegrityError:
        # The unique (workspace, Message-ID) of the first message refused a message stored before
        # (or meanwhile, by a concurrent delivery): everything of this attempt is rolled back and
        # the stored message's ticket is the answer. No look-up up front, so a new ticket costs none.
        known = _stored_message(actor.org_id, str((message or {}).get("message_id") or "")[:255])
        if known is None:
            raise
        return ticket_reload(known.ticket_id)


@transaction.atomic
def _ticket_create(
    *,
    actor: Principal,
    data: Mapping[str, Any],
    channel: str,
    message: dict[str, Any] | None,
    fallback_queue: Queue | None,
) -> Ticket:
    require_entity(actor, Entity.TICKET, Mode.WRITE)
    data = normalised(data)
    if channel not in Channel.values:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(Channel.values)}.", field="channel")
    extra = dict(message or {})
    if set(extra) - MESSAGE_KEYS:
        raise ValidationFailed("invalid", f"Unknown message keys: {', '.join(sorted(set(extra) - MESSAGE_KEYS))}.")
    values = clean_ticket(actor, data, None)
    status = values.pop("status", None) or TicketStatus.NEW
    name = values.pop("requester_name", "")
    contact: Contact | None = values.pop("contact", None)
    email = values.pop("requester_email", "")
    if contact is None and email:
        contact = find_or_create_contact(actor, email, name)
    company = values.pop("company", None) if "company" in values else (contact.company if contact else None)
    queue = values.pop("queue", None)
    now = timezone.now()
    ticket = Ticket(
        org_id=actor.org_id,
        created_by=actor.user,
        number=next_number(actor.org_id, kind=NUMBER_KIND),
        channel=channel,
        contact=contact,
        company=company,
        requester_email=email or (contact.email if contact else ""),
        **values,
    )
    _place(ticket, queue)
    try:
        # Only the external id can collide here (the number is reserved under a lock): the savepoint
        # that turns its collision into a Conflict is taken only when there is one.
        with transaction.atomic() if ticket.external_id else nullcontext():
            ticket.save()
    except IntegrityError:  # a concurrent write took the external id
        raise _external_id_taken() from None
    if queue is None:
        routing.route_ticket(ticket, fallback=fallback_queue)
    elif ticket.owner_id is None:
        routing.assign_in_queue(ticket)
    sla.sla_apply(ticket, now=now)
    if status != TicketStatus.NEW:
        _set_status(ticket, status, now)
    if ticket.description or extra:
        first = TicketMessage.objects.create(
            org_id=actor.org_id,
            ticket=ticket,
            kind=MessageKind.CUSTOMER,
            contact=contact,
            body=ticket.description,
            channel=channel,
            created_at=extra.get("created_at") or now,
            message_id=str(extra.get("message_id") or "")[:255],
            in_reply_to=str(extra.get("in_reply_to") or "")[:255],
            email_from=str(extra.get("email_from") or ticket.requester_email)[:320],
            email_to=list(extra.get("email_to") or []),
        )
        ticket.last_customer_message_at = first.created_at
    ticket.save(update_fields=MUTABLE)
    ticket = ticket_reload(ticket)
    changes = diff({}, _snapshot(ticket))
    changes.update({k: [None, v] for k, v in (("number", ticket.number), ("channel", channel)) if v})
    changes.update({k: [None, getattr(ticket, k)] for k in (*ASSIGNMENT, "status") if getattr(ticket, k)})
    record_event(actor, "ticket.created", ticket, changes)
    ticket_search.index_new(ticket)
    return ticket


@transaction.atomic
def ticket_update(
    *, actor: Principal, ticket: Ticket, data: Mapping[str, Any], expected_version: int | None = None
) -> Ticket:
    """Change some fields of a ticket (only the keys in `data`). A new status goes through the same
    rules as `ticket_set_status`; a new queue or assignee as `ticket_assign` (without automatic
    assignment); a new priority, requester or tags re-pick the SLA policy. Refuses a stale
    version. Records `ticket.updated` (and `ticket.status_changed` / `ticket.assigned`)."""
    data = normalised(data)
    current = _locked(actor, ticket, expected_version)
    values = clean_ticket(actor, data, current)
    values.pop("requester_name", None)
    before, placed = _snapshot(current), tuple(getattr(current, name) for name in ASSIGNMENT)
    now = timezone.now()
    status = values.pop("status", None)
    if "queue" in values:
        _place(current, values.pop("queue"))
    if "contact" in values and "company" not in values and values["contact"] is not None:
        values["company"] = values["contact"].company
    if "contact" in values and "requester_email" not in values:
        values["requester_email"] = values["contact"].email if values["contact"] else current.requester_email
    for name, value in values.items():
        setattr(current, name, value)
    changes = diff(before, _snapshot(current))
    if {"priority", "tags", "contact_id", "company_id"} & set(changes):
        sla.sla_apply(current, now=now)
    old = _set_status(current, status, now) if status else current.status
    try:
        with transaction.atomic():
            _save(current, now)
    except IntegrityError:
        raise _external_id_taken() from None
    if changes:
        record_event(actor, "ticket.updated", current, changes)
    _status_event(actor, current, old)
    _assignment_event(actor, current, placed)
    ticket_search.reindex(current)
    return ticket_reload(current)


@transaction.atomic
def ticket_set_status(*, actor: Principal, ticket: Ticket, status: str, expected_version: int | None = None) -> Ticket:
    """Move a ticket to another status: solved sets `solved_at` (and sends the satisfaction survey
    once committed), closed sets `closed_at` and is final, leaving solved clears `solved_at`;
    pending pauses the SLA timers and leaving it resumes them. The same status changes nothing.
    Records `ticket.status_changed`."""
    current = _locked(actor, ticket, expected_version)
    now = timezone.now()
    old = _set_status(current, status, now)
    if old != current.status:
        _save(current, now)
        _status_event(actor, current, old)
        ticket_search.reindex(current)
    return ticket_reload(current)


@transaction.atomic
def ticket_assign(
    *,
    actor: Principal,
    ticket: Ticket,
    assignee_id: int | None,
    queue_id: int | None = UNSET,
    auto: bool = False,
    expected_version: int | None = None,
) -> Ticket:
    """Give a ticket to a member (None: nobody) and, when `queue_id` is given, move it to that queue
    (None: no queue), whose team it takes. With `auto` and no assignee the queue assigns it (round
    robin / least open, skipping away agents). Records `ticket.assigned` when anything changed."""
    current = _locked(actor, ticket, expected_version)
    errors = FieldErrors()
    owner_id = clean_assignee(actor, assignee_id, errors)
    queue = clean_queue(actor, queue_id, errors) if queue_id is not UNSET else current.queue
    errors.raise_if_any()
    before = tuple(getattr(current, name) for name in ASSIGNMENT)
    if queue_id is not UNSET:
        _place(current, queue)
    current.owner_id = owner_id
    if auto and owner_id is None and current.queue_id is not None:
        routing.assign_in_queue(current)
    if before != tuple(getattr(current, name) for name in ASSIGNMENT):
        now = timezone.now()
        _save(current, now)
        _assignment_event(actor, current, before)
        ticket_search.reindex(current)
    return ticket_reload(current)


@transaction.atomic
def ticket_reply(*, actor: Principal, ticket: Ticket, body: str, status: str | None = None) -> TicketMessage:
    """Add a public reply: emailed to the requester (`requester_email`, else the contact's primary
    address; once committed, by rapport.service.ticket_mail) or, with no address, only stored.
    Meets the first response and stops the next-response timer. With `status` the ticket moves
    there in the same write; without, a new ticket becomes open. Records `ticket.replied`."""
    text = clean_body(body)
    current = _locked(actor, ticket)
    now = timezone.now()
    recipient = current.requester_email or (
        Contact.objects.filter(pk=current.contact_id).values_list("email", flat=True).first() or ""
        if current.contact_id
        else ""
    )
    last = (
        TicketMessage.objects.filter(ticket_id=current.pk, kind=MessageKind.CUSTOMER)
        .exclude(message_id="")
        .order_by("-created_at", "-id")
        .values_list("message_id", flat=True)
        .first()
    )
    reply = TicketMessage.objects.create(
        org_id=actor.org_id,
        ticket=current,
        kind=MessageKind.REPLY,
        author=actor.user,
        body=text,
        channel=Channel.EMAIL if recipient else current.channel,
        created_at=now,
        in_reply_to=last or "",
        email_to=[recipient] if recipient else [],
        send_status=SendStatus.QUEUED if recipient else "",
    )
    current.last_agent_reply_at = now
    sla.sla_on_agent_reply(current, now=now)
    current.first_responded_at = current.first_responded_at or now
    target = status or (TicketStatus.OPEN if current.status == TicketStatus.NEW else None)
    old = _set_status(current, target, now) if target else current.status
    _save(current, now)
    record_event(actor, "ticket.replied", current, {"message_id": [None, reply.pk], "sent_to": [None, recipient]})
    _status_event(actor, current, old)
    ticket_search.reindex(current)
    if recipient:
        reply_id = reply.pk
        transaction.on_commit(lambda: _send(reply_id))
    return reply


@transaction.atomic
def ticket_note(*, actor: Principal, ticket: Ticket, body: str) -> TicketMessage:
    """Add an internal note (never sent to the customer; allowed on closed tickets too).
    Records `ticket.noted`."""
    text = clean_body(body)
    current = _locked(actor, ticket, open_only=False)
    now = timezone.now()
    note = TicketMessage.objects.create(
        org_id=actor.org_id, ticket=current, kind=MessageKind.NOTE, author=actor.user, body=text, created_at=now
    )
    Ticket.objects.filter(pk=current.pk).update(updated_at=now)
    record_event(actor, "ticket.noted", current, {"message_id": [None, note.pk]})
    return note


@transaction.atomic
def ticket_customer_message(
    *,
    actor: Principal,
    ticket: Ticket,
    body: str,
    channel: str,
    message_id: str = "",
    in_reply_to: str = "",
    email_from: str = "",
    created_at: datetime | None = None,
    email_to: Sequence[str] = (),
) -> TicketMessage:
    """Add a message from the customer (received mail, chat, web, API): reopens a solved, pending
    or on-hold ticket and starts the next-response timer. A `message_id` already stored in the
    workspace returns the stored message (a message is kept once). A closed ticket refuses it
    (Conflict "ticket_closed": the caller opens a follow-up ticket). `created_at` (a mail's Date
    header) never places the message before the ticket's latest message: a sender's clock or the
    header's whole seconds must not put a reply above what it answers. `email_to` keeps a received
    mail's To and Cc. Records `ticket.customer_message`."""
    if channel not in Channel.values:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(Channel.values)}.", field="channel")
    if not isinstance(body, str):
        raise ValidationFailed("invalid", "Enter text.", field="body")
    message_id = message_id[:255]
    try:
        current = _locked(actor, ticket)
    except (Conflict, NotFound):
        # A message stored before is returned even though its ticket is closed or trashed now. On an
        # open ticket the unique (workspace, Message-ID) settles it below, with no look-up up front.
        known = _stored_message(actor.org_id, message_id)
        if known is not None:
            return known
        raise
    now = timezone.now()
    latest = TicketMessage.objects.filter(ticket=current).order_by("-created_at").values_list("created_at", flat=True)
    floor = latest.first()
    when = created_at or now
    if floor is not None and when <= floor:
        when = floor + timedelta(microseconds=1)
    try:
        with transaction.atomic():
            message = TicketMessage.objects.create(
                org_id=actor.org_id,
                ticket=current,
                kind=MessageKind.CUSTOMER,
                contact_id=current.contact_id,
                body=body.replace("\x00", ""),
                channel=channel,
                created_at=when,
                message_id=message_id,
                in_reply_to=in_reply_to[:255],
                email_from=(email_from or current.requester_email)[:320],
                email_to=list(email_to)[:50],
            )
    except IntegrityError:  # stored before, or meanwhile by a concurrent delivery of the same mail
        known = _stored_message(actor.org_id, message_id)
        if known is None:
            raise
        return known
    current.last_customer_message_at = message.created_at
    reopen = current.status in (TicketStatus.SOLVED, TicketStatus.PENDING, TicketStatus.ON_HOLD)
    old = _set_status(current, TicketStatus.OPEN, now) if reopen else current.status
    sla.sla_on_customer_message(current, now=now)
    _save(current, now)
    record_event(actor, "ticket.customer_message", current, {"message_id": [None, message.pk]})
    _status_event(actor, current, old)
    if old != current.status:  # the search entry shows the status; nothing else of it changed
        ticket_search.reindex(current)
    return message


@transaction.atomic
def ticket_link(*, actor: Principal, ticket: Ticket, other: Ticket, kind: str) -> TicketLink:
    """Record that `ticket` is a duplicate of / related to / a follow-up of `other` (a ticket of the
    same workspace the actor may read); linking the same pair again changes the kind.
    Records `ticket.linked`."""
    current = _locked(actor, ticket, open_only=False)
    if kind not in LinkKind.values:
        raise ValidationFailed("invalid", f"Choose one of: {', '.join(LinkKind.values)}.", field="kind")
    if other.org_id != actor.org_id or other.deleted_at is not None:
        raise ValidationFailed("unknown_ticket", "No such ticket.", field="other_id")
    if other.pk == current.pk:
        raise ValidationFailed("self_link", "A ticket cannot be linked to itself.", field="other_id")
    link, _ = TicketLink.objects.update_or_create(
        ticket=current, other=other, defaults={"org_id": actor.org_id, "kind": kind}
    )
    record_event(actor, "ticket.linked", current, {"other_id": [None, other.pk], "kind": [None, kind]})
    return link


@transaction.atomic
def ticket_unlink(*, actor: Principal, ticket: Ticket, other: Ticket) -> None:
    """Remove the link between two tickets (whichever way it was made); NotFound when there is none.
    Records `ticket.unlinked`."""
    current = _locked(actor, ticket, open_only=False)
    links = TicketLink.objects.filter(org_id=actor.org_id, ticket=current, other_id=other.pk)
    links |= TicketLink.objects.filter(org_id=actor.org_id, ticket_id=other.pk, other=current)
    kinds = list(links.values_list("kind", flat=True))
    if not kinds:
        raise NotFound("not_found", "These tickets are not linked.")
    links.delete()
    record_event(actor, "ticket.unlinked", current, {"other_id": [other.pk, None], "kind": [kinds[0], None]})


@transaction.atomic
def ticket_delete(*, actor: Principal, ticket: Ticket) -> Ticket:
    """Move a ticket to the trash: it leaves lists, search, timelines and the SLA scan; its number
    is not reused. Records `ticket.deleted`."""
    current = _locked(actor, ticket, open_only=False)
    now = timezone.now()
    current.deleted_at = now
    current.sla_check_at = None
    _save(current, now)
    record_event(actor, "ticket.deleted", current, {"deleted_at": [None, now.isoformat()]})
    ticket_search.reindex(current)
    return current
