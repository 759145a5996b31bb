"""Cutting the server's byte stream into IMAP responses (RFC 9051 §2.2.2, §4.3).

A response is one line, unless that line ends with a literal announcement:
``{n}`` (RFC 9051 §4.3) or ``~{n}`` (literal8, RFC 3516 §4.2), after which
exactly ``n`` octets follow and the response goes on with another line. The
:class:`FrameReader` hands out one :class:`Frame` per response.

The frame keeps the lines and the literals apart so that the lexer never has
to scan literal data. Its :attr:`Frame.text` is every line of the response
joined with ``"\\r\\n"``: the CRLF survives only right after a literal
announcement, which makes ``{n}\\r\\n`` a token that no quoted string or atom
can swallow (neither may hold CR or LF), so the n-th such token in the text is
the n-th literal in :attr:`Frame.literals`.

Bounds, checked before anything is read (security.md S22, S24):

- each line is capped by the receive buffer (``Limits.max_line_length``);
- a declared size must be a plain number64: ``{}``, ``{-1}``, ``{1e3}`` and
  anything over 2**63 - 1 are :class:`RemoteProtocolError`;
- a literal kept in memory may not be larger than ``Limits.max_literal_size``
  (:class:`LiteralTooLarge` is raised from the announcement alone, so no
  declared size is ever allocated); nor may one response hold more than
  ``max_literal_size + max_line_length`` bytes in all, so that a response of
  endless small literals is bounded too;
- a literal can instead be streamed to a *sink* chunk by chunk (at most
  the receive buffer's ``Limits.chunk_size`` at a time, or one read's worth
  of a reused scratch buffer for a sink that accepts views; see
  :class:`LiteralSink`), in which case its size is bounded only by the sink.

A literal kept in memory is read into a buffer of its declared size, set
aside only after the checks above pass; the driver then reads straight into
it (see :meth:`ReceiveBuffer.read_exact`), so its octets are copied once,
into a buffer that is not zero-filled first.

Reading is resumable: :meth:`FrameReader.read` returns ``None`` when the
buffer holds only part of a response, keeps what it has, and carries on at the
next call. Each line and each literal is looked at once, so a response with N
literals costs O(N) (S25).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Protocol

from mailwire._buffer import ReceiveBuffer
from mailwire.errors import ConnectionLost, LiteralTooLarge, RemoteProtocolError
from mailwire.imap._fast import fast_constructor
from mailwire.imap.events import Defect
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["Frame", "FrameReader", "LiteralSink", "SinkFactory", "StreamedLiteral"]

# A brace group at the very end of a line. Whether it is a literal is decided
# on its content: digits make a literal; empty, signed or otherwise numeric
# looking content is an error (S24); anything else (``{abc}``) is just text.
_TRAILING_BRACES = re.compile(rb"(~?)\{([^{}\r\n]*)\}\Z")
_NUMERIC_LOOKING = re.compile(rb"[-+0-9.eE]*\Z")
_MAX_NUMBER64 = 2**63 - 1


class LiteralSink(Protocol):
    """Where a streamed literal goes: anything with ``write(bytes)``.

    ``close()`` is called, when the object has one, after the last chunk.
    A sink whose class sets ``accepts_views = True`` is given memoryviews
    instead, valid only during the call (the next read reuses the memory),
    in pieces as large as a read; every other sink gets ``bytes`` of at most
    ``Limits.chunk_size`` octets, which it may keep.
    """

    def write(self, data: bytes, /) -> object: ...


#: Called when a literal is announced: ``factory(prefix, size)`` where
#: ``prefix`` is the response text before the announcement (for instance
#: ``b"* 3 FETCH (UID 7 BODY[1]"``) and ``size`` the declared size. Return a
#: sink to stream the literal into it, or ``None`` to keep it in memory.
SinkFactory = Callable[[bytes, int], "LiteralSink | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class StreamedLiteral:
    """Stands in a frame for a literal that went to a sink, not to memory.

    Attributes:
        size: the number of octets written to the sink.
        binary: whether it was a literal8 (``~{n}``).
    """

    size: int
    binary: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Frame:
    """One response as it came off the wire, split into text and literals.

    Attributes:
        text: the response's lines joined with CRLF and without the final
            line end; each literal's data is cut out, its ``{n}`` (or
            ``~{n}``) announcement and the CRLF after it are kept.
        literals: the literal data in order: ``bytes``, or a
            :class:`StreamedLiteral` for one that went to a sink.
        size: octets the response took on the wire.
        defects: framing deviations that were accepted: ``bare-lf`` (a line
            ended in LF without CR) and ``line-break-after-literal`` (see
            :class:`FrameReader`).
    """

    text: bytes
    literals: tuple[bytes | StreamedLiteral, ...] = ()
    size: int = 0
    defects: tuple[Defect, ...] = ()


_make_frame = fast_constructor(Frame)


def _shorten(data: bytes) -> str:
    return repr(data[:60]) + ("..." if len(data) > 60 else "")


class FrameReader:
    """Takes whole responses out of a :class:`ReceiveBuffer`.

    Args:
        limits: the bounds on literal sizes (lines are bounded by the buffer).
        sink_factory: optional; decides per literal whether it is streamed
            (see :data:`SinkFactory`). Streamed literals are not subject to
            ``max_literal_size``.
    """

    __slots__ = (
        "_after_literal",
        "_binary",
        "_carry",
        "_defects",
        "_held",
        "_lines",
        "_literals",
        "_max_held",
        "_max_literal",
        "_need",
        "_sink",
        "_sink_factory",
        "_size",
        "_total",
        "_views",
    )

    def __init__(
        self, limits: Limits = DEFAULT_LIMITS, *, sink_factory: SinkFactory | None = None
    ) -> None:
        self._max_literal = limits.max_literal_size
        self._max_held = limits.max_literal_size + limits.max_line_length
        self._sink_factory = sink_factory
        self._reset()

    def _reset(self) -> None:
        self._lines: list[bytes] = []
        self._literals: list[bytes | StreamedLiteral] = []
        # Octets of the literal being read that are still to come (-1: none).
        self._need = -1
        self._total = 0
        self._sink: LiteralSink | None = None
        self._views = False
        self._binary = False
        self._held = 0
        self._size = 0
        self._defects: list[Defect] = []
        self._after_literal = False
        self._carry = b""

    @property
    def in_frame(self) -> bool:
        """Whether part of a response has been read."""
        return bool(self._lines)

    def read(self, buf: ReceiveBuffer) -> Frame | None:
        """The next complete response in ``buf``, or ``None`` if not all there.

        Raises:
            LineTooLong: a line ran past ``Limits.max_line_length``.
            LiteralTooLarge: a literal (or the response) is too big to hold.
            RemoteProtocolError: a malformed literal announcement.
            ConnectionLost: the stream ended inside a response.
        """
        if self._need < 0 and not self._lines and not self._carry:
            # Most responses are one CRLF line with no literal: no state.
            line = buf.read_line()
            if line is None:
                self._starved(buf)
                return None
            if line.endswith(b"\r\n") and not line.endswith(b"}\r\n"):
                return _make_frame(line[:-2], (), len(line), ())
            return self._read_lines(buf, line)
        return self._read_lines(buf, None)

    def _read_lines(self, buf: ReceiveBuffer, first: bytes | None) -> Frame | None:
        """The general case of :meth:`read`, starting with ``first`` if given."""
        while True:
            if first is not None:
                line: bytes | None = first
                first = None
            elif self._need >= 0:
                if not self._read_literal(buf):
                    self._starved(buf)
                    return None
                continue
            else:
                line = buf.read_line()
            if line is None:
                self._starved(buf)
                return None
            self._size += len(line)
            if line.endswith(b"\r\n"):
                line = line[:-2]
            else:
                line = line[:-1]
                if not any(d.kind == "bare-lf" for d in self._defects):
                    self._defects.append(Defect("bare-lf", "a line ended in LF alone"))
            if self._carry:
                line = self._carry + line
                self._carry = b""
            if line.endswith(b"}") and self._announce(line):
                self._lines.append(line)
                self._after_literal = True
                continue
            if self._after_literal and line and not line.strip(b" ") and self._unbalanced():
                # Seen in MailKit's Gmail corpus: a literal, then a line of
                # blanks, then the ")" that closes the FETCH on the next line.
                # Only taken while parentheses are open, so a response whose
                # last token is a literal still ends here.
                self._defects.append(
                    Defect("line-break-after-literal", "a line break inside a list")
                )
                self._carry = line
                self._after_literal = False
                continue
            self._after_literal = False
            self._lines.append(line)
            lines = self._lines
            frame = _make_frame(
                lines[0] if len(lines) == 1 else b"\r\n".join(lines),
                tuple(self._literals),
                self._size,
                tuple(self._defects),
            )
            self._reset()
            return frame

    def _unbalanced(self) -> bool:
        """Whether the text so far opens more parentheses than it closes."""
        from mailwire.imap._lexer import count_parens

        return count_parens(b"\r\n".join(self._lines)) > 0

    def _starved(self, buf: ReceiveBuffer) -> None:
        if buf.eof and (self._lines or len(buf)):
            raise ConnectionLost("the server closed the connection in the middle of a response")

    def _announce(self, line: bytes) -> bool:
        """Handle a line ending in ``{...}``; whether it announced a literal."""
        match = _TRAILING_BRACES.search(line)
        if match is None:
            return False
        digits = match[2]
        if not digits.isdigit() or not digits.isascii():
            if _NUMERIC_LOOKING.match(digits):
                raise RemoteProtocolError(f"bad literal size in {_shorten(line[-40:])}")
            return False
        if len(digits) > 19 or int(digits) > _MAX_NUMBER64:
            raise RemoteProtocolError(f"literal size is not a number64: {_shorten(digits)}")
        size = int(digits)
        self._binary = bool(match[1])
        sink = None
        if self._sink_factory is not None:
            prefix = b"\r\n".join([*self._lines, line[: match.start()]])
            sink = self._sink_factory(prefix, size)
        if sink is None:
            if size > self._max_literal:
                raise LiteralTooLarge(
                    f"literal of {size} bytes is over the limit of {self._max_literal}",
                    limit=self._max_literal,
                )
            self._held += size + len(line)
            if self._held > self._max_held:
                raise LiteralTooLarge(
                    f"response holds more than {self._max_held} bytes of literals",
                    limit=self._max_held,
                )
        self._sink = sink
        self._views = sink is not None and getattr(sink, "accepts_views", False) is True
        self._need = self._total = size
        return True

    def _read_literal(self, buf: ReceiveBuffer) -> bool:
        """Read (or stream) the pending literal; whether it is complete."""
        need = self._need
        sink = self._sink
        if sink is None:
            # The size passed its limit check in _announce (S24): the buffer
            # may set it aside and fill it in place.
            data = buf.read_exact(need, allocate=True)
            if data is None:
                return False
            self._literals.append(data)
        else:
            # A sink that takes views gets each read as it landed, valid only
            # during the call; any other sink gets bytes of at most one chunk
            # (Limits.chunk_size), which it may keep.
            take = buf.read_view if self._views else buf.read_upto
            write = sink.write
            while need:
                chunk = take(need)
                if not chunk:
                    self._need = need
                    return False
                write(chunk)  # type: ignore[arg-type]
                need -= len(chunk)
            close = getattr(sink, "close", None)
            if close is not None:
                close()
            self._literals.append(StreamedLiteral(self._total, self._binary))
            self._sink = None
        self._size += self._total
        self._need = -1
        return True
