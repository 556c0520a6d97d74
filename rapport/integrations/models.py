"""Connections to mail servers: the workspace's SMTP server and the IMAP mailboxes members connect.

Passwords are stored encrypted (`rapport.core.crypto`, key from the environment) in `*_secret`
fields and are never shown back or logged. The sync state of each IMAP folder (UIDVALIDITY and the
highest UID seen) and one row per fetched message make the sync incremental and idempotent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.core.models import OrgScopedModel


class Security(models.TextChoices):
    SSL = "ssl", "SSL/TLS"
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", "None (local servers only)"


class SmtpServer(OrgScopedModel):
    """The workspace's outgoing mail server. Emails go out as the sending member's own address
    unless `from_email` is set, in which case that address sends and the member is Reply-To."""

    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=587)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.STARTTLS)
    username = models.CharField(max_length=255, blank=True, default="")
    password_secret = models.TextField(blank=True, default="")
    from_email = models.EmailField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="smtpserver_one_per_org")]

    def __str__(self) -> str:
        return f"SMTP {self.host}:{self.port}"


class Mailbox(OrgScopedModel):
    """An IMAP mailbox whose mail is logged as email activities.

    `user` is the member it belongs to; no user means a shared mailbox of the workspace (admins
    manage it). Mail synced from a personal mailbox is private to that member unless `share_synced`.
    Failures back off: `next_attempt_at` moves further out with each consecutive failure.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=255)
    password_secret = models.TextField(blank=True, default="")
    folders = models.JSONField(default=list, blank=True, help_text="IMAP folders to sync; empty means INBOX")
    create_unknown_contacts = models.BooleanField(default=False)
    share_synced = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "user"], name="mailbox_user"),
            models.Index(fields=["enabled", "next_attempt_at"], name="mailbox_due"),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.username}@{self.host}"


class MailboxFolder(models.Model):
    """Sync state of one folder: a changed UIDVALIDITY means the UIDs start over."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folder_states")
    name = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "name"], name="mailboxfolder_unique")]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.name}"


class MailboxMessage(models.Model):
    """One fetched message (by folder, UIDVALIDITY and UID): fetching it again logs nothing new.
    `activity` is the email activity it was logged as; empty with a `skipped` reason otherwise."""

    folder = models.ForeignKey(MailboxFolder, on_delete=models.CASCADE, related_name="messages")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    activity = models.ForeignKey(
        "activities.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skipped = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["folder", "uidvalidity", "uid"], name="mailboxmessage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.folder_id}/{self.uidvalidity}/{self.uid}"
