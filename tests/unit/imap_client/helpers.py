"""Shared builders for the IMAP client tests: a core fed by hand, a scripted server.

Expected bytes are taken from the RFC examples (``shared/rfc``) or written
from the grammar by hand; none is copied from mailwire's own output.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Callable, Iterable
from typing import Any

from mailwire import NEED_DATA
from mailwire.imap.aio import AsyncClient
from mailwire.imap.client import Client
from mailwire.imap.connection import Connection, Event
from mailwire.tls import TLSMode
from tests.support.server import Peer, ScriptedServer

SHARED = pathlib.Path(__file__).parents[4] / "shared"
RFC = SHARED / "rfc"


def events(conn: Connection, data: bytes = b"") -> list[Event]:
    """Feed ``data`` and take every event that is complete."""
    if data:
        conn.receive_data(data)
    out: list[Event] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return out
        assert not isinstance(event, type(NEED_DATA))
        out.append(event)


def greeted(
    data: bytes = b"* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] ready\r\n", **kw: Any
) -> Connection:
    conn = Connection(**kw)
    events(conn, data)
    return conn


def logged_in(**kw: Any) -> Connection:
    conn = greeted(**kw)
    from mailwire.imap.commands import Login

    tag = conn.send(Login("u", "p"))
    conn.data_to_send()
    events(conn, f"{tag} OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE UIDPLUS MOVE] done\r\n".encode())
    return conn


def selected(**kw: Any) -> Connection:
    from mailwire.imap.commands import Select

    conn = logged_in(**kw)
    tag = conn.send(Select("INBOX"))
    conn.data_to_send()
    events(
        conn, b"* 3 EXISTS\r\n* OK [UIDVALIDITY 9] v\r\n" + tag.encode() + b" OK [READ-WRITE] s\r\n"
    )
    return conn


Step = tuple[bytes, bytes]  # (what the client must write, what the server answers)


class Script:
    """A server that checks each client line and answers as told.

    ``steps`` are (expected client bytes, reply). Expected bytes are compared
    exactly; a mismatch is recorded in ``errors`` and ends the connection.
    """

    def __init__(
        self,
        greeting: bytes,
        steps: Iterable[Step],
        *,
        tls_context: Any = None,
        implicit_tls: bool = False,
        after: Callable[[Peer], None] | None = None,
    ) -> None:
        self.greeting = greeting
        self.steps = list(steps)
        self.errors: list[str] = []
        self.after = after
        self.server = ScriptedServer(
            self._handle, tls_context=tls_context, implicit_tls=implicit_tls
        )

    def __enter__(self) -> Script:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)

    def _handle(self, peer: Peer) -> None:
        if self.greeting:
            peer.send(self.greeting)
        for index, (expect, reply) in enumerate(self.steps):
            got = b""
            while len(got) < len(expect):
                line = peer.recv_line() if expect.endswith(b"\n") else peer.recv_exact(len(expect))
                if not line:
                    break
                got += line
            if got != expect:
                self.errors.append(f"step {index}: expected {expect!r}, got {got!r}")
                return
            if reply:
                peer.send(reply)
        if self.after is not None:
            self.after(peer)
        else:
            peer.recv_until_eof()

    @property
    def port(self) -> int:
        return self.server.port


class Both:
    """One of the two clients; ``call`` hides ``await``."""

    def __init__(self, kind: str, port: int, **kwargs: Any) -> None:
        args: dict[str, Any] = {"tls": TLSMode.PLAIN, "timeout": 5, "allow_plaintext_auth": True}
        args.update(kwargs)
        self.kind = kind
        if kind == "blocking":
            self.client: Any = Client("127.0.0.1", port, **args)
            self.runner: asyncio.Runner | None = None
        else:
            self.client = AsyncClient("127.0.0.1", port, **args)
            self.runner = asyncio.Runner()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, name)(*args, **kwargs)
        if self.runner is not None and asyncio.iscoroutine(result):
            return self.runner.run(result)
        return result

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: self.call(name, *a, **k)

    def close(self) -> None:
        self.call("disconnect")
        if self.runner is not None:
            self.runner.close()
