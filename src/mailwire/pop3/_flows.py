"""POP3 procedures as generators, written once for both drivers.

Each flow drives a :class:`~mailwire.pop3.connection.Connection` and yields
I/O requests (:mod:`mailwire._flow`); the blocking and asyncio clients run the
same generators. A flow's ``return`` value is the operation's result.

Refusals (``-ERR``) become :class:`~mailwire.errors.POP3ErrorReply` (or
:class:`~mailwire.errors.AuthenticationError` for logins) only after the
answer has been read whole, so the session stays in step and usable. A batch
reads every answer before it reports the first refusal.
"""

from __future__ import annotations

import base64
import binascii
import collections
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeAlias, TypeVar, cast

from mailwire._flow import Close, Deadline, Flow, StartTLS, flush, next_event
from mailwire.errors import (
    AuthenticationError,
    ConnectionLost,
    LiteralTooLarge,
    POP3ErrorReply,
    RemoteProtocolError,
    SecurityError,
    TooManyResponses,
)
from mailwire.pop3._capabilities import Capabilities
from mailwire.pop3._state import State
from mailwire.pop3._writer import MAX_COMMAND_OCTETS
from mailwire.pop3.commands import (
    Apop,
    Auth,
    AuthCancel,
    AuthResponse,
    Capa,
    Command,
    Pass,
    Quit,
    Stat,
    Stls,
    User,
)
from mailwire.pop3.connection import Connection, Event
from mailwire.pop3.events import (
    ConnectionClosed,
    Continuation,
    DropListing,
    End,
    Err,
    Greeting,
    LanguageListing,
    MessageData,
    Ok,
    ScanListing,
    UniqueIdListing,
)
from mailwire.sasl import Mechanism, ScramSHA1, ScramSHA256, decode_challenge

__all__ = [
    "Sink",
    "SinkWriter",
    "answer",
    "authenticate",
    "capa",
    "collect",
    "command",
    "greet",
    "listing",
    "login_apop",
    "login_user",
    "message",
    "pipelined",
    "quit",
    "stat",
    "stls",
    "writer_for",
]

T = TypeVar("T")


class _Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...


#: Where message data goes: a binary file (anything with ``write``) or a callable.
Sink: TypeAlias = _Writable | Callable[[bytes], Any]
SinkWriter: TypeAlias = Callable[[bytes], Any]
#: ``progress(octets_so_far, expected_octets_or_None)``.
Progress: TypeAlias = Callable[[int, int | None], Any]


def writer_for(sink: Sink) -> SinkWriter:
    """The function that takes each chunk for ``sink``.

    Raises:
        TypeError: ``sink`` has no ``write`` and is not callable.
    """
    write = getattr(sink, "write", None)
    if callable(write):
        return write  # type: ignore[no-any-return]
    if callable(sink):
        return sink
    raise TypeError(f"a sink must be a binary file or a callable, not {type(sink).__name__}")


# ---------------------------------------------------------------- basics

#: How much of a message must arrive to renew its deadline.
_PROGRESS_OCTETS = 64 * 1024


def answer(conn: Connection) -> Flow[Event]:
    """The next event (a close with nothing due is ConnectionLost)."""
    event = yield from next_event(conn)
    if isinstance(event, ConnectionClosed):
        raise ConnectionLost("the server closed the connection")
    return cast(Event, event)


def command(conn: Connection, cmd: Command) -> Flow[Event]:
    """Send one single-line command; return its answer, raising on -ERR.

    Raises:
        POP3ErrorReply: the server said ``-ERR`` (the session is usable).
    """
    conn.send(cmd)
    event = yield from answer(conn)
    if isinstance(event, Err):
        raise event.error()
    return event


def greet(conn: Connection) -> Flow[Greeting]:
    """Read the greeting (RFC 1939 §4).

    Raises:
        POP3ErrorReply: the server refused the session with ``-ERR``.
    """
    event = yield from answer(conn)
    if isinstance(event, Err):
        raise event.error()
    assert isinstance(event, Greeting)
    return event


