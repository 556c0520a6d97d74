"""The form of the outgoing mail server settings page."""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.integrations.models import Security, SmtpServer
from rapport.integrations.smtp_services import PASSWORD_MAX


class SmtpServerForm(ServiceErrorsMixin, forms.Form):
    host = forms.CharField(max_length=255, label="Server (host name)", help_text="For example smtp.example.com.")
    port = forms.IntegerField(min_value=1, max_value=65535, initial=587, help_text="587 for STARTTLS, 465 for SSL/TLS.")
    security = forms.ChoiceField(choices=Security.choices, initial=Security.STARTTLS)
    username = forms.CharField(max_length=255, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(
        max_length=PASSWORD_MAX,
        required=False,
        strip=False,
        # Never rendered back: the page only says whether one is stored.
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text="A password is stored (encrypted). Leave empty to keep it.",
    )
    clear_password = forms.BooleanField(required=False, label="Remove the stored password")
    from_email = forms.EmailField(
        max_length=254,
        required=False,
        label="Send as (optional)",
        help_text="Emails go out from this address with the member as Reply-To; empty: from each member's own address.",
    )

    def __init__(self, *args: Any, server: SmtpServer | None, **kwargs: Any) -> None:
        """`server`: the stored one (None before the first save); the password's help says whether one is kept."""
        super().__init__(*args, **kwargs)
        if server is None or not server.password_secret:
            del self.fields["clear_password"]  # nothing to remove
            self.fields["password"].help_text = "Only if the server asks for a login."

    @staticmethod
    def initial_of(server: SmtpServer | None) -> dict[str, Any]:
        if server is None:
            return {}
        return {
            "host": server.host,
            "port": server.port,
            "security": server.security,
            "username": server.username,
            "from_email": server.from_email,
        }

    def to_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in ("host", "port", "security", "username", "from_email")}
        data["from_email"] = data["from_email"] or ""
        if self.cleaned_data.get("clear_password"):  # absent (None) when no password is stored
            data["password"] = ""
        elif self.cleaned_data.get("password"):
            data["password"] = self.cleaned_data["password"]
        return data
