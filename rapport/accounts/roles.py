"""The permission table: what each role may read and write, and which named permissions it holds.

This is the only place that decides access. Services call `require` / `scope` (rapport.core.access),
which read this table through `Principal`; nothing else compares role names.

Levels, per entity:
- NONE: nothing;
- OWN: records the actor owns;
- TEAM: records the actor owns or that belong to one of the actor's teams;
- ALL: every record of the workspace.
For entities without an owner (members, teams, the audit trail) any level above NONE means all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Level(IntEnum):
    NONE = 0
    OWN = 1
    TEAM = 2
    ALL = 3


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    SUPPORT = "support"
    MARKETING = "marketing"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Entity(StrEnum):
    """Everything access is decided for. Later apps use the names reserved here."""

    CONTACT = "contact"
    COMPANY = "company"
    ACTIVITY = "activity"
    DEAL = "deal"
    PRODUCT = "product"
    ORDER = "order"
    TICKET = "ticket"
    CAMPAIGN = "campaign"
    REPORT = "report"
    MEMBER = "member"
    TEAM = "team"
    EVENT = "event"


class Perm(StrEnum):
    """Named permissions that are not about one entity."""

    EXPORT = "export"
    MANAGE_SETTINGS = "manage_settings"
    SEE_SENSITIVE = "see_sensitive"
    VIEW_AUDIT = "view_audit"


class Mode(StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Grant:
    read: Level
    write: Level


@dataclass(frozen=True)
class RoleSpec:
    grants: dict[Entity, Grant]
    perms: frozenset[Perm] = field(default_factory=frozenset)

    def level(self, entity: Entity, mode: Mode) -> Level:
        grant = self.grants.get(entity)
        if grant is None:
            return Level.NONE
        return grant.read if mode is Mode.READ else grant.write


N, O, T, A = Level.NONE, Level.OWN, Level.TEAM, Level.ALL  # noqa: E741  (the table reads better)


def _g(read: Level, write: Level) -> Grant:
    return Grant(read=read, write=write)


ROLES: dict[Role, RoleSpec] = {
    Role.ADMIN: RoleSpec(
        grants={entity: _g(A, A) for entity in Entity},
        perms=frozenset(Perm),
    ),
    Role.MANAGER: RoleSpec(
        grants={
            Entity.CONTACT: _g(A, A),
            Entity.COMPANY: _g(A, A),
            Entity.ACTIVITY: _g(A, A),
            Entity.DEAL: _g(A, A),
            Entity.PRODUCT: _g(A, A),
            Entity.ORDER: _g(A, A),
            Entity.TICKET: _g(A, A),
            Entity.CAMPAIGN: _g(A, A),
            Entity.REPORT: _g(A, A),
            Entity.MEMBER: _g(A, N),
            Entity.TEAM: _g(A, N),
        },
        perms=frozenset({Perm.EXPORT, Perm.SEE_SENSITIVE}),
    ),
    Role.SALES: RoleSpec(
        grants={
            Entity.CONTACT: _g(A, T),
            Entity.COMPANY: _g(A, T),
            Entity.ACTIVITY: _g(A, O),
            Entity.DEAL: _g(T, O),
            Entity.PRODUCT: _g(A, N),
            Entity.ORDER: _g(T, O),
            Entity.TICKET: _g(A, N),
            Entity.CAMPAIGN: _g(A, N),
            Entity.REPORT: _g(A, O),
            Entity.MEMBER: _g(A, N),
            Entity.TEAM: _g(A, N),
        },
    ),
    Role.SUPPORT: RoleSpec(
        grants={
            Entity.CONTACT: _g(A, T),
            Entity.COMPANY: _g(A, T),
            Entity.ACTIVITY: _g(A, O),
            Entity.DEAL: _g(A, N),
            Entity.PRODUCT: _g(A, N),
            Entity.ORDER: _g(A, N),
            Entity.TICKET: _g(A, T),
            Entity.CAMPAIGN: _g(N, N),
            Entity.REPORT: _g(A, O),
            Entity.MEMBER: _g(A, N),
            Entity.TEAM: _g(A, N),
        },
    ),
    Role.MARKETING: RoleSpec(
        grants={
            Entity.CONTACT: _g(A, A),
            Entity.COMPANY: _g(A, A),
            Entity.ACTIVITY: _g(A, O),
            Entity.DEAL: _g(A, N),
            Entity.PRODUCT: _g(A, N),
            Entity.ORDER: _g(A, N),
            Entity.TICKET: _g(N, N),
            Entity.CAMPAIGN: _g(A, A),
            Entity.REPORT: _g(A, O),
            Entity.MEMBER: _g(A, N),
            Entity.TEAM: _g(A, N),
        },
        perms=frozenset({Perm.EXPORT}),
    ),
    Role.VIEWER: RoleSpec(
        grants={entity: _g(A, N) for entity in Entity if entity not in {Entity.EVENT}},
    ),
}
