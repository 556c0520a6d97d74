"""Satisfaction surveys: one email with five one-click links when a ticket is solved; a link that is
forged or reused records nothing; one answer per ticket."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from rapport.core.models import Event
from rapport.service import csat
from rapport.service.models import CsatSurvey, TicketStatus
from rapport.service.tests.ticket_support import new_ticket
from rapport.service.ticket_services import ticket_set_status


@pytest.fixture
def solved(org, admin, workspace_smtp, django_capture_on_commit_callbacks):
    ticket = new_ticket(admin, "Printer on fire", requester_email="jane@client.example")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(actor=admin, ticket=ticket, status=TicketStatus.SOLVED)
    return ticket


def _links(smtp) -> list[str]:
    (message,) = smtp.messages
    return re.findall(r"http://\S+/support/rate/\S+?rating=\d", message.get_body(("plain",)).get_content())


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_solving_a_ticket_emails_five_one_click_rating_links(solved, workspace_smtp):
    (message,) = workspace_smtp.messages
    assert str(message["To"]) == "jane@client.example"
    assert str(message["Subject"]) == f"How did we do? [#{solved.number}]"
    assert str(message["Auto-Submitted"]) == "auto-generated"
    links = _links(workspace_smtp)
    assert [link[-1] for link in links] == ["1", "2", "3", "4", "5"]
    survey = CsatSurvey.objects.get(ticket=solved)
    assert survey.sent_at is not None and survey.rating is None


def test_one_click_records_the_rating_and_an_event_on_the_ticket(solved, workspace_smtp):
    page = Client().get(_path(_links(workspace_smtp)[3]))

    assert page.status_code == 200 and b"is recorded" in page.content
    survey = CsatSurvey.objects.get(ticket=solved)
    assert survey.rating == 4 and survey.answered_at is not None
    event = Event.objects.get(verb="ticket.csat_rated")
    assert event.subject_id == solved.pk and event.changes == {"csat_rating": [None, 4]}


def test_a_reused_link_says_already_answered_and_changes_nothing(solved, workspace_smtp):
    links = _links(workspace_smtp)
    Client().get(_path(links[4]))

    again = Client().get(_path(links[0]))

    assert again.status_code == 200 and b"already answered" in again.content
    assert CsatSurvey.objects.get(ticket=solved).rating == 5
    assert Event.objects.filter(verb="ticket.csat_rated").count() == 1


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "1:abc:def",
        signing.dumps(1),  # signed, but without the survey salt
    ],
)
def test_a_forged_token_is_a_clear_404_and_records_nothing(solved, token):
    page = Client().get(f"/support/rate/{token}/?rating=5")

    assert page.status_code == 404 and b"not valid" in page.content
    assert CsatSurvey.objects.get(ticket=solved).rating is None


def test_an_altered_token_is_rejected(solved, workspace_smtp):
    survey = CsatSurvey.objects.get(ticket=solved)
    token = csat.survey_token(survey.pk)
    altered = token.replace(token.split(":")[0], signing.dumps(survey.pk + 1, salt=csat.SALT).split(":")[0], 1)

    page = Client().get(f"/support/rate/{altered}/?rating=1")

    assert page.status_code == 404 and CsatSurvey.objects.get(pk=survey.pk).rating is None


def test_the_optional_comment_is_kept_once_and_csrf_protected_without_login(solved, workspace_smtp):
    client = Client(enforce_csrf_checks=True)
    path = _path(_links(workspace_smtp)[2])
    page = client.get(path)
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert found is not None
    token = found.group(1).decode()
    rate_path = path.split("?")[0]

    refused = Client(enforce_csrf_checks=True).post(rate_path, {"comment": "forged"})
    sent = client.post(rate_path, {"comment": "Fast and friendly.", "csrfmiddlewaretoken": token})
    second = client.post(rate_path, {"comment": "Changed my mind.", "csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert sent.status_code == 200 and b"Thank you for your comment" in sent.content
    assert second.status_code == 200
    survey = CsatSurvey.objects.get(ticket=solved)
    assert (survey.rating, survey.comment) == (3, "Fast and friendly.")


def test_prefetch_and_bad_ratings_record_nothing(solved, workspace_smtp):
    path = _path(_links(workspace_smtp)[0])
    base = path.split("?")[0]

    prefetched = Client().get(path, headers={"Sec-Purpose": "prefetch"})
    bad = Client().get(f"{base}?rating=9")
    words = Client().get(f"{base}?rating=abc")

    assert {prefetched.status_code, bad.status_code, words.status_code} == {200}
    assert CsatSurvey.objects.get(ticket=solved).rating is None


def test_solving_again_sends_no_second_survey(solved, admin, workspace_smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(actor=admin, ticket=solved, status=TicketStatus.OPEN)
        ticket_set_status(actor=admin, ticket=solved, status=TicketStatus.SOLVED)

    assert len(workspace_smtp.messages) == 1 and CsatSurvey.objects.count() == 1


def test_two_answers_at_once_record_one(solved):
    survey = CsatSurvey.objects.get(ticket=solved)

    first = csat.csat_rate(survey=CsatSurvey.objects.get(pk=survey.pk), rating=2)
    second = csat.csat_rate(survey=CsatSurvey.objects.get(pk=survey.pk), rating=5)

    assert first.recorded and not second.recorded
    assert CsatSurvey.objects.get(pk=survey.pk).rating == 2


def test_a_ticket_without_a_requester_address_gets_no_survey(org, admin, workspace_smtp):
    ticket = new_ticket(admin, requester_email="")
    csat.csat_on_solved(ticket.pk)

    assert CsatSurvey.objects.count() == 0 and workspace_smtp.messages == []
