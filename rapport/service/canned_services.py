"""Canned replies (macros): reusable replies with merge fields that can also set the status and
priority and add tags in the same click. The API and the pages share these.

Rendering reuses the sandboxed email-template renderer (rapport.core.merge) and the merge values
of rapport.activities.email_templates, with two extra records: `ticket` (number, subject, status,
priority, type) and `agent` (the member applying the reply; `sender` is the same values, as in
email templates). A body is validated when it is saved — syntax, allowed tags and filters, and
every variable must be an offered field — so a typo is a 422 on `body`, never a broken reply.

Access:
- Members who may read tickets list and preview the shared replies and their own personal ones;
  other members' personal replies do not exist for them (404).
- Any member who may write tickets creates, changes and deletes personal replies (owner = self).
- Shared replies (no owner) need Perm.MANAGE_SETTINGS to create, change or delete.
- Applying a reply needs write access to the ticket (checked by the ticket services).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode, Perm
from rapport.activities.email_templates import company_fields, contact_fields, sender_fields
from rapport.contacts.cleaning import FieldErrors, clean_text
from rapport.core import merge
from rapport.core.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.service.config_cleaning import clean_tags
from rapport.service.models import CannedReply, Ticket, TicketMessage, TicketPriority, TicketStatus
from rapport.service.ticket_services import MAX_TAGS, TAG_MAX, ticket_reply, ticket_update

FIELDS = {"name", "body", "set_status", "set_priority", "add_tags", "shared"}
NAME_MAX = 100
BODY_MAX = 50_000
SNAPSHOT = ("name", "body", "set_status", "set_priority", "add_tags", "owner_id")

# The fields of a canned reply beyond the email-template ones (rapport.core.merge.FIELDS): the
# ticket and the agent applying the reply.
TICKET_FIELDS: tuple[merge.MergeField, ...] = (
    merge.MergeField("ticket.number", "Ticket number", "1042"),
    merge.MergeField("ticket.subject", "Ticket subject", "Cannot log in"),
    merge.MergeField("ticket.status", "Ticket status", "Open"),
    merge.MergeField("ticket.priority", "Ticket priority", "Normal"),
    merge.MergeField("ticket.type", "Ticket type", "Question"),
    merge.MergeField("agent.name", "Your name", "Grace Hopper"),
    merge.MergeField("agent.first_name", "Your first name", "Grace"),
    merge.MergeField("agent.last_name", "Your last name", "Hopper"),
    merge.MergeField("agent.email", "Your email", "grace@example.com"),
)
# Offered (listed on the form and by the API): the ticket, its requester and company, the agent,
# today. `sender.*` (the email-template name of the agent's values) is accepted too, unlisted.
FIELDS_OFFERED: tuple[merge.MergeField, ...] = (
    *TICKET_FIELDS[:5],
    *(f for f in merge.FIELDS if f.name.split(".")[0] in {"contact", "company"}),
    *TICKET_FIELDS[5:],
    *(f for f in merge.FIELDS if f.name == "today"),
)
FIELD_NAMES = frozenset(f.name for f in (*FIELDS_OFFERED, *merge.FIELDS)) | {"agent.full_name"}


# --- validation ----------------------------------------------------------------------------------


def validate_body(body: str) -> None:
    """Raise merge.MergeError unless `body` renders with the canned-reply fields only."""
    merge.validate(body, names=FIELD_NAMES, prefixes=merge.CUSTOM_PREFIXES)


def _clean_tags(value: Any, errors: FieldErrors) -> list[str]:
    """The tags a reply adds: they land on tickets, so a ticket's limits apply; a form sends them
    comma-separated."""
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, tuple):
        value = list(value)
    return clean_tags(value, "add_tags", errors, max_length=TAG_MAX, max_count=MAX_TAGS)


def _choice(value: Any, name: str, choices: Any, errors: FieldErrors) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value not in choices.values:
        errors.add(name, f"Choose one of: {', '.join(choices.values)} (or nothing).")
        return ""
    return value


def _clean(actor: Principal, data: Mapping[str, Any], instance: CannedReply | None) -> dict[str, Any]:
    errors = FieldErrors()
    for key in sorted(set(data) - FIELDS):
        errors.add(key, "Unknown field.")
    values: dict[str, Any] = {}
    if "name" in data or instance is None:
        values["name"] = " ".join(clean_text(data.get("name"), "name", NAME_MAX, errors, required=True).split())
    if "body" in data or instance is None:
        raw = data.get("body")
        body = raw.replace("\r\n", "\n").strip() if isinstance(raw, str) else raw
        body = clean_text(body, "body", BODY_MAX, errors, required=True)
        if body and "body" not in errors.fields:
            try:
                validate_body(body)
            except merge.MergeError as exc:
                errors.add("body", exc.message)
        values["body"] = body
    if "set_status" in data:
        values["set_status"] = _choice(data["set_status"], "set_status", TicketStatus, errors)
    if "set_priority" in data:
        values["set_priority"] = _choice(data["set_priority"], "set_priority", TicketPriority, errors)
    if "add_tags" in data:
        values["add_tags"] = _clean_tags(data["add_tags"], errors)
    if "shared" in data:
        shared = data["shared"]
        if not isinstance(shared, bool):
            errors.add("shared", "Enter true or false.")
        else:
            values["owner_id"] = None if shared else actor.user_id
    errors.raise_if_any()
    return values


# --- permissions ---------------------------------------------------------------------------------


def can_create(actor: Principal, *, shared: bool = False) -> bool:
    """Personal replies: any member who may write tickets; shared ones also need MANAGE_SETTINGS."""
    if not actor.can(Entity.TICKET, Mode.WRITE):
        return False
    return not shared or actor.has_perm(Perm.MANAGE_SETTINGS)


def can_edit(actor: Principal, reply: CannedReply) -> bool:
    """The owner of a personal reply; a settings manager for a shared one."""
    if reply.org_id != actor.org_id:
        return False
    if reply.owner_id is None:
        return can_create(actor, shared=True)
    return reply.owner_id == actor.user_id and can_create(actor)


def _require_edit(actor: Principal, reply: CannedReply) -> None:
    if reply.org_id != actor.org_id or (reply.owner_id is not None and reply.owner_id != actor.user_id):
        raise NotFound("not_found", "No such canned reply.")
    if not can_edit(actor, reply):
        raise PermissionDenied(
            "permission_denied", "Only its owner may change a personal reply; shared replies need an admin."
        )


def _snapshot(reply: CannedReply) -> dict[str, Any]:
    return {name: getattr(reply, name) for name in SNAPSHOT}


# --- writes --------------------------------------------------------------------------------------


@transaction.atomic
def canned_reply_create(*, actor: Principal, data: Mapping[str, Any]) -> CannedReply:
    """Create a canned reply: personal (owned by the actor) unless `shared` is true, which needs
    MANAGE_SETTINGS. Name and body are required; the body is validated as a merge template.
    Records `canned_reply.created`."""
    shared = data.get("shared") is True
    if not can_create(actor, shared=shared):
        raise PermissionDenied(
            "permission_denied",
            "Shared canned replies need an admin."
            if shared and can_create(actor)
            else "Your role does not allow this.",
        )
    values = _clean(actor, data, None)
    values.setdefault("owner_id", actor.user_id)
    reply = CannedReply.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    record_event(actor, "canned_reply.created", reply, diff({}, _snapshot(reply)))
    return reply


@transaction.atomic
def canned_reply_update(
    *, actor: Principal, reply: CannedReply, data: Mapping[str, Any], expected_version: int | None = None
) -> CannedReply:
    """Change a canned reply; refuses a stale version (412). Making a reply shared (or a shared one
    personal) needs MANAGE_SETTINGS. Records `canned_reply.updated` when anything changed."""
    _require_edit(actor, reply)
    values = _clean(actor, data, reply)
    if "owner_id" in values and values["owner_id"] != reply.owner_id and not can_create(actor, shared=True):
        raise PermissionDenied("permission_denied", "Shared canned replies need an admin.")
    before = _snapshot(reply)
    qs = CannedReply.objects.filter(pk=reply.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    if not qs.update(version=F("version") + 1, updated_at=timezone.now(), **values):
        raise StaleVersion()
    reply = CannedReply.objects.select_related("owner").get(pk=reply.pk)
    changes = diff(before, _snapshot(reply))
    if changes:
        record_event(actor, "canned_reply.updated", reply, changes)
    return reply


@transaction.atomic
def canned_reply_delete(*, actor: Principal, reply: CannedReply) -> None:
    """Move a canned reply to the trash. Records `canned_reply.deleted`."""
    _require_edit(actor, reply)
    now = timezone.now()
    if CannedReply.objects.filter(pk=reply.pk, deleted_at__isnull=True).update(
        deleted_at=now, version=F("version") + 1
    ):
        record_event(actor, "canned_reply.deleted", reply, {"deleted_at": [None, now.isoformat()]})


# --- reads ---------------------------------------------------------------------------------------


def _visible(actor: Principal) -> QuerySet[CannedReply]:
    return CannedReply.objects.filter(
        Q(owner__isnull=True) | Q(owner_id=actor.user_id), org_id=actor.org_id, deleted_at__isnull=True
    )


def canned_reply_list(*, actor: Principal, q: str | None = None) -> QuerySet[CannedReply]:
    """The shared replies and the actor's own, by name (`sort_name` annotated for the cursor);
    one query with owners. PermissionDenied for members who may not read tickets."""
    if not actor.can(Entity.TICKET, Mode.READ):
        raise PermissionDenied()
    qs = _visible(actor).select_related("owner").annotate(sort_name=Lower("name"))
    if q and q.strip():
        qs = qs.filter(name__icontains=q.strip())
    return qs.order_by("sort_name", "id")


def canned_reply_get(*, actor: Principal, reply_id: object, mode: Mode = Mode.READ) -> CannedReply:
    """One live reply the actor may use (shared or their own); NotFound otherwise. With
    mode=WRITE, PermissionDenied unless the actor may change it."""
    if not actor.can(Entity.TICKET, Mode.READ):
        raise PermissionDenied()
    try:
        pk = int(str(reply_id))
    except ValueError:
        raise NotFound("not_found", "No such canned reply.") from None
    reply = _visible(actor).select_related("owner").filter(pk=pk).first()
    if reply is None:
        raise NotFound("not_found", "No such canned reply.")
    if mode is Mode.WRITE:
        _require_edit(actor, reply)
    return reply


# --- rendering and applying ----------------------------------------------------------------------


def ticket_fields(ticket: Ticket | None) -> dict[str, str]:
    if ticket is None:
        return {"number": "", "subject": "", "status": "", "priority": "", "type": ""}
    return {
        "number": str(ticket.number),
        "subject": ticket.subject,
        "status": ticket.get_status_display(),
        "priority": ticket.get_priority_display(),
        "type": ticket.get_type_display(),
    }


def canned_context(*, ticket: Ticket | None, agent: Principal) -> dict[str, Any]:
    """The merge values of a reply on `ticket` written by `agent` (plain data only; no ticket:
    empty ticket, contact and company values, as a preview without a ticket shows).

    The requester and company come from the ticket, which the agent reads in full on the ticket
    page, so no separate contact/company access check applies here.
    """
    contact = ticket.contact if ticket is not None and ticket.contact_id else None
    company = ticket.company if ticket is not None and ticket.company_id else None
    if company is None and contact is not None and contact.company_id:
        company = contact.company
    sender = sender_fields(agent)
    return {
        "contact": contact_fields(agent, contact, company),
        "company": company_fields(agent, company),
        "ticket": ticket_fields(ticket),
        "agent": {**sender, "name": sender["full_name"]},
        "sender": sender,
        "today": timezone.localdate(),
    }


def render_source(source: str, *, ticket: Ticket | None, agent: Principal) -> str:
    """Render a (not yet saved) body for `ticket`; errors are a ValidationFailed on `body`."""
    try:
        validate_body(source)
        return merge.render(source, canned_context(ticket=ticket, agent=agent)).strip()
    except merge.MergeError as exc:
        raise ValidationFailed(
            "merge_error", f"The reply cannot be rendered — {exc.message}", fields={"body": exc.message}
        ) from None


def canned_reply_render(*, reply: CannedReply, ticket: Ticket, agent: Principal) -> str:
    """The body of `reply` with the merge fields of `ticket` and `agent` filled in (plain text /
    Markdown: values are not HTML-escaped; the Markdown renderer sanitises what it shows)."""
    if reply.org_id != agent.org_id or ticket.org_id != agent.org_id:
        raise NotFound()
    return render_source(reply.body, ticket=ticket, agent=agent)


@transaction.atomic
def canned_reply_apply(
    *, actor: Principal, ticket: Ticket, reply: CannedReply, body: str | None = None
) -> TicketMessage:
    """Answer `ticket` with `reply` in one transaction: its priority and tags change (ticket_update),
    the public reply is posted with the rendered body — or `body`, the agent's edit of it — and its
    status is set (ticket_reply); `usage_count` goes up. Any failure changes nothing."""
    if reply.org_id != actor.org_id or reply.deleted_at is not None:
        raise NotFound("not_found", "No such canned reply.")
    if reply.owner_id is not None and reply.owner_id != actor.user_id:
        raise NotFound("not_found", "No such canned reply.")
    if body is None or not body.strip():
        text = canned_reply_render(reply=reply, ticket=ticket, agent=actor)
    else:
        errors = FieldErrors()
        text = clean_text(body.replace("\r\n", "\n"), "body", BODY_MAX, errors, required=True)
        errors.raise_if_any()
    changes: dict[str, Any] = {}
    if reply.set_priority and reply.set_priority != ticket.priority:
        changes["priority"] = reply.set_priority
    if reply.add_tags:
        have = {t.lower() for t in ticket.tags}
        extra = [t for t in reply.add_tags if t.lower() not in have]
        if extra:
            changes["tags"] = [*ticket.tags, *extra]
    if changes:
        ticket = ticket_update(actor=actor, ticket=ticket, data=changes)
    message = ticket_reply(actor=actor, ticket=ticket, body=text, status=reply.set_status or None)
    CannedReply.objects.filter(pk=reply.pk).update(usage_count=F("usage_count") + 1)
    record_event(actor, "canned_reply.applied", reply, {"ticket": [None, ticket.pk]})
    return message
