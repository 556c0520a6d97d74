"""Search providers of the accounts app: settings pages by name, members by name or email (admins)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from rapport.accounts.roles import Perm
from rapport.accounts.selectors import member_list
from rapport.core.principal import Principal
from rapport.core.search import SearchHit, register_provider

# (label, url name, permission needed or None)
PAGES = [
    ("Profile & security", "accounts:profile", None),
    ("Two-factor authentication", "accounts:2fa_setup", None),
    ("API tokens", "accounts:tokens", None),
    ("Members", "accounts:members", Perm.MANAGE_SETTINGS),
    ("Invitations", "accounts:members", Perm.MANAGE_SETTINGS),
    ("Teams", "accounts:teams", Perm.MANAGE_SETTINGS),
    ("Security settings", "accounts:security", Perm.MANAGE_SETTINGS),
    ("Audit trail", "accounts:audit", Perm.VIEW_AUDIT),
]


@register_provider()
def pages(actor: Principal, q: str, limit: int) -> list[SearchHit]:
    needle = q.casefold()
    hits = [
        SearchHit(kind="page", label=label, detail="Settings", url=reverse(name))
        for label, name, perm in PAGES
        if needle in label.casefold() and (perm is None or actor.has_perm(perm))
    ]
    return hits[:limit]


@register_provider()
def members(actor: Principal, q: str, limit: int) -> list[SearchHit]:
    if not actor.has_perm(Perm.MANAGE_SETTINGS):
        return []
    qs = member_list(actor=actor).filter(Q(user__name__icontains=q) | Q(user__email__icontains=q))[:limit]
    url = reverse("accounts:members")
    return [
        SearchHit(kind="member", label=m.user.display_name, detail=f"{m.user.email} · {m.get_role_display()}", url=url)
        for m in qs
    ]
