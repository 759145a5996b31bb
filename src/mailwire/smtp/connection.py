"""The sans-I/O SMTP / LMTP client core.

``Connection`` knows the protocol and nothing about sockets, clocks or
threads. Feed it the server's bytes with :meth:`Connection.receive_data`;
take replies out one at a time with :meth:`Connection.next_event`; queue
commands with :meth:`Connection.send` and drain the bytes to write with
:meth:`Connection.data_to_send` (or :meth:`~Connection.outgoing`, which also
says which spans are secret)::

    conn = Connection()
    conn.receive_data(b"220 mx.example ESMTP\\r\\n")
    conn.next_event()            # Reply(code=220, ...); conn.state is State.INIT
    conn.send(Ehlo("client.example"))
    conn.data_to_send()          # b"EHLO client.example\\r\\n"

Every reply is paired with the command it answers through a queue of pending
commands, in order (PIPELINING keeps order, RFC 2920 §3.1). LMTP (RFC 2033)
differs in one place: after the data, one reply comes per accepted
recipient, each tagged with that recipient.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

from mailwire._core import CoreBase, poisons
from mailwire._flow import NEED_DATA, NeedData
from mailwire.errors import (
    ConnectionLost,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SecurityError,
)
from mailwire.limits import DEFAULT_LIMITS, Limits
from mailwire.smtp._capabilities import Capabilities
from mailwire.smtp._reader import ReplyReader
from mailwire.smtp._state import SEND_TABLE, State
from mailwire.smtp._writer import DataStuffer, write_command
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
    StartTLS,
)
from mailwire.smtp.events import ConnectionClosed, Reply

__all__ = ["Connection", "describe_reply"]

# RFC 5321 §4.2.1: what the first digit of a reply code says.
_CLASSES = {
    2: "positive completion",
    3: "positive intermediate: go on",
    4: "transient failure: try again later",
    5: "permanent failure",
}


def describe_reply(reply: Reply, before: State, after: State) -> str:
    """One line for learners: the reply, what it answers and means, the state change."""
    answers = reply.command.verb if reply.command is not None else "the connection"
    if reply.command is None and before is State.GREETING:
        answers = "the greeting"
    meaning = _CLASSES.get(reply.code // 100, "unknown class")
    status = f" {'.'.join(map(str, reply.enhanced))}" if reply.enhanced else ""
    who = f" for {reply.recipient}" if reply.recipient else ""
    change = f"{before.name} -> {after.name}" if before is not after else f"stays {after.name}"
    return f"{reply.code}{status} to {answers}{who}: {meaning} (RFC 5321 §4.2.1); {change}"


Event = Reply | ConnectionClosed


@dataclasses.dataclass(slots=True)
class _Pending:
    command: Command
    state_after: State  # the state sending it left; its reply applies only then
    # The transaction's list of accepted recipients (a RCPT reply appends to
    # its own transaction's list even when a later MAIL has started another).
    bucket: list[str]
    remaining: int = 1  # replies still due; -1: LMTP, count them at the first reply
    recipients: tuple[str, ...] = ()  # LMTP: whom those replies are about


class Connection(CoreBase):
    """One SMTP (or LMTP) session as seen by the client, without I/O.

    Args:
        lmtp: speak LMTP (RFC 2033): LHLO, and one reply per recipient after
            the data.
        limits: bounds on what the server can make us hold.
        tls_active: the connection is already inside TLS (implicit TLS,
            RFC 8314); the driver did the handshake before the greeting.
        annotate: called with a one-line explanation of every command sent
            and reply received (what it was, the state before and after, the
            RFC section); clients pass their transcript's ``event``.

    Attributes:
        state: the :class:`State`.
        capabilities: from the last EHLO/LHLO/HELO, or ``None`` (before it,
            and after STARTTLS, RFC 3207 §4.2).
        tls_active: TLS was negotiated on this session.
        authenticated: an AUTH exchange succeeded.
    """

    def __init__(
        self,
        *,
        lmtp: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        tls_active: bool = False,
        annotate: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(limits, max_line_length=limits.max_reply_line_length)
        self.lmtp = lmtp
        self.state = State.GREETING
        self.capabilities: Capabilities | None = None
        self.tls_active = tls_active
        self.authenticated = False
        self._annotate = annotate
        self._reader = ReplyReader(limits)
        self._pending: collections.deque[_Pending] = collections.deque()
        self._stuffer: DataStuffer | None = None
        self._utf8 = False
        self._mail_accepted = False  # the server's transaction is open
        self._challenge = False  # a 334 awaits its answer (RFC 4954 §4)
        #: Recipients accepted in the current transaction, in order.
        self.accepted: list[str] = []

    def __repr__(self) -> str:
        kind = "LMTP" if self.lmtp else "SMTP"
        return f"<smtp.Connection {kind} {self.state.name} pending={len(self._pending)}>"

    @property
    def pending(self) -> tuple[Command, ...]:
        """Commands sent whose replies have not all arrived, oldest first."""
        return tuple(p.command for p in self._pending)

    # ---------------------------------------------------------------- sending

    @poisons
    def send(self, command: Command) -> None:
        """Queue ``command``, checking that it is legal now.

        Raises:
            LocalProtocolError: the command is not allowed in this state
                (nothing is queued; the core is in ERROR afterwards).
            ValueError: its content cannot be written (nothing is queued).
        """
        row = SEND_TABLE.get(type(command))
        if row is None:
            raise TypeError(f"not an SMTP command: {command!r}")
        if self.state not in row.allowed:
            raise LocalProtocolError(
                f"{command.verb} is not allowed in state {self.state.name} ({row.rfc})"
            )
        self._check_context(command)
        before = self.state
        if isinstance(command, MailFrom):
            # Decided before writing: the sender itself may be UTF-8 (RFC 6531 §3.4).
            utf8 = any(key.upper() == "SMTPUTF8" for key, _ in command.params)
            pending = self._write(command, utf8=utf8)
            self._utf8 = utf8
        else:
            pending = self._write(command, utf8=self._utf8)
        if isinstance(command, Rset | MailFrom):
            self.accepted = []  # a new list: the old one stays with its transaction
            self._mail_accepted = False
            if pending is not None:
                pending.bucket = self.accepted  # MAIL opens the new transaction
        if isinstance(command, AuthResponse | AuthCancel):
            self._challenge = False
        if row.to is not None:
            self.state = row.to
        if isinstance(command, Bdat) and command.last:
            self.state = State.END_OF_DATA
        if isinstance(command, Rset) and self.capabilities is None:
            self.state = State.INIT
        if pending is not None:
            pending.state_after = self.state
            self._pending.append(pending)
        if self._annotate is not None and not isinstance(command, Content):
            self._annotate(f"{command.verb} sent: {before.name} -> {self.state.name} ({row.rfc})")

    def _check_context(self, command: Command) -> None:
        """Rules that depend on more than the state."""
        if isinstance(command, Ehlo | Lhlo | Helo) and isinstance(command, Lhlo) != self.lmtp:
            expected = "LHLO" if self.lmtp else "EHLO or HELO"
            raise LocalProtocolError(f"this session uses {expected}, not {command.verb}")
        if isinstance(command, StartTLS) and self.tls_active:
            raise LocalProtocolError("STARTTLS inside TLS (RFC 3207 §4.2: MUST NOT)")
        if isinstance(command, AuthResponse | AuthCancel) and not self._challenge:
            # RFC 4954 §4: an answer goes only after its 334; pipelined, a
            # credential would be read as a command if AUTH were refused.
            raise LocalProtocolError(f"{command.verb} before the server's 334 challenge")

    def _write(self, command: Command, *, utf8: bool) -> _Pending | None:
        """Serialise; return the pending entry (``None``: no reply is due).

        Everything that can fail is checked before anything is written.
        """
        if isinstance(command, Content):
            assert self._stuffer is not None
            self._stuffer.feed(command.data, self._out)
            return None
        if isinstance(command, EndOfData):
            assert self._stuffer is not None
            entry = self._final_reply_entry(command)
            self._stuffer.end(self._out)
            self._stuffer = None
            return entry
        if isinstance(command, Bdat) and command.last:
            entry = self._final_reply_entry(command)
            write_command(command, self._out, utf8=utf8)
            return entry
        write_command(command, self._out, utf8=utf8)
        return _Pending(command, self.state, self.accepted)

    def _final_reply_entry(self, command: Command) -> _Pending:
        if not self.lmtp:
            return _Pending(command, self.state, self.accepted)
        # RFC 2033 §4.2: one reply per recipient whose RCPT succeeded. When
        # RCPT replies are still due (pipelined BDAT), count at the first reply.
        rcpt_due = any(
            isinstance(p.command, RcptTo) and p.bucket is self.accepted for p in self._pending
        )
        if rcpt_due:
            return _Pending(command, self.state, self.accepted, remaining=-1)
        if not self.accepted:
            raise LocalProtocolError("LMTP end of data with no accepted recipient")
        return _Pending(
            command, self.state, self.accepted, len(self.accepted), tuple(self.accepted)
        )

    def tls_established(self) -> None:
        """Tell the core the driver finished the TLS handshake (RFC 3207 §4.2).

        The session starts over: capabilities and authentication are
        forgotten, and EHLO must be sent again before anything else.

        Raises:
            LocalProtocolError: no STARTTLS go-ahead was pending.
            SecurityError: bytes arrived after the go-ahead and before TLS
                (they were sent in the clear, S1).
        """
        if self.error is not None:
            raise LocalProtocolError(f"no TLS on a connection that failed: {self.error}")
        error: LocalProtocolError | SecurityError | None = None
        if self.state is not State.TLS_HANDSHAKE:
            error = LocalProtocolError(f"no STARTTLS go-ahead to complete ({self.state.name})")
        elif len(self._buffer) or self._reader.in_reply:
            error = SecurityError("data received after the STARTTLS go-ahead (injection)")
        if error is not None:
            self._poison(error)
            raise error
        self.tls_active = True
        self.capabilities = None
        self.authenticated = False
        self.state = State.INIT

    # -------------------------------------------------------------- receiving

    @poisons
    def next_event(self) -> Event | NeedData:
        """The next reply, ``ConnectionClosed``, or ``NEED_DATA``.

        Raises:
            RemoteProtocolError: malformed or unexpected data (ERROR after).
            SecurityError: data injected before a TLS handshake (S1).
            ConnectionLost: the server closed with a reply still due.
        """
        reply = self._reader.read(self._buffer)
        if reply is None:
            if self._buffer.eof:
                return self._end_of_stream()
            return NEED_DATA
        before = self.state
        reply = self._dispatch(reply)
        if self._annotate is not None:
            self._annotate(describe_reply(reply, before, self.state))
        return reply

    def _end_of_stream(self) -> ConnectionClosed:
        if self._pending or self._reader.in_reply or len(self._buffer):
            waiting = self._pending[0].command.verb if self._pending else "the greeting"
            if self.state is State.GREETING:
                waiting = "the greeting"
            raise ConnectionLost(f"the server closed the connection before replying to {waiting}")
        if self.state is State.GREETING:
            raise ConnectionLost("the server closed the connection before its greeting")
        self.state = State.CLOSED
        return ConnectionClosed()

    def _dispatch(self, reply: Reply) -> Reply:
        if self.state is State.GREETING:
            # RFC 5321 §3.1: 220 opens the session, 554 refuses it, 421 may
            # come at any time (§3.8); any other greeting is no SMTP server
            # we can trust (security.md S8).
            if reply.code not in (220, 421, 554):
                raise RemoteProtocolError(f"not an SMTP greeting: {reply}")
            self.state = {220: State.INIT, 554: State.REFUSED}.get(reply.code, State.CLOSED)
            return reply
        if not self._pending:
            if reply.code == 421:  # §3.8: the server may shut down at any time
                self.state = State.CLOSED
                return reply
            raise RemoteProtocolError(f"reply with no command waiting for it: {reply}")
        entry = self._pending[0]
        if entry.remaining == -1:  # LMTP: every RCPT reply is in by now
            entry.recipients = tuple(entry.bucket)
            entry.remaining = len(entry.recipients)
            if not entry.remaining:
                raise RemoteProtocolError(
                    f"reply to the end of data although no recipient was accepted: {reply}"
                )
        index = len(entry.recipients) - entry.remaining
        entry.remaining -= 1
        if entry.remaining <= 0:
            self._pending.popleft()
        recipient = entry.recipients[index] if entry.recipients else None
        if isinstance(entry.command, RcptTo):
            recipient = entry.command.recipient
        reply = dataclasses.replace(reply, command=entry.command, recipient=recipient)
        self._apply(entry, reply)
        if reply.code == 421:
            self.state = State.CLOSED
        return reply

    def _apply(self, entry: _Pending, reply: Reply) -> None:
        command = entry.command
        current = self.state is entry.state_after
        if reply.is_intermediate and not (
            (isinstance(command, Data) and reply.code == 354)
            or (isinstance(command, Auth | AuthResponse) and reply.code == 334)
        ):
            # 3yz answers only DATA (354) and AUTH steps (334); a 334 to the
            # cancel line is wrong too (RFC 4954 §4: the server answers 501).
            raise RemoteProtocolError(f"intermediate reply {reply.code} to {command.verb}")
        if isinstance(command, Ehlo | Lhlo | Helo):
            if reply.is_positive:
                self.capabilities = (
                    Capabilities.helo(reply)
                    if isinstance(command, Helo)
                    else Capabilities.from_reply(reply)
                )
                if current:
                    self.state = State.READY
        elif isinstance(command, StartTLS):
            if reply.code == 220:
                if len(self._buffer) or self._reader.in_reply:
                    # RFC 3207 §5 / security.md S1: anything after the go-ahead
                    # was sent in the clear and would be read as if from TLS.
                    raise SecurityError("data received after the STARTTLS go-ahead (injection)")
                self.capabilities = None
                self.state = State.TLS_HANDSHAKE
            elif current:
                self.state = State.READY
        elif isinstance(command, Auth | AuthResponse | AuthCancel):
            if reply.code == 334:
                if not current:
                    raise RemoteProtocolError("334 challenge outside an AUTH exchange")
                self._challenge = True
            else:
                self._challenge = False
                self.authenticated = self.authenticated or reply.code == 235
                if current:
                    self.state = State.READY
        elif isinstance(command, MailFrom):
            if entry.bucket is self.accepted:
                self._mail_accepted = reply.is_positive
            if not reply.is_positive and current:
                self.state = State.READY
        elif isinstance(command, RcptTo):
            if reply.is_positive:
                entry.bucket.append(command.recipient)
        elif isinstance(command, Data):
            self._apply_data(entry, reply)
        elif isinstance(command, EndOfData | Bdat):
            final = isinstance(command, EndOfData) or command.last
            lmtp_outcome = self.lmtp and final  # RFC 2033: one recipient's fate, not all
            if not reply.is_positive and isinstance(command, Bdat) and current and not lmtp_outcome:
                # RFC 3030 §2: after a refused chunk no more may follow, and
                # the transaction must be reset before anything else.
                self.state = State.FAILED
            elif final and entry.remaining <= 0 and current:
                self.state = State.READY
                self.accepted, self._utf8, self._mail_accepted = [], False, False
        elif isinstance(command, Quit):
            self.state = State.CLOSED

    def _apply_data(self, entry: _Pending, reply: Reply) -> None:
        if reply.code == 354:
            rcpt_due = any(isinstance(p.command, RcptTo) for p in self._pending)
            if self.lmtp and not entry.bucket and not rcpt_due:
                # RFC 2033 §4.2: DATA with no accepted recipient MUST fail (503).
                raise RemoteProtocolError("354 to DATA although no recipient was accepted (LMTP)")
            self._stuffer = DataStuffer()
            self.state = State.CONTENT
        else:
            # A refused DATA does not end the server's transaction when MAIL
            # was accepted (RFC 5321 §3.3): RSET is still needed.
            self.state = State.RCPT if self._mail_accepted else State.READY

    def _enter_error(self, exc: BaseException) -> None:
        if isinstance(exc, ConnectionLost):
            self.state = State.CLOSED
        elif isinstance(exc, ProtocolError | SecurityError):
            self.state = State.ERROR
