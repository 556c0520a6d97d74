"""What every page's shell needs: the principal, the workspaces to switch to, the navigation."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from rapport.accounts.roles import Perm
from rapport.accounts.selectors import membership_list_for_user

# (label, url name, entity the role must be able to read or None). Entries whose url does not
# exist yet (their app has not landed) are left out. SECTION_PATHS: other paths of an entry's section
# (sales pages live under /deals/ and /sales/).
NAVIGATION = [
    ("Home", "web:home", None),
    ("Contacts", "contacts:list", "contact"),
    ("Companies", "contacts:company_list", "company"),
    ("Activities", "activities:list", "activity"),
    ("Tasks", "tasks:list", "activity"),
    ("Sales", "sales:board", "deal"),
    ("Tickets", "service:list", "ticket"),
    ("Campaigns", "marketing:list", "campaign"),
    ("Reports", "analytics:home", "report"),
]
SECTION_PATHS = {"sales:board": ("/sales/",), "service:list": ("/service/",)}


def _nav(request: HttpRequest) -> list[dict[str, object]]:
    principal = getattr(request, "principal", None)
    items = []
    for label, name, entity in NAVIGATION:
        if entity and (principal is None or not principal.can(entity)):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        prefixes = (url, *SECTION_PATHS.get(name, ())) if url != "/" else ()
        items.append({"label": label, "url": url, "active": request.path == url or request.path.startswith(prefixes)})
    return items


def shell(request: HttpRequest) -> dict[str, object]:
    principal = getattr(request, "principal", None)
    if principal is None:
        return {"principal": None}
    return {
        "principal": principal,
        "nav_items": _nav(request),
        "workspaces": list(membership_list_for_user(user=principal.user)),
        "can_manage_settings": principal.has_perm(Perm.MANAGE_SETTINGS),
        "can_view_audit": principal.has_perm(Perm.VIEW_AUDIT),
    }
