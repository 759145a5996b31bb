"""Turning SMTP commands into bytes, and message content into DATA lines.

Command lines are ASCII unless SMTPUTF8 is in use (RFC 6531 §3.3), in which
case addresses and parameter values may be UTF-8. AUTH payloads are base64
(RFC 4954 §4) and written as secret spans, so the transcript can redact them.

:class:`DataStuffer` streams message content after a 354 reply. It applies
RFC 5321 §4.5.2 transparency (a line starting with "." gets another "."),
and refuses what would make the message ambiguous on the wire (the "SMTP
smuggling" family, security.md S10-S13): a bare CR or a bare LF, and a line
longer than 998 octets before its CRLF (§4.5.3.1.6). It works across chunk
boundaries, so a CR at the end of one chunk and the LF at the start of the
next are one line end.
"""

from __future__ import annotations

import base64

from mailwire._core import Outbound
from mailwire.smtp.commands import (
    Auth,
    AuthCancel,
    AuthResponse,
    Bdat,
    Command,
    Data,
    Ehlo,
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

__all__ = ["MAX_LINE_OCTETS", "DataStuffer", "write_command"]

#: RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with its CRLF.
MAX_LINE_OCTETS = 998


def _encode(text: str, *, utf8: bool, what: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        if utf8:
            return text.encode("utf-8")
        raise ValueError(
            f"{what} {text!r} is not ASCII; it needs a server that offers SMTPUTF8 (RFC 6531)"
        ) from None


def _params(params: tuple[tuple[str, str | None], ...], *, utf8: bool) -> bytes:
    out = b""
    for key, value in params:
        out += b" " + key.encode("ascii")
        if value is not None:
            out += b"=" + _encode(value, utf8=utf8, what=f"parameter {key}")
    return out


def write_command(command: Command, out: Outbound, *, utf8: bool = False) -> None:
    """Serialise ``command`` into ``out`` (all of it, or nothing on error).

    Args:
        command: any command except ``Content`` and ``EndOfData`` (which go
            through :class:`DataStuffer`).
        out: the outbound buffer.
        utf8: SMTPUTF8 is in use, so addresses may be UTF-8.

    Raises:
        ValueError: a non-ASCII address or value without ``utf8``; nothing
            is written.
    """
    parts = _command_parts(command, utf8)
    for data, secret in parts:
        out.write(data, secret=secret)


def _command_parts(command: Command, utf8: bool) -> list[tuple[bytes, bool]]:
    """The bytes of ``command``, with the secret ones marked."""
    if isinstance(command, Ehlo | Helo | Lhlo):
        domain = _encode(command.domain, utf8=utf8, what="domain")
        return [(f"{command.verb} ".encode() + domain + b"\r\n", False)]
    if isinstance(command, MailFrom):
        path = _encode(command.sender, utf8=utf8, what="sender")
        line = b"MAIL FROM:<" + path + b">" + _params(command.params, utf8=utf8)
        return [(line + b"\r\n", False)]
    if isinstance(command, RcptTo):
        path = _encode(command.recipient, utf8=utf8, what="recipient")
        line = b"RCPT TO:<" + path + b">" + _params(command.params, utf8=utf8)
        return [(line + b"\r\n", False)]
    if isinstance(command, Auth):
        head = b"AUTH " + command.mechanism.encode("ascii")
        if command.initial_response is None:
            return [(head + b"\r\n", False)]
        # RFC 4954 §4: an empty initial response is sent as "=".
        payload = base64.b64encode(command.initial_response) or b"="
        return [(head + b" ", False), (payload, True), (b"\r\n", False)]
    if isinstance(command, AuthResponse):
        return [(base64.b64encode(command.data), True), (b"\r\n", False)]
    if isinstance(command, AuthCancel):
        return [(b"*\r\n", False)]
    if isinstance(command, Bdat):
        # The chunk follows its size line and is not followed by CRLF.
        head = f"BDAT {len(command.data)}{' LAST' if command.last else ''}\r\n".encode()
        return [(head + command.data, False)]
    if isinstance(command, Vrfy | Expn):
        arg = _encode(command.argument, utf8=utf8, what="argument")
        return [(command.verb.encode() + b" " + arg + b"\r\n", False)]
    if isinstance(command, Help):
        arg = b""
        if command.argument:
            arg = b" " + _encode(command.argument, utf8=utf8, what="argument")
        return [(b"HELP" + arg + b"\r\n", False)]
    if isinstance(command, StartTLS | Data | Rset | Noop | Quit):
        return [(command.verb.encode() + b"\r\n", False)]
    raise TypeError(f"{command!r} is not written by write_command")


class DataStuffer:
    """Streams DATA content: dot-stuffing plus line-end and length checks.

    Feed the content in any pieces with :meth:`feed`, then :meth:`end`.
    ``feed`` raises :class:`ValueError` *before writing anything of the
    offending piece*; earlier pieces may have been sent, so the caller must
    then abandon the connection rather than end the data (a DATA transfer
    cannot be taken back; closing it undelivered is the safe way out).
    """

    __slots__ = ("_after_cr", "_line_length")

    def __init__(self) -> None:
        self._line_length = 0  # octets in the current line so far
        self._after_cr = False  # the previous piece ended in CR

    @property
    def at_line_start(self) -> bool:
        """Whether the content so far ends with CRLF (or is empty)."""
        return self._line_length == 0 and not self._after_cr

    def feed(self, data: bytes, out: Outbound) -> None:
        """Check and dot-stuff one piece of content into ``out``.

        Raises:
            ValueError: a bare CR, a bare LF, or a line over 998 octets.
        """
        if not data:
            return
        at_start = self.at_line_start
        self._check(data)
        # Dot-stuffing: a "." at the start of any line is doubled (§4.5.2).
        stuffed = data.replace(b"\n.", b"\n..")
        if at_start and data[:1] == b".":
            stuffed = b"." + stuffed
        out.write(stuffed)

    def check(self, data: bytes) -> None:
        """Apply :meth:`feed`'s checks to ``data`` without writing (for BDAT).

        Raises:
            ValueError: a bare CR, a bare LF, or a line over 998 octets.
        """
        if data:
            self._check(data)

    def check_end(self) -> None:
        """The content ends here: a final bare CR is refused."""
        if self._after_cr:
            raise ValueError("message content ends with a bare CR")

    def end(self, out: Outbound) -> None:
        """Finish the content: a CRLF if the last line lacks one, then ``.``."""
        if self._after_cr:
            raise ValueError("message content ends with a bare CR")
        if self._line_length:
            out.write(b"\r\n")
        out.write(b".\r\n")
        self._line_length = 0

    def _check(self, data: bytes) -> None:
        # Validate the whole piece first and commit the new line state only
        # then, so a refused piece leaves the stuffer as it was. Everything
        # runs in C: counting (every CR and every LF must belong to a CRLF)
        # and one split to measure the lines. A regular expression such as
        # [^\r\n]{999} would cost octets x line length.
        length = self._line_length
        body = data
        if self._after_cr:
            if not data.startswith(b"\n"):
                raise ValueError("bare CR in message content (RFC 5321 §2.3.8)")
            body, length = data[1:], 0
        trailing_cr = body.endswith(b"\r")
        core = body[:-1] if trailing_cr else body
        pairs = core.count(b"\r\n")
        if core.count(b"\r") != pairs or core.count(b"\n") != pairs:
            raise ValueError("bare CR or LF in message content (RFC 5321 §2.3.8)")
        if pairs:
            lines = core.split(b"\r\n")
            if length + len(lines[0]) > MAX_LINE_OCTETS or max(map(len, lines)) > MAX_LINE_OCTETS:
                raise ValueError(f"message line longer than {MAX_LINE_OCTETS} octets")
            length = len(lines[-1])
        else:
            length += len(core)
        if length > MAX_LINE_OCTETS:
            raise ValueError(f"message line longer than {MAX_LINE_OCTETS} octets")
        self._line_length, self._after_cr = length, trailing_cr
