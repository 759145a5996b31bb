"""Replaying a recorded SMTP session through a fresh core, one step at a time.

``replay(transcript)`` walks the recorded bytes in order. The client's bytes
are parsed back into commands and sent through a new
:class:`~mailwire.smtp.connection.Connection`; what our writer produces is
compared with what was recorded, and a difference becomes a step of its own.
The server's bytes are fed to the core and every event it yields is a step,
with the state before and after and the RFC section. A learner can print the
steps, or pause at each one (``mailwire replay FILE --step``).

Secrets stay secret: a redacted span in the recording is compared as "some
bytes we cannot see", and the step shows it redacted.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterator

from mailwire._replay_events import core_events
from mailwire.errors import MailwireError
from mailwire.smtp._state import SEND_TABLE, State
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
    Expn,
    Helo,
    Help,
    Lhlo,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Rset,
    StartTLS,
    Vrfy,
)
from mailwire.smtp.connection import Connection, describe_reply
from mailwire.smtp.events import ConnectionClosed, Reply
from mailwire.transcript import Direction, Kind, Transcript

__all__ = ["Step", "replay"]


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a replay.

    Attributes:
        direction: who sent the bytes (``LOCAL`` for notes).
        wire: the recorded bytes of this step (redacted spans as ``*``).
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


_PARAM = re.compile(r"\s+")


def _params(text: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for word in _PARAM.split(text.strip()):
        if word:
            key, eq, value = word.partition("=")
            out[key] = value if eq else None
    return out


def _path(rest: str) -> tuple[str, str]:
    match = re.match(r"\s*<([^>]*)>(.*)", rest)
    if match is None:
        raise ValueError(f"no <path> in {rest!r}")
    return match[1], match[2]


def parse_command(line: bytes, *, authenticating: bool) -> Command:
    """Turn one recorded command line back into a command object."""
    text = line.rstrip(b"\r\n").decode("utf-8", "replace")
    if authenticating:
        if text == "*":
            return AuthCancel()
        try:
            return AuthResponse(base64.b64decode(text, validate=True))
        except ValueError:  # binascii.Error, or text outside ASCII
            return AuthResponse(b"")  # redacted in the recording
    verb, _, rest = text.partition(" ")
    upper = verb.upper()
    if upper == "MAIL" and rest.upper().startswith("FROM:"):
        sender, params = _path(rest[5:])
        return MailFrom(sender, _params(params))
    if upper == "RCPT" and rest.upper().startswith("TO:"):
        recipient, params = _path(rest[3:])
        return RcptTo(recipient, _params(params))
    if upper == "AUTH":
        mechanism, _, initial = rest.partition(" ")
        data: bytes | None = None
        if initial:
            try:
                data = b"" if initial == "=" else base64.b64decode(initial, validate=True)
            except ValueError:  # binascii.Error, or text outside ASCII
                data = b""  # redacted in the recording
        return Auth(mechanism.upper(), data)
    simple: dict[str, type[Command]] = {
        "DATA": Data,
        "RSET": Rset,
        "NOOP": Noop,
        "QUIT": Quit,
        "STARTTLS": StartTLS,
    }
    if upper in simple:
        return simple[upper]()
    if upper in ("EHLO", "HELO", "LHLO"):
        return {"EHLO": Ehlo, "HELO": Helo, "LHLO": Lhlo}[upper](rest)
    if upper in ("VRFY", "EXPN"):
        return (Vrfy if upper == "VRFY" else Expn)(rest)
    if upper == "HELP":
        return Help(rest or None)
    raise ValueError(f"not an SMTP command line: {text[:60]!r}")


class _Replayer:
    def __init__(self, lmtp: bool) -> None:
        self.conn = Connection(lmtp=lmtp)
        self.client = bytearray()
        self.client_secret: list[bool] = []
        self.bdat_left = 0
        self.bdat_last = False
        self._bdat_line = b""

    def _shown(self, data: bytes, secret: list[bool]) -> bytes:
        return bytes(b if not s else ord("*") for b, s in zip(data, secret, strict=True))

    def client_steps(self, tls: bool) -> Iterator[Step]:
        conn = self.conn
        while self.client:
            state = conn.state
            if state is State.CONTENT:
                if self.client.startswith(b".\r\n"):
                    body_end = 0  # the content so far ended with CRLF: this is the end
                else:
                    end = self.client.find(b"\r\n.\r\n")
                    if end < 0:
                        # No end yet: send the complete lines so far, keep the rest.
                        keep = self.client.rfind(b"\r\n") + 2
                        if keep < 2:
                            return
                        chunk, secret = bytes(self.client[:keep]), self.client_secret[:keep]
                        del self.client[:keep], self.client_secret[:keep]
                        yield self._send(Content(_unstuff(chunk)), chunk, secret, tls)
                        continue
                    body_end = end + 2
                if body_end:
                    body = bytes(self.client[:body_end])
                    secret = self.client_secret[:body_end]
                    del self.client[:body_end], self.client_secret[:body_end]
                    yield self._send(Content(_unstuff(body)), body, secret, tls)
                end_line = bytes(self.client[:3])
                del self.client[:3], self.client_secret[:3]
                yield self._send(EndOfData(), end_line, [False] * 3, tls)
                continue
            if self.bdat_left:
                if len(self.client) < self.bdat_left:
                    return
                data = bytes(self.client[: self.bdat_left])
                del self.client[: self.bdat_left], self.client_secret[: self.bdat_left]
                yield self._send(
                    Bdat(data, self.bdat_last), data, [False] * len(data), tls, header=True
                )
                self.bdat_left = 0
                continue
            end = self.client.find(b"\n")
            if end < 0:
                return
            line = bytes(self.client[: end + 1])
            secret = self.client_secret[: end + 1]
            del self.client[: end + 1], self.client_secret[: end + 1]
            match = re.match(rb"BDAT (\d+)( LAST)?\r?\n", line, re.IGNORECASE)
            if match:
                self.bdat_left, self.bdat_last = int(match[1]), bool(match[2])
                self._bdat_line = line
                if self.bdat_left == 0:
                    yield self._send(Bdat(b"", self.bdat_last), b"", [], tls, header=True)
                continue
            try:
                command = parse_command(line, authenticating=state is State.AUTH)
            except ValueError as exc:
                yield Step(
                    Direction.CLIENT,
                    self._shown(line, secret),
                    None,
                    state,
                    state,
                    f"not understood: {exc}",
                    tls=tls,
                )
                continue
            yield self._send(command, line, secret, tls)

    def _send(
        self,
        command: Command,
        wire: bytes,
        secret: list[bool],
        tls: bool,
        *,
        header: bool = False,
    ) -> Step:
        conn = self.conn
        before = conn.state
        shown = self._shown(wire, secret)
        if header:
            shown = self._bdat_line + shown if wire else self._bdat_line
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
        ours = conn.outgoing()
        recorded = (self._bdat_line + wire) if header else wire
        mismatch = None
        if ours.data != recorded and not any(secret):
            mismatch = ours.data
        row = SEND_TABLE[type(command)]
        explanation = f"{command.verb}: {before.name} -> {conn.state.name} ({row.rfc})"
        return Step(
            Direction.CLIENT, shown, command, before, conn.state, explanation, mismatch, tls
        )

    def server_steps(self, data: bytes, tls: bool, *, eof: bool = False) -> Iterator[Step]:
        conn = self.conn
        if data or eof:
            conn.receive_data(b"" if eof else data)
        for before, event, note in core_events(conn, ConnectionClosed):
            if note:
                yield Step(Direction.SERVER, b"", event, before, conn.state, note, tls=tls)
                continue
            assert isinstance(event, Reply)
            yield Step(
                Direction.SERVER,
                event.raw,
                event,
                before,
                conn.state,
                describe_reply(event, before, conn.state),
                tls=tls,
            )


def _unstuff(data: bytes) -> bytes:
    body = data.replace(b"\r\n..", b"\r\n.")
    return body[1:] if body.startswith(b"..") else body


def replay(transcript: Transcript, *, lmtp: bool | None = None) -> Iterator[Step]:
    """The steps of a recorded session, replayed through a fresh core.

    Args:
        transcript: a recording (live, or from :meth:`Transcript.load`).
        lmtp: replay as LMTP; by default guessed from an LHLO in the recording.
    """
    if lmtp is None:
        lmtp = transcript.client_bytes().lstrip().upper().startswith(b"LHLO") or (
            b"\nLHLO " in transcript.client_bytes().upper()
        )
    player = _Replayer(lmtp)
    for record in transcript.records:
        if record.kind is Kind.DATA and record.direction is Direction.CLIENT:
            data = record.data if not (record.sensitive and not record.data) else b"*" * record.size
            player.client += data
            player.client_secret += [record.sensitive] * len(data)
            yield from player.client_steps(record.tls)
        elif record.kind is Kind.DATA and record.direction is Direction.SERVER:
            yield from player.server_steps(record.data, record.tls)
        elif record.kind is Kind.TLS and (record.note or "").startswith("TLS established"):
            before = player.conn.state
            if before is State.TLS_HANDSHAKE:
                player.conn.tls_established()
            yield Step(
                Direction.LOCAL,
                b"",
                None,
                before,
                player.conn.state,
                f"{record.note} (RFC 3207 §4.2: the session starts over)",
                tls=True,
            )
        elif record.kind is Kind.CLOSE and record.direction is Direction.SERVER:
            yield from player.server_steps(b"", record.tls, eof=True)
