"""A user of workspace A never reaches a record of workspace B through the API: always 404, nothing changes.

404 (not 403) so that ids of other workspaces leak nothing: "not yours" and "missing" look the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rapport.accounts import services
from rapport.accounts.models import ApiToken, Invitation, Membership, Team
from rapport.accounts.roles import Role
from rapport.activities.models import Activity, Notification, Task
from rapport.activities.notifications import notify
from rapport.activities.services import activity_create
from rapport.activities.task_services import task_create
from rapport.conftest import ApiClient
from rapport.core.customfields.definitions import custom_field_create
from rapport.core.models import CustomField, Event
from rapport.core.principal import Principal
from rapport.testing.factories import MembershipFactory


@dataclass
class WorkspaceB:
    member: Membership
    team: Team
    token: ApiToken
    token_secret: str
    invitation: Invitation
    custom_field: CustomField
    activity: Activity
    task: Task
    notification: Notification


@pytest.fixture
def b(other_admin: Principal) -> WorkspaceB:
    """Records of workspace B, made by B's admin through the services (so B has events too)."""
    member = services.member_add(actor=other_admin, user=MembershipFactory.create(role=Role.VIEWER).user, role="sales")
    team = services.team_create(actor=other_admin, name="B team", member_ids=[member.pk])
    token, secret = services.token_create(actor=other_admin, name="B token", scope="write")
    invitation = services.invitation_create(actor=other_admin, email="invitee@example.org", role="sales")
    field = custom_field_create(
        actor=other_admin, data={"entity": "contact", "label": "Tier", "type": "choice", "options": ["Gold"]}
    )
    activity = activity_create(actor=other_admin, data={"kind": "note", "body": "B's note"})
    task = task_create(actor=other_admin, data={"title": "B's task"})
    notification = notify(org_id=other_admin.org_id, user_id=other_admin.user_id, kind="reminder", title="B's")
    return WorkspaceB(
        member=member,
        team=team,
        token=token,
        token_secret=secret,
        invitation=invitation,
        custom_field=field,
        activity=activity,
        task=task,
        notification=notification,
    )


def _snapshot(b: WorkspaceB) -> dict[str, Any]:
    """Everything about B's records that a write could change, including team membership."""
    snap: dict[str, Any] = {}
    for name in ("member", "team", "token", "invitation", "custom_field", "activity", "task", "notification"):
        obj = getattr(b, name)
        fresh = type(obj).objects.filter(pk=obj.pk).first()
        snap[name] = fresh and {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.concrete_fields}
    snap["team_members"] = sorted(b.team.members.values_list("pk", flat=True))
    snap["events"] = list(Event.objects.filter(org_id=b.team.org_id).values_list("pk", flat=True))
    return snap


# Every API endpoint that takes an id, with what a hostile request would send to it.
ID_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/members/{member_id}", None),
    ("patch", "/api/v1/members/{member_id}", {"role": "admin"}),
    ("patch", "/api/v1/members/{member_id}", {"is_active": False}),
    ("get", "/api/v1/teams/{team_id}", None),
    ("patch", "/api/v1/teams/{team_id}", {"name": "Taken over", "member_ids": []}),
    ("delete", "/api/v1/teams/{team_id}", None),
    ("get", "/api/v1/tokens/{token_id}", None),
    ("delete", "/api/v1/tokens/{token_id}", None),
    ("delete", "/api/v1/members/invitations/{invitation_id}", None),
    ("get", "/api/v1/custom-fields/{field_id}", None),
    ("patch", "/api/v1/custom-fields/{field_id}", {"label": "Taken over", "options": []}),
    ("delete", "/api/v1/custom-fields/{field_id}", None),
    ("get", "/api/v1/activities/{activity_id}", None),
    ("patch", "/api/v1/activities/{activity_id}", {"subject": "Taken over", "body": "Taken over"}),
    ("delete", "/api/v1/activities/{activity_id}", None),
    ("post", "/api/v1/activities/{activity_id}/restore", None),
    ("get", "/api/v1/tasks/{task_id}", None),
    ("patch", "/api/v1/tasks/{task_id}", {"title": "Taken over", "status": "done"}),
    ("delete", "/api/v1/tasks/{task_id}", None),
    ("post", "/api/v1/tasks/{task_id}/complete", None),
    ("post", "/api/v1/notifications/{notification_id}/read", None),
]
# Paths with a parameter that is not a record id.
NOT_RECORD_IDS = {("get", "/api/v1/custom-fields/schema/{entity}")}


