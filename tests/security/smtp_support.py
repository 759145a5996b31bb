"""Hostile SMTP servers for the security tests (security.md §0 "Harness").

:class:`FakeSMTP` is a small scripted server built on
:class:`tests.support.server.ScriptedServer`: it greets, answers each command
from a table of canned replies (a test overrides any verb with bytes or a
callable), can switch to TLS on STARTTLS, and records every command line and
every message it accepted. The ScriptedServer under it records every byte
received, so a test can say "these bytes never reached the server".

:class:`Sync` runs the same calls on ``smtp.Client`` or ``smtp.AsyncClient``
(the ``kind`` fixture parametrises a test over both), as the interop tests do.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailwire import smtp
from mailwire.transcript import Direction, Kind
from tests.support.server import Peer, ScriptedServer
from tests.support.tls import PKI, make_pki

GREETING = b"220 mx.test ESMTP ready\r\n"
EHLO_PLAIN = (
    b"250-mx.test greets you\r\n"
    b"250-PIPELINING\r\n"
    b"250-8BITMIME\r\n"
    b"250-STARTTLS\r\n"
    b"250 AUTH PLAIN LOGIN\r\n"
)
EHLO_TLS = (
    b"250-mx.test greets you again\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n"
)

# A reply is bytes, or a callable given the server, the peer and the line; the
# callable sends what it likes (and may return bytes to send on top of that).
Reply = bytes | Callable[["FakeSMTP", Peer, bytes], "bytes | None"]


class Sync:
    """The same calls on either client: ``await`` hidden for the async one."""

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind = kind
        if kind == "blocking":
            self.client: Any = smtp.Client(*args, **kwargs)
            self._runner: asyncio.Runner | None = None
        else:
            self.client = smtp.AsyncClient(*args, **kwargs)
            self._runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)
        if self._runner is None or not callable(method):
            return method  # type: ignore[no-any-return]
        runner = self._runner
        return lambda *a, **k: runner.run(method(*a, **k))

    def __enter__(self) -> Sync:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self.close()
        if self._runner is not None:
            self._runner.close()


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pki() -> PKI:
    return make_pki()


def client_writes(client: Any) -> list[bytes]:
    """Each application write the client made, as recorded by its transcript."""
    return [
        r.data
        for r in client.transcript.records
        if r.kind is Kind.DATA and r.direction is Direction.CLIENT
    ]


@dataclasses.dataclass
class Received:
    """What the fake server saw on one connection."""

    commands: list[bytes] = dataclasses.field(default_factory=list)
    messages: list[bytes] = dataclasses.field(default_factory=list)
    tls: bool = False


class FakeSMTP:
    """A scripted SMTP server; see the module docstring.

    Args:
        replies: verb (upper case, ``"MAIL"``, ``"RCPT"``, ``"AUTH"``, ``"*"``
            for an AUTH cancel, ``""`` for any other line) -> reply.
        greeting: sent on connect (bytes or a callable taking the peer).
        ehlo, ehlo_tls: the EHLO replies before and after STARTTLS.
        tls_context: the server context for STARTTLS / implicit TLS.
        implicit_tls: TLS from the first byte.
        host: the loopback address to listen on.
    """

    def __init__(
        self,
        replies: dict[str, Reply] | None = None,
        *,
        greeting: bytes | Callable[[Peer], None] = GREETING,
        ehlo: bytes = EHLO_PLAIN,
        ehlo_tls: bytes = EHLO_TLS,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        host: str = "127.0.0.1",
        io_timeout: float = 10.0,
    ) -> None:
        self.replies: dict[str, Reply] = {
            "EHLO": self._ehlo,
            "HELO": b"250 mx.test\r\n",
            "LHLO": self._ehlo,
            "MAIL": b"250 2.1.0 ok\r\n",
            "RCPT": b"250 2.1.5 ok\r\n",
            "DATA": self._data,
            "BDAT": self._bdat,
            "RSET": b"250 2.0.0 ok\r\n",
            "NOOP": b"250 2.0.0 ok\r\n",
            "VRFY": b"252 2.1.5 cannot verify\r\n",
            "EXPN": b"502 5.5.1 no\r\n",
            "QUIT": self._quit,
            "STARTTLS": self._starttls,
            "AUTH": b"235 2.7.0 ok\r\n",
            "*": b"501 5.7.0 cancelled\r\n",
            "": b"500 5.5.2 what?\r\n",
        }
        self.replies.update(replies or {})
        self.greeting = greeting
        self.ehlo = ehlo
        self.ehlo_tls = ehlo_tls
        self.sessions: list[Received] = []
        self.done = threading.Event()
        self.server = ScriptedServer(
            self._handle,
            tls_context=tls_context,
            implicit_tls=implicit_tls,
            host=host,
            io_timeout=io_timeout,
        )

    # -- the test's view ------------------------------------------------------

    def __enter__(self) -> FakeSMTP:
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.__exit__(*exc_info)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def received(self) -> bytes:
        """Every byte every connection sent (decrypted after STARTTLS)."""
        return self.server.received

    @property
    def commands(self) -> list[bytes]:
        return [c for s in self.sessions for c in s.commands]

    @property
    def messages(self) -> list[bytes]:
        return [m for s in self.sessions for m in s.messages]

    def wait(self, timeout: float = 5.0) -> None:
        """Wait until the last connection's script ended (client gone or closed)."""
        self.done.wait(timeout)

    # -- the server's side ----------------------------------------------------

    def _handle(self, peer: Peer) -> None:
        session = Received(tls=self.server.implicit_tls)
        self.sessions.append(session)
        peer.session = session  # type: ignore[attr-defined]
        try:
            if callable(self.greeting):
                self.greeting(peer)
            elif self.greeting:
                peer.send(self.greeting)
            while True:
                line = peer.recv_line()
                if not line:
                    return
                session.commands.append(line)
                word = line.split(b" ", 1)[0].split(b":", 1)[0].strip().upper().decode("latin-1")
                reply = self.replies.get(word, self.replies[""])
                if line.strip() == b"*":
                    reply = self.replies["*"]
                elif word not in self.replies and _is_base64(line):
                    reply = self.replies.get("AUTH-RESPONSE", self.replies["AUTH"])
                out = reply(self, peer, line) if callable(reply) else reply
                if out:
                    peer.send(out)
                if getattr(peer, "closing", False):
                    return
        finally:
            self.done.set()

    def _ehlo(self, _srv: FakeSMTP, peer: Peer, _line: bytes) -> bytes:
        return self.ehlo_tls if peer.session.tls else self.ehlo  # type: ignore[attr-defined]

    def _quit(self, _srv: FakeSMTP, peer: Peer, _line: bytes) -> bytes:
        peer.closing = True  # type: ignore[attr-defined]
        return b"221 2.0.0 bye\r\n"

    def _starttls(self, _srv: FakeSMTP, peer: Peer, _line: bytes) -> None:
        peer.send(b"220 2.0.0 go ahead\r\n")
        peer.start_tls()
        peer.session.tls = True  # type: ignore[attr-defined]

    def _data(self, _srv: FakeSMTP, peer: Peer, _line: bytes) -> bytes:
        peer.send(b"354 go ahead\r\n")
        peer.session.messages.append(read_data(peer))  # type: ignore[attr-defined]
        return b"250 2.0.0 queued\r\n"

    def _bdat(self, _srv: FakeSMTP, peer: Peer, line: bytes) -> bytes:
        words = line.split()
        chunk = peer.recv_exact(int(words[1]))
        pending = getattr(peer, "bdat", b"") + chunk
        if len(words) > 2:
            peer.session.messages.append(pending)  # type: ignore[attr-defined]
            pending = b""
        peer.bdat = pending  # type: ignore[attr-defined]
        return b"250 2.0.0 chunk ok\r\n"