def capa(conn: Connection) -> Flow[Capabilities]:
    """CAPA (RFC 2449 §5); an ``-ERR`` gives ``Capabilities.unsupported()``."""
    conn.send(Capa())
    event = yield from answer(conn)
    if isinstance(event, Err):
        return Capabilities.unsupported(event.raw)
    assert isinstance(event, Capabilities)
    return event


def stls(conn: Connection, server_hostname: str | None) -> Flow[Capabilities]:
    """Upgrade to TLS (RFC 2595 §4), then CAPA again; fails closed.

    Raises:
        SecurityError: STLS not offered (or CAPA refused: security.md S4),
            STLS refused (S5), or data injected after the go-ahead (S1).
    """
    caps = conn.capabilities
    if caps is None or not caps.stls:
        why = "does not answer CAPA" if caps is not None and not caps.supported else "lacks STLS"
        raise SecurityError(f"TLS is required but the server {why} (RFC 2595 §4)")
    conn.send(Stls())
    event = yield from answer(conn)
    if not isinstance(event, Ok):
        raise SecurityError(f"TLS is required but STLS was refused: {_describe(event)}")
    yield StartTLS(server_hostname)
    conn.tls_established()
    return (yield from capa(conn))


def _describe(event: Event) -> str:
    if isinstance(event, Err):
        return str(event.error())
    return type(event).__name__


# ---------------------------------------------------------------- login


def _refused(what: str, event: Err) -> AuthenticationError:
    error = event.error()
    return AuthenticationError(f"{what} failed: {error}", reply=error)


def login_user(conn: Connection, user: User, password: Pass) -> Flow[Ok]:
    """USER then PASS (RFC 1939 §7), one at a time: PASS only after +OK to USER.

    Both commands are made (and so checked) by the caller before anything is
    sent: a PASS that cannot be written must not leave a USER behind.

    Raises:
        AuthenticationError: either was refused; ``.reply.code`` carries an
            RFC 2449 / 3206 code such as ``AUTH``, ``IN-USE``, ``LOGIN-DELAY``.
    """
    conn.send(user)
    event = yield from answer(conn)
    if isinstance(event, Err):
        raise _refused("USER", event)
    conn.send(password)
    event = yield from answer(conn)
    if isinstance(event, Err):
        raise _refused("USER/PASS login", event)
    assert isinstance(event, Ok)
    return event


def login_apop(conn: Connection, apop: Apop) -> Flow[Ok]:
    """APOP (RFC 1939 §7).

    Raises:
        AuthenticationError: refused.
    """
    conn.send(apop)
    event = yield from answer(conn)
    if isinstance(event, Err):
        raise _refused("APOP login", event)
    assert isinstance(event, Ok)
    return event


