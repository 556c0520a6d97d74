"""Activities: calls, meetings, emails, notes, SMS and chats, linked to contacts, a company and users.

The body is stored as Markdown source only; it is rendered (and sanitised) when shown, see
`rapport.activities.markdown`. Deleting moves an activity to the trash (`deleted_at`).

`ActivityContact` is the link to each participating contact; it repeats the activity's
`occurred_at` (kept in step by the services) so that a contact's timeline is one walk of the
`(org, contact, -occurred_at)` index, however many activities the workspace holds.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from rapport.activities.choices import Direction, Kind, Outcome, SendStatus
from rapport.contacts.models import Contact
from rapport.core.models import OrgScopedModel, OwnedModel

ALIVE = Q(deleted_at__isnull=True)


class ActivityQuerySet(models.QuerySet["Activity"]):
    def alive(self) -> ActivityQuerySet:
        return self.filter(deleted_at__isnull=True)

    def trashed(self) -> ActivityQuerySet:
        return self.filter(deleted_at__isnull=False)


class Activity(OwnedModel):
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField(blank=True, default="", help_text="Markdown source")
    occurred_at = models.DateTimeField()
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    location = models.CharField(max_length=300, blank=True, default="", help_text="Meetings: where")
    external_uid = models.CharField(
        max_length=255, blank=True, default="", help_text="UID of the calendar event it was imported from"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    contacts: models.ManyToManyField[Contact, ActivityContact] = models.ManyToManyField(
        Contact, through="ActivityContact", blank=True, related_name="activities"
    )
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Private activities (email synced from a personal mailbox, unless its owner shares it) are
    # seen by their owner only, whatever the role's read level.
    private = models.BooleanField(default=False)

    # Email: headers as sent or received. `message_id` is the Message-ID header with its angle
    # brackets; `thread_key` is the Message-ID of the first message of the thread (from
    # References / In-Reply-To), so a thread is one index lookup.
    message_id = models.CharField(max_length=255, blank=True, default="")
    in_reply_to = models.CharField(max_length=255, blank=True, default="")
    references = models.TextField(blank=True, default="")
    thread_key = models.CharField(max_length=255, blank=True, default="")
    email_from = models.CharField(max_length=320, blank=True, default="")
    email_to = models.JSONField(default=list, blank=True)
    email_cc = models.JSONField(default=list, blank=True)
    # Email written in Rapport: its way out through the worker (blank for everything else).
    send_status = models.CharField(max_length=10, choices=SendStatus.choices, blank=True, default="")
    send_error = models.CharField(max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    # While queued: when the next attempt is due (now, or later after a retry delay); while sending:
    # when the running attempt claimed it. The recovery task reads it (rapport.integrations.sending).
    send_attempt_at = models.DateTimeField(null=True, blank=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["org", "-occurred_at", "-id"], name="activity_org_time", condition=ALIVE),
            models.Index(fields=["org", "company", "-occurred_at", "-id"], name="activity_company_time"),
            models.Index(fields=["org", "owner", "-occurred_at", "-id"], name="activity_owner_time", condition=ALIVE),
            models.Index(fields=["org", "kind", "-occurred_at", "-id"], name="activity_kind_time", condition=ALIVE),
            models.Index(fields=["org", "-created_at", "-id"], name="activity_created", condition=ALIVE),
            models.Index(
                fields=["org", "-deleted_at", "-id"], name="activity_trash", condition=Q(deleted_at__isnull=False)
            ),
            models.Index(
                fields=["org", "thread_key", "occurred_at"], name="activity_thread", condition=~Q(thread_key="")
            ),
            # The recovery of emails whose enqueue was lost (queued, due long ago) and of attempts that
            # died mid-send (sending, claimed long ago): each a walk of a tiny index of in-flight emails.
            models.Index(fields=["send_attempt_at"], name="activity_outbox", condition=Q(send_status="queued")),
            models.Index(fields=["send_attempt_at"], name="activity_sending", condition=Q(send_status="sending")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "external_uid"], name="activity_external_uid", condition=~Q(external_uid="")
            ),
            models.UniqueConstraint(
                fields=["org", "message_id"], name="activity_message_id", condition=~Q(message_id="")
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_kind_display()} {self.pk}"


class ActivityContact(models.Model):
    """A contact taking part in an activity (with the activity's time, for the timeline index)."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="activity_links")
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "contact"], name="activitycontact_unique")]
        indexes = [models.Index(fields=["org", "contact", "-occurred_at"], name="activitycontact_timeline")]

    def __str__(self) -> str:
        return f"{self.activity_id} ↔ {self.contact_id}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    """Stored under a random name: the user's file name is only ever metadata."""
    return f"attachments/{instance.org_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file attached to an activity, kept through Django's storage API (settings.STORAGES).

    Size and type limits are checked by the services; downloads go through a permission-checked
    view that sends the original name as a safe Content-Disposition, with nosniff.
    """

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=255)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["org", "activity"], name="attachment_activity")]

    def __str__(self) -> str:
        return self.filename


class TaskPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Task(OwnedModel):
    """A to-do with an optional due time and reminder. `owner` is the assignee: access by the
    activity levels (own / team / all) therefore counts the assignee as the owner."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    due_at = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "owner", "status", "due_at"], name="task_owner_due", condition=ALIVE),
            # The task list for everyone ("anyone" assignee), by due date within a status.
            models.Index(fields=["org", "status", "due_at", "id"], name="task_status_due", condition=ALIVE),
            models.Index(fields=["org", "-created_at", "-id"], name="task_created", condition=ALIVE),
            models.Index(fields=["org", "contact"], name="task_contact"),
            models.Index(
                fields=["remind_at"],
                name="task_reminder_due",
                condition=Q(remind_at__isnull=False, reminded_at__isnull=True, deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    MENTIONED = "mentioned", "Mentioned"
    REMINDER = "reminder", "Reminder"
    EMAIL_FAILED = "email_failed", "Email not sent"
    SLA = "sla", "SLA due soon or missed"


class Notification(models.Model):
    """Something one member of one workspace should see; unread until `read_at`."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True, default="")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "user", "-created_at", "-id"], name="notification_user_time"),
            models.Index(fields=["org", "user"], name="notification_unread", condition=Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """Which notifications a user also receives by email (in every workspace). No row: defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email_reminders = models.BooleanField(default=True)
    email_mentions = models.BooleanField(default=False)
    email_assignments = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"


class CalendarFeed(models.Model):
    """A member's private iCalendar feed of one workspace: only the SHA-256 of its secret is kept.
    Revoked feeds stay (with `revoked_at`) and answer 404."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "user"], name="calendarfeed_user")]

    def __str__(self) -> str:
        return f"Calendar feed {self.pk} of {self.user_id}"


class EmailTemplate(OrgScopedModel):
    """A reusable email (subject and Markdown body with merge fields, see rapport.core.merge).

    Every template is shared with the whole workspace: any member may use it. Its owner (who
    created it) may change or delete it, and so may members who manage the workspace's settings.
    Names are unique (case-insensitive) among the workspace's live templates; deleting moves a
    template to the trash (`deleted_at`), which frees its name.
    """

    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField(blank=True, default="", help_text="Markdown with merge fields")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Also the index of the list, which is sorted by name.
        constraints = [
            models.UniqueConstraint(F("org"), Lower("name"), name="emailtemplate_unique_name", condition=ALIVE),
        ]

    def __str__(self) -> str:
        return self.name
