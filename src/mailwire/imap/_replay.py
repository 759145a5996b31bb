"""Replaying a recorded IMAP session through a fresh core, one step at a time.

``replay(transcript)`` walks the recorded bytes in order. The client's bytes
are cut back into commands (tag, verb, and the pieces between synchronizing
literals) and sent through a new :class:`~mailwire.imap.connection.Connection`
exactly as recorded, so the core checks each is legal in its state and
pairs every completion with its command by tag. The server's bytes are fed
to the core, and every event it yields is a step with the server bytes it
came from (a response with literals: its lines and the literal octets), the
state before and after, what it answers, and the RFC section. A learner can
print the steps or pause at each one (``mailwire replay FILE --step``).

Server bytes the recording did not keep (a redacted span, or data dropped
past ``max_data_bytes``) cannot be fed to the core; they are a step of their
own that says the replay is no longer exact, and the replay goes on.

Secrets stay secret: a redacted span comes back as ``*`` of the same length,
so literal sizes still add up, and the step shows it redacted.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from collections.abc import Iterator

from mailwire._replay_events import core_events
from mailwire.errors import MailwireError
from mailwire.imap._append import RecordedCommand
from mailwire.imap._routing import InFlight, describe
from mailwire.imap._state import SEND_TABLE, State
from mailwire.imap.connection import Connection, ConnectionClosed
from mailwire.imap.events import Continuation, Response
from mailwire.transcript import Direction, Kind, Transcript

__all__ = ["ReplayStep", "replay"]

_COMMAND = re.compile(rb"([^\s(){%*\"\\\]+]+) (UID )?([A-Za-z]+)", re.IGNORECASE)
_LITERAL = re.compile(rb"~?\{(\d+)(\+?)\}\r?\n\Z")


@dataclasses.dataclass(frozen=True)
class ReplayStep:
    """One step of a replay.

    Attributes:
        direction: who sent the bytes (``LOCAL`` for notes).
        wire: the recorded bytes of this step (redacted spans as ``*``);
            for a server response, all of it: its lines and its literals.
        event: the response the core yielded, or the command sent, if any.
        before, after: the core's state around the step.
        explanation: what it means, with the RFC section.
        tls: the bytes crossed inside TLS.
    """

    direction: Direction
    wire: bytes
    event: object | None
    before: State
    after: State
    explanation: str
    tls: bool = False

    def __str__(self) -> str:
        who = {Direction.CLIENT: "C", Direction.SERVER: "S", Direction.LOCAL: "-"}[self.direction]
        marker = f"{who}*" if self.tls else who
        if not self.wire:
            return f"{marker}  {self.explanation}"
        return f"{marker}: {_shown(self.wire)}\n   {self.explanation}"


_SHOWN = 200  # characters of a step's bytes printed; a long literal is cut


def _shown(wire: bytes) -> str:
    """The step's bytes for display: cut after ``_SHOWN`` characters, saying so."""
    text = wire.decode("utf-8", "replace").rstrip("\r\n")
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN]} ... ({len(wire)} bytes in all)"


@dataclasses.dataclass
class _Item:
    """A command (its pieces) or a continuation line, as the client wrote it."""

    pieces: list[bytes]
    waits: list[bool]
    command: RecordedCommand | None = None


def _split(stream: bytes) -> list[_Item]:
    """The client's stream cut into commands and continuation lines."""
    items: list[_Item] = []
    pos = 0
    while pos < len(stream):
        end = stream.find(b"\n", pos)
        if end < 0:
            end = len(stream) - 1
        line = stream[pos : end + 1]
        match = _COMMAND.match(line)
        verb = match[3].upper().decode() if match else ""
        if match is None or verb not in SEND_TABLE:
            items.append(_Item([line], [False]))  # AUTHENTICATE answer, DONE, ...
            pos = end + 1
            continue
        pieces, waits, piece, wait = [], [], b"", False
        while True:
            piece += line
            pos = end + 1
            literal = _LITERAL.search(line)
            if literal is None:
                break
            size = int(literal[1])
            if not literal[2]:  # synchronizing: the rest waits for '+'
                pieces.append(piece)
                waits.append(wait)
                piece, wait = b"", True
            piece += stream[pos : pos + size]
            pos += size
            end = stream.find(b"\n", pos)
            if end < 0:
                end = len(stream) - 1
            line = stream[pos : end + 1]
        pieces.append(piece)
        waits.append(wait)
        tag = match[1].decode("ascii", "replace")
        command = RecordedCommand(
            tag, verb, pieces[0], uid=bool(match[2]), waits=len(pieces) > 1, rest=tuple(pieces[1:])
        )
        items.append(_Item(pieces, waits, command))
    return items


