"""Fixtures shared by every app's tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import services
from rapport.accounts.models import Organization
from rapport.accounts.roles import Role
from rapport.core.principal import Principal
from rapport.testing.factories import OrganizationFactory, make_principal
from rapport.testing.imap import Dovecot, ImapAccount
from rapport.testing.smtp import SmtpSink


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory.create(name="Acme")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory.create(name="Globex")


@pytest.fixture
def admin(org: Organization) -> Principal:
    return make_principal(org, Role.ADMIN)


@pytest.fixture
def other_admin(other_org: Organization) -> Principal:
    return make_principal(other_org, Role.ADMIN)


@pytest.fixture
def member_of(org: Organization) -> Any:
    """member_of(role) → a new Principal of `org` with that role."""

    def make(role: Role | str, org_: Organization | None = None) -> Principal:
        return make_principal(org_ or org, role)

    return make


class ApiClient:
    """A Django test client that speaks JSON with a bearer token, as API clients do."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def _send(self, method: str, path: str, data: Any = None, **headers: str) -> Any:
        body = json.dumps(data) if data is not None else None
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(path, headers=headers)

    def post(self, path: str, data: Any = None, **headers: str) -> Any:
        return self._send("post", path, data if data is not None else {}, **headers)

    def patch(self, path: str, data: Any = None, **headers: str) -> Any:
        return self._send("patch", path, data if data is not None else {}, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.client.delete(path, headers=headers)


@pytest.fixture
def api(db: None) -> Any:
    """api(principal, scope="write") → an ApiClient authenticated with a fresh token of that principal."""

    def make(principal: Principal, scope: str = "write") -> ApiClient:
        _, secret = services.token_create(actor=principal, name="test", scope=scope)
        return ApiClient(secret)

    return make


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server; Django's email settings point at it for the test."""
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real IMAP server (Debian's Dovecot) on a loopback port, shared by the session."""
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_account(dovecot: Dovecot) -> ImapAccount:
    """A fresh IMAP user with an empty mailbox: .deliver(raw_bytes, folder="INBOX") puts mail in."""
    return dovecot.add_user()


@pytest.fixture
def web(client: Client) -> Any:
    """web(principal) → the Django test client logged in as that principal's user, in its workspace."""

    def make(principal: Principal) -> Client:
        client.force_login(principal.user, backend="django.contrib.auth.backends.ModelBackend")
        session = client.session
        session["rapport_org_id"] = principal.org_id
        session.save()
        return client

    return make
