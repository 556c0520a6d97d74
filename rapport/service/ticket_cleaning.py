"""Input cleaning of the ticket write services (rapport.service.ticket_services): one function per
field, each recording its message under the field's name in `FieldErrors`, so that one answer
names every problem of a ticket (422) and nothing is written unless all of it is valid.

Keys: subject, description, contact_id, requester_email, requester_name, company_id, priority,
type, status, queue_id, assignee_id, tags, custom, external_id; `contact`, `company`, `queue` and
`assignee` are accepted as aliases of the `*_id` keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from rapport.accounts.models import Membership
from rapport.accounts.roles import ROLES, Entity, Level, Mode, Role
from rapport.contacts import services as contact_services
from rapport.contacts.cleaning import FieldErrors, clean_text, readable_record
from rapport.contacts.models import Company, Contact, ContactEmail
from rapport.core import normalize
from rapport.core.access import scope
from rapport.core.customfields.values import clean_custom
from rapport.core.errors import ApplicationError, ValidationFailed
from rapport.core.principal import Principal
from rapport.service.models import Queue, Ticket, TicketPriority, TicketStatus, TicketType

FIELDS = {"subject", "description", "contact_id", "requester_email", "requester_name", "company_id", "priority"}
FIELDS |= {"type", "status", "queue_id", "assignee_id", "tags", "custom", "external_id"}
ALIASES = {"contact": "contact_id", "company": "company_id", "queue": "queue_id", "assignee": "assignee_id"}
SUBJECT_MAX = 250
BODY_MAX = 200_000
NAME_MAX = 200
EXTERNAL_ID_MAX = 100
TAG_MAX = 50
MAX_TAGS = 30


def to_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _choice(data: Mapping[str, Any], name: str, choices: Any, errors: FieldErrors) -> str | None:
    value = data.get(name)
    if value not in choices.values:
        errors.add(name, f"Choose one of: {', '.join(choices.values)}.")
        return None
    return str(value)


def _tags(value: Any, errors: FieldErrors) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        errors.add("tags", f"Give at most {MAX_TAGS} tags as a list of texts.")
        return []
    tags: dict[str, str] = {}
    for i, raw in enumerate(value):
        tag = clean_text(raw, f"tags.{i}", TAG_MAX, errors)
        if tag:
            tags.setdefault(tag.casefold(), tag)
    return list(tags.values())


def _email(value: Any, errors: FieldErrors) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if not isinstance(value, str):
        errors.add("requester_email", "Enter an email address.")
        return ""
    return errors.run("requester_email", normalize.email, value) or ""


def clean_assignee(actor: Principal, value: Any, errors: FieldErrors, name: str = "assignee_id") -> int | None:
    """A member who may work on tickets (their role writes tickets), or None to unassign."""
    if value is None:
        return None
    pk = to_id(value)
    members = Membership.objects.filter(org_id=actor.org_id, is_active=True)
    found = members.filter(user_id=pk).values_list("role", flat=True).first() if pk else None
    if found is None:
        errors.add(name, f"No member with the id {value}.")
        return None
    if ROLES[Role(found)].level(Entity.TICKET, Mode.WRITE) is Level.NONE:
        errors.add(name, "This member's role does not work on tickets.")
        return None
    return pk


def clean_queue(actor: Principal, value: Any, errors: FieldErrors, name: str = "queue_id") -> Queue | None:
    if value is None:
        return None
    pk = to_id(value)
    queue = Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True, pk=pk).first() if pk else None
    if queue is None:
        errors.add(name, f"No queue with the id {value}.")
    return queue


def normalised(data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationFailed("invalid", "Give the ticket as an object.")
    result = dict(data)
    for alias, name in ALIASES.items():
        if alias in result:
            result.setdefault(name, result.pop(alias))
    return result


def clean_ticket(actor: Principal, data: Mapping[str, Any], instance: Ticket | None) -> dict[str, Any]:
    """The cleaned values (only the keys given; all of them on create). Relations come back as
    records: contact, company, queue; the assignee as `owner_id`."""
    errors = FieldErrors()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "Unknown field.")
    values: dict[str, Any] = {}
    if "subject" in data or instance is None:
        values["subject"] = clean_text(data.get("subject"), "subject", SUBJECT_MAX, errors, required=True)
    if "description" in data:
        values["description"] = clean_text(data["description"], "description", BODY_MAX, errors)
    for name, choices in (("priority", TicketPriority), ("type", TicketType), ("status", TicketStatus)):
        if name in data:
            values[name] = _choice(data, name, choices, errors)
    if "tags" in data:
        values["tags"] = _tags(data["tags"], errors)
    if "external_id" in data:
        values["external_id"] = clean_text(data["external_id"], "external_id", EXTERNAL_ID_MAX, errors)
    if "requester_email" in data:
        values["requester_email"] = _email(data["requester_email"], errors)
    if "requester_name" in data:
        values["requester_name"] = clean_text(data["requester_name"], "requester_name", NAME_MAX, errors)
    if "contact_id" in data:
        values["contact"] = readable_record(actor, Contact, Entity.CONTACT, data["contact_id"], "contact_id", errors)
    if "company_id" in data:
        values["company"] = readable_record(actor, Company, Entity.COMPANY, data["company_id"], "company_id", errors)
    if "queue_id" in data:
        values["queue"] = clean_queue(actor, data["queue_id"], errors)
    if "assignee_id" in data:
        values["owner_id"] = clean_assignee(actor, data["assignee_id"], errors)
    if "custom" in data or instance is None:
        values["custom"] = clean_custom(
            org_id=actor.org_id,
            entity="ticket",
            raw=data.get("custom"),
            current=None if instance is None else dict(instance.custom or {}),
            record_pk=None if instance is None else instance.pk,
            errors=errors.fields,
        )
    if values.get("external_id"):
        taken = Ticket.objects.filter(org_id=actor.org_id, external_id=values["external_id"])
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            errors.add("external_id", "Another ticket already has this external id.")
    errors.raise_if_any()
    return values


def find_or_create_contact(actor: Principal, email: str, name: str) -> Contact | None:
    """The oldest living contact the actor may read with this address; else a new one (when the
    actor may create contacts), named from `name` when the contact rules accept it."""
    owners = ContactEmail.objects.filter(org_id=actor.org_id, email=email).values("contact_id")
    found = scope(actor, Contact.objects.alive(), Entity.CONTACT).filter(pk__in=owners).order_by("pk").first()
    if found is not None or not actor.can(Entity.CONTACT, Mode.WRITE):
        return found
    emails = [{"email": email, "is_primary": True}]
    first, _, last = name.partition(" ")
    if first:
        try:
            with transaction.atomic():
                return contact_services.contact_create(
                    actor=actor, data={"first_name": first[:100], "last_name": last[:100], "emails": emails}
                )
        except ApplicationError:  # a name the contact rules refuse: the address alone makes the contact
            pass
    return contact_services.contact_create(actor=actor, data={"emails": emails})


def clean_body(body: Any) -> str:
    errors = FieldErrors()
    text = clean_text(body, "body", BODY_MAX, errors, required=True)
    errors.raise_if_any()
    return text
