"""Tokens of an IMAP response and a decoder named after the ABNF rules.

Speed comes from letting one compiled regular expression do all the scanning
(performance.md W3): :data:`_TOKEN` ``split``\\s a response's text into
tokens in C, and the gaps it leaves between them must be spaces, which is
checked in C too (one ``join`` and one ``strip``). The Python code then only
walks a list of ``bytes``, looking at the first octet of each.

A token is one of:

- ``(`` or ``)``;
- a quoted string ``"..."`` with ``\\"`` and ``\\\\`` escapes (RFC 9051
  §4.3), which may not hold CR or LF;
- a literal announcement ``{n}`` or ``~{n}`` with the CRLF after it, which
  the frame kept in the text (see :mod:`mailwire.imap._frames`); the n-th of
  them stands for the frame's n-th literal;
- anything else is an atom-like run: atoms, numbers, NIL, flags
  (``\\Seen``), and FETCH item names with their section (``BODY[1.2]<0>``,
  ``BODY[HEADER.FIELDS (TO FROM)]``: a bracketed run may hold spaces and
  parentheses).

:class:`Decoder` reads tokens with methods named after the rules of RFC 9051
§9 (``nstring``, ``astring``, ``number``, ``flag_list``...), in the manner of
go-imap's decoder. Nested lists are read without recursion and stop at
``Limits.max_nesting_depth`` (S28). Parsers that do recurse (BODYSTRUCTURE)
pass the depth along and check it against :attr:`Decoder.max_depth`, which
is also capped at :data:`HARD_DEPTH` so that no configuration can reach
Python's recursion limit.
"""

from __future__ import annotations

import re

from mailwire.errors import NestingTooDeep, RemoteProtocolError
from mailwire.imap._frames import StreamedLiteral
from mailwire.imap.events import Defect
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["HARD_DEPTH", "LF", "Decoder", "Value", "count_parens", "shorten", "unquote"]

#: Deepest nesting any recursive parser here will follow, whatever the limits
#: say: each level costs a few Python frames and the default recursion limit
#: is 1000.
HARD_DEPTH = 200

_TOKEN = re.compile(
    rb"(\(|\)"
    rb'|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"'
    rb"|~?\{[0-9]+\}\r\n"
    rb'|(?:[^\x00-\x20\x7f()"{\[]|\[[^\]\[\r\n]*\]|\[)+)'
)
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_DIGITS = re.compile(rb"[0-9]+\Z")

#: What the generic list reader gives back: atoms ``str``, numbers ``int``,
#: strings ``bytes``, NIL ``None``, lists ``tuple``.
Value = object

OPEN = 40  # "("
CLOSE = 41  # ")"
DQUOTE = 34
LBRACE = 123  # "{"
TILDE = 126  # "~"
LF = 10  # the last octet of a literal token, and of no other token


def shorten(data: bytes, limit: int = 80) -> str:
    """``repr`` of the start of ``data``, for error messages."""
    return repr(data[:limit]) + ("..." if len(data) > limit else "")


def count_parens(text: bytes) -> int:
    """Opening minus closing parentheses among the tokens of ``text``."""
    toks = _TOKEN.split(text)[1::2]
    return toks.count(b"(") - toks.count(b")")


def unquote(token: bytes) -> bytes:
    """The content of a quoted-string token, escapes removed."""
    inner = token[1:-1]
    if b"\\" in inner:
        return _ESCAPE.sub(rb"\1", inner)
    return inner


