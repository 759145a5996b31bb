"""Mail transactions: one message, or a batch pipelined across messages.

A transaction is MAIL, RCPT for each recipient, then DATA (or BDAT) and the
content (RFC 5321 §3.3). It is built from stages that both entry points share:

1. *plan*: every parameter checked against the capabilities, every command
   built; anything wrong is raised before a byte is sent;
2. *envelope*: MAIL, RCPT... (and DATA) queued -- in one write with
   PIPELINING (RFC 2920) -- and their replies read in order;
3. *content*: the message streamed, then the end of data; in a batch the
   next message's envelope is queued behind it, so both share one write
   (RFC 2920 §3.1 lets message content open a command group);
4. *final replies*: a recipient counts as accepted only when the reply to
   the end of data says so. If the connection is lost between sending the
   end of data and that reply, the outcome is unknown and reported as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from mailwire._flow import Close, Deadline, Flow, flush
from mailwire.errors import (
    ConnectionLost,
    NotSupportedError,
    OutcomeUnknown,
    RecipientRefused,
    SenderRefused,
    SMTPReplyError,
    Timeout,
)
from mailwire.smtp._capabilities import Capabilities
from mailwire.smtp._flows import command, next_reply, reply_error
from mailwire.smtp._message import PreparedMessage
from mailwire.smtp._state import State
from mailwire.smtp._writer import DataStuffer
from mailwire.smtp.commands import Bdat, Content, Data, EndOfData, MailFrom, RcptTo, Rset
from mailwire.smtp.connection import Connection
from mailwire.smtp.events import Reply

__all__ = ["SendOptions", "SendResult", "envelope_address", "send_message", "send_messages"]


@dataclasses.dataclass(frozen=True)
class SendResult:
    """What happened to one message.

    Attributes:
        accepted: envelope recipient -> the reply that accepted it. For SMTP
            that is the reply to the end of data (the same for all); for LMTP
            each recipient's own reply (RFC 2033 §4.2).
        refused: envelope recipient -> the reply that refused it (at RCPT, or
            for LMTP after the data; in a batch also the MAIL or end-of-data
            reply when the whole message failed).
        reply: the reply that settled the message (end of data, or the
            refusal in a batch).
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
        notify: DSN ``NOTIFY`` for every recipient: ``("NEVER",)`` or some
            of ``SUCCESS``, ``FAILURE``, ``DELAY`` (RFC 3461 §4.1).
        orcpt: send DSN ``ORCPT`` (``rfc822;addr``, RFC 3461 §4.2).
        requiretls: ask for TLS on every hop (RFC 8689 §4.1).
        priority: MT-PRIORITY, -9 to 9 (RFC 6710 §3).
        use_bdat: ``True``/``False`` to force or forbid BDAT; ``None``: BDAT
            only when ``binarymime`` asks for it.
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

    def __post_init__(self) -> None:
        # Refused here, before any connection is used: RFC 3461 allows nothing else.
        if self.ret is not None and self.ret.upper() not in ("FULL", "HDRS"):
            raise ValueError(f"RET must be FULL or HDRS (RFC 3461 §4.3), not {self.ret!r}")
        keywords = [n.upper() for n in self.notify]
        unknown = [n for n in keywords if n not in ("NEVER", "SUCCESS", "FAILURE", "DELAY")]
        if unknown:
            raise ValueError(
                f"NOTIFY takes NEVER, SUCCESS, FAILURE or DELAY (RFC 3461 §4.1), not {unknown!r}"
            )
        if "NEVER" in keywords and len(keywords) > 1:
            raise ValueError("NOTIFY=NEVER cannot be combined with other keywords (RFC 3461 §4.1)")


def _xtext(value: str) -> str:
    """RFC 3461 §4: xtext, every octet outside "!".."~" or "+", "=" as +XX."""
    out = []
    for byte in value.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (ord("+"), ord("=")):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


# --------------------------------------------------------------------------
# 1. plan


