"""The pure-Python lab: aiosmtpd, pymap and Twisted, in the demo's own process.

No root, no system package, no port below 1024: everything listens on
127.0.0.1 on ports the kernel picks, and runs in two daemon threads of the
process that runs the demo:

- an asyncio loop serving SMTP submission (aiosmtpd) and IMAP (pymap);
- Twisted's reactor serving POP3 (STLS) and POP3S (implicit TLS).

All three read and write the same Maildirs under a temporary directory.
Because they are threads, nothing can outlive the demo: :meth:`stop` shuts
each one down in turn, and should that fail the threads still end with the
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import socket
import threading
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from mailwire.demo import _imap_server, _smtp_server
from mailwire.demo._accounts import Account
from mailwire.demo._certs import LabCertificates, make_certificates
from mailwire.demo._errors import require
from mailwire.demo._lab import Listener, LogCapture, signals_to_main_thread, wait_for_message
from mailwire.demo._pop3_server import TwistedThread

__all__ = ["PythonLab"]

T = TypeVar("T")

_LOGGERS = ("mail.log", "pymap", "proxyprotocol", "asyncio")


def _version(distribution: str) -> str:
    try:
        return f"{distribution} {importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return distribution


class _LoopThread:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=signals_to_main_thread(self.loop.run_forever),
            name="mailwire-lab-asyncio",
            daemon=True,
        )
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


class PythonLab:
    """aiosmtpd + pymap + Twisted POP3 on loopback; see the module docstring."""

    kind = "python"
    host = "127.0.0.1"

    def __init__(self, workdir: Path, accounts: Mapping[str, Account]) -> None:
        self.workdir = workdir
        self.accounts = accounts
        self.mail_root = workdir / "mail"
        self.listeners: list[Listener] = []
        self.certs: LabCertificates
        self._logs: LogCapture | None = None
        self._loop: _LoopThread | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._twisted: TwistedThread | None = None

    @property
    def ports(self) -> dict[str, int]:
        return {listener.key: listener.port for listener in self.listeners}

    def start(self) -> PythonLab:
        require("aiosmtpd.smtp", "pymap.imap", "twisted.mail.pop3", "OpenSSL", "trustme")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        (self.workdir / "log").mkdir(parents=True, exist_ok=True)
        self._logs = LogCapture(self.workdir / "log" / "servers.log", _LOGGERS)
        _start_twisted_logging(self.workdir / "log" / "twisted.log")
        self.certs = make_certificates(self.workdir / "tls")
        self.mail_root.mkdir(parents=True, exist_ok=True)
        for account in self.accounts.values():
            _smtp_server.create_maildir(self.mail_root, account.name)
        _imap_server.write_pymap_users(self.mail_root, self.accounts)

        smtp_sock = socket.create_server((self.host, 0))
        imap_sock = socket.create_server((self.host, 0))
        smtp_port, imap_port = smtp_sock.getsockname()[1], imap_sock.getsockname()[1]
        self._loop = _LoopThread()
        try:
            self._loop.call(self._start_asyncio(smtp_sock, imap_sock), timeout=30)
        finally:  # asyncio holds its own duplicates; ours are no longer needed
            smtp_sock.close()
            imap_sock.close()

        self._twisted = TwistedThread(self.mail_root, self.accounts, self.certs)
        self._twisted.start(self.host)
        pop3 = self._twisted.ports
        twisted = _version("Twisted")
        self.listeners = [
            Listener(
                "submission",
                "SMTP",
                _version("aiosmtpd"),
                smtp_port,
                "submission: STARTTLS required, then AUTH PLAIN or LOGIN",
            ),
            Listener("pop3s", "POP3", twisted, pop3["pop3s"], "implicit TLS, USER/PASS"),
            Listener("pop3", "POP3", twisted, pop3["pop3"], "STLS, then USER/PASS"),
            Listener("imap", "IMAP", _version("pymap"), imap_port, "STARTTLS, LOGIN"),
        ]

    async def _start_asyncio(self, smtp_sock: socket.socket, imap_sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._stack = contextlib.AsyncExitStack()
        handler = _smtp_server.MaildirDelivery(self.mail_root, self.accounts)
        factory = _smtp_server.make_smtp_factory(
            handler, self.accounts, self.certs.server_context()
        )
        # Duplicates, so that closing ours (in _start) leaves asyncio's open.
        smtp = await loop.create_server(factory, sock=smtp_sock.dup())
        self._servers.append(smtp)
        await _imap_server.start_pymap(self.mail_root, self.certs, imap_sock.dup(), self._stack)

    async def _stop_asyncio(self) -> None:
        for server in self._servers:
            server.close()
        # Connections still open (a client that went away mid-session) are
        # tasks on this loop: cancel them so nothing waits for them.
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._stack is not None:
            await self._stack.aclose()
        self._servers = []
        self._stack = None

    def wait_for_message(self, account: Account, needle: bytes, timeout: float) -> None:
        wait_for_message(_smtp_server.maildir_path(self.mail_root, account.name), needle, timeout)

    def log_tail(self, lines: int = 20) -> str:
        parts = []
        for path in sorted((self.workdir / "log").glob("*.log")):
            text = path.read_text("utf-8", errors="replace").strip()
            if text:
                last = "\n".join(text.splitlines()[-lines:])
                parts.append(f"--- {path.name} ---\n{last}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop every server (idempotent); the work directory stays for the caller."""
        if self._twisted is not None:
            self._twisted.stop()
            self._twisted = None
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.call(self._stop_asyncio(), timeout=10)
            self._loop.stop(timeout=10)
            self._loop = None
        if self._logs is not None:
            self._logs.close()
            self._logs = None


def _start_twisted_logging(path: Path) -> None:
    """Send Twisted's log to a file (it would otherwise keep it in memory)."""
    from mailwire.demo._pop3_server import _twisted

    logger = _twisted("logger")
    file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    logger.globalLogBeginner.beginLoggingTo(
        [logger.textFileLogObserver(file)], redirectStandardIO=False
    )
