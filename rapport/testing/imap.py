"""A real IMAP server for tests and benchmarks: Debian's Dovecot, started from a throwaway config.

`Dovecot(root)` writes a config under `root` (listen on 127.0.0.1 at a free port, plain-text login
without TLS, users in a passwd-file, one maildir per user under `root`), runs `dovecot -F` and
waits until the port answers. `add_user()` hands out a user nobody has used yet, so tests sharing
one server each get an empty mailbox.
`deliver()` puts a message into a folder with IMAP APPEND, as a mail server would.
"""

from __future__ import annotations

import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT = 20.0
POOL_SIZE = 500


def dovecot_binary() -> str | None:
    """The path of Debian's `dovecot` (package dovecot-imapd), or None when it is not installed."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.settimeout(1.0)
            return conn.recv(100).startswith(b"* OK")
    except OSError:
        return False


@dataclass(frozen=True)
class ImapAccount:
    """One user of the test server: where to connect and how to log in."""

    server: Dovecot
    username: str
    password: str

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self.server.port

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        # imaplib sends an APPEND's literal and its closing CRLF in two writes: without this, Nagle's
        # algorithm holds the CRLF until the server's delayed ACK, ~40 ms per message.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.login(self.username, self.password)
        return conn

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Append one message (RFC 5322 bytes) to `folder`, creating the folder when missing."""
        self.deliver_many([raw], folder)

    def deliver_many(self, messages: list[bytes], folder: str = "INBOX") -> None:
        """Append many messages over one connection (the benchmark delivers thousands)."""
        conn = self.connect()
        try:
            if folder.upper() != "INBOX":
                conn.create(folder)  # "already exists" is answered NO, which is fine
            for raw in messages:
                crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                answer: Any = conn.append(folder, "", None, crlf)  # type: ignore[arg-type]
                status, data = answer
                if status != "OK":
                    raise RuntimeError(f"APPEND failed: {data!r}")
        finally:
            conn.logout()

    def recreate_folder(self, folder: str) -> None:
        """Delete `folder` and create it again empty: the server gives it a new UIDVALIDITY."""
        conn = self.connect()
        try:
            conn.delete(folder)
            conn.create(folder)
        finally:
            conn.logout()


class Dovecot:
    """A Dovecot process serving IMAP on 127.0.0.1:<port> from files under `root` (a new temporary
    directory, removed on stop, unless given)."""

    def __init__(self, root: Path | None = None) -> None:
        # A directory of its own by default: every directory above the maildirs must be
        # traversable by Dovecot's unprivileged processes (pytest's tmp dirs are mode 0700).
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="rapport-dovecot-"))
        self.port = _free_port()
        self.passwd = self.root / "passwd"
        self.log = self.root / "dovecot.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._ids = itertools.count(1)
        self._pool: list[tuple[str, str]] = []

    def _config(self) -> str:
        root = self.root
        running_as_root = os.geteuid() == 0
        # Dovecot's unprivileged helpers run as these users: the package's own when started as root,
        # else the current user (Dovecot then cannot switch users at all).
        current = pwd.getpwuid(os.geteuid()).pw_name
        login_user = "dovenull" if running_as_root else current
        internal_user = "dovecot" if running_as_root else current
        uid, gid = self._mail_ids()
        return f"""
protocols = imap
mail_fsync = never
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = rapport-test-{self.port}
log_path = {self.log}
info_log_path = {self.log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""

    @staticmethod
    def _mail_ids() -> tuple[int, int]:
        """The uid/gid mail is stored as: the current user's, but Dovecot refuses uid 0 for mail,
        so as root the package's unprivileged `dovecot` user owns the maildirs."""
        if os.geteuid() != 0:
            return os.geteuid(), os.getegid()
        entry = pwd.getpwnam("dovecot")
        return entry.pw_uid, entry.pw_gid

    def start(self) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("Dovecot is not installed: run `make system-deps` (Debian package dovecot-imapd).")
        uid, gid = self._mail_ids()
        for name in ("run", "state", "mail", "home"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        for name in ("mail", "home"):
            if os.geteuid() == 0:
                os.chown(self.root / name, uid, gid)
        # The login processes (another user when started as root) reach the sockets in run/.
        os.chmod(self.root, 0o755)  # noqa: S103 (a test server's directory; the mail in it is made up)
        # Users are made up front: Dovecot re-reads a changed passwd-file at most once a second.
        self._pool = [(f"user{n}", f"secret-{n}-pw") for n in range(1, POOL_SIZE + 1)]
        self.passwd.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self._pool))
        conf = self.root / "dovecot.conf"
        conf.write_text(self._config())
        self.process = subprocess.Popen(  # noqa: S603 (our own binary and config)
            [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"Dovecot stopped at start-up: {err}{self._log_tail()}")
            if _answers(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Dovecot did not answer on port {self.port}: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def stop(self) -> None:
        """Stop the server (and remove its files when it made its own directory)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self) -> ImapAccount:
        """A user nobody has used yet, with an empty mailbox."""
        if self._pool:
            username, password = self._pool.pop(0)
        else:
            n = next(self._ids) + POOL_SIZE
            username, password = f"user{n}", f"secret-{n}-pw"
            with self.passwd.open("a") as handle:
                handle.write(f"{username}:{{PLAIN}}{password}::::::\n")
            time.sleep(1.1)  # let Dovecot's once-a-second check see the new line
        return ImapAccount(server=self, username=username, password=password)