def _url(template: str, b: WorkspaceB) -> str:
    return template.format(
        member_id=b.member.pk,
        team_id=b.team.pk,
        token_id=b.token.pk,
        invitation_id=b.invitation.pk,
        field_id=b.custom_field.pk,
        activity_id=b.activity.pk,
        task_id=b.task.pk,
        notification_id=b.notification.pk,
    )


def _send(client: ApiClient, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if method == "patch":
        # The right version, so that only the workspace can be the reason for a refusal.
        return client.patch(url, body, **{"If-Match": '"v1"'})
    if method == "delete" and "/custom-fields/" in url:
        url += "?confirm=tier"  # the right confirmation, so that only the workspace can be the reason
    return getattr(client, method)(url)


def _assert_not_found(resp: Any) -> None:
    assert resp.status_code == 404, (resp.status_code, resp.content[:200])
    assert resp.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "template", "body"), ID_ENDPOINTS)
def test_an_admin_of_a_gets_404_for_every_record_of_b_and_nothing_changes(api, admin, b, method, template, body):
    client = api(admin)
    before = _snapshot(b)
    a_events = Event.objects.filter(org_id=admin.org_id).count()
    _assert_not_found(_send(client, method, _url(template, b), body))
    assert _snapshot(b) == before
    assert Event.objects.filter(org_id=admin.org_id).count() == a_events


# Each app's tests keep their own list (e.g. rapport/contacts/tests/test_contacts_permissions.py).
OTHER_APPS = (
    "/api/v1/contacts",
    "/api/v1/companies",
    "/api/v1/views",
    "/api/v1/email-templates",
    # rapport/activities/tests/test_attachments.py (files in a temporary MEDIA_ROOT)
    "/api/v1/attachments",
    "/api/v1/activities/{activity_id}/attachments",
    # rapport/activities/tests/test_email_api.py (needs a real SMTP sink)
    "/api/v1/emails",
    # rapport/integrations/tests/test_mailbox_api.py (needs a real IMAP server)
    "/api/v1/mailboxes",
    # rapport/sales/tests/test_catalog_api.py (products, competitors, exchange rates)
    "/api/v1/products",
    "/api/v1/competitors",
    "/api/v1/exchange-rates",
    # rapport/sales/tests/test_deal_api.py (test_every_deal_endpoint_answers_404_for_another_workspace)
    "/api/v1/deals",
    # rapport/sales/tests/test_pipelines_api.py (test_every_pipeline_endpoint_answers_404_for_another_workspace)
    "/api/v1/pipelines",
    "/api/v1/stages",
    # rapport/sales/tests/test_orders_api.py (test_every_order_endpoint_answers_404_for_another_workspace)
    "/api/v1/orders",
    # rapport/sales/tests/test_quotes_api.py (test_every_quote_endpoint_answers_404_for_another_workspace,
    # with POST /deals/{id}/order) and test_deal_lines.py (GET/PUT /deals/{id}/lines)
    "/api/v1/quotes",
    # rapport/sales/tests/test_quotas.py (test_every_quota_endpoint_answers_404_for_another_workspace)
    "/api/v1/quotas",
    # rapport/service/tests/test_ticket_api.py (test_every_ticket_endpoint_answers_404_for_another_workspace)
    "/api/v1/tickets",
    # rapport/service/tests/test_queue_api.py, test_sla_policy_api.py, test_calendar_api.py
    # (test_every_..._endpoint_answers_404_for_another_workspace: queues, agents, routing rules, SLA policies, holidays)
    "/api/v1/queues",
    "/api/v1/routing-rules",
    "/api/v1/sla-policies",
    "/api/v1/service/calendar",
    # rapport/service/tests/test_support_mailboxes.py (test_every_support_mailbox_endpoint_answers_404_...)
    "/api/v1/support-mailboxes",
    # rapport/service/tests/test_canned_api.py (test_every_canned_endpoint_answers_404_for_another_workspace,
    # with POST /tickets/{ticket_id}/canned-replies/{reply_id})
    "/api/v1/canned-replies",
)


