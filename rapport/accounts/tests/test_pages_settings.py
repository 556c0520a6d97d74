"""Workspace settings pages: members, teams, API tokens, the audit trail; who may use them; query counts."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.accounts import services
from rapport.accounts.models import ApiToken, Membership, Organization, Team, User
from rapport.accounts.roles import Role
from rapport.core.events import record_event
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import TeamFactory

# Query budgets of whole pages (session, user, principal, shell, the list itself): constant in rows.
MEMBERS_PAGE_QUERIES = 10
AUDIT_PAGE_QUERIES = 10

SECRET = re.compile(r"rpt_[A-Za-z0-9_-]{20,}")


def _flashes(resp) -> str:
    return " ".join(str(m) for m in resp.context["messages"]) if resp.context else ""


def _membership(principal: Principal) -> Membership:
    return Membership.objects.get(org_id=principal.org_id, user_id=principal.user_id)


# --- members -------------------------------------------------------------------------------------


def test_members_page_lists_every_member_with_role_and_status(web, admin, member_of):
    sales = member_of(Role.SALES)
    gone = member_of(Role.VIEWER)
    Membership.objects.filter(pk=gone.membership_id).update(is_active=False)
    resp = web(admin).get("/settings/members/")
    assert resp.status_code == 200
    body = resp.content.decode()
    for principal in (admin, sales, gone):
        assert principal.user.email in body
    assert "Deactivated" in body


def test_admin_changes_a_members_role_with_the_current_version(web, admin, member_of):
    sales = member_of(Role.SALES)
    membership = _membership(sales)

    resp = web(admin).post(
        f"/settings/members/{membership.pk}/", {"role": Role.MANAGER.value, "version": membership.version}, follow=True
    )

    assert resp.status_code == 200
    assert "is now manager" in _flashes(resp)
    after = _membership(sales)
    assert after.role == Role.MANAGER
    assert after.version == membership.version + 1
    event = Event.objects.get(verb="member.updated", subject_id=membership.pk)
    assert event.changes == {"role": ["sales", "manager"]}
    assert event.actor_id == admin.user_id


def test_changing_a_role_with_a_stale_version_is_refused(web, admin, member_of):
    sales = member_of(Role.SALES)
    membership = _membership(sales)
    stale = membership.version
    services.member_update(actor=admin, membership=membership, role=Role.SUPPORT, expected_version=stale)

    resp = web(admin).post(
        f"/settings/members/{membership.pk}/", {"role": Role.MANAGER.value, "version": stale}, follow=True
    )

    assert "changed by someone else" in _flashes(resp)
    assert _membership(sales).role == Role.SUPPORT
    assert not Event.objects.filter(verb="member.updated", changes__role=["support", "manager"]).exists()


def test_changing_to_an_unknown_role_is_refused(web, admin, member_of):
    sales = member_of(Role.SALES)
    membership = _membership(sales)
    resp = web(admin).post(
        f"/settings/members/{membership.pk}/", {"role": "overlord", "version": membership.version}, follow=True
    )
    assert "Choose one of the listed roles." in _flashes(resp)
    assert _membership(sales).role == Role.SALES


def test_admin_deactivates_and_reactivates_a_member(web, admin, member_of):
    sales = member_of(Role.SALES)
    services.token_create(actor=sales, name="script", scope="read")
    client = web(admin)
    membership = _membership(sales)

    resp = client.post(
        f"/settings/members/{membership.pk}/", {"action": "deactivate", "version": membership.version}, follow=True
    )

    assert "was deactivated" in _flashes(resp)
    membership.refresh_from_db()
    assert membership.is_active is False
    assert Event.objects.filter(verb="member.deactivated", subject_id=membership.pk).count() == 1
    assert not ApiToken.objects.filter(user=sales.user, revoked_at__isnull=True).exists()

    resp = client.post(
        f"/settings/members/{membership.pk}/", {"action": "reactivate", "version": membership.version}, follow=True
    )

    assert "was reactivated" in _flashes(resp)
    membership.refresh_from_db()
    assert membership.is_active is True
    assert Event.objects.filter(verb="member.reactivated", subject_id=membership.pk).count() == 1


def test_a_deactivated_member_loses_the_workspace(web, admin, member_of):
    sales = member_of(Role.SALES)
    services.member_update(actor=admin, membership=_membership(sales), is_active=False)
    resp = web(sales).get("/")
    assert resp.status_code == 403
    assert "No workspace" in resp.content.decode()


def test_the_last_admin_cannot_deactivate_themselves(web, admin):
    membership = _membership(admin)
    resp = web(admin).post(
        f"/settings/members/{membership.pk}/", {"action": "deactivate", "version": membership.version}, follow=True
    )
    assert "at least one active admin" in _flashes(resp)
    membership.refresh_from_db()
    assert membership.is_active is True and membership.role == Role.ADMIN
    assert not Event.objects.filter(verb="member.deactivated").exists()


def test_the_last_admin_cannot_be_demoted(web, admin):
    membership = _membership(admin)
    resp = web(admin).post(
        f"/settings/members/{membership.pk}/", {"role": Role.VIEWER.value, "version": membership.version}, follow=True
    )
    assert "at least one active admin" in _flashes(resp)
    assert _membership(admin).role == Role.ADMIN


def test_an_admin_can_be_demoted_when_another_admin_remains(web, admin, member_of):
    second = member_of(Role.ADMIN)
    membership = _membership(second)
    web(admin).post(f"/settings/members/{membership.pk}/", {"role": Role.SALES.value, "version": membership.version})
    assert _membership(second).role == Role.SALES


def test_member_update_is_post_only(web, admin, member_of):
    sales = member_of(Role.SALES)
    resp = web(admin).get(f"/settings/members/{sales.membership_id}/")
    assert resp.status_code == 405


# --- teams ---------------------------------------------------------------------------------------


def test_admin_creates_a_team_with_members(web, admin, member_of):
    a, b = member_of(Role.SALES), member_of(Role.SUPPORT)
    resp = web(admin).post("/settings/teams/", {"name": "Closers", "members": [a.membership_id, b.membership_id]})
    assert resp.status_code == 302 and resp.url == "/settings/teams/"
    team = Team.objects.get(org_id=admin.org_id, name="Closers")
    assert set(team.members.values_list("pk", flat=True)) == {a.membership_id, b.membership_id}
    assert Event.objects.filter(verb="team.created", subject_id=team.pk).count() == 1
    page = web(admin).get("/settings/teams/").content.decode()
    assert "Closers" in page and a.user.display_name in page


def test_a_team_name_already_taken_is_refused(web, admin):
    TeamFactory(org=admin.org, name="Closers")
    resp = web(admin).post("/settings/teams/", {"name": "Closers"})
    assert resp.status_code == 400
    assert "already exists" in resp.content.decode()
    assert Team.objects.filter(org_id=admin.org_id).count() == 1


def test_a_team_without_a_name_is_refused(web, admin):
    resp = web(admin).post("/settings/teams/", {"name": "  "})
    assert resp.status_code == 400
    assert not Team.objects.exists()


def test_admin_renames_a_team_and_changes_its_members(web, admin, member_of):
    a, b = member_of(Role.SALES), member_of(Role.SALES)
    team = services.team_create(actor=admin, name="North", member_ids=[a.membership_id])
    client = web(admin)
    assert "North" in client.get(f"/settings/teams/{team.pk}/").content.decode()

    resp = client.post(
        f"/settings/teams/{team.pk}/", {"name": "North-East", "members": [b.membership_id], "version": team.version}
    )

    assert resp.status_code == 302
    team.refresh_from_db()
    assert team.name == "North-East"
    assert team.version == 2
    assert list(team.members.values_list("pk", flat=True)) == [b.membership_id]
    event = Event.objects.get(verb="team.updated", subject_id=team.pk)
    assert event.changes["name"] == ["North", "North-East"]


def test_renaming_a_team_with_a_stale_version_is_refused(web, admin):
    team = services.team_create(actor=admin, name="North")
    services.team_update(actor=admin, team=team, expected_version=1, name="Nord")

    resp = web(admin).post(f"/settings/teams/{team.pk}/", {"name": "Norte", "version": 1})

    assert resp.status_code == 412
    assert "changed by someone else" in resp.content.decode()
    team.refresh_from_db()
    assert team.name == "Nord" and team.version == 2


def test_admin_deletes_a_team(web, admin):
    team = services.team_create(actor=admin, name="Short-lived")
    resp = web(admin).post(f"/settings/teams/{team.pk}/", {"action": "delete"})
    assert resp.status_code == 302 and resp.url == "/settings/teams/"
    assert not Team.objects.filter(pk=team.pk).exists()
    assert Event.objects.filter(verb="team.deleted", subject_id=team.pk).count() == 1


def test_unknown_team_shows_the_not_found_page(web, admin):
    assert web(admin).get("/settings/teams/999999/").status_code == 404


# --- tokens --------------------------------------------------------------------------------------


def test_creating_a_token_shows_its_secret_once(web, admin):
    client = web(admin)
    resp = client.post("/settings/tokens/", {"name": "Zapier", "scope": "read"})

    assert resp.status_code == 200
    found = SECRET.findall(resp.content.decode())
    assert len(set(found)) == 1
    secret = found[0]
    token = ApiToken.objects.get(org_id=admin.org_id, user=admin.user, name="Zapier")
    assert token.token_hash == services.hash_secret(secret)
    assert token.scope == "read"
    assert secret not in token.token_hash and secret[4:12] == token.prefix

    me = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me")
    assert me.status_code == 200


def test_the_token_list_never_shows_a_secret(web, admin):
    _, secret = services.token_create(actor=admin, name="nightly export", scope="write")
    resp = web(admin).get("/settings/tokens/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "nightly export" in body
    assert secret not in body
    assert SECRET.search(body) is None


def test_a_token_with_an_expiry_in_the_past_is_refused(web, admin):
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    resp = web(admin).post("/settings/tokens/", {"name": "old", "scope": "read", "expires_at": yesterday})
    assert resp.status_code == 422
    assert "in the future" in resp.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_without_a_name_is_refused(web, admin):
    resp = web(admin).post("/settings/tokens/", {"name": "", "scope": "read"})
    assert resp.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_working(web, admin):
    token, secret = services.token_create(actor=admin, name="script", scope="read")
    resp = web(admin).post(f"/settings/tokens/{token.pk}/revoke/", follow=True)
    assert resp.status_code == 200
    assert "was revoked" in _flashes(resp)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Event.objects.filter(verb="token.revoked", subject_id=token.pk).count() == 1
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("role", list(Role))
def test_every_role_manages_its_own_tokens(web, member_of, role):
    principal = member_of(role)
    client = web(principal)
    assert client.get("/settings/tokens/").status_code == 200
    assert client.post("/settings/tokens/", {"name": "mine", "scope": "read"}).status_code == 200
    token = ApiToken.objects.get(user=principal.user, name="mine")
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_member_cannot_revoke_a_colleagues_token(web, member_of):
    owner, other = member_of(Role.SALES), member_of(Role.SALES)
    token, _ = services.token_create(actor=owner, name="owner's", scope="read")
    resp = web(other).post(f"/settings/tokens/{token.pk}/revoke/")
    assert resp.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


# --- audit trail ---------------------------------------------------------------------------------


def _events(actor: Principal, verb: str, count: int) -> None:
    with transaction.atomic():
        for n in range(count):
            record_event(actor, verb, actor.org, {"n": [None, n]}, subject_type="organization")


def test_admin_sees_the_workspaces_events(web, admin, member_of):
    services.team_create(actor=admin, name="Audited")
    resp = web(admin).get("/settings/audit/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "team.created" in body
    assert "Audited" in body


def test_audit_never_shows_another_workspaces_events(web, admin, other_admin):
    services.team_create(actor=other_admin, name="Their secret team")
    body = web(admin).get("/settings/audit/").content.decode()
    assert "Their secret team" not in body
    assert "team.created" not in body


def test_audit_filters_by_verb_prefix_actor_and_record_type(web, admin, member_of):
    other = member_of(Role.ADMIN)
    services.team_create(actor=admin, name="Alpha")
    services.team_create(actor=other, name="Beta")
    token, _ = services.token_create(actor=admin, name="gamma-token", scope="read")
    client = web(admin)

    by_verb = client.get("/settings/audit/", {"verb": "team.created"})
    assert by_verb.status_code == 200
    assert {e.verb for e in by_verb.context["page"].items} == {"team.created"}
    assert len(by_verb.context["page"].items) == 2

    by_prefix = client.get("/settings/audit/", {"verb": "token.*"})
    assert [e.subject_id for e in by_prefix.context["page"].items] == [token.pk]

    by_actor = client.get("/settings/audit/", {"verb": "team.*", "actor": other.user_id})
    items = by_actor.context["page"].items
    assert len(items) == 1 and items[0].actor_id == other.user_id
    body = by_actor.content.decode()
    assert "Beta" in body and "Alpha" not in body

    by_type = client.get("/settings/audit/", {"subject_type": "apitoken"})
    assert {e.subject_type for e in by_type.context["page"].items} == {"apitoken"}


def test_audit_filters_by_date(web, admin):
    services.team_create(actor=admin, name="Today")
    client = web(admin)
    today = timezone.now().date()
    tomorrow = (today + timedelta(days=1)).isoformat()

    assert len(client.get("/settings/audit/", {"since": tomorrow}).context["page"].items) == 0
    assert len(client.get("/settings/audit/", {"until": today.isoformat()}).context["page"].items) == 0
    window = client.get("/settings/audit/", {"since": today.isoformat(), "until": tomorrow})
    assert "team.created" in {e.verb for e in window.context["page"].items}


def test_audit_with_a_bad_date_answers_400_with_a_message(web, admin):
    resp = web(admin).get("/settings/audit/", {"since": "not-a-date"})
    assert resp.status_code == 400
    assert "Enter a valid date." in resp.content.decode()


def test_audit_with_since_after_until_answers_400_with_a_message(web, admin):
    resp = web(admin).get("/settings/audit/", {"since": "2030-01-02", "until": "2030-01-01"})
    assert resp.status_code == 400
    assert "must be before" in resp.content.decode()


def test_audit_with_a_bad_cursor_answers_400_with_a_message(web, admin):
    resp = web(admin).get("/settings/audit/", {"cursor": "!!garbage!!"})
    assert resp.status_code == 400
    assert "cursor is not valid" in resp.content.decode()


def test_audit_paginates_with_an_older_events_link_that_keeps_the_filter(web, admin):
    _events(admin, "test.ping", 55)
    _events(admin, "test.other", 3)
    client = web(admin)

    first = client.get("/settings/audit/", {"verb": "test.ping"})
    assert first.status_code == 200
    first_ids = [e.pk for e in first.context["page"].items]
    assert len(first_ids) == 50
    match = re.search(r'href="\?([^"]*cursor=[^"]+)"', first.content.decode())
    assert match, "no link to older events"
    query = parse_qs(match.group(1).replace("&amp;", "&"))
    assert query["verb"] == ["test.ping"]

    second = client.get("/settings/audit/?" + match.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    second_ids = [e.pk for e in second.context["page"].items]
    assert not set(first_ids) & set(second_ids)
    pings = Event.objects.filter(org_id=admin.org_id, verb="test.ping").order_by("-created_at", "-id")
    assert first_ids + second_ids == list(pings.values_list("pk", flat=True))
    assert {e.verb for e in second.context["page"].items} == {"test.ping"}
    assert second.context["page"].next_cursor is None
    assert "Older events" not in second.content.decode()


# --- who may use the settings pages ---------------------------------------------------------------


MANAGE_PAGES = ["/settings/members/", "/settings/teams/", "/settings/security/"]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.SUPPORT, Role.MARKETING, Role.VIEWER])
@pytest.mark.parametrize("path", [*MANAGE_PAGES, "/settings/audit/"])
def test_settings_pages_answer_403_to_roles_without_the_permission(web, member_of, role, path):
    resp = web(member_of(role)).get(path)
    assert resp.status_code == 403
    assert "Not allowed" in resp.content.decode()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES, Role.VIEWER])
def test_roles_without_the_permission_change_nothing_by_posting(web, admin, member_of, role):
    principal = member_of(role)
    target = member_of(Role.SUPPORT)
    team = services.team_create(actor=admin, name="Fixed")
    client = web(principal)
    events_before = Event.objects.count()

    responses = [
        client.post("/settings/teams/", {"name": "Rogue"}),
        client.post(f"/settings/teams/{team.pk}/", {"name": "Renamed", "version": team.version}),
        client.post(f"/settings/teams/{team.pk}/", {"action": "delete"}),
        client.post(f"/settings/members/{target.membership_id}/", {"role": "admin", "version": 1}),
        client.post(f"/settings/members/{target.membership_id}/", {"action": "deactivate", "version": 1}),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    team.refresh_from_db()
    assert team.name == "Fixed"
    assert not Team.objects.filter(name="Rogue").exists()
    target_membership = _membership(target)
    assert target_membership.role == Role.SUPPORT and target_membership.is_active
    assert Event.objects.count() == events_before


def test_settings_index_sends_admins_to_members_and_others_to_tokens(web, admin, member_of):
    assert web(admin).get("/settings/").url == "/settings/members/"
    assert web(member_of(Role.SALES)).get("/settings/").url == "/settings/tokens/"


def test_settings_pages_send_anonymous_visitors_to_login(client, db):
    for path in [*MANAGE_PAGES, "/settings/audit/", "/settings/tokens/"]:
        resp = client.get(path)
        assert resp.status_code == 302
        assert resp.url.startswith("/login/?next=")


# --- query counts --------------------------------------------------------------------------------


def _people(org: Organization, count: int, role: Role = Role.SALES) -> list[Principal]:
    """`count` members of `org` made in bulk (no password hashing: these tests only count queries)."""
    tag = secrets.token_hex(4)
    users = User.objects.bulk_create(
        [User(email=f"bulk-{tag}-{n}@example.org", name=f"Bulk {tag} {n}") for n in range(count)]
    )
    memberships = Membership.objects.bulk_create([Membership(org=org, user=u, role=role.value) for u in users])
    return [Principal(user=m.user, org=org, role=role, team_ids=frozenset(), membership_id=m.pk) for m in memberships]


def _fill_members(admin: Principal, count: int) -> None:
    people = _people(admin.org, count)
    for n, chunk in enumerate((people[::2], people[1::2])):
        ids = [p.membership_id for p in chunk if p.membership_id is not None]
        services.team_create(actor=admin, name=f"Team {count}-{n}", member_ids=ids)
    for n in range(count):
        services.invitation_create(actor=admin, email=f"invitee{count}-{n}@example.org", role=Role.VIEWER)


@pytest.mark.parametrize("rows", [5, 30])
def test_members_page_queries_do_not_grow_with_members(web, admin, rows, django_assert_max_num_queries):
    _fill_members(admin, rows)
    client = web(admin)
    client.get("/settings/members/")  # warm the session and anything cached per client
    with django_assert_max_num_queries(MEMBERS_PAGE_QUERIES):
        resp = client.get("/settings/members/")
    assert resp.status_code == 200
    assert len(resp.context["members"]) == rows + 1
    assert len(resp.context["invitations"]) == rows


def _queries(client: Client, path: str) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_members_page_runs_as_many_queries_for_30_members_as_for_5(web, admin):
    client = web(admin)
    _fill_members(admin, 4)
    small = _queries(client, "/settings/members/")
    _fill_members(admin, 25)
    assert Membership.objects.filter(org_id=admin.org_id).count() == 30
    assert _queries(client, "/settings/members/") == small


@pytest.mark.parametrize("rows", [5, 30])
def test_audit_page_queries_do_not_grow_with_events(web, admin, rows, django_assert_max_num_queries):
    actors = _people(admin.org, rows, Role.ADMIN)
    for actor in actors:
        _events(actor, "test.ping", 1)
    client = web(admin)
    client.get("/settings/audit/")
    with django_assert_max_num_queries(AUDIT_PAGE_QUERIES):
        resp = client.get("/settings/audit/")
    assert resp.status_code == 200
    assert len(resp.context["page"].items) == rows
    body = resp.content.decode()
    assert all(actor.user.display_name in body for actor in actors)


def test_audit_page_runs_as_many_queries_for_30_events_as_for_5(web, admin):
    client = web(admin)
    for actor in _people(admin.org, 5, Role.ADMIN):
        _events(actor, "test.ping", 1)
    small = _queries(client, "/settings/audit/")
    for actor in _people(admin.org, 25, Role.ADMIN):
        _events(actor, "test.ping", 1)
    assert _queries(client, "/settings/audit/") == small