@dataclasses.dataclass
class _Transaction:
    msg: PreparedMessage
    mail: MailFrom
    rcpts: list[RcptTo]
    use_bdat: bool
    allow_8bit: bool
    # wire form of a recipient -> the form the caller gave (they differ after IDNA)
    original: dict[str, str] = dataclasses.field(default_factory=dict)
    refused: dict[str, Reply] = dataclasses.field(default_factory=dict)
    mail_reply: Reply | None = None
    data_reply: Reply | None = None

    @property
    def accepted(self) -> list[str]:
        """Recipients not refused at RCPT, in the caller's form."""
        given = [self.original.get(r.recipient, r.recipient) for r in self.rcpts]
        return [r for r in given if r not in self.refused]


def _require(ok: bool, message: str, capability: str) -> None:
    if not ok:
        raise NotSupportedError(message, capability=capability)


def _mail_params(
    caps: Capabilities, tls: bool, msg: PreparedMessage, options: SendOptions, bdat: bool
) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    if msg.size is not None and "SIZE" in caps:
        limit = caps.size  # RFC 1870 §6: refuse locally rather than waste the transfer
        _require(
            limit is None or msg.size <= limit,
            f"the message has {msg.size} octets; the server takes at most {limit} (SIZE)",
            "SIZE",
        )
        params["SIZE"] = str(msg.size)
    if options.binarymime:
        _require(bdat and caps.binarymime, "BINARYMIME needs CHUNKING and BINARYMIME", "BINARYMIME")
        params["BODY"] = "BINARYMIME"
    elif msg.eight_bit is not False and caps.eightbitmime:
        # Also for streamed content of unknown kind: harmless for 7-bit data.
        params["BODY"] = "8BITMIME"
    else:
        _require(
            not msg.eight_bit,
            "the message has 8-bit content and the server lacks 8BITMIME; "
            "encode it as 7-bit (quoted-printable or base64) first",
            "8BITMIME",
        )
    utf8_envelope = not msg.sender.isascii() or not all(r.isascii() for r in msg.recipients)
    if msg.utf8_headers:
        _require(
            caps.smtputf8,
            "the header has raw UTF-8 (RFC 6532), which needs SMTPUTF8; the server lacks it. "
            "Encode the header with RFC 2047 encoded-words instead",
            "SMTPUTF8",
        )
    if caps.smtputf8 and (utf8_envelope or msg.utf8_headers):
        params["SMTPUTF8"] = None
    if options.ret or options.envid:
        _require(caps.dsn, "DSN options need the DSN extension", "DSN")
        if options.ret:
            params["RET"] = options.ret.upper()
        if options.envid:
            params["ENVID"] = _xtext(options.envid)
    if options.requiretls:
        _require(caps.requiretls and tls, "REQUIRETLS needs the extension and TLS", "REQUIRETLS")
        params["REQUIRETLS"] = None
    if options.priority is not None:
        _require(caps.mt_priority is not None, "MT-PRIORITY is not offered", "MT-PRIORITY")
        if not -9 <= options.priority <= 9:
            raise ValueError("MT-PRIORITY must be between -9 and 9")
        params["MT-PRIORITY"] = str(options.priority)
    return params


def _utf8_xtext(value: str) -> str:
    """RFC 6533 §3 utf-8-addr-xtext: outside printable ASCII, and "+", "=", "\\", as \\x{HEX}."""
    out = []
    for char in value:
        code = ord(char)
        if 0x21 <= code <= 0x7E and char not in "+=\\":
            out.append(char)
        else:
            out.append(f"\\x{{{code:X}}}")
    return "".join(out)


def _rcpt_params(caps: Capabilities, wire: str, options: SendOptions) -> dict[str, str | None]:
    """NOTIFY and ORCPT for one recipient; ``wire`` is the address as RCPT TO sends it."""
    if not (options.notify or options.orcpt):
        return {}
    _require(caps.dsn, "DSN options need the DSN extension", "DSN")
    params: dict[str, str | None] = {}
    if options.notify:
        params["NOTIFY"] = ",".join(n.upper() for n in options.notify)
    if options.orcpt:
        # RFC 3461 §4.2: on submission ORCPT "MUST contain the same address as
        # the RCPT TO address"; rfc822 addresses are printable ASCII (xtext),
        # a UTF-8 one (SMTPUTF8) uses RFC 6533's utf-8 address type.
        if wire.isascii():
            params["ORCPT"] = "rfc822;" + _xtext(wire)
        else:
            params["ORCPT"] = "utf-8;" + _utf8_xtext(wire)
    return params


