"""The workspace's SMTP settings: API and page, the encrypted write-only password, the connection
test against real SMTP servers, and who may do any of it."""

from __future__ import annotations

import json
from typing import Any

from rapport.accounts.roles import Role
from rapport.core import crypto
from rapport.core.models import Event
from rapport.integrations.models import SmtpServer
from rapport.integrations.tests.conftest import SMTP_PASSWORD, SMTP_USER, configure_smtp

SETTINGS = {
    "host": "smtp.example.com",
    "port": 587,
    "security": "starttls",
    "username": "mailer",
    "password": "hunter2-very-secret",
    "from_email": "Sales@Example.com",
}


def put(client: Any, data: dict[str, Any]) -> Any:
    """PUT /api/v1/mail/smtp (the JSON test client has no put of its own)."""
    return client._send("put", "/api/v1/mail/smtp", data)


def _rows(org: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in SmtpServer.objects.filter(org=org).values()]


def test_an_admin_sets_the_server_and_the_password_is_stored_encrypted_and_never_answered(api, admin, org):
    client = api(admin)
    resp = put(client, SETTINGS)
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body == {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "username": "mailer",
        "from_email": "sales@example.com",
        "has_password": True,
    }
    server = SmtpServer.objects.get(org=org)
    assert server.password_secret and "hunter2" not in server.password_secret
    assert crypto.decrypt(server.password_secret) == "hunter2-very-secret"
    got = client.get("/api/v1/mail/smtp")
    assert got.status_code == 200 and got.json() == body
    assert "hunter2" not in got.content.decode()
    event = Event.objects.get(verb="smtp.updated")
    assert "hunter2" not in json.dumps(event.changes) and event.changes["password"] == ["(hidden)", "(changed)"]


def test_leaving_the_password_out_keeps_it_and_an_empty_one_removes_it(api, admin, org):
    client = api(admin)
    put(client, SETTINGS)
    secret = SmtpServer.objects.get(org=org).password_secret
    resp = put(client, {**SETTINGS, "password": None, "port": 2525})
    assert resp.status_code == 200 and resp.json()["has_password"] is True
    server = SmtpServer.objects.get(org=org)
    assert server.password_secret == secret and server.port == 2525
    resp = put(client, {**SETTINGS, "password": ""})
    assert resp.json()["has_password"] is False and SmtpServer.objects.get(org=org).password_secret == ""


def test_invalid_settings_are_refused_naming_each_field_and_nothing_is_saved(api, admin, org):
    resp = put(
        api(admin),
        {"host": "smtp://bad host", "port": 25, "security": "tls", "from_email": "nope", "password": "a\nb"},
    )
    assert resp.status_code == 422
    fields = resp.json()["error"]["fields"]
    assert set(fields) == {"host", "security", "from_email", "password"}
    assert _rows(org) == []


def test_get_without_a_server_answers_404_and_delete_removes_it(api, admin, org):
    client = api(admin)
    assert client.get("/api/v1/mail/smtp").json()["error"]["code"] == "smtp_not_configured"
    put(client, SETTINGS)
    assert client.delete("/api/v1/mail/smtp").status_code == 204
    assert _rows(org) == [] and Event.objects.filter(verb="smtp.deleted").count() == 1
    assert client.delete("/api/v1/mail/smtp").status_code == 404


def test_members_who_do_not_manage_settings_can_do_nothing_with_the_server(api, admin, org, member_of):
    put(api(admin), SETTINGS)
    before = _rows(org)
    for principal, scope in ((member_of(Role.MANAGER), "write"), (member_of(Role.SALES), "write"), (admin, "read")):
        client = api(principal, scope)
        assert client.get("/api/v1/mail/smtp").status_code == 403
        assert put(client, {**SETTINGS, "host": "evil.example"}).status_code == 403
        assert client.delete("/api/v1/mail/smtp").status_code == 403
        assert client.post("/api/v1/mail/smtp/test").status_code == 403
    assert _rows(org) == before


def test_another_workspaces_admin_neither_sees_nor_changes_this_server(api, admin, other_admin, org):
    put(api(admin), SETTINGS)
    before = _rows(org)
    client = api(other_admin)
    assert client.get("/api/v1/mail/smtp").status_code == 404
    assert client.delete("/api/v1/mail/smtp").status_code == 404
    assert put(client, {**SETTINGS, "host": "other.example"}).status_code == 200
    assert _rows(org) == before
    assert SmtpServer.objects.get(org=other_admin.org).host == "other.example"


