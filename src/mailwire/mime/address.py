"""Addresses: RFC 5322 §3.4 mailboxes and groups, read and written.

The reader follows the grammar, obsolete forms included (§4.4: routes
``<@a,@b:x@y>``, CFWS around the dots of a local part, periods in a phrase,
empty list elements), and RFC 6532 UTF-8. Encoded-words (RFC 2047) are
decoded only where §5 allows them: in the display name. An addr-spec is
never decoded, and a decoded name is never read again as an address
(security.md S45).

Ambiguity (S46): an entry of the list that does not follow the grammar
(``a@b@c``, ``<a@b>c@d``, ``a@b(<c@d>`` with its unterminated comment,
``a@b]<c@d>``) is dropped from the result with a defect, never guessed at,
so two readers cannot disagree on which mailbox it names; strict mode raises
instead. One old habit is accepted with a defect because its reading is not
in doubt: an unquoted address used as a display name, ``a@b <c@d>``, is the
mailbox ``c@d`` (what is inside the angle brackets is the address).

Domains: :func:`domain_to_ascii` (defined in ``_idna``, re-exported here)
makes A-labels for the wire and refuses invisible or control characters, so
a domain with a zero-width character is an error, not a look-alike.
"""

from __future__ import annotations

import dataclasses
import re

from mailwire.mime import _rfc2047
from mailwire.mime._defects import Defect, MIMEDefectError, first_of_each
from mailwire.mime._idna import domain_to_ascii, domain_to_unicode

__all__ = [
    "Address",
    "Group",
    "domain_to_ascii",
    "domain_to_unicode",
    "format_address_list",
    "mailboxes",
    "parse_address",
    "parse_address_list",
]

