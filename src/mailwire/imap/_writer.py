"""Serialising IMAP commands (RFC 9051 §4, §6; RFC 7888 literals).

A command is built from a few kinds of argument (below) and serialised by
:func:`encode`, which picks for every string the form its content needs, in
the manner of go-imap's encoder:

- CR, LF or NUL in a string cannot be sent safely in any command argument:
  :class:`ValueError`, and nothing is produced (security.md S16). Only
  message data (APPEND) may hold them, as a literal; NUL there needs a
  literal8 and the BINARY extension (RFC 3516 §4.2).
- 8-bit text (unless UTF8=ACCEPT is enabled, RFC 6855 §3) and strings longer
  than 4 KiB become literals.
- A string of ASTRING-CHARs other than ``]`` is sent as an atom where the
  grammar allows one; anything else is quoted with ``\\`` before ``"`` and
  ``\\`` (S17). ``NIL`` is always quoted so it cannot read as nil.

Literals are synchronizing unless the server offers LITERAL+ (any size) or
LITERAL- (up to 4096 octets), RFC 7888. A synchronizing literal splits the
command into *segments*: the client sends one, waits for the server's ``+``,
then sends the next. :class:`Encoded` lists them with their secret spans
(passwords, SASL responses) so the transcript can redact exactly those
octets.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from mailwire.imap._utf7 import encode_mailbox_name

__all__ = [
    "AString",
    "Arg",
    "EncodeOptions",
    "Encoded",
    "Group",
    "Literal",
    "MailboxName",
    "NString",
    "Raw",
    "Secret",
    "Segment",
    "encode",
    "quote",
]

_ASTRING = re.compile(rb'[^\x00-\x20\x7f-\xff(){%*"\\\]]+\Z')


def ascii_class(exclude: str) -> str:
    """A regex class of the visible ASCII characters (0x21-0x7E) minus ``exclude``.

    Written out character by character: a class such as
    ``[^\\x00-\\x20\\x7f-\\uffff...]`` takes milliseconds to compile at import
    (its range reaches far beyond ASCII), and it lets characters above
    U+FFFF through.
    """
    return (
        "[" + "".join(re.escape(chr(c)) for c in range(0x21, 0x7F) if chr(c) not in exclude) + "]"
    )


_TAG = re.compile(ascii_class('(){%*"\\]+') + r"+\Z")
_LITERAL_MINUS_MAX = 4096
_LONG = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class EncodeOptions:
    """What the server allows, as far as serialising goes.

    Attributes:
        literal_plus: LITERAL+ offered: every literal is non-synchronizing.
        literal_minus: LITERAL- offered: literals up to 4096 octets are.
        utf8: UTF8=ACCEPT (or IMAP4rev2) enabled: mailbox names and quoted
            strings travel as UTF-8 (RFC 6855 §3, RFC 9051 §5.1).
        binary: BINARY offered: APPEND data with NUL goes as literal8.
    """

    literal_plus: bool = False
    literal_minus: bool = False
    utf8: bool = False
    binary: bool = False


# The argument kinds are plain slotted classes rather than dataclasses: they
# live only while a command is encoded, and a dataclass costs a millisecond
# of import time each.


class Raw:
    """Octets the command already validated (keywords, numbers, sets)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class AString:
    """A string argument; ``atom=False`` for grammar that wants ``string``."""

    __slots__ = ("atom", "value", "what")

    def __init__(self, value: str | bytes, what: str = "argument", atom: bool = True) -> None:
        self.value = value
        self.what = what
        self.atom = atom


class NString:
    """An nstring: ``None`` is NIL."""

    __slots__ = ("value", "what")

    def __init__(self, value: str | bytes | None, what: str = "argument") -> None:
        self.value = value
        self.what = what


