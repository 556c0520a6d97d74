"""`rapport demo` gives the demo workspace a service desk: a business calendar, queues with routing
rules, SLA policies, canned replies, support tiers, and a ticket history whose threads, statuses,
SLA fields, breaches and ratings agree with each other and with the SLA engine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.db.models import Count, F, Max, Min
from django.test import override_settings
from django.utils import timezone

from rapport.accounts import demo as accounts_demo
from rapport.accounts.demo import DEMO_STEPS, build_demo
from rapport.accounts.models import Membership, Organization
from rapport.contacts.models import Company
from rapport.core import fulltext
from rapport.core.models import Event, SearchEntry
from rapport.core.principal import Principal
from rapport.sales.demo import add_demo_sales
from rapport.sales.order_services import next_number
from rapport.service import sla
from rapport.service.canned_services import canned_reply_render
from rapport.service.demo import add_demo_service
from rapport.service.models import (
    UNSOLVED,
    BusinessCalendar,
    CannedReply,
    CsatSurvey,
    Queue,
    QueueMember,
    RoutingRule,
    SlaBreach,
    SlaPolicy,
    Ticket,
    TicketLink,
    TicketMessage,
)
from rapport.service.sla_scan import sla_scan

SCALE = 0.3  # 1,500 tickets: enough for a backlog of open tickets whatever the day


def _admin(org: Organization) -> Principal:
    membership = Membership.objects.select_related("user", "org").get(org=org, user__email="admin@example.com")
    return Principal.for_membership(membership)


@pytest.fixture
def org(db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Organization]:
    """The demo workspace with its service desk at SCALE (the other steps at the suite's scale)."""
    monkeypatch.setattr(accounts_demo, "DEMO_STEPS", [s for s in DEMO_STEPS if s is not add_demo_service])
    workspace = build_demo().org
    with override_settings(DEMO_SCALE=SCALE):
        add_demo_service(_admin(workspace))
    yield workspace


def test_the_demo_step_runs_after_the_sales_step():
    assert DEMO_STEPS.index(add_demo_sales) < DEMO_STEPS.index(add_demo_service)


def test_the_demo_service_desk_is_configured(org: Organization):
    calendar = BusinessCalendar.objects.get(org=org)
    assert calendar.time_zone == "America/New_York"  # the demo workspace is in the US
    assert sorted(calendar.hours) == ["0", "1", "2", "3", "4"] and calendar.hours["0"] == [["09:00", "17:00"]]
    assert calendar.holidays.filter(name="Thanksgiving").count() >= 3
    assert not [d for d in calendar.holidays.values_list("date", flat=True) if d.weekday() >= 5]
    queues = Queue.objects.filter(org=org)
    assert sorted(queues.values_list("name", flat=True)) == ["Billing", "Support", "Technical"]
    assert queues.get(is_default=True).name == "Support"
    assert not queues.filter(team__isnull=True).exists() and not queues.filter(manager__isnull=True).exists()
    support = Membership.objects.get(org=org, role="support").user_id
    for queue in queues:
        assert support in QueueMember.objects.filter(queue=queue).values_list("user_id", flat=True)
    rules = RoutingRule.objects.filter(org=org)
    assert rules.get(types=["incident", "problem"]).queue.name == "Technical"
    assert rules.filter(queue__name="Billing").exists()
    policies = list(SlaPolicy.objects.filter(org=org).order_by("position"))
    assert [p.name for p in policies] == ["Urgent", "Premium and enterprise", "Standard"]
    targets = [
        (p.first_response_minutes or 0, p.next_response_minutes or 0, p.resolution_minutes or 0) for p in policies
    ]
    assert all(p.business_hours for p in policies) and all(0 < f < n < r for f, n, r in targets)
    assert targets[0][0] < targets[1][0] < targets[2][0]  # urgent fastest, standard slowest
    assert set(Company.objects.filter(org=org).values_list("support_tier", flat=True)) >= {"standard", "premium"}
    # The canned replies render with the ticket's and the agent's merge fields.
    replies = list(CannedReply.objects.filter(org=org))
    assert 8 <= len(replies) <= 10 and all(r.owner_id is None for r in replies)
    ticket = Ticket.objects.filter(org=org, contact__first_name__gt="").select_related("contact").first()
    assert ticket is not None and ticket.contact is not None
    admin = _admin(org)
    for reply in replies:
        body = canned_reply_render(reply=reply, ticket=ticket, agent=admin)
        assert "{{" not in body and body.startswith(f"Hi {ticket.contact.first_name},")


def test_the_demo_tickets_are_numbered_threaded_and_dated_consistently(org: Organization):
    tickets = Ticket.objects.filter(org=org)
    count = tickets.count()
    assert count == round(5_000 * SCALE)
    numbers = sorted(tickets.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + count))  # one block, in arrival order
    assert next_number(org.pk, kind="ticket") == numbers[-1] + 1  # the next ticket continues the sequence
    rows = list(tickets.order_by("number").values_list("created_at", flat=True))
    assert rows == sorted(rows) and rows[0] < timezone.now() - timedelta(days=600)
    # Threads of 1 to 6 messages, opened by the customer's message when the ticket was created.
    threads = tickets.annotate(n=Count("messages"), first=Min("messages__created_at"))
    assert {t.n for t in threads} <= set(range(1, 7)) and {2, 3, 4, 5, 6} <= {t.n for t in threads}
    assert all(t.first == t.created_at for t in threads)
    openers: dict[int, str] = {}
    for ticket_id, kind in (
        TicketMessage.objects.filter(org=org).order_by("created_at", "id").values_list("ticket_id", "kind")
    ):
        openers.setdefault(ticket_id, kind)
    assert set(openers.values()) == {"customer"} and len(openers) == count
    assert set(TicketMessage.objects.filter(org=org).values_list("kind", flat=True)) == {"customer", "reply", "note"}
    assert not TicketMessage.objects.filter(org=org, created_at__lt=F("ticket__created_at")).exists()
    last = dict(tickets.annotate(last=Max("messages__created_at")).values_list("pk", "last"))
    for t in tickets.exclude(status__in=UNSOLVED):
        assert t.solved_at is not None and t.solved_at == last[t.pk]  # the solving reply is the last message
        assert t.first_responded_at is not None and t.first_responded_at <= t.solved_at
        assert t.status != "closed" or (t.closed_at is not None and t.closed_at > t.solved_at)
        assert t.sla_check_at is None and t.sla_paused_at is None and t.resolution_due_at is None
    assert not tickets.filter(status__in=UNSOLVED, solved_at__isnull=False).exists()
    statuses = Counter(tickets.values_list("status", flat=True))
    assert statuses["closed"] > count * 0.9 and sum(statuses[s] for s in UNSOLVED) >= 1
    assert not tickets.filter(status__in=UNSOLVED, created_at__lt=timezone.now() - timedelta(days=120))
    assert {"email", "web", "chat", "phone", "api"} == set(tickets.values_list("channel", flat=True))
    assert {"low", "normal", "high", "urgent"} == set(tickets.values_list("priority", flat=True))
    assert not tickets.filter(type__in=["incident", "problem"]).exclude(queue__name="Technical").exists()
    assert not tickets.filter(company__isnull=False).exclude(contact__company_id=F("company_id")).exists()
    assert TicketLink.objects.filter(org=org, kind="duplicate_of").exists()
    assert TicketLink.objects.filter(org=org, kind="related", other__type="problem").exists()
    tags = Counter(tag for row in tickets.values_list("tags", flat=True) for tag in row)
    assert tags["billing"] >= 1 and tags["duplicate"] >= 1


