"""The event log: written by every write service in its own transaction, append-only, dispatched on commit,
and readable (by admins) through GET /api/v1/events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts import services, twofactor
from rapport.accounts.models import ApiToken, Invitation, Membership, Organization, Team, User
from rapport.accounts.roles import Role
from rapport.core.errors import Conflict, PermissionDenied
from rapport.core.events import record_event, subscribe, unsubscribe
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory
from rapport.testing.totp import code as _code


class Boom(Exception):
    """Something failing after the service returned, inside the same transaction."""


def _db_state() -> dict[str, Any]:
    """Every row a write service of the accounts app could add, change or remove."""
    return {
        "orgs": list(Organization.objects.order_by("pk").values()),
        "users": list(User.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.order_by("pk").values()),
        "teams": list(Team.objects.order_by("pk").values()),
        "team_members": list(Team.members.through.objects.order_by("pk").values()),
        "invitations": list(Invitation.objects.order_by("pk").values()),
        "tokens": list(ApiToken.objects.order_by("pk").values()),
        "devices": list(TOTPDevice.objects.order_by("pk").values()),
        "events": list(Event.objects.order_by("pk").values()),
    }


# Each case: prepare(admin) → (the write, the verbs it must record).
Case = Callable[[Principal], tuple[Callable[[], Any], set[str]]]


def _workspace_create(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    return lambda: services.workspace_create(name="Initech", admin=admin.user), {"workspace.created", "member.added"}


def _workspace_update_security(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    return lambda: services.workspace_update_security(actor=admin, require_2fa=True), {"workspace.updated"}


def _member_add(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    user = UserFactory.create()
    return lambda: services.member_add(actor=admin, user=user, role="sales"), {"member.added"}


def _member_update(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    member = MembershipFactory.create(org=admin.org, role=Role.SALES)
    return lambda: services.member_update(actor=admin, membership=member, role="viewer"), {"member.updated"}


def _member_deactivate(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    member = MembershipFactory.create(org=admin.org, role=Role.SALES)
    services.token_create(actor=Principal.for_membership(member), name="t")
    return lambda: services.member_update(actor=admin, membership=member, is_active=False), {"member.deactivated"}


def _invitation_create(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    return lambda: services.invitation_create(actor=admin, email="x@example.org", role="sales"), {"invitation.sent"}


def _invitation_revoke(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    invitation = services.invitation_create(actor=admin, email="x@example.org", role="sales")
    return lambda: services.invitation_revoke(actor=admin, invitation=invitation), {"invitation.revoked"}


def _invitation_accept(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    invitation = services.invitation_create(actor=admin, email="x@example.org", role="sales")
    issued = services.invitation_issue_link(invitation_id=invitation.pk)
    assert issued is not None
    secret = issued[1]
    return (
        lambda: services.invitation_accept(secret=secret, name="X", password="a-long-and-unusual-passphrase"),
        {"invitation.accepted", "member.added"},
    )


def _team_create(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    member_ids = [MembershipFactory.create(org=admin.org).pk]
    return lambda: services.team_create(actor=admin, name="North", member_ids=member_ids), {"team.created"}


def _team_update(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    team = TeamFactory.create(org=admin.org, name="North")
    return (
        lambda: services.team_update(actor=admin, team=team, expected_version=1, name="South", member_ids=[]),
        {"team.updated"},
    )


def _team_delete(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    team = TeamFactory.create(org=admin.org, name="North")
    return lambda: services.team_delete(actor=admin, team=team), {"team.deleted"}


def _token_create(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    return lambda: services.token_create(actor=admin, name="cli", scope="write"), {"token.created"}


def _token_revoke(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    token, _ = services.token_create(actor=admin, name="cli")
    return lambda: services.token_revoke(actor=admin, token=token), {"token.revoked"}


def _totp_confirm(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    device = twofactor.totp_begin(user=admin.user)
    return lambda: twofactor.totp_confirm(actor=admin, device=device, code=_code(device)), {"user.2fa_enabled"}


def _totp_disable(admin: Principal) -> tuple[Callable[[], Any], set[str]]:
    TOTPDevice.objects.create(user=admin.user, name="phone", confirmed=True)
    return lambda: twofactor.totp_disable(actor=admin, password=PASSWORD), {"user.2fa_disabled"}


WRITES: dict[str, Case] = {
    "workspace_create": _workspace_create,
    "workspace_update_security": _workspace_update_security,
    "member_add": _member_add,
    "member_update": _member_update,
    "member_deactivate": _member_deactivate,
    "invitation_create": _invitation_create,
    "invitation_revoke": _invitation_revoke,
    "invitation_accept": _invitation_accept,
    "team_create": _team_create,
    "team_update": _team_update,
    "team_delete": _team_delete,
    "token_create": _token_create,
    "token_revoke": _token_revoke,
    "totp_confirm": _totp_confirm,
    "totp_disable": _totp_disable,
}


@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_service_records_its_events_with_the_change(admin, name):
    write, verbs = WRITES[name](admin)
    before = _db_state()
    last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    write()
    new_events = list(Event.objects.filter(pk__gt=last_event))
    assert {e.verb for e in new_events} == verbs
    assert len(new_events) == len(verbs)
    after = _db_state()
    changed = [table for table in before if table != "events" and before[table] != after[table]]
    assert changed, "the service recorded an event but changed nothing"
    for event in new_events:
        assert event.changes, event.verb
        assert event.subject_id
        assert Organization.objects.filter(pk=event.org_id).exists()
        if name != "invitation_accept":  # the new member accepts, not the admin
            assert event.actor_id == admin.user_id


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_rolled_back_after_the_service_leaves_neither_change_nor_event(admin, name):
    write, _ = WRITES[name](admin)
    before = _db_state()
    with pytest.raises(Boom), transaction.atomic():
        write()
        raise Boom
    assert _db_state() == before


def test_a_refused_write_records_no_event_and_changes_nothing(admin, member_of):
    viewer = member_of(Role.VIEWER)
    TeamFactory.create(org=admin.org, name="Taken")
    before = _db_state()
    with pytest.raises(PermissionDenied):
        services.team_create(actor=viewer, name="North")
    with pytest.raises(Conflict):
        services.team_create(actor=admin, name="Taken")
    with pytest.raises(Conflict):
        services.member_update(actor=admin, membership=Membership.objects.get(pk=admin.membership_id), role="viewer")
    assert _db_state() == before


def test_events_record_old_and_new_values(admin):
    member = MembershipFactory.create(org=admin.org, role=Role.SALES)
    services.member_update(actor=admin, membership=member, role="manager", is_active=False)
    event = Event.objects.get(verb="member.deactivated")
    assert event.changes == {"role": ["sales", "manager"], "is_active": [True, False]}
    assert (event.subject_type, event.subject_id, event.org_id) == ("membership", member.pk, admin.org_id)


# --- record_event needs the write's transaction ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_record_event_outside_a_transaction_raises_and_writes_nothing(admin):
    team = TeamFactory.create(org=admin.org)
    before = Event.objects.count()
    with pytest.raises(RuntimeError, match="transaction"):
        record_event(admin, "team.touched", team)
    assert Event.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_a_committed_service_commits_its_event_and_a_failed_one_commits_neither(admin):
    team = services.team_create(actor=admin, name="North")
    assert Event.objects.filter(verb="team.created", subject_id=team.pk).exists()
    before = _db_state()
    with pytest.raises(Boom), transaction.atomic():
        services.team_update(actor=admin, team=team, expected_version=1, name="South")
        raise Boom
    assert _db_state() == before
    assert Team.objects.get(pk=team.pk).name == "North"


# --- append-only ----------------------------------------------------------------------------


@pytest.fixture
def event(admin: Principal) -> Event:
    services.team_create(actor=admin, name="North")
    return Event.objects.get(verb="team.created")


def test_an_existing_event_cannot_be_saved_again(event):
    event.verb = "team.forged"
    with pytest.raises(TypeError):
        event.save()
    assert Event.objects.get(pk=event.pk).verb == "team.created"


def test_an_event_cannot_be_deleted(event):
    with pytest.raises(TypeError):
        event.delete()
    assert Event.objects.filter(pk=event.pk).exists()


def test_events_cannot_be_updated_or_deleted_in_bulk(event):
    with pytest.raises(TypeError):
        Event.objects.filter(pk=event.pk).update(verb="team.forged")
    with pytest.raises(TypeError):
        Event.objects.all().delete()
    with pytest.raises(TypeError):
        Event.objects.update(verb="team.forged")
    event.verb = "team.forged"
    with pytest.raises(TypeError), transaction.atomic():  # bulk_update breaks the transaction it fails in
        Event.objects.bulk_update([event], ["verb"])
    assert list(Event.objects.values_list("verb", flat=True)) == ["team.created"]


def test_deleting_a_user_keeps_their_events(event, admin):
    User.objects.filter(pk=admin.user_id).delete()
    event.refresh_from_db()
    assert (event.verb, event.actor_id) == ("team.created", None)


# --- the dispatcher -------------------------------------------------------------------------


@pytest.fixture
def consumers() -> Iterator[Callable[[str], list[Event]]]:
    """consumers(pattern) → the list of events a new consumer of that pattern receives."""
    names: list[str] = []

    def make(pattern: str) -> list[Event]:
        received: list[Event] = []

        def consume(event: Event) -> None:
            received.append(event)

        consume.__qualname__ = f"test_consumer_{len(names)}"
        subscribe(pattern)(consume)
        names.append(f"{consume.__module__}.{consume.__qualname__}")
        return received

    yield make
    for name in names:
        unsubscribe(name)


def test_a_committed_event_reaches_the_consumers_of_its_verb(admin, consumers, django_capture_on_commit_callbacks):
    team_events, created_only, everything, members = (
        consumers("team.*"),
        consumers("team.created"),
        consumers("*"),
        consumers("member.*"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        team = services.team_create(actor=admin, name="North")
    with django_capture_on_commit_callbacks(execute=True):
        services.team_update(actor=admin, team=team, expected_version=1, name="South")
    created = Event.objects.get(verb="team.created")
    updated = Event.objects.get(verb="team.updated")
    assert [e.pk for e in team_events] == [created.pk, updated.pk]
    assert [e.pk for e in created_only] == [created.pk]
    assert [e.pk for e in everything] == [created.pk, updated.pk]
    assert members == []
    assert team_events[0].subject_id == team.pk


def test_nothing_is_dispatched_before_commit(admin, consumers, django_capture_on_commit_callbacks):
    received = consumers("team.*")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.team_create(actor=admin, name="North")
    assert received == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert [e.verb for e in received] == ["team.created"]


def test_a_rolled_back_write_is_never_dispatched(admin, consumers, django_capture_on_commit_callbacks):
    received = consumers("team.*")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom), transaction.atomic():
        services.team_create(actor=admin, name="North")
        raise Boom
    assert callbacks == []
    assert received == []


def test_a_prefix_pattern_does_not_match_a_longer_word(admin, consumers, django_capture_on_commit_callbacks):
    teams = consumers("team.*")
    with django_capture_on_commit_callbacks(execute=True):
        services.token_create(actor=admin, name="cli")  # "token.created" must not match "team.*" nor "t*"
    assert teams == []


def test_a_failing_consumer_does_not_stop_the_others(admin, consumers, django_capture_on_commit_callbacks):
    def explode(event: Event) -> None:
        raise RuntimeError("consumer bug")

    explode.__qualname__ = "test_exploding_consumer"
    subscribe("team.*")(explode)
    try:
        received = consumers("team.*")
        with django_capture_on_commit_callbacks(execute=True):
            services.team_create(actor=admin, name="North")
    finally:
        unsubscribe(f"{explode.__module__}.{explode.__qualname__}")
    assert [e.verb for e in received] == ["team.created"]
    assert Team.objects.filter(name="North").exists()


def test_writes_without_consumers_queue_nothing(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.team_create(actor=admin, name="North")
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_a_really_committed_write_is_delivered_by_the_worker(admin, consumers):
    received = consumers("team.*")
    team = services.team_create(actor=admin, name="North")
    assert [(e.verb, e.subject_id) for e in received] == [("team.created", team.pk)]


# --- request id -----------------------------------------------------------------------------


def test_the_request_id_header_ends_up_on_the_event(api, admin):
    resp = api(admin).post("/api/v1/teams", {"name": "North"}, **{"X-Request-ID": "req-0123456789"})
    assert resp.status_code == 201
    assert resp["X-Request-ID"] == "req-0123456789"
    assert Event.objects.get(verb="team.created").request_id == "req-0123456789"


@pytest.mark.parametrize("header", ["short", "has spaces in it", "x" * 65, "semi;colon;inside"])
def test_an_unusable_request_id_is_replaced_by_a_generated_one(api, admin, header):
    resp = api(admin).post("/api/v1/teams", {"name": "North"}, **{"X-Request-ID": header})
    event = Event.objects.get(verb="team.created")
    assert event.request_id != header
    assert len(event.request_id) == 32
    assert resp["X-Request-ID"] == event.request_id


def test_each_request_gets_its_own_request_id(api, admin):
    client = api(admin)
    client.post("/api/v1/teams", {"name": "North"})
    client.post("/api/v1/teams", {"name": "South"})
    ids = list(Event.objects.filter(verb="team.created").values_list("request_id", flat=True))
    assert len(ids) == 2 and ids[0] and ids[1] and ids[0] != ids[1]


def test_a_write_outside_a_request_has_no_request_id(admin):
    services.team_create(actor=admin, name="North")
    assert Event.objects.get(verb="team.created").request_id == ""


# --- GET /api/v1/events ---------------------------------------------------------------------


@pytest.fixture
def history(admin: Principal, member_of: Any) -> dict[str, Any]:
    """A small audit trail with known moments between its writes."""
    other_admin = member_of(Role.ADMIN)
    marks = [timezone.now()]
    team = services.team_create(actor=admin, name="North")
    marks.append(timezone.now())
    services.team_update(actor=other_admin, team=team, expected_version=1, name="South")
    marks.append(timezone.now())
    member = services.member_add(actor=other_admin, user=UserFactory.create(), role="sales")
    marks.append(timezone.now())
    services.team_delete(actor=admin, team=Team.objects.get(pk=team.pk))
    marks.append(timezone.now())
    return {"team": team, "member": member, "other_admin": other_admin, "marks": marks}


def _events(client: Any, **query: Any) -> Any:
    return client.get("/api/v1/events?" + urlencode(query))


def _verbs(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.content
    return [e["verb"] for e in resp.json()["items"] if e["verb"] != "token.created"]


def test_the_audit_trail_lists_the_workspaces_events_newest_first(api, admin, history):
    items = api(admin).get("/api/v1/events").json()["items"]
    verbs = [e["verb"] for e in items]
    assert verbs[0] == "token.created"  # the API client's own token, made last
    assert verbs[1:] == ["team.deleted", "member.added", "team.updated", "team.created"]
    deleted = items[1]
    assert deleted["subject_type"] == "team" and deleted["subject_id"] == history["team"].pk
    assert (deleted["actor_id"], deleted["actor_email"]) == (admin.user_id, admin.user.email)
    assert deleted["changes"] == {"name": ["South", None]}


def test_filtering_by_exact_verb(api, admin, history):
    assert _verbs(_events(api(admin), verb="team.updated")) == ["team.updated"]


def test_filtering_by_verb_prefix(api, admin, history):
    assert _verbs(_events(api(admin), verb="team.*")) == ["team.deleted", "team.updated", "team.created"]


def test_filtering_by_subject(api, admin, history):
    client = api(admin)
    assert _verbs(_events(client, subject_type="membership")) == ["member.added"]
    by_subject = _events(client, subject_type="team", subject_id=history["team"].pk)
    assert _verbs(by_subject) == ["team.deleted", "team.updated", "team.created"]
    assert _verbs(_events(client, subject_type="team", subject_id=history["team"].pk + 1000)) == []


def test_filtering_by_actor(api, admin, history):
    other = history["other_admin"]
    assert _verbs(_events(api(admin), actor_id=other.user_id)) == ["member.added", "team.updated"]


def test_filtering_by_time_since_inclusive_until_exclusive(api, admin, history):
    marks = history["marks"]
    client = api(admin)
    window = _events(client, since=marks[1].isoformat(), until=marks[3].isoformat())
    assert _verbs(window) == ["member.added", "team.updated"]
    assert _verbs(_events(client, until=marks[1].isoformat())) == ["team.created"]
    assert _verbs(_events(client, since=marks[4].isoformat())) == []


def test_an_event_exactly_at_since_is_included_and_exactly_at_until_is_not(api, admin, history):
    created = Event.objects.get(verb="team.created").created_at
    client = api(admin)
    assert _verbs(_events(client, since=created.isoformat(), verb="team.created")) == ["team.created"]
    assert _verbs(_events(client, until=created.isoformat(), verb="team.created")) == []


def test_filters_combine(api, admin, history):
    other = history["other_admin"]
    assert _verbs(_events(api(admin), verb="team.*", actor_id=other.user_id)) == ["team.updated"]


def test_since_after_until_is_refused(api, admin, history):
    now = timezone.now()
    resp = _events(api(admin), since=now.isoformat(), until=(now - timedelta(days=1)).isoformat())
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "invalid_range"
    assert "since" in err["fields"]


def test_an_invalid_filter_value_is_a_validation_error_on_that_field(api, admin):
    client = api(admin)
    for query, field in (
        ({"since": "yesterday"}, "since"),
        ({"actor_id": "me"}, "actor_id"),
        ({"verb": "x" * 81}, "verb"),
    ):
        resp = _events(client, **query)
        assert resp.status_code == 422
        assert field in resp.json()["error"]["fields"]


def test_the_audit_trail_pages_with_a_cursor(api, admin, history):
    client = api(admin)
    first = client.get("/api/v1/events?limit=2").json()
    second = client.get(f"/api/v1/events?limit=2&cursor={first['next_cursor']}").json()
    third = client.get(f"/api/v1/events?limit=2&cursor={second['next_cursor']}").json()
    ids = [e["id"] for page in (first, second, third) for e in page["items"]]
    assert ids == list(
        Event.objects.filter(org_id=admin.org_id).order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert third["next_cursor"] is None
