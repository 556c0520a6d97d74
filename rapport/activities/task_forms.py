"""The forms of the task pages: the filters of the list, and the create / edit form with every field.

The linked contact is picked in a text input with type-ahead (a <datalist> filled from the contact
suggestions, "Ada Lovelace (#12)"), the company as on the contact form (its name, with the company
suggestions). `contact_by_text` / `company_by_name` (rapport.contacts.views.common) turn what was typed into an
id, or a message for the field; the service then validates the whole task.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.activities.models import Task, TaskPriority, TaskStatus
from rapport.activities.task_selectors import DUE_CHOICES, SORT_CHOICES, STATUS_CHOICES, TaskQuery
from rapport.activities.task_services import DESCRIPTION_MAX, TITLE_MAX
from rapport.contacts.forms import CompanyNameInput, ContactPickerInput
from rapport.contacts.views.common import contact_label

DATETIME = {"type": "datetime-local"}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class TaskFilterForm(forms.Form):
    """The filters of the task list (all optional: my open tasks, soonest due first)."""

    assignee = forms.ChoiceField(label="Assignee", required=False)
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    due = forms.ChoiceField(label="Due", choices=DUE_CHOICES, required=False)
    sort = forms.ChoiceField(label="Sort", choices=SORT_CHOICES, required=False)
    contact = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    company = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str]] = [("me", "Me"), ("anyone", "Anyone")]
        choices += [(str(pk), name) for pk, name in members]
        self.fields["assignee"].choices = choices  # type: ignore[attr-defined]

    def query(self) -> TaskQuery:
        data = self.cleaned_data if self.is_bound else {}
        assignee: str | int = data.get("assignee") or "me"
        if assignee not in {"me", "anyone"}:
            assignee = int(assignee)
        return TaskQuery(
            assignee=assignee,
            status=data.get("status") or "open",
            due=data.get("due") or "",
            sort=data.get("sort") or "due",
            contact_id=data.get("contact"),
            company_id=data.get("company"),
        )


def _when(label: str, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=forms.DateTimeInput(attrs=DATETIME, format=DATETIME_FORMAT),
        help_text=help_text,
    )


class TaskForm(ServiceErrorsMixin, forms.Form):
    """Every field of a task. Empty priority, status or assignee keep the current (or default) value;
    `version` (editing only) refuses to overwrite a change made since the form was opened."""

    title = forms.CharField(label="Title", max_length=TITLE_MAX)
    description = forms.CharField(
        label="Description", widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=DESCRIPTION_MAX
    )
    due_at = _when("Due")
    remind_at = _when("Remind me at", "The assignee gets a notification at this time (and an email if they want).")
    priority = forms.ChoiceField(label="Priority", choices=TaskPriority.choices, required=False)
    status = forms.ChoiceField(label="Status", choices=TaskStatus.choices, required=False)
    assignee = forms.TypedChoiceField(label="Assignee", coerce=int, empty_value=None, required=False)
    contact = forms.CharField(
        label="Contact",
        required=False,
        max_length=300,
        widget=ContactPickerInput(),
        help_text="Type a name or an email, then pick from the suggestions.",
    )
    company = forms.CharField(label="Company", required=False, max_length=200, widget=CompanyNameInput())
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def __init__(self, *args: Any, members: list[tuple[int, str]], editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = members  # type: ignore[attr-defined]
        self.fields["version"].required = editing
        if not editing:
            del self.fields["version"]

    def error_field(self, service_field: str) -> str | None:
        return {"owner_id": "assignee", "contact_id": "contact", "company_id": "company"}.get(
            service_field, service_field
        )

    @staticmethod
    def initial_of(task: Task) -> dict[str, Any]:
        def local(when: Any) -> Any:
            return timezone.localtime(when).replace(second=0, microsecond=0) if when else None

        return {
            "title": task.title,
            "description": task.description,
            "due_at": local(task.due_at),
            "remind_at": local(task.remind_at),
            "priority": task.priority,
            "status": task.status,
            "assignee": task.owner_id,
            "contact": contact_label(task.contact) if task.contact and task.contact.deleted_at is None else "",
            "company": task.company.name if task.company and task.company.deleted_at is None else "",
            "version": task.version,
        }

    def to_data(self) -> dict[str, Any]:
        """The service's input, without the linked contact and company (the view resolves those)."""
        data: dict[str, Any] = {
            "title": self.cleaned_data["title"],
            "description": self.cleaned_data.get("description") or "",
        }
        # Editing: an untouched time keeps its exact value (the input shows minutes only), so an
        # unchanged reminder does not fire again.
        for name in ("due_at", "remind_at"):
            if "version" not in self.fields or name in self.changed_data:
                data[name] = self.cleaned_data.get(name)
        for name in ("priority", "status"):
            if self.cleaned_data.get(name):
                data[name] = self.cleaned_data[name]
        if self.cleaned_data.get("assignee"):
            data["owner_id"] = self.cleaned_data["assignee"]
        return data
