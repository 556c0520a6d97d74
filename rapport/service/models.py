"""Customer service: tickets and their conversation, queues and routing, SLA policies on a
business-hours calendar, canned replies, satisfaction surveys, support mailboxes.

A ticket's `owner` is its assignee and its `team` the team of its queue, so the role table's
OWN / TEAM levels mean "assigned to me" / "in my team's queues" for tickets as for every other
owned record. SLA due times are stored on the ticket (computed by `rapport.service.sla` from the
ticket's policy and the workspace calendar); `sla_check_at` is the next moment the breach scan
must look at the ticket, so a scan reads only the tickets that need it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from rapport.core.models import OrgScopedModel, OwnedModel

ALIVE = Q(deleted_at__isnull=True)


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEB = "web", "Web form"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    API = "api", "API"


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


# Statuses in which a ticket still needs work (the backlog; SLA timers run or are paused).
UNSOLVED = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


PRIORITY_ORDER = [p.value for p in TicketPriority]  # low → urgent: "raise priority" moves one step right


class TicketType(models.TextChoices):
    QUESTION = "question", "Question"
    INCIDENT = "incident", "Incident"
    PROBLEM = "problem", "Problem"
    TASK = "task", "Task"


class Assignment(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_OPEN = "least_open", "Least open tickets"
    MANUAL = "manual", "Manual (nobody is assigned automatically)"


class BusinessCalendar(OrgScopedModel):
    """The workspace's working week for SLA timers: time zone and local working intervals per
    weekday. `hours` maps "0" (Monday) … "6" (Sunday) to a list of ["HH:MM", "HH:MM"] pairs; a
    missing or empty weekday is closed. Holidays are `Holiday` rows. One per workspace."""

    time_zone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="businesscalendar_one_per_org")]

    def __str__(self) -> str:
        return f"Business hours ({self.time_zone})"


class Holiday(models.Model):
    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")]
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Queue(OrgScopedModel):
    """A support team's inbox. New tickets routed here are assigned to its members by `assignment`,
    skipping members marked away; `manager` is told about SLA breaches of the queue's tickets.
    `last_assigned` is the round-robin cursor."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True, default="")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignment = models.CharField(max_length=12, choices=Assignment.choices, default=Assignment.ROUND_ROBIN)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_default = models.BooleanField(default=False, help_text="Where tickets go that no rule routes")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(F("org"), Lower("name"), name="queue_unique_name", condition=ALIVE),
            models.UniqueConstraint(
                fields=["org"], name="queue_one_default", condition=Q(is_default=True, deleted_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.name


class QueueMember(models.Model):
    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="queuemember_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in queue {self.queue_id}"


class AgentStatus(models.Model):
    """Whether a member is away (on leave, off shift): automatic assignment skips them."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    away = models.BooleanField(default=False)
    away_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="agentstatus_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {'away' if self.away else 'available'}"


class RoutingRule(OrgScopedModel):
    """Send new tickets that match to a queue. Empty condition lists match anything; the first
    active rule by `position` that matches wins, and no match means the default queue.
    `tags` match the requester's or their company's tags (any of them)."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    channels = models.JSONField(default=list, blank=True)
    types = models.JSONField(default=list, blank=True)
    priorities = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(OrgScopedModel):
    """Targets for tickets that match: first response, next response and resolution, in minutes
    of business time (or of clock time when `business_hours` is off). Empty condition lists match
    anything; the first active policy by `position` applies. Escalation: `warn_before_minutes`
    ahead of a due time the assignee is warned; at a breach the assignee and the queue's manager
    are notified (`notify_on_breach`), the priority goes up one step (`raise_priority`) and the
    ticket moves to `escalate_to_queue` (if set)."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    priorities = models.JSONField(default=list, blank=True)
    tiers = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    business_hours = models.BooleanField(default=True)
    warn_before_minutes = models.PositiveIntegerField(default=60)
    notify_on_breach = models.BooleanField(default=True)
    raise_priority = models.BooleanField(default=False)
    escalate_to_queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(F("org"), Lower("name"), name="slapolicy_unique_name", condition=ALIVE),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(OwnedModel):
    """A customer's request. `owner` is the assignee, `team` the queue's team.

    SLA: `*_due_at` are the current targets (empty when the policy has none or the target was
    met); `first_responded_at` is the first public reply; `sla_paused_at` is set while the ticket
    is pending on the customer (due times move out by the paused business time on resume).
    """

    number = models.PositiveBigIntegerField()
    subject = models.CharField(max_length=250)
    description = models.TextField(blank=True, default="")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    requester_email = models.CharField(max_length=254, blank=True, default="")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=10, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    type = models.CharField(max_length=10, choices=TicketType.choices, default=TicketType.QUESTION)
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    tags = models.JSONField(default=list, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=100, blank=True, default="")

    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_check_at = models.DateTimeField(null=True, blank=True)

    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_reply_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "number"], name="ticket_unique_number"),
            models.UniqueConstraint(
                fields=["org", "external_id"], name="ticket_unique_external_id", condition=~Q(external_id="")
            ),
        ]
        indexes = [
            models.Index(fields=["org", "-created_at", "-id"], name="ticket_time", condition=ALIVE),
            models.Index(fields=["org", "status", "-updated_at"], name="ticket_status"),
            models.Index(fields=["org", "queue", "status"], name="ticket_queue"),
            models.Index(fields=["org", "owner", "status"], name="ticket_owner"),
            models.Index(fields=["org", "contact", "-created_at"], name="ticket_contact"),
            models.Index(fields=["org", "company", "-created_at"], name="ticket_company"),
            # The breach scan reads only tickets whose next check is due.
            models.Index(fields=["sla_check_at"], name="ticket_sla_check", condition=Q(sla_check_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class LinkKind(models.TextChoices):
    DUPLICATE_OF = "duplicate_of", "Duplicate of"
    RELATED = "related", "Related to"
    FOLLOW_UP = "follow_up", "Follow-up of"


class TicketLink(models.Model):
    """`ticket` is a duplicate of / related to / a follow-up of `other`."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links")
    other = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="backlinks")
    kind = models.CharField(max_length=12, choices=LinkKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "other"], name="ticketlink_unique"),
            models.CheckConstraint(condition=~Q(ticket=F("other")), name="ticketlink_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.other_id}"


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", "Customer message"
    REPLY = "reply", "Public reply"
    NOTE = "note", "Internal note"


class SendStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class TicketMessage(models.Model):
    """One entry of a ticket's conversation: a customer's message (by email, web, API), an agent's
    public reply (emailed to the requester) or an internal note (never sent). `message_id` is the
    RFC 5322 Message-ID (ours for replies, the customer's for received mail): threading looks
    replies up by it, and a received message is stored once per workspace."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(blank=True, default="")
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True, default="")
    created_at = models.DateTimeField()
    message_id = models.CharField(max_length=255, blank=True, default="")
    in_reply_to = models.CharField(max_length=255, blank=True, default="")
    email_from = models.CharField(max_length=320, blank=True, default="")
    email_to = models.JSONField(default=list, blank=True)
    send_status = models.CharField(max_length=10, choices=SendStatus.choices, blank=True, default="")
    send_error = models.CharField(max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "message_id"], name="ticketmessage_unique_message_id", condition=~Q(message_id="")
            ),
        ]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="ticketmessage_thread")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


class SlaStage(models.TextChoices):
    WARNING = "warning", "Due soon"
    BREACHED = "breached", "Breached"


class SlaBreach(models.Model):
    """A target that came due soon (warning) or was missed (breached), recorded once per target
    and due time by the breach scan; escalation actions ran when the row was written."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_breaches")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    metric = models.CharField(max_length=16, choices=SlaMetric.choices)
    stage = models.CharField(max_length=10, choices=SlaStage.choices)
    due_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "metric", "stage", "due_at"], name="slabreach_unique"),
        ]
        indexes = [models.Index(fields=["org", "stage", "-detected_at"], name="slabreach_time")]

    def __str__(self) -> str:
        return f"{self.metric} {self.stage} on ticket {self.ticket_id}"


