"""Replaying a recorded POP3 session through a fresh core, one step at a time.

``replay(transcript)`` walks the recorded bytes in order, like its SMTP and
IMAP twins. The client's bytes are cut into lines, parsed back into commands
and sent through a new :class:`~mailwire.pop3.connection.Connection`, so the
core checks that each is legal in its state (RFC 1939 §3-§7); what our writer
produces is compared with what was recorded, and a difference is shown on
the step (``mismatch``). The server's bytes are fed to the core, and every
event it yields -- the greeting, a status line, a listing line, a piece of a
message, the ``.`` that ends a multi-line answer -- is a step with the state
before and after and the RFC section. A learner can print the steps, or
pause at each one (``mailwire replay FILE --step``).

Nothing raises for what the recording holds: a line that is no POP3 command,
a command our core refuses in its state, an answer it cannot parse -- each is
a step whose explanation says so.

Secrets stay secret: a redacted span (the PASS argument, the APOP digest, an
AUTH payload) comes back as ``*`` of the same length, and the step shows it
so; a command with a secret in it is not compared with our writer.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator

from mailwire._replay_events import core_events
from mailwire.errors import MailwireError
from mailwire.pop3._capabilities import Capabilities
from mailwire.pop3._state import ANSWERS, SEND_TABLE, State
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
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    Utf8,
)
from mailwire.pop3.connection import Connection
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
from mailwire.transcript import Direction, Kind, Transcript

__all__ = ["Step", "parse_command", "replay"]


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a replay.

    Attributes:
        direction: who sent the bytes (``LOCAL`` for notes).
        wire: the recorded bytes of this step (redacted spans as ``*``); for
            a piece of a message, the piece with the stuffing dots removed.
        event: the command sent or the event the core yielded, if any.
        before, after: the core's state around the step.
        explanation: what it means, with the RFC section.
        mismatch: for a client step, what our writer would have sent when it
            differs from the recording (``None`` when identical).
        tls: the bytes crossed inside TLS.
    """

    direction: Direction
    wire: bytes
    event: object | None
    before: State
    after: State
    explanation: str
    mismatch: bytes | None = None
    tls: bool = False

    def __str__(self) -> str:
        who = {Direction.CLIENT: "C", Direction.SERVER: "S", Direction.LOCAL: "-"}[self.direction]
        marker = f"{who}*" if self.tls else who
        text = self.wire.decode("utf-8", "replace").rstrip("\r\n")
        head = f"{marker}: {text}" if self.wire else f"{marker}  {self.explanation}"
        out = [head[:200], f"   {self.explanation}"] if self.wire else [head]
        if self.mismatch is not None:
            out.append(f"   ! our writer would send {self.mismatch!r}")
        return "\n".join(out)


# The commands without arguments, by their keyword.
_BARE: dict[str, type[Command]] = {
    "CAPA": Capa,
    "STLS": Stls,
    "STAT": Stat,
    "NOOP": Noop,
    "RSET": Rset,
    "QUIT": Quit,
    "UTF8": Utf8,
}
_REDACTED_DIGEST = "0" * 32  # stands for an APOP digest the recording redacted


