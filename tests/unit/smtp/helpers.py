"""Shared builders for the SMTP core tests: sessions in a given state, feeding, scripts.

Everything here drives :class:`mailwire.smtp.Connection` by hand, the way a flow
will: queue commands, drain the bytes, feed the server's bytes, take events.

Expected bytes in the tests come from the RFC texts in ``shared/rfc`` or from
MailKit's recorded server replies in ``shared/corpora``; nothing here computes
an expectation from our own writer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
from collections.abc import Callable, Iterable, Sequence

from mailwire import NEED_DATA, RemoteProtocolError
from mailwire.smtp import (
    Auth,
    Bdat,
    Command,
    Connection,
    ConnectionClosed,
    Content,
    Data,
    Ehlo,
    EndOfData,
    Lhlo,
    MailFrom,
    Quit,
    RcptTo,
    Reply,
    StartTLS,
    State,
)

SHARED = pathlib.Path(__file__).parents[4] / "shared"
MAILKIT = SHARED / "corpora/mailkit"
RESOURCES = MAILKIT / "UnitTests/Net/Smtp/Resources"
RFC = SHARED / "rfc"

Event = Reply | ConnectionClosed

GREETING = b"220 mx.example ESMTP ready\r\n"
# A plain EHLO reply offering the extensions most tests need.
EHLO_REPLY = (
    b"250-mx.example greets client.example\r\n"
    b"250-PIPELINING\r\n"
    b"250-CHUNKING\r\n"
    b"250-8BITMIME\r\n"
    b"250-SMTPUTF8\r\n"
    b"250-STARTTLS\r\n"
    b"250 AUTH PLAIN LOGIN\r\n"
)


def resource(name: str) -> bytes:
    """A MailKit reply file, its LF line ends turned into CRLF (corpora/README.md)."""
    return (RESOURCES / name).read_bytes().replace(b"\n", b"\r\n")


def rfc_text(number: str) -> str:
    return (RFC / f"rfc{number}.txt").read_text(encoding="ascii", errors="replace")


# ---------------------------------------------------------------- feeding


def whole(data: bytes) -> list[bytes]:
    return [data]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def halves(data: bytes) -> list[bytes]:
    mid = len(data) // 2
    return [data[:mid], data[mid:]]


#: The ways every scripted exchange is fed (STYLE.md: whole, one byte at a time).
SPLITTERS: dict[str, Callable[[bytes], list[bytes]]] = {
    "whole": whole,
    "bytewise": bytewise,
    "halves": halves,
}


def cut(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` split at the given offsets (clamped, sorted)."""
    bounds = sorted(min(max(c, 0), len(data)) for c in cuts)
    return [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True)]


def drain(conn: Connection, limit: int = 10_000) -> list[Event]:
    """Every event the buffered bytes hold, until NEED_DATA (or a closed stream)."""
    out: list[Event] = []
    for _ in range(limit):
        event = conn.next_event()
        if event is NEED_DATA:
            return out
        assert isinstance(event, Reply | ConnectionClosed)
        out.append(event)
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


def summary(event: Event) -> tuple[object, ...]:
    """What a test compares: code, lines, enhanced code, answered command, recipient."""
    if isinstance(event, ConnectionClosed):
        return ("closed",)
    return (event.code, tuple(event.lines), event.enhanced, event.command, event.recipient)


# ---------------------------------------------------------------- sessions


def greeted(*, lmtp: bool = False, greeting: bytes = GREETING) -> Connection:
    conn = Connection(lmtp=lmtp)
    conn.receive_data(greeting)
    (reply,) = drain(conn)
    assert isinstance(reply, Reply)
    return conn


def ready(*, lmtp: bool = False, ehlo_reply: bytes = EHLO_REPLY) -> Connection:
    """A session after the greeting and a successful EHLO (LHLO for LMTP)."""
    conn = greeted(lmtp=lmtp)
    conn.send(Lhlo("client.example") if lmtp else Ehlo("client.example"))
    conn.data_to_send()
    conn.receive_data(ehlo_reply)
    drain(conn)
    assert conn.state is State.READY
    return conn


def exchange(conn: Connection, commands: Command | Sequence[Command], reply: bytes) -> list[Event]:
    """Send the command(s), drop the written bytes, feed ``reply``, return the events."""
    for command in [commands] if isinstance(commands, Command) else commands:
        conn.send(command)
    conn.data_to_send()
    conn.receive_data(reply)
    return drain(conn)


def in_transaction(
    *, lmtp: bool = False, recipients: Sequence[str] = ("rcpt@example.org",)
) -> Connection:
    """READY -> MAIL and RCPT accepted: state RCPT, every reply read."""
    conn = ready(lmtp=lmtp)
    exchange(conn, MailFrom("sender@example.org"), b"250 2.1.0 ok\r\n")
    for rcpt in recipients:
        exchange(conn, RcptTo(rcpt), b"250 2.1.5 ok\r\n")
    assert conn.state is State.RCPT
    return conn


def in_content(
    *, lmtp: bool = False, recipients: Sequence[str] = ("rcpt@example.org",)
) -> Connection:
    """DATA answered with 354: state CONTENT."""
    conn = in_transaction(lmtp=lmtp, recipients=recipients)
    exchange(conn, Data(), b"354 go ahead\r\n")
    assert conn.state is State.CONTENT
    return conn


# ---------------------------------------------------------------- scripts


@dataclasses.dataclass(frozen=True)
class C:
    """Client turn: these commands, which must produce exactly ``wire``."""

    commands: tuple[Command, ...]
    wire: bytes

    def __init__(self, *commands: Command, wire: bytes) -> None:
        object.__setattr__(self, "commands", commands)
        object.__setattr__(self, "wire", wire)


