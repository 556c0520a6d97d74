"""Forms of the customer-service settings pages: they shape what a person typed into the data the
configuration services take; the services decide what is valid, and their field errors land on
these forms' fields (`ServiceErrorsMixin`)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.accounts.models import Membership, Team
from rapport.contacts.choices import SupportTier
from rapport.core.errors import ApplicationError, StaleVersion
from rapport.core.principal import Principal
from rapport.service.calendar_services import WEEKDAYS, time_zones
from rapport.service.models import (
    Assignment,
    BusinessCalendar,
    Channel,
    Queue,
    RoutingRule,
    SlaPolicy,
    TicketPriority,
    TicketType,
)
from rapport.service.queue_services import AGENT_ROLES, READER_ROLES

STALE = "Someone else changed this since you opened the page; here it is as it is now."
_INTERVAL = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-\u2013]\s*(\d{1,2}:\d{2})\s*$")
CHECKS = forms.CheckboxSelectMultiple


def _member_choices(actor: Principal, roles: tuple[str, ...]) -> list[tuple[int, str]]:
    rows = (
        Membership.objects.filter(org_id=actor.org_id, is_active=True, role__in=roles)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    return [(m.user_id, m.user.display_name) for m in rows]


def _queue_choices(actor: Principal) -> list[tuple[Any, str]]:
    rows = Queue.objects.filter(org_id=actor.org_id, deleted_at__isnull=True).order_by("name")
    return [(q.pk, q.name) for q in rows]


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _id(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


class _Form(ServiceErrorsMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)

    def add_service_error(self, exc: ApplicationError) -> None:
        if isinstance(exc, StaleVersion):
            self.add_error(None, STALE)
            return
        super().add_service_error(exc)


class QueueForm(_Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    assignment = forms.ChoiceField(
        choices=Assignment.choices, help_text="How new tickets of the queue are handed to its members."
    )
    team = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, help_text="The queue's tickets belong to this team."
    )
    manager = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, help_text="Told about SLA breaches of the queue's tickets."
    )
    is_default = forms.BooleanField(
        required=False, label="Default queue", help_text="Where tickets go that no routing rule sends elsewhere."
    )
    members = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=CHECKS, help_text="Members whose role works on tickets."
    )

    def __init__(self, *args: Any, actor: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(org_id=actor.org_id).order_by("name")
        self.fields["team"].choices = [("", "No team"), *((t.pk, t.name) for t in teams)]  # type: ignore[attr-defined]
        self.fields["manager"].choices = [("", "Nobody"), *_member_choices(actor, READER_ROLES)]  # type: ignore[attr-defined]
        self.fields["members"].choices = _member_choices(actor, AGENT_ROLES)  # type: ignore[attr-defined]

    def error_field(self, service_field: str) -> str | None:
        return {"team_id": "team", "manager_id": "manager", "member_ids": "members"}.get(service_field, service_field)

    def to_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        data = {
            "name": d["name"],
            "description": d["description"],
            "assignment": d["assignment"],
            "team_id": d["team"],
            "manager_id": d["manager"],
            "member_ids": d["members"],
        }
        if d["is_default"]:  # the default is replaced by choosing another, never unset
            data["is_default"] = True
        return data

    @staticmethod
    def initial_for(queue: Queue) -> dict[str, Any]:
        return {
            "name": queue.name,
            "description": queue.description,
            "assignment": queue.assignment,
            "team": queue.team_id or "",
            "manager": queue.manager_id or "",
            "is_default": queue.is_default,
            "members": [m.user_id for m in queue.memberships.all()],
            "version": queue.version,
        }


class RuleForm(_Form):
    name = forms.CharField(max_length=100, help_text="Such as “Urgent email to Tier 2”.")
    queue = forms.TypedChoiceField(coerce=int, help_text="Where the tickets that match go.")
    channels = forms.MultipleChoiceField(choices=Channel.choices, required=False, widget=CHECKS)
    types = forms.MultipleChoiceField(choices=TicketType.choices, required=False, widget=CHECKS)
    priorities = forms.MultipleChoiceField(choices=TicketPriority.choices, required=False, widget=CHECKS)
    tags = forms.CharField(
        max_length=2000,
        required=False,
        help_text="The requester's or company's tags, separated by commas (any of them).",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, actor: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", "Choose a queue…"), *_queue_choices(actor)]  # type: ignore[attr-defined]

    def error_field(self, service_field: str) -> str | None:
        return "queue" if service_field == "queue_id" else service_field

    def to_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "queue_id": d["queue"],
            "channels": d["channels"],
            "types": d["types"],
            "priorities": d["priorities"],
            "tags": _tags(d["tags"]),
            "active": d["active"],
        }

    @staticmethod
    def initial_for(rule: RoutingRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "queue": rule.queue_id,
            "channels": rule.channels,
            "types": rule.types,
            "priorities": rule.priorities,
            "tags": ", ".join(rule.tags),
            "active": rule.active,
            "version": rule.version,
        }


def _minutes(label: str, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, required=False, help_text=help_text)


class PolicyForm(_Form):
    name = forms.CharField(max_length=100, help_text="Such as “Premium customers” or “Urgent tickets”.")
    priorities = forms.MultipleChoiceField(choices=TicketPriority.choices, required=False, widget=CHECKS)
    tiers = forms.MultipleChoiceField(
        choices=SupportTier.choices,
        required=False,
        widget=CHECKS,
        label="Support tiers",
        help_text="The company's support tier (on the company page).",
    )
    tags = forms.CharField(
        max_length=2000, required=False, help_text="The ticket's, requester's or company's tags, separated by commas."
    )
    first_response_minutes = _minutes("First response (minutes)", "Empty: no target.")
    next_response_minutes = _minutes("Next response (minutes)", "After each customer message. Empty: no target.")
    resolution_minutes = _minutes("Resolution (minutes)", "Empty: no target.")
    business_hours = forms.BooleanField(
        required=False, initial=True, label="Count in business hours", help_text="Off: count clock time, 24/7."
    )
    warn_before_minutes = forms.IntegerField(
        label="Warn before (minutes)", min_value=0, initial=60, help_text="The assignee is warned this long before."
    )
    notify_on_breach = forms.BooleanField(
        required=False, initial=True, label="Notify on breach", help_text="The assignee and the queue's manager."
    )
    raise_priority = forms.BooleanField(required=False, label="Raise the priority on breach")
    escalate_to_queue = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Move breached tickets to"
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, actor: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["escalate_to_queue"].choices = [("", "Keep them where they are"), *_queue_choices(actor)]  # type: ignore[attr-defined]

    def error_field(self, service_field: str) -> str | None:
        return "escalate_to_queue" if service_field == "escalate_to_queue_id" else service_field

    def to_data(self) -> dict[str, Any]:
        d = dict(self.cleaned_data)
        d.pop("version", None)
        d["tags"] = _tags(d["tags"])
        d["escalate_to_queue_id"] = d.pop("escalate_to_queue")
        return d

    @staticmethod
    def initial_for(policy: SlaPolicy) -> dict[str, Any]:
        names = [n for n in PolicyForm.base_fields if n not in {"tags", "escalate_to_queue"}]
        initial = {n: getattr(policy, n) for n in names}
        return {**initial, "tags": ", ".join(policy.tags), "escalate_to_queue": policy.escalate_to_queue_id or ""}


def _hours_text(pairs: list[list[str]] | None) -> str:
    return ", ".join(f"{start}-{'24:00' if end == '00:00' else end}" for start, end in pairs or [])


class CalendarForm(_Form):
    """The time zone and one text field per weekday, such as “09:00-12:00, 13:00-17:00” (empty: closed)."""

    time_zone = forms.ChoiceField(help_text="Working hours are local times in this zone.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in sorted(time_zones())]  # type: ignore[attr-defined]
        for day, name in enumerate(WEEKDAYS):
            self.fields[f"day_{day}"] = forms.CharField(
                label=name, max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "Closed"})
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for day in range(7):
            text = data.get(f"day_{day}") or ""
            for part in filter(None, (p.strip() for p in text.split(","))):
                if not _INTERVAL.match(part):
                    self.add_error(f"day_{day}", f"Write intervals like 09:00-17:00, separated by commas (“{part}”).")
                    break
        return data

    def error_field(self, service_field: str) -> str | None:
        if service_field.startswith("hours."):
            return f"day_{service_field.split('.', 1)[1]}"
        return "day_0" if service_field == "hours" else service_field

    def to_data(self) -> dict[str, Any]:
        hours: dict[str, list[list[str]]] = {}
        for day in range(7):
            parts = filter(None, (p.strip() for p in (self.cleaned_data.get(f"day_{day}") or "").split(",")))
            pairs = []
            for part in parts:
                match = _INTERVAL.match(part)
                if match:
                    pairs.append([t.zfill(5) for t in match.groups()])
            if pairs:
                hours[str(day)] = pairs
        return {"time_zone": self.cleaned_data["time_zone"], "hours": hours}

    @staticmethod
    def initial_for(calendar: BusinessCalendar | None) -> dict[str, Any]:
        if calendar is None:
            nine_to_five = {f"day_{d}": "09:00-17:00" for d in range(5)}
            return {"time_zone": "UTC", "version": 0, **nine_to_five}
        days = {f"day_{d}": _hours_text(calendar.hours.get(str(d))) for d in range(7)}
        return {"time_zone": calendar.time_zone, "version": calendar.version, **days}


class HolidayForm(ServiceErrorsMixin, forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"placeholder": "Such as “New Year”"})
    )
