"""Routing rules and assignment inside a queue: rule order and conditions, the default queue,
round robin and least-open tickets, away agents and inactive members, the queue lock."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.accounts.models import Membership, Organization
from rapport.service.models import Assignment, Queue, RoutingRule, Ticket, TicketStatus
from rapport.service.routing import assign_in_queue, route_ticket
from rapport.service.tests.engine_support import agent, away, company, contact, queue, team, ticket

pytestmark = pytest.mark.django_db


def rule(org: Organization, target: Queue, position: int, **conditions: object) -> RoutingRule:
    return RoutingRule.objects.create(org=org, name=f"rule {position}", position=position, queue=target, **conditions)


def test_first_matching_rule_by_position_wins_and_sets_the_team(org: Organization) -> None:
    billing = queue(org, "Billing", team=team(org, "Billing team"))
    urgent = queue(org, "Urgent")
    rule(org, urgent, 2, priorities=["urgent"])
    rule(org, billing, 1, types=["question"], channels=["email"])
    t = ticket(org, save=False, channel="email", type="question", priority="urgent")
    route_ticket(t)
    assert t.queue == billing
    assert t.team_id == billing.team_id is not None


def test_inactive_rules_and_rules_of_deleted_queues_are_skipped(org: Organization) -> None:
    gone = queue(org, "Gone", deleted_at=timezone.now())
    off = queue(org, "Off")
    on = queue(org, "On")
    rule(org, gone, 1)
    RoutingRule.objects.create(org=org, name="off", position=2, queue=off, active=False)
    rule(org, on, 3)
    t = ticket(org, save=False)
    route_ticket(t)
    assert t.queue == on


@pytest.mark.parametrize(
    ("conditions", "routed"),
    [
        ({"channels": ["phone", "chat"]}, True),
        ({"channels": ["email"]}, False),
        ({"types": ["incident"]}, True),
        ({"types": ["task"]}, False),
        ({"priorities": ["high", "urgent"]}, True),
        ({"priorities": ["low"]}, False),
        ({"channels": ["chat"], "types": ["incident"], "priorities": ["high"]}, True),
        ({"channels": ["chat"], "types": ["question"], "priorities": ["high"]}, False),
    ],
)
def test_rule_conditions_must_all_match(org: Organization, conditions: dict[str, list[str]], routed: bool) -> None:
    special = queue(org, "Special")
    default = queue(org, "Default", is_default=True)
    rule(org, special, 1, **conditions)
    t = ticket(org, save=False, channel="chat", type="incident", priority="high")
    route_ticket(t)
    assert t.queue == (special if routed else default)


def test_tag_rules_match_the_requesters_or_their_companys_tags_case_insensitively(org: Organization) -> None:
    vip = queue(org, "VIP")
    default = queue(org, "Default", is_default=True)
    rule(org, vip, 1, tags=["VIP", "partner"])
    acme = company(org, tags=["Partner"])
    with_company_tag = ticket(org, save=False, contact=contact(org, company=acme), company=acme)
    with_contact_tag = ticket(org, save=False, contact=contact(org, tags=["vip"]))
    untagged = ticket(org, save=False, contact=contact(org, tags=["other"]))
    for t in (with_company_tag, with_contact_tag, untagged):
        route_ticket(t)
    assert (with_company_tag.queue, with_contact_tag.queue, untagged.queue) == (vip, vip, default)


def test_no_rule_and_no_default_queue_leaves_the_ticket_unqueued(org: Organization) -> None:
    rule(org, queue(org, "Email only"), 1, channels=["email"])
    queue(org, "Old default", is_default=True, deleted_at=timezone.now())
    t = ticket(org, save=False, channel="web")
    route_ticket(t)
    assert t.queue is None and t.owner_id is None


def test_rules_of_another_workspace_are_ignored(org: Organization, other_org: Organization) -> None:
    rule(other_org, queue(other_org, "Theirs"), 1)
    mine = queue(org, "Mine", is_default=True)
    t = ticket(org, save=False)
    route_ticket(t)
    assert t.queue == mine


def test_routing_assigns_in_the_chosen_queue(org: Organization) -> None:
    ada = agent(org)
    rule(org, queue(org, "Tier 1", members=[ada]), 1)
    t = ticket(org, save=False)
    route_ticket(t)
    assert t.owner_id == ada.pk


def _assign_many(org: Organization, q: Queue, n: int) -> list[int | None]:
    owners = []
    for _ in range(n):
        t = ticket(org, save=False, queue=q)
        with transaction.atomic():
            assign_in_queue(t)
            t.save()
        owners.append(t.owner_id)
    return owners


def test_round_robin_takes_turns_in_a_stable_order_and_wraps(org: Organization) -> None:
    a, b, c = agent(org), agent(org), agent(org)
    q = queue(org, "RR", members=[c, a, b])
    assert _assign_many(org, q, 5) == [a.pk, b.pk, c.pk, a.pk, b.pk]
    q.refresh_from_db()
    assert q.last_assigned_id == b.pk


def test_round_robin_continues_after_the_cursor_even_when_it_left_the_queue(org: Organization) -> None:
    a, b, c = agent(org), agent(org), agent(org)
    q = queue(org, "RR", members=[a, c], last_assigned=b)
    assert _assign_many(org, q, 2) == [c.pk, a.pk]


def test_round_robin_skips_away_agents_and_inactive_members(org: Organization) -> None:
    a, b, c, d = agent(org), agent(org), agent(org), agent(org)
    q = queue(org, "RR", members=[a, b, c, d])
    away(org, b)  # away with no end
    away(org, c, until=timezone.now() + timedelta(hours=2))
    away(org, d, until=timezone.now() - timedelta(minutes=1))  # came back
    Membership.objects.filter(org=org, user=a).update(is_active=False)
    assert _assign_many(org, q, 2) == [d.pk, d.pk]


def test_away_in_another_workspace_does_not_count(org: Organization, other_org: Organization) -> None:
    a = agent(org)
    away(other_org, a)
    assert _assign_many(org, queue(org, "RR", members=[a]), 1) == [a.pk]


def test_nobody_available_or_manual_queue_leaves_the_ticket_unassigned(org: Organization) -> None:
    a = agent(org)
    away(org, a)
    assert _assign_many(org, queue(org, "All away", members=[a]), 1) == [None]
    b = agent(org)
    manual = queue(org, "Manual", members=[b], assignment=Assignment.MANUAL)
    assert _assign_many(org, manual, 1) == [None]
    manual.refresh_from_db()
    assert manual.last_assigned_id is None


def test_least_open_picks_the_agent_with_fewest_unsolved_tickets(org: Organization) -> None:
    a, b, c = agent(org), agent(org), agent(org)
    q = queue(org, "LO", members=[a, b, c], assignment=Assignment.LEAST_OPEN)
    for _ in range(2):
        ticket(org, owner=a, status=TicketStatus.OPEN)
    ticket(org, owner=b, status=TicketStatus.PENDING)
    for _ in range(3):  # solved, closed and deleted tickets are not open work
        ticket(org, owner=c, status=TicketStatus.SOLVED)
    ticket(org, owner=c, status=TicketStatus.CLOSED)
    ticket(org, owner=c, status=TicketStatus.OPEN, deleted_at=timezone.now())
    # c has none open, then b and c tie at one (b is next in turn after c), then a, b, c tie at two.
    assert _assign_many(org, q, 4) == [c.pk, b.pk, c.pk, a.pk]


def test_least_open_skips_away_agents(org: Organization) -> None:
    a, b = agent(org), agent(org)
    q = queue(org, "LO", members=[a, b], assignment=Assignment.LEAST_OPEN)
    ticket(org, owner=b, status=TicketStatus.OPEN)
    away(org, a)
    assert _assign_many(org, q, 2) == [b.pk, b.pk]


def test_least_open_counts_only_this_workspace(org: Organization, other_org: Organization) -> None:
    a, b = agent(org), agent(org)
    Membership.objects.create(org=other_org, user=a, role="support")
    for _ in range(3):
        ticket(other_org, owner=a, status=TicketStatus.OPEN)
    ticket(org, owner=b, status=TicketStatus.OPEN)
    q = queue(org, "LO", members=[a, b], assignment=Assignment.LEAST_OPEN)
    assert _assign_many(org, q, 1) == [a.pk]


def test_assignment_locks_the_queue_row(org: Organization) -> None:
    q = queue(org, "RR", members=[agent(org)])
    t = ticket(org, save=False, queue=q)
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        assign_in_queue(t)
    locking = [query["sql"] for query in ctx.captured_queries if "service_queue" in query["sql"]]
    if connection.features.has_select_for_update:
        assert any("FOR UPDATE" in sql for sql in locking)
    assert t.owner_id is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need a server database")
def test_concurrent_assignments_take_different_turns(org: Organization) -> None:
    a, b = agent(org), agent(org)
    q = queue(org, "RR", members=[a, b])
    first_locked = threading.Event()
    release = threading.Event()
    owners: dict[str, int | None] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                t = ticket(org, save=False, queue=q)
                assign_in_queue(t)
                t.save()
                owners["first"] = t.owner_id
                first_locked.set()
                release.wait(5)
        finally:
            connection.close()

    def second() -> None:
        try:
            first_locked.wait(5)
            with transaction.atomic():
                t = ticket(org, save=False, queue=q)
                assign_in_queue(t)  # blocks until the first commits, then sees its turn
                t.save()
                owners["second"] = t.owner_id
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for th in threads:
        th.start()
    first_locked.wait(5)
    time.sleep(0.5)  # the second is now waiting on the queue row
    release.set()
    for th in threads:
        th.join(10)
    assert {owners["first"], owners["second"]} == {a.pk, b.pk}
    assert Ticket.objects.filter(queue=q).count() == 2
