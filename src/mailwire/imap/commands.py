"""IMAP commands as frozen dataclasses, named after the RFC verb.

``Fetch(messages, items, uid=True)`` describes a command; ``encode(tag,
options)`` serialises it (see :mod:`mailwire.imap._writer` for how strings
become atoms, quoted strings or literals). Every command is checked when it
is built, by encoding it once: bad input (CR, LF or NUL in a string, a
malformed message set, fetch item, flag or date) raises :class:`ValueError`
then and there, before a tag is spent or a byte queued (security.md S16).

Message sets (``messages``) accept a sequence-set string (``"1:5,7"``,
``"1:*"``, ``"$"``), an int, an iterable of ints, or a
:class:`~mailwire.imap.SequenceSet`; they are UIDs when ``uid=True`` (the
default, as the client uses UIDs throughout). Mailbox names are ``str``.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from mailwire.imap._seqset import SequenceSet
from mailwire.imap._writer import (
    Arg,
    AString,
    Encoded,
    EncodeOptions,
    Group,
    Literal,
    MailboxName,
    NString,
    Raw,
    Secret,
    encode,
)
from mailwire.imap.search import Criterion, compile_criteria, sequence_arg

__all__ = [
    "Append",
    "Authenticate",
    "Capability",
    "Check",
    "Close",
    "Command",
    "Compress",
    "Copy",
    "Create",
    "Delete",
    "Enable",
    "Examine",
    "Expunge",
    "Fetch",
    "GetMetadata",
    "GetQuota",
    "GetQuotaRoot",
    "Id",
    "Idle",
    "List",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "Namespace",
    "Noop",
    "QResync",
    "Rename",
    "Search",
    "Select",
    "SetMetadata",
    "SetQuota",
    "Sort",
    "StartTLS",
    "Status",
    "Store",
    "Subscribe",
    "Thread",
    "Unselect",
    "Unsubscribe",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ATOM = r'[^\x00-\x20\x7f-\uffff(){%*"\\\]]+'
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
_FETCH_ITEM = re.compile(
    r"(?:ENVELOPE|FLAGS|INTERNALDATE|RFC822(?:\.SIZE|\.HEADER|\.TEXT)?|BODY|BODYSTRUCTURE|UID"
    r"|MODSEQ|EMAILID|THREADID|SAVEDATE|PREVIEW|X-GM-MSGID|X-GM-THRID|X-GM-LABELS"
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


# ------------------------------------------------------------------ any state


@dataclasses.dataclass(frozen=True, slots=True)
class Capability(Command):
    """CAPABILITY (RFC 9051 §6.1.1)."""

    verb: ClassVar[str] = "CAPABILITY"


@dataclasses.dataclass(frozen=True, slots=True)
class Noop(Command):
    """NOOP (RFC 9051 §6.1.2): lets the server send updates."""

    verb: ClassVar[str] = "NOOP"


@dataclasses.dataclass(frozen=True, slots=True)
class Logout(Command):
    """LOGOUT (RFC 9051 §6.1.3)."""

    verb: ClassVar[str] = "LOGOUT"


@dataclasses.dataclass(frozen=True, slots=True)
class Id(Command):
    """ID (RFC 2971): ``params`` describe the client; ``None`` sends NIL."""

    verb: ClassVar[str] = "ID"
    params: Mapping[str, str | None] | None = None

    def arguments(self) -> list[Arg]:
        if self.params is None:
            return [Raw(b"ID"), Raw(b"NIL")]
        items: list[Arg] = []
        for key, value in self.params.items():
            items += [AString(key, "ID field", atom=False), NString(value, "ID value")]
        return [Raw(b"ID"), Group(tuple(items))]


@dataclasses.dataclass(frozen=True, slots=True)
class Compress(Command):
    """COMPRESS (RFC 4978); DEFLATE is the only mechanism defined."""

    verb: ClassVar[str] = "COMPRESS"
    mechanism: str = "DEFLATE"

    def arguments(self) -> list[Arg]:
        return [Raw(b"COMPRESS"), _atom(self.mechanism, "compression mechanism")]


# ------------------------------------------------------------------ not authenticated


@dataclasses.dataclass(frozen=True, slots=True)
class StartTLS(Command):
    """STARTTLS (RFC 9051 §6.2.1)."""

    verb: ClassVar[str] = "STARTTLS"


@dataclasses.dataclass(frozen=True, slots=True)
class Login(Command):
    """LOGIN (RFC 9051 §6.2.3); the password is marked secret."""

    verb: ClassVar[str] = "LOGIN"
    username: str
    password: str = dataclasses.field(repr=False)

    def arguments(self) -> list[Arg]:
        return [
            Raw(b"LOGIN"),
            AString(self.username, "user name"),
            Secret(AString(self.password, "password")),
        ]


@dataclasses.dataclass(frozen=True, slots=True)
class Authenticate(Command):
    """AUTHENTICATE (RFC 9051 §6.2.2) with an optional SASL-IR response (RFC 4959).

    ``initial_response`` is the raw response (it is base64-encoded here;
    ``b""`` is sent as ``=``); it is marked secret.
    """

    verb: ClassVar[str] = "AUTHENTICATE"
    mechanism: str
    initial_response: bytes | None = dataclasses.field(default=None, repr=False)

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [Raw(b"AUTHENTICATE"), _atom(self.mechanism, "SASL mechanism")]
        if self.initial_response is not None:
            data = base64.b64encode(self.initial_response) or b"="
            out.append(Secret(Raw(data)))
        return out


# ------------------------------------------------------------------ authenticated


@dataclasses.dataclass(frozen=True, slots=True)
class Enable(Command):
    """ENABLE (RFC 5161): ``Enable(("CONDSTORE", "UTF8=ACCEPT"))``."""

    verb: ClassVar[str] = "ENABLE"
    capabilities: Sequence[str] = ()

    def __post_init__(self) -> None:
        _set(self, "capabilities", _tuple(self.capabilities))
        if not self.capabilities:
            raise ValueError("ENABLE needs at least one capability")
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        return [Raw(b"ENABLE"), *(_atom(c, "capability") for c in self.capabilities)]


@dataclasses.dataclass(frozen=True, slots=True)
class QResync:
    """QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5)."""

    uidvalidity: int
    modseq: int
    known_uids: Any = None
    seq_match: tuple[Any, Any] | None = None

    def argument(self) -> Arg:
        items: list[Arg] = [
            _number(self.uidvalidity, "UIDVALIDITY"),
            _number(self.modseq, "mod-sequence"),
        ]
        if self.known_uids is not None:
            items.append(sequence_arg(self.known_uids, "known UIDs"))
            if self.seq_match is not None:
                items.append(
                    Group((sequence_arg(self.seq_match[0]), sequence_arg(self.seq_match[1])))
                )
        return Group((Raw(b"QRESYNC"), Group(tuple(items))))


@dataclasses.dataclass(frozen=True, slots=True)
class Select(Command):
    """SELECT (RFC 9051 §6.3.2), optionally with CONDSTORE or QRESYNC (RFC 7162)."""

    verb: ClassVar[str] = "SELECT"
    mailbox: str
    condstore: bool = False
    qresync: QResync | None = None

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [Raw(self.verb.encode()), MailboxName(self.mailbox)]
        if self.qresync is not None:
            out.append(self.qresync.argument())
        elif self.condstore:
            out.append(Group((Raw(b"CONDSTORE"),)))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Examine(Select):
    """EXAMINE (RFC 9051 §6.3.3): SELECT, read-only."""

    verb: ClassVar[str] = "EXAMINE"


@dataclasses.dataclass(frozen=True, slots=True)
class Create(Command):
    """CREATE (RFC 9051 §6.3.4), with SPECIAL-USE attributes (RFC 6154 §3)."""

    verb: ClassVar[str] = "CREATE"
    mailbox: str
    special_use: Sequence[str] = ()

    def __post_init__(self) -> None:
        _set(self, "special_use", _tuple(self.special_use))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [Raw(b"CREATE"), MailboxName(self.mailbox)]
        if self.special_use:
            out.append(Group((Raw(b"USE"), _flags(self.special_use))))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Delete(Command):
    """DELETE (RFC 9051 §6.3.5)."""

    verb: ClassVar[str] = "DELETE"
    mailbox: str

    def arguments(self) -> list[Arg]:
        return [Raw(self.verb.encode()), MailboxName(self.mailbox)]


@dataclasses.dataclass(frozen=True, slots=True)
class Subscribe(Delete):
    """SUBSCRIBE (RFC 9051 §6.3.7)."""

    verb: ClassVar[str] = "SUBSCRIBE"


@dataclasses.dataclass(frozen=True, slots=True)
class Unsubscribe(Delete):
    """UNSUBSCRIBE (RFC 9051 §6.3.8)."""

    verb: ClassVar[str] = "UNSUBSCRIBE"


@dataclasses.dataclass(frozen=True, slots=True)
class Rename(Command):
    """RENAME (RFC 9051 §6.3.6)."""

    verb: ClassVar[str] = "RENAME"
    mailbox: str
    new_name: str

    def arguments(self) -> list[Arg]:
        return [Raw(b"RENAME"), MailboxName(self.mailbox), MailboxName(self.new_name)]


@dataclasses.dataclass(frozen=True, slots=True)
class List(Command):
    """LIST (RFC 9051 §6.3.9) with LIST-EXTENDED options (RFC 5258, 5819, 6154).

    Attributes:
        reference: the reference name (usually ``""``).
        patterns: one pattern or several (``%`` and ``*`` are wildcards).
        select_options: e.g. ``("SUBSCRIBED", "RECURSIVEMATCH")``.
        return_options: e.g. ``("CHILDREN", "SPECIAL-USE")``.
        status_items: LIST-STATUS (RFC 5819): STATUS items to return.
    """

    verb: ClassVar[str] = "LIST"
    reference: str = ""
    patterns: str | Sequence[str] = "*"
    select_options: Sequence[str] = ()
    return_options: Sequence[str] = ()
    status_items: Sequence[str] = ()

    def __post_init__(self) -> None:
        for name in ("patterns", "select_options", "return_options", "status_items"):
            _set(self, name, _tuple(getattr(self, name)))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [Raw(self.verb.encode())]
        if self.select_options:
            out.append(Group(tuple(_atom(o, "LIST option") for o in self.select_options)))
        out.append(MailboxName(self.reference))
        patterns = [MailboxName(p) for p in self.patterns]
        if not patterns:
            raise ValueError("LIST needs a pattern")
        out.append(patterns[0] if len(patterns) == 1 else Group(tuple(patterns)))
        returns: list[Arg] = [_atom(o, "LIST return option") for o in self.return_options]
        if self.status_items:
            status = Group(tuple(_atom(s, "STATUS item") for s in self.status_items))
            returns += [Raw(b"STATUS"), status]
        if returns:
            out += [Raw(b"RETURN"), Group(tuple(returns))]
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Lsub(Command):
    """LSUB (RFC 3501 §6.3.9; replaced by LIST (SUBSCRIBED) in IMAP4rev2)."""

    verb: ClassVar[str] = "LSUB"
    reference: str = ""
    pattern: str = "*"

    def arguments(self) -> list[Arg]:
        return [Raw(b"LSUB"), MailboxName(self.reference), MailboxName(self.pattern)]


@dataclasses.dataclass(frozen=True, slots=True)
class Namespace(Command):
    """NAMESPACE (RFC 9051 §6.3.10)."""

    verb: ClassVar[str] = "NAMESPACE"


@dataclasses.dataclass(frozen=True, slots=True)
class Status(Command):
    """STATUS (RFC 9051 §6.3.11): ``Status("INBOX", ("MESSAGES", "UIDNEXT"))``."""

    verb: ClassVar[str] = "STATUS"
    mailbox: str
    items: Sequence[str] = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")

    def __post_init__(self) -> None:
        _set(self, "items", _tuple(self.items))
        if not self.items:
            raise ValueError("STATUS needs at least one item")
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        items = Group(tuple(_atom(i, "STATUS item") for i in self.items))
        return [Raw(b"STATUS"), MailboxName(self.mailbox), items]


@dataclasses.dataclass(frozen=True, slots=True)
class Append(Command):
    """APPEND (RFC 9051 §6.3.12): the message always goes as a literal.

    A message holding NUL is sent as a literal8 (RFC 3516 §4.2), which the
    server must offer BINARY for; otherwise encoding raises ValueError.
    """

    verb: ClassVar[str] = "APPEND"
    mailbox: str
    message: bytes = dataclasses.field(repr=False)
    flags: Sequence[str] = ()
    date: datetime | None = None

    def __post_init__(self) -> None:
        _set(self, "flags", _tuple(self.flags))
        if not isinstance(self.message, bytes | bytearray | memoryview):
            raise ValueError("APPEND needs the message as bytes")
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [Raw(b"APPEND"), MailboxName(self.mailbox)]
        if self.flags:
            out.append(_flags(self.flags))
        if self.date is not None:
            out.append(_date_time(self.date))
        out.append(Literal(bytes(self.message)))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Idle(Command):
    """IDLE (RFC 2177, RFC 9051 §6.3.13); end it with ``b"DONE\\r\\n"``."""

    verb: ClassVar[str] = "IDLE"


# ------------------------------------------------------------------ selected


@dataclasses.dataclass(frozen=True, slots=True)
class Check(Command):
    """CHECK (RFC 3501 §6.4.1; gone from IMAP4rev2)."""

    verb: ClassVar[str] = "CHECK"


@dataclasses.dataclass(frozen=True, slots=True)
class Close(Command):
    """CLOSE (RFC 9051 §6.4.1): expunge and leave the mailbox."""

    verb: ClassVar[str] = "CLOSE"


@dataclasses.dataclass(frozen=True, slots=True)
class Unselect(Command):
    """UNSELECT (RFC 3691, RFC 9051 §6.4.2): leave without expunging."""

    verb: ClassVar[str] = "UNSELECT"


@dataclasses.dataclass(frozen=True, slots=True)
class Expunge(Command):
    """EXPUNGE, or UID EXPUNGE of ``uids`` (RFC 9051 §6.4.3, §6.4.9)."""

    verb: ClassVar[str] = "EXPUNGE"
    uids: Any = None

    def __post_init__(self) -> None:
        if self.uids is not None:
            _set(self, "uids", _messages(self.uids))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        if self.uids is None:
            return [Raw(b"EXPUNGE")]
        return [Raw(b"UID EXPUNGE"), sequence_arg(self.uids)]


def _uid(uid: bool, verb: bytes) -> Raw:
    return Raw(b"UID " + verb if uid else verb)


@dataclasses.dataclass(frozen=True, slots=True)
class Search(Command):
    """SEARCH (RFC 9051 §6.4.4): ``Search(("FROM", "x@y", "SINCE", date))``.

    Attributes:
        criteria: search keys as strings and/or typed keys (see
            :mod:`mailwire.imap.search`).
        uid: UID SEARCH (the answer lists UIDs).
        charset: the CHARSET to declare; by default ``UTF-8`` when a string
            is non-ASCII, else none.
        return_options: ESEARCH return options (RFC 4731): ``("MIN",
            "COUNT")``.
    """

    verb: ClassVar[str] = "SEARCH"
    criteria: Sequence[Criterion] = ("ALL",)
    uid: bool = True
    charset: str | None = None
    return_options: Sequence[str] = ()

    def __post_init__(self) -> None:
        _set(self, "criteria", _tuple(self.criteria))
        _set(self, "return_options", _tuple(self.return_options))
        Command.__post_init__(self)

    def _program(self) -> list[Arg]:
        keys, non_ascii = compile_criteria(self.criteria)
        charset = self.charset or ("UTF-8" if non_ascii else None)
        prefix: list[Arg] = []
        if charset is not None:
            prefix = [Raw(b"CHARSET"), _atom(charset, "charset")]
        return prefix + keys

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [_uid(self.uid, b"SEARCH")]
        if self.return_options:
            options = tuple(_atom(o, "SEARCH return option") for o in self.return_options)
            out += [Raw(b"RETURN"), Group(options)]
        return out + self._program()


@dataclasses.dataclass(frozen=True, slots=True)
class Sort(Command):
    """SORT (RFC 5256 §3): ``Sort(("REVERSE", "DATE"), ("SEEN",))``."""

    verb: ClassVar[str] = "SORT"
    keys: Sequence[str] = ("ARRIVAL",)
    criteria: Sequence[Criterion] = ("ALL",)
    uid: bool = True
    charset: str = "UTF-8"

    def __post_init__(self) -> None:
        _set(self, "keys", _tuple(self.keys))
        _set(self, "criteria", _tuple(self.criteria))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        keys: list[Arg] = []
        for key in self.keys:
            upper = key.upper() if isinstance(key, str) else key
            if upper != "REVERSE" and upper not in _SORT_KEYS:
                raise ValueError(f"not a SORT key: {key!r}")
            keys.append(Raw(upper.encode("ascii")))
        if not keys or keys[-1] == Raw(b"REVERSE"):
            raise ValueError("SORT needs a key (REVERSE only modifies the next one)")
        program, _ = compile_criteria(self.criteria)
        return [
            _uid(self.uid, b"SORT"),
            Group(tuple(keys)),
            _atom(self.charset, "charset"),
            *program,
        ]


@dataclasses.dataclass(frozen=True, slots=True)
class Thread(Command):
    """THREAD (RFC 5256 §3): ``Thread("REFERENCES", ("ALL",))``."""

    verb: ClassVar[str] = "THREAD"
    algorithm: str = "REFERENCES"
    criteria: Sequence[Criterion] = ("ALL",)
    uid: bool = True
    charset: str = "UTF-8"

    def __post_init__(self) -> None:
        _set(self, "criteria", _tuple(self.criteria))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        program, _ = compile_criteria(self.criteria)
        return [
            _uid(self.uid, b"THREAD"),
            _atom(self.algorithm, "thread algorithm"),
            _atom(self.charset, "charset"),
            *program,
        ]


def _fetch_item(item: str) -> Raw:
    if not isinstance(item, str) or not item.isascii() or not _FETCH_ITEM.match(item):
        raise ValueError(f"not a FETCH item: {item!r}")
    return Raw(item.encode("ascii"))


@dataclasses.dataclass(frozen=True, slots=True)
class Fetch(Command):
    """FETCH (RFC 9051 §6.4.5): ``Fetch("1:*", ["FLAGS", "BODY.PEEK[]"])``.

    Attributes:
        messages: the message set (UIDs when ``uid``).
        items: fetch items as strings: ``ENVELOPE``, ``BODYSTRUCTURE``,
            ``BODY.PEEK[1.2]<0.100>``, ``BODY[HEADER.FIELDS (SUBJECT)]``,
            ``BINARY[1]``, ``MODSEQ``, ``X-GM-LABELS``... or one of the
            macros ALL, FAST, FULL alone.
        uid: UID FETCH.
        changedsince: CHANGEDSINCE modifier (RFC 7162 §3.1.4).
        vanished: VANISHED modifier (RFC 7162 §3.2.6; needs ``uid`` and
            ``changedsince``).
    """

    verb: ClassVar[str] = "FETCH"
    messages: Any
    items: str | Sequence[str] = ("FLAGS",)
    uid: bool = True
    changedsince: int | None = None
    vanished: bool = False

    def __post_init__(self) -> None:
        _set(self, "messages", _messages(self.messages))
        _set(self, "items", _tuple(self.items))
        if self.vanished and (not self.uid or self.changedsince is None):
            raise ValueError("VANISHED needs UID FETCH with CHANGEDSINCE (RFC 7162 §3.2.6)")
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [_uid(self.uid, b"FETCH"), sequence_arg(self.messages)]
        items = list(self.items)
        if not items:
            raise ValueError("FETCH needs at least one item")
        if len(items) == 1 and isinstance(items[0], str) and items[0].upper() in _MACROS:
            out.append(Raw(items[0].upper().encode("ascii")))
        else:
            out.append(Group(tuple(_fetch_item(i) for i in items)))
        if self.changedsince is not None:
            modifiers: list[Arg] = [
                Raw(b"CHANGEDSINCE"),
                _number(self.changedsince, "CHANGEDSINCE"),
            ]
            if self.vanished:
                modifiers.append(Raw(b"VANISHED"))
            out.append(Group(tuple(modifiers)))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Store(Command):
    """STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3).

    Attributes:
        messages: the message set (UIDs when ``uid``).
        flags: the flags (``\\Seen``, ``$Forwarded``...).
        action: ``"+"`` to add, ``"-"`` to remove, ``""`` to replace.
        silent: ask for no FETCH answer (``.SILENT``).
        uid: UID STORE.
        unchangedsince: only where the mod-sequence is not above this.
        item: ``"FLAGS"``, or ``"X-GM-LABELS"`` on Gmail.
    """

    verb: ClassVar[str] = "STORE"
    messages: Any
    flags: Sequence[str] = ()
    action: str = "+"
    silent: bool = False
    uid: bool = True
    unchangedsince: int | None = None
    item: str = "FLAGS"

    def __post_init__(self) -> None:
        _set(self, "messages", _messages(self.messages))
        _set(self, "flags", _tuple(self.flags))
        if self.action not in ("+", "-", ""):
            raise ValueError(f"STORE action must be '+', '-' or '', got {self.action!r}")
        if self.item.upper() not in ("FLAGS", "X-GM-LABELS"):
            raise ValueError(f"STORE item must be FLAGS or X-GM-LABELS, got {self.item!r}")
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [_uid(self.uid, b"STORE"), sequence_arg(self.messages)]
        if self.unchangedsince is not None:
            number = _number(self.unchangedsince, "UNCHANGEDSINCE")
            out.append(Group((Raw(b"UNCHANGEDSINCE"), number)))
        name = f"{self.action}{self.item.upper()}{'.SILENT' if self.silent else ''}"
        out.append(Raw(name.encode("ascii")))
        if self.item.upper() == "FLAGS":
            out.append(_flags(self.flags))
        else:
            out.append(Group(tuple(AString(label, "label") for label in self.flags)))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Copy(Command):
    """COPY (RFC 9051 §6.4.7)."""

    verb: ClassVar[str] = "COPY"
    messages: Any
    mailbox: str
    uid: bool = True

    def __post_init__(self) -> None:
        _set(self, "messages", _messages(self.messages))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        verb = self.verb.encode("ascii")
        return [_uid(self.uid, verb), sequence_arg(self.messages), MailboxName(self.mailbox)]


@dataclasses.dataclass(frozen=True, slots=True)
class Move(Copy):
    """MOVE (RFC 6851, RFC 9051 §6.4.8)."""

    verb: ClassVar[str] = "MOVE"


# ------------------------------------------------------------------ extensions


@dataclasses.dataclass(frozen=True, slots=True)
class GetQuota(Command):
    """GETQUOTA (RFC 9208 §4.2)."""

    verb: ClassVar[str] = "GETQUOTA"
    root: str = ""

    def arguments(self) -> list[Arg]:
        return [Raw(b"GETQUOTA"), AString(self.root, "quota root")]


@dataclasses.dataclass(frozen=True, slots=True)
class GetQuotaRoot(Command):
    """GETQUOTAROOT (RFC 9208 §4.3)."""

    verb: ClassVar[str] = "GETQUOTAROOT"
    mailbox: str

    def arguments(self) -> list[Arg]:
        return [Raw(b"GETQUOTAROOT"), MailboxName(self.mailbox)]


@dataclasses.dataclass(frozen=True, slots=True)
class SetQuota(Command):
    """SETQUOTA (RFC 9208 §4.4): ``SetQuota("", {"STORAGE": 512})``."""

    verb: ClassVar[str] = "SETQUOTA"
    root: str
    limits: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def arguments(self) -> list[Arg]:
        items: list[Arg] = []
        for name, limit in self.limits.items():
            items += [_atom(name, "quota resource"), _number(limit, "quota limit")]
        return [Raw(b"SETQUOTA"), AString(self.root, "quota root"), Group(tuple(items))]


@dataclasses.dataclass(frozen=True, slots=True)
class GetMetadata(Command):
    """GETMETADATA (RFC 5464 §4.2) with MAXSIZE and DEPTH options."""

    verb: ClassVar[str] = "GETMETADATA"
    mailbox: str
    entries: Sequence[str] = ()
    maxsize: int | None = None
    depth: str | None = None

    def __post_init__(self) -> None:
        _set(self, "entries", _tuple(self.entries))
        if not self.entries:
            raise ValueError("GETMETADATA needs at least one entry")
        if self.depth not in (None, "0", "1", "infinity"):
            raise ValueError(f"DEPTH must be 0, 1 or infinity, got {self.depth!r}")
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [Raw(b"GETMETADATA")]
        options: list[Arg] = []
        if self.maxsize is not None:
            options += [Raw(b"MAXSIZE"), _number(self.maxsize, "MAXSIZE")]
        if self.depth is not None:
            options += [Raw(b"DEPTH"), Raw(self.depth.encode("ascii"))]
        if options:
            out.append(Group(tuple(options)))
        out.append(MailboxName(self.mailbox))
        entries = [AString(e, "metadata entry") for e in self.entries]
        out.append(entries[0] if len(entries) == 1 else Group(tuple(entries)))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class SetMetadata(Command):
    """SETMETADATA (RFC 5464 §4.3): ``None`` removes an entry."""

    verb: ClassVar[str] = "SETMETADATA"
    mailbox: str
    entries: Mapping[str, str | bytes | None] = dataclasses.field(default_factory=dict)

    def arguments(self) -> list[Arg]:
        if not self.entries:
            raise ValueError("SETMETADATA needs at least one entry")
        items: list[Arg] = []
        for name, value in self.entries.items():
            items.append(AString(name, "metadata entry"))
            items.append(NString(value, "metadata value"))
        return [Raw(b"SETMETADATA"), MailboxName(self.mailbox), Group(tuple(items))]
