"""API schemas of the accounts app. Each lists its fields explicitly: no mass assignment."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import field_validator

from rapport.accounts.roles import Role
from rapport.core.schemas import Id, StrictIn, UtcDatetime

ApiTokenScope = Literal["read", "write"]


class UserOut(Schema):
    id: int
    email: str
    name: str


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str
    require_2fa: bool


class AccessOut(Schema):
    read: str
    write: str


class MeOut(Schema):
    user: UserOut
    workspace: WorkspaceOut
    role: str
    team_ids: list[int]
    access: dict[str, AccessOut]
    permissions: list[str]
    workspaces: list[WorkspaceOut]
    token_scope: str


class TeamRef(Schema):
    id: int
    name: str


class MemberOut(Schema):
    id: int
    user: UserOut
    role: str
    is_active: bool
    teams: list[TeamRef]
    version: int
    created_at: datetime

    @staticmethod
    def resolve_teams(obj: object) -> list[object]:
        return list(obj.teams.all())  # type: ignore[attr-defined]


class MemberPatch(StrictIn):
    role: Role | None = None
    is_active: bool | None = None


class InvitationIn(StrictIn):
    email: str = Field(..., max_length=254)
    role: Role


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    expires_at: datetime
    created_at: datetime


class TeamIn(StrictIn):
    name: str = Field(..., min_length=1, max_length=100)
    member_ids: list[Id] = Field(default_factory=list, max_length=1000)


class TeamPatch(StrictIn):
    name: str | None = Field(None, min_length=1, max_length=100)
    member_ids: list[Id] | None = Field(None, max_length=1000)


class TeamMemberOut(Schema):
    id: int
    email: str
    name: str

    @staticmethod
    def resolve_email(obj: object) -> str:
        return obj.user.email  # type: ignore[attr-defined]

    @staticmethod
    def resolve_name(obj: object) -> str:
        return obj.user.name  # type: ignore[attr-defined]


class TeamOut(Schema):
    id: int
    name: str
    members: list[TeamMemberOut]
    version: int
    created_at: datetime

    @staticmethod
    def resolve_members(obj: object) -> list[object]:
        return list(obj.members.all())  # type: ignore[attr-defined]


class TokenIn(StrictIn):
    name: str = Field(..., min_length=1, max_length=100)
    scope: ApiTokenScope = "read"
    expires_at: UtcDatetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="The secret. Shown once: store it now.")


class LoginTokenIn(StrictIn):
    email: str = Field(..., max_length=254)
    password: str = Field(..., max_length=4096)
    otp: str | None = Field(None, max_length=12, description="The 6-digit code, for users with 2FA.")
    workspace: str | None = Field(None, max_length=80, description="Workspace slug; needed with several.")
    name: str = Field("API token", min_length=1, max_length=100)
    scope: ApiTokenScope = "read"
    expires_at: UtcDatetime | None = None

    @field_validator("email")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip().lower()
