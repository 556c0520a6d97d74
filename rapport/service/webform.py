"""The public "contact support" form of a workspace (/support/<org slug>/): anyone may send a
request, which becomes a ticket (channel "web") with its requester found or created by address,
and gets an acknowledgement email with the ticket number.

Against bots and floods:
- a honeypot field (`website`) that people never see (hidden by the stylesheet, not a type=hidden
  field): a submission that fills it is answered like a success and creates nothing;
- rate limits per client IP and per sender address (and a ceiling per workspace) in fixed windows
  counted in Django's cache, which is the database or Redis (never process memory), so every app
  process shares the counts. Over a limit the form answers 429 with a clear message.
The ticket is written by the workspace's system principal through `ticket_create`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from huey.contrib.djhuey import db_task

from rapport.accounts.models import Organization
from rapport.core.errors import TooManyRequests
from rapport.integrations.outbound import SendFailure
from rapport.integrations.sending import RETRY_DELAYS
from rapport.service.models import Channel, Ticket, TicketType
from rapport.service.system import system_principal
from rapport.service.ticket_mail import reply_subject, send_support_email

HONEYPOT = "website"
SUBJECT_MAX = 250  # Ticket.subject
BODY_MAX = 20_000


@dataclass(frozen=True)
class Limit:
    scope: str
    count: int
    seconds: int


def limits() -> list[Limit]:
    """The rate limits, overridable with settings.SUPPORT_FORM_LIMITS = {"ip": (count, seconds), …}."""
    configured: dict[str, tuple[int, int]] = {
        "ip": (5, 600),  # five requests per ten minutes from one address
        "email": (5, 3600),  # five per hour for one sender
        "org": (500, 3600),  # a ceiling for one workspace
        **getattr(settings, "SUPPORT_FORM_LIMITS", {}),
    }
    return [Limit(scope, count, seconds) for scope, (count, seconds) in configured.items()]


class SupportForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(label="Your email", max_length=254)
    subject = forms.CharField(label="Subject", max_length=SUBJECT_MAX)
    message = forms.CharField(label="How can we help?", max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 8}))
    type = forms.ChoiceField(
        label="Type of request",
        required=False,
        choices=[("", "Choose (optional)"), *TicketType.choices],
    )
    # The honeypot: hidden from people by CSS (class support-hp), labelled so screen readers skip it.
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_message(self) -> str:
        text = str(self.cleaned_data["message"]).replace("\x00", "").strip()
        if not text:
            raise forms.ValidationError("Write your message.")
        return text[:BODY_MAX]

    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT, ""))


def _window_key(limit: Limit, value: str) -> str:
    window = int(time.time()) // limit.seconds
    return f"rapport:support-form:{limit.scope}:{value}:{window}"


def _over(limit: Limit, value: str) -> bool:
    """Count one submission in the current window; True when it goes over the limit."""
    key = _window_key(limit, value)
    cache.add(key, 0, timeout=limit.seconds + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=limit.seconds + 60)
        count = 1
    return count > limit.count


def check_rate(*, org: Organization, ip: str, email: str) -> None:
    """Count a submission against every limit; TooManyRequests (429) when one is exceeded."""
    values = {"ip": ip or "unknown", "email": email.lower(), "org": str(org.pk)}
    over = [limit for limit in limits() if limit.scope in values and _over(limit, values[limit.scope])]
    if over:
        minutes = max(1, over[0].seconds // 60)
        raise TooManyRequests(
            "too_many_requests", f"Too many requests were sent from here. Please try again in {minutes} minutes."
        )


def support_request_create(*, org: Organization, data: dict[str, Any], ip: str) -> Ticket:
    """Create the ticket of a valid form submission (after the rate limits) and enqueue its
    acknowledgement email. Raises TooManyRequests, or ValidationFailed from the ticket rules."""
    from rapport.service.ticket_services import ticket_create  # loaded when used: it loads routing and SLA

    check_rate(org=org, ip=ip, email=data["email"])
    actor = system_principal(org.pk)
    ticket = ticket_create(
        actor=actor,
        data={
            "subject": data["subject"],
            "description": data["message"],
            "requester_email": data["email"],
            "requester_name": data["name"],
            **({"type": data["type"]} if data.get("type") else {}),
        },
        channel=Channel.WEB,
    )
    ticket_id = ticket.pk
    transaction.on_commit(lambda: send_acknowledgement_task(ticket_id))
    return ticket


def _ack_text(ticket: Ticket) -> str:
    return (
        f"Thank you for contacting {ticket.org.name}.\n\n"
        f"We received your request “{ticket.subject}” and gave it the number #{ticket.number}. "
        "We will answer you by email; reply to this message to add anything.\n"
    )


@db_task()
def send_acknowledgement_task(ticket_id: int, attempt: int = 0) -> None:
    """Email the requester that their request arrived, with its number in the subject (so an answer
    threads onto the ticket). Marked Auto-Submitted: auto-replied."""
    ticket = Ticket.objects.select_related("org").filter(pk=ticket_id, deleted_at__isnull=True).first()
    if ticket is None:
        return
    try:
        send_support_email(
            ticket, subject=reply_subject(ticket), body=_ack_text(ticket), html=None, auto_submitted="auto-replied"
        )
    except SendFailure as exc:
        if exc.transient and attempt < len(RETRY_DELAYS):
            send_acknowledgement_task.schedule(
                args=(ticket_id,), kwargs={"attempt": attempt + 1}, delay=RETRY_DELAYS[attempt]
            )