def test_the_demo_sla_fields_agree_with_the_sla_engine(org: Organization):
    before = timezone.now()
    tickets = list(Ticket.objects.filter(org=org).select_related("sla_policy", "company", "contact"))
    for t in tickets:
        assert sla.policy_for(t) == t.sla_policy  # the policy the engine would pick
        # The check moment a write leaves: the earliest warning moment of the unmet targets.
        assert t.sla_check_at == sla.next_check(t, t.sla_policy)
        if t.status == "pending":
            assert t.sla_paused_at is not None and t.resolution_due_at is not None
        elif t.status in UNSOLVED:
            assert t.sla_check_at is not None and t.resolution_due_at is not None
            assert (t.first_response_due_at is None) == (t.first_responded_at is not None)
    # Every breach row is a target that was really missed.
    messages: dict[int, list[tuple[str, datetime]]] = {}
    for ticket_id, kind, at in (
        TicketMessage.objects.filter(org=org)
        .order_by("created_at", "id")
        .values_list("ticket_id", "kind", "created_at")
    ):
        messages.setdefault(ticket_id, []).append((kind, at))
    by_id = {t.pk: t for t in tickets}
    breaches = SlaBreach.objects.filter(org=org, stage="breached")
    for row in breaches:
        t = by_id[row.ticket_id]
        assert row.policy_id == t.sla_policy_id and row.detected_at >= row.due_at
        if row.metric == "first_response":
            assert t.first_responded_at is None or t.first_responded_at >= row.due_at
        elif row.metric == "resolution":
            assert (t.solved_at or t.sla_paused_at or before) >= row.due_at
        else:  # the reply after the customer's message that started the timer came late (or not yet)
            asked = max(at for kind, at in messages[t.pk] if kind == "customer" and at < row.due_at)
            answer = [at for kind, at in messages[t.pk] if kind == "reply" and at > asked]
            assert not answer or answer[0] >= row.due_at
    assert 0.08 <= breaches.values("ticket").distinct().count() / len(tickets) <= 0.2
    assert set(breaches.values_list("metric", flat=True)) == {"first_response", "next_response", "resolution"}
    # The breach scan finds every target already recorded: nothing new, no escalation.
    # (Which open tickets are due for a check depends on the time of day the demo ran at.)
    due = Ticket.objects.filter(org=org, sla_check_at__lte=before).count()
    report = sla_scan(now=before)
    assert report.checked == due and report.breaches == 0 and report.warnings == 0 and report.escalated == 0
    assert not Event.objects.filter(org=org, verb__startswith="ticket.sla").exists()


