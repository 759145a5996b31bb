"""What every IMAP command shares: the base class and argument checks.

See :mod:`mailwire.imap.commands` for the commands themselves.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from mailwire.imap._seqset import SequenceSet
from mailwire.imap._writer import (
    Arg,
    Encoded,
    EncodeOptions,
    Group,
    Raw,
    ascii_class,
    encode,
)
from mailwire.imap.search import sequence_arg

__all__ = ["Command"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ATOM = ascii_class('(){%*"\\]') + "+"
_ATOM_RE = re.compile(_ATOM + r"\Z")
_FLAG_RE = re.compile(r"\\?" + _ATOM + r"\Z")
# (\x7f-\xff, not \uffff: under IGNORECASE a range holding U+017F or U+212A
# would exclude "s" and "k"; _fetch_item checks the item is ASCII instead.)
_FIELD_NAME = r'[^\x00-\x20\x7f-\xff(){%*"\\\[\]:]+'
_HEADER_LIST = _FIELD_NAME + r"(?: " + _FIELD_NAME + r")*"
_SECTION = (
    r"(?:[1-9][0-9]*(?:\.[1-9][0-9]*)*(?:\.(?:HEADER|TEXT|MIME|HEADER\.FIELDS(?:\.NOT)? \("
    + _HEADER_LIST
    + r"\)))?|HEADER|TEXT|HEADER\.FIELDS(?:\.NOT)? \("
    + _HEADER_LIST
    + r"\))?"
)
# RFC 5257 §5 fetch-att: entries (entry-match, wildcards allowed) and attribs,
# each one item or a parenthesised list; kept to the atom forms.
_ANN_MATCH = r'/[^\x00-\x20\x7f-\xff(){"\\\]]*'
_ANN_ATTR = r"[a-z0-9\-]+(?:\.[a-z0-9\-]+)*"
_ANNOTATION_ARGS = (
    r"(?:" + _ANN_MATCH + r"|\(" + _ANN_MATCH + r"(?: " + _ANN_MATCH + r")*\)) "
    r"(?:" + _ANN_ATTR + r"|\(" + _ANN_ATTR + r"(?: " + _ANN_ATTR + r")*\))"
)
_FETCH_ITEM = re.compile(
    r"(?:ENVELOPE|FLAGS|INTERNALDATE|RFC822(?:\.SIZE|\.HEADER|\.TEXT)?|BODY|BODYSTRUCTURE|UID"
    r"|MODSEQ|EMAILID|THREADID|SAVEDATE|PREVIEW(?: \(LAZY\))?|X-GM-MSGID|X-GM-THRID"
    r"|X-GM-LABELS|ANNOTATION \(" + _ANNOTATION_ARGS + r"\)"
    r"|BODY(?:\.PEEK)?\[" + _SECTION + r"\](?:<[0-9]+\.[1-9][0-9]*>)?"
    r"|BINARY(?:\.PEEK)?\[(?:[1-9][0-9]*(?:\.[1-9][0-9]*)*)?\](?:<[0-9]+\.[1-9][0-9]*>)?"
    r"|BINARY\.SIZE\[(?:[1-9][0-9]*(?:\.[1-9][0-9]*)*)?\])\Z",
    re.IGNORECASE,
)
_MACROS = frozenset({"ALL", "FAST", "FULL"})
_SORT_KEYS = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)


def _atom(value: str, what: str) -> Raw:
    if not isinstance(value, str) or not _ATOM_RE.match(value):
        raise ValueError(f"{what} must be an atom, got {value!r}")
    return Raw(value.encode("ascii"))


def _flag(value: str) -> Raw:
    if not isinstance(value, str) or not _FLAG_RE.match(value):
        raise ValueError(f"not a valid flag: {value!r}")
    return Raw(value.encode("ascii"))


def _flags(values: Iterable[str]) -> Group:
    return Group(tuple(_flag(v) for v in values))


def _number(value: int, what: str) -> Raw:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**63 - 1:
        raise ValueError(f"{what} must be a number64, got {value!r}")
    return Raw(str(value).encode("ascii"))


def _date_time(value: datetime) -> Raw:
    """RFC 9051 date-time, quoted: ``"17-Jul-1996 02:44:25 -0700"``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    zone = f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    text = (
        f'"{value.day:2d}-{_MONTHS[value.month - 1]}-{value.year:04d} '
        f'{value.hour:02d}:{value.minute:02d}:{value.second:02d} {zone}"'
    )
    return Raw(text.encode("ascii"))


def _tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str | bytes):
        return (value,)
    return tuple(value)


def _messages(value: Any) -> SequenceSet | str:
    raw = sequence_arg(value).data.decode("ascii")
    return "$" if raw == "$" else SequenceSet.parse(raw)


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    """Base class: a command is its verb and arguments."""

    verb: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self.encode("A1", EncodeOptions(binary=True))

    def arguments(self) -> list[Arg]:
        """The arguments after the tag, verb first."""
        return [Raw(self.verb.encode("ascii"))]

    def encode(self, tag: str, options: EncodeOptions | None = None) -> Encoded:
        """Serialise with ``tag`` for a server that allows ``options``.

        Raises:
            ValueError: an argument cannot be sent; nothing is produced.
        """
        return encode(tag, self.arguments(), options)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)