class Decoder:
    """Reads the tokens of one response text.

    Args:
        text: the text to read (a frame's text, or part of it).
        literals: the frame's literals, in order.
        limits: gives the nesting cap.

    Raises:
        RemoteProtocolError: the text does not split into tokens.
    """

    __slots__ = ("defects", "lits", "max_depth", "nlit", "pos", "text", "toks")

    def __init__(
        self,
        text: bytes,
        literals: tuple[bytes | StreamedLiteral, ...] = (),
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        parts = _TOKEN.split(text)
        gaps = parts[0::2]
        if b"".join(gaps).strip(b" "):
            bad = next(g for g in gaps if g.strip(b" "))
            raise RemoteProtocolError(f"unexpected {shorten(bad, 20)} in {shorten(text)}")
        toks = parts[1::2]
        toks.append(b"")  # sentinel: reading past it is an IndexError
        self.toks: list[bytes] = toks
        self.pos = 0
        self.text = text
        self.lits = literals
        self.nlit = 0
        self.max_depth = min(limits.max_nesting_depth, HARD_DEPTH)
        self.defects: list[Defect] = []

    # ---------------------------------------------------------- plumbing

    def error(self, what: str) -> RemoteProtocolError:
        """A RemoteProtocolError naming the token where reading stopped."""
        pos = min(self.pos, len(self.toks) - 1)
        near = b" ".join(self.toks[max(0, pos - 3) : pos + 3])
        return RemoteProtocolError(f"{what} near {shorten(near, 60)} in {shorten(self.text)}")

    def defect(self, kind: str, detail: str = "") -> None:
        """Record an accepted deviation."""
        self.defects.append(Defect(kind, detail))

    def at_end(self) -> bool:
        """Whether every token has been read."""
        return self.pos >= len(self.toks) - 1

    def end(self) -> None:
        """Require that every token has been read."""
        if not self.at_end():
            raise self.error("unexpected trailing data")

    def peek(self) -> bytes:
        """The next token without taking it (``b""`` at the end)."""
        return self.toks[self.pos]

    def next(self) -> bytes:
        """Take the next token, whatever it is."""
        tok = self.toks[self.pos]
        if not tok:
            raise self.error("response ended early")
        self.pos += 1
        return tok

    def literal(self, tok: bytes) -> bytes | StreamedLiteral:
        """The data of the literal whose announcement is ``tok``."""
        index = self.nlit
        self.nlit = index + 1
        return self.lits[index]

    def literal_bytes(self, tok: bytes) -> bytes:
        """Like :meth:`literal`, but a streamed literal reads as ``b""``."""
        data = self.literal(tok)
        return data if isinstance(data, bytes) else b""

    # ---------------------------------------------------------- ABNF rules

    def open(self) -> None:
        """``"("``."""
        if self.toks[self.pos] != b"(":
            raise self.error("expected '('")
        self.pos += 1

    def close(self) -> None:
        """``")"``."""
        if self.toks[self.pos] != b")":
            raise self.error("expected ')'")
        self.pos += 1

    def skip_close(self) -> bool:
        """Take a ``")"`` if it is next; whether it was."""
        if self.toks[self.pos] == b")":
            self.pos += 1
            return True
        return False

    def nstring(self) -> bytes | None:
        """``nstring = string / nil``."""
        tok = self.toks[self.pos]
        self.pos += 1
        first = tok[0]
        if first == DQUOTE:
            inner = tok[1:-1]
            return _ESCAPE.sub(rb"\1", inner) if b"\\" in inner else inner
        if tok[-1] == LF:
            return self.literal_bytes(tok)
        if tok == b"NIL" or tok.upper() == b"NIL":
            return None
        self.pos -= 1
        raise self.error("expected a string or NIL")

    def string(self) -> bytes:
        """``string = quoted / literal``."""
        value = self.nstring()
        if value is None:
            self.pos -= 1
            raise self.error("expected a string, got NIL")
        return value

    def astring(self) -> bytes:
        """``astring = 1*ASTRING-CHAR / string``."""
        tok = self.toks[self.pos]
        first = tok[0]
        if first == DQUOTE or tok[-1] == LF:
            return self.string()
        if first in (OPEN, CLOSE):
            raise self.error("expected an astring")
        self.pos += 1
        return tok

    def nastring(self) -> bytes | None:
        """An astring, or NIL (``None``); for places servers put either."""
        tok = self.toks[self.pos]
        if tok.upper() == b"NIL":
            self.pos += 1
            return None
        return self.astring()

    def atom(self) -> bytes:
        """``atom``: any atom-like token."""
        tok = self.toks[self.pos]
        first = tok[0]
        if first in (OPEN, CLOSE, DQUOTE) or tok[-1] == LF:
            raise self.error("expected an atom")
        self.pos += 1
        return tok

    def number(self) -> int:
        """``number`` / ``number64``: digits only."""
        tok = self.toks[self.pos]
        if not tok.isdigit() or not tok.isascii():
            raise self.error("expected a number")
        self.pos += 1
        return int(tok)

    def signed_number(self, what: str) -> int:
        """A number, accepting a ``-`` sign as a recorded defect."""
        tok = self.toks[self.pos]
        if tok[:1] == b"-" and _DIGITS.match(tok, 1):
            self.pos += 1
            self.defect("negative-number", f"{what} {tok.decode('ascii')}")
            return int(tok)
        return self.number()

    def flag_list(self) -> tuple[str, ...]:
        """``flag-list = "(" [flag *(SP flag)] ")"``; flags as sent."""
        toks = self.toks
        pos = self.pos
        if toks[pos] != b"(":
            raise self.error("expected a flag list")
        pos += 1
        flags: list[str] = []
        while True:
            tok = toks[pos]
            pos += 1
            if tok == b")":
                break
            first = tok[0]
            if first in (OPEN, DQUOTE) or tok[-1] == LF:
                self.pos = pos - 1
                raise self.error("expected a flag")
            flags.append(tok.decode("utf-8", "replace"))
        self.pos = pos
        return tuple(flags)

    def text_list(self) -> tuple[str, ...]:
        """``"(" astring *(SP astring) ")"`` or NIL (empty), as text."""
        if self.toks[self.pos].upper() == b"NIL":
            self.pos += 1
            return ()
        self.open()
        out: list[str] = []
        while not self.skip_close():
            out.append(self.astring().decode("utf-8", "replace"))
        return tuple(out)

    def value(self) -> Value:
        """Any value, lists included (tagged-ext-val, body-extension...).

        Iterative: the depth is checked against the nesting cap instead of
        relying on the interpreter's stack.
        """
        toks = self.toks
        stack: list[list[object]] = []
        while True:
            tok = toks[self.pos]
            self.pos += 1
            first = tok[0]
            item: object
            if first == OPEN:
                if len(stack) >= self.max_depth:
                    raise NestingTooDeep(
                        f"lists nested deeper than {self.max_depth}", limit=self.max_depth
                    )
                stack.append([])
                continue
            if first == CLOSE:
                if not stack:
                    self.pos -= 1
                    raise self.error("unbalanced ')'")
                item = tuple(stack.pop())
            elif first == DQUOTE:
                item = unquote(tok)
            elif tok[-1] == LF:
                item = self.literal_bytes(tok)
            elif tok.isdigit() and tok.isascii():
                item = int(tok)
            elif tok.upper() == b"NIL":
                item = None
            else:
                item = tok.decode("utf-8", "replace")
            if not stack:
                return item
            stack[-1].append(item)

    def rest(self) -> tuple[Value, ...]:
        """Every remaining value."""
        out = []
        while not self.at_end():
            out.append(self.value())
        return tuple(out)