class MailboxName:
    """A mailbox name: modified UTF-7, or UTF-8 once UTF8=ACCEPT is on."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Literal:
    """Data that is always a literal (APPEND's message)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Group:
    """Arguments inside parentheses."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[Arg, ...]) -> None:
        self.items = items


class Secret:
    """Marks an argument's octets as secret in the transcript."""

    __slots__ = ("arg",)

    def __init__(self, arg: Arg) -> None:
        self.arg = arg


Arg: TypeAlias = "Raw | AString | NString | MailboxName | Literal | Group | Secret"


@dataclasses.dataclass(frozen=True, slots=True)
class Segment:
    """Octets sent in one go; a segment after the first waits for ``+``.

    Attributes:
        data: the octets.
        secrets: ``(start, end)`` spans of ``data`` that are secret.
    """

    data: bytes
    secrets: tuple[tuple[int, int], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Encoded:
    """A serialised command.

    Attributes:
        segments: the first is sent at once; each later one only after the
            server's continuation request (one per synchronizing literal).
    """

    segments: tuple[Segment, ...]

    @property
    def data(self) -> bytes:
        """All segments joined: the command as it appears on the wire."""
        return b"".join(s.data for s in self.segments)

    @property
    def continuations(self) -> int:
        """How many continuation requests the command needs."""
        return len(self.segments) - 1


def _as_bytes(value: str | bytes, utf8: bool = True) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def check_string(data: bytes, what: str) -> None:
    """Refuse CR, LF and NUL in an argument (S16).

    Raises:
        ValueError: naming ``what``.
    """
    for bad, name in ((b"\r", "CR"), (b"\n", "LF"), (b"\x00", "NUL")):
        if bad in data:
            raise ValueError(f"{what} contains {name}, which cannot be sent in an IMAP command")


def quote(data: bytes) -> bytes:
    """``data`` as a quoted string (it must hold no CR, LF or NUL)."""
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


class _Writer:
    __slots__ = ("options", "parts", "secrets", "segments", "size")

    def __init__(self, options: EncodeOptions) -> None:
        self.options = options
        self.parts: list[bytes] = []
        self.secrets: list[tuple[int, int]] = []
        self.segments: list[Segment] = []
        self.size = 0

    def put(self, data: bytes, secret: bool = False) -> None:
        if secret and data:
            self.secrets.append((self.size, self.size + len(data)))
        self.parts.append(data)
        self.size += len(data)

    def cut(self) -> None:
        self.segments.append(Segment(b"".join(self.parts), tuple(self.secrets)))
        self.parts, self.secrets, self.size = [], [], 0

    def literal(self, data: bytes, secret: bool, binary: bool = False) -> None:
        options = self.options
        plus = options.literal_plus or (options.literal_minus and len(data) <= _LITERAL_MINUS_MAX)
        self.put(b"%s{%d%s}\r\n" % (b"~" if binary else b"", len(data), b"+" if plus else b""))
        if not plus:
            self.cut()
        self.put(data, secret)

    def string(self, data: bytes, what: str, secret: bool, atom: bool) -> None:
        check_string(data, what)
        if len(data) > _LONG or (not data.isascii() and not self.options.utf8):
            self.literal(data, secret)
        elif atom and _ASTRING.match(data) and data.upper() != b"NIL":
            self.put(data, secret)
        else:
            self.put(quote(data), secret)

    def arg(self, arg: Arg, secret: bool = False) -> None:
        if isinstance(arg, Raw):
            self.put(arg.data, secret)
        elif isinstance(arg, AString):
            self.string(_as_bytes(arg.value), arg.what, secret, arg.atom)
        elif isinstance(arg, NString):
            if arg.value is None:
                self.put(b"NIL", secret)
            else:
                self.string(_as_bytes(arg.value), arg.what, secret, atom=False)
        elif isinstance(arg, MailboxName):
            check_string(arg.name.encode("utf-8", "surrogatepass"), "mailbox name")
            if arg.name.upper() == "INBOX":
                self.put(b"INBOX")
            else:
                name = encode_mailbox_name(arg.name, utf8=self.options.utf8)
                self.string(name, "mailbox name", secret, atom=True)
        elif isinstance(arg, Literal):
            data = arg.data
            if b"\x00" in data and not self.options.binary:
                raise ValueError("message data holds NUL, which needs the BINARY extension")
            self.literal(data, secret, binary=b"\x00" in data)
        elif isinstance(arg, Group):
            self.put(b"(")
            self.args(arg.items, secret)
            self.put(b")")
        else:
            self.arg(arg.arg, secret=True)

    def args(self, args: Iterable[Arg], secret: bool = False) -> None:
        first = True
        for arg in args:
            if not first:
                self.put(b" ")
            first = False
            self.arg(arg, secret)


def encode(tag: str, args: Sequence[Arg], options: EncodeOptions | None = None) -> Encoded:
    """Serialise ``tag SP args... CRLF``.

    Raises:
        ValueError: a bad tag or argument; nothing is produced.
    """
    if not _TAG.match(tag):
        raise ValueError(f"not a valid IMAP tag: {tag!r}")
    writer = _Writer(options or EncodeOptions())
    writer.put(tag.encode("ascii") + b" ")
    writer.args(args)
    writer.put(b"\r\n")
    writer.cut()
    return Encoded(tuple(writer.segments))
