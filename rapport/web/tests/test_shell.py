"""The web shell: home, login redirect, security headers, static HTMX, CSP-clean markup, search."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from rapport.accounts.models import Membership, User
from rapport.accounts.roles import Role
from rapport.core import search as search_module
from rapport.core.principal import Principal
from rapport.core.search import SearchHit
from rapport.testing.factories import PASSWORD

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def _script_tags(html: str) -> list[tuple[str, str]]:
    return SCRIPT_TAG.findall(html)


def _src(attrs: str) -> str | None:
    match = re.search(r'\bsrc="([^"]+)"', attrs)
    return match.group(1) if match else None


def _body(resp) -> bytes:
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


@pytest.fixture
def home_html(web, admin) -> str:
    resp = web(admin).get("/")
    assert resp.status_code == 200
    return resp.content.decode()


@pytest.fixture
def login_html(client, db) -> str:
    resp = client.get("/login/")
    assert resp.status_code == 200
    return resp.content.decode()


# --- home ----------------------------------------------------------------------------------------


def test_home_shows_the_workspace_and_the_role(web, member_of):
    principal = member_of(Role.MARKETING)
    resp = web(principal).get("/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert principal.org.name in body
    assert "<strong>Marketing</strong>" in body
    assert principal.user.display_name in body


def test_home_offers_settings_links_only_to_admins(web, admin, member_of):
    assert 'href="/settings/members/"' in web(admin).get("/").content.decode()
    viewer_home = web(member_of(Role.VIEWER)).get("/").content.decode()
    assert 'href="/settings/members/"' not in viewer_home
    assert 'href="/settings/audit/"' not in viewer_home


def test_anonymous_visitor_is_sent_to_login(client, db):
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp.url == "/login/?next=/"


def test_user_without_an_active_membership_sees_the_no_workspace_page(db):
    client = Client()
    client.force_login(
        User.objects.create_user(email="loner@example.org"), backend="django.contrib.auth.backends.ModelBackend"
    )
    resp = client.get("/")
    assert resp.status_code == 403
    assert "No workspace" in resp.content.decode()


def test_deactivated_member_sees_the_no_workspace_page(web, member_of):
    principal = member_of(Role.SALES)
    client = web(principal)
    Membership.objects.filter(pk=principal.membership_id).update(is_active=False)
    for path in ("/", "/search/?q=x", "/settings/tokens/", "/settings/members/"):
        resp = client.get(path)
        assert resp.status_code == 403, path
        assert "No workspace" in resp.content.decode()


# --- security headers ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/account/", "/settings/members/", "/search/?q=a", "/no-such-page/"])
def test_pages_carry_the_security_headers(web, admin, path):
    resp = web(admin).get(path)
    assert resp.status_code in {200, 404}
    csp = resp.headers["Content-Security-Policy"]
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["object-src"] == ["'none'"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_anonymous_login_page_carries_the_security_headers(client, db):
    resp = client.get("/login/")
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_is_http_only_and_same_site(client, admin):
    resp = client.post("/login/", {"email": admin.user.email, "password": PASSWORD})
    session_cookie = resp.cookies["sessionid"]
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"


# --- HTMX and static files -----------------------------------------------------------------------


def test_htmx_is_loaded_from_our_own_static_files(home_html):
    sources = [_src(attrs) for attrs, _ in _script_tags(home_html)]
    htmx = [src for src in sources if src and "htmx" in src]
    assert len(htmx) == 1
    assert htmx[0].startswith("/static/")
    assert not any(src and re.match(r"^(https?:)?//", src) for src in sources)


def test_every_script_and_stylesheet_of_the_page_resolves(client, home_html):
    assets = [src for src in (_src(attrs) for attrs, _ in _script_tags(home_html)) if src]
    assets += re.findall(r'<link rel="stylesheet" href="([^"]+)"', home_html)
    assert any("htmx" in a for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        resp = client.get(asset)
        assert resp.status_code == 200, asset
        assert _body(resp), asset


def test_the_htmx_static_file_is_htmx(client, home_html):
    htmx = next(_src(a) for a, _ in _script_tags(home_html) if _src(a) and "htmx" in (_src(a) or ""))
    resp = client.get(htmx)
    assert resp.status_code == 200
    assert "javascript" in resp.headers["Content-Type"]
    content = _body(resp)
    assert b"htmx" in content and len(content) > 10_000


@pytest.mark.parametrize("page", ["home_html", "login_html"])
def test_pages_have_no_inline_script_or_style_that_csp_would_block(request, page):
    html = request.getfixturevalue(page)
    for attrs, content in _script_tags(html):
        assert _src(attrs), f"inline script: {attrs!r}"
        assert not content.strip(), f"script with a src and a body: {attrs!r}"
    assert "<style" not in html.lower()
    assert re.search(r"\sstyle\s*=", html, re.I) is None
    assert re.search(r"\son[a-z]+\s*=", html, re.I) is None
    assert "javascript:" not in html.lower()


# --- search --------------------------------------------------------------------------------------


@pytest.fixture
def fake_provider(monkeypatch):
    """Replace the registered providers by one that records who asked and answers one hit."""
    calls: list[tuple[Principal, str]] = []

    def provider(actor: Principal, q: str, limit: int) -> list[SearchHit]:
        calls.append((actor, q))
        return [SearchHit(kind="thing", label=f"Found {q}", detail="a test hit", url="/found/")]

    monkeypatch.setattr(search_module, "_providers", [(50, provider)])
    return calls


def test_search_page_answers_for_a_query(web, admin, fake_provider):
    resp = web(admin).get("/search/", {"q": "  acme   corp "})
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "Found acme corp" in body and 'href="/found/"' in body
    assert len(fake_provider) == 1
    actor, q = fake_provider[0]
    assert actor.org_id == admin.org_id and actor.user_id == admin.user_id
    assert q == "acme corp"


def test_search_page_with_an_empty_query_asks_for_one(web, admin, fake_provider):
    for params in ({"q": ""}, {"q": "   "}, {}):
        resp = web(admin).get("/search/", params)
        assert resp.status_code == 200
        assert "Type a name or an email address." in resp.content.decode()
    assert fake_provider == []


def test_search_with_no_hits_says_so(web, admin, monkeypatch):
    monkeypatch.setattr(search_module, "_providers", [])
    resp = web(admin).get("/search/", {"q": "zebra"})
    assert resp.status_code == 200
    assert "Nothing matches" in resp.content.decode()


def test_search_over_htmx_returns_only_the_results_fragment(web, admin, fake_provider):
    resp = web(admin).get("/search/", {"q": "acme"}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "Found acme" in body
    assert "<html" not in body and "<header" not in body


def test_search_escapes_the_query(web, admin, monkeypatch):
    monkeypatch.setattr(search_module, "_providers", [])
    resp = web(admin).get("/search/", {"q": "<script>alert(1)</script>"})
    body = resp.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_search_of_a_very_long_query_still_answers(web, admin, fake_provider):
    resp = web(admin).get("/search/", {"q": "x" * 5000})
    assert resp.status_code == 200
    assert len(fake_provider[0][1]) == search_module.MAX_QUERY_LENGTH


def test_search_needs_a_login(client, db):
    resp = client.get("/search/", {"q": "x"})
    assert resp.status_code == 302
    assert resp.url.startswith("/login/")
