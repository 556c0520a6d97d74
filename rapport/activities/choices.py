"""The fixed vocabularies of activities."""

from __future__ import annotations

from django.db import models


class Kind(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    NOTE = "note", "Note"
    SMS = "sms", "SMS"
    CHAT = "chat", "Chat"
    OTHER = "other", "Other"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Outcome(models.TextChoices):
    """How a call went; only calls have one."""

    CONNECTED = "connected", "Connected"
    VOICEMAIL = "voicemail", "Voicemail"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    LEFT_MESSAGE = "left_message", "Left message"


class SendStatus(models.TextChoices):
    """Where an email written in Rapport is on its way out. `sending` is claimed by one worker run:
    if that run dies before `sent`, the email is never sent again (the user is told to check)."""

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