def authenticate(conn: Connection, mechanism: Mechanism, *, initial_response: bool) -> Flow[Ok]:
    """One SASL exchange (RFC 5034). Never falls back to another mechanism.

    Args:
        conn: the connection, in AUTHORIZATION.
        mechanism: a fresh mechanism.
        initial_response: send the first client message with AUTH when it
            fits in the 255-octet command line (RFC 5034 §4).

    Raises:
        AuthenticationError: refused, cancelled after a bad challenge or too
            many rounds (security.md S26), or the server could not prove
            itself (SCRAM; the connection is then closed).
    """
    first = mechanism.initial_response() if initial_response else None
    pending: bytes | None = None
    if first is not None:
        size = len("AUTH ") + len(mechanism.name) + 1 + len(base64.b64encode(first) or b"=") + 2
        if size > MAX_COMMAND_OCTETS:
            # Too long for the AUTH line: answer the first (empty) challenge with it.
            conn.send(Auth(mechanism.name))
            pending = first
        else:
            conn.send(Auth(mechanism.name, first))
    else:
        conn.send(Auth(mechanism.name))
    while True:
        event = yield from answer(conn)
        if isinstance(event, Continuation):
            if pending is not None:
                response, pending = pending, None
            else:
                try:
                    challenge = decode_challenge(event.data)
                    response = mechanism.respond(challenge)
                except (binascii.Error, AuthenticationError) as exc:
                    # RFC 5034 §4: "*" cancels; the server answers -ERR.
                    conn.send(AuthCancel())
                    yield from answer(conn)
                    if isinstance(exc, AuthenticationError):
                        if isinstance(mechanism, ScramSHA1 | ScramSHA256) and mechanism.rounds > 1:
                            yield Close()  # its final message did not verify: an impostor
                        raise
                    raise AuthenticationError(
                        f"{mechanism.name}: the server sent a challenge that is not base64"
                    ) from exc
            conn.send(AuthResponse(response))
            continue
        if isinstance(event, Err):
            raise _refused(f"{mechanism.name} authentication", event)
        assert isinstance(event, Ok)
        try:
            # RFC 5034 §4 carries success data as a last challenge, already
            # answered above; the +OK itself has none.
            mechanism.finish(None)
        except AuthenticationError:
            yield Close()  # an impostor: nothing more goes to it
            raise
        return event


# ---------------------------------------------------------------- transaction


def stat(conn: Connection) -> Flow[DropListing]:
    """STAT (RFC 1939 §5)."""
    event = yield from command(conn, Stat())
    assert isinstance(event, DropListing)
    return event


def listing(conn: Connection, cmd: Command, limit: int) -> Flow[list[Any]]:
    """Send a multi-line listing command; return its items (LIST, UIDL, LANG).

    Args:
        limit: the most items to hold (``Limits.max_held_responses``).

    Raises:
        POP3ErrorReply: ``-ERR``.
        TooManyResponses: more than ``limit`` items.
    """
    conn.send(cmd)
    return (yield from collect(conn, cmd, limit))


def collect(conn: Connection, cmd: Command, limit: int) -> Flow[list[Any]]:
    """Read the answer to an already sent listing command (see :func:`listing`)."""
    event = yield from answer(conn)
    if isinstance(event, Err):
        raise event.error()
    items: list[ScanListing | UniqueIdListing | LanguageListing] = []
    while True:
        event = yield from answer(conn)
        if isinstance(event, End):
            return items
        if not isinstance(event, ScanListing | UniqueIdListing | LanguageListing):
            raise RemoteProtocolError(f"unexpected {type(event).__name__} in a {cmd.verb} listing")
        if len(items) >= limit:
            raise TooManyResponses(f"{cmd.verb} listing has more than {limit} lines", limit=limit)
        items.append(event)


def message(
    conn: Connection,
    cmd: Command,
    write: SinkWriter | None,
    *,
    progress: Progress | None = None,
    expected: int | None = None,
    limit: int,
    deadline: float | None = None,
) -> Flow[bytes | int]:
    """Read the answer to an already sent RETR or TOP.

    Args:
        write: takes each unstuffed chunk; ``None`` collects the message.
        progress: called after each chunk with the octets so far and
            ``expected``.
        expected: the size from LIST, if known (a hint for ``progress``).
        limit: without ``write``, the most octets to hold
            (``Limits.max_literal_size``); a sink has no limit.
        deadline: seconds for the status line and then for each further
            64 KiB of the message: a whole download may take as long as it
            needs, a server that drips it cannot stall it (security.md S27).

    Returns:
        The message (no ``write``), or the number of octets written.

    Raises:
        POP3ErrorReply: ``-ERR`` (the session is usable).
        LiteralTooLarge: over ``limit`` in memory; use a sink.
        ConnectionLost: the server closed before the end of the message;
            the sink has received only part of it.
        Timeout: a deadline passed.
    """
    if deadline is not None:
        yield Deadline(deadline)
    event = yield from answer(conn)
    if isinstance(event, Err):
        raise event.error()
    # In memory: a BytesIO grows in place and hands its buffer over at the
    # end, so the peak is about the message (a list joined would be twice it).
    collected = io.BytesIO() if write is None else None
    total = 0
    since = 0  # octets since the deadline was last renewed
    while True:
        event = yield from answer(conn)
        if isinstance(event, End):
            return total if collected is None else collected.getvalue()
        if not isinstance(event, MessageData):
            raise RemoteProtocolError(f"unexpected {type(event).__name__} in a {cmd.verb} answer")
        total += len(event.data)
        since += len(event.data)
        if deadline is not None and since >= _PROGRESS_OCTETS:
            yield Deadline(deadline)  # renewed on real progress only
            since = 0
        if collected is None:
            assert write is not None
            write(event.data)
        else:
            if total > limit:
                raise LiteralTooLarge(
                    f"{cmd.verb}: message larger than {limit} bytes; retrieve it into a sink",
                    limit=limit,
                )
            collected.write(event.data)
        if progress is not None:
            progress(total, expected)


