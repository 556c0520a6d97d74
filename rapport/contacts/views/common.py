"""What the contacts pages share: the actor, error pages, member choices, company look-up by name."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db.models import Case, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime

from rapport.accounts import selectors as account_selectors
from rapport.accounts.roles import Entity
from rapport.contacts.models import Company, Contact
from rapport.core.access import scope
from rapport.core.errors import ApplicationError, ValidationFailed
from rapport.core.principal import Principal


def actor_of(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined]


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def not_found(request: HttpRequest) -> HttpResponse:
    """Missing, trashed and other workspaces' records answer alike: the not-found page, 404."""
    return render(request, "web/not_found.html", status=404)


def forbidden(request: HttpRequest, what: str) -> HttpResponse:
    """A write the actor's role does not allow on a record they may read: 403 with a message."""
    template = "contacts/_forbidden.html" if is_htmx(request) else "contacts/forbidden.html"
    return render(request, template, {"what": what}, status=403)


def member_choices(actor: Principal) -> list[tuple[int, str]]:
    """(user id, name) of the workspace's active members: the owner choices."""
    return [
        (m.user_id, m.user.display_name) for m in account_selectors.member_list(actor=actor, include_inactive=False)
    ]


# "Acme (#12)", "Ada Lovelace (#7)": a name with the record's number, as the suggestions show it.
NAME_WITH_ID = re.compile(r"^(?P<name>.*?)\s*\(#(?P<id>\d{1,18})\)$")


def company_by_name(actor: Principal, name: str, *, current: int | None = None) -> tuple[int | None, str]:
    """(id, "") of the visible, live company named `name` (case-insensitive); (None, "") for no name.

    A name several visible companies share picks none: (0, a message asking which one), unless one
    of them is `current` (the record's company now, so an unchanged form still saves). Such a
    company is named "<name> (#<id>)", as the suggestions show it. For an unknown name: (0, message).
    0 is no company's id, so the service still validates the whole record and reports its other
    errors too; the caller shows `message` on the field.
    """
    name = name.strip()
    if not name:
        return None, ""
    visible = scope(actor, Company.objects.alive(), Entity.COMPANY)
    first_current = Case(When(pk=current, then=Value(0)), default=Value(1)) if current else Value(1)
    found = list(visible.filter(name__iexact=name).order_by(first_current, "id").values_list("pk", flat=True)[:2])
    if len(found) == 1 or (found and found[0] == current):
        return found[0], ""
    if found:
        return 0, (
            f"Several companies are named “{name}”: pick one from the suggestions, or add its number,"
            f" such as “{name} (#{found[0]})”."
        )
    numbered = NAME_WITH_ID.match(name)
    if numbered:
        pk = visible.filter(pk=int(numbered["id"]), name__iexact=numbered["name"]).values_list("pk", flat=True).first()
        if pk is not None:
            return pk, ""
    return 0, f"No company is named “{name}”."


def contact_label(contact: Contact) -> str:
    """How a picked contact reads in its input: its name and number, as the suggestions offer it."""
    return f"{contact} (#{contact.pk})"


def contact_by_text(actor: Principal, text: str) -> tuple[int | None, str]:
    """(id, "") of the visible, live contact that `text` names; (None, "") for no text.

    `text` is "<name> (#<id>)" as the suggestions give it, or a contact's exact name or email
    (any case) when only one visible contact has it. Otherwise (0, a message for the field): 0 is
    no contact's id, so the service still validates the rest of the record.
    """
    text = text.strip()
    if not text:
        return None, ""
    visible = scope(actor, Contact.objects.alive(), Entity.CONTACT)
    numbered = NAME_WITH_ID.match(text)
    if numbered:
        if visible.filter(pk=int(numbered["id"])).exists():
            return int(numbered["id"]), ""
        return 0, f"No contact has the number {numbered['id']}."
    found = list(
        visible.filter(Q(full_name__iexact=text) | Q(email__iexact=text))
        .order_by("id")
        .values_list("pk", flat=True)[:2]
    )
    if len(found) == 1:
        return found[0], ""
    if found:
        return (
            0,
            f"Several contacts are called “{text}”: pick one from the suggestions, such as “{text} (#{found[0]})”.",
        )
    return 0, f"No contact is called “{text}”: pick one from the suggestions."


def add_errors(form: Any, exc: ApplicationError, lookups: dict[str, tuple[str, str]]) -> None:
    """Put a service error on the form; a failed company look-up's own message wins over the service's."""
    for service_field, (form_field, message) in lookups.items():
        if message:
            exc.fields.pop(service_field, None)
            form.add_error(form_field, message)
    form.add_service_error(exc)


def parse_before(raw: str | None) -> datetime | None:
    if not raw:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise ValidationFailed("invalid_before", "The timeline position is not valid.", field="before")
    return parsed
