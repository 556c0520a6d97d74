"""The ticket write services: creation from every channel, updates, statuses, the conversation,
assignment, links and the trash — with their events, their validation and their access rules."""

from __future__ import annotations

import pytest

from rapport.accounts.models import Team
from rapport.accounts.roles import Mode, Role
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.customfields.definitions import custom_field_create
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event, SearchEntry
from rapport.service import csat, ticket_mail, ticket_services
from rapport.service.models import MessageKind, Queue, SendStatus, Ticket, TicketLink, TicketMessage
from rapport.service.system import NoActiveAdmin, system_principal
from rapport.service.tests.ticket_support import fields_of, in_team, make_queue, new_ticket
from rapport.service.ticket_selectors import access_ticket
from rapport.testing.factories import MembershipFactory, make_principal


def _verbs(ticket):
    return list(
        Event.objects.filter(subject_type="ticket", subject_id=ticket.pk).order_by("id").values_list("verb", flat=True)
    )


@pytest.fixture
def sent(monkeypatch):
    """The ids handed to the reply mailer and to the survey (run on commit)."""
    calls: dict[str, list[int]] = {"replies": [], "surveys": []}
    monkeypatch.setattr(ticket_mail, "send_reply_task", calls["replies"].append)
    monkeypatch.setattr(csat, "csat_on_solved", calls["surveys"].append)
    return calls


# --- create -------------------------------------------------------------------------------------


def test_a_ticket_by_email_finds_or_makes_its_requester_and_numbers_from_1001(admin, org):
    company = CompanyFactory.create(org=org, name="Acme")
    ada = contact_with(org, email="ada@example.org", first_name="Ada", company=company)
    first = new_ticket(admin, requester_email="ADA@example.org")
    second = new_ticket(admin, "Second", requester_email="new.person@example.org", requester_name="New Person")

    assert (first.number, second.number) == (1001, 1002)
    assert first.contact == ada and first.company == company and first.requester_email == "ada@example.org"
    made = Contact.objects.get(email="new.person@example.org")
    assert second.contact == made and (made.first_name, made.last_name) == ("New", "Person")
    message = TicketMessage.objects.get(ticket=first)
    assert (message.kind, message.body, message.contact_id) == (MessageKind.CUSTOMER, "It is on fire.", ada.pk)
    assert first.status == "new" and first.last_customer_message_at == message.created_at
    assert _verbs(first) == ["ticket.created"]
    assert SearchEntry.objects.get(kind="ticket", object_id=first.pk).title == "#1001 Printer on fire"


def test_the_same_received_message_never_makes_a_second_ticket(admin):
    mail = {"message_id": "<abc@mail.example>", "email_from": "ada@example.org"}
    one = ticket_services.ticket_create(actor=admin, data={"subject": "Hi"}, channel="email", message=mail)
    again = ticket_services.ticket_create(actor=admin, data={"subject": "Hi"}, channel="email", message=mail)
    assert again.pk == one.pk and Ticket.objects.count() == 1
    assert TicketMessage.objects.get().message_id == "<abc@mail.example>"


def test_bad_input_names_every_field_and_creates_nothing(admin):
    with pytest.raises(ValidationFailed) as caught:
        ticket_services.ticket_create(
            actor=admin,
            data={
                "subject": " ",
                "priority": "asap",
                "type": 7,
                "queue_id": 999,
                "assignee_id": "x",
                "contact_id": 123456,
                "tags": "vip",
                "requester_email": "not an address",
                "colour": "red",
            },
        )
    assert set(caught.value.fields) == {
        "subject", "priority", "type", "queue_id", "assignee_id", "contact_id", "tags", "requester_email", "colour"
    }  # fmt: skip
    assert not Ticket.objects.exists() and not Contact.objects.exists() and not Event.objects.exists()
    with pytest.raises(ValidationFailed):
        ticket_services.ticket_create(actor=admin, data={"subject": "Hi"}, channel="fax")


