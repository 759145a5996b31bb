"""SEARCH criteria (RFC 9051 §6.4.4, RFC 3501 §6.4.4 and extensions).

Criteria are given either as the strings one would type (``"FROM",
"x@example.org", "SINCE", date(2024, 1, 1)``) or as typed keys built with
the functions of this module (``from_("x@example.org")``,
``or_(seen(), flagged())``); both can be mixed, and a list or tuple is a
parenthesised group (an AND). Every key of RFC 9051 §6.4.4 is here, plus
NEW/OLD/RECENT (RFC 3501), MODSEQ (RFC 7162), OLDER/YOUNGER (RFC 5032),
EMAILID/THREADID (RFC 8474), SAVEDBEFORE/SAVEDON/SAVEDSINCE (RFC 8514),
FUZZY (RFC 6203), FILTER (RFC 5466), ANNOTATION (RFC 5257) and Gmail's
X-GM-RAW/X-GM-MSGID/X-GM-THRID/X-GM-LABELS.

Compiling checks every argument: a string with CR, LF or NUL, a malformed
date, number, flag or sequence set, or an unknown key raises
:class:`ValueError` (security.md S16). Strings with non-ASCII characters
make the command carry ``CHARSET UTF-8`` and go as literals (RFC 9051
§6.4.4), unless UTF8=ACCEPT is enabled.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import date, datetime

from mailwire.imap._seqset import SequenceSet
from mailwire.imap._writer import Arg, AString, Group, Raw, ascii_class, check_string

__all__ = [
    "Criterion",
    "SearchKey",
    "all_",
    "annotation",
    "answered",
    "bcc",
    "before",
    "body",
    "cc",
    "compile_criteria",
    "deleted",
    "draft",
    "filter_",
    "flagged",
    "from_",
    "header",
    "keyword",
    "larger",
    "messages",
    "modseq",
    "new",
    "not_",
    "old",
    "older",
    "on",
    "or_",
    "recent",
    "seen",
    "sent_before",
    "sent_on",
    "sent_since",
    "since",
    "smaller",
    "subject",
    "text",
    "to",
    "uid",
    "unanswered",
    "undeleted",
    "undraft",
    "unflagged",
    "unkeyword",
    "unseen",
    "x_gm_raw",
    "younger",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE = re.compile(
    r"[0-9]{1,2}-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-[0-9]{4}\Z", re.I
)
_ATOM = re.compile(ascii_class('(){%*"\\]') + r"+\Z")

# Argument kinds: s string, d date, n number, f flag keyword, h header name,
# q sequence set, k another key, a atom, F filter name (RFC 5466), e
# annotation entry match, t annotation attribute, v nstring value (RFC 5257).
_KEYS: dict[str, str] = {
    "ALL": "", "ANSWERED": "", "BCC": "s", "BEFORE": "d", "BODY": "s", "CC": "s",
    "DELETED": "", "DRAFT": "", "FLAGGED": "", "FROM": "s", "HEADER": "hs",
    "KEYWORD": "a", "LARGER": "n", "NEW": "", "NOT": "k", "OLD": "", "ON": "d",
    "OR": "kk", "RECENT": "", "SEEN": "", "SENTBEFORE": "d", "SENTON": "d",
    "SENTSINCE": "d", "SINCE": "d", "SMALLER": "n", "SUBJECT": "s", "TEXT": "s",
    "TO": "s", "UID": "q", "UNANSWERED": "", "UNDELETED": "", "UNDRAFT": "",
    "UNFLAGGED": "", "UNKEYWORD": "a", "UNSEEN": "", "MODSEQ": "n", "OLDER": "n",
    "YOUNGER": "n", "EMAILID": "a", "THREADID": "a", "SAVEDBEFORE": "d",
    "SAVEDON": "d", "SAVEDSINCE": "d", "SAVEDATESUPPORTED": "", "FUZZY": "k",
    "X-GM-RAW": "s", "X-GM-MSGID": "n", "X-GM-THRID": "n", "X-GM-LABELS": "s",
    "FILTER": "F", "ANNOTATION": "etv",
}  # fmt: skip
# RFC 5466 §4: filter-name is atom characters except "*", "%" and "/".
_FILTER = re.compile(ascii_class('(){%*"\\]/') + r"+\Z")
# RFC 5257 §5: entry-match is a '/'-path that may hold * and % wildcards;
# att-search is value, value.priv or value.shared.
_ANN_MATCH = re.compile("/" + ascii_class('(){"\\]') + r"*\Z")
_ATT_SEARCH = ("value", "value.priv", "value.shared")


@dataclasses.dataclass(frozen=True, slots=True)
class SearchKey:
    """One search key with its arguments, e.g. ``SearchKey("FROM", ("x",))``.

    Built by the functions of this module; checked when compiled.
    """

    name: str
    args: tuple[Criterion, ...] = ()


#: What a criterion may be: a typed key, a keyword or argument string, a
#: number, a date, or a group (list or tuple) of criteria.
Criterion = SearchKey | str | int | date | SequenceSet | list["Criterion"] | tuple["Criterion", ...]


def format_date(value: date | str) -> str:
    """``date`` as RFC 9051 date-text (``1-Feb-1994``).

    Raises:
        ValueError: a string that is not date-text.
    """
    if isinstance(value, str):
        if not _DATE.match(value):
            raise ValueError(f"not an IMAP date (d-Mon-yyyy): {value!r}")
        return value
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day}-{_MONTHS[value.month - 1]}-{value.year}"


def _number(value: object, what: str) -> Raw:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} needs a number, got {value!r}")
    text = str(value)
    if not text.isdigit() or not text.isascii() or int(text) > 2**63 - 1:
        raise ValueError(f"{what} needs a number64, got {value!r}")
    return Raw(text.encode("ascii"))


def sequence_arg(value: object, what: str = "message set") -> Raw:
    """A message set argument: ``"1:3,7"``, ``"$"``, an int, ints or a SequenceSet.

    Raises:
        ValueError: not a valid sequence set.
    """
    if isinstance(value, SequenceSet):
        return Raw(str(value).encode("ascii"))
    if isinstance(value, bool):
        raise ValueError(f"{what}: not a message number: {value!r}")
    if isinstance(value, int):
        return Raw(str(SequenceSet.from_numbers([value])).encode("ascii"))
    if isinstance(value, str | bytes):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        if text == "$":
            return Raw(b"$")
        return Raw(str(SequenceSet.parse(text)).encode("ascii"))
    try:
        numbers = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise ValueError(f"{what}: not a sequence set: {value!r}") from None
    return Raw(str(SequenceSet.from_numbers(numbers)).encode("ascii"))


class _Compiler:
    def __init__(self) -> None:
        self.non_ascii = False

    def string(self, value: object, what: str) -> Arg:
        if not isinstance(value, str | bytes):
            raise ValueError(f"{what} needs a string, got {value!r}")
        data = value.encode("utf-8") if isinstance(value, str) else value
        check_string(data, what)
        if not data.isascii():
            self.non_ascii = True
        return AString(data, what)

    def argument(self, kind: str, value: Criterion, key: str) -> list[Arg]:
        if kind == "s":
            return [self.string(value, f"SEARCH {key}")]
        if kind == "h":
            arg = self.string(value, f"SEARCH {key} field name")
            return [arg]
        if kind == "d":
            if not isinstance(value, date | str):
                raise ValueError(f"SEARCH {key} needs a date, got {value!r}")
            return [Raw(format_date(value).encode("ascii"))]
        if kind == "n":
            return [_number(value, f"SEARCH {key}")]
        if kind == "a":
            # KEYWORD's flag-keyword is an atom (RFC 9051 §9): no system flag
            # such as \Seen, which has keys of its own (SEEN, UNSEEN ...).
            if not isinstance(value, str) or not _ATOM.match(value):
                raise ValueError(f"SEARCH {key} needs an atom, got {value!r}")
            return [Raw(value.encode("ascii"))]
        if kind == "q":
            return [sequence_arg(value, f"SEARCH {key}")]
        if kind == "F":
            if not isinstance(value, str) or not _FILTER.match(value):
                raise ValueError(f"SEARCH FILTER needs a filter name (RFC 5466), got {value!r}")
            return [Raw(value.encode("ascii"))]
        if kind == "e":
            if not isinstance(value, str) or not _ANN_MATCH.match(value) or "//" in value:
                raise ValueError(
                    f"SEARCH ANNOTATION needs an entry such as /comment, got {value!r}"
                )
            return [Raw(value.encode("ascii"))]
        if kind == "t":
            if not isinstance(value, str) or value.lower() not in _ATT_SEARCH:
                raise ValueError(
                    f"SEARCH ANNOTATION searches value, value.priv or value.shared, got {value!r}"
                )
            return [Raw(value.lower().encode("ascii"))]
        if kind == "v":
            arg = self.string(value, f"SEARCH {key} value")
            assert isinstance(arg, AString)
            arg.atom = False  # nstring: quoted or a literal, never an atom
            return [arg]
        return self.criterion([value], 0)[0]

    def criterion(self, items: Sequence[Criterion], i: int) -> tuple[list[Arg], int]:
        """One key from ``items[i:]``; the args and the index after it."""
        item = items[i]
        if isinstance(item, SearchKey):
            return self.key(item.name, list(item.args)), i + 1
        if isinstance(item, list | tuple):
            return [Group(tuple(self.all(item)))], i + 1
        if isinstance(item, SequenceSet) or (isinstance(item, int) and not isinstance(item, bool)):
            return [sequence_arg(item)], i + 1
        if not isinstance(item, str):
            raise ValueError(f"not a search key: {item!r}")
        name = item.upper()
        kinds = _KEYS.get(name)
        if kinds is None:
            try:
                return [sequence_arg(item)], i + 1
            except ValueError:
                raise ValueError(f"unknown search key: {item!r}") from None
        i += 1
        out: list[Arg] = [Raw(name.encode("ascii"))]
        for kind in kinds:
            if i >= len(items):
                raise ValueError(f"SEARCH {name} is missing an argument")
            if kind == "k":
                args, i = self.criterion(items, i)
                out.extend(args)
            else:
                out.extend(self.argument(kind, items[i], name))
                i += 1
        return out, i

    def key(self, name: str, args: list[Criterion]) -> list[Arg]:
        out, used = self.criterion([name, *args], 0)
        if used != len(args) + 1:
            raise ValueError(f"SEARCH {name}: too many arguments")
        return out

    def all(self, items: Sequence[Criterion]) -> list[Arg]:
        if not items:
            raise ValueError("empty search criteria")
        out: list[Arg] = []
        i = 0
        while i < len(items):
            args, i = self.criterion(items, i)
            out.extend(args)
        return out


def compile_criteria(criteria: Sequence[Criterion]) -> tuple[list[Arg], bool]:
    """The arguments for ``criteria`` and whether a string was non-ASCII.

    Raises:
        ValueError: an unknown key, a missing or malformed argument, or a
            string holding CR, LF or NUL.
    """
    compiler = _Compiler()
    args = compiler.all(list(criteria))
    return args, compiler.non_ascii


def _k(name: str, *args: Criterion) -> SearchKey:
    return SearchKey(name, args)


def all_() -> SearchKey:
    """ALL: every message."""
    return _k("ALL")


def answered() -> SearchKey:
    r"""ANSWERED: \Answered is set."""
    return _k("ANSWERED")


def unanswered() -> SearchKey:
    r"""UNANSWERED: \Answered is not set."""
    return _k("UNANSWERED")


def deleted() -> SearchKey:
    r"""DELETED: \Deleted is set."""
    return _k("DELETED")


def undeleted() -> SearchKey:
    r"""UNDELETED: \Deleted is not set."""
    return _k("UNDELETED")


def draft() -> SearchKey:
    r"""DRAFT: \Draft is set."""
    return _k("DRAFT")


def undraft() -> SearchKey:
    r"""UNDRAFT: \Draft is not set."""
    return _k("UNDRAFT")


def flagged() -> SearchKey:
    r"""FLAGGED: \Flagged is set."""
    return _k("FLAGGED")


def unflagged() -> SearchKey:
    r"""UNFLAGGED: \Flagged is not set."""
    return _k("UNFLAGGED")


def seen() -> SearchKey:
    r"""SEEN: \Seen is set."""
    return _k("SEEN")


def unseen() -> SearchKey:
    r"""UNSEEN: \Seen is not set."""
    return _k("UNSEEN")


def new() -> SearchKey:
    """NEW: recent and unseen (RFC 3501 only)."""
    return _k("NEW")


def old() -> SearchKey:
    """OLD: not recent (RFC 3501 only)."""
    return _k("OLD")


def recent() -> SearchKey:
    """RECENT (RFC 3501 only)."""
    return _k("RECENT")


def keyword(flag: str) -> SearchKey:
    """KEYWORD flag: the keyword is set."""
    return _k("KEYWORD", flag)


def unkeyword(flag: str) -> SearchKey:
    """UNKEYWORD flag: the keyword is not set."""
    return _k("UNKEYWORD", flag)


def bcc(value: str) -> SearchKey:
    """BCC: the Bcc header contains ``value``."""
    return _k("BCC", value)


def cc(value: str) -> SearchKey:
    """CC: the Cc header contains ``value``."""
    return _k("CC", value)


def from_(value: str) -> SearchKey:
    """FROM: the From header contains ``value``."""
    return _k("FROM", value)


def to(value: str) -> SearchKey:
    """TO: the To header contains ``value``."""
    return _k("TO", value)


def subject(value: str) -> SearchKey:
    """SUBJECT: the Subject header contains ``value``."""
    return _k("SUBJECT", value)


def body(value: str) -> SearchKey:
    """BODY: the body contains ``value``."""
    return _k("BODY", value)


def text(value: str) -> SearchKey:
    """TEXT: the header or body contains ``value``."""
    return _k("TEXT", value)


def header(name: str, value: str) -> SearchKey:
    """HEADER name value: the field ``name`` contains ``value`` ("" = exists)."""
    return _k("HEADER", name, value)


def before(day: date | str) -> SearchKey:
    """BEFORE: internal date earlier than ``day``."""
    return _k("BEFORE", day)


def on(day: date | str) -> SearchKey:
    """ON: internal date within ``day``."""
    return _k("ON", day)


def since(day: date | str) -> SearchKey:
    """SINCE: internal date within or later than ``day``."""
    return _k("SINCE", day)


def sent_before(day: date | str) -> SearchKey:
    """SENTBEFORE: Date header earlier than ``day``."""
    return _k("SENTBEFORE", day)


def sent_on(day: date | str) -> SearchKey:
    """SENTON: Date header within ``day``."""
    return _k("SENTON", day)


def sent_since(day: date | str) -> SearchKey:
    """SENTSINCE: Date header within or later than ``day``."""
    return _k("SENTSINCE", day)


def larger(size: int) -> SearchKey:
    """LARGER: RFC822.SIZE larger than ``size``."""
    return _k("LARGER", size)


def smaller(size: int) -> SearchKey:
    """SMALLER: RFC822.SIZE smaller than ``size``."""
    return _k("SMALLER", size)


def uid(uids: Criterion) -> SearchKey:
    """UID set: the messages with these UIDs."""
    return _k("UID", uids)


def messages(numbers: Criterion) -> SearchKey:
    """A sequence set: the messages with these numbers.

    Raises:
        ValueError: not a valid sequence set.
    """
    return SearchKey(sequence_arg(numbers).data.decode("ascii"))


def not_(key: Criterion) -> SearchKey:
    """NOT key."""
    return _k("NOT", key)


def or_(first: Criterion, second: Criterion) -> SearchKey:
    """OR key1 key2."""
    return _k("OR", first, second)


def modseq(value: int) -> SearchKey:
    """MODSEQ n: changed at or after mod-sequence ``value`` (RFC 7162)."""
    return _k("MODSEQ", value)


def older(seconds: int) -> SearchKey:
    """OLDER: arrived more than ``seconds`` ago (RFC 5032)."""
    return _k("OLDER", seconds)


def younger(seconds: int) -> SearchKey:
    """YOUNGER: arrived less than ``seconds`` ago (RFC 5032)."""
    return _k("YOUNGER", seconds)


def filter_(name: str) -> SearchKey:
    """FILTER: the messages a named search stored on the server matches (RFC 5466 §4)."""
    return _k("FILTER", name)


def annotation(entry: str, attribute: str, value: str) -> SearchKey:
    """ANNOTATION: an annotation's value contains ``value`` (RFC 5257 §4.4).

    ``annotation("/comment", "value", "urgent")``; ``entry`` may hold ``*``
    and ``%`` wildcards, ``attribute`` is value, value.priv or value.shared.
    """
    return _k("ANNOTATION", entry, attribute, value)


def x_gm_raw(query: str) -> SearchKey:
    """X-GM-RAW: a Gmail search query."""
    return _k("X-GM-RAW", query)