def test_the_demo_ratings_are_on_solved_tickets_only(org: Organization):
    surveys = CsatSurvey.objects.filter(org=org).select_related("ticket")
    assert not surveys.exclude(ticket__status__in=["solved", "closed"]).exists()
    rated = surveys.filter(rating__isnull=False)
    assert set(rated.values_list("rating", flat=True)) == {1, 2, 3, 4, 5}
    for survey in surveys:
        assert survey.sent_at is not None and survey.ticket.solved_at is not None
        assert survey.sent_at >= survey.ticket.solved_at
        assert survey.rating is None or (survey.answered_at is not None and survey.answered_at >= survey.sent_at)
    solved = Ticket.objects.filter(org=org, status__in=["solved", "closed"]).count()
    assert 0.3 <= rated.count() / solved <= 0.5
    ratings = Counter(rated.values_list("rating", flat=True))
    assert ratings[4] + ratings[5] > 0.7 * rated.count()
    assert rated.exclude(comment="").exists()


def test_the_demo_tickets_have_events_and_are_found_by_global_search(org: Organization):
    tickets = Ticket.objects.filter(org=org)
    created = dict(tickets.values_list("pk", "created_at"))
    events = Event.objects.filter(org=org, verb="ticket.created").values_list("subject_id", "created_at")
    assert len(events) == len(created) and all(created[pk] == at for pk, at in events)
    assert SearchEntry.objects.filter(org=org, kind="ticket").count() == len(created)
    ticket = tickets.order_by("-number").first()
    assert ticket is not None
    hits = fulltext.search_entries(org_id=org.pk, q=str(ticket.number), kinds=["ticket"])
    assert ticket.pk in [hit.object_id for hit in hits]


def test_the_demo_run_twice_adds_no_more_tickets(db):
    org = build_demo().org
    counts = (Ticket.objects.filter(org=org).count(), Queue.objects.filter(org=org).count())
    assert counts[0] >= 1
    build_demo()
    assert (Ticket.objects.filter(org=org).count(), Queue.objects.filter(org=org).count()) == counts
