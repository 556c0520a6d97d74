"""Satisfaction surveys (CSAT): when a ticket is solved its requester gets one email with five
one-click rating links (1 = very dissatisfied … 5 = very satisfied) to /support/rate/<token>/.

- The token is `django.core.signing` of the survey id with SALT (so a token of another feature
  never passes) and expires after TOKEN_MAX_AGE; a forged, altered or expired token finds nothing.
- One answer per ticket: the survey row is unique per ticket, and the rating is written by a
  conditional UPDATE (`rating IS NULL`), so a second click, a reused link or two clicks at once
  record only the first. The optional comment is written the same way (once, after the rating).
- The rating is recorded as the event `ticket.csat_rated` on the ticket (by the workspace's system
  principal: the customer has no account).
- The email is sent at most once: the run whose conditional UPDATE sets `sent_at` sends it; a
  server that cannot be reached clears it again and the send is retried after RETRY_DELAYS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from huey.contrib.djhuey import db_task

from rapport.core.events import record_event
from rapport.integrations.outbound import SendFailure
from rapport.integrations.sending import RETRY_DELAYS
from rapport.service.models import CsatSurvey, Ticket
from rapport.service.system import system_principal
from rapport.service.ticket_mail import requester_address, send_support_email

log = logging.getLogger(__name__)

SALT = "rapport.service.csat.v1"
TOKEN_MAX_AGE = timedelta(days=90)
COMMENT_MAX = 5000
LABELS = {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral", 4: "Satisfied", 5: "Very satisfied"}


# --- tokens -------------------------------------------------------------------------------------


def survey_token(survey_id: int) -> str:
    """The signed token of a survey's rating links."""
    return signing.dumps(survey_id, salt=SALT, compress=False)


def survey_for_token(token: str) -> CsatSurvey | None:
    """The survey a valid token names; None for a forged, altered or expired token (or a gone survey)."""
    try:
        survey_id = signing.loads(token, salt=SALT, max_age=TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(survey_id, int) or isinstance(survey_id, bool):
        return None
    return (
        CsatSurvey.objects.select_related("ticket", "ticket__org")
        .filter(pk=survey_id, ticket__deleted_at__isnull=True)
        .first()
    )


def rating_url(survey_id: int, rating: int) -> str:
    """The absolute one-click link for one rating."""
    path = reverse("support:rate", args=[survey_token(survey_id)])
    return f"{settings.BASE_URL}{path}?rating={rating}"


# --- sending ------------------------------------------------------------------------------------


def csat_on_solved(ticket_id: int) -> None:
    """Make the ticket's survey (once per ticket) and enqueue its email, unless it was sent or
    answered already or the requester has no address. Called on commit of the solving write."""
    ticket = Ticket.objects.filter(pk=ticket_id, deleted_at__isnull=True).first()
    if ticket is None or not requester_address(ticket):
        return
    survey, _created = CsatSurvey.objects.get_or_create(ticket=ticket, defaults={"org_id": ticket.org_id})
    if survey.sent_at is None and survey.answered_at is None:
        send_survey_task(survey.pk)


def _text(ticket: Ticket, links: list[tuple[int, str]]) -> str:
    lines = [
        f"Your request “{ticket.subject}” [#{ticket.number}] was solved.",
        "",
        "How would you rate the support you received? One click is enough:",
        "",
        *(f"{rating} - {LABELS[rating]}: {url}" for rating, url in links),
    ]
    return "\n".join(lines)


def _html(ticket: Ticket, links: list[tuple[int, str]]) -> str:
    buttons = format_html_join(
        " ",
        '<a href="{}" style="display:inline-block;padding:8px 14px;margin:2px;border:1px solid #888;'
        'border-radius:6px;text-decoration:none;color:#222">{} - {}</a>',
        ((url, rating, LABELS[rating]) for rating, url in links),
    )
    return format_html(
        "<p>Your request “{}” [#{}] was solved.</p><p>How would you rate the support you received? "
        "One click is enough:</p><p>{}</p>",
        ticket.subject,
        ticket.number,
        buttons,
    )


def survey_send(*, survey_id: int, attempt: int = 0) -> int | None:
    """Claim and send one survey email; the delay before the next attempt when the server could
    not be reached (and attempts remain), else None."""
    if not CsatSurvey.objects.filter(pk=survey_id, sent_at__isnull=True, answered_at__isnull=True).update(
        sent_at=timezone.now()
    ):
        return None
    survey = CsatSurvey.objects.select_related("ticket", "ticket__org").get(pk=survey_id)
    ticket = survey.ticket
    links = [(rating, rating_url(survey.pk, rating)) for rating in LABELS]
    try:
        send_support_email(
            ticket,
            subject=f"How did we do? [#{ticket.number}]",
            body=_text(ticket, links),
            html=_html(ticket, links),
            auto_submitted="auto-generated",
        )
    except SendFailure as exc:
        CsatSurvey.objects.filter(pk=survey_id).update(sent_at=None)
        log.info("survey %s not sent: %s", survey_id, exc.message)
        if exc.transient and attempt < len(RETRY_DELAYS):
            return RETRY_DELAYS[attempt]
    return None


@db_task()
def send_survey_task(survey_id: int, attempt: int = 0) -> None:
    """Send one survey email once (see survey_send); retried later when the server is unreachable."""
    delay = survey_send(survey_id=survey_id, attempt=attempt)
    if delay is not None:
        send_survey_task.schedule(args=(survey_id,), kwargs={"attempt": attempt + 1}, delay=delay)


# --- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    recorded: bool  # this call wrote it; False: the survey was answered before
    survey: CsatSurvey


@transaction.atomic
def csat_rate(*, survey: CsatSurvey, rating: int) -> Answer:
    """Record the rating (1 to 5) of a survey unless it is answered already; the event
    `ticket.csat_rated` goes with it. ValueError for a rating outside 1 to 5."""
    if rating not in LABELS:
        raise ValueError("rating must be 1 to 5")
    now = timezone.now()
    written = CsatSurvey.objects.filter(pk=survey.pk, rating__isnull=True).update(rating=rating, answered_at=now)
    survey.refresh_from_db()
    if written:
        record_event(
            system_principal(survey.org_id), "ticket.csat_rated", survey.ticket, {"csat_rating": [None, rating]}
        )
    return Answer(recorded=bool(written), survey=survey)


@transaction.atomic
def csat_comment(*, survey: CsatSurvey, comment: str) -> bool:
    """Add the optional comment to a rated survey, once; False when there was none to add or it was
    already added (or the survey is not rated)."""
    text = comment.replace("\x00", "").strip()[:COMMENT_MAX]
    if not text:
        return False
    written = CsatSurvey.objects.filter(pk=survey.pk, rating__isnull=False, comment="").update(comment=text)
    if written:
        survey.refresh_from_db()
        record_event(
            system_principal(survey.org_id), "ticket.csat_commented", survey.ticket, {"csat_comment": [None, text]}
        )
    return bool(written)
