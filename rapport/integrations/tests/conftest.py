"""Fixtures of the integrations tests: the workspace's SMTP server pointed at a real SMTP sink."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rapport.accounts.models import Organization
from rapport.core import crypto
from rapport.integrations.models import Security, SmtpServer
from rapport.testing.smtp import SmtpSink

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-smtp-password"


def configure_smtp(org: Organization, port: int, *, username: str = "", password: str = "", **extra: Any) -> SmtpServer:
    """The workspace's SMTP server at 127.0.0.1:`port`, without TLS (a loopback test server)."""
    return SmtpServer.objects.create(
        org=org,
        host="127.0.0.1",
        port=port,
        security=Security.NONE,
        username=username,
        password_secret=crypto.encrypt(password) if password else "",
        **extra,
    )


@pytest.fixture
def smtp_server(org: Organization, smtp: SmtpSink) -> SmtpServer:
    """`org`'s SMTP server is the `smtp` sink (no login)."""
    return configure_smtp(org, smtp.port)


@pytest.fixture
def smtp_auth() -> Iterator[SmtpSink]:
    """A real SMTP server that requires AUTH with SMTP_USER / SMTP_PASSWORD."""
    sink = SmtpSink(credentials=(SMTP_USER, SMTP_PASSWORD))
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """run_on_commit() → a context manager that runs the on-commit callbacks (the enqueued sends)."""

    def make() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return make
