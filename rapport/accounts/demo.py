"""The demo workspace. Each app that has demo data appends a step to DEMO_STEPS (in its AppConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from rapport.accounts import services
from rapport.accounts.models import Membership, Organization, Team, User
from rapport.accounts.roles import Role
from rapport.core.principal import Principal
from rapport.core.tasks import refresh_planner_statistics

DEMO_NAME = "Acme Demo"
DEMO_SLUG = "acme-demo"
DEFAULT_PASSWORD = "rapport-demo"  # noqa: S105  (the published demo password)
DEMO_USERS = [
    (Role.ADMIN, "admin@example.com", "Ada Admin"),
    (Role.MANAGER, "manager@example.com", "Mona Manager"),
    (Role.SALES, "sales@example.com", "Sam Sales"),
    (Role.SUPPORT, "support@example.com", "Sue Support"),
    (Role.MARKETING, "marketing@example.com", "Mark Marketing"),
    (Role.VIEWER, "viewer@example.com", "Vic Viewer"),
]
DEMO_TEAMS = {"Sales": ["manager@example.com", "sales@example.com"], "Support": ["support@example.com"]}

# Steps that fill the demo workspace: each gets the admin's principal. Must be idempotent.
DEMO_STEPS: list[Callable[[Principal], None]] = []


@dataclass
class DemoResult:
    org: Organization
    logins: list[tuple[str, str]]


def _user(email: str, name: str, password: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, name=name)
    else:
        user.name, user.is_active = name, True
        user.set_password(password)
        user.save(update_fields=["name", "is_active", "password"])
    return user


@transaction.atomic
def build_demo(*, password: str = DEFAULT_PASSWORD) -> DemoResult:
    admin_role, admin_email, admin_name = DEMO_USERS[0]
    admin = _user(admin_email, admin_name, password)
    org = Organization.objects.filter(slug=DEMO_SLUG).first()
    if org is None:
        org, actor = services.workspace_create(name=DEMO_NAME, admin=admin, slug=DEMO_SLUG)
    else:
        Membership.objects.update_or_create(org=org, user=admin, defaults={"role": admin_role, "is_active": True})
        actor = Principal.for_membership(Membership.objects.select_related("user", "org").get(org=org, user=admin))
    for role, email, name in DEMO_USERS[1:]:
        user = _user(email, name, password)
        membership = Membership.objects.filter(org=org, user=user).first()
        if membership is None:
            services.member_add(actor=actor, user=user, role=role)
        elif membership.role != role or not membership.is_active:
            services.member_update(actor=actor, membership=membership, role=role, is_active=True)
    for team_name, emails in DEMO_TEAMS.items():
        member_ids = list(Membership.objects.filter(org=org, user__email__in=emails).values_list("pk", flat=True))
        team = Team.objects.filter(org=org, name=team_name).first()
        if team is None:
            services.team_create(actor=actor, name=team_name, member_ids=member_ids)
        else:
            services.team_update(actor=actor, team=team, expected_version=None, member_ids=member_ids)
    for step in DEMO_STEPS:
        step(actor)
    refresh_planner_statistics()  # thousands of rows were just added: let the planner know
    return DemoResult(org=org, logins=[(role.label, email) for role, email, _ in DEMO_USERS])
