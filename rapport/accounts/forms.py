"""Forms of the accounts pages. They validate shape; services validate meaning."""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.accounts.models import ApiToken
from rapport.accounts.roles import Role
from rapport.core.errors import ApplicationError

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class ServiceErrorsMixin:
    """Put an ApplicationError's messages on the form: on its fields, or as a form error.

    A form whose field names differ from the service's overrides `error_field`.
    """

    def error_field(self, service_field: str) -> str | None:
        """The form field that shows the service's message about `service_field` (None: none does)."""
        return service_field

    def add_service_error(self, exc: ApplicationError) -> None:
        placed = False
        for name, message in exc.fields.items():
            target = self.error_field(name)
            if target and target in self.fields and target not in self.errors:  # type: ignore[attr-defined]
                self.add_error(target, message)  # type: ignore[attr-defined]
                placed = True
        if not placed:
            self.add_error(None, exc.message)  # type: ignore[attr-defined]


class LoginForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(max_length=4096, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class OtpForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class InvitationAcceptForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(max_length=4096, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class InviteForm(ServiceErrorsMixin, forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Role.SALES.value)


class MemberRoleForm(ServiceErrorsMixin, forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class TeamForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    members = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, member_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = member_choices or []  # type: ignore[attr-defined]


class TokenForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, such as “Zapier” or “nightly export”.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_at = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for a token that lasts until revoked.",
    )


class SecurityForm(forms.Form):
    require_2fa = forms.BooleanField(required=False, label="Require two-factor authentication for every member")


class PasswordConfirmForm(ServiceErrorsMixin, forms.Form):
    password = forms.CharField(max_length=4096, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class EventFilterForm(forms.Form):
    verb = forms.CharField(required=False, max_length=80, help_text="e.g. member.updated, or team.*")
    subject_type = forms.CharField(required=False, max_length=60, label="Record type")
    actor = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Who")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Before")

    def __init__(self, *args: Any, actor_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *(actor_choices or [])]  # type: ignore[attr-defined]
