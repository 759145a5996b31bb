"""The escape syntax of rendered transcripts, and its inverse.

Rendered transcripts are read by people in terminals and by ``Transcript.load``.
Both needs are served by one reversible syntax:

* printable ASCII and printable non-ASCII text are shown as they are;
* ``\\\\`` is a backslash, ``\\r`` ``\\n`` ``\\t`` are CR, LF and TAB;
* ``\\xNN`` is ONE BYTE: every other C0 control and DEL (``\\x1b``, ``\\x00``,
  ``\\x7f``), and every byte that is not part of valid UTF-8 (``\\x9b`` alone);
* ``\\uNNNN`` / ``\\UNNNNNNNN`` is ONE CODE POINT (written as UTF-8 on the
  wire): C1 controls (``\\u009b`` is the bytes C2 9B), format characters such
  as the bidi controls U+202A-U+202E, U+2066-U+2069, U+200E/F and U+061C,
  line and paragraph separators, spaces other than U+0020, private-use and
  unassigned code points.

So a rendering never contains a raw ESC, BEL, NUL, C1 or bidi control: a
hostile server cannot retitle the terminal, clear the screen or reorder what
the reader sees (security research S41; RUSTSEC-2025-0055 and radare2 PR
#22385 are the same class of bug in other tools). Keeping bytes and code
points apart (``\\x9b`` versus ``\\u009b``) is what makes the syntax exact for
data that is not valid UTF-8.

Placeholders stand in for data that is not shown: ``<redacted N bytes>``,
``<dropped N bytes>``, ``<secret ...>`` (a revealed secret) and
``<no end of line>``. A ``<`` in the data that would read as the start of one
of them is written ``\\x3c``; no other ``<`` is touched, so ``MAIL
FROM:<a@example.org>`` stays readable.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "NO_END_OF_LINE",
    "dropped",
    "escape_bytes",
    "escape_line_data",
    "escape_secret",
    "escape_text",
    "redacted",
    "unescape_bytes",
    "unescape_text",
]

#: Ends a line whose bytes have no line terminator (yet).
NO_END_OF_LINE = "<no end of line>"

# Everything outside printable ASCII, and the backslash, is looked at; the
# callback decides. Text that is plain ASCII costs one regex scan.
_LOOK = re.compile(r"[^\x20-\x7e]|\\")
_SHORT = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}
_UNSHORT = {"\\": "\\", "r": "\r", "n": "\n", "t": "\t"}
_PLACEHOLDER_START = re.compile(r"<(?=redacted |dropped |secret |no end of line>)")
_ESCAPE = re.compile(
    r"\\(?:x(?P<x>[0-9a-fA-F]{2})|u(?P<u>[0-9a-fA-F]{4})|U(?P<U>[0-9a-fA-F]{8})|(?P<c>[\\rnt]))"
    r"|(?P<bad>\\.?)",
    re.DOTALL,
)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        # A byte that was not valid UTF-8, carried by the surrogateescape handler.
        return f"\\x{code - 0xDC00:02x}"
    category = unicodedata.category(char)
    # C*: controls, format (bidi, zero width), surrogates, private use,
    # unassigned. Z*: spaces other than U+0020 and the line/paragraph
    # separators, which look like (or break) the line structure.
    if category[0] not in "CZ":
        return char
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_text(text: str) -> str:
    """Escape ``text`` (a note, or decoded data) for display."""
    return _LOOK.sub(_escape_char, text)


def escape_bytes(data: bytes) -> str:
    """Escape ``data``: valid UTF-8 is shown as text, other bytes as ``\\xNN``."""
    return escape_text(data.decode("utf-8", "surrogateescape"))


def escape_line_data(data: bytes) -> str:
    """Escape ``data`` shown on a C:/S: line, so no placeholder can be forged."""
    shown = escape_bytes(data)
    return _PLACEHOLDER_START.sub(r"\\x3c", shown) if "<" in shown else shown


def escape_secret(data: bytes) -> str:
    """Escape the inside of ``<secret ...>``: no raw ``<`` or ``>`` in it."""
    return escape_bytes(data).replace("<", "\\x3c").replace(">", "\\x3e")


def _plural(size: int) -> str:
    return "byte" if size == 1 else "bytes"


def redacted(size: int) -> str:
    """The placeholder for ``size`` secret bytes not shown."""
    return f"<redacted {size} {_plural(size)}>"


def dropped(size: int) -> str:
    """The placeholder for ``size`` bytes the transcript did not keep."""
    return f"<dropped {size} {_plural(size)}>"


def _unescape_match(match: re.Match[str]) -> str:
    if match["bad"] is not None:
        raise ValueError(f"unknown escape {match['bad']!r}")
    if match["c"] is not None:
        return _UNSHORT[match["c"]]
    if match["x"] is not None:
        byte = int(match["x"], 16)
        # A byte >= 0x80 on its own is carried as its surrogateescape stand-in,
        # so that encoding with that handler gives the byte back.
        return chr(byte) if byte < 0x80 else chr(0xDC00 + byte)
    code = int(match["u"] if match["u"] is not None else match["U"], 16)
    if code > 0x10FFFF:
        raise ValueError(f"escape {match.group()!r} is beyond U+10FFFF")
    return chr(code)


def unescape_text(text: str) -> str:
    """Undo :func:`escape_text`.

    Raises:
        ValueError: a backslash that starts no known escape.
    """
    return _ESCAPE.sub(_unescape_match, text)


def unescape_bytes(text: str) -> bytes:
    """Undo :func:`escape_bytes`.

    Raises:
        ValueError: an unknown escape, or a ``\\u`` escape of a lone surrogate.
    """
    try:
        return unescape_text(text).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise ValueError("a \\u escape names a lone surrogate, which has no UTF-8 form") from exc