def envelope_address(address: str, smtputf8: bool) -> str:
    """The form of ``address`` to put on the wire.

    ASCII addresses, and any address when SMTPUTF8 is in use (RFC 6531 §3.3),
    go as they are. Otherwise a non-ASCII domain is converted to its IDNA
    A-label form (RFC 5890, as RFC 6531 §3.2 suggests for downgrades), and
    a non-ASCII local part cannot be sent at all.

    Raises:
        NotSupportedError: a non-ASCII local part without SMTPUTF8.
        ValueError: a domain that IDNA cannot encode.
    """
    if address.isascii() or smtputf8:
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local.isascii():
        raise NotSupportedError(
            f"{address!r} has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531); "
            "the server does not offer it",
            capability="SMTPUTF8",
        )
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"cannot encode the domain of {address!r} with IDNA: {exc}") from None
    return f"{local}@{ascii_domain}"


def _plan(conn: Connection, msg: PreparedMessage, options: SendOptions) -> _Transaction:
    caps = conn.capabilities or Capabilities()
    use_bdat = options.use_bdat if options.use_bdat is not None else options.binarymime
    _require(not use_bdat or caps.chunking, "BDAT needs the CHUNKING extension", "CHUNKING")
    params = _mail_params(caps, conn.tls_active, msg, options, use_bdat)
    sender = envelope_address(msg.sender, caps.smtputf8) if msg.sender else ""
    mail = MailFrom(sender, params)
    wire = {r: envelope_address(r, caps.smtputf8) for r in msg.recipients}
    rcpts = [RcptTo(wire[r], _rcpt_params(caps, wire[r], options)) for r in msg.recipients]
    allow_8bit = params.get("BODY") in ("8BITMIME", "BINARYMIME")
    original = {w: r for r, w in wire.items()}
    return _Transaction(msg, mail, rcpts, use_bdat, allow_8bit, original=original)


# --------------------------------------------------------------------------
# 2. envelope


def _queue_envelope(conn: Connection, txn: _Transaction) -> None:
    """Queue MAIL, and with PIPELINING every RCPT and DATA behind it."""
    conn.send(txn.mail)
    if conn.capabilities is not None and conn.capabilities.pipelining:
        for rcpt in txn.rcpts:
            conn.send(rcpt)
        if not txn.use_bdat:
            conn.send(Data())


def _read_envelope(conn: Connection, txn: _Transaction) -> Flow[None]:
    """Read the envelope's replies (sending RCPT/DATA one by one without PIPELINING)."""
    pipelined = conn.capabilities is not None and conn.capabilities.pipelining
    txn.mail_reply = yield from next_reply(conn)
    if pipelined:
        for _ in txn.rcpts:
            reply = yield from next_reply(conn)
            if not reply.is_positive and reply.recipient is not None:
                txn.refused[txn.original.get(reply.recipient, reply.recipient)] = reply
        if not txn.use_bdat:
            txn.data_reply = yield from next_reply(conn)
        return
    if not txn.mail_reply.is_positive:
        return
    for rcpt in txn.rcpts:
        reply = yield from command(conn, rcpt)
        if not reply.is_positive:
            txn.refused[txn.original.get(rcpt.recipient, rcpt.recipient)] = reply
    if txn.accepted and not txn.use_bdat:
        txn.data_reply = yield from command(conn, Data())


def _envelope_failure(txn: _Transaction) -> SMTPReplyError | None:
    mail = txn.mail_reply
    assert mail is not None
    if not mail.is_positive:
        return SenderRefused(mail.code, mail.text, mail.enhanced, sender=txn.msg.sender)
    if not txn.accepted:
        first = next(iter(txn.refused.values()))
        return RecipientRefused(first.code, first.text, first.enhanced, refused=dict(txn.refused))
    if txn.data_reply is not None and txn.data_reply.code != 354:
        return reply_error(txn.data_reply, "DATA")
    return None


def _abandon(conn: Connection, txn: _Transaction) -> Flow[None]:
    """End a failed transaction: close a stray 354 with an empty body, then RSET."""
    if txn.data_reply is not None and txn.data_reply.code == 354:
        # RFC 2920 §3.1: DATA was accepted although no recipient was; send
        # the end of an empty message, whose reply will be a failure.
        conn.send(EndOfData())
        yield from next_reply(conn)
    if conn.state.name not in ("READY", "INIT"):
        reply = yield from command(conn, Rset())
        if not reply.is_positive:
            raise reply_error(reply, "RSET")


