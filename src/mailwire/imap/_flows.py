"""IMAP procedures as generators, written once for both drivers: the basics.

Each flow drives a :class:`~mailwire.imap.connection.Connection` and yields
I/O requests (:mod:`mailwire._flow`); the blocking and asyncio clients run the
same generators. This module holds what every command needs -- send it, read
until its completion, collect the data routed to it, hand unsolicited data to
a handler -- and the session flows: greeting, CAPABILITY, STARTTLS, LOGIN,
AUTHENTICATE, ENABLE, ID, NAMESPACE, NOOP, LOGOUT, and pipelined batches.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence

from mailwire._flow import Close, Flow, NeedData, Receive, ReceiveInto, StartTLS, flush
from mailwire.errors import (
    AuthenticationError,
    ConnectionLost,
    IMAPStatusError,
    MailwireError,
    RemoteProtocolError,
    SecurityError,
    TooManyResponses,
)
from mailwire.imap._seqset import SequenceSet
from mailwire.imap._session import Capabilities
from mailwire.imap.commands import (
    Authenticate,
    Capability,
    Enable,
    Id,
    Login,
    Logout,
    Namespace,
    Noop,
)
from mailwire.imap.commands import StartTLS as StartTLSCommand
from mailwire.imap.connection import Connection, ConnectionClosed, Event
from mailwire.imap.events import (
    CapabilityData,
    Continuation,
    Enabled,
    IdData,
    NamespaceData,
    Response,
    StatusResponse,
    Tagged,
)
from mailwire.sasl import Mechanism, decode_challenge

__all__ = [
    "Done",
    "Handler",
    "authenticate",
    "capability",
    "enable",
    "execute",
    "greet",
    "identify",
    "login",
    "logout",
    "namespace",
    "noop",
    "pipeline",
    "receive",
    "starttls",
    "status_error",
    "unsolicited",
]

#: Called with every response no command asked for (and alerts).
Handler = Callable[[Response], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Done:
    """A completed command: its tagged response and the data routed to it.

    Attributes:
        tag: the command's tag.
        command: the command.
        tagged: the completion (``status`` OK, NO or BAD).
        data: the untagged responses that answered it, in order.
        error: for a batch member that failed, the exception it would have
            raised (``IMAPStatusError``); ``None`` when it succeeded.
    """

    tag: str
    command: object
    tagged: Tagged
    data: tuple[Response, ...] = ()
    error: IMAPStatusError | None = None

    @property
    def ok(self) -> bool:
        """Whether the server said OK."""
        return self.tagged.status == "OK"

    def raise_for_status(self) -> None:
        """Raise :attr:`error` if the command failed."""
        if self.error is not None:
            raise self.error


def expanded(numbers: SequenceSet, held: int, limit: int, what: str) -> Iterator[int]:
    """The numbers of a server's set (no ``*``), if they fit beside ``held`` others.

    ``1:4294967295`` is 12 bytes on the wire; a result list holds at most
    ``limit`` numbers (``Limits.max_held_responses``), like the responses
    of one command.

    Raises:
        TooManyResponses: the set would take the result past ``limit``.
    """
    count = numbers.count()
    if count is None or held + count > limit:
        raise TooManyResponses(
            f"{what} names {'*' if count is None else count} numbers; a result holds at most "
            f"{limit} (Limits.max_held_responses)",
            limit=limit,
        )
    return numbers.expand()


def status_error(tagged: Tagged, verb: str) -> IMAPStatusError:
    """The exception for a tagged NO or BAD (the session stays usable)."""
    code = tagged.code.name if tagged.code is not None else None
    return IMAPStatusError(tagged.status, tagged.text, code, command=verb)


def unsolicited(conn: Connection, event: Response, handler: Handler | None) -> None:
    """Deal with data no command waits for: BYE ends the session, the rest goes on.

    Raises:
        ConnectionLost: an unexpected ``* BYE`` (RFC 9051 §7.1.5): the server
            is closing the connection, so say so now rather than at the next read.
    """
    if handler is not None:
        handler(event)
    if isinstance(event, StatusResponse) and event.status == "BYE":
        # A BYE during LOGOUT is routed to LOGOUT and never gets here.
        raise ConnectionLost(f"the server ended the session: BYE {event.text}".rstrip())


def receive(conn: Connection) -> Flow[Event]:
    """Flush, then read until the connection yields one event.

    While a large literal is owed, the read goes straight into the buffer the
    literal will be handed out in (:class:`ReceiveInto`), so its octets are
    written once, by the kernel.
    """
    if conn.pending_output:
        yield from flush(conn)
    while True:
        event = conn.next_event()
        if not isinstance(event, NeedData):
            return event
        view = conn.receive_view()
        if view is None:
            data = yield Receive(conn.receive_size())
            conn.receive_data(data or b"")
            continue
        with view:
            request = ReceiveInto(view)
            data = yield request
        # The view is released before the buffer is touched again.
        if data is None:
            conn.received_into(request.count)
        else:
            conn.receive_data(data)


def _alerting(tagged: Tagged) -> bool:
    return tagged.code is not None and tagged.code.name in ("ALERT", "WEBALERT")


def wait(
    conn: Connection,
    tags: Sequence[str],
    handler: Handler | None,
    collected: dict[str, list[Response]],
    limit: int,
) -> Flow[Tagged]:
    """Read until one of ``tags`` completes; data for ``tags`` goes to ``collected``.

    Raises:
        ConnectionLost: the server closed or said BYE.
        TooManyResponses: more than ``limit`` responses for one command.
    """
    while True:
        event = yield from receive(conn)
        if isinstance(event, ConnectionClosed):
            raise ConnectionLost("the server closed the connection")
        owner = conn.last_tag
        if owner in tags:
            assert owner is not None
            if isinstance(event, Tagged):
                if _alerting(event) and handler is not None:
                    handler(event)
                return event
            if isinstance(event, Continuation):
                continue  # a synchronizing literal went on; the core wrote it
            bucket = collected.setdefault(owner, [])
            bucket.append(event)
            if len(bucket) > limit:
                raise TooManyResponses(
                    f"more than {limit} responses to one command (Limits.max_held_responses)",
                    limit=limit,
                )
        elif isinstance(event, Tagged | Continuation):
            # Another command of ours; only possible in a batch, handled there.
            raise RemoteProtocolError(f"unexpected {type(event).__name__} for {owner}")
        else:
            unsolicited(conn, event, handler)


def execute(
    conn: Connection,
    command: object,
    handler: Handler | None,
    *,
    limit: int,
    check: bool = True,
) -> Flow[Done]:
    """Send one command and read until it completes.

    Returns:
        The :class:`Done` with the data routed to it.

    Raises:
        IMAPStatusError: NO or BAD (with ``check``); the session is usable.
    """
    tag = conn.send(command)
    collected: dict[str, list[Response]] = {}
    tagged = yield from wait(conn, (tag,), handler, collected, limit)
    verb = str(getattr(command, "verb", "?"))
    error = status_error(tagged, verb) if tagged.status != "OK" else None
    if error is not None and check:
        raise error
    return Done(tag, command, tagged, tuple(collected.get(tag, ())), error)


def pipeline(
    conn: Connection, commands: Iterable[object], handler: Handler | None, *, limit: int
) -> Flow[list[Done]]:
    """Send several commands before reading, then collect each one's result.

    The connection refuses a command that may not follow the others without
    waiting (state changes, sequence numbers after a command that may
    expunge, RFC 9051 §5.5). A refused member does not stop the rest: its
    :attr:`Done.error` says why.

    Returns:
        One :class:`Done` per command, in order.
    """
    sent = [(conn.send(command), command) for command in commands]
    yield from flush(conn)
    tags = [tag for tag, _ in sent]
    collected: dict[str, list[Response]] = {}
    finished: dict[str, Tagged] = {}
    while len(finished) < len(tags):
        waiting = [tag for tag in tags if tag not in finished]
        tagged = yield from wait(conn, waiting, handler, collected, limit)
        finished[tagged.tag] = tagged
    out = []
    for tag, command in sent:
        tagged = finished[tag]
        verb = str(getattr(command, "verb", "?"))
        error = status_error(tagged, verb) if tagged.status != "OK" else None
        out.append(Done(tag, command, tagged, tuple(collected.get(tag, ())), error))
    return out


# ------------------------------------------------------------------ session


def greet(conn: Connection) -> Flow[StatusResponse]:
    """Read the greeting (RFC 9051 §7.1): OK, PREAUTH or BYE.

    Raises:
        ConnectionLost: the greeting was BYE (the server refuses the session).
        RemoteProtocolError: not an IMAP greeting (S8).
    """
    event = yield from receive(conn)
    if isinstance(event, ConnectionClosed):
        raise ConnectionLost("the server closed the connection before its greeting")
    assert isinstance(event, StatusResponse)
    if event.status == "BYE":
        raise ConnectionLost(f"the server refused the session: BYE {event.text}".rstrip())
    return event


def capability(conn: Connection, handler: Handler | None, *, limit: int) -> Flow[Capabilities]:
    """CAPABILITY (RFC 9051 §6.1.1); the answer replaces what was known."""
    done = yield from execute(conn, Capability(), handler, limit=limit)
    if conn.capabilities is None:
        names = [n for r in done.data if isinstance(r, CapabilityData) for n in r.capabilities]
        conn.capabilities = Capabilities(names)
    return conn.capabilities


def capabilities(conn: Connection, handler: Handler | None, *, limit: int) -> Flow[Capabilities]:
    """The capabilities, asked for only when not known (RFC 9051 §6.1.1)."""
    if conn.capabilities is not None:
        return conn.capabilities
    return (yield from capability(conn, handler, limit=limit))


def starttls(
    conn: Connection, server_hostname: str | None, handler: Handler | None, *, limit: int
) -> Flow[Capabilities]:
    """Upgrade to TLS (RFC 9051 §6.2.1) and ask for the capabilities again; fails closed.

    Raises:
        SecurityError: STARTTLS not offered (S4), refused or answered oddly
            (S5), or data injected before the handshake (S1).
    """
    caps = yield from capabilities(conn, handler, limit=limit)
    if not caps.starttls:
        raise SecurityError("TLS is required but the server does not offer STARTTLS")
    try:
        yield from execute(conn, StartTLSCommand(), handler, limit=limit)
    except IMAPStatusError as exc:
        raise SecurityError(f"TLS is required but STARTTLS was refused: {exc}") from exc
    yield StartTLS(server_hostname)
    conn.tls_established()
    return (yield from capability(conn, handler, limit=limit))


def login(
    conn: Connection, username: str, password: str, handler: Handler | None, *, limit: int
) -> Flow[Tagged]:
    """LOGIN (RFC 9051 §6.2.3); the password is marked secret (S40).

    Raises:
        AuthenticationError: the server refused the credentials.
    """
    try:
        done = yield from execute(conn, Login(username, password), handler, limit=limit)
    except IMAPStatusError as exc:
        raise AuthenticationError(f"LOGIN refused: {exc}", reply=exc) from None
    return done.tagged


def authenticate(
    conn: Connection,
    mechanism: Mechanism,
    handler: Handler | None,
    *,
    initial_response: bool,
    limit: int,
) -> Flow[Tagged]:
    """Run one SASL exchange (RFC 9051 §6.2.2, SASL-IR RFC 4959); never another.

    Raises:
        AuthenticationError: refused, cancelled after a bad challenge or too
            many rounds (``*``, S26), or the server could not prove itself.
    """
    initial = mechanism.initial_response() if initial_response else None
    tag = conn.send(Authenticate(mechanism.name, initial))
    failure: AuthenticationError | None = None
    while True:
        event = yield from receive(conn)
        if isinstance(event, ConnectionClosed):
            raise ConnectionLost("the server closed the connection during AUTHENTICATE")
        if conn.last_tag != tag:
            unsolicited(conn, event, handler)
            continue
        if isinstance(event, Continuation):
            if failure is not None:
                raise RemoteProtocolError("a challenge after the exchange was cancelled")
            try:
                challenge = decode_challenge(event.text)
                response = mechanism.respond(challenge)
            except (binascii.Error, AuthenticationError) as exc:
                failure = (
                    exc
                    if isinstance(exc, AuthenticationError)
                    else AuthenticationError("the server sent a challenge that is not base64")
                )
                conn.send_continuation(b"*")  # RFC 9051 §6.2.2: cancel
                continue
            conn.send_continuation(base64.b64encode(response), secret=True)
            continue
        if isinstance(event, Tagged):
            if failure is not None:
                raise failure
            if event.status != "OK":
                error = status_error(event, "AUTHENTICATE")
                raise AuthenticationError(
                    f"{mechanism.name} authentication failed: {error}", reply=error
                )
            mechanism.finish(None)
            return event


def enable(
    conn: Connection, names: Sequence[str], handler: Handler | None, *, limit: int
) -> Flow[tuple[str, ...]]:
    """ENABLE (RFC 5161); returns what the server enabled."""
    done = yield from execute(conn, Enable(tuple(names)), handler, limit=limit)
    return tuple(c for r in done.data if isinstance(r, Enabled) for c in r.capabilities)


def identify(
    conn: Connection,
    params: dict[str, str | None] | None,
    handler: Handler | None,
    *,
    limit: int,
) -> Flow[dict[str, str | None] | None]:
    """ID (RFC 2971): tell the server who we are; returns what it says it is."""
    done = yield from execute(conn, Id(params), handler, limit=limit)
    for response in done.data:
        if isinstance(response, IdData):
            return response.params
    return None


def namespace(conn: Connection, handler: Handler | None, *, limit: int) -> Flow[NamespaceData]:
    """NAMESPACE (RFC 9051 §6.3.10, RFC 2342).

    Raises:
        RemoteProtocolError: the server completed it without the data.
    """
    done = yield from execute(conn, Namespace(), handler, limit=limit)
    for response in done.data:
        if isinstance(response, NamespaceData):
            return response
    raise RemoteProtocolError("NAMESPACE completed without a NAMESPACE response")


def noop(conn: Connection, handler: Handler | None, *, limit: int) -> Flow[Done]:
    """NOOP (RFC 9051 §6.1.2): lets the server send its updates (to ``handler``)."""
    return (yield from execute(conn, Noop(), handler, limit=limit))


def logout(conn: Connection, handler: Handler | None, *, limit: int) -> Flow[Tagged | None]:
    """LOGOUT (RFC 9051 §6.1.3), then close. A server already gone is not an error."""
    tagged: Tagged | None = None
    with contextlib.suppress(MailwireError):
        if conn.state.name in ("NOT_AUTHENTICATED", "AUTHENTICATED", "SELECTED"):
            done = yield from execute(conn, Logout(), handler, limit=limit, check=False)
            tagged = done.tagged
    yield Close()
    return tagged