def _number(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{what} is not a number: {text!r}")
    return int(text)


def _optional_number(rest: str, what: str) -> int | None:
    return _number(rest, what) if rest else None


def _base64(text: str) -> bytes:
    """An AUTH payload; a redacted one (``****``) comes back empty."""
    if text == "=":
        return b""  # RFC 5034 §4: an empty initial response
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or text outside ASCII
        return b""


def parse_command(line: bytes, *, authenticating: bool) -> Command:
    """Turn one recorded command line back into a command object.

    Args:
        line: the line as recorded, CRLF included.
        authenticating: an AUTH exchange is going on, so the line is a
            base64 response or ``*`` (RFC 5034 §4).

    Raises:
        ValueError: not a POP3 command line.
    """
    text = line.rstrip(b"\r\n").decode("utf-8", "replace")
    if authenticating:
        return AuthCancel() if text == "*" else AuthResponse(_base64(text))
    verb, _, rest = text.partition(" ")
    upper = verb.upper()
    if upper in _BARE:
        return _BARE[upper]()
    if upper == "USER":
        return User(rest)
    if upper == "PASS":
        return Pass(rest)
    if upper == "APOP":
        name, _, digest = rest.rpartition(" ")
        return Apop(name, digest if digest.strip("*") else _REDACTED_DIGEST)
    if upper == "AUTH":
        mechanism, space, initial = rest.partition(" ")
        return Auth(mechanism.upper(), _base64(initial) if space else None)
    if upper in ("LIST", "UIDL"):
        return (List if upper == "LIST" else Uidl)(_optional_number(rest, "message number"))
    if upper in ("RETR", "DELE"):
        return (Retr if upper == "RETR" else Dele)(_number(rest, "message number"))
    if upper == "TOP":
        message, _, lines = rest.partition(" ")
        return Top(_number(message, "message number"), _number(lines, "line count"))
    if upper == "LANG":
        return Lang(rest or None)
    raise ValueError(f"not a POP3 command line: {text[:60]!r}")


# RFC 2449 §8 response codes, and where each is defined.
_CODES = {
    "LOGIN-DELAY": "RFC 2449 §8.1.1",
    "IN-USE": "RFC 2449 §8.1.2",
    "SYS/TEMP": "RFC 3206",
    "SYS/PERM": "RFC 3206",
    "AUTH": "RFC 3206",
    "UTF8": "RFC 6856",
}


def _rule(command: Command | None, status: str) -> str:
    """The RFC section for an answer to ``command``."""
    if command is None:
        return "RFC 1939 §4"
    answer = ANSWERS.get((type(command), status))
    if answer is not None:
        return answer[1]
    return SEND_TABLE[type(command)].rfc


def _what(command: Command | None) -> str:
    if command is None:
        return "?"
    number = getattr(command, "message", None)
    return command.verb if number is None else f"{command.verb} {number}"


def describe(event: object, before: State, after: State) -> str:
    """One line for learners: what arrived, what it answers, the state change."""
    change = f"{before.name} -> {after.name}" if before is not after else f"stays {after.name}"
    if isinstance(event, Greeting):
        apop = f"; APOP timestamp {event.timestamp} (RFC 1939 §7)" if event.timestamp else ""
        return f"greeting (RFC 1939 §4){apop}; {change}"
    if isinstance(event, Ok | Err):
        word = "+OK" if isinstance(event, Ok) else "-ERR"
        code = ""
        if event.code is not None:
            where = _CODES.get(event.code, "RFC 2449 §8")
            code = f" [{event.code}] ({where})"
        if event.command is None:
            return f"{word}{code} greeting: the server refuses the session (RFC 1939 §4); {change}"
        more = ""
        if isinstance(event, Ok) and event.command.multiline:
            more = "; a multi-line answer follows (RFC 1939 §3)"
        rule = _rule(event.command, word)
        return f"{word}{code} to {_what(event.command)} ({rule}){more}; {change}"
    if isinstance(event, Continuation):
        return f"+ challenge to {_what(event.command)} (RFC 5034 §4); {change}"
    if isinstance(event, DropListing):
        plural = "" if event.count == 1 else "s"
        return (
            f"+OK to STAT: drop listing, {event.count} message{plural}, {event.octets} octets "
            f"(RFC 1939 §5); {change}"
        )
    if isinstance(event, ScanListing):
        size = f"message {event.message} is {event.octets} octets"
        return f"scan listing: {size} (RFC 1939 §5); {change}"
    if isinstance(event, UniqueIdListing):
        return f"unique-id listing: message {event.message} is {event.uid} (RFC 1939 §7); {change}"
    if isinstance(event, LanguageListing):
        return f"language listing: {event.tag} (RFC 6856 §3); {change}"
    if isinstance(event, MessageData):
        section = "§7" if isinstance(event.command, Top) else "§5"
        return (
            f"{len(event.data)} octets of the message for {_what(event.command)}, "
            f"byte-stuffing removed (RFC 1939 §3, {section}); {change}"
        )
    if isinstance(event, End):
        what = "octets" if isinstance(event.command, Retr | Top) else "lines"
        return (
            f"'.' ends the answer to {_what(event.command)}: {event.items} {what} "
            f"(RFC 1939 §3); {change}"
        )
    if isinstance(event, Capabilities):
        if not event.supported:
            return f"-ERR to CAPA: no capability list (RFC 2449 §5); {change}"
        names = " ".join(name for name, _ in event.entries)
        return f"+OK to CAPA, the capabilities: {names} (RFC 2449 §5); {change}"
    return f"{type(event).__name__}; {change}"


def _wire(event: object) -> bytes:
    if isinstance(event, MessageData):
        return event.data
    if isinstance(event, End):
        return b".\r\n"
    raw = getattr(event, "raw", b"")
    return raw if isinstance(raw, bytes) else b""


class _Replayer:
    def __init__(self) -> None:
        self.conn = Connection()
        self.client = bytearray()
        self.client_secret: list[bool] = []
        self.last_sent: Command | None = None

    def _shown(self, data: bytes, secret: list[bool]) -> bytes:
        return bytes(b if not s else ord("*") for b, s in zip(data, secret, strict=True))

    def _authenticating(self) -> bool:
        # After AUTH (or a response in its exchange) every client line is a
        # response or '*' until the exchange ends (RFC 5034 §4); after PASS or
        # APOP the state is AUTH as well, but no such line is due.
        return self.conn.state is State.AUTH and isinstance(self.last_sent, Auth | AuthResponse)

    def client_steps(self, tls: bool) -> Iterator[Step]:
        while True:
            end = self.client.find(b"\n")
            if end < 0:
                return
            line = bytes(self.client[: end + 1])
            secret = self.client_secret[: end + 1]
            del self.client[: end + 1], self.client_secret[: end + 1]
            state = self.conn.state
            try:
                command = parse_command(line, authenticating=self._authenticating())
            except ValueError as exc:
                shown = self._shown(line, secret)
                yield Step(
                    Direction.CLIENT, shown, None, state, state, f"not understood: {exc}", tls=tls
                )
                continue
            yield self._send(command, line, secret, tls)

    def _send(self, command: Command, wire: bytes, secret: list[bool], tls: bool) -> Step:
        conn = self.conn
        before = conn.state
        shown = self._shown(wire, secret)
        try:
            conn.send(command)
        except (MailwireError, ValueError) as exc:
            return Step(
                Direction.CLIENT,
                shown,
                command,
                before,
                conn.state,
                f"our core refuses this: {exc}",
                tls=tls,
            )
        self.last_sent = command
        ours = conn.outgoing()
        mismatch = None
        if ours.data != wire and not any(secret):
            mismatch = ours.data
        row = SEND_TABLE[type(command)]
        explanation = f"{command.verb}: {before.name} -> {conn.state.name} ({row.rfc})"
        return Step(
            Direction.CLIENT, shown, command, before, conn.state, explanation, mismatch, tls
        )

    def server_steps(self, data: bytes, tls: bool, *, eof: bool = False) -> Iterator[Step]:
        conn = self.conn
        if conn.error is not None:
            return
        conn.receive_data(b"" if eof else data)
        for before, event, note in core_events(conn, ConnectionClosed):
            if note:
                yield Step(Direction.SERVER, b"", event, before, conn.state, note, tls=tls)
                continue
            text = describe(event, before, conn.state)
            yield Step(Direction.SERVER, _wire(event), event, before, conn.state, text, tls=tls)

    def tls_step(self, note: str) -> Step:
        conn = self.conn
        before = conn.state
        if before is State.TLS_HANDSHAKE:
            conn.tls_established()
            why = "RFC 2595 §4: capabilities are forgotten, CAPA is asked again"
        elif before is State.GREETING:
            conn.tls_active = True
            why = "RFC 8314 §3: implicit TLS, before the greeting"
        else:
            why = "not after a +OK to STLS: our core expected no TLS here (RFC 2595 §4)"
        return Step(Direction.LOCAL, b"", None, before, conn.state, f"{note} ({why})", tls=True)


def replay(transcript: Transcript) -> Iterator[Step]:
    """The steps of a recorded POP3 session, replayed through a fresh core.

    Args:
        transcript: a recording (live, or from :meth:`Transcript.load`).
    """
    player = _Replayer()
    for record in transcript.records:
        if record.kind is Kind.DATA and record.direction is Direction.CLIENT:
            data = record.data if not (record.sensitive and not record.data) else b"*" * record.size
            player.client += data
            player.client_secret += [record.sensitive] * len(data)
            yield from player.client_steps(record.tls)
        elif record.kind is Kind.DATA and record.direction is Direction.SERVER:
            if record.data or not record.size:
                yield from player.server_steps(record.data, record.tls)
            else:
                state = player.conn.state
                note = f"{record.size} bytes the recording did not keep: the replay is not exact"
                yield Step(Direction.SERVER, b"", None, state, state, note, tls=record.tls)
        elif record.kind is Kind.TLS and (record.note or "").startswith("TLS established"):
            yield player.tls_step(record.note or "TLS established")
        elif record.kind is Kind.CLOSE and record.direction is Direction.SERVER:
            yield from player.server_steps(b"", record.tls, eof=True)