def test_custom_fields_are_checked_like_every_other_field(admin):
    custom_field_create(
        actor=admin,
        data={"entity": "ticket", "label": "Severity", "type": "choice", "options": ["S1", "S2"], "required": True},
    )
    with pytest.raises(ValidationFailed) as caught:
        new_ticket(admin)
    assert caught.value.fields == {"custom.severity": "Required."}
    with pytest.raises(ValidationFailed) as caught:
        new_ticket(admin, custom={"severity": "S9"})
    assert "custom.severity" in caught.value.fields
    ticket = new_ticket(admin, custom={"severity": "S1"})
    assert ticket.custom == {"severity": "S1"}


def test_a_queue_without_an_assignee_assigns_inside_the_queue_and_gives_its_team(admin, org, member_of):
    team = Team.objects.create(org=org, name="Tier 1")
    agent = in_team(org, Role.SUPPORT, team)
    queue = make_queue(org, "Billing", team=team, members=(agent,))
    ticket = new_ticket(admin, queue_id=queue.pk)
    assert (ticket.queue, ticket.team, ticket.owner) == (queue, team, agent.user)


def test_without_a_queue_the_default_queue_takes_the_ticket(admin, org):
    queue = Queue.objects.create(org=org, name="Everything", is_default=True)
    assert new_ticket(admin).queue == queue


