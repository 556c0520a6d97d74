"""The forms of the ticket pages: the list's filters, the new-ticket form, and the detail page's
composer (public reply or internal note, optionally with a canned reply), status, assignment and
properties forms. They only shape the input; the ticket services (rapport.service.ticket_services)
validate it, and their field errors are shown on these forms' fields."""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.contacts.forms import ContactPickerInput
from rapport.service.models import Channel, LinkKind, TicketPriority, TicketStatus, TicketType

BODY_MAX = 50_000
SUBJECT_MAX = 250
Choices = list[tuple[Any, str]]

# The list's status filter: "unsolved" (the default: new, open, pending, on hold), "all", or one status.
UNSOLVED = "unsolved"
ANY = "all"
STATUS_FILTERS: Choices = [(UNSOLVED, "Unsolved"), (ANY, "Any status"), *TicketStatus.choices]
# The assignee filter: me, nobody, anyone ("") or one member's id.
ME = "me"
NOBODY = "none"
SLA_FILTERS: Choices = [("", "Any SLA state"), ("breached", "Breached"), ("due_soon", "Due within 1 hour")]

# The status buttons of a ticket's page (the status the button sets, its label).
STATUS_BUTTONS: list[tuple[str, str]] = [
    (TicketStatus.OPEN, "Open"),
    (TicketStatus.PENDING, "Pending"),
    (TicketStatus.ON_HOLD, "On hold"),
    (TicketStatus.SOLVED, "Solve"),
    (TicketStatus.CLOSED, "Close"),
]


def _optional(choices: Choices, empty: str) -> Choices:
    return [("", empty), *choices]


