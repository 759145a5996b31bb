"""Commands of the selected state and of the quota and metadata extensions.

Part of :mod:`mailwire.imap.commands`, which exports them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from mailwire.imap._command_base import (
    _FETCH_ITEM,
    _FIELD_NAME,  # the shared argument checks
    _MACROS,
    _SORT_KEYS,
    Command,
    _atom,
    _flags,
    _messages,
    _number,
    _set,
    _tuple,
)
from mailwire.imap._writer import (
    Arg,
    AString,
    Encoded,
    EncodeOptions,
    Group,
    MailboxName,
    NString,
    Raw,
    encode,
)
from mailwire.imap.search import Criterion, compile_criteria, sequence_arg

__all__ = [
    "Check",
    "Close",
    "Copy",
    "Expunge",
    "Fetch",
    "GetMetadata",
    "GetQuota",
    "GetQuotaRoot",
    "Move",
    "Search",
    "SetMetadata",
    "SetQuota",
    "Sort",
    "Store",
    "Thread",
    "Unselect",
    "body_section",
]


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

    def _program(self, utf8: bool) -> list[Arg]:
        keys, non_ascii = compile_criteria(self.criteria)
        # With UTF-8 on (ENABLE UTF8=ACCEPT or IMAP4rev2) no CHARSET by default:
        # RFC 6855 §3 forbids one after UTF8=ACCEPT, and RFC 9051 §6.4.4 makes
        # UTF-8 the default, so it would only be redundant there.
        charset = self.charset or ("UTF-8" if non_ascii and not utf8 else None)
        prefix: list[Arg] = []
        if charset is not None:
            prefix = [Raw(b"CHARSET"), _atom(charset, "charset")]
        return prefix + keys

    def _arguments(self, utf8: bool) -> list[Arg]:
        out: list[Arg] = [_uid(self.uid, b"SEARCH")]
        if self.return_options:
            options = tuple(_atom(o, "SEARCH return option") for o in self.return_options)
            out += [Raw(b"RETURN"), Group(options)]
        return out + self._program(utf8)

    def arguments(self) -> list[Arg]:
        return self._arguments(utf8=False)

    def encode(self, tag: str, options: EncodeOptions | None = None) -> Encoded:
        return encode(tag, self._arguments(utf8=options is not None and options.utf8), options)


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
        keys: list[Raw] = []
        for key in self.keys:
            upper = key.upper() if isinstance(key, str) else key
            if upper != "REVERSE" and upper not in _SORT_KEYS:
                raise ValueError(f"not a SORT key: {key!r}")
            keys.append(Raw(upper.encode("ascii")))
        if not keys or keys[-1].data == b"REVERSE":
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


_FIELD = re.compile(_FIELD_NAME + r"\Z")


def body_section(
    part: str = "",
    text: str = "",
    fields: Sequence[str] = (),
    *,
    exclude: bool = False,
    peek: bool = True,
    partial: tuple[int, int] | None = None,
    binary: bool = False,
) -> str:
    """A FETCH item for a body section (RFC 9051 §6.4.5, RFC 3516 BINARY).

    ``body_section()`` is ``BODY.PEEK[]``; ``body_section("1.2", "MIME")`` is
    ``BODY.PEEK[1.2.MIME]``; ``body_section(fields=["Subject"])`` is
    ``BODY.PEEK[HEADER.FIELDS (Subject)]``; ``partial=(0, 1024)`` adds
    ``<0.1024>``; ``binary=True`` gives ``BINARY.PEEK[1.2]`` (decoded by the
    server). ``peek=False`` sets \\Seen as a side effect.

    Raises:
        ValueError: not a valid section.
    """
    if fields and not text:
        text = "HEADER.FIELDS"
    text = text.upper()
    if fields:
        if text != "HEADER.FIELDS":
            raise ValueError("header fields go with HEADER.FIELDS only")
        for field in fields:
            if not isinstance(field, str) or not _FIELD.match(field) or not field.isascii():
                raise ValueError(f"not a header field name: {field!r}")
        text = f"HEADER.FIELDS{'.NOT' if exclude else ''} ({' '.join(fields)})"
    if binary and text:
        raise ValueError("BINARY takes a part number only")
    section = ".".join(x for x in (part, text) if x)
    name = ("BINARY" if binary else "BODY") + (".PEEK" if peek else "")
    item = f"{name}[{section}]"
    if partial is not None:
        origin, count = partial
        item += f"<{origin}.{count}>"
    _fetch_item(item)
    return item


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


_ENTRY_BAD = re.compile(r"[^\x1a-\x7e]|[*%]|//|/$")


def _entry(name: str, *, root: bool = False) -> str:
    """An entry name as RFC 5464 §3.2 allows it, or ``ValueError``.

    Under ``/private/`` or ``/shared/`` (any case), no ``*`` or ``%``, nothing
    outside ASCII, below 0x1A or DEL, no empty component and no trailing ``/``.
    With ``root``, ``/private`` and ``/shared`` themselves are accepted too: a
    GETMETADATA with DEPTH asks for what lies below them (§4.2.2).
    """
    lowered = name.lower()
    if root and lowered in ("/private", "/shared"):
        return name
    if not lowered.startswith(("/private/", "/shared/")):
        raise ValueError(f"metadata entry {name!r} must start with /private/ or /shared/")
    if _ENTRY_BAD.search(name):
        raise ValueError(
            f"metadata entry {name!r} is not allowed (RFC 5464 §3.2: no '*', '%', '//', "
            "trailing '/', control or non-ASCII characters)"
        )
    return name


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
        below = self.depth in ("1", "infinity")
        entries = [AString(_entry(e, root=below), "metadata entry") for e in self.entries]
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
            items.append(AString(_entry(name), "metadata entry"))
            items.append(NString(value, "metadata value"))
        return [Raw(b"SETMETADATA"), MailboxName(self.mailbox), Group(tuple(items))]