def drain(conn: Connection) -> Flow[None]:
    """Read and drop the answers of every pending command (a closed iteration)."""
    while conn.pending:
        event = yield from answer(conn)
        del event


# ---------------------------------------------------------------- batches

Reader: TypeAlias = Callable[[], Flow[T]]


def pipelined(
    conn: Connection, items: Iterable[tuple[Command, Reader[T]]], window: int
) -> Flow[list[T | POP3ErrorReply]]:
    """Send commands ``window`` at a time and read their answers in order.

    With ``window`` > 1 (PIPELINING, RFC 2449 §6.6) the first ``window``
    commands go out in one write, and whenever half of them are answered the
    next half goes out together, so the server always has work queued. The
    window keeps the unread commands far below a TCP window (RFC 2449 §6.6: a
    client with blocking writes "MUST not exceed the window size").

    Returns:
        One result per command, in order; a refused command gives its
        :class:`POP3ErrorReply` instead (every answer is read first).
    """
    source: Iterator[tuple[Command, Reader[T]]] = iter(items)
    queue: collections.deque[Reader[T]] = collections.deque()
    results: list[T | POP3ErrorReply] = []

    def refill(room: int) -> None:
        while len(queue) < room:
            item = next(source, None)
            if item is None:
                return
            conn.send(item[0])
            queue.append(item[1])

    # Refill in batches: when half the window has been answered, the next
    # half goes out in one write (one segment, one system call) instead of a
    # write per answer.
    low = window // 2
    while True:
        if len(queue) <= low:
            refill(window)
            if not queue:
                return results
        reader = queue.popleft()
        yield from flush(conn)
        try:
            results.append((yield from reader()))
        except POP3ErrorReply as refusal:
            results.append(refusal)


def first_refusal(results: list[Any]) -> None:
    """Raise the first refusal of a batch (after all its answers were read)."""
    for result in results:
        if isinstance(result, POP3ErrorReply):
            raise result


def quit(conn: Connection) -> Flow[Ok | None]:
    """QUIT (RFC 1939 §6), then close.

    From TRANSACTION, the +OK means the deletions were done (UPDATE state); a
    connection lost before it means they may not have been, so that raises.
    From AUTHORIZATION nothing is at stake and a server already gone is fine.

    Raises:
        ConnectionLost: the answer to QUIT in UPDATE was lost.
        POP3ErrorReply: ``-ERR`` in UPDATE (some deletions failed).
    """
    update = conn.state is State.TRANSACTION
    event: Event | None = None
    try:
        conn.send(Quit())
        event = yield from answer(conn)
    except (ConnectionLost, RemoteProtocolError) as exc:
        yield Close()
        if update:
            raise ConnectionLost(
                "the connection was lost before the answer to QUIT: the messages marked "
                "deleted may not have been removed (RFC 1939 §6)"
            ) from exc
        return None
    yield Close()
    if isinstance(event, Err) and update:
        raise event.error()
    return event if isinstance(event, Ok) else None