# --------------------------------------------------------------------------
# 3. content and 4. final replies


def _checked(chunks: Iterator[bytes], allow_8bit: bool, *, lines: bool) -> Iterator[bytes]:
    """The content, refused where it would be unsafe on the wire.

    ``lines``: apply DATA's line rules (no bare CR/LF, at most 998 octets) --
    for BDAT too, unless the body is BINARYMIME: a relay may forward a BDAT
    message with DATA, where a bare LF before "." could end it early (S11).
    """
    checker = DataStuffer() if lines else None
    for chunk in chunks:
        if not allow_8bit and not chunk.isascii():
            raise ValueError("8-bit content, but BODY=8BITMIME was not declared")
        if checker is not None:
            checker.check(chunk)
        yield chunk
    if checker is not None:
        checker.check_end()


def _send_content(
    conn: Connection,
    txn: _Transaction,
    then: Callable[[], None] | None = None,
    *,
    reply_deadline: float | None = None,
) -> Flow[list[Reply]]:
    """Stream the content, end it, queue ``then`` behind it, read the final replies.

    Each chunk is written when the next one is queued, so the last chunk, the
    end of data and whatever ``then`` queues go out in one write.
    """
    accepted = txn.accepted  # fixed now: a batch's next MAIL may follow before the replies
    binary = dict(txn.mail.params).get("BODY") == "BINARYMIME"
    chunks = _checked(txn.msg.chunks, txn.allow_8bit, lines=txn.use_bdat and not binary)
    sent_bdat = 0
    yield Deadline(None)  # the content may take as long as it takes to send
    try:
        if txn.use_bdat:
            previous: bytes | None = None
            for chunk in chunks:
                if chunk:
                    if previous is not None:
                        conn.send(Bdat(previous))
                        yield from flush(conn)
                        sent_bdat += 1
                    previous = chunk
            conn.send(Bdat(previous or b"", last=True))
        else:
            for chunk in chunks:
                yield from flush(conn)
                conn.send(Content(chunk))
            conn.send(EndOfData())
    except ValueError as exc:
        # Content on the wire cannot be taken back; closing before the end of
        # data leaves the message undelivered.
        yield Close()
        raise ValueError(f"{exc}; the connection was closed and the message not sent") from exc
    if then is not None:
        then()
    yield from flush(conn)
    yield Deadline(reply_deadline)
    expected = len(accepted) if conn.lmtp else 1
    try:
        finals = yield from _final_replies(conn, txn, expected, before=sent_bdat)
    except SMTPReplyError:
        yield from _reset_if_failed(conn)
        raise
    yield from _reset_if_failed(conn)
    return finals


def _reset_if_failed(conn: Connection) -> Flow[None]:
    """RFC 3030 §2: after a refused BDAT chunk, RSET before anything else."""
    if conn.state is State.FAILED:
        reply = yield from command(conn, Rset())
        if not reply.is_positive:
            raise reply_error(reply, "RSET")


def _final_replies(
    conn: Connection, txn: _Transaction, expected: int, *, before: int = 0
) -> Flow[list[Reply]]:
    """The replies to the end of data; a loss before them is OutcomeUnknown.

    ``before`` replies to earlier BDAT chunks come first; a failure among
    them fails the message (raised after the final replies are read).
    """
    replies: list[Reply] = []
    failure: Reply | None = None
    try:
        for _ in range(before):
            reply = yield from next_reply(conn)
            if not reply.is_positive and failure is None:
                failure = reply
        for _ in range(expected):
            replies.append((yield from next_reply(conn)))
    except (ConnectionLost, Timeout) as exc:
        settled = {txn.original.get(r.recipient, r.recipient) for r in replies if r.recipient}
        raise OutcomeUnknown(
            "the connection was lost after the message was sent and before the server "
            "confirmed it; it may or may not have been delivered",
            recipients=[r for r in txn.accepted if r not in settled],
        ) from exc
    if failure is not None:
        raise reply_error(failure, "BDAT")
    return replies


