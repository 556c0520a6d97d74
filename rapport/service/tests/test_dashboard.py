"""The service dashboard's figures against hand-computed numbers on a small set of tickets (made
directly with the ORM): backlog by status, priority, queue and age; first-response and resolution
median and p90; SLA compliance per metric; CSAT average, ratings and weekly trend; created vs
solved; the ticket levels; the API and the page; a number of queries that does not grow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rapport.accounts.models import Organization
from rapport.accounts.roles import ROLES, Entity, Grant, Level, Role, RoleSpec
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.core.principal import Principal
from rapport.service import dashboard
from rapport.service.models import CsatSurvey, Queue, SlaBreach, SlaPolicy, Ticket

NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)
MARCH = dashboard.Period("custom", date(2026, 3, 1), date(2026, 3, 31))
H = timedelta(hours=1)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


class Maker:
    def __init__(self, org: Organization) -> None:
        self.org = org
        self.number = 0

    def ticket(self, created: datetime, status: str = "open", **fields: Any) -> Ticket:
        self.number += 1
        ticket = Ticket.objects.create(
            org=self.org, number=self.number, subject=f"T{self.number}", status=status, **fields
        )
        Ticket.objects.filter(pk=ticket.pk).update(created_at=created)
        ticket.created_at = created
        return ticket

    def breach(self, ticket: Ticket, metric: str, stage: str = "breached") -> None:
        SlaBreach.objects.create(
            org=self.org, ticket=ticket, metric=metric, stage=stage, due_at=ticket.created_at, detected_at=NOW
        )

    def rating(self, ticket: Ticket, rating: int | None, answered: datetime | None) -> None:
        CsatSurvey.objects.create(org=self.org, ticket=ticket, rating=rating, answered_at=answered, sent_at=answered)


@pytest.fixture
def scene(org, other_org, member_of) -> dict[str, Any]:
    """Twelve tickets of `org` (the figures below are computed by hand from them) and one of another workspace."""
    agent = member_of(Role.SUPPORT)
    make = Maker(org)
    billing = Queue.objects.create(org=org, name="Billing")
    tech = Queue.objects.create(org=org, name="Tech")
    policy = SlaPolicy.objects.create(org=org, name="Standard", first_response_minutes=60, resolution_minutes=480)
    t1 = make.ticket(at(3, 2), "solved", queue=billing, sla_policy=policy, first_responded_at=at(3, 2) + H,
                     solved_at=at(3, 3))  # fmt: skip
    t2 = make.ticket(at(3, 3), "solved", queue=billing, sla_policy=policy, first_responded_at=at(3, 3) + 2 * H,
                     solved_at=at(3, 5))  # fmt: skip
    t3 = make.ticket(at(3, 10), "open", priority="high", queue=tech, sla_policy=policy, owner=agent.user,
                     first_responded_at=at(3, 10) + 3 * H)  # fmt: skip
    make.ticket(at(3, 11), "pending", priority="urgent", first_responded_at=at(3, 11) + 4 * H)
    t5 = make.ticket(at(3, 20), "solved", sla_policy=policy, first_responded_at=at(3, 20) + 10 * H, solved_at=at(3, 21))
    t6 = make.ticket(at(3, 25), "new", queue=billing, sla_policy=policy)
    make.ticket(at(2, 1), "open", priority="low", queue=tech)
    t8 = make.ticket(at(1, 1, 12), "solved", solved_at=at(3, 15, 12))
    make.ticket(at(3, 5), "open", deleted_at=NOW)  # in the trash: counted nowhere
    make.ticket(NOW - 2 * H, "new", queue=tech)
    make.ticket(NOW - timedelta(days=2), "on_hold", queue=billing)
    make.ticket(NOW - timedelta(days=5), "open", queue=tech)
    make.breach(t3, "first_response")
    make.breach(t2, "resolution")
    make.breach(t6, "first_response", stage="warning")  # a warning is not a breach
    make.rating(t1, 5, at(3, 4))
    make.rating(t2, 2, at(3, 6))
    make.rating(t5, 4, at(3, 22))
    make.rating(t8, 3, at(2, 20))  # answered before the period
    make.rating(t3, None, None)  # sent, not answered
    Maker(other_org).ticket(at(3, 2), "open", first_responded_at=at(3, 2) + 100 * H)
    return {"agent": agent, "billing": billing, "tech": tech, "make": make}


def board(actor: Principal, period: dashboard.Period = MARCH, queue: Queue | None = None) -> Any:
    return dashboard.service_dashboard(actor=actor, period=period, queue=queue, now=NOW)


def tallies(items: list[dashboard.Tally]) -> dict[str, int]:
    return {t.label: t.count for t in items}


def test_backlog_by_status_priority_queue_and_age(admin, scene):
    b = board(admin)
    assert b.open_count == 7
    assert tallies(b.by_status) == {"New": 2, "Open": 3, "Pending": 1, "On hold": 1}
    assert tallies(b.by_priority) == {"Urgent": 1, "High": 1, "Normal": 4, "Low": 1}
    assert [(t.label, t.count) for t in b.by_queue] == [("Tech", 4), ("Billing", 2), ("No queue", 1)]
    assert [t.count for t in b.by_age] == [1, 1, 1, 1, 3]  # <1 d, 1-3, 3-7, 7-30 (t6: 21 d), >30


def test_first_response_and_resolution_median_and_p90(admin, scene):
    b = board(admin)
    # First responses of March's tickets: 1, 2, 3, 4, 10 h. p90: rank 0.9 x 4 = 3.6 → 4 + 0.6 x 6.
    assert (b.first_response.count, b.first_response.median_hours) == (5, 3.0)
    assert b.first_response.p90_hours == pytest.approx(7.6)
    # Solved in March: 24, 48, 24 h and 73 days (1752 h). Median (24 + 48) / 2; p90: rank 2.7.
    assert (b.resolution.count, b.resolution.median_hours) == (4, 36.0)
    assert b.resolution.p90_hours == pytest.approx(48 + 0.7 * (1752 - 48))


def test_sla_compliance_counts_known_outcomes_under_a_target(admin, scene):
    b = board(admin)
    got = {c.metric: (c.met, c.breached, c.rate) for c in b.compliance}
    # First response: t1, t2, t5 met; t3 breached; t6 not answered yet (a warning only): unknown.
    assert got["first_response"] == (3, 1, 0.75)
    # The policy has no next-response target: nothing to tell.
    assert got["next_response"] == (0, 0, None)
    # Resolution: t1, t5 solved in time, t2 breached; t3 and t6 still open.
    assert got["resolution"][:2] == (2, 1) and got["resolution"][2] == pytest.approx(2 / 3)


def test_csat_average_ratings_and_weekly_trend(admin, scene):
    b = board(admin)
    assert b.csat_count == 3 and b.csat_average == pytest.approx(11 / 3)
    assert b.csat_ratings == {5: 1, 4: 1, 3: 0, 2: 1, 1: 0}
    assert b.granularity == "week"
    weeks = {x.start: x for x in b.buckets}
    assert list(weeks) == [date(2026, 2, 23), *(date(2026, 3, d) for d in (2, 9, 16, 23, 30))]
    assert (weeks[date(2026, 3, 2)].csat_count, weeks[date(2026, 3, 2)].csat_average) == (2, 3.5)
    assert (weeks[date(2026, 3, 16)].csat_count, weeks[date(2026, 3, 16)].csat_average) == (1, 4.0)
    assert weeks[date(2026, 3, 9)].csat_average is None


def test_created_and_solved_per_week(admin, scene):
    b = board(admin)
    assert [(x.created, x.solved) for x in b.buckets] == [(0, 0), (2, 2), (2, 1), (1, 1), (1, 0), (0, 0)]


def test_a_long_period_is_told_per_month(admin, scene):
    b = board(admin, dashboard.Period("custom", date(2026, 1, 1), date(2026, 4, 30)))
    assert b.granularity == "month"
    assert [(x.start.month, x.created, x.solved) for x in b.buckets] == [(1, 1, 0), (2, 1, 0), (3, 6, 4), (4, 3, 0)]
    assert b.csat_count == 4 and b.csat_average == pytest.approx(14 / 4)


def test_a_queue_narrows_every_figure(admin, scene):
    b = board(admin, queue=scene["tech"])
    assert b.open_count == 4 and [t.label for t in b.by_queue] == ["Tech"]
    assert (b.first_response.count, b.first_response.median_hours) == (1, 3.0)
    assert b.resolution.count == 0 and b.resolution.median_hours is None
    assert b.csat_count == 0 and b.csat_average is None


def test_a_role_that_reads_its_own_tickets_only_sees_their_figures(scene, monkeypatch):
    # No built-in role reads tickets at the OWN level today; the dashboard must follow one that does.
    spec = ROLES[Role.SUPPORT]
    own = RoleSpec(grants={**spec.grants, Entity.TICKET: Grant(read=Level.OWN, write=Level.OWN)}, perms=spec.perms)
    monkeypatch.setitem(ROLES, Role.SUPPORT, own)
    b = board(scene["agent"])
    assert b.open_count == 1 and tallies(b.by_status)["Open"] == 1
    assert b.first_response.count == 1


def test_members_who_read_no_tickets_are_refused(member_of, scene):
    with pytest.raises(PermissionDenied):
        board(member_of(Role.MARKETING))


def test_another_workspaces_queue_is_refused(admin, other_admin, scene):
    queues = dashboard.dashboard_queues(actor=other_admin)
    with pytest.raises(ValidationFailed):
        dashboard.pick_queue(queues, scene["tech"].pk)
    assert dashboard.pick_queue(dashboard.dashboard_queues(actor=admin), scene["tech"].pk) == scene["tech"]


def test_the_number_of_queries_does_not_grow_with_the_tickets(admin, scene, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        board(admin)
    make: Maker = scene["make"]
    for day in range(1, 29):
        t = make.ticket(at(3, day), "solved", queue=scene["billing"], first_responded_at=at(3, day) + H,
                        solved_at=at(3, day) + 5 * H)  # fmt: skip
        make.rating(t, 1 + day % 5, at(3, day) + 6 * H)
    with django_assert_max_num_queries(8):
        b = board(admin)
    assert b.csat_count == 31 and b.first_response.count == 33


def test_no_tickets_gives_empty_figures(admin):
    b = board(admin)
    assert b.open_count == 0 and b.first_response.median_hours is None and b.csat_average is None
    assert all(c.rate is None for c in b.compliance)


# --- API and page -------------------------------------------------------------------------------

URL = "/api/v1/service/dashboard"


def test_api_answers_the_figures_of_a_custom_period(api, admin, scene):
    resp = api(admin).get(f"{URL}?period=custom&from=2026-03-01&to=2026-03-31&queue_id={scene['billing'].pk}")
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert data["queue_id"] == scene["billing"].pk and data["granularity"] == "week"
    assert data["first_response"] == {"count": 2, "median_hours": 1.5, "p90_hours": pytest.approx(1.9)}
    assert data["csat_ratings"] == {"5": 1, "4": 0, "3": 0, "2": 1, "1": 0}
    assert {c["metric"]: c["rate"] for c in data["sla_compliance"]}["first_response"] == 1.0
    assert [b["start"] for b in data["buckets"]][:2] == ["2026-02-23", "2026-03-02"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("perod=month", "perod"),
        ("period=decade", "period"),
        ("period=custom&from=2026-03-01", "to"),
        ("period=custom&from=2026-03-10&to=2026-03-01", "to"),
        ("queue_id=0", None),
        ("queue_id=abc", None),
        ("from=2026-02-30&period=custom&to=2026-03-01", None),
    ],
)
def test_api_refuses_bad_parameters_with_422(api, admin, scene, query, field):
    resp = api(admin).get(f"{URL}?{query}")
    assert resp.status_code == 422, resp.content
    if field:
        assert field in resp.json()["error"]["fields"]


def test_api_refuses_another_workspaces_queue(api, other_admin, scene):
    resp = api(other_admin).get(f"{URL}?queue_id={scene['tech'].pk}")
    assert resp.status_code == 422 and "queue_id" in resp.json()["error"]["fields"]


def test_api_refuses_roles_that_read_no_tickets(api, member_of):
    assert api(member_of(Role.MARKETING)).get(URL).status_code == 403
    assert api(member_of(Role.VIEWER)).get(URL).status_code == 200


def test_page_shows_the_figures_and_charts(web, admin, scene):
    resp = web(admin).get("/service/dashboard/?period=custom&from=2026-03-01&to=2026-03-31")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert html.count('<svg class="chart') == 6
    assert "Open tickets by status" in html and "3.0 h" in html and "75%" in html


def test_page_filters_by_queue_and_refuses_bad_filters(web, admin, scene):
    client = web(admin)
    resp = client.get(f"/service/dashboard/?queue={scene['tech'].pk}")
    assert resp.status_code == 200 and "Tech" in resp.content.decode()
    assert client.get("/service/dashboard/?queue=999999").status_code == 400
    assert client.get("/service/dashboard/?period=custom&from=2026-03-10&to=2026-03-01").status_code == 400


def test_page_is_refused_to_roles_that_read_no_tickets(web, member_of):
    assert web(member_of(Role.MARKETING)).get("/service/dashboard/").status_code == 403