def test_every_endpoint_that_takes_an_id_is_covered():
    from rapport.config.api import api

    paths = api.get_openapi_schema()["paths"]
    documented = {
        (method, path)
        for path, ops in paths.items()
        if "{" in path and not path.startswith(OTHER_APPS)
        for method in ops
    }
    assert documented - NOT_RECORD_IDS == {(method, template) for method, template, _ in ID_ENDPOINTS}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SALES])
def test_other_roles_of_a_also_get_404_for_bs_records(api, member_of, b, role):
    client = api(member_of(role))
    before = _snapshot(b)
    for method, template, body in ID_ENDPOINTS:
        if template.startswith("/api/v1/members/") and method != "get":
            continue  # admin-only whatever the id: refused (403) before any record is looked up
        _assert_not_found(_send(client, method, _url(template, b), body))
    assert _snapshot(b) == before


def test_a_user_in_both_workspaces_reaches_b_only_with_a_b_token(api, admin, other_org, b):
    MembershipFactory.create(org=other_org, user=admin.user, role=Role.ADMIN)
    a_client = api(admin)
    before = _snapshot(b)
    for method, template, body in ID_ENDPOINTS:
        _assert_not_found(_send(a_client, method, _url(template, b), body))
    assert _snapshot(b) == before
    in_b = Principal.for_membership(Membership.objects.get(org=other_org, user=admin.user))
    assert api(in_b).get(f"/api/v1/teams/{b.team.pk}").status_code == 200


def test_b_token_keeps_working_after_a_tried_to_revoke_it(api, admin, b):
    api(admin).delete(f"/api/v1/tokens/{b.token.pk}")
    assert ApiClient(b.token_secret).get("/api/v1/me").status_code == 200


def test_lists_show_nothing_of_b(api, admin, b):
    client = api(admin)
    members = {m["id"] for m in client.get("/api/v1/members").json()["items"]}
    teams = {t["id"] for t in client.get("/api/v1/teams").json()["items"]}
    tokens = {t["id"] for t in client.get("/api/v1/tokens").json()["items"]}
    invitations = {i["id"] for i in client.get("/api/v1/members/invitations").json()["items"]}
    events = client.get("/api/v1/events?limit=200").json()["items"]
    assert members == {admin.membership_id}
    assert b.team.pk not in teams and teams == set()
    assert b.token.pk not in tokens
    assert invitations == set()
    assert events and all(e["actor_id"] == admin.user_id for e in events)
    b_event_ids = set(Event.objects.filter(org_id=b.team.org_id).values_list("pk", flat=True))
    assert b_event_ids and not b_event_ids & {e["id"] for e in events}


def test_event_filters_do_not_reach_b(api, admin, other_admin, b):
    client = api(admin)
    for query in (
        f"actor_id={other_admin.user_id}",
        f"subject_type=team&subject_id={b.team.pk}",
        "verb=team.*",
        "verb=invitation.sent",
    ):
        assert client.get(f"/api/v1/events?{query}").json()["items"] == [], query


def test_a_team_of_a_cannot_take_bs_members(api, admin, b):
    client = api(admin)
    resp = client.post("/api/v1/teams", {"name": "Poach", "member_ids": [b.member.pk]})
    assert resp.status_code == 422
    assert not Team.objects.filter(name="Poach").exists()
    assert list(b.member.teams.values_list("pk", flat=True)) == [b.team.pk]