def test_a_ticket_made_solved_is_dated_and_surveyed_once_committed(admin, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket(admin, status="solved")
    assert ticket.solved_at is not None and sent["surveys"] == [ticket.pk]


# --- update and status ---------------------------------------------------------------------------


def test_an_update_changes_only_what_it_names_and_refuses_a_stale_version(admin):
    ticket = new_ticket(admin, tags=["printer"])
    updated = ticket_services.ticket_update(
        actor=admin,
        ticket=ticket,
        data={"priority": "high", "tags": ["printer", "Printer", "fire"]},
        expected_version=1,
    )
    assert (updated.priority, updated.tags, updated.subject, updated.version) == (
        "high",
        ["printer", "fire"],
        ticket.subject,
        2,
    )
    event = Event.objects.get(verb="ticket.updated")
    assert event.changes == {"priority": ["normal", "high"], "tags": [["printer"], ["printer", "fire"]]}
    before = fields_of(ticket)
    with pytest.raises(StaleVersion):
        ticket_services.ticket_update(actor=admin, ticket=ticket, data={"subject": "Late"}, expected_version=1)
    assert fields_of(ticket) == before


def test_statuses_move_forward_solved_is_dated_and_closed_is_final(admin, sent, django_capture_on_commit_callbacks):
    ticket = new_ticket(admin)
    with pytest.raises(ValidationFailed):
        ticket_services.ticket_set_status(actor=admin, ticket=ticket, status="done")
    ticket = ticket_services.ticket_set_status(actor=admin, ticket=ticket, status="open")
    with pytest.raises(ValidationFailed):
        ticket_services.ticket_set_status(actor=admin, ticket=ticket, status="new")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_services.ticket_set_status(actor=admin, ticket=ticket, status="solved")
    assert ticket.solved_at is not None and sent["surveys"] == [ticket.pk]
    ticket = ticket_services.ticket_update(actor=admin, ticket=ticket, data={"status": "open"})
    assert ticket.solved_at is None
    ticket = ticket_services.ticket_set_status(actor=admin, ticket=ticket, status="closed")
    assert ticket.closed_at is not None and ticket.solved_at is not None
    before = fields_of(ticket)
    for write in (
        lambda: ticket_services.ticket_set_status(actor=admin, ticket=ticket, status="open"),
        lambda: ticket_services.ticket_update(actor=admin, ticket=ticket, data={"priority": "low"}),
        lambda: ticket_services.ticket_reply(actor=admin, ticket=ticket, body="Hello?"),
    ):
        with pytest.raises(Conflict):
            write()
    assert fields_of(ticket) == before
    assert _verbs(ticket).count("ticket.status_changed") == 4


# --- conversation --------------------------------------------------------------------------------


def test_a_public_reply_is_queued_to_the_requester_and_answers_the_ticket(
    admin, sent, django_capture_on_commit_callbacks
):
    ticket = ticket_services.ticket_create(
        actor=admin,
        data={"subject": "Hi", "requester_email": "ada@example.org", "description": "Help"},
        channel="email",
        message={"message_id": "<q1@mail.example>"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply = ticket_services.ticket_reply(actor=admin, ticket=ticket, body="On it.")
    assert (reply.kind, reply.email_to, reply.send_status, reply.in_reply_to) == (
        MessageKind.REPLY, ["ada@example.org"], SendStatus.QUEUED, "<q1@mail.example>"
    )  # fmt: skip
    assert sent["replies"] == [reply.pk]
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.first_responded_at == reply.created_at == ticket.last_agent_reply_at
    reply = ticket_services.ticket_reply(actor=admin, ticket=ticket, body="Fixed.", status="solved")
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    with pytest.raises(ValidationFailed):
        ticket_services.ticket_reply(actor=admin, ticket=ticket, body="   ")


def test_a_reply_without_any_address_is_stored_and_not_sent(admin, sent, django_capture_on_commit_callbacks):
    ticket = ticket_services.ticket_create(actor=admin, data={"subject": "Phone call"}, channel="phone")
    with django_capture_on_commit_callbacks(execute=True):
        reply = ticket_services.ticket_reply(actor=admin, ticket=ticket, body="Called back.")
    assert reply.send_status == "" and reply.email_to == [] and sent["replies"] == []


def test_a_note_is_internal_and_allowed_on_a_closed_ticket(admin, sent, django_capture_on_commit_callbacks):
    ticket = ticket_services.ticket_set_status(actor=admin, ticket=new_ticket(admin), status="closed")
    with django_capture_on_commit_callbacks(execute=True):
        note = ticket_services.ticket_note(actor=admin, ticket=ticket, body="Customer called, all good")
    assert note.kind == MessageKind.NOTE and note.send_status == "" and sent["replies"] == []
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version and "ticket.noted" in _verbs(ticket)


@pytest.mark.parametrize("status", ["solved", "pending", "on_hold"])
def test_a_customer_message_reopens_the_ticket(admin, status):
    ticket = ticket_services.ticket_set_status(actor=admin, ticket=new_ticket(admin), status=status)
    message = ticket_services.ticket_customer_message(
        actor=admin, ticket=ticket, body="Still broken", channel="email", message_id="<r1@mail.example>"
    )
    ticket.refresh_from_db()
    assert (
        ticket.status == "open" and ticket.solved_at is None and ticket.last_customer_message_at == message.created_at
    )
    again = ticket_services.ticket_customer_message(
        actor=admin, ticket=ticket, body="Still broken", channel="email", message_id="<r1@mail.example>"
    )
    assert again.pk == message.pk and TicketMessage.objects.filter(kind="customer").count() == 2


def test_a_closed_ticket_refuses_customer_mail_and_keeps_nothing(admin):
    ticket = ticket_services.ticket_set_status(actor=admin, ticket=new_ticket(admin), status="closed")
    with pytest.raises(Conflict) as caught:
        ticket_services.ticket_customer_message(actor=admin, ticket=ticket, body="Hello", channel="email")
    assert caught.value.code == "ticket_closed" and TicketMessage.objects.count() == 1


# --- assignment, links, trash --------------------------------------------------------------------


def test_assigning_moves_the_ticket_and_its_team_and_refuses_members_who_cannot_work_on_it(admin, org, member_of):
    team = Team.objects.create(org=org, name="Tier 2")
    agent = in_team(org, Role.SUPPORT, team)
    queue = make_queue(org, "Escalations", team=team)
    ticket = new_ticket(admin)
    ticket = ticket_services.ticket_assign(actor=admin, ticket=ticket, assignee_id=agent.user_id, queue_id=queue.pk)
    assert (ticket.owner, ticket.queue, ticket.team) == (agent.user, queue, team)
    assert Event.objects.get(verb="ticket.assigned").changes["owner_id"] == [None, agent.user_id]
    viewer = member_of(Role.VIEWER)
    with pytest.raises(ValidationFailed) as caught:
        ticket_services.ticket_assign(actor=admin, ticket=ticket, assignee_id=viewer.user_id)
    assert "assignee_id" in caught.value.fields
    ticket = ticket_services.ticket_assign(actor=admin, ticket=ticket, assignee_id=None, queue_id=None)
    assert (ticket.owner, ticket.queue, ticket.team) == (None, None, None)


def test_links_join_two_tickets_once_and_never_a_ticket_to_itself(admin, other_admin):
    one, two = new_ticket(admin), new_ticket(admin, "Same again")
    ticket_services.ticket_link(actor=admin, ticket=two, other=one, kind="duplicate_of")
    ticket_services.ticket_link(actor=admin, ticket=two, other=one, kind="related")
    assert list(TicketLink.objects.values_list("kind", flat=True)) == ["related"]
    with pytest.raises(ValidationFailed):
        ticket_services.ticket_link(actor=admin, ticket=one, other=one, kind="related")
    with pytest.raises(ValidationFailed):
        ticket_services.ticket_link(actor=admin, ticket=one, other=new_ticket(other_admin), kind="related")
    ticket_services.ticket_unlink(actor=admin, ticket=one, other=two)  # whichever way it was made
    assert not TicketLink.objects.exists()
    with pytest.raises(NotFound):
        ticket_services.ticket_unlink(actor=admin, ticket=one, other=two)
    assert _verbs(two) == ["ticket.created", "ticket.linked", "ticket.linked"]


def test_a_trashed_ticket_leaves_search_and_reads(admin):
    ticket = new_ticket(admin)
    ticket_services.ticket_delete(actor=admin, ticket=ticket)
    assert not SearchEntry.objects.filter(kind="ticket").exists()
    with pytest.raises(NotFound):
        access_ticket(admin, ticket.pk)
    assert _verbs(ticket)[-1] == "ticket.deleted"


# --- access ---------------------------------------------------------------------------------------


def test_support_members_write_their_teams_tickets_only(admin, org):
    ours, theirs = Team.objects.create(org=org, name="Ours"), Team.objects.create(org=org, name="Theirs")
    agent = in_team(org, Role.SUPPORT, ours)
    mine = new_ticket(admin, queue_id=make_queue(org, "Q1", team=ours).pk)
    other = new_ticket(admin, queue_id=make_queue(org, "Q2", team=theirs).pk)
    assert ticket_services.ticket_note(actor=agent, ticket=access_ticket(agent, mine.pk, Mode.WRITE), body="ok")
    with pytest.raises(PermissionDenied):
        access_ticket(agent, other.pk, Mode.WRITE)
    before = fields_of(other)
    with pytest.raises(PermissionDenied):
        ticket_services.ticket_reply(actor=agent, ticket=other, body="Sneaky")
    assert fields_of(other) == before and not TicketMessage.objects.filter(ticket=other, kind="reply").exists()
    created = new_ticket(agent, queue_id=make_queue(org, "Q3", team=ours).pk)
    assert created.created_by == agent.user


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SALES, Role.MARKETING])
def test_roles_without_ticket_writes_cannot_create_or_change_tickets(admin, member_of, role):
    someone = member_of(role)
    ticket = new_ticket(admin)
    with pytest.raises(PermissionDenied):
        new_ticket(someone)
    with pytest.raises(PermissionDenied):
        ticket_services.ticket_update(actor=someone, ticket=ticket, data={"subject": "Mine"})
    assert Ticket.objects.count() == 1 and Ticket.objects.get().subject == "Printer on fire"


def test_marketing_cannot_even_read_tickets(admin, member_of):
    ticket = new_ticket(admin)
    with pytest.raises(NotFound):
        access_ticket(member_of(Role.MARKETING), ticket.pk)


def test_the_system_principal_is_the_longest_standing_active_admin(org, admin, member_of):
    member_of(Role.ADMIN)
    assert system_principal(org.pk).user == admin.user
    MembershipFactory._meta.model.objects.filter(pk=admin.membership_id).update(is_active=False)
    assert system_principal(org.pk).user != admin.user


def test_a_workspace_without_an_active_admin_has_no_system_principal(org):
    make_principal(org, Role.SUPPORT)
    with pytest.raises(NoActiveAdmin):
        system_principal(org.pk)
