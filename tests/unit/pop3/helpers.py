"""Shared builders for the POP3 tests: feeding the core, a fake server, both clients.

Expected bytes come from the RFC texts in ``shared/rfc``, from MailKit's
recorded server replies in ``shared/corpora``, or from the reference
functions here, which are written from RFC 1939 §3 line by line and share no
code with mailwire's reader (``stuff``, ``unstuff_reference``).
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mailwire import NEED_DATA
from mailwire.pop3 import (
    Capa,
    Command,
    Connection,
    ConnectionClosed,
    Event,
    MessageData,
    Pass,
    Stat,
    State,
    User,
)
from mailwire.tls import TLSMode
from tests.support.server import Peer, ScriptedServer

SHARED = pathlib.Path(__file__).parents[4] / "shared"
RFC = SHARED / "rfc"
CORPUS = SHARED / "corpora/mailkit"
RESOURCES = CORPUS / "UnitTests/Net/Pop3/Resources"
MANIFEST = CORPUS / "manifest/pop3.json"

GREETING = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
CAPA_REPLY = (
    b"+OK Capability list follows\r\n"
    b"TOP\r\nUSER\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\nSASL PLAIN SCRAM-SHA-256\r\n.\r\n"
)


def resource(name: str, *, crlf: bool = True) -> bytes:
    """A MailKit reply file; its LF line ends become CRLF (corpora/README.md)."""
    data = (RESOURCES / name).read_bytes()
    return data.replace(b"\n", b"\r\n") if crlf else data


def rfc_text(number: str) -> str:
    return (RFC / f"rfc{number}.txt").read_text(encoding="ascii", errors="replace")


# ---------------------------------------------------------------- references


def stuff(message: bytes) -> bytes:
    """RFC 1939 §3, sending side: each line starting with "." gets one more."""
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)


def multiline(message: bytes, status: bytes = b"+OK") -> bytes:
    """A whole multi-line answer carrying ``message`` (which ends in CRLF or is empty)."""
    assert message == b"" or message.endswith(b"\r\n")
    return status + b"\r\n" + stuff(message) + b".\r\n"


def unstuff_reference(body: bytes) -> bytes:
    """RFC 1939 §3, receiving side, one line at a time (poplib's way)."""
    out = []
    for line in body.split(b"\r\n"):
        out.append(line[1:] if line.startswith(b".") else line)
    return b"\r\n".join(out)


# ---------------------------------------------------------------- feeding


def whole(data: bytes) -> list[bytes]:
    return [data]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def halves(data: bytes) -> list[bytes]:
    mid = len(data) // 2
    return [data[:mid], data[mid:]]


SPLITTERS: dict[str, Callable[[bytes], list[bytes]]] = {
    "whole": whole,
    "bytewise": bytewise,
    "halves": halves,
}


def cut(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` split at the given offsets (clamped, sorted)."""
    bounds = sorted(min(max(c, 0), len(data)) for c in cuts)
    return [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True)]


def drain(conn: Connection, limit: int = 1_000_000) -> list[Event]:
    """Every event the buffered bytes hold, until NEED_DATA (or a closed stream)."""
    out: list[Event] = []
    for _ in range(limit):
        event = conn.next_event()
        if event is NEED_DATA:
            return out
        out.append(event)  # type: ignore[arg-type]
        if isinstance(event, ConnectionClosed):
            return out
    raise AssertionError("next_event() never returned NEED_DATA")


def feed(conn: Connection, pieces: Sequence[bytes]) -> list[Event]:
    """Feed each piece and take the events after each, as a driver would."""
    out: list[Event] = []
    for piece in pieces:
        if piece:
            conn.receive_data(piece)
        out += drain(conn)
    return out


def merged(events: list[Event]) -> list[Any]:
    """Events with consecutive MessageData joined: chunking is not meaning."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, MessageData) and out and isinstance(out[-1], bytes):
            out[-1] += event.data
        elif isinstance(event, MessageData):
            out.append(event.data)
        else:
            out.append(event)
    return out


def greeted(greeting: bytes = GREETING) -> Connection:
    conn = Connection()
    conn.receive_data(greeting)
    drain(conn)
    assert conn.state is State.AUTHORIZATION
    return conn


def exchange(conn: Connection, commands: Command | Sequence[Command], reply: bytes) -> list[Event]:
    """Send the command(s), drop the written bytes, feed ``reply``, return the events."""
    for command in [commands] if isinstance(commands, Command) else commands:
        conn.send(command)
    conn.data_to_send()
    conn.receive_data(reply)
    return drain(conn)


def transaction(count: int = 2, octets: int = 320, capa: bytes = CAPA_REPLY) -> Connection:
    """Greeted, CAPA read, logged in with USER/PASS, STAT read: state TRANSACTION."""
    conn = greeted()
    exchange(conn, Capa(), capa)
    exchange(conn, User("mrose"), b"+OK\r\n")
    exchange(conn, Pass("tanstaaf"), b"+OK mrose's maildrop has 2 messages (320 octets)\r\n")
    exchange(conn, Stat(), b"+OK %d %d\r\n" % (count, octets))
    assert conn.state is State.TRANSACTION
    return conn


# ---------------------------------------------------------------- clients


class Sync:
    """The same calls on ``pop3.Client`` or ``pop3.AsyncClient`` (``await`` hidden).

    ``iter_messages`` is returned as a list for both.
    """

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        from mailwire import pop3

        self.kind = kind
        if kind == "blocking":
            self.client: Any = pop3.Client(*args, **kwargs)
            self._runner: asyncio.Runner | None = None
        else:
            self.client = pop3.AsyncClient(*args, **kwargs)
            self._runner = asyncio.Runner()

    def run(self, awaitable: Any) -> Any:
        assert self._runner is not None
        return self._runner.run(awaitable)

    def iter_messages(self, *args: Any, **kwargs: Any) -> list[tuple[int, bytes]]:
        iterator = self.client.iter_messages(*args, **kwargs)
        if self._runner is None:
            return list(iterator)

        async def collect() -> list[tuple[int, bytes]]:
            return [item async for item in iterator]

        return self.run(collect())  # type: ignore[no-any-return]

    def first_message(self) -> tuple[int, bytes]:
        """Take one message from ``iter_messages`` and stop (closing the iterator)."""
        iterator = self.client.iter_messages()
        if self._runner is None:
            with contextlib.closing(iterator):
                return next(iterator)  # type: ignore[no-any-return]

        async def first() -> tuple[int, bytes]:
            async with contextlib.aclosing(iterator):
                return await anext(iterator)  # type: ignore[no-any-return]

        return self.run(first())  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if self._runner is None or not callable(method):
            return method
        runner = self._runner
        return lambda *a, **k: runner.run(method(*a, **k))

    def __enter__(self) -> Sync:
        self.connect()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc is None:
                self.quit()
            else:
                self.close()
        finally:
            if self._runner is not None:
                self._runner.close()

    def shutdown(self) -> None:
        """Close without QUIT and release the event loop."""
        with contextlib.suppress(Exception):
            self.close()
        if self._runner is not None:
            self._runner.close()


# ---------------------------------------------------------------- fake server

# An answer: bytes, or a callable given the server, the peer and the command
# line; it may send what it likes and return bytes to send on top.
Answer = bytes | Callable[["FakePOP3", Peer, bytes], "bytes | None"]


class FakePOP3:
    """A scripted POP3 server on loopback that records every command line.

    Args:
        answers: verb (upper case, e.g. ``"RETR"``) -> answer; verbs missing
            here get ``-ERR unknown``. AUTH continuation lines are looked up
            under ``""`` (they have no verb of their own).
        greeting: sent on connect.
        tls_context: a server context for STLS (``answers["STLS"]`` must be
            ``+OK`` for the switch to happen) or for implicit TLS.
        implicit_tls: handshake right after accept.
    """

    def __init__(
        self,
        answers: dict[str, Answer],
        *,
        greeting: bytes = GREETING,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.answers = answers
        self.greeting = greeting
        self.lines: list[bytes] = []
        self.server = ScriptedServer(
            self._handle, tls_context=tls_context, implicit_tls=implicit_tls
        )

    def __enter__(self) -> FakePOP3:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def received(self) -> bytes:
        return self.server.received

    def verbs(self) -> list[str]:
        return [line.split(b" ", 1)[0].strip().upper().decode() for line in self.lines]

    def _handle(self, peer: Peer) -> None:
        if self.greeting:
            peer.send(self.greeting)
        while True:
            line = peer.recv_line()
            if not line:
                return
            self.lines.append(line)
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            answer = self.answers.get(verb, self.answers.get("", b"-ERR unknown\r\n"))
            if callable(answer):
                extra = answer(self, peer, line)
                if extra:
                    peer.send(extra)
            else:
                peer.send(answer)
            switch = isinstance(answer, bytes) and answer.startswith(b"+OK")
            if verb == "STLS" and switch and self.server.tls_context is not None:
                peer.start_tls()
            if verb == "QUIT":
                return


def plain_client_args(server: FakePOP3, **kwargs: Any) -> dict[str, Any]:
    """Client arguments for a plaintext fake server, authentication allowed."""
    args: dict[str, Any] = {
        "tls": TLSMode.PLAIN,
        "allow_plaintext_auth": True,
        "timeout": 5,
    }
    args.update(kwargs)
    return {"host": server.host, "port": server.port, **args}


# ---------------------------------------------------------------- in-memory server

# An in-memory answer: bytes, or a callable given the server and the line.
MemoryAnswer = bytes | Callable[["MemoryServer", bytes], bytes]


class MemoryServer:
    """Runs a flow against canned answers, in memory, recording every write.

    Each complete command line the client writes gets the answer for its
    verb (upper case); while ``continuation`` is set (an AUTH exchange), lines
    go to it instead. ``writes`` keeps each ``Send`` as one write, so a test
    can tell pipelined commands (one write) from one-at-a-time ones.
    """

    def __init__(self, answers: dict[str, MemoryAnswer], greeting: bytes = GREETING) -> None:
        self.answers = answers
        self.out = bytearray(greeting)
        self.lines: list[bytes] = []
        self.writes: list[bytes] = []
        self.secrets: list[bytes] = []
        self.continuation: Callable[[MemoryServer, bytes], bytes] | None = None
        self.eof = False
        self.closed = False
        self.tls_starts = 0
        self._in = bytearray()

    def verbs(self) -> list[str]:
        return [line.split(b" ", 1)[0].strip().upper().decode() for line in self.lines]

    def _take(self, data: bytes) -> None:
        self._in += data
        while (end := self._in.find(b"\n")) >= 0:
            line = bytes(self._in[: end + 1])
            del self._in[: end + 1]
            self.lines.append(line)
            if self.continuation is not None:
                self.out += self.continuation(self, line)
                continue
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            answer = self.answers.get(verb, b"-ERR unknown command\r\n")
            self.out += answer(self, line) if callable(answer) else answer

    def run(self, flow: Any) -> Any:
        from mailwire._flow import Close, Receive, Send, StartTLS

        answer: bytes | None = None
        while True:
            try:
                request = flow.send(answer)
            except StopIteration as stop:
                return stop.value
            answer = None
            if isinstance(request, Send):
                assert not self.closed, "a write after Close"
                self.writes.append(request.data)
                self.secrets += [request.data[a:b] for a, b in request.secrets]
                self._take(request.data)
            elif isinstance(request, Receive):
                if not self.out:
                    if self.eof:
                        answer = b""
                        continue
                    raise AssertionError(f"deadlock: the client waits; it wrote {self.lines!r}")
                answer = bytes(self.out[: request.max_bytes])
                del self.out[: request.max_bytes]
            elif isinstance(request, StartTLS):
                self.tls_starts += 1
            elif isinstance(request, Close):
                self.closed = True


def memory_client(**kwargs: Any) -> Any:
    """A ``ClientBase`` (no driver) whose flows a :class:`MemoryServer` runs."""
    from mailwire.pop3._client_base import ClientBase

    args: dict[str, Any] = {"tls": TLSMode.IMPLICIT}
    args.update(kwargs)
    return ClientBase("pop.example", **args)


def logged_in(server: MemoryServer, **kwargs: Any) -> Any:
    """A client connected and logged in (USER/PASS) through ``server``."""
    client = memory_client(**kwargs)
    server.run(client._connect_flow())
    server.run(
        client._login_flow(
            "mrose",
            "tanstaaf",
            token=None,
            mechanisms=["USER"],
            authzid=None,
            initial_response=True,
        )
    )
    server.writes.clear()
    server.lines.clear()
    return client
