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
    remaining: int = 1  # replies still due (LMTP end of data: one per recipient)
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
        self._rcpt_order: collections.deque[str] = collections.deque()
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
        if isinstance(command, Lhlo) != self.lmtp and isinstance(command, Ehlo | Lhlo | Helo):
            expected = "LHLO" if self.lmtp else "EHLO or HELO"
            raise LocalProtocolError(f"this session uses {expected}, not {command.verb}")
        before = self.state
        pending = self._write(command)
        if isinstance(command, Rset | MailFrom):
            self.accepted, self._rcpt_order = [], collections.deque()
            self._mail_accepted = False
        if isinstance(command, MailFrom):
            self._utf8 = any(key.upper() == "SMTPUTF8" for key, _ in command.params)
        elif isinstance(command, RcptTo):
            self._rcpt_order.append(command.recipient)
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

    def _write(self, command: Command) -> _Pending | None:
        """Serialise; return the pending entry (``None``: no reply is due)."""
        if isinstance(command, Content):
            assert self._stuffer is not None
            self._stuffer.feed(command.data, self._out)
            return None
        if isinstance(command, EndOfData):
            assert self._stuffer is not None
            self._stuffer.end(self._out)
            self._stuffer = None
            return self._final_reply_entry(command)
        if isinstance(command, Bdat) and command.last:
            write_command(command, self._out, utf8=self._utf8)
            return self._final_reply_entry(command)
        write_command(command, self._out, utf8=self._utf8)
        return _Pending(command, self.state)

    def _final_reply_entry(self, command: Command) -> _Pending:
        if not self.lmtp:
            return _Pending(command, self.state)
        # RFC 2033 §4.2: one reply per recipient whose RCPT succeeded. Every
        # RCPT reply has arrived by now: the 354 (or the BDAT replies) came
        # after them, in order.
        recipients = tuple(self.accepted)
        if not recipients:
            raise LocalProtocolError("LMTP end of data with no accepted recipient")
        return _Pending(command, self.state, len(recipients), recipients)

    def tls_established(self) -> None:
        """Tell the core the driver finished the TLS handshake (RFC 3207 §4.2).

        The session starts over: capabilities are forgotten and EHLO must be
        sent again before anything else.
        """
        if self.state is not State.TLS_HANDSHAKE:
            raise LocalProtocolError(f"no STARTTLS go-ahead to complete (state {self.state.name})")
        self.tls_active = True
        self.capabilities = None
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
            # RFC 5321 §3.1: 220 opens the session; 554 (or 421) refuses it.
            self.state = State.INIT if reply.code == 220 else State.REFUSED
            if reply.code == 421:
                self.state = State.CLOSED
            return reply
        if not self._pending:
            if reply.code == 421:  # §3.8: the server may shut down at any time
                self.state = State.CLOSED
                return reply
            raise RemoteProtocolError(f"reply with no command waiting for it: {reply}")
        entry = self._pending[0]
        index = len(entry.recipients) - entry.remaining
        entry.remaining -= 1
        if entry.remaining == 0:
            self._pending.popleft()
        recipient = entry.recipients[index] if entry.recipients else None
        if isinstance(entry.command, RcptTo):
            recipient = self._rcpt_order.popleft() if self._rcpt_order else None
        reply = dataclasses.replace(reply, command=entry.command, recipient=recipient)
        self._apply(entry, reply)
        if reply.code == 421:
            self.state = State.CLOSED
        return reply

    def _apply(self, entry: _Pending, reply: Reply) -> None:
        command = entry.command
        current = self.state is entry.state_after
        if reply.is_intermediate and not isinstance(
            command, Data | Auth | AuthResponse | AuthCancel
        ):
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
            else:
                self.authenticated = self.authenticated or reply.code == 235
                if current:
                    self.state = State.READY
        elif isinstance(command, MailFrom):
            self._mail_accepted = reply.is_positive
            if not reply.is_positive and current:
                self.state = State.READY
        elif isinstance(command, RcptTo):
            if reply.is_positive and reply.recipient is not None:
                self.accepted.append(reply.recipient)
        elif isinstance(command, Data):
            if reply.code == 354:
                self._stuffer = DataStuffer()
                self.state = State.CONTENT
            elif reply.is_intermediate:
                raise RemoteProtocolError(f"unexpected {reply.code} reply to DATA")
            else:
                # A refused DATA does not end the server's transaction when
                # MAIL was accepted (RFC 5321 §3.3): RSET is still needed.
                self.state = State.RCPT if self._mail_accepted else State.READY
        elif isinstance(command, EndOfData | Bdat):
            final = isinstance(command, EndOfData) or command.last
            if final and entry.remaining == 0 and current:
                self.state = State.READY
                self.accepted, self._utf8, self._mail_accepted = [], False, False
        elif isinstance(command, Quit):
            self.state = State.CLOSED

    def _enter_error(self, exc: BaseException) -> None:
        if isinstance(exc, ConnectionLost):
            self.state = State.CLOSED
        elif isinstance(exc, ProtocolError | SecurityError):
            self.state = State.ERROR
