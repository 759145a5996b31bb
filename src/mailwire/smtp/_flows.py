"""SMTP procedures as generators, written once for both drivers.

Each flow drives a :class:`~mailwire.smtp.connection.Connection` and yields
I/O requests (:mod:`mailwire._flow`); the blocking and asyncio clients run the
same generators. A flow's ``return`` value is the operation's result.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
from collections.abc import Iterator

from mailwire._flow import Close, Flow, StartTLS, flush, next_event
from mailwire.errors import (
    AuthenticationError,
    ConnectionLost,
    NotSupportedError,
    OutcomeUnknown,
    RecipientRefused,
    RemoteProtocolError,
    SecurityError,
    SenderRefused,
    SMTPReplyError,
    Timeout,
)
from mailwire.sasl import Mechanism
from mailwire.smtp._capabilities import Capabilities
from mailwire.smtp._message import PreparedMessage
from mailwire.smtp.commands import (
    Auth,
    AuthCancel,
    AuthResponse,
    Bdat,
    Command,
    Content,
    Data,
    Ehlo,
    EndOfData,
    Helo,
    Lhlo,
    MailFrom,
    Quit,
    RcptTo,
    Rset,
)
from mailwire.smtp.commands import StartTLS as StartTLSCommand
from mailwire.smtp.connection import Connection
from mailwire.smtp.events import Reply

__all__ = [
    "SendOptions",
    "SendResult",
    "authenticate",
    "command",
    "greet",
    "hello",
    "quit",
    "send_message",
    "starttls",
]

# RFC 4954 §4: an AUTH command line with its initial response must fit in 512
# octets including CRLF; longer responses wait for the first 334 challenge.
_AUTH_LINE_LIMIT = 512


@dataclasses.dataclass(frozen=True)
class SendResult:
    """What happened to one message.

    Attributes:
        accepted: envelope recipient -> the reply that accepted it. For SMTP
            that is the reply to the end of data (the same for all); for LMTP
            each recipient's own reply (RFC 2033 §4.2).
        refused: envelope recipient -> the reply that refused it (at RCPT, or
            for LMTP after the data).
        reply: the reply to the end of data (the last one for LMTP).
    """

    accepted: dict[str, Reply]
    refused: dict[str, Reply]
    reply: Reply | None = None


@dataclasses.dataclass(frozen=True)
class SendOptions:
    """ESMTP options for one message (each checked against the capabilities).

    Attributes:
        ret: DSN ``RET`` (``"FULL"`` or ``"HDRS"``, RFC 3461 §4.3).
        envid: DSN ``ENVID`` (xtext-encoded here, RFC 3461 §4.4).
        notify: DSN ``NOTIFY`` per recipient: ``"NEVER"`` or a combination
            of ``SUCCESS``, ``FAILURE``, ``DELAY`` (RFC 3461 §4.1).
        orcpt: DSN ``ORCPT`` per recipient (``rfc822;addr``, RFC 3461 §4.2).
        requiretls: ask for TLS on every hop (RFC 8689 §4.1).
        priority: MT-PRIORITY, -9 to 9 (RFC 6710 §3).
        use_bdat: ``True``/``False`` to force or forbid BDAT; ``None``: use
            it when the server offers CHUNKING and the content is binary.
        binarymime: declare ``BODY=BINARYMIME`` (needs CHUNKING, RFC 3030).
    """

    ret: str | None = None
    envid: str | None = None
    notify: tuple[str, ...] = ()
    orcpt: bool = False
    requiretls: bool = False
    priority: int | None = None
    use_bdat: bool | None = None
    binarymime: bool = False


def _xtext(value: str) -> str:
    """RFC 3461 §4: xtext, every char outside "!".."~" (and "+", "=") as +XX."""
    out = []
    for byte in value.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (ord("+"), ord("=")):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


def _reply(conn: Connection) -> Flow[Reply]:
    event = yield from next_event(conn)
    if not isinstance(event, Reply):
        raise ConnectionLost("the server closed the connection")
    return event


def _error(reply: Reply, command: str) -> SMTPReplyError:
    return SMTPReplyError(reply.code, reply.text, reply.enhanced, command=command)


def command(conn: Connection, cmd: Command) -> Flow[Reply]:
    """Send one command and return its reply (any code)."""
    conn.send(cmd)
    return (yield from _reply(conn))


def greet(conn: Connection, local_hostname: str) -> Flow[Capabilities]:
    """Read the greeting (RFC 5321 §3.1) and say hello.

    Raises:
        SMTPReplyError: the greeting was not 220 (a 554 or 421 refusal).
    """
    greeting = yield from _reply(conn)
    if greeting.code != 220:
        if conn.state.name == "REFUSED":
            conn.send(Quit())  # §3.1: after 554 the server waits for QUIT
            yield from flush(conn)
        raise _error(greeting, "greeting")
    return (yield from hello(conn, local_hostname))


def hello(conn: Connection, local_hostname: str) -> Flow[Capabilities]:
    """EHLO (or LHLO), falling back to HELO when EHLO is not recognised."""
    if conn.lmtp:
        reply = yield from command(conn, Lhlo(local_hostname))
        if not reply.is_positive:
            raise _error(reply, "LHLO")
    else:
        reply = yield from command(conn, Ehlo(local_hostname))
        if reply.code in (500, 502):  # §4.1.4: not recognised / not implemented
            reply = yield from command(conn, Helo(local_hostname))
        if not reply.is_positive:
            raise _error(reply, "EHLO")
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
        reply = yield from _reply(conn)
        if reply.code == 334:
            if pending_first is not None:
                response, pending_first = pending_first, None
            else:
                try:
                    challenge = base64.b64decode(reply.lines[0].strip(), validate=True)
                    response = mechanism.respond(challenge)
                except (binascii.Error, AuthenticationError) as exc:
                    # RFC 4954 §4: "*" cancels; the server answers 501.
                    conn.send(AuthCancel())
                    yield from _reply(conn)
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
            f"{mechanism.name} authentication failed: {reply}", reply=_error(reply, "AUTH")
        )


def quit(conn: Connection) -> Flow[Reply | None]:
    """QUIT, then close. A server that has already gone is not an error."""
    reply: Reply | None = None
    with contextlib.suppress(ConnectionLost, RemoteProtocolError):
        reply = yield from command(conn, Quit())
    yield Close()
    return reply


# --------------------------------------------------------------------------
# Sending


def _mail_params(
    conn: Connection, msg: PreparedMessage, options: SendOptions, *, bdat: bool
) -> dict[str, str | None]:
    caps = conn.capabilities or Capabilities()
    params: dict[str, str | None] = {}
    if msg.size is not None and "SIZE" in caps:
        limit = caps.size
        if limit is not None and msg.size > limit:
            raise NotSupportedError(
                f"the message has {msg.size} octets; the server takes at most {limit} (SIZE)",
                capability="SIZE",
            )
        params["SIZE"] = str(msg.size)
    if options.binarymime:
        if not (bdat and caps.binarymime):
            raise NotSupportedError(
                "BODY=BINARYMIME needs CHUNKING and BINARYMIME", capability="BINARYMIME"
            )
        params["BODY"] = "BINARYMIME"
    elif msg.eight_bit is not False and caps.eightbitmime:
        # Declared for streamed content of unknown kind too: harmless for 7-bit.
        params["BODY"] = "8BITMIME"
    elif msg.eight_bit:
        raise NotSupportedError(
            "the message has 8-bit content and the server does not offer 8BITMIME; "
            "encode it as 7-bit (quoted-printable or base64) first",
            capability="8BITMIME",
        )
    if msg.needs_smtputf8:
        if not caps.smtputf8:
            raise NotSupportedError(
                "the message needs SMTPUTF8 (non-ASCII address or header), which the server lacks",
                capability="SMTPUTF8",
            )
        params["SMTPUTF8"] = None
    if options.ret or options.envid:
        if not caps.dsn:
            raise NotSupportedError("DSN options need the DSN extension", capability="DSN")
        if options.ret:
            params["RET"] = options.ret.upper()
        if options.envid:
            params["ENVID"] = _xtext(options.envid)
    if options.requiretls:
        if not (caps.requiretls and conn.tls_active):
            raise NotSupportedError(
                "REQUIRETLS needs the extension and TLS", capability="REQUIRETLS"
            )
        params["REQUIRETLS"] = None
    if options.priority is not None:
        if caps.mt_priority is None:
            raise NotSupportedError("MT-PRIORITY is not offered", capability="MT-PRIORITY")
        if not -9 <= options.priority <= 9:
            raise ValueError("MT-PRIORITY must be between -9 and 9")
        params["MT-PRIORITY"] = str(options.priority)
    return params


def _rcpt_params(conn: Connection, recipient: str, options: SendOptions) -> dict[str, str | None]:
    if not (options.notify or options.orcpt):
        return {}
    if not (conn.capabilities and conn.capabilities.dsn):
        raise NotSupportedError("DSN options need the DSN extension", capability="DSN")
    params: dict[str, str | None] = {}
    if options.notify:
        params["NOTIFY"] = ",".join(n.upper() for n in options.notify)
    if options.orcpt:
        params["ORCPT"] = "rfc822;" + _xtext(recipient)
    return params


def _checked_chunks(chunks: Iterator[bytes], allow_8bit: bool) -> Iterator[bytes]:
    for chunk in chunks:
        if not allow_8bit and not chunk.isascii():
            raise ValueError("8-bit content, but BODY=8BITMIME was not declared")
        yield chunk


def send_message(conn: Connection, msg: PreparedMessage, options: SendOptions) -> Flow[SendResult]:
    """One mail transaction: MAIL, RCPT..., then DATA or BDAT (RFC 5321 §3.3).

    With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go in one write and
    their replies are read in order. A recipient counts as accepted only once
    the reply to the end of data says so; a connection lost between the end of
    data and that reply raises :class:`OutcomeUnknown`.

    Raises:
        SenderRefused, RecipientRefused (all refused), SMTPReplyError (data
            refused), OutcomeUnknown, NotSupportedError, ValueError.
    """
    caps = conn.capabilities or Capabilities()
    use_bdat = options.use_bdat if options.use_bdat is not None else options.binarymime
    if use_bdat and not caps.chunking:
        raise NotSupportedError("BDAT needs the CHUNKING extension", capability="CHUNKING")
    mail = MailFrom(msg.sender, _mail_params(conn, msg, options, bdat=use_bdat))
    rcpts = [RcptTo(r, _rcpt_params(conn, r, options)) for r in msg.recipients]
    body = dict(mail.params).get("BODY")
    allow_8bit = body in ("8BITMIME", "BINARYMIME")

    conn.send(mail)
    refused: dict[str, Reply] = {}
    if caps.pipelining:
        for rcpt in rcpts:
            conn.send(rcpt)
        if not use_bdat:
            conn.send(Data())
        mail_reply = yield from _reply(conn)
        for _ in rcpts:
            reply = yield from _reply(conn)
            if not reply.is_positive and reply.recipient is not None:
                refused[reply.recipient] = reply
        data_reply = None if use_bdat else (yield from _reply(conn))
    else:
        mail_reply = yield from _reply(conn)
        data_reply = None
        if mail_reply.is_positive:
            for rcpt in rcpts:
                reply = yield from command(conn, rcpt)
                if not reply.is_positive:
                    refused[rcpt.recipient] = reply
            if len(refused) < len(rcpts) and not use_bdat:
                data_reply = yield from command(conn, Data())

    if not mail_reply.is_positive:
        yield from _abandon(conn, data_reply)
        raise SenderRefused(
            mail_reply.code, mail_reply.text, mail_reply.enhanced, sender=msg.sender
        )
    if len(refused) == len(rcpts):
        yield from _abandon(conn, data_reply)
        first = next(iter(refused.values()))
        raise RecipientRefused(first.code, first.text, first.enhanced, refused=dict(refused))
    if data_reply is not None and data_reply.code != 354:
        yield from _abandon(conn, None)
        raise _error(data_reply, "DATA")

    chunks = _checked_chunks(msg.chunks, allow_8bit)
    try:
        if use_bdat:
            finals = yield from _send_bdat(conn, chunks)
        else:
            finals = yield from _send_data(conn, chunks)
    except ValueError as exc:
        # Content already on the wire cannot be taken back; closing without
        # the end of data leaves the message undelivered.
        yield Close()
        raise ValueError(f"{exc}; the connection was closed and the message not sent") from exc

    accepted: dict[str, Reply] = {}
    if conn.lmtp:
        for reply in finals:
            assert reply.recipient is not None
            (accepted if reply.is_positive else refused)[reply.recipient] = reply
        if not accepted:
            last = finals[-1]
            raise RecipientRefused(last.code, last.text, last.enhanced, refused=dict(refused))
    else:
        final = finals[-1]
        if not final.is_positive:
            raise _error(final, "end of data")
        accepted = {r: final for r in msg.recipients if r not in refused}
    return SendResult(accepted=accepted, refused=refused, reply=finals[-1])


def _abandon(conn: Connection, data_reply: Reply | None) -> Flow[None]:
    """End a failed transaction: finish a stray 354 with an empty body, then RSET."""
    if data_reply is not None and data_reply.code == 354:
        # RFC 2920 §3.1: every recipient failed but DATA was accepted: send
        # an empty message's end, whose reply will be a failure.
        conn.send(EndOfData())
        yield from _reply(conn)
    if conn.state.name not in ("READY", "INIT"):
        reply = yield from command(conn, Rset())
        if not reply.is_positive:
            raise _error(reply, "RSET")


def _final_replies(conn: Connection, expected: int, *, before: int = 0) -> Flow[list[Reply]]:
    """The replies to the end of data; a loss before them is OutcomeUnknown.

    ``before`` replies to earlier BDAT chunks come first; a failure among them
    fails the message (raised after the final replies are read).
    """
    replies: list[Reply] = []
    failure: Reply | None = None
    try:
        for _ in range(before):
            reply = yield from _reply(conn)
            if not reply.is_positive and failure is None:
                failure = reply
        for _ in range(expected):
            replies.append((yield from _reply(conn)))
    except (ConnectionLost, Timeout) as exc:
        settled = [r.recipient for r in replies if r.recipient]
        unknown = [r for r in conn.accepted if r not in settled] or list(conn.accepted)
        raise OutcomeUnknown(
            "the connection was lost after the message was sent and before the server "
            "confirmed it; it may or may not have been delivered",
            recipients=unknown,
        ) from exc
    if failure is not None:
        raise _error(failure, "BDAT")
    return replies


def _send_data(conn: Connection, chunks: Iterator[bytes]) -> Flow[list[Reply]]:
    for chunk in chunks:
        conn.send(Content(chunk))
        yield from flush(conn)
    expected = len(conn.accepted) if conn.lmtp else 1
    conn.send(EndOfData())
    return (yield from _final_replies(conn, expected))


def _send_bdat(conn: Connection, chunks: Iterator[bytes]) -> Flow[list[Reply]]:
    """BDAT chunks (RFC 3030 §2), one chunk of look-ahead to mark the LAST."""
    previous: bytes | None = None
    sent = 0
    for chunk in chunks:
        if not chunk:
            continue
        if previous is not None:
            conn.send(Bdat(previous))
            yield from flush(conn)
            sent += 1
        previous = chunk
    conn.send(Bdat(previous or b"", last=True))
    yield from flush(conn)
    expected = len(conn.accepted) if conn.lmtp else 1
    return (yield from _final_replies(conn, expected, before=sent))
