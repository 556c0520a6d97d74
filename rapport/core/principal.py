"""Principal: who is acting (user, workspace, role, teams). Every service and selector takes one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapport.accounts.roles import ROLES, Entity, Level, Mode, Perm, Role

if TYPE_CHECKING:
    from rapport.accounts.models import Membership, Organization, User


@dataclass(frozen=True)
class Principal:
    user: User
    org: Organization
    role: Role
    team_ids: frozenset[int]
    membership_id: int | None = None
    # "read" for read-only API tokens; "write" for sessions and read-write tokens.
    scope: str = "write"

    @property
    def user_id(self) -> int:
        return self.user.pk

    @property
    def org_id(self) -> int:
        return self.org.pk

    def level(self, entity: Entity, mode: Mode) -> Level:
        if mode is Mode.WRITE and self.scope != "write":
            return Level.NONE
        return ROLES[self.role].level(entity, mode)

    def can(self, entity: Entity, mode: Mode = Mode.READ) -> bool:
        return self.level(entity, mode) > Level.NONE

    def has_perm(self, perm: Perm) -> bool:
        if perm is Perm.MANAGE_SETTINGS and self.scope != "write":
            return False
        return perm in ROLES[self.role].perms

    @classmethod
    def for_membership(cls, membership: Membership, *, scope: str = "write") -> Principal:
        """Build the principal of an active membership (one query for the team ids)."""
        team_ids = frozenset(membership.teams.values_list("pk", flat=True))
        return cls(
            user=membership.user,
            org=membership.org,
            role=Role(membership.role),
            team_ids=team_ids,
            membership_id=membership.pk,
            scope=scope,
        )