class CannedReply(OrgScopedModel):
    """A reusable reply (Markdown with merge fields such as {{ contact.first_name }}) that can also
    set the status and priority and add tags in the same click. Personal when `owner` is set."""

    name = models.CharField(max_length=100)
    body = models.TextField()
    set_status = models.CharField(max_length=10, choices=TicketStatus.choices, blank=True, default="")
    set_priority = models.CharField(max_length=10, choices=TicketPriority.choices, blank=True, default="")
    add_tags = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    usage_count = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = [Lower("name"), "id"]

    def __str__(self) -> str:
        return self.name


class CsatSurvey(models.Model):
    """The satisfaction survey of one ticket: sent when it is solved, answered at most once
    through a signed link (no login)."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="csat")
    sent_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="csat_rating_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["org", "-answered_at"], name="csat_answered")]

    def __str__(self) -> str:
        return f"CSAT ticket {self.ticket_id}: {self.rating or '-'}"


class SupportMailbox(OrgScopedModel):
    """An IMAP mailbox (rapport.integrations) whose mail becomes tickets instead of email
    activities; agent replies go out from `address`, and new tickets land in `queue` unless a
    routing rule sends them elsewhere."""

    mailbox = models.OneToOneField("integrations.Mailbox", on_delete=models.CASCADE, related_name="support")
    address = models.EmailField()
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return self.address
