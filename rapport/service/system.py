"""Who acts for the workspace when no member does: tickets created from support mail and the public
web form, customer messages received by email, automatic SLA escalations.

The system principal is the workspace's longest-standing active admin (the admin membership with
the smallest id), so the events these writes record name a real member and every access check
passes as it would for that admin.
"""

from __future__ import annotations

from rapport.accounts.models import Membership
from rapport.accounts.roles import Role
from rapport.core.errors import ApplicationError
from rapport.core.principal import Principal


class NoActiveAdmin(ApplicationError):
    status = 409
    code = "no_active_admin"
    message = "The workspace has no active admin to act for it."


def system_principal(org_id: int) -> Principal:
    """The principal of the workspace's longest-standing active admin; NoActiveAdmin (409) when the
    workspace has none. Two queries (the membership with its user and workspace, its team ids)."""
    membership = (
        Membership.objects.filter(org_id=org_id, is_active=True, role=Role.ADMIN.value)
        .select_related("user", "org")
        .order_by("pk")
        .first()
    )
    if membership is None:
        raise NoActiveAdmin()
    return Principal.for_membership(membership)