def _result(conn: Connection, txn: _Transaction, finals: list[Reply]) -> SendResult:
    refused = dict(txn.refused)
    accepted: dict[str, Reply] = {}
    if conn.lmtp:
        for reply in finals:
            assert reply.recipient is not None
            who = txn.original.get(reply.recipient, reply.recipient)
            (accepted if reply.is_positive else refused)[who] = reply
        if not accepted:
            last = finals[-1]
            raise RecipientRefused(last.code, last.text, last.enhanced, refused=refused)
    else:
        final = finals[-1]
        if not final.is_positive:
            raise reply_error(final, "end of data")
        accepted = dict.fromkeys(txn.accepted, final)
    return SendResult(accepted=accepted, refused=refused, reply=finals[-1])


# --------------------------------------------------------------------------
# entry points


def send_message(
    conn: Connection,
    msg: PreparedMessage,
    options: SendOptions,
    *,
    reply_deadline: float | None = None,
) -> Flow[SendResult]:
    """One mail transaction; a partial refusal returns, a total one raises.

    Raises:
        SenderRefused, RecipientRefused (every recipient refused),
        SMTPReplyError (content refused), OutcomeUnknown, NotSupportedError,
        ValueError.
    """
    txn = _plan(conn, msg, options)
    _queue_envelope(conn, txn)
    yield Deadline(reply_deadline)  # each wait for replies is bounded (S27)
    yield from _read_envelope(conn, txn)
    failure = _envelope_failure(txn)
    if failure is not None:
        yield from _abandon(conn, txn)
        raise failure
    finals = yield from _send_content(conn, txn, reply_deadline=reply_deadline)
    return _result(conn, txn, finals)


def _failed(txn: _Transaction, error: SMTPReplyError, reply: Reply | None) -> SendResult:
    """A batch entry for a message that was not delivered to anyone."""
    refused = dict(txn.refused)
    if reply is not None:
        for recipient in txn.accepted:
            refused[recipient] = reply
    return SendResult(accepted={}, refused=refused, reply=reply)


def send_messages(
    conn: Connection,
    batch: list[tuple[PreparedMessage, SendOptions]],
    *,
    reply_deadline: float | None = None,
) -> Flow[list[SendResult]]:
    """Several transactions, pipelined across messages when PIPELINING is offered.

    Every message is planned before anything is sent. A message that fails
    (sender or every recipient refused, content refused) is reported in its
    :class:`SendResult` with nothing accepted, and the batch goes on.

    Raises:
        OutcomeUnknown: the connection was lost while a message's fate was
            open; ``.settled`` holds the results of the messages before it.
        ConnectionLost: lost before a message's data went out (that message
            and the later ones were not sent); ``.settled`` as above.
        Timeout: a reply was late before a message's data went out;
            ``.settled`` as above.
        NotSupportedError, ValueError: before anything was sent.
    """
    txns = [_plan(conn, msg, options) for msg, options in batch]
    pipelined = conn.capabilities is not None and conn.capabilities.pipelining
    results: list[SendResult] = []
    if txns:
        _queue_envelope(conn, txns[0])
    for index, txn in enumerate(txns):
        following = txns[index + 1] if index + 1 < len(txns) else None
        try:
            yield Deadline(reply_deadline)
            yield from _read_envelope(conn, txn)
            failure = _envelope_failure(txn)
            if failure is not None:
                settling = txn.data_reply if txn.mail_reply and txn.mail_reply.is_positive else None
                results.append(_failed(txn, failure, settling or txn.mail_reply))
                yield from _abandon(conn, txn)
                if following is not None:
                    _queue_envelope(conn, following)
                continue

            def queue_next(nxt: _Transaction | None = following) -> None:
                if nxt is not None and pipelined:
                    _queue_envelope(conn, nxt)

            finals = yield from _send_content(
                conn, txn, then=queue_next, reply_deadline=reply_deadline
            )
            try:
                results.append(_result(conn, txn, finals))
            except SMTPReplyError as refused:
                results.append(_failed(txn, refused, finals[-1]))
            if following is not None and not pipelined:
                _queue_envelope(conn, following)
        except (ConnectionLost, Timeout) as exc:  # OutcomeUnknown included
            # The messages before this one are settled: say so, or a caller
            # resending the batch would deliver them twice.
            exc.settled = list(results)
            raise
    return results
