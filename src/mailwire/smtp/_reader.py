"""Reading SMTP replies out of the receive buffer (RFC 5321 §4.2).

A reply is one or more lines that share a three-digit code; every line but the
last has a hyphen after the code, the last a space or nothing at all
(RFC 5321 §4.2 asks clients to accept the bare code, "with or without a
trailing space character"). The reader is fed one buffer at a time and returns
``None`` until a whole reply is there, keeping the lines read so far, so any
split of the server's bytes gives the same replies.

Bounds: each line is capped by the buffer (``Limits.max_reply_line_length``);
the reader caps the number of lines and bytes of one reply
(``Limits.max_reply_lines``, ``max_reply_bytes``), so ``250-x`` forever ends
in :class:`~mailwire.errors.TooManyResponses` (security.md S23).

Tolerated, because real servers do it: a bare LF as line end, and UTF-8 text
(SMTPUTF8 servers; RFC 6531 §3.7.4.2). Not tolerated: a code that is not
three digits from 200 to 599, a fourth character other than space or hyphen,
and a multi-line reply whose lines change code midway.
"""

from __future__ import annotations

import re

from mailwire._buffer import ReceiveBuffer, strip_eol
from mailwire.errors import RemoteProtocolError, TooManyResponses
from mailwire.limits import DEFAULT_LIMITS, Limits
from mailwire.smtp.events import Reply

__all__ = ["ReplyReader", "parse_enhanced"]

# RFC 3463 §2: class "." subject "." detail, class 2, 4 or 5, the others up
# to three digits; RFC 2034 §4 puts it first in the text, followed by a space.
_ENHANCED = re.compile(rb"([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)")


def parse_enhanced(text: bytes, code: int) -> tuple[int, int, int] | None:
    """The enhanced status code at the start of ``text``, if any.

    Only a code whose class matches the reply's first digit counts (RFC 3463
    §2: "the class ... MUST match the first digit of the reply code"), so a
    text that merely starts with a version number is not misread.
    """
    match = _ENHANCED.match(text)
    if match is None or int(match[1]) != code // 100:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def _shorten(line: bytes) -> str:
    return repr(line[:60]) + ("..." if len(line) > 60 else "")


class ReplyReader:
    """Assembles one reply at a time from buffered lines.

    Args:
        limits: the bounds on lines and bytes per reply.
    """

    __slots__ = ("_code", "_limits", "_lines", "_raw", "_size")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._lines: list[bytes] = []
        self._raw: list[bytes] = []
        self._code = 0
        self._size = 0

    @property
    def in_reply(self) -> bool:
        """Whether part of a multi-line reply has been read."""
        return bool(self._lines)

    def read(self, buf: ReceiveBuffer) -> Reply | None:
        """The next complete reply in ``buf``, or ``None`` if it is not all there.

        Raises:
            RemoteProtocolError: a malformed line.
            TooManyResponses: the reply ran past ``max_reply_lines`` or
                ``max_reply_bytes``.
            LineTooLong: a line ran past ``max_reply_line_length``.
        """
        while (line := buf.read_line()) is not None:
            code, last, text = self._split(line)
            if self._lines and code != self._code:
                raise RemoteProtocolError(
                    f"multi-line reply changed code from {self._code} to {code}: {_shorten(line)}"
                )
            self._code = code
            self._lines.append(text)
            self._raw.append(line)
            self._size += len(line)
            if len(self._lines) > self._limits.max_reply_lines:
                raise TooManyResponses(
                    f"reply has more than {self._limits.max_reply_lines} lines",
                    limit=self._limits.max_reply_lines,
                )
            if self._size > self._limits.max_reply_bytes:
                raise TooManyResponses(
                    f"reply is longer than {self._limits.max_reply_bytes} bytes",
                    limit=self._limits.max_reply_bytes,
                )
            if last:
                return self._finish()
        return None

    def _split(self, line: bytes) -> tuple[int, bool, bytes]:
        body = strip_eol(line)
        code_bytes = body[:3]
        if len(code_bytes) < 3 or not code_bytes.isdigit() or not b"2" <= code_bytes[:1] <= b"5":
            raise RemoteProtocolError(f"not an SMTP reply line: {_shorten(line)}")
        separator = body[3:4]
        if separator == b"-":
            return int(code_bytes), False, body[4:]
        if separator in (b" ", b""):
            return int(code_bytes), True, body[4:]
        raise RemoteProtocolError(f"reply code not followed by space or hyphen: {_shorten(line)}")

    def _finish(self) -> Reply:
        code = self._code
        texts = [t.decode("utf-8", "replace") for t in self._lines]
        enhanced = parse_enhanced(self._lines[0], code)
        if enhanced is not None:
            prefix = ".".join(map(str, enhanced))
            stripped = [
                t[len(prefix) :].lstrip(" \t") if t.startswith(prefix) else t for t in texts
            ]
        else:
            stripped = texts
        reply = Reply(
            code=code,
            lines=texts,
            enhanced=enhanced,
            text="\n".join(stripped),
            raw=b"".join(self._raw),
        )
        self._lines, self._raw, self._code, self._size = [], [], 0, 0
        return reply
