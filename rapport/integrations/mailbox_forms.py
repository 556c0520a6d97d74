"""The form of the mailbox pages (connect or change an IMAP mailbox)."""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.integrations.mailbox_services import MAX_FOLDERS, PASSWORD_MAX
from rapport.integrations.models import Mailbox, Security

NEW_PASSWORD_HELP = "Stored encrypted, never shown again. With two-factor login, an app password."  # noqa: S105 (a help text)


class MailboxForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        max_length=100, required=False, label="Name (optional)", help_text="For you to tell mailboxes apart, e.g. Work."
    )
    host = forms.CharField(max_length=255, label="IMAP server (host name)", help_text="For example imap.example.com.")
    port = forms.IntegerField(min_value=1, max_value=65535, initial=993, help_text="993 for SSL/TLS, 143 otherwise.")
    security = forms.ChoiceField(choices=Security.choices, initial=Security.SSL)
    username = forms.CharField(
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Usually your full email address.",
    )
    password = forms.CharField(
        max_length=PASSWORD_MAX,
        required=False,
        strip=False,
        # Never rendered back: the page only says that one is stored.
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )
    folders = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"One folder per line (at most {MAX_FOLDERS}), e.g. INBOX and Sent. Empty: INBOX only.",
    )
    create_unknown_contacts = forms.BooleanField(
        required=False,
        label="Create contacts from unknown senders",
        help_text="Otherwise mail from addresses that match no contact is not logged.",
    )
    share_synced = forms.BooleanField(
        required=False,
        label="Share the logged mail with the workspace",
        help_text="Otherwise the emails logged from this mailbox are visible to you only.",
    )
    enabled = forms.BooleanField(
        required=False,
        initial=True,
        label="Sync this mailbox",
        help_text="Turn off to pause fetching and keep the settings.",
    )
    verify = forms.BooleanField(
        required=False,
        initial=True,
        label="Check the connection before saving",
        help_text="Nothing is saved when the server cannot be reached or refuses the login.",
    )

    def __init__(self, *args: Any, mailbox: Mailbox | None, shared: bool, **kwargs: Any) -> None:
        """`mailbox`: the one being changed (None to connect a new one); `shared`: a workspace mailbox."""
        super().__init__(*args, **kwargs)
        self.creating = mailbox is None
        if mailbox is None:
            self.fields["password"].required = True
            self.fields["password"].help_text = NEW_PASSWORD_HELP
        elif mailbox.password_secret:
            self.fields["password"].help_text = "A password is stored (encrypted). Leave empty to keep it."
        else:
            self.fields["password"].help_text = "No password is stored yet."
        if shared:
            del self.fields["share_synced"]  # mail of a shared mailbox is always shared

    @staticmethod
    def initial_of(mailbox: Mailbox) -> dict[str, Any]:
        return {
            "name": mailbox.name,
            "host": mailbox.host,
            "port": mailbox.port,
            "security": mailbox.security,
            "username": mailbox.username,
            "folders": "\n".join(mailbox.folders or []),
            "create_unknown_contacts": mailbox.create_unknown_contacts,
            "share_synced": mailbox.share_synced,
            "enabled": mailbox.enabled,
            "verify": True,
        }

    def to_data(self) -> dict[str, Any]:
        names = ["name", "host", "port", "security", "username", "create_unknown_contacts", "enabled"]
        if "share_synced" in self.fields:
            names.append("share_synced")
        data = {name: self.cleaned_data[name] for name in names}
        data["folders"] = [line.strip() for line in self.cleaned_data["folders"].splitlines() if line.strip()]
        if self.cleaned_data.get("password"):
            data["password"] = self.cleaned_data["password"]
        return data
