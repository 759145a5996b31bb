"""Raw header framing (the first tier): where a header block ends, its fields,
and the :class:`Headers` view with lazy, case-insensitive access.

RFC 5322 §2.2: a field is a name of printable ASCII other than ``:``, a colon
and a value whose continuation lines start with white space (§2.2.3 folding;
§4.5 obsolete syntax allows white space before the colon). The block ends at
the first empty line. A line that is neither a field nor a continuation also
ends it (the body starts there, with a defect), which is what readers of
broken messages have always done.

Nothing is decoded until asked: a field stays the bytes it was on the wire,
and :meth:`Headers.get` unfolds and decodes one value on demand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailwire.mime import _rfc2047
from mailwire.mime._defects import Defect, DuplicateHeaderError

__all__ = ["ADDRESS_FIELDS", "SINGLETON_FIELDS", "Headers", "header_block_end", "unfold"]

# One valid field, with its continuation lines, ending with LF or the end.
_BLOCK = re.compile(rb"(?:[!-9;-~]+[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*(?:\n|\Z))*")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)", re.MULTILINE)
_BLANK = re.compile(rb"\r?\n")
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_FOLD_STR = re.compile(r"\r?\n(?=[ \t])")

# RFC 5322 §3.6 (the "max 1" column) and RFC 2045 §3: a second copy of one of
# these is ambiguous (security.md S42).
SINGLETON_FIELDS = frozenset(
    {
        "date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id",
        "in-reply-to", "references", "subject", "mime-version", "content-type",
        "content-transfer-encoding", "content-disposition", "content-id",
    }
)  # fmt: skip
# RFC 5322 §3.6.2, §3.6.3, §3.6.6: fields whose value is an address list.
ADDRESS_FIELDS = frozenset(
    {
        "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from",
        "resent-sender", "resent-to", "resent-cc", "resent-bcc",
    }
)  # fmt: skip
# Structured fields whose text is not RFC 2047 decoded (§5: encoded-words may
# only replace text, ctext or a phrase word; these hold none of them as a
# whole, and addresses are decoded word by word by address.py).
_STRUCTURED = frozenset(
    {
        "date", "resent-date", "message-id", "resent-message-id", "in-reply-to",
        "references", "received", "return-path", "mime-version", "content-type",
        "content-transfer-encoding", "content-disposition", "content-id",
        "content-length", "dkim-signature", "authentication-results",
    }
)  # fmt: skip


def header_block_end(data: bytes, start: int, end: int) -> tuple[int, int, bool]:
    """Find where the header block starting at ``start`` ends.

    Args:
        data: the message buffer.
        start: offset of the first header line.
        end: offset just past the entity.

    Returns:
        ``(fields_end, body_start, clean)``: the offset just past the last
        field line, the offset of the first body byte (after the empty line),
        and whether the block ended with an empty line or at the end of data
        (``False`` when a line that is not a field ended it).
    """
    match = _BLOCK.match(data, start, end)
    assert match is not None  # the pattern matches the empty string
    fields_end = match.end()
    if fields_end >= end:
        return end, end, True
    blank = _BLANK.match(data, fields_end, end)
    if blank is not None:
        return fields_end, blank.end(), True
    return fields_end, fields_end, False


_FINDERS: dict[str, re.Pattern[bytes]] = {}


def find_first(block: bytes, name: str) -> bytes | None:
    """The first value of field ``name`` (lower case) in a header block, or None.

    One regex search; continuation lines start with white space, so a line
    start inside a value can never look like a field name.
    """
    finder = _FINDERS.get(name)
    if finder is None:
        pattern = (
            rb"^" + re.escape(name.encode("ascii")) + rb"[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)"
        )
        finder = _FINDERS[name] = re.compile(pattern, re.MULTILINE | re.IGNORECASE)
    match = finder.search(block)
    return None if match is None else match.group(1).rstrip(b"\r")


def unfold(raw: bytes) -> bytes:
    """Remove the line breaks of folding, keeping the white space (§2.2.3)."""
    if b"\n" not in raw:
        return raw.rstrip(b"\r")
    return _FOLD.sub(b"", raw).rstrip(b"\r\n")


def decode_text(raw: bytes, defects: list[Defect] | None) -> str:
    """Field bytes as text: ASCII, or UTF-8 as RFC 6532 allows."""
    if raw.isascii():
        return raw.decode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if defects is not None:
            defects.append(Defect("8bit-header", "header bytes are not UTF-8", "RFC 6532 §3.2"))
        return raw.decode("utf-8", "replace")


class Headers:
    """The fields of one entity, in order, looked up without regard to case.

    Values are kept as the bytes received. ``get`` returns a decoded ``str``;
    ``raw`` returns bytes; ``get_all`` returns every value of a field.
    """

    __slots__ = ("_defects", "_fields", "_index")

    def __init__(self, fields: list[tuple[str, bytes]], defects: list[Defect] | None = None):
        """Wrap already split fields.

        Args:
            fields: ``(name as received, raw value)`` pairs in order.
            defects: the owning entity's defect list, for decoding problems.
        """
        self._fields = fields
        self._defects = defects
        index: dict[str, list[int]] = {}
        for number, (name, _) in enumerate(fields):
            index.setdefault(name.lower(), []).append(number)
        self._index = index

    @classmethod
    def from_block(cls, block: bytes, defects: list[Defect] | None = None) -> Headers:
        """Split a header block (as found by :func:`header_block_end`).

        Args:
            block: the bytes of the field lines.
            defects: the owning entity's defect list.

        Returns:
            The fields, values with their folding kept.
        """
        fields = [
            (name.decode("ascii"), value.rstrip(b"\r")) for name, value in _FIELD.findall(block)
        ]
        return cls(fields, defects)

    def __len__(self) -> int:
        return len(self._fields)

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        """``(name, raw value)`` pairs in order, names as received."""
        return iter(self._fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __repr__(self) -> str:
        return f"<Headers {[name for name, _ in self._fields]!r}>"

    def names(self) -> list[str]:
        """Field names in order, as received (repeated names repeated)."""
        return [name for name, _ in self._fields]

    def repeated_singletons(self) -> list[str]:
        """Names (lower case) of once-only fields that occur more than once (S42)."""
        return [
            name
            for name, numbers in self._index.items()
            if len(numbers) > 1 and name in SINGLETON_FIELDS
        ]

    def first_raw(self, name: str) -> bytes | None:
        """The first value's bytes, whether or not the field repeats (internal use)."""
        numbers = self._index.get(name)
        return None if numbers is None else self._fields[numbers[0]][1]

    def count(self, name: str) -> int:
        """How many times the field occurs."""
        return len(self._index.get(name.lower(), ()))

    def _single(self, name: str) -> int | None:
        numbers = self._index.get(name.lower())
        if not numbers:
            return None
        if len(numbers) > 1 and name.lower() in SINGLETON_FIELDS:
            raise DuplicateHeaderError(
                Defect(
                    "duplicate-header",
                    f"{name} occurs {len(numbers)} times; use get_all() to choose",
                    "RFC 5322 §3.6",
                )
            )
        return numbers[0]

    def raw(self, name: str) -> bytes | None:
        """The first value's bytes as received (folding kept), or ``None``.

        Raises:
            DuplicateHeaderError: a field that may occur once occurs more
                often (S42); read them with :meth:`raw_all`.
        """
        number = self._single(name)
        return None if number is None else self._fields[number][1]

    def raw_all(self, name: str) -> list[bytes]:
        """Every value's bytes as received, in order."""
        return [self._fields[n][1] for n in self._index.get(name.lower(), ())]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value, unfolded and decoded, or ``default`` when absent.

        Unstructured fields (Subject, Comments, unknown fields) have their
        RFC 2047 encoded-words decoded; address fields are rendered from
        their parsed addresses, display names decoded and quoted as needed,
        so the text parses back to the same mailboxes (S45); other
        structured fields are only unfolded.

        Raises:
            DuplicateHeaderError: a field that may occur once occurs more
                often (S42); use :meth:`get_all`.
        """
        number = self._single(name)
        if number is None:
            return default
        return self.decode(name, self._fields[number][1])

    def get_all(self, name: str) -> list[str]:
        """Every value of the field, decoded as :meth:`get` does, in order."""
        return [self.decode(name, self._fields[n][1]) for n in self._index.get(name.lower(), ())]

    def decode(self, name: str, raw: bytes) -> str:
        """Decode one raw value of the field ``name`` (see :meth:`get`)."""
        # Leading white space is folding; trailing white space belongs to an
        # unstructured value (RFC 5322 §3.2.5), as ``email`` keeps it too.
        text = decode_text(unfold(raw), self._defects).lstrip(" \t")
        key = name.lower()
        if key in ADDRESS_FIELDS:
            from mailwire.mime.address import format_address_list, parse_address_list

            return format_address_list(parse_address_list(text, defects=self._defects))
        if key in _STRUCTURED or key.startswith("content-"):
            return text
        return _rfc2047.decode_words(text, self._defects)