def _is_base64(line: bytes) -> bool:
    body = line.rstrip(b"\r\n")
    return bool(body) and all(
        c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=" for c in body
    )


def read_data(peer: Peer) -> bytes:
    """DATA content as sent (still dot-stuffed), through CRLF.CRLF, terminator excluded."""
    raw = bytearray()
    while True:
        line = peer.recv_line()
        if not line:
            raise ConnectionError("the client closed inside DATA")
        if line == b".\r\n":
            return bytes(raw)
        raw += line


def unstuff(raw: bytes) -> bytes:
    """RFC 5321 §4.5.2: drop the first of the leading dots of each line."""
    lines = raw.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


@contextlib.contextmanager
def fake_smtp(replies: dict[str, Reply] | None = None, **kwargs: Any) -> Iterator[FakeSMTP]:
    with FakeSMTP(replies, **kwargs) as server:
        yield server


def plain_client(kind: str, server: FakeSMTP, **kwargs: Any) -> Sync:
    """A client for ``server`` without TLS (``tls=PLAIN``), EHLO name fixed."""
    from mailwire import TLSMode

    kwargs.setdefault("tls", TLSMode.PLAIN)
    kwargs.setdefault("local_hostname", "client.test")
    kwargs.setdefault("timeout", 5.0)
    return Sync(kind, server.host, server.port, **kwargs)


__all__ = [
    "EHLO_PLAIN",
    "EHLO_TLS",
    "GREETING",
    "PKI",
    "FakeSMTP",
    "Received",
    "Sync",
    "client_writes",
    "fake_smtp",
    "kind",
    "pki",
    "plain_client",
    "read_data",
    "unstuff",
]
