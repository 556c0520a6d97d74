"""The small forms of the contact and company pages: log a call, add a note."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.activities.choices import Direction, Kind, Outcome
from rapport.activities.services import BODY_MAX, DURATION_MAX, LOCATION_MAX

_when = forms.DateTimeField(
    label="When",
    required=False,
    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    help_text="Now, if empty.",
)


class ActivityForm(ServiceErrorsMixin, forms.Form):
    kind: str = ""

    def error_field(self, service_field: str) -> str | None:
        return "when" if service_field == "occurred_at" else service_field

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "body": self.cleaned_data.get("body") or ""}
        if self.cleaned_data.get("when"):
            data["occurred_at"] = self.cleaned_data["when"]
        return data


class CallForm(ActivityForm):
    kind = Kind.CALL
    direction = forms.ChoiceField(label="Direction", choices=Direction.choices, initial=Direction.OUTBOUND)
    outcome = forms.ChoiceField(label="Outcome", choices=[("", "—"), *Outcome.choices], required=False)
    duration = forms.IntegerField(label="Duration (minutes)", min_value=0, max_value=DURATION_MAX // 60, required=False)
    when = _when
    body = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=BODY_MAX)

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        data.update(direction=self.cleaned_data["direction"], outcome=self.cleaned_data.get("outcome") or "")
        minutes = self.cleaned_data.get("duration")
        data["duration"] = None if minutes is None else minutes * 60
        return data


class NoteForm(ActivityForm):
    kind = Kind.NOTE
    body = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 5}), max_length=BODY_MAX, help_text="Markdown is supported."
    )


FORMS: dict[str, type[ActivityForm]] = {"call": CallForm, "note": NoteForm}


def initial_for(kind: str) -> dict[str, Any]:
    return {"when": timezone.localtime().replace(second=0, microsecond=0)} if kind == "call" else {}


class ActivityFilterForm(forms.Form):
    """The filters of the activity list page (all optional)."""

    kind = forms.ChoiceField(label="Kind", choices=[("", "Any kind"), *Kind.choices], required=False)
    owner = forms.TypedChoiceField(label="Owner", coerce=int, empty_value=None, required=False)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    contact = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    company = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Anyone"), *owners]  # type: ignore[attr-defined]


# The fields each kind of activity has on the edit form (besides when, subject and body).
EDIT_FIELDS: dict[str, tuple[str, ...]] = {
    Kind.CALL: ("direction", "outcome", "duration"),
    Kind.MEETING: ("duration", "location"),
    Kind.EMAIL: ("direction",),
    Kind.SMS: ("direction",),
    Kind.CHAT: ("direction",),
}


class ActivityEditForm(ActivityForm):
    """Edit an activity of any kind; the version guards against overwriting someone else's change."""

    subject = forms.CharField(label="Subject", required=False, max_length=200)
    when = forms.DateTimeField(
        label="When", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    direction = forms.ChoiceField(label="Direction", choices=[("", "—"), *Direction.choices], required=False)
    outcome = forms.ChoiceField(label="Outcome", choices=[("", "—"), *Outcome.choices], required=False)
    duration = forms.IntegerField(label="Duration (minutes)", min_value=0, max_value=DURATION_MAX // 60, required=False)
    location = forms.CharField(label="Location", required=False, max_length=LOCATION_MAX)
    body = forms.CharField(
        label="Notes",
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=BODY_MAX,
        help_text="Markdown is supported.",
    )
    private = forms.BooleanField(
        label="Private",
        required=False,
        help_text="Only you can see it, whatever your colleagues' roles.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, kind: str, owner: bool = False, **kwargs: Any) -> None:
        """`owner`: the editor owns the activity, so may choose who sees it (the `private` field)."""
        super().__init__(*args, **kwargs)
        self.kind = kind
        if not owner:
            del self.fields["private"]
        kept = EDIT_FIELDS.get(kind, ())
        for name in ("direction", "outcome", "duration", "location"):
            if name not in kept:
                del self.fields[name]

    @classmethod
    def initial_of(cls, activity: Any) -> dict[str, Any]:
        return {
            "subject": activity.subject,
            "when": timezone.localtime(activity.occurred_at).replace(second=0, microsecond=0),
            "direction": activity.direction,
            "outcome": activity.outcome,
            "duration": None if activity.duration is None else activity.duration // 60,
            "location": activity.location,
            "body": activity.body,
            "private": activity.private,
            "version": activity.version,
        }

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "subject": self.cleaned_data.get("subject") or "",
            "occurred_at": self.cleaned_data["when"],
            "body": self.cleaned_data.get("body") or "",
        }
        for name in ("direction", "outcome", "location"):
            if name in self.fields:
                data[name] = self.cleaned_data.get(name) or ""
        if "private" in self.fields:
            data["private"] = bool(self.cleaned_data.get("private"))
        if "duration" in self.changed_data:  # minutes: an untouched field keeps the exact seconds
            minutes = self.cleaned_data.get("duration")
            data["duration"] = None if minutes is None else minutes * 60
        return data
