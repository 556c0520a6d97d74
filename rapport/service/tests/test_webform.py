"""The public "contact support" form: a ticket and a contact from a submission, an acknowledgement
with the number, and no ticket from bots, floods or bad input."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from rapport.accounts.models import Membership
from rapport.contacts.models import ContactEmail
from rapport.service.models import Ticket

VALID = {
    "name": "Jane Client",
    "email": "jane@client.example",
    "subject": "Printer on fire",
    "message": "It is on fire.",
    "type": "incident",
}


@pytest.fixture(autouse=True)
def _fresh_counts(db):
    cache.clear()  # the rate limits count in the (database) cache, which outlives a test's transaction
    yield
    cache.clear()


def _post(org, data=None, ip="203.0.113.7", client=None):
    return (client or Client()).post(f"/support/{org.slug}/", data or VALID, REMOTE_ADDR=ip)


def test_the_form_is_public(org):
    page = Client().get(f"/support/{org.slug}/")

    assert page.status_code == 200 and b"Contact Acme support" in page.content
    assert page["X-Robots-Tag"] == "noindex, nofollow"


def test_an_unknown_workspace_is_a_404(db):
    assert Client().get("/support/nobody-here/").status_code == 404


def test_a_request_makes_a_ticket_and_a_contact_and_is_acknowledged(
    org, admin, workspace_smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = _post(org)

    ticket = Ticket.objects.get(org=org)
    assert answer.status_code == 302
    page = Client().get(answer["Location"])
    assert f"#{ticket.number}".encode() in page.content
    assert (ticket.channel, ticket.subject, ticket.type) == ("web", "Printer on fire", "incident")
    assert ticket.messages.get().body == "It is on fire."
    assert ContactEmail.objects.filter(contact=ticket.contact, email="jane@client.example").exists()
    assert ticket.contact is not None and ticket.contact.first_name == "Jane"
    (ack,) = workspace_smtp.messages
    assert str(ack["To"]) == "jane@client.example" and f"[#{ticket.number}]" in str(ack["Subject"])
    assert str(ack["Auto-Submitted"]) == "auto-replied"


def test_a_known_contact_is_reused(org, admin):
    from rapport.integrations.tests.mailbox_support import make_contact

    jane = make_contact(admin, "jane@client.example")

    _post(org)

    assert Ticket.objects.get(org=org).contact_id == jane.pk


def test_the_honeypot_looks_like_success_and_creates_nothing(org, admin):
    answer = _post(org, {**VALID, "website": "http://spam.example"})

    assert answer.status_code == 302 and Client().get(answer["Location"]).status_code == 200
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not an address"}, b"email"),
        ({"message": "   "}, b"message"),
        ({"subject": "x" * 300}, b"subject"),
        ({"type": "bogus"}, b"type"),
        ({"name": ""}, b"name"),
    ],
)
def test_bad_input_shows_form_errors_and_creates_nothing(org, admin, change, field):
    answer = _post(org, {**VALID, **change})

    assert answer.status_code == 400 and b'class="error"' in answer.content
    assert not Ticket.objects.exists()


def test_a_flood_from_one_address_is_rate_limited(org, admin):
    answers = [_post(org, {**VALID, "email": f"p{n}@client.example"}) for n in range(7)]

    assert [a.status_code for a in answers] == [302] * 5 + [429] * 2
    assert b"Too many requests" in answers[-1].content
    assert Ticket.objects.count() == 5
    assert _post(org, ip="198.51.100.9").status_code == 302  # another address is not held up


def test_a_flood_for_one_sender_is_rate_limited_whatever_the_ip(org, admin):
    answers = [_post(org, ip=f"198.51.100.{n}") for n in range(7)]

    assert [a.status_code for a in answers] == [302] * 5 + [429] * 2
    assert Ticket.objects.count() == 5


def test_the_form_is_csrf_protected_without_login(org, admin):
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/support/{org.slug}/")
    token = page.context["csrf_token"]

    refused = _post(org, client=Client(enforce_csrf_checks=True))
    accepted = _post(org, {**VALID, "csrfmiddlewaretoken": str(token)}, client=client)

    assert refused.status_code == 403 and accepted.status_code == 302
    assert Ticket.objects.count() == 1


def test_a_workspace_without_an_active_admin_answers_with_an_error_not_a_crash(org, admin):
    Membership.objects.filter(org=org).update(is_active=False)

    answer = _post(org)

    assert answer.status_code == 409 and not Ticket.objects.exists()


def test_a_forged_confirmation_is_a_404(org):
    assert Client().get(f"/support/{org.slug}/sent/1001/").status_code == 404


def test_each_workspace_gets_its_own_tickets(org, admin, other_org, other_admin):
    _post(other_org)

    assert not Ticket.objects.filter(org=org).exists()
    assert Ticket.objects.get(org=other_org).number >= 1