class _Player:
    def __init__(self, items: list[_Item]) -> None:
        self.conn = Connection()
        self.items = items
        self.next = 0  # the next item to send
        self.pending: list[bytes] = []  # later pieces of the last command, awaiting '+'
        self.received = bytearray()  # client bytes recorded, not yet matched
        self.verbs: dict[str, str] = {}  # tag -> verb, for the explanations
        self.unshown = bytearray()  # server octets fed, not yet in a step

    def client_steps(self, data: bytes, tls: bool) -> Iterator[ReplayStep]:
        conn = self.conn
        self.received += data
        while True:
            if self.pending:
                piece = self.pending[0]
                if len(self.received) < len(piece):
                    return
                del self.received[: len(piece)]
                self.pending.pop(0)
                state = conn.state
                yield ReplayStep(
                    Direction.CLIENT,
                    piece,
                    None,
                    state,
                    state,
                    "literal data after the server's '+' (RFC 9051 §4.3)",
                    tls,
                )
                continue
            if self.next >= len(self.items):
                return
            item = self.items[self.next]
            first = item.pieces[0]
            if len(self.received) < len(first):
                return
            del self.received[: len(first)]
            self.next += 1
            yield self._send(item, first, tls)

    def _send(self, item: _Item, first: bytes, tls: bool) -> ReplayStep:
        conn = self.conn
        before = conn.state
        try:
            if item.command is not None:
                command = item.command
                conn.send(command)
                self.verbs[command.tag] = command.verb
                conn.outgoing()
                self.pending = list(item.pieces[1:])
                row = SEND_TABLE[command.verb]
                note = f"{command.verb}: sent in state {before.name} ({row.rfc})"
                return ReplayStep(Direction.CLIENT, first, command, before, conn.state, note, tls)
            if first.strip().upper() == b"DONE":
                conn.done()
                note = "DONE: ends IDLE (RFC 2177 §3)"
            else:
                conn.send_continuation(first.rstrip(b"\r\n"), secret=True)
                note = "answer to the AUTHENTICATE challenge (RFC 9051 §6.2.2)"
            conn.outgoing()
        except (MailwireError, ValueError) as exc:
            note = f"our core refuses this: {exc}"
        return ReplayStep(Direction.CLIENT, first, None, before, conn.state, note, tls)

    def server_steps(self, data: bytes, tls: bool, *, eof: bool = False) -> Iterator[ReplayStep]:
        conn = self.conn
        if conn.error is not None:
            return
        if data or eof:
            conn.receive_data(b"" if eof else data)
        self.unshown += data
        # conn.outgoing(): pieces the core wrote after a '+', compared as the client's
        for before, event, note in core_events(conn, ConnectionClosed, conn.outgoing):
            if note:
                yield ReplayStep(Direction.SERVER, b"", event, before, conn.state, note, tls)
                continue
            owner = None
            if conn.last_tag is not None:
                verb = self.verbs.get(conn.last_tag, "?")
                owner = InFlight(conn.last_tag, None, verb, False, collections.deque())
            assert isinstance(event, Response | Continuation)
            text = describe(event, owner, before, conn.state)
            yield ReplayStep(Direction.SERVER, self._taken(), event, before, conn.state, text, tls)

    def _taken(self) -> bytes:
        """The octets the core consumed for the event it just yielded.

        The reader takes one line or one literal at a time and never looks
        past the end of a response, so what left the buffer since the last
        event is exactly this event's bytes.
        """
        count = len(self.unshown) - self.conn.buffered
        wire = bytes(self.unshown[:count])
        del self.unshown[:count]
        return wire

    def dropped_step(self, size: int, tls: bool) -> ReplayStep:
        """A server record whose bytes were not kept: not fed, and said so."""
        state = self.conn.state
        note = f"{size} bytes the recording did not keep: the replay is not exact"
        return ReplayStep(Direction.SERVER, b"", None, state, state, note, tls)


def replay(transcript: Transcript) -> Iterator[ReplayStep]:
    """The steps of a recorded IMAP session, replayed through a fresh core.

    Args:
        transcript: a recording (live, or from :meth:`Transcript.load`).
    """
    stream = bytearray()
    for record in transcript.records:
        if record.kind is Kind.DATA and record.direction is Direction.CLIENT:
            stream += record.data if record.data or not record.sensitive else b"*" * record.size
    player = _Player(_split(bytes(stream)))
    for record in transcript.records:
        if record.kind is Kind.DATA and record.direction is Direction.CLIENT:
            data = record.data if record.data or not record.sensitive else b"*" * record.size
            yield from player.client_steps(data, record.tls)
        elif record.kind is Kind.DATA and record.direction is Direction.SERVER:
            if record.data or not record.size:
                yield from player.server_steps(record.data, record.tls)
            else:  # b"" would read as the end of the stream
                yield player.dropped_step(record.size, record.tls)
        elif record.kind is Kind.TLS and (record.note or "").startswith("TLS established"):
            before = player.conn.state
            if before is State.TLS_HANDSHAKE:
                player.conn.tls_established()
            yield ReplayStep(
                Direction.LOCAL,
                b"",
                None,
                before,
                player.conn.state,
                f"{record.note} (RFC 9051 §6.2.1: capabilities are asked again)",
                True,
            )
        elif record.kind is Kind.CLOSE and record.direction is Direction.SERVER:
            yield from player.server_steps(b"", record.tls, eof=True)
