"""SMTP procedures as generators, written once for both drivers.

Each flow drives a :class:`~mailwire.smtp.connection.Connection` and yields
I/O requests (:mod:`mailwire._flow`); the blocking and asyncio clients run the
same generators. A flow's ``return`` value is the operation's result.
"""

from __future__ import annotations

import base64
import binascii
import contextlib

from mailwire._flow import Close, Flow, StartTLS, flush, next_event
from mailwire.errors import (
    AuthenticationError,
    ConnectionLost,
    RemoteProtocolError,
    SecurityError,
    SMTPReplyError,
)
from mailwire.sasl import Mechanism, decode_challenge
from mailwire.smtp._capabilities import Capabilities
from mailwire.smtp.commands import (
    Auth,
    AuthCancel,
    AuthResponse,
    Command,
    Ehlo,
    Helo,
    Lhlo,
    Quit,
)
from mailwire.smtp.commands import StartTLS as StartTLSCommand
from mailwire.smtp.connection import Connection
from mailwire.smtp.events import Reply

__all__ = [
    "authenticate",
    "command",
    "greet",
    "hello",
    "next_reply",
    "quit",
    "reply_error",
    "starttls",
]

# RFC 4954 §4: an AUTH command line with its initial response must fit in 512
# octets including CRLF; longer responses wait for the first 334 challenge.
_AUTH_LINE_LIMIT = 512


def next_reply(conn: Connection) -> Flow[Reply]:
    """The next reply (a close with nothing due is ConnectionLost)."""
    event = yield from next_event(conn)
    if not isinstance(event, Reply):
        raise ConnectionLost("the server closed the connection")
    return event


def reply_error(reply: Reply, command: str) -> SMTPReplyError:
    """The exception for a negative reply; the server's text with controls escaped (S41)."""
    from mailwire._transcript_escape import escape_text

    return SMTPReplyError(reply.code, escape_text(reply.text), reply.enhanced, command=command)


def command(conn: Connection, cmd: Command) -> Flow[Reply]:
    """Send one command and return its reply (any code)."""
    conn.send(cmd)
    return (yield from next_reply(conn))


def greet(conn: Connection, local_hostname: str) -> Flow[Capabilities]:
    """Read the greeting (RFC 5321 §3.1) and say hello.

    Raises:
        SMTPReplyError: the greeting was not 220 (a 554 or 421 refusal).
    """
    greeting = yield from next_reply(conn)
    if greeting.code != 220:
        if conn.state.name == "REFUSED":
            conn.send(Quit())  # §3.1: after 554 the server waits for QUIT
            yield from flush(conn)
        raise reply_error(greeting, "greeting")
    return (yield from hello(conn, local_hostname))


def hello(conn: Connection, local_hostname: str) -> Flow[Capabilities]:
    """EHLO (or LHLO), falling back to HELO when EHLO is not recognised."""
    if conn.lmtp:
        reply = yield from command(conn, Lhlo(local_hostname))
        if not reply.is_positive:
            raise reply_error(reply, "LHLO")
    else:
        reply = yield from command(conn, Ehlo(local_hostname))
        if reply.code in (500, 502):  # §4.1.4: not recognised / not implemented
            reply = yield from command(conn, Helo(local_hostname))
        if not reply.is_positive:
            raise reply_error(reply, "EHLO")
    assert conn.capabilities is not None
    return conn.capabilities


def starttls(
    conn: Connection, local_hostname: str, server_hostname: str | None
) -> Flow[Capabilities]:
    """Upgrade to TLS (RFC 3207) and say hello again; fails closed.

    Raises:
        SecurityError: STARTTLS not offered or refused (S2, S4), or data
            injected before the handshake (S1).
    """
    caps = conn.capabilities
    if caps is None or not caps.starttls:
        raise SecurityError("TLS is required but the server does not offer STARTTLS")
    reply = yield from command(conn, StartTLSCommand())
    if reply.code != 220:
        raise SecurityError(f"TLS is required but STARTTLS was refused: {reply}")
    yield StartTLS(server_hostname)
    conn.tls_established()
    return (yield from hello(conn, local_hostname))


def authenticate(conn: Connection, mechanism: Mechanism) -> Flow[Reply]:
    """Run one SASL exchange (RFC 4954). Never falls back to another mechanism.

    Raises:
        AuthenticationError: the server refused, the exchange went past the
            round limit (cancelled with ``*``, S26), or the server could not
            prove itself (SCRAM).
    """
    initial = mechanism.initial_response()
    line = len("AUTH ") + len(mechanism.name) + 1 + len(base64.b64encode(initial or b"")) + 2
    if initial is not None and line > _AUTH_LINE_LIMIT:
        # Too long for SASL-IR: send it as the answer to the first challenge.
        conn.send(Auth(mechanism.name))
        pending_first: bytes | None = initial
    else:
        conn.send(Auth(mechanism.name, initial))
        pending_first = None
    while True:
        reply = yield from next_reply(conn)
        if reply.code == 334:
            if pending_first is not None:
                response, pending_first = pending_first, None
            else:
                try:
                    challenge = decode_challenge(reply.lines[0])
                    response = mechanism.respond(challenge)
                except (binascii.Error, AuthenticationError) as exc:
                    # RFC 4954 §4: "*" cancels; the server answers 501.
                    conn.send(AuthCancel())
                    yield from next_reply(conn)
                    if isinstance(exc, AuthenticationError):
                        raise
                    raise AuthenticationError(
                        "the server sent a challenge that is not base64"
                    ) from exc
            conn.send(AuthResponse(response))
            continue
        if reply.code == 235:
            mechanism.finish(None)
            return reply
        raise AuthenticationError(
            f"{mechanism.name} authentication failed: {reply}", reply=reply_error(reply, "AUTH")
        )


def quit(conn: Connection) -> Flow[Reply | None]:
    """QUIT, then close. A server that has already gone is not an error."""
    reply: Reply | None = None
    with contextlib.suppress(ConnectionLost, RemoteProtocolError):
        reply = yield from command(conn, Quit())
    yield Close()
    return reply
