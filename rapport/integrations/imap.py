"""The IMAP client of the mailbox sync: the only module that talks to IMAP servers.

`ImapSession.open(...)` connects (SSL/TLS, STARTTLS or plain, by the mailbox's `security`), logs in
and answers a session with the few reads the sync needs: select a folder read-only (its
UIDVALIDITY), the UIDs above one, the sizes of some messages, and their raw bytes. Every failure
leaves as `ImapFailure` with a message for the person who connected the mailbox; it never carries
the password (imaplib's errors quote only the server's answer, and the password is never in it).
"""

from __future__ import annotations

import base64
import imaplib
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from rapport.integrations.models import Security

DEFAULT_TIMEOUT = 30.0
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


class ImapFailure(Exception):
    """The server could not be reached, refused the login, or answered with an error.
    `str(exc)` is the message shown on the mailbox page and kept in `Mailbox.last_error`."""


class ImapLoginFailure(ImapFailure):
    """The server refused the username or password."""


def encode_folder(name: str) -> str:
    """A folder name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 §5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    quoted = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'


def _text(data: object) -> str:
    """The server's answer (imaplib gives bytes or lists of bytes) as short readable text."""
    if isinstance(data, list | tuple):
        data = b" ".join(item if isinstance(item, bytes) else str(item).encode() for item in data if item)
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return str(data).strip()[:200]


@dataclass
class ImapSession:
    """A logged-in connection; use through `ImapSession.open` (a context manager)."""

    conn: imaplib.IMAP4
    where: str

    @classmethod
    @contextmanager
    def open(
        cls,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Iterator[ImapSession]:
        """Connect and log in; logs out when the block ends. Raises ImapFailure."""
        where = f"{host}:{port}"
        conn = _connect(host=host, port=port, security=security, timeout=timeout, where=where)
        try:
            try:
                conn.login(username, password)
            except imaplib.IMAP4.error as exc:
                raise ImapLoginFailure(
                    f"The server {where} refused the login: check the username and password ({_text(exc.args)})."
                ) from None
            except (OSError, imaplib.IMAP4.abort) as exc:
                raise _network_failure(exc, where, timeout) from None
            yield cls(conn=conn, where=where)
        finally:
            with suppress(OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort):
                conn.logout()

    def _run(self, what: str, command: Callable[[], tuple[str, list[Any]]]) -> list[Any]:
        """Run one command; its data, or ImapFailure naming `what`."""
        try:
            status, data = command()
        except imaplib.IMAP4.abort as exc:
            raise _network_failure(exc, self.where, None) from None
        except imaplib.IMAP4.error as exc:
            raise ImapFailure(f"The server {self.where} answered an error to {what}: {_text(exc.args)}") from None
        except OSError as exc:
            raise _network_failure(exc, self.where, None) from None
        if status != "OK":
            raise ImapFailure(f"The server {self.where} answered an error to {what}: {_text(data)}")
        return list(data)

    def select(self, folder: str) -> int:
        """Open `folder` read-only (nothing is marked as read) and answer its UIDVALIDITY."""
        self._run(f"opening the folder “{folder}”", lambda: self.conn.select(encode_folder(folder), readonly=True))
        _typ, values = self.conn.response("UIDVALIDITY")
        for value in values or []:
            if isinstance(value, bytes) and value.strip().isdigit():
                return int(value)
        # Some servers only put it in the OK response code; imaplib keeps that as untagged data.
        untagged = self.conn.untagged_responses.get("OK", [])
        match = _UIDVALIDITY.search(b" ".join(v for v in untagged if isinstance(v, bytes)))
        if match:
            return int(match.group(1))
        raise ImapFailure(f"The server {self.where} did not tell the folder “{folder}”'s UIDVALIDITY.")

    def uids_after(self, last_uid: int) -> list[int]:
        """The UIDs above `last_uid` in the selected folder, ascending."""
        data = self._run("a search", lambda: self.conn.uid("SEARCH", "UID", f"{last_uid + 1}:*"))
        uids: set[int] = set()
        for item in data:
            if isinstance(item, bytes):
                uids.update(int(part) for part in item.split() if part.isdigit())
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in uids if uid > last_uid)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """The size in bytes of each message of `uids`."""
        if not uids:
            return {}
        data = self._run("reading message sizes", lambda: self.conn.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)"))
        sizes: dict[int, int] = {}
        for item in data:
            head = item[0] if isinstance(item, tuple) else item
            if isinstance(head, bytes):
                uid, size = _UID.search(head), _SIZE.search(head)
                if uid and size:
                    sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """The raw bytes (RFC 5322) of each message of `uids`, without setting the \\Seen flag."""
        if not uids:
            return {}
        data = self._run("reading messages", lambda: self.conn.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])"))
        messages: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], bytes):
                uid = _UID.search(item[0])
                if uid and isinstance(item[1], bytes):
                    messages[int(uid.group(1))] = item[1]
        return messages


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _network_failure(exc: BaseException, where: str, timeout: float | None) -> ImapFailure:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ImapFailure(f"The TLS certificate of {where} could not be verified: {exc.verify_message}.")
    if isinstance(exc, ssl.SSLError):
        return ImapFailure(
            f"The TLS connection to {where} failed ({exc.reason or exc}): check the port and the security setting."
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        after = f" within {timeout:g} seconds" if timeout else ""
        return ImapFailure(f"The server {where} did not answer{after}.")
    if isinstance(exc, ConnectionRefusedError):
        return ImapFailure(f"The server {where} refused the connection: check the host name and port.")
    if isinstance(exc, socket.gaierror):
        return ImapFailure(f"The host name of {where} could not be found.")
    if isinstance(exc, imaplib.IMAP4.abort):
        return ImapFailure(f"The server {where} closed the connection ({_text(exc.args)}).")
    return ImapFailure(f"Could not talk to {where}: {getattr(exc, 'strerror', None) or type(exc).__name__}.")


def _connect(*, host: str, port: int, security: str, timeout: float, where: str) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    try:
        if security == Security.SSL:
            return imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
        conn = imaplib.IMAP4(host, port, timeout=timeout)
        if security == Security.STARTTLS:
            try:
                conn.starttls(ssl_context=context)
            except imaplib.IMAP4.error as exc:
                conn.shutdown()
                raise ImapFailure(f"The server {where} does not offer STARTTLS ({_text(exc.args)}).") from None
        return conn
    except ImapFailure:
        raise
    except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort) as exc:
        if isinstance(exc, imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort):
            raise ImapFailure(f"The server {where} does not speak IMAP as expected ({_text(exc.args)}).") from None
        raise _network_failure(exc, where, timeout) from None
