"""The compose form: to, cc, subject, body, files, and the email template to start from."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.activities.services import BODY_MAX

_SEPARATORS = re.compile(r"[,;\s]+")


def split_addresses(text: str) -> list[str]:
    """The addresses of a "to" / "cc" field: separated by commas, semicolons or spaces."""
    return [part for part in _SEPARATORS.split(text or "") if part]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class EmailComposeForm(ServiceErrorsMixin, forms.Form):
    to = forms.CharField(
        max_length=5000, label="To", help_text="One or more addresses, separated by commas.", required=False
    )
    cc = forms.CharField(max_length=5000, label="Cc", required=False)
    # Not stripped of line breaks here: the service refuses a subject with one, clearly.
    subject = forms.CharField(max_length=1000, label="Subject", required=False, strip=False)
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=BODY_MAX,
        required=False,
        strip=False,
        help_text="Markdown is supported: it is sent as plain text and as formatted HTML.",
    )

    def __init__(self, *args: Any, with_files: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_files:
            self.fields["files"] = MultipleFileField(label="Attachments", required=False)

    def error_field(self, service_field: str) -> str | None:
        return service_field.split(".")[0]

    def to_data(self) -> dict[str, Any]:
        return {
            "to": split_addresses(self.cleaned_data["to"]),
            "cc": split_addresses(self.cleaned_data["cc"]),
            "subject": self.cleaned_data["subject"],
            "body": self.cleaned_data["body"],
        }
