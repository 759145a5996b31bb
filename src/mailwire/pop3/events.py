"""What the POP3 core hands out: one event per call of ``next_event()``.

A single-line answer is one event. A multi-line answer (RFC 1939 §3) is an
:class:`Ok` for its status line, then one event per item -- a chunk of the
message for RETR and TOP, a listing line for LIST, UIDL and LANG -- then
:class:`End` for the terminating ``.`` line. Listings and message data are
handed out as they arrive and never held: a 100 000-message LIST or a
200 MiB RETR costs the core one line or one chunk of memory.

The exceptions: STAT, ``LIST n`` and ``UIDL n`` answer with their parsed
listing instead of :class:`Ok`, and CAPA with one
:class:`~mailwire.pop3.Capabilities` once the list is complete (it is small
and bounded: ``Limits.max_reply_lines``).

Texts are decoded as UTF-8 (RFC 6856 §3.2 makes server text UTF-8; invalid
bytes become U+FFFD) with control characters escaped (``\\x1b``), so a
hostile server cannot put terminal escapes in an exception or a log line
(security.md S41). ``raw`` keeps the bytes as received.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mailwire.errors import POP3ErrorReply

if TYPE_CHECKING:
    from mailwire.pop3.commands import Command

__all__ = [
    "ConnectionClosed",
    "Continuation",
    "DropListing",
    "End",
    "Err",
    "Greeting",
    "LanguageListing",
    "MessageData",
    "Ok",
    "ScanListing",
    "UniqueIdListing",
]


def _verb(command: Command | None) -> str | None:
    return command.verb if command is not None else None


@dataclasses.dataclass(frozen=True, slots=True)
class Greeting:
    """The server's positive greeting (RFC 1939 §4).

    Attributes:
        text: the text after ``+OK`` (response code removed).
        timestamp: the APOP challenge, ``<...>`` included, or ``None`` when
            the server does not offer APOP (RFC 1939 §7, RFC 2449 §3).
        code: an RFC 2449 response code, or ``None``.
        raw: the line as received.
    """

    text: str
    timestamp: str | None = None
    code: str | None = None
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class Ok:
    """A ``+OK`` status line (RFC 1939 §3).

    For a multi-line answer the items and an :class:`End` follow.

    Attributes:
        text: the text after ``+OK``, response code removed.
        code: an RFC 2449 response code such as ``"UTF8"``, or ``None``.
        command: the command it answers.
        raw: the line as received.
    """

    text: str = ""
    code: str | None = None
    command: Command | None = dataclasses.field(default=None, compare=False)
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class Err:
    """A ``-ERR`` status line: the command was refused (RFC 1939 §3).

    Attributes:
        text: the text after ``-ERR``, response code removed.
        code: the RFC 2449 / RFC 3206 response code (``"IN-USE"``,
            ``"LOGIN-DELAY"``, ``"SYS/TEMP"``, ``"SYS/PERM"``, ``"AUTH"``,
            ``"UTF8"`` ...), upper case, or ``None``.
        command: the command it answers (``None`` for a refusing greeting).
        raw: the line as received.
    """

    text: str = ""
    code: str | None = None
    command: Command | None = dataclasses.field(default=None, compare=False)
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)

    def error(self) -> POP3ErrorReply:
        """The exception that reports this refusal."""
        return POP3ErrorReply(self.text, self.code, command=_verb(self.command) or "greeting")


@dataclasses.dataclass(frozen=True, slots=True)
class Continuation:
    """A SASL challenge ``+ base64`` during AUTH (RFC 5034 §4).

    Attributes:
        data: the base64 text as sent (possibly empty); the flow decodes it.
        command: the AUTH command or response it answers.
        raw: the line as received.
    """

    data: str = ""
    command: Command | None = dataclasses.field(default=None, compare=False)
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class DropListing:
    """The answer to STAT: ``+OK count octets`` (RFC 1939 §5).

    Attributes:
        count: messages in the maildrop, not counting those marked deleted.
        octets: their total size.
        text: whatever followed the size (RFC 1939 makes no requirement).
    """

    count: int
    octets: int
    text: str = ""
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class ScanListing:
    """One scan listing ``msg octets`` (RFC 1939 §5, LIST).

    The answer to ``LIST n``, or one line of the answer to ``LIST``.
    """

    message: int
    octets: int
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class UniqueIdListing:
    """One unique-id listing ``msg uid`` (RFC 1939 §7, UIDL).

    The answer to ``UIDL n``, or one line of the answer to ``UIDL``. The uid
    is printable ASCII without spaces (0x21-0x7E).
    """

    message: int
    uid: str
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class LanguageListing:
    """One language listing ``tag [description]`` (RFC 6856 §3.2, LANG)."""

    tag: str
    description: str = ""
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class MessageData:
    """A piece of the message of a RETR or TOP answer, dot-unstuffed.

    Pieces arrive in order; joined they are the message exactly as the
    server stored it (RFC 1939 §3: byte-stuffing removed, the terminating
    ``.`` line not included).
    """

    data: bytes = dataclasses.field(repr=False)
    command: Command | None = dataclasses.field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"MessageData(<{len(self.data)} bytes>)"


@dataclasses.dataclass(frozen=True, slots=True)
class End:
    """The ``.`` line that ends a multi-line answer (RFC 1939 §3).

    Attributes:
        command: the command whose answer is complete.
        items: listing lines (LIST, UIDL, LANG, CAPA) or message octets
            after unstuffing (RETR, TOP) delivered for it.
    """

    command: Command | None = dataclasses.field(default=None, compare=False)
    items: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The server closed the connection with no answer outstanding."""
