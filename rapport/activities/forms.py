"""The small forms of the contact and company pages: log a call, add a note."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from rapport.activities.choices import Direction, Kind, Outcome
from rapport.activities.services import BODY_MAX, DURATION_MAX
from rapport.core.errors import ApplicationError

_when = forms.DateTimeField(
    label="When",
    required=False,
    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    help_text="Now, if empty.",
)


class ActivityForm(forms.Form):
    kind: str = ""

    def add_service_error(self, exc: ApplicationError) -> None:
        placed = False
        for name, message in exc.fields.items():
            target = "when" if name == "occurred_at" else name
            if target in self.fields and target not in self.errors:
                self.add_error(target, message)
                placed = True
        if not placed:
            self.add_error(None, exc.message)

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
