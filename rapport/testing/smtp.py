"""A real SMTP server (aiosmtpd) on a free local port that keeps what it receives.

`SmtpSink(credentials=("user", "password"))` offers AUTH (PLAIN / LOGIN, allowed without TLS on
loopback) and accepts only those credentials (a client that logs in with others gets 535).
Addresses in `Sink.refuse` are refused at RCPT.
"""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Sink:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Authenticator:
    def __init__(self, credentials: tuple[str, str]) -> None:
        self.credentials = credentials

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self.credentials
        ):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class SmtpSink:
    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.sink = Sink()
        options: dict[str, Any] = {}
        if credentials is not None:
            options.update(authenticator=_Authenticator(credentials), auth_require_tls=False)
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=_free_port(), **options)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.sink.messages

    def bodies_to(self, address: str) -> list[str]:
        return [str(m.get_content()) for m in self.messages if address in str(m["To"])]