_RFC = "RFC 5322 §3.4"
# atext (§3.2.3) plus UTF-8 (RFC 6532 §3.2), written as "not an ASCII
# special, space or control": the same set, and a negated ASCII class
# compiles in microseconds where a range up to U+10FFFF takes milliseconds.
_ATEXT = r'[^\x00-\x20\x7f()<>\[\]:;@\\,."]'
_ATOM = re.compile(_ATEXT + "+")
_SPACE = re.compile(r"[ \t\r\n]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)("?)', re.DOTALL)
_LITERAL = re.compile(r"\[((?:[^\[\]\\]|\\.)*)\]", re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=\Z")
_EW_TOKEN = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=(?!" + _ATEXT + ")")
_DOT_ATOM = re.compile(f"{_ATEXT}+(?:\\.{_ATEXT}+)*\\Z")
_ATEXT_ONLY = re.compile(r'[^\x00-\x1f\x7f()<>\[\]:;@\\,."]*\Z')

# A fast path for the common shapes ("Name" <a@b>, Name <a@b>, a@b): one
# regex over the whole list; anything else (comments, groups, escapes,
# routes, non-ASCII addresses, empty elements) goes to the full parser.
_FAST_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_FAST_SPEC = rf"{_FAST_ATEXT}(?:\.{_FAST_ATEXT})*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
_FAST_ENTRY = (
    rf'(?:"([^"\\\r\n]*)"|([^"\\,;:<>@()\[\]\r\n]*?))[ \t]*<({_FAST_SPEC})>'
    rf"|({_FAST_SPEC})"
)
_FAST_ITEM = re.compile(rf"[ \t]*(?:{_FAST_ENTRY})[ \t]*(?:,|\Z)")
_FAST_SPECIALS = re.compile(r"[()\\:;\[]")

# Token kinds.
_WORD, _QS, _DLIT, _SPECIAL, _END = "word", "qs", "dlit", "special", "end"


@dataclasses.dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: a display name and an addr-spec (RFC 5322 §3.4).

    Attributes:
        name: the display name, decoded (``""`` when there is none).
        addr_spec: ``local-part@domain`` as written (a quoted local part
            keeps its quotes; the domain as given, U-labels allowed).
    """

    name: str
    addr_spec: str

    @property
    def local_part(self) -> str:
        """The part before the last ``@``."""
        return self.addr_spec.rpartition("@")[0]

    @property
    def domain(self) -> str:
        """The part after the last ``@``."""
        return self.addr_spec.rpartition("@")[2]

    # IMAP ENVELOPE naming (RFC 3501 §7.4.2), for code shared with imap.
    mailbox = local_part
    host = domain

    def __str__(self) -> str:
        """The mailbox as header text: ``name <addr>`` or ``addr``, quoted as needed."""
        if not self.name:
            return self.addr_spec
        return f"{quote_phrase(self.name)} <{self.addr_spec}>"

    @classmethod
    def parse(cls, text: str) -> Address:
        """Read exactly one mailbox, strictly.

        Raises:
            ValueError: ``text`` is not exactly one valid mailbox.
        """
        return parse_address(text)


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    """A named group of mailboxes (RFC 5322 §3.4 ``group``)."""

    name: str
    members: tuple[Address, ...] = ()

    def __str__(self) -> str:
        inner = ", ".join(str(member) for member in self.members)
        return f"{quote_phrase(self.name)}:{' ' + inner if inner else ''};"


def quote_phrase(name: str) -> str:
    """``name`` as a phrase: itself when it is atoms, else a quoted-string."""
    # "=?" is quoted so that the text is not taken for an encoded-word (S45).
    plain = _ATEXT_ONLY.match(name) and "  " not in name and name.strip() == name
    if name and plain and "=?" not in name:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailboxes(items: list[Address | Group]) -> list[Address]:
    """Flatten groups: every mailbox of the list, in order."""
    out: list[Address] = []
    for item in items:
        if isinstance(item, Group):
            out.extend(item.members)
        else:
            out.append(item)
    return out


def format_address_list(items: list[Address | Group]) -> str:
    """Display text for an address list (decoded names, quoted when needed)."""
    return ", ".join(str(item) for item in items)


# ------------------------------------------------------------------ tokens --


class _SyntaxError(Exception):
    pass


def _comment_end(text: str, pos: int) -> int:
    """Offset just past the comment opening at ``pos`` (nested, §3.2.2)."""
    depth = 0
    end = len(text)
    while pos < end:
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise _SyntaxError("end of field inside a comment")


def _tokens(text: str) -> list[tuple[str, str, bool]]:
    """``(kind, value, space_before)`` triples; comments dropped."""
    out: list[tuple[str, str, bool]] = []
    pos, end = 0, len(text)
    space = False
    while pos < end:
        char = text[pos]
        if char in " \t\r\n":
            match = _SPACE.match(text, pos)
            assert match is not None
            pos = match.end()
            space = True
            continue
        if char == "(":
            pos = _comment_end(text, pos)
            space = True
            continue
        if char == '"':
            match = _QUOTED.match(text, pos)
            assert match is not None
            if not match.group(2):
                raise _SyntaxError("unterminated quoted-string")
            out.append((_QS, _QUOTED_PAIR.sub(r"\1", match.group(1)), space))
            pos = match.end()
        elif char == "[":
            match = _LITERAL.match(text, pos)
            if match is None:
                raise _SyntaxError("unterminated domain literal")
            out.append((_DLIT, match.group(0), space))
            pos = match.end()
        else:
            # An encoded-word may hold "." and other specials (§5 forbids it
            # in a phrase, writers do it anyway): one word when it stands alone.
            match = _EW_TOKEN.match(text, pos) if char == "=" else None
            if match is None:
                match = _ATOM.match(text, pos)
            if match is not None:
                out.append((_WORD, match.group(0), space))
                pos = match.end()
            else:
                out.append((_SPECIAL, char, space))
                pos += 1
        space = False
    out.append((_END, "", space))
    return out


# ------------------------------------------------------------------ parser --


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, bool]], defects: list[Defect]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.defects = defects

    def peek(self) -> tuple[str, str, bool]:
        return self.tokens[self.pos]

    def is_special(self, char: str) -> bool:
        kind, value, _ = self.tokens[self.pos]
        return kind == _SPECIAL and value == char

    def expect(self, char: str) -> None:
        if not self.is_special(char):
            raise _SyntaxError(f"expected {char!r}")
        self.pos += 1

    def phrase(self) -> list[tuple[str, str, bool]]:
        words: list[tuple[str, str, bool]] = []
        while True:
            kind, value, space = self.tokens[self.pos]
            if kind in (_WORD, _QS) or (kind == _SPECIAL and value == "." and words):
                words.append((kind, value, space))
                self.pos += 1
            else:
                return words

    def domain(self) -> str:
        kind, value, _ = self.peek()
        if kind == _DLIT:
            self.pos += 1
            return value
        labels = []
        while True:
            kind, value, _ = self.peek()
            if kind != _WORD:
                raise _SyntaxError("bad domain")
            labels.append(value)
            self.pos += 1
            if not self.is_special("."):
                domain = ".".join(labels)
                if not domain.isascii():
                    # S46: an invisible or control character makes a second
                    # spelling of a domain; such a domain is not a domain.
                    try:
                        domain_to_ascii(domain)
                    except ValueError as exc:
                        raise _SyntaxError(str(exc)) from None
                return domain
            self.pos += 1

    def local_part(self, words: list[tuple[str, str, bool]]) -> str:
        # local-part = word *("." word), CFWS allowed around the dots (obs).
        pieces: list[str] = []
        expect_word = True
        for kind, value, _ in words:
            if expect_word and kind in (_WORD, _QS):
                if kind == _QS:
                    pieces.append(_quote_local(value))
                else:
                    if "=?" in value and "?=" in value:
                        self.defects.append(
                            Defect(
                                "encoded-word-in-addr-spec",
                                f"{value!r} kept as written, not decoded",
                                "RFC 2047 §5",
                            )
                        )
                    pieces.append(value)
                expect_word = False
            elif not expect_word and kind == _SPECIAL and value == ".":
                pieces.append(".")
                expect_word = True
            else:
                raise _SyntaxError("bad local part")
        if expect_word:
            raise _SyntaxError("bad local part")
        return "".join(pieces)

    def addr_spec(self, words: list[tuple[str, str, bool]]) -> str:
        local = self.local_part(words)
        if not self.is_special("@") and (
            self.is_special(">") or self.is_special(",") or self.peek()[0] == _END
        ):
            # RFC 822 era local names ("nsb", "Name <nsb>"): no domain.
            self.defects.append(Defect("no-domain", f"{local!r} has no domain", _RFC))
            return local
        self.expect("@")
        return f"{local}@{self.domain()}"

    def angle_addr(self) -> str:
        self.expect("<")
        if self.is_special("@"):  # §4.4 obs-route, ignored
            while not self.is_special(":"):
                if self.peek()[0] == _END:
                    raise _SyntaxError("unterminated route")
                self.pos += 1
            self.pos += 1
            self.defects.append(Defect("obsolete-route", "source route ignored", "RFC 5322 §4.4"))
        addr = self.addr_spec(self.phrase())
        self.expect(">")
        return addr

    def mailbox(self) -> Address:
        words = self.phrase()
        if self.is_special("<"):
            return Address(self.display_name(words), self.angle_addr())
        addr = self.addr_spec(words)
        if self.is_special("<"):
            # "a@b <c@d>": an unquoted address as a display name.
            self.defects.append(
                Defect("unquoted-address-as-name", f"{addr!r} taken as a display name", _RFC)
            )
            return Address(addr, self.angle_addr())
        return Address("", addr)

    def display_name(self, words: list[tuple[str, str, bool]]) -> str:
        pieces: list[str] = []
        previous_encoded = False
        for kind, word, space in words:
            encoded = kind == _WORD and bool(_ENCODED_WORD.match(word))
            value = word
            if encoded:
                value = _rfc2047.decode_words(word, self.defects)
            elif kind == _QS and "=?" in word:
                value = _rfc2047.decode_words(word, self.defects)
                if value != word:
                    self.defects.append(
                        Defect("encoded-word-in-quoted-string", "decoded anyway", "RFC 2047 §5")
                    )
            # §6.2: no space between two adjacent encoded-words.
            if pieces and space and not (encoded and previous_encoded):
                pieces.append(" ")
            pieces.append(value)
            previous_encoded = encoded
        return "".join(pieces).strip(" \t")

    def address(self) -> Address | Group:
        start = self.pos
        words = self.phrase()
        if self.is_special(":") and words:
            self.pos += 1
            name = self.display_name(words)
            members: list[Address] = []
            while not self.is_special(";"):
                if self.peek()[0] == _END:
                    self.defects.append(Defect("unterminated-group", name, _RFC))
                    return Group(name, tuple(members))
                if self.is_special(","):
                    self.pos += 1
                    continue
                members.append(self.mailbox())
            self.pos += 1
            return Group(name, tuple(members))
        self.pos = start
        return self.mailbox()


def _quote_local(value: str) -> str:
    if _DOT_ATOM.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_address_list(
    text: str, *, strict: bool = False, defects: list[Defect] | None = None
) -> list[Address | Group]:
    """Read an address list (the value of From, To, Cc, Reply-To ...).

    Args:
        text: the unfolded field value.
        strict: raise at the first syntax error instead of dropping the entry.
        defects: where defects are recorded (a new list when ``None``).

    Returns:
        The mailboxes and groups, in order; malformed entries left out.

    Raises:
        MIMEDefectError: in strict mode, the first entry that breaks the
            grammar (S46), or an encoded-word inside an addr-spec (S45).
    """
    fast = _fast_list(text)
    if fast is not None:
        return fast
    found: list[Defect] = []
    items = _parse_list(text, strict, found)
    if defects is not None:
        defects.extend(first_of_each(found))
    return items


def _parse_list(text: str, strict: bool, found: list[Defect]) -> list[Address | Group]:
    try:
        tokens = _tokens(text)
    except _SyntaxError as exc:
        # A broken comment or quote makes the whole field unreadable: the
        # extent of every entry after it is in doubt.
        defect = Defect("invalid-address", f"{exc} in {text[:60]!r}", _RFC)
        if strict:
            raise MIMEDefectError(defect) from None
        found.append(defect)
        return []
    parser = _Parser(tokens, found)
    items: list[Address | Group] = []
    while parser.peek()[0] != _END:
        if parser.is_special(","):  # §4.4 obs-addr-list: empty elements
            parser.pos += 1
            continue
        start = parser.pos
        before = len(found)
        try:
            item = parser.address()
            if not (parser.is_special(",") or parser.peek()[0] == _END):
                raise _SyntaxError("text after an address")
        except _SyntaxError as exc:
            entry = _entry_text(tokens, start)
            defect = Defect("invalid-address", f"{exc}: dropped {entry!r}", _RFC)
            if strict:
                raise MIMEDefectError(defect) from None
            del found[before:]
            found.append(defect)
            parser.pos = _next_comma(tokens, start)
            continue
        if strict:
            for defect in found[before:]:
                if defect.code in (
                    "encoded-word-in-addr-spec",
                    "unquoted-address-as-name",
                    "no-domain",
                ):
                    raise MIMEDefectError(defect)
        items.append(item)
    return items


def _fast_name(words: str) -> str | None:
    pieces: list[str] = []
    previous_encoded = False
    for word in _SPACE.split(words.strip(" \t\r\n")):
        if not word:
            continue
        encoded = "=?" in word
        if encoded:
            if not _ENCODED_WORD.match(word):
                return None
            word = _rfc2047.decode_words(word)  # noqa: PLW2901
        if pieces and not (encoded and previous_encoded):
            pieces.append(" ")
        pieces.append(word)
        previous_encoded = encoded
    return "".join(pieces)


def _fast_list(text: str) -> list[Address | Group] | None:
    """The common shapes without tokenizing; ``None`` sends to the full parser."""
    if _FAST_SPECIALS.search(text) or not text.strip():
        return None
    items: list[Address | Group] = []
    pos, end = 0, len(text)
    while pos < end:
        match = _FAST_ITEM.match(text, pos)
        if match is None or match.end() == pos:
            return None
        quoted, bare_name, angle, spec = match.groups()
        if "=?" in (spec or angle):
            return None  # the full parser records the RFC 2047 §5 defect
        if spec is not None:
            items.append(Address("", spec))
        else:
            if quoted is not None:
                if "=?" in quoted:
                    return None
                name = quoted
            else:
                fast = _fast_name(bare_name)
                if fast is None:
                    return None
                name = fast
            items.append(Address(name.strip(" \t"), angle))
        pos = match.end()
    if text.rstrip(" \t").endswith(","):
        return None  # a trailing empty element: let the full parser see it
    return items


def _next_comma(tokens: list[tuple[str, str, bool]], pos: int) -> int:
    depth = 0  # a group's ":" ... ";" holds commas of its own
    while tokens[pos][0] != _END:
        kind, value, _ = tokens[pos]
        if kind == _SPECIAL:
            if value == ":":
                depth += 1
            elif value == ";":
                depth = max(depth - 1, 0)
            elif value == "," and depth == 0:
                return pos
        pos += 1
    return pos


def _entry_text(tokens: list[tuple[str, str, bool]], pos: int) -> str:
    stop = _next_comma(tokens, pos)
    return "".join((" " if space else "") + value for _, value, space in tokens[pos:stop]).strip()


def parse_address(text: str) -> Address:
    """Read exactly one mailbox, strictly (builder input).

    Args:
        text: ``"Name <a@b>"``, ``"a@b"`` or similar.

    Returns:
        The mailbox.

    Raises:
        ValueError: not exactly one valid mailbox, or CR, LF or NUL in it.
    """
    if any(char in text for char in "\r\n\0"):
        raise ValueError("CR, LF and NUL are not allowed in an address")
    try:
        items = parse_address_list(text, strict=True)
    except MIMEDefectError as exc:
        raise ValueError(f"invalid address {text!r}: {exc}") from None
    if len(items) != 1 or not isinstance(items[0], Address):
        raise ValueError(f"expected exactly one mailbox, got {text!r}")
    address = items[0]
    domain_to_ascii(address.domain)  # validates the domain
    return address
