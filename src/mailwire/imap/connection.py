"""The sans-I/O IMAP client core (RFC 9051, RFC 3501).

``Connection`` knows the protocol and nothing about sockets, clocks or
threads. Feed it the server's bytes with :meth:`Connection.receive_data`;
take responses out one at a time with :meth:`Connection.next_event`; queue
commands with :meth:`Connection.send` and drain the bytes to write with
:meth:`Connection.data_to_send` (or :meth:`~Connection.outgoing`, which also
says which spans are secret)::

    conn = Connection()
    conn.receive_data(b"* OK IMAP4rev1 ready\\r\\n")
    conn.next_event()              # StatusResponse(status='OK', ...)
    tag = conn.send(Login("alice", "secret"))
    conn.data_to_send()            # b'A1 LOGIN alice secret\\r\\n' (secret marked)

Tags come from a counter. Every command sent stays in a table of commands in
flight until its tagged completion arrives; a completion whose tag is not in
the table, or that arrived before its command was written, is a
:class:`RemoteProtocolError` (security.md S7). Continuation requests (``+``)
go to the command waiting for one: the connection writes the next piece of a
synchronizing literal by itself, and hands AUTHENTICATE challenges and the
IDLE go-ahead to the caller. Untagged data is routed to the command it
answers (:mod:`._routing`, :attr:`Connection.last_tag`) or is unsolicited;
either way it updates :attr:`Connection.mailbox` and is handed out at once,
never held (security.md S23).
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
from mailwire.imap._append import RecordedCommand, Step, StreamedAppend, steps_of
from mailwire.imap._frames import LiteralSink, SinkFactory
from mailwire.imap._reader import ResponseReader
from mailwire.imap._routing import InFlight, apply, describe, route
from mailwire.imap._seqset import SequenceSet
from mailwire.imap._session import Capabilities, SelectedMailbox
from mailwire.imap._state import COMPLETION_TABLE, SEND_TABLE, State
from mailwire.imap._writer import EncodeOptions
from mailwire.imap.events import (
    CapabilityData,
    Continuation,
    Enabled,
    Response,
    StatusResponse,
    Tagged,
)
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["Connection", "ConnectionClosed", "Event"]

_SEQUENCE_VERBS = frozenset({"FETCH", "STORE", "SEARCH", "COPY", "MOVE", "SORT", "THREAD"})
_NO_EXPUNGE = frozenset({"FETCH", "STORE", "SEARCH"})
# Untagged responses annotated per command before the transcript stops noting
# them one by one (a FETCH of 10 000 messages would otherwise add 10 000
# records to the transcript, S23).
_ANNOTATE_UNTAGGED = 50


ENABLE_AFTER_SELECT = (
    "ENABLE cannot be sent once a mailbox has been selected in this session (RFC 5161 §3.1)"
)


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The server closed the stream after the session ended (LOGOUT or BYE)."""


Event = Response | ConnectionClosed