def test_the_connection_test_logs_in_to_a_real_server(api, admin, org, smtp_auth):
    configure_smtp(org, smtp_auth.port, username=SMTP_USER, password=SMTP_PASSWORD)
    resp = api(admin).post("/api/v1/mail/smtp/test")
    assert resp.status_code == 200
    assert resp.json() == {"ok": True, "message": f"Connected to 127.0.0.1:{smtp_auth.port} and logged in."}
    assert smtp_auth.messages == []


def test_the_connection_test_reports_wrong_credentials_without_the_password(api, admin, org, smtp_auth):
    configure_smtp(org, smtp_auth.port, username=SMTP_USER, password="wrong-password-123")
    resp = api(admin).post("/api/v1/mail/smtp/test")
    body = resp.json()
    assert resp.status_code == 200 and body["ok"] is False
    assert "refused the username or password" in body["message"] and "535" in body["message"]
    assert "wrong-password-123" not in resp.content.decode()


def test_the_connection_test_reports_an_unreachable_server(api, admin, org, closed_port):
    configure_smtp(org, closed_port)
    body = api(admin).post("/api/v1/mail/smtp/test").json()
    assert body["ok"] is False
    assert body["message"] == (
        f"Could not connect to 127.0.0.1:{closed_port}: the connection was refused (check the host and the port)."
    )


def test_a_password_no_key_opens_is_reported_not_crashed_on(api, admin, org, smtp):
    SmtpServer.objects.create(org=org, host="127.0.0.1", port=smtp.port, security="none", password_secret="garbage")
    body = api(admin).post("/api/v1/mail/smtp/test").json()
    assert body["ok"] is False and "cannot be decrypted" in body["message"]


# --- the settings page ---------------------------------------------------------------------------


def test_the_admin_saves_the_server_on_the_settings_page_and_the_password_is_not_shown(web, admin, org):
    client = web(admin)
    page = client.get("/settings/smtp/")
    assert page.status_code == 200 and b"Outgoing email" in page.content
    resp = client.post(
        "/settings/smtp/",
        {"host": "smtp.example.com", "port": "465", "security": "ssl", "username": "u", "password": "pw-visible?"},
    )
    assert resp.status_code == 302
    server = SmtpServer.objects.get(org=org)
    assert (server.host, server.port, server.security) == ("smtp.example.com", 465, "ssl")
    page = client.get("/settings/smtp/")
    assert b"pw-visible?" not in page.content and b"Stored (encrypted)" in page.content
    # Saving again without a password keeps it.
    client.post("/settings/smtp/", {"host": "smtp.example.com", "port": "465", "security": "ssl", "username": "u"})
    assert crypto.decrypt(SmtpServer.objects.get(org=org).password_secret) == "pw-visible?"


def test_the_settings_page_tests_the_connection_and_shows_the_error(web, admin, org, closed_port):
    configure_smtp(org, closed_port)
    resp = web(admin).post("/settings/smtp/test/", follow=True)
    assert resp.status_code == 200
    assert "The connection test failed: Could not connect to" in resp.content.decode()


def test_the_settings_page_shows_a_field_error_and_saves_nothing(web, admin, org):
    resp = web(admin).post("/settings/smtp/", {"host": "bad host", "port": "25", "security": "none"})
    assert resp.status_code == 422 and b"Enter a host name" in resp.content
    assert _rows(org) == []


def test_a_member_without_the_permission_gets_403_on_every_settings_page(web, member_of, admin, org):
    configure_smtp(org, 2525)
    before = _rows(org)
    client = web(member_of(Role.MANAGER))
    assert client.get("/settings/smtp/").status_code == 403
    assert client.post("/settings/smtp/", {"host": "evil.example", "port": "25", "security": "none"}).status_code == 403
    assert client.post("/settings/smtp/test/").status_code == 403
    assert client.post("/settings/smtp/delete/").status_code == 403
    assert _rows(org) == before


def test_another_workspaces_admin_only_ever_sees_their_own_server_on_the_page(web, other_admin, org):
    configure_smtp(org, 2525, username="acme-user")
    before = _rows(org)
    client = web(other_admin)
    assert b"acme-user" not in client.get("/settings/smtp/").content
    client.post("/settings/smtp/delete/")
    assert _rows(org) == before


def test_the_settings_navigation_links_to_outgoing_email_for_admins(web, admin):
    assert b'href="/settings/smtp/"' in web(admin).get("/settings/members/").content


def test_a_password_the_smtp_login_cannot_send_is_refused_when_saved(api, admin, org):
    resp = put(api(admin), {**SETTINGS, "password": "pässword"})
    assert resp.status_code == 422 and "ASCII" in resp.json()["error"]["fields"]["password"]
    assert _rows(org) == []
