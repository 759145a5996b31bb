"""The sans-I/O POP3 client core.

``Connection`` knows the protocol and nothing about sockets, clocks or
threads. Feed it the server's bytes with :meth:`Connection.receive_data`;
take events out one at a time with :meth:`Connection.next_event`; queue
commands with :meth:`Connection.send` and drain the bytes to write with
:meth:`Connection.data_to_send` (or :meth:`~Connection.outgoing`, which also
says which spans are secret)::

    conn = Connection()
    conn.receive_data(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\\r\\n")
    conn.next_event()          # Greeting(text=..., timestamp='<1896...>')
    conn.send(User("mrose"))
    conn.data_to_send()        # b"USER mrose\\r\\n"

Every answer is paired with the command it answers through a queue of
pending commands, in order (RFC 2449 §6.6: a server that pipelines "MUST
process each command in turn"). The pending command also decides whether a
``+OK`` starts a multi-line answer (RFC 1939 §3), and how to read its body:
message data for RETR and TOP, listings for LIST, UIDL and LANG, the
capability list for CAPA.

Listings are checked as they arrive. A listing line that is not
``number SP value``, a number that does not rise, one past the last message
the drop listing (STAT) allows, or a message marked deleted in this session
is a :class:`RemoteProtocolError` quoting the line; the answer to ``LIST n``
or ``UIDL n`` must name message ``n``.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from collections.abc import Callable

from mailwire._core import CoreBase, poisons
from mailwire._flow import NEED_DATA, NeedData
from mailwire.errors import (
    ConnectionLost,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SecurityError,
    TooManyResponses,
)
from mailwire.limits import DEFAULT_LIMITS, Limits
from mailwire.pop3._capabilities import Capabilities
from mailwire.pop3._reader import (
    BodyBuffer,
    Status,
    clean_text,
    is_terminator,
    parse_status,
    quote,
    split_code,
    unstuff_line,
)
from mailwire.pop3._state import ANSWERS, SEND_TABLE, State
from mailwire.pop3._writer import write_command
from mailwire.pop3.commands import (
    Apop,
    Auth,
    AuthCancel,
    AuthResponse,
    Capa,
    Command,
    Dele,
    Lang,
    List,
    Pass,
    Rset,
    Stat,
    Stls,
    Uidl,
    Utf8,
)
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

__all__ = ["Connection", "Event"]

Event = (
    Greeting
    | Ok
    | Err
    | Continuation
    | DropListing
    | ScanListing
    | UniqueIdListing
    | LanguageListing
    | MessageData
    | End
    | Capabilities
    | ConnectionClosed
)

# RFC 1939 §7: the timestamp is a msg-id in angle brackets; RFC 2449 §3 allows
# any VCHAR inside. The first "<" of the greeting starts it (gchar excludes "<").
_TIMESTAMP = re.compile(rb"<[\x21-\x3b\x3d\x3f-\x7e]+>")
# Numbers are at most 18 digits: an 18-digit count is already absurd, and a
# longer run would cost int() quadratic time (and trips CPython's 4300 limit).
_NUMBER = rb"(\d{1,18})"
_DROP = re.compile(_NUMBER + rb" +" + _NUMBER + rb"(?: (.*))?\Z", re.DOTALL)
_SCAN = re.compile(_NUMBER + rb" +" + _NUMBER + rb"(?: .*)?\Z", re.DOTALL)
# RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21-0x7E. Longer ones are
# tolerated (to 512): some servers exceed 70, none sends spaces or controls.
_UID = re.compile(_NUMBER + rb" +([\x21-\x7e]{1,512}) *\Z")
_LANGUAGE = re.compile(rb"([A-Za-z0-9*-]{1,64})(?: (.*))?\Z", re.DOTALL)

# Multi-line body kinds.
_MESSAGE, _SCAN_KIND, _UID_KIND, _LANG_KIND, _CAPA_KIND = "message", "scan", "uid", "lang", "capa"


@dataclasses.dataclass(slots=True)
class _Pending:
    command: Command
    state_after: State  # the state sending it left; its answer applies only then


@dataclasses.dataclass(slots=True)
class _Body:
    """The multi-line answer being read."""

    kind: str
    command: Command
    items: int = 0  # listing lines, or message octets
    at_line_start: bool = True
    last_number: int = 0
    lines: list[str] = dataclasses.field(default_factory=list)  # CAPA only
    raw: bytearray = dataclasses.field(default_factory=bytearray)  # CAPA only
    ended: bool = False  # message data handed out; End still due
    bare_lf: bool = False  # the server ends lines with LF alone (its status line did)


def _int(text: bytes) -> int:
    return int(text.decode("ascii"))


class Connection(CoreBase):
    """One POP3 session as seen by the client, without I/O.

    Args:
        limits: bounds on what the server can make us hold.
        tls_active: the connection is already inside TLS (implicit TLS,
            RFC 8314); the driver did the handshake before the greeting.
        annotate: called with a one-line explanation of every command sent
            and answer received (state before and after, the RFC section);
            clients pass their transcript's ``event``.

    Attributes:
        state: the :class:`State`.
        greeting: the server's :class:`Greeting`, once read.
        capabilities: from the last CAPA, or ``None`` (before it, and after
            STLS, RFC 2595 §4).
        tls_active: TLS is on.
        authenticated: PASS, APOP or AUTH succeeded.
        utf8: the server accepted UTF8 (RFC 6856 §2.1).
        language: the language the server accepted with LANG, if any.
        deleted: messages marked deleted in this session (RSET clears it).
        message_count: messages in the maildrop at the last STAT, not
            counting those marked deleted.
    """

    def __init__(
        self,
        *,
        limits: Limits = DEFAULT_LIMITS,
        tls_active: bool = False,
        annotate: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(limits)
        self._buffer: BodyBuffer = BodyBuffer(limits)
        self.state = State.GREETING
        self.greeting: Greeting | None = None
        self.capabilities: Capabilities | None = None
        self.tls_active = tls_active
        self.authenticated = False
        self.utf8 = False
        self.language: str | None = None
        self.deleted: set[int] = set()
        self.message_count: int | None = None
        self._highest: int | None = None  # highest valid message number, when known
        self._annotate = annotate
        self._pending: collections.deque[_Pending] = collections.deque()
        self._body: _Body | None = None

    def __repr__(self) -> str:
        return f"<pop3.Connection {self.state.name} pending={len(self._pending)}>"

    @property
    def pending(self) -> tuple[Command, ...]:
        """Commands sent whose answers have not (all) arrived, oldest first."""
        head = (self._body.command,) if self._body is not None else ()
        return head + tuple(p.command for p in self._pending)

    def message_numbers(self) -> list[int] | None:
        """The numbers of the messages not marked deleted, from the last STAT.

        ``None`` before any STAT. Message numbers do not change during a
        session (RFC 1939 §5), so these are ``1 .. count + deleted`` less the
        ones marked deleted.

        Raises:
            TooManyResponses: the count is over ``Limits.max_held_responses``
                (``+OK 4000000000 0`` is a short line and a huge list).
        """
        if self._highest is None:
            return None
        limit = self.limits.max_held_responses
        if self._highest > limit:
            raise TooManyResponses(
                f"the drop listing counts {self._highest} messages, more than the {limit} "
                "a list may hold (Limits.max_held_responses)",
                limit=limit,
            )
        return [n for n in range(1, self._highest + 1) if n not in self.deleted]

    def receive_size(self) -> int:
        """How many bytes to read next (bounded while a line is awaited)."""
        return self._buffer.wanted()

    # ---------------------------------------------------------------- sending

    @poisons
    def send(self, command: Command) -> None:
        """Queue ``command``, checking that it is legal now.

        Raises:
            LocalProtocolError: not allowed in this state (nothing is queued;
                the core is in ERROR afterwards).
            ValueError: its content cannot be written, e.g. a non-ASCII
                password without ``UTF8 USER``, or it names a message marked
                deleted (nothing is queued).
        """
        row = SEND_TABLE.get(type(command))
        if row is None:
            raise TypeError(f"not a POP3 command: {command!r}")
        if self.state not in row.allowed:
            raise LocalProtocolError(
                f"{command.verb} is not allowed in state {self.state.name} ({row.rfc})"
            )
        number = getattr(command, "message", None)
        if number is not None and number in self.deleted:
            raise ValueError(
                f"{command.verb} {number}: message {number} is marked deleted in this session "
                "(RFC 1939 §5: a message-number may not refer to a deleted message; RSET unmarks)"
            )
        if isinstance(command, Stls) and (self.tls_active or self.utf8):
            why = "TLS is already on" if self.tls_active else "RFC 6856 §2.1: not after UTF8"
            raise LocalProtocolError(f"STLS is not allowed: {why}")
        utf8_user = self.capabilities is not None and self.capabilities.utf8_user
        write_command(command, self._out, utf8_user=utf8_user)
        before = self.state
        self.state = row.target(self.state)
        self._pending.append(_Pending(command, self.state))
        self._note(f"{command.verb} sent: {self._change(before)} ({row.rfc})")

    def tls_established(self) -> None:
        """Tell the core the driver finished the TLS handshake after STLS.

        RFC 2595 §4: the client "MUST discard cached information about server
        capabilities"; CAPA should be sent again.
        """
        if self.state is not State.TLS_HANDSHAKE:
            raise LocalProtocolError(f"no STLS go-ahead to complete (state {self.state.name})")
        self.tls_active = True
        self.capabilities = None
        self.state = State.AUTHORIZATION
        self._note("TLS established: capabilities forgotten (RFC 2595 §4)")

    # -------------------------------------------------------------- receiving

    @poisons
    def next_event(self) -> Event | NeedData:
        """The next event, or ``NEED_DATA``.

        Raises:
            RemoteProtocolError: malformed or unexpected data (ERROR after).
            LimitExceeded: a line, CAPA list or reply past ``Limits``.
            SecurityError: data injected after the STLS go-ahead (S1).
            ConnectionLost: the server closed with an answer still due.
        """
        if self._body is not None:
            return self._read_body(self._body)
        line = self._buffer.read_line()
        if line is None:
            if self._buffer.eof:
                return self._end_of_stream()
            return NEED_DATA
        return self._dispatch(line)

    def _end_of_stream(self) -> ConnectionClosed:
        if self._pending or self._body is not None or len(self._buffer):
            waiting = self.pending[0].verb if self.pending else "its answer"
            if self.state is State.GREETING:
                waiting = "the greeting"
            raise ConnectionLost(f"the server closed the connection before answering {waiting}")
        if self.state is State.GREETING:
            raise ConnectionLost("the server closed the connection before its greeting")
        self.state = State.CLOSED
        return ConnectionClosed()

    def _dispatch(self, line: bytes) -> Event | NeedData:
        parsed = parse_status(line)
        if parsed is None:
            raise RemoteProtocolError(f"not a POP3 status line: {quote(line)}")
        status, rest = parsed
        if self.state is State.GREETING:
            return self._greeting(status, rest, line)
        if not self._pending:
            raise RemoteProtocolError(f"an answer with no command waiting for it: {quote(line)}")
        entry = self._pending[0]
        command = entry.command
        current = self.state is entry.state_after
        if status is Status.CONTINUE:
            # RFC 5034 §4; any other "+ " is unsolicited (security.md S26).
            if not (isinstance(command, Auth | AuthResponse) and current):
                raise RemoteProtocolError(f"a continuation answering {command.verb}: {quote(line)}")
            self._pending.popleft()
            self._note(f"challenge to {command.verb}: the exchange goes on (RFC 5034 §4)")
            return Continuation(rest.decode("ascii", "replace").strip(), command, line)
        self._pending.popleft()
        code, text_bytes = split_code(rest)
        text = clean_text(text_bytes)
        before = self.state
        if status is Status.ERR:
            event: Event = Err(text, code, command, line)
            if isinstance(command, Capa):
                self.capabilities = Capabilities.unsupported(line)
        else:
            event = self._positive(command, text_bytes, code, line)
        target = ANSWERS.get((type(command), status))
        if target is not None and current:
            self.state = target[0]
        word = "+OK" if status is Status.OK else "-ERR"
        rule = f" ({target[1]})" if target else ""
        self._note(f"{word} to {self._describe(command)}: {self._change(before)}{rule}")
        if status is Status.OK:
            self._after_ok(command, text, line)
            if isinstance(command, Capa):
                # The list is small and bounded: one Capabilities event for it.
                assert self._body is not None
                return self._read_body(self._body)
        return event

    def _greeting(self, status: str, rest: bytes, line: bytes) -> Greeting | Err:
        code, text_bytes = split_code(rest)
        if status is Status.OK:
            match = _TIMESTAMP.search(text_bytes)
            stamp = match[0].decode("ascii") if match else None
            greeting = Greeting(clean_text(text_bytes), stamp, code, line)
            self.greeting = greeting
            self.state = State.AUTHORIZATION
            self._note("greeting: GREETING -> AUTHORIZATION (RFC 1939 §4)")
            return greeting
        if status is Status.ERR:
            self.state = State.REFUSED
            self._note("-ERR greeting: the server refuses the session (RFC 1939 §4)")
            return Err(clean_text(text_bytes), code, None, line)
        raise RemoteProtocolError(f"a continuation instead of a greeting: {quote(line)}")

    def _positive(self, command: Command, raw_text: bytes, code: str | None, line: bytes) -> Event:
        """The event for a +OK to ``command``; starts the body of a multi-line answer."""
        if isinstance(command, Stat):
            match = _DROP.match(raw_text)
            if match is None:
                raise RemoteProtocolError(f"malformed drop listing (RFC 1939 §5): {quote(line)}")
            count, octets = _int(match[1]), _int(match[2])
            self.message_count = count
            self._highest = count + len(self.deleted)
            return DropListing(count, octets, clean_text(match[3] or b""), line)
        if isinstance(command, List) and command.message is not None:
            return self._scan(raw_text, line, expect=command.message)
        if isinstance(command, Uidl) and command.message is not None:
            return self._uid(raw_text, line, expect=command.message)
        if command.multiline:
            kind = (
                _CAPA_KIND
                if isinstance(command, Capa)
                else _SCAN_KIND
                if isinstance(command, List)
                else _UID_KIND
                if isinstance(command, Uidl)
                else _LANG_KIND
                if isinstance(command, Lang)
                else _MESSAGE
            )
            self._body = _Body(kind, command, bare_lf=not line.endswith(b"\r\n"))
            if kind == _CAPA_KIND:
                self._body.raw += line
        return Ok(clean_text(raw_text), code, command, line)

    def _after_ok(self, command: Command, text: str, line: bytes) -> None:
        if isinstance(command, Stls):
            # RFC 2595 §4 / security.md S1: anything after the go-ahead was
            # sent in the clear and would be read as if it came through TLS.
            if len(self._buffer):
                raise SecurityError(
                    f"data received after the STLS go-ahead (injection): "
                    f"{quote(self._buffer.read_all())}"
                )
            self.capabilities = None
        elif isinstance(command, Pass | Apop | Auth | AuthResponse | AuthCancel):
            self.authenticated = True
        elif isinstance(command, Utf8):
            self.utf8 = True
        elif isinstance(command, Lang) and command.language is not None:
            # RFC 6856 §3.2: "+OK" SP the tag chosen SP text; some omit it.
            words = text.split(" ", 1)
            self.language = words[0] if words[0] else command.language
        elif isinstance(command, Dele):
            self.deleted.add(command.message)
        elif isinstance(command, Rset):
            self.deleted.clear()

    # ------------------------------------------------------------ bodies

    def _read_body(self, body: _Body) -> Event | NeedData:
        if body.kind == _MESSAGE:
            return self._read_message(body)
        while True:
            line = self._buffer.read_line()
            if line is None:
                if self._buffer.eof:
                    return self._end_of_stream()
                return NEED_DATA
            if is_terminator(line):
                return self._finish(body)
            item = self._listing_item(body, unstuff_line(line), line)
            if item is not None:
                return item

    def _read_message(self, body: _Body) -> Event | NeedData:
        if body.ended:
            return self._finish(body)
        while True:
            taken = self._buffer.take_body(
                body.at_line_start, self.limits.chunk_size, bare_lf=body.bare_lf
            )
            if taken is None:
                if self._buffer.eof:
                    return self._end_of_stream()
                return NEED_DATA
            data, ended, body.at_line_start = taken
            body.items += len(data)
            if ended:
                if not data:
                    return self._finish(body)
                body.ended = True
            if data:
                return MessageData(data, body.command)

    def _finish(self, body: _Body) -> Event:
        self._body = None
        command = body.command
        if body.kind == _CAPA_KIND:
            body.raw += b".\r\n"
            caps = Capabilities.from_lines(body.lines, bytes(body.raw))
            self.capabilities = caps
            self._note(f"capabilities: {' '.join(name for name, _ in caps.entries)} (RFC 2449 §5)")
            return caps
        what = "octets" if body.kind == _MESSAGE else "lines"
        self._note(f"end of {self._describe(command)}: {body.items} {what} (RFC 1939 §3)")
        return End(command, body.items)

    def _listing_item(self, body: _Body, text: bytes, line: bytes) -> Event | None:
        body.items += 1
        if body.kind == _CAPA_KIND:
            limits = self.limits
            body.raw += line
            if body.items > limits.max_reply_lines or len(body.raw) > limits.max_reply_bytes:
                raise TooManyResponses(
                    f"CAPA answer longer than {limits.max_reply_lines} lines or "
                    f"{limits.max_reply_bytes} bytes without its end",
                    limit=limits.max_reply_lines,
                )
            body.lines.append(clean_text(text.rstrip(b"\r\n")))
            return None
        stripped = text.rstrip(b"\r\n")
        if body.kind == _LANG_KIND:
            match = _LANGUAGE.match(stripped)
            if match is None:
                raise RemoteProtocolError(
                    f"malformed language listing (RFC 6856 §3.2): {quote(line)}"
                )
            return LanguageListing(match[1].decode("ascii"), clean_text(match[2] or b""), line)
        item: ScanListing | UniqueIdListing
        if body.kind == _SCAN_KIND:
            item = self._scan(stripped, line)
        else:
            item = self._uid(stripped, line)
        self._check_number(body, item.message, line)
        return item

    def _scan(self, text: bytes, line: bytes, *, expect: int | None = None) -> ScanListing:
        match = _SCAN.match(text)
        if match is None:
            raise RemoteProtocolError(f"malformed scan listing (RFC 1939 §5): {quote(line)}")
        number = _int(match[1])
        if expect is not None and number != expect:
            raise RemoteProtocolError(f"LIST {expect} answered for message {number}: {quote(line)}")
        return ScanListing(number, _int(match[2]), line)

    def _uid(self, text: bytes, line: bytes, *, expect: int | None = None) -> UniqueIdListing:
        match = _UID.match(text)
        if match is None:
            raise RemoteProtocolError(f"malformed unique-id listing (RFC 1939 §7): {quote(line)}")
        number = _int(match[1])
        if expect is not None and number != expect:
            raise RemoteProtocolError(f"UIDL {expect} answered for message {number}: {quote(line)}")
        return UniqueIdListing(number, match[2].decode("ascii"), line)

    def _check_number(self, body: _Body, number: int, line: bytes) -> None:
        problem = None
        if number <= body.last_number:
            problem = f"message {number} listed after message {body.last_number}"
        elif self._highest is not None and number > self._highest:
            problem = f"message {number} does not exist (the drop listing allows {self._highest})"
        elif number in self.deleted:
            problem = f"message {number} is marked deleted (RFC 1939 §5: not listed)"
        if problem is not None:
            raise RemoteProtocolError(f"{problem}: {quote(line)}")
        body.last_number = number

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _describe(command: Command) -> str:
        number = getattr(command, "message", None)
        return command.verb if number is None else f"{command.verb} {number}"

    def _change(self, before: State) -> str:
        after = self.state
        return f"{before.name} -> {after.name}" if before is not after else f"stays {after.name}"

    def _note(self, text: str) -> None:
        if self._annotate is not None:
            self._annotate(text)

    def _enter_error(self, exc: BaseException) -> None:
        if isinstance(exc, ConnectionLost):
            self.state = State.CLOSED
        elif isinstance(exc, ProtocolError | SecurityError):
            self.state = State.ERROR