@dataclasses.dataclass(frozen=True)
class S:
    """Server turn: these bytes, which must give replies with these codes."""

    data: bytes
    codes: tuple[int, ...]

    def __init__(self, data: bytes, *codes: int) -> None:
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "codes", codes)


def play(
    conn: Connection,
    script: Sequence[C | S],
    split: Callable[[bytes], list[bytes]] = whole,
) -> list[Event]:
    """Run a canned server script against the expected client script, byte for byte.

    Returns every event, in order; fails on the first client turn whose bytes
    differ or server turn whose replies differ.
    """
    events: list[Event] = []
    for n, turn in enumerate(script):
        if isinstance(turn, C):
            for command in turn.commands:
                conn.send(command)
            sent = conn.data_to_send()
            assert sent == turn.wire, f"turn {n}: client wrote {sent!r}, expected {turn.wire!r}"
        else:
            got = feed(conn, split(turn.data))
            codes = tuple(e.code for e in got if isinstance(e, Reply))
            assert codes == turn.codes, f"turn {n}: replies {codes}, expected {turn.codes}"
            assert b"".join(e.raw for e in got if isinstance(e, Reply)) == turn.data
            events += got
    return events


# ------------------------------------------------- every state, by recipe


def _error(lmtp: bool) -> Connection:
    conn = greeted(lmtp=lmtp)
    conn.receive_data(b"250 nobody asked\r\n")
    with contextlib.suppress(RemoteProtocolError):  # a reply nobody asked for
        conn.next_event()
    assert conn.state is State.ERROR
    return conn


def _tls_handshake(lmtp: bool) -> Connection:
    conn = ready(lmtp=lmtp)
    exchange(conn, StartTLS(), b"220 2.0.0 go ahead\r\n")
    return conn


def _closed(lmtp: bool) -> Connection:
    conn = ready(lmtp=lmtp)
    exchange(conn, Quit(), b"221 bye\r\n")
    return conn


def _auth(lmtp: bool) -> Connection:
    conn = ready(lmtp=lmtp)
    exchange(conn, Auth("LOGIN"), b"334 VXNlcm5hbWU6\r\n")
    return conn


def _end_of_data(lmtp: bool) -> Connection:
    conn = in_content(lmtp=lmtp)
    conn.send(Content(b"Subject: x\r\n\r\nbody\r\n"))
    conn.send(EndOfData())
    conn.data_to_send()
    return conn


def _bdat(lmtp: bool) -> Connection:
    conn = in_transaction(lmtp=lmtp)
    exchange(conn, Bdat(b"chunk one\r\n"), b"250 2.0.0 11 octets\r\n")
    return conn


def _failed(lmtp: bool) -> Connection:
    # RFC 3030 §2: a refused chunk; RSET must come next.
    conn = in_transaction(lmtp=lmtp)
    exchange(conn, Bdat(b"chunk one\r\n"), b"554 5.3.4 no more\r\n")
    return conn


def _sent(build: Callable[[bool], Connection], command: Command) -> Callable[[bool], Connection]:
    def make(lmtp: bool) -> Connection:
        conn = build(lmtp)
        conn.send(command)
        conn.data_to_send()
        return conn

    return make


def _fresh(lmtp: bool) -> Connection:
    return Connection(lmtp=lmtp)


@dataclasses.dataclass(frozen=True)
class Recipe:
    state: State
    build: Callable[[bool], Connection]

    def __call__(self, lmtp: bool = False) -> Connection:
        conn = self.build(lmtp)
        assert conn.state is self.state, (conn.state, self.state)
        conn.data_to_send()
        return conn


#: One way to reach each state of the table (README of _state.py), pending
#: queue as a driver would leave it: replies read, except where the state *is*
#: "waiting for a reply" (STARTTLS, DATA, END_OF_DATA, QUIT).
RECIPES: dict[State, Recipe] = {
    State.GREETING: Recipe(State.GREETING, _fresh),
    State.REFUSED: Recipe(
        State.REFUSED, lambda lmtp: greeted(lmtp=lmtp, greeting=b"554 5.3.2 no service\r\n")
    ),
    State.INIT: Recipe(State.INIT, lambda lmtp: greeted(lmtp=lmtp)),
    State.READY: Recipe(State.READY, lambda lmtp: ready(lmtp=lmtp)),
    State.STARTTLS: Recipe(State.STARTTLS, _sent(lambda lmtp: ready(lmtp=lmtp), StartTLS())),
    State.TLS_HANDSHAKE: Recipe(State.TLS_HANDSHAKE, _tls_handshake),
    State.AUTH: Recipe(State.AUTH, _auth),
    State.MAIL: Recipe(
        State.MAIL,
        lambda lmtp: _exchanged(ready(lmtp=lmtp), MailFrom("s@example.org"), b"250 ok\r\n"),
    ),
    State.RCPT: Recipe(State.RCPT, lambda lmtp: in_transaction(lmtp=lmtp)),
    State.DATA: Recipe(State.DATA, _sent(lambda lmtp: in_transaction(lmtp=lmtp), Data())),
    State.CONTENT: Recipe(State.CONTENT, lambda lmtp: in_content(lmtp=lmtp)),
    State.BDAT: Recipe(State.BDAT, _bdat),
    State.END_OF_DATA: Recipe(State.END_OF_DATA, _end_of_data),
    State.FAILED: Recipe(State.FAILED, _failed),
    State.QUIT: Recipe(State.QUIT, _sent(lambda lmtp: ready(lmtp=lmtp), Quit())),
    State.CLOSED: Recipe(State.CLOSED, _closed),
    State.ERROR: Recipe(State.ERROR, _error),
}


def _exchanged(conn: Connection, command: Command, reply: bytes) -> Connection:
    exchange(conn, command, reply)
    return conn