class TicketFilterForm(forms.Form):
    """The list's filters, all optional; no status means "unsolved"."""

    q = forms.CharField(
        label="Search",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Subject, number or requester email"}),
    )
    status = forms.ChoiceField(label="Status", choices=STATUS_FILTERS, required=False)
    priority = forms.ChoiceField(label="Priority", choices=_optional(TicketPriority.choices, "Any"), required=False)
    queue = forms.ChoiceField(label="Queue", required=False)
    assignee = forms.ChoiceField(label="Assignee", required=False)
    channel = forms.ChoiceField(label="Channel", choices=_optional(Channel.choices, "Any"), required=False)
    sla = forms.ChoiceField(label="SLA", choices=SLA_FILTERS, required=False)

    def __init__(self, *args: Any, queues: Choices, members: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", "Any queue"), ("none", "No queue"), *queues]  # type: ignore[attr-defined]
        people = [(str(pk), name) for pk, name in members]
        self.fields["assignee"].choices = [("", "Anyone"), (ME, "Me"), (NOBODY, "Unassigned"), *people]  # type: ignore[attr-defined]

    def values(self) -> dict[str, str]:
        """The cleaned filters ("" for "any"); status defaults to "unsolved"."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        values = {name: data.get(name) or "" for name in self.fields}
        values["q"] = " ".join(values["q"].split())
        values["status"] = values["status"] or UNSOLVED
        return values


class TicketForm(ServiceErrorsMixin, forms.Form):
    """A new ticket entered by an agent (a phone call, a chat, an email forwarded by hand)."""

    FIELD_MAP = {"contact_id": "contact", "requester_email": "requester_email", "queue_id": "queue"}
    FIELD_MAP |= {"assignee_id": "assignee", "owner": "assignee", "message": "description"}

    subject = forms.CharField(label="Subject", max_length=SUBJECT_MAX)
    contact = forms.CharField(
        label="Requester",
        max_length=300,
        required=False,
        widget=ContactPickerInput(),
        help_text="Type a name or an email, then pick from the suggestions.",
    )
    requester_email = forms.EmailField(
        label="Or a new requester's email",
        max_length=254,
        required=False,
        help_text="A contact is found or created with this email when no requester is picked.",
    )
    requester_name = forms.CharField(label="Their name", max_length=200, required=False)
    description = forms.CharField(
        label="Description", max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    channel = forms.ChoiceField(label="Channel", choices=Channel.choices, initial=Channel.PHONE)
    priority = forms.ChoiceField(label="Priority", choices=TicketPriority.choices, initial=TicketPriority.NORMAL)
    type = forms.ChoiceField(label="Type", choices=TicketType.choices, initial=TicketType.QUESTION)
    queue = forms.TypedChoiceField(
        label="Queue", coerce=int, empty_value=None, required=False, help_text="Empty: the routing rules decide."
    )
    assignee = forms.TypedChoiceField(
        label="Assignee", coerce=int, empty_value=None, required=False, help_text="Empty: assigned in the queue."
    )
    tags = forms.CharField(label="Tags", max_length=500, required=False, help_text="Separated by commas.")

    def __init__(self, *args: Any, queues: Choices, members: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", "Automatic"), *queues]  # type: ignore[attr-defined]
        self.fields["assignee"].choices = [("", "Automatic"), *members]  # type: ignore[attr-defined]

    def error_field(self, service_field: str) -> str | None:
        return self.FIELD_MAP.get(service_field, service_field)

    def to_data(self, contact_id: int | None) -> dict[str, Any]:
        """The service's input (`contact_id` is the picked contact, looked up by the view)."""
        data = self.cleaned_data
        values: dict[str, Any] = {
            "subject": data["subject"],
            "description": data.get("description") or "",
            "priority": data["priority"],
            "type": data["type"],
            "tags": split_tags(data.get("tags") or ""),
        }
        if contact_id is not None:
            values["contact"] = contact_id
        elif data.get("requester_email"):
            values["requester_email"] = data["requester_email"]
            values["requester_name"] = data.get("requester_name") or ""
        for name in ("queue", "assignee"):
            if data.get(name) is not None:
                values[name] = data[name]
        return values


def split_tags(text: str) -> list[str]:
    """ "vip, billing ,vip" → ["vip", "billing"] (trimmed, empty and repeated ones dropped)."""
    seen: set[str] = set()
    tags = []
    for part in text.split(","):
        tag = " ".join(part.split())
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags


class MessageForm(forms.Form):
    """The composer: a public reply or an internal note. `canned` is the canned reply picked (its
    status, priority and tags are applied with a reply); `then` a status to set with the reply."""

    body = forms.CharField(label="Message", max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 7}))
    canned = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    then = forms.ChoiceField(
        label="Then set status",
        required=False,
        choices=[("", "Keep the status"), *((s, label) for s, label in TicketStatus.choices if s != "new")],
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=TicketStatus.choices)
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)


class AssignForm(forms.Form):
    """Assignee and queue, side by side on the ticket's page (empty: nobody / no queue)."""

    assignee = forms.TypedChoiceField(label="Assignee", coerce=int, empty_value=None, required=False)
    queue = forms.TypedChoiceField(label="Queue", coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, queues: Choices, members: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Unassigned"), *members]  # type: ignore[attr-defined]
        self.fields["queue"].choices = [("", "No queue"), *queues]  # type: ignore[attr-defined]


class PropertiesForm(ServiceErrorsMixin, forms.Form):
    """Priority, type and tags of a ticket."""

    priority = forms.ChoiceField(label="Priority", choices=TicketPriority.choices)
    type = forms.ChoiceField(label="Type", choices=TicketType.choices)
    tags = forms.CharField(label="Tags", max_length=500, required=False, help_text="Separated by commas.")
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def to_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"priority": data["priority"], "type": data["type"], "tags": split_tags(data.get("tags") or "")}


class LinkForm(forms.Form):
    """Link this ticket to another by its number."""

    kind = forms.ChoiceField(label="Link", choices=LinkKind.choices, initial=LinkKind.RELATED)
    number = forms.IntegerField(label="Ticket number", min_value=1, max_value=10**15)