class Connection(CoreBase):
    """One IMAP session as seen by the client, without I/O.

    Args:
        limits: bounds on what the server can make us hold.
        tls_active: the connection is already inside TLS (implicit TLS).
        annotate: called with a one-line explanation of every command sent
            and response received (state before and after, RFC section);
            clients pass their transcript's ``event``.
        tag_prefix: tags are this prefix and a counter (``A1``, ``A2``...).

    Attributes:
        state: the :class:`State`.
        capabilities: the last CAPABILITY list, or ``None`` before one is
            known (and after STARTTLS and login, RFC 9051 §6.2.1, §6.2.3).
        enabled: extensions turned on by ENABLE (RFC 5161), upper case.
        mailbox: the selected mailbox, or ``None``.
        tls_active: TLS protects the session.
        authenticated: LOGIN or AUTHENTICATE succeeded, or the greeting was
            PREAUTH (:attr:`preauth`).
        bye: the ``* BYE`` the server sent, if any.
        last_tag: the tag of the command the last event belongs to (the
            command a continuation is for, the one untagged data answers),
            ``None`` for unsolicited data.
        literal_sink: ``factory(prefix, size)`` deciding which literals are
            streamed to a sink (see :data:`mailwire.imap._frames.SinkFactory`).
    """

    def __init__(
        self,
        *,
        limits: Limits = DEFAULT_LIMITS,
        tls_active: bool = False,
        annotate: Callable[[str], None] | None = None,
        tag_prefix: str = "A",
    ) -> None:
        super().__init__(limits)
        self.state = State.GREETING
        self.capabilities: Capabilities | None = None
        self.enabled: set[str] = set()
        self.mailbox: SelectedMailbox | None = None
        #: A SELECT or EXAMINE was sent in this session: ENABLE may no longer
        #: be (RFC 5161 §3.1), even after CLOSE or UNSELECT.
        self.selected_once = False
        self.tls_active = tls_active
        self.authenticated = False
        self.preauth = False
        self.bye: StatusResponse | None = None
        self.last_tag: str | None = None
        self.literal_sink: SinkFactory | None = None
        self._annotate = annotate
        self._prefix = tag_prefix
        self._counter = 0
        self._reader = ResponseReader(limits, sink_factory=self._sink_for)
        self._table: dict[str, InFlight] = {}
        self._writing: collections.deque[InFlight] = collections.deque()
        self._fed = 0  # octets received so far (S7)
        self._chunk = limits.chunk_size
        self._untagged_noted = 0

    def __repr__(self) -> str:
        return f"<imap.Connection {self.state.name} in flight={len(self._table)}>"

    # ------------------------------------------------------------ properties

    @property
    def in_flight(self) -> tuple[str, ...]:
        """Tags of the commands whose completion has not arrived, oldest first."""
        return tuple(self._table)

    def command_for(self, tag: str) -> object | None:
        """The command sent with ``tag``, while it is in flight."""
        entry = self._table.get(tag)
        return entry.command if entry is not None else None

    @property
    def writing(self) -> bool:
        """Whether a command still has pieces to write (a literal awaits ``+``)."""
        return bool(self._writing)

    def slot_open(self, tag: str) -> int:
        """Octets of caller data the command ``tag`` may take now (0: none yet)."""
        if not self._writing or self._writing[0].tag != tag:
            return 0
        return max(0, self._writing[0].slot_left)

    @property
    def encode_options(self) -> EncodeOptions:
        """What the server allows in command encoding (RFC 7888, RFC 6855, RFC 3516)."""
        caps = self.capabilities or Capabilities(())
        return EncodeOptions(
            literal_plus="LITERAL+" in caps,
            literal_minus="LITERAL-" in caps or caps.rev2,
            utf8=bool(self.enabled & {"UTF8=ACCEPT", "IMAP4REV2"}),
            binary="BINARY" in caps,
        )

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the server; ``b""`` means the server closed."""
        self._fed += len(data)
        super().receive_data(data)

    @property
    def pending_output(self) -> bool:
        """Whether bytes are queued for the server (``data_to_send`` would not be empty)."""
        return bool(len(self._out))

    def receive_size(self) -> int:
        """How many bytes to read next: the buffer's answer, at most one chunk.

        A line is allowed ``Limits.max_line_length`` octets, but reading that
        much at once would set aside a fresh megabyte per read; after each
        large literal only a short line is due (the rest of the response, the
        next announcement), and the literal that follows is read straight
        into place (:meth:`receive_view`). So reads stay one chunk long.
        """
        return min(self._buffer.wanted(), self._chunk)

    def receive_view(self) -> memoryview | None:
        """A view to read the next bytes straight into, or ``None``.

        Offered while a large literal is being filled in place; read into it,
        call :meth:`received_into` with the count, then release the view.
        Otherwise read ``receive_size()`` bytes and call :meth:`receive_data`.
        """
        return self._buffer.receive_view()

    def received_into(self, n: int) -> None:
        """Record ``n`` octets read into the view of :meth:`receive_view`."""
        self._fed += n
        self._buffer.filled(n)

    # ---------------------------------------------------------------- sending

    @poisons
    def send(self, command: object) -> str:
        """Queue ``command`` and return its tag.

        Args:
            command: an :mod:`mailwire.imap.commands` object, a
                :class:`~mailwire.imap._append.StreamedAppend` or a
                :class:`~mailwire.imap._append.RecordedCommand`.

        Returns:
            The tag the command was sent with.

        Raises:
            LocalProtocolError: the command is not allowed now (wrong state,
                or it would break the pipelining rules of RFC 9051 §5.5);
                the core is in ERROR afterwards.
            ValueError: an argument cannot be sent; nothing is queued and no
                tag is spent.
        """
        verb = str(getattr(command, "verb", ""))
        row = SEND_TABLE.get(verb)
        if row is None:
            raise TypeError(f"not an IMAP command: {command!r}")
        uid = bool(getattr(command, "uid", False)) or getattr(command, "uids", None) is not None
        tag = command.tag if isinstance(command, RecordedCommand) else self._next_tag()
        steps = self._steps(command, tag)  # ValueError: nothing queued, no tag spent
        self._check_allowed(verb, row.exclusive, uid, row.rfc)
        if not isinstance(command, RecordedCommand):
            self._counter += 1
        messages = getattr(command, "messages", None)
        if messages is None and verb == "EXPUNGE":
            messages = getattr(command, "uids", None)
        entry = InFlight(
            tag=tag,
            command=command,
            verb=verb,
            uid=uid,
            steps=collections.deque(steps),
            exclusive=row.exclusive,
            sequence_numbers=verb in _SEQUENCE_VERBS and not uid,
            messages=messages if isinstance(messages, SequenceSet) else None,
            before=self.state,
            wants_plus=verb in ("AUTHENTICATE", "IDLE"),
        )
        if verb in ("SELECT", "EXAMINE"):
            self.selected_once = True
            name = str(getattr(command, "mailbox", ""))
            entry.mailbox = SelectedMailbox(name, readonly=verb == "EXAMINE")
        elif verb == "STATUS":
            entry.mailbox = str(getattr(command, "mailbox", ""))
        self._table[tag] = entry
        self._writing.append(entry)
        self._pump()
        if self._annotate is not None:
            prefix = "UID " if uid and verb != "EXPUNGE" else ""
            self._annotate(f"{tag} {prefix}{verb} sent in state {self.state.name} ({row.rfc})")
        return tag

    def _next_tag(self) -> str:
        return f"{self._prefix}{self._counter + 1}"

    def _steps(self, command: object, tag: str) -> list[Step]:
        if isinstance(command, StreamedAppend):
            return command.steps(tag, self.encode_options)
        if isinstance(command, RecordedCommand):
            return command.steps()
        encode = getattr(command, "encode", None)
        if encode is None:
            raise TypeError(f"not an IMAP command: {command!r}")
        return steps_of(encode(tag, self.encode_options))

    def _check_allowed(self, verb: str, exclusive: bool, uid: bool, rfc: str) -> None:
        if self.state not in SEND_TABLE[verb].allowed:
            raise LocalProtocolError(f"{verb} is not allowed in state {self.state.name} ({rfc})")
        if verb == "ENABLE" and self.selected_once:
            raise LocalProtocolError(ENABLE_AFTER_SELECT)
        for entry in self._table.values():
            if entry.exclusive:
                raise LocalProtocolError(
                    f"{verb} cannot be sent while {entry.verb} is in progress: it changes the "
                    "session state (RFC 9051 §5.5)"
                )
        if exclusive and self._table:
            raise LocalProtocolError(
                f"{verb} changes the session state: wait for the commands in flight first"
            )
        if verb in _SEQUENCE_VERBS and not uid:
            for entry in self._table.values():
                if entry.uid or entry.verb not in _NO_EXPUNGE:
                    raise LocalProtocolError(
                        f"{verb} with message sequence numbers cannot follow {entry.verb} "
                        "before it completes: an EXPUNGE could renumber the messages "
                        "(RFC 9051 §5.5)"
                    )

    def _pump(self) -> None:
        """Write every piece that may go now (pieces after a ``+`` wait for it)."""
        while self._writing:
            entry = self._writing[0]
            while entry.steps:
                step = entry.steps[0]
                # A slot already open (its "+" came) does not wait again.
                if step.wait and not entry.plus and not (step.slot >= 0 and entry.slot_left >= 0):
                    return
                if step.slot >= 0:
                    if entry.slot_left < 0:
                        entry.slot_left = step.slot
                        entry.plus = False
                    if entry.slot_left > 0:
                        return  # the caller writes it with literal_data()
                    entry.slot_left = -1
                    entry.steps.popleft()
                    continue
                if entry.sent_at < 0:
                    entry.sent_at = self._fed
                self._write(step)
                entry.plus = False
                entry.steps.popleft()
            self._writing.popleft()

    def _write(self, step: Step) -> None:
        pos = 0
        for start, end in step.secrets:
            self._out.write(step.data[pos:start])
            self._out.write(step.data[start:end], secret=True)
            pos = end
        self._out.write(step.data[pos:])

    @poisons
    def literal_data(self, tag: str, data: bytes) -> None:
        """Write caller data into the literal the command ``tag`` is sending.

        Raises:
            LocalProtocolError: no literal of ``tag`` is open, or ``data`` is
                more than it has room for (the core is in ERROR afterwards).
        """
        if not self._writing or self._writing[0].tag != tag or self._writing[0].slot_left < 0:
            raise LocalProtocolError(f"no literal of {tag} is waiting for data")
        entry = self._writing[0]
        if len(data) > entry.slot_left:
            raise LocalProtocolError(
                f"{len(data)} octets for a literal with {entry.slot_left} left (RFC 9051 §4.3)"
            )
        self._out.write(data)
        entry.slot_left -= len(data)
        if entry.slot_left == 0:
            self._pump()

    @poisons
    def send_continuation(self, data: bytes, *, secret: bool = False) -> None:
        """Answer a continuation request of AUTHENTICATE: ``data`` and CRLF.

        Args:
            data: the base64 response (or ``b"*"`` to cancel, RFC 9051 §6.2.2).
            secret: mark the line secret in the transcript (S40).

        Raises:
            LocalProtocolError: no AUTHENTICATE is waiting for an answer.
        """
        entry = self._waiting_for("AUTHENTICATE")
        if not entry.plus:
            raise LocalProtocolError("AUTHENTICATE has no challenge to answer (RFC 9051 §6.2.2)")
        if b"\r" in data or b"\n" in data:
            raise ValueError("a continuation line cannot hold CR or LF")
        entry.plus = False
        self._out.write(data, secret=secret)
        self._out.write(b"\r\n")

    @poisons
    def done(self) -> None:
        """End IDLE: write ``DONE`` (RFC 2177 §3); its tagged OK follows.

        Raises:
            LocalProtocolError: not idling.
        """
        entry = self._waiting_for("IDLE")
        if self.state is not State.IDLING and not entry.plus:
            raise LocalProtocolError("DONE before the server's go-ahead for IDLE (RFC 2177 §3)")
        entry.wants_plus = False
        self._out.write(b"DONE\r\n")
        if self._annotate is not None:
            self._annotate("DONE sent: ends IDLE (RFC 2177 §3)")

    def _waiting_for(self, verb: str) -> InFlight:
        for entry in self._table.values():
            if entry.verb == verb and entry.wants_plus:
                return entry
        raise LocalProtocolError(f"no {verb} in progress")

    def tls_established(self) -> None:
        """Tell the core the driver finished the TLS handshake (RFC 9051 §6.2.1).

        Capabilities and everything learnt before TLS are forgotten (S2, S3).

        Raises:
            LocalProtocolError: no STARTTLS go-ahead was pending.
        """
        if self.error is not None:
            raise LocalProtocolError(f"no TLS on a connection that failed: {self.error}")
        if self.state is not State.TLS_HANDSHAKE:
            error = LocalProtocolError(f"no STARTTLS go-ahead to complete ({self.state.name})")
            self._poison(error)
            raise error
        self.tls_active = True
        self.capabilities = None
        self.enabled = set()
        self.mailbox = None
        self.state = State.NOT_AUTHENTICATED

    def take_buffered(self) -> bytes:
        """Take the octets received but not parsed (COMPRESS starts after an OK).

        Raises:
            LocalProtocolError: in the middle of a response.
        """
        if self._reader.in_response:
            raise LocalProtocolError("cannot take the buffer in the middle of a response")
        return self._buffer.read_all()

    # -------------------------------------------------------------- receiving

    def _sink_for(self, prefix: bytes, size: int) -> LiteralSink | None:
        factory = self.literal_sink
        return None if factory is None else factory(prefix, size)

    @poisons
    def next_event(self) -> Event | NeedData:
        """The next response, ``ConnectionClosed``, or ``NEED_DATA``.

        Sets :attr:`last_tag` to the tag of the command the event belongs to.

        Raises:
            RemoteProtocolError: malformed or unexpected data (ERROR after).
            SecurityError: data injected before a TLS handshake (S1).
            ConnectionLost: the server closed the stream while a command was
                in flight, or in the middle of a response.
        """
        response = self._reader.read(self._buffer)
        if response is None:
            if self._buffer.eof:
                return self._end_of_stream()
            return NEED_DATA
        before = self.state
        owner = self._dispatch(response)
        self.last_tag = owner.tag if owner is not None else None
        if self._annotate is not None:
            self._note(response, owner, before)
        return response

    def _note(self, response: Response, owner: InFlight | None, before: State) -> None:
        assert self._annotate is not None
        routine = not isinstance(response, Tagged | Continuation | StatusResponse)
        if routine:
            self._untagged_noted += 1
            if self._untagged_noted > _ANNOTATE_UNTAGGED:
                if self._untagged_noted == _ANNOTATE_UNTAGGED + 1:
                    self._annotate("... further untagged data is not annotated one by one")
                return
        else:
            self._untagged_noted = 0
        self._annotate(describe(response, owner, before, self.state))

    def _end_of_stream(self) -> ConnectionClosed:
        bye = f" (it said BYE: {self.bye.text})" if self.bye is not None else ""
        if self.state is State.GREETING:
            raise ConnectionLost("the server closed the connection before its greeting")
        waiting = [e.verb for e in self._table.values() if e.verb != "LOGOUT"]
        if waiting:
            raise ConnectionLost(
                f"the server closed the connection while {', '.join(waiting)} was in progress{bye}"
            )
        if self.state is State.LOGOUT or self.bye is not None or self._table:
            self.state = State.CLOSED
            self._table.clear()
            return ConnectionClosed()
        raise ConnectionLost(f"the server closed the connection{bye}")

    def _dispatch(self, response: Response) -> InFlight | None:
        if self.state is State.GREETING:
            self._greeting(response)
            return None
        if isinstance(response, Tagged):
            return self._complete(response)
        if isinstance(response, Continuation):
            return self._continuation()
        owner = route(response, self._table.values())
        if owner is not None and owner.verb in ("SELECT", "EXAMINE"):
            assert isinstance(owner.mailbox, SelectedMailbox)
            apply(owner.mailbox, response)
        else:
            apply(self.mailbox, response)
        if isinstance(response, CapabilityData):
            self.capabilities = Capabilities(response.capabilities)
        elif isinstance(response, Enabled):
            self.enabled.update(c.upper() for c in response.capabilities)
        elif isinstance(response, StatusResponse):
            if response.status == "BYE":
                self.bye = response
                self.state = State.LOGOUT
            elif response.code is not None and response.code.name == "CAPABILITY":
                self._set_capabilities(response.code.value)
        return owner

    def _greeting(self, response: Response) -> None:
        # RFC 9051 §7.1: the greeting is an untagged OK, PREAUTH or BYE.
        if not isinstance(response, StatusResponse) or response.status not in (
            "OK",
            "PREAUTH",
            "BYE",
        ):
            raise RemoteProtocolError(f"not an IMAP greeting: {response!r}"[:200])
        if response.code is not None and response.code.name == "CAPABILITY":
            self._set_capabilities(response.code.value)
        if response.status == "OK":
            self.state = State.NOT_AUTHENTICATED
        elif response.status == "PREAUTH":
            self.state = State.AUTHENTICATED  # RFC 9051 §7.1.4
            self.authenticated = self.preauth = True
        else:
            self.bye = response
            self.state = State.LOGOUT

    def _set_capabilities(self, value: object) -> None:
        if isinstance(value, tuple):
            self.capabilities = Capabilities(str(v) for v in value)

    def _continuation(self) -> InFlight:
        if self._writing:
            entry = self._writing[0]
            if entry.steps and entry.steps[0].wait and not entry.plus:
                entry.plus = True
                self._pump()
                return entry
        for entry in self._table.values():
            if entry.wants_plus:
                entry.plus = True
                if entry.verb == "IDLE":
                    self.state = State.IDLING
                return entry
        # S26: a "+" no command waits for could be an attempt to make the
        # client send the rest of a command it never meant to.
        raise RemoteProtocolError("continuation request with no command waiting for one")

    def _complete(self, tagged: Tagged) -> InFlight:
        entry = self._table.get(tagged.tag)
        if entry is None:
            raise RemoteProtocolError(f"tagged response for no command in flight: {tagged!r}"[:200])
        end = self._fed - len(self._buffer)
        if entry.sent_at < 0 or end <= entry.sent_at:
            # S7: the completion was on the wire before the command was written.
            raise RemoteProtocolError(
                f"completion {tagged.tag} {tagged.status} arrived before {entry.verb} was sent"
            )
        del self._table[tagged.tag]
        if entry in self._writing:
            # Refused before its literal was sent (RFC 9051 §7.5): drop the rest.
            self._writing.remove(entry)
            self._pump()
        code = tagged.code
        if code is not None and code.name == "CAPABILITY":
            self._set_capabilities(code.value)
        elif tagged.status == "OK" and entry.verb in ("LOGIN", "AUTHENTICATE"):
            self.capabilities = None  # they may change on login (RFC 9051 §6.2.3)
        self._transition(entry, tagged)
        return entry

    def _transition(self, entry: InFlight, tagged: Tagged) -> None:
        verb, ok = entry.verb, tagged.status == "OK"
        if verb == "IDLE":
            if self.state is not State.LOGOUT:
                self.state = entry.before
            return
        if verb == "STARTTLS" and ok:
            if len(self._buffer) or self._reader.in_response:
                # RFC 9051 §6.2.1, security.md S1: anything after the go-ahead
                # was sent in the clear and would be read as if from TLS.
                raise SecurityError("data received after the STARTTLS go-ahead (injection)")
            self.capabilities = None
        if verb in ("LOGIN", "AUTHENTICATE") and ok:
            self.authenticated = True
        if verb in ("SELECT", "EXAMINE"):
            assert isinstance(entry.mailbox, SelectedMailbox)
            if ok:
                apply(entry.mailbox, tagged)
                self.mailbox = entry.mailbox
            else:
                self.mailbox = None
        elif verb in ("CLOSE", "UNSELECT") and ok:
            self.mailbox = None
        row = COMPLETION_TABLE.get(verb)
        if row is None or self.state is State.LOGOUT:
            return
        target = row.ok if ok else row.failed
        if target is not None:
            self.state = target

    def _enter_error(self, exc: BaseException) -> None:
        if isinstance(exc, ConnectionLost):
            self.state = State.CLOSED
        elif isinstance(exc, ProtocolError | SecurityError):
            self.state = State.ERROR
