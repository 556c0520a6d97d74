"""The SLA breach scan: warnings and breaches recorded once, escalation actions run once (notify,
raise priority, move and re-assign), events, the next check moment, only due tickets read."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection

from rapport.accounts.models import Membership, Organization, User
from rapport.activities.models import Notification
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.service import tasks
from rapport.service.models import SlaBreach, SlaPolicy, Ticket, TicketStatus
from rapport.service.sla import sla_apply
from rapport.service.sla_scan import sla_scan
from rapport.service.tests.engine_support import agent, policy, queue, ticket, utc

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
CREATED = utc(2026, 1, 12, 8)  # first response due at 10:00, warning from 09:30; resolution at 16:00


def clock_policy(org: Organization, **fields: Any) -> SlaPolicy:
    values: dict[str, Any] = {
        "business_hours": False,
        "first_response_minutes": 120,
        "resolution_minutes": 8 * 60,
        "warn_before_minutes": 30,
    }
    values.update(fields)
    return policy(org, "Clock", **values)


def new_ticket(org: Organization, **fields: Any) -> Ticket:
    t = ticket(org, created_at=CREATED, **fields)
    sla_apply(t, now=CREATED)
    t.save()
    return t


def breaches(t: Ticket) -> list[tuple[str, str, datetime]]:
    return list(SlaBreach.objects.filter(ticket=t).order_by("id").values_list("metric", "stage", "due_at"))


def test_a_warning_is_recorded_once_and_the_check_moves_to_the_due_time(admin: Principal) -> None:
    org = admin.org
    clock_policy(org)
    owner = agent(org)
    t = new_ticket(org, owner=owner)
    assert t.sla_check_at == CREATED + 1.5 * H
    assert sla_scan(now=CREATED + H).checked == 0
    report = sla_scan(now=CREATED + 1.75 * H)
    assert (report.checked, report.warnings, report.breaches, report.notified) == (1, 1, 0, 1)
    assert breaches(t) == [("first_response", "warning", CREATED + 2 * H)]
    note = Notification.objects.get(user=owner)
    assert note.title.startswith("SLA due soon (first response): #") and note.url == f"/tickets/{t.pk}/"
    t.refresh_from_db()
    assert t.sla_check_at == CREATED + 2 * H and t.version == 1
    again = sla_scan(now=CREATED + 1.8 * H)
    assert again.checked == 0 and len(breaches(t)) == 1


def test_a_breach_escalates_once_notifies_raises_priority_and_reassigns(admin: Principal) -> None:
    org = admin.org
    manager, escalation_manager = agent(org), agent(org)
    first_owner, senior = agent(org), agent(org)
    tier1 = queue(org, "Tier 1", members=[first_owner], manager=manager)
    tier2 = queue(org, "Tier 2", members=[senior], manager=escalation_manager)
    clock_policy(org, raise_priority=True, escalate_to_queue=tier2)
    t = new_ticket(org, owner=first_owner, queue=tier1, priority="normal")
    report = sla_scan(now=CREATED + 2 * H + timedelta(minutes=1))
    assert (report.warnings, report.breaches, report.escalated) == (0, 1, 1)  # late: the warning is skipped
    t.refresh_from_db()
    assert (t.priority, t.queue_id, t.owner_id, t.version) == ("high", tier2.pk, senior.pk, 2)
    row = SlaBreach.objects.get(ticket=t)
    assert (row.stage, row.assignee_id, row.queue_id) == ("breached", first_owner.pk, tier1.pk)
    notified = set(Notification.objects.values_list("user_id", flat=True))
    assert notified == {first_owner.pk, manager.pk, senior.pk, escalation_manager.pk}
    verbs = list(Event.objects.filter(subject_id=t.pk).order_by("id").values_list("verb", "actor_id"))
    assert verbs == [("ticket.sla_breached", admin.user_id), ("ticket.escalated", admin.user_id)]
    escalated = Event.objects.get(verb="ticket.escalated").changes
    assert escalated["priority"] == ["normal", "high"] and escalated["queue_id"] == [tier1.pk, tier2.pk]
    assert t.sla_check_at == CREATED + 7.5 * H  # the resolution warning

    # Re-running, even with the check moment forced back, changes nothing more.
    Ticket.objects.filter(pk=t.pk).update(sla_check_at=CREATED)
    again = sla_scan(now=CREATED + 3 * H)
    assert (again.checked, again.breaches, again.escalated, again.notified) == (1, 0, 0, 0)
    t.refresh_from_db()
    assert (t.priority, t.version, SlaBreach.objects.count(), Notification.objects.count()) == ("high", 2, 1, 4)


def test_breaches_found_together_escalate_once(admin: Principal) -> None:
    org = admin.org
    clock_policy(org, raise_priority=True, resolution_minutes=120)
    t = new_ticket(org, priority="low")
    report = sla_scan(now=CREATED + 3 * H)
    t.refresh_from_db()
    assert (report.breaches, report.escalated, t.priority, t.sla_check_at) == (2, 1, "normal", None)


def test_without_escalation_actions_a_breach_is_only_recorded(admin: Principal) -> None:
    org = admin.org
    owner = agent(org)
    clock_policy(org, notify_on_breach=False)
    t = new_ticket(org, owner=owner, priority="urgent")
    report = sla_scan(now=CREATED + 9 * H)
    t.refresh_from_db()
    assert (report.breaches, report.escalated, report.notified, t.priority, t.version) == (2, 0, 0, "urgent", 1)
    assert not Notification.objects.exists()
    assert Event.objects.filter(verb="ticket.sla_breached").count() == 2


def test_urgent_stays_urgent_and_the_own_queue_is_not_an_escalation(admin: Principal) -> None:
    org = admin.org
    owner = agent(org)
    home = queue(org, "Home", members=[owner, agent(org)])
    clock_policy(org, raise_priority=True, escalate_to_queue=home, notify_on_breach=False)
    t = new_ticket(org, owner=owner, queue=home, priority="urgent")
    report = sla_scan(now=CREATED + 2 * H)
    t.refresh_from_db()
    assert (report.breaches, report.escalated, t.priority, t.owner_id) == (1, 0, "urgent", owner.pk)


def test_a_warning_without_an_assignee_goes_to_the_queue_manager(admin: Principal) -> None:
    org = admin.org
    boss = agent(org)
    clock_policy(org)
    new_ticket(org, queue=queue(org, "Q", manager=boss))
    sla_scan(now=CREATED + 1.6 * H)
    assert list(Notification.objects.values_list("user_id", flat=True)) == [boss.pk]


def test_paused_solved_and_deleted_tickets_with_a_stale_check_are_let_go(admin: Principal) -> None:
    org = admin.org
    clock_policy(org)
    paused = new_ticket(org, status=TicketStatus.PENDING)
    solved = new_ticket(org, status=TicketStatus.SOLVED)
    deleted = new_ticket(org, deleted_at=CREATED)
    no_policy = ticket(org, created_at=CREATED)
    Ticket.objects.update(sla_check_at=CREATED + H, first_response_due_at=CREATED + H)
    report = sla_scan(now=CREATED + 5 * H)
    assert (report.checked, report.breaches) == (4, 0)
    assert not Ticket.objects.filter(
        pk__in=[paused.pk, solved.pk, deleted.pk, no_policy.pk], sla_check_at__isnull=False
    )
    assert not SlaBreach.objects.exists()


def test_the_scan_reads_only_due_tickets_in_batches(admin: Principal, django_assert_max_num_queries: Any) -> None:
    org = admin.org
    clock_policy(org, warn_before_minutes=0, notify_on_breach=False)
    due = [new_ticket(org) for _ in range(5)]
    later = ticket(org, created_at=CREATED + 5 * H)
    sla_apply(later, now=later.created_at)
    later.save()
    with django_assert_max_num_queries(40):
        report = sla_scan(now=CREATED + 2 * H, batch=2)
    assert (report.checked, report.breaches, report.batches) == (5, 5, 3)
    assert all(breaches(t) == [("first_response", "breached", CREATED + 2 * H)] for t in due)
    assert not breaches(later)
    assert sla_scan(now=CREATED + 2 * H, batch=2).checked == 0


def test_a_limit_leaves_the_rest_for_the_next_run(admin: Principal) -> None:
    org = admin.org
    clock_policy(org, warn_before_minutes=0, notify_on_breach=False)
    for _ in range(3):
        new_ticket(org)
    assert sla_scan(now=CREATED + 2 * H, limit=2).breaches == 2
    assert sla_scan(now=CREATED + 2 * H).breaches == 1


def test_a_workspace_without_an_active_admin_still_gets_its_breaches_recorded(org: Organization) -> None:
    clock_policy(org, notify_on_breach=False)
    t = new_ticket(org)
    report = sla_scan(now=CREATED + 3 * H)
    assert report.breaches == 1 and breaches(t)[0][1] == "breached"
    assert not Event.objects.exists()


def test_the_periodic_task_scans_at_the_current_time(admin: Principal) -> None:
    clock_policy(admin.org, warn_before_minutes=0)
    t = new_ticket(admin.org)
    with time_machine.travel(CREATED + 2 * H, tick=False):
        tasks.scan_sla.call_local()
    assert breaches(t) == [("first_response", "breached", CREATED + 2 * H)]


def test_an_inactive_escalation_member_is_skipped(admin: Principal) -> None:
    org = admin.org
    gone, present = agent(org), agent(org)
    Membership.objects.filter(org=org, user=gone).update(is_active=False)
    clock_policy(org, escalate_to_queue=queue(org, "Tier 2", members=[gone, present]), notify_on_breach=False)
    t = new_ticket(org, owner=agent(org))
    sla_scan(now=CREATED + 2 * H)
    t.refresh_from_db()
    assert t.owner_id == present.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need a server database")
def test_two_concurrent_scans_record_and_escalate_each_breach_once(admin: Principal) -> None:
    org = admin.org
    owner: User = agent(org)
    clock_policy(org, raise_priority=True, warn_before_minutes=0)
    tickets = [new_ticket(org, owner=owner, priority="low") for _ in range(30)]
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait(5)
            sla_scan(now=CREATED + 2 * H, batch=5)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert SlaBreach.objects.count() == 30
    assert Notification.objects.count() == 30
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("priority", flat=True)) == {"normal"}


def test_the_ticket_services_drive_the_timers_and_the_scan_end_to_end(admin: Principal) -> None:
    from rapport.service.ticket_services import ticket_create, ticket_customer_message, ticket_reply

    org = admin.org
    owner = agent(org)
    queue(org, "Default", members=[owner], is_default=True)
    clock_policy(org, next_response_minutes=60)
    with time_machine.travel(CREATED, tick=False):
        t = ticket_create(actor=admin, data={"subject": "Printer on fire", "requester_email": "ada@example.org"})
    assert (t.owner_id, t.first_response_due_at, t.sla_check_at) == (owner.pk, CREATED + 2 * H, CREATED + 1.5 * H)
    with time_machine.travel(CREATED + H, tick=False):
        ticket_reply(actor=admin, ticket=t, body="On it", status=TicketStatus.PENDING)
    t.refresh_from_db()
    assert (t.first_responded_at, t.first_response_due_at) == (CREATED + H, None)
    assert (t.sla_paused_at, t.sla_check_at) == (CREATED + H, None)
    with time_machine.travel(CREATED + 5 * H, tick=False):
        ticket_customer_message(actor=admin, ticket=t, body="Still burning", channel="email")
    t.refresh_from_db()
    assert t.status == TicketStatus.OPEN and t.sla_paused_at is None
    assert t.resolution_due_at == CREATED + 12 * H  # 7 h were left when it went pending
    assert t.next_response_due_at == CREATED + 6 * H
    report = sla_scan(now=CREATED + 6 * H)
    assert (report.checked, report.breaches) == (1, 1)
    assert breaches(t) == [("next_response", "breached", CREATED + 6 * H)]
