"""Customer service → Settings pages: admins add, change, reorder and delete queues, routing rules,
SLA policies and business hours; ticket readers see them and set their own away status; others'
records answer 404 and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.service.models import AgentStatus, BusinessCalendar, Holiday, Queue, QueueMember, RoutingRule, SlaPolicy

HX = {"HTTP_HX_REQUEST": "true"}
S = "/service/settings"


def _state() -> dict[str, Any]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Queue, QueueMember, RoutingRule, SlaPolicy, BusinessCalendar, Holiday, AgentStatus)
    } | {"events": Event.objects.count()}


def test_the_home_page_links_every_section(web, admin):
    page = web(admin).get(f"{S}/").content.decode()
    for href in (f"{S}/queues/", f"{S}/routing-rules/", f"{S}/sla-policies/", f"{S}/business-hours/"):
        assert f'href="{href}"' in page
    assert "I'm away" in page


def test_an_admin_adds_changes_and_deletes_queues(web, admin, member_of):
    agent = member_of(Role.SUPPORT)
    client = web(admin)
    resp = client.post(f"{S}/queues/", {"name": "Billing", "assignment": "least_open", "members": [agent.user_id]})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    billing = Queue.objects.get(name="Billing")
    assert billing.is_default and list(QueueMember.objects.values_list("user_id", flat=True)) == [agent.user_id]
    client.post(f"{S}/queues/", {"name": "Tech", "assignment": "round_robin"})
    tech = Queue.objects.get(name="Tech")
    page = client.get(f"{S}/queues/").content.decode()
    assert "Billing" in page and "Default" in page and agent.user.display_name in page

    edit = f"{S}/queues/{tech.pk}/"
    assert client.get(edit).status_code == 200
    resp = client.post(edit, {"name": "Tech", "assignment": "manual", "is_default": "on", "version": tech.version})
    assert resp.status_code == 302
    tech.refresh_from_db()
    billing.refresh_from_db()
    assert tech.is_default and tech.assignment == "manual" and not billing.is_default
    stale = client.post(edit, {"name": "Old", "assignment": "manual", "version": 1})
    assert stale.status_code == 412 and "Someone else changed this" in stale.content.decode()
    bad = client.post(f"{S}/queues/", {"name": "tech", "assignment": "round_robin"})
    assert bad.status_code == 422 and "already a queue named" in bad.content.decode()

    assert client.post(f"{S}/queues/{tech.pk}/delete/").status_code == 409
    assert client.post(f"{S}/queues/{billing.pk}/delete/").status_code == 302
    assert Queue.objects.get(pk=billing.pk).deleted_at is not None


def test_an_admin_adds_moves_edits_and_deletes_routing_rules(web, admin, org):
    queue = Queue.objects.create(org=org, name="Tech", is_default=True)
    client = web(admin)
    for name in ("Mail", "Urgent"):
        resp = client.post(
            f"{S}/routing-rules/", {"name": name, "queue": queue.pk, "channels": ["email"], "active": "on"}
        )
        assert resp.status_code == 302, resp.content.decode()[:2000]
    bad = client.post(f"{S}/routing-rules/", {"name": "Bad", "queue": queue.pk, "tags": "x" * 61})
    assert bad.status_code == 422 and RoutingRule.objects.count() == 2
    mail, urgent = RoutingRule.objects.order_by("position")
    client.post(f"{S}/routing-rules/move/", {"id": urgent.pk, "direction": "up"})
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == ["Urgent", "Mail"]
    mail.refresh_from_db()
    resp = client.post(
        f"{S}/routing-rules/{mail.pk}/",
        {"name": "Mail", "queue": queue.pk, "priorities": ["urgent"], "tags": "vip, gold", "version": mail.version},
    )
    assert resp.status_code == 302
    mail.refresh_from_db()
    assert (mail.priorities, mail.tags, mail.active) == (["urgent"], ["vip", "gold"], False)
    assert "Urgent" in client.get(f"{S}/routing-rules/").content.decode()
    assert client.post(f"{S}/routing-rules/{mail.pk}/delete/").status_code == 302
    assert list(RoutingRule.objects.values_list("name", "position")) == [("Urgent", 0)]


def test_an_admin_adds_and_edits_sla_policies_and_bad_targets_are_field_errors(web, admin, org):
    client = web(admin)
    data = {"name": "Premium", "tiers": ["premium"], "first_response_minutes": "0", "warn_before_minutes": "30"}
    bad = client.post(f"{S}/sla-policies/", data)
    assert bad.status_code == 422 and "minutes from 1" in bad.content.decode() and not SlaPolicy.objects.exists()
    resp = client.post(f"{S}/sla-policies/", {**data, "first_response_minutes": "60", "business_hours": "on"})
    assert resp.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (policy.tiers, policy.first_response_minutes, policy.business_hours) == (["premium"], 60, True)
    page = client.get(f"{S}/sla-policies/").content.decode()
    assert "Premium" in page and "1 h" in page
    resp = client.post(
        f"{S}/sla-policies/{policy.pk}/",
        {
            "name": "Premium",
            "resolution_minutes": "480",
            "first_response_minutes": "60",
            "warn_before_minutes": "30",
            "raise_priority": "on",
            "version": policy.version,
        },
    )
    assert resp.status_code == 302
    policy.refresh_from_db()
    assert policy.raise_priority and policy.resolution_minutes == 480 and policy.tiers == []
    assert client.post(f"{S}/sla-policies/{policy.pk}/delete/").status_code == 302
    assert not SlaPolicy.objects.filter(deleted_at__isnull=True).exists()


def test_an_admin_sets_business_hours_and_holidays(web, admin):
    client = web(admin)
    page = client.get(f"{S}/business-hours/").content.decode()
    assert "09:00-17:00" in page and "Save the working week first" in page
    week = {"action": "hours", "time_zone": "Europe/Paris", "version": "0"}
    week |= {f"day_{d}": "09:00-12:00, 13:00-17:00" for d in range(5)}
    bad = client.post(f"{S}/business-hours/", {**week, "day_2": "13:00-12:00"})
    assert bad.status_code == 422 and "Wednesday" in bad.content.decode() and not BusinessCalendar.objects.exists()
    bad = client.post(f"{S}/business-hours/", {**week, "day_1": "nine to five"})
    assert bad.status_code == 400 and not BusinessCalendar.objects.exists()
    assert client.post(f"{S}/business-hours/", week).status_code == 302
    calendar = BusinessCalendar.objects.get()
    assert calendar.time_zone == "Europe/Paris" and calendar.hours["0"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert (
        client.post(
            f"{S}/business-hours/", {"action": "holiday", "date": "2026-12-25", "name": "Christmas"}
        ).status_code
        == 302
    )
    holiday = Holiday.objects.get()
    assert "Christmas" in client.get(f"{S}/business-hours/").content.decode()
    assert client.post(f"{S}/business-hours/holidays/{holiday.pk}/delete/").status_code == 302
    assert not Holiday.objects.exists()


def test_an_agent_sees_the_settings_and_sets_themself_away_but_changes_nothing_else(web, admin, member_of, org):
    queue = Queue.objects.create(org=org, name="Tech", is_default=True)
    rule = RoutingRule.objects.create(org=org, name="R", queue=queue)
    policy = SlaPolicy.objects.create(org=org, name="P", first_response_minutes=5)
    agent = member_of(Role.SUPPORT)
    client = web(agent)
    for url in ("/", "/queues/", "/routing-rules/", "/sla-policies/", "/business-hours/"):
        resp = client.get(f"{S}{url}")
        assert resp.status_code == 200 and "Add queue" not in resp.content.decode()
    before = _state()
    for url, data in (
        ("/queues/", {"name": "Mine", "assignment": "manual"}),
        (f"/queues/{queue.pk}/", {"name": "Mine", "assignment": "manual"}),
        (f"/queues/{queue.pk}/delete/", {}),
        ("/routing-rules/", {"name": "Mine", "queue": queue.pk}),
        (f"/routing-rules/{rule.pk}/", {"name": "Mine", "queue": queue.pk}),
        ("/routing-rules/move/", {"id": rule.pk, "direction": "up"}),
        (f"/sla-policies/{policy.pk}/delete/", {}),
        ("/business-hours/", {"action": "hours", "time_zone": "UTC", "day_0": "09:00-17:00"}),
        ("/away/", {"user": admin.user_id, "away": "1"}),
    ):
        assert client.post(f"{S}{url}", data).status_code == 403, url
    assert _state() == before

    resp = client.post(f"{S}/away/", {"away": "1"}, **HX)
    assert resp.status_code == 200 and "I'm back" in resp.content.decode()
    assert AgentStatus.objects.get(user_id=agent.user_id).away is True


def test_a_role_that_cannot_read_tickets_gets_403(web, member_of):
    client = web(member_of(Role.MARKETING))
    for url in ("/", "/queues/", "/routing-rules/", "/sla-policies/", "/business-hours/"):
        assert client.get(f"{S}{url}").status_code == 403


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_settings_page_taking_an_id_answers_404_for_another_workspace(web, admin, other_org, method):
    queue = Queue.objects.create(org=other_org, name="B", is_default=True)
    other = Queue.objects.create(org=other_org, name="B2")
    rule = RoutingRule.objects.create(org=other_org, name="B rule", queue=queue)
    policy = SlaPolicy.objects.create(org=other_org, name="B policy", first_response_minutes=5)
    calendar = BusinessCalendar.objects.create(org=other_org, hours={"0": [["09:00", "17:00"]]})
    holiday = Holiday.objects.create(org=other_org, calendar=calendar, date="2026-01-01")
    client = web(admin)
    before = _state()
    urls = [
        f"/queues/{other.pk}/",
        f"/queues/{other.pk}/delete/",
        f"/routing-rules/{rule.pk}/",
        f"/routing-rules/{rule.pk}/delete/",
        f"/sla-policies/{policy.pk}/",
        f"/sla-policies/{policy.pk}/delete/",
    ]
    if method == "post":
        urls.append(f"/business-hours/holidays/{holiday.pk}/delete/")
    for url in urls:
        data = {"name": "Mine", "assignment": "manual", "queue": queue.pk, "version": 1}
        resp = client.get(f"{S}{url}") if method == "get" else client.post(f"{S}{url}", data)
        assert resp.status_code == 404, url
    assert _state() == before


def test_the_lists_take_a_bounded_number_of_queries(web, admin, member_of, org, django_assert_max_num_queries):
    agents = [member_of(Role.SUPPORT) for _ in range(3)]
    for i in range(8):
        queue = Queue.objects.create(org=org, name=f"Q{i}", is_default=i == 0)
        for agent in agents:
            QueueMember.objects.create(org=org, queue=queue, user=agent.user)
        RoutingRule.objects.create(org=org, name=f"R{i}", queue=queue, position=i)
        SlaPolicy.objects.create(org=org, name=f"P{i}", position=i, first_response_minutes=5, escalate_to_queue=queue)
    client = web(admin)
    for url in ("/queues/", "/routing-rules/", "/sla-policies/"):
        with django_assert_max_num_queries(25):
            assert client.get(f"{S}{url}").status_code == 200
