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
    "StoreAnnotation",
    "Thread",
    "Unselect",
    "annotation_item",
    "body_section",
    "partial_range",
    "return_options",
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


def return_options(options: Sequence[str], verb: str) -> Group:
    """SEARCH or SORT return options as a group, checked.

    PARTIAL takes the range after it (RFC 9394 §4: ``n:m`` or ``-n:-m``); a
    command holds one PARTIAL, one ALL, or neither (RFC 9394 §3.1, RFC 5267
    §4.4).

    Raises:
        ValueError: a malformed option, a PARTIAL without a valid range, or
            both PARTIAL and ALL (or either twice).
    """
    items = list(options)
    out: list[Arg] = []
    whole = 0
    i = 0
    while i < len(items):
        option = items[i]
        out.append(_atom(option, f"{verb} return option"))
        upper = option.upper()
        if upper in ("PARTIAL", "ALL"):
            whole += 1
            if whole > 1:
                raise ValueError(
                    f"{verb} RETURN holds one PARTIAL or one ALL, not two (RFC 9394 §3.1)"
                )
        if upper == "PARTIAL":
            if i + 1 >= len(items):
                raise ValueError(
                    f"{verb} RETURN (PARTIAL) needs a range such as 1:50 (RFC 9394 §4)"
                )
            out.append(Raw(partial_range(items[i + 1]).encode("ascii")))
            i += 1
        i += 1
    return Group(tuple(out))


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
            "COUNT")``; ``()`` sends ``RETURN ()`` (the same as ALL);
            ``None``, the default, a plain SEARCH.
    """

    verb: ClassVar[str] = "SEARCH"
    criteria: Sequence[Criterion] = ("ALL",)
    uid: bool = True
    charset: str | None = None
    return_options: Sequence[str] | None = None

    def __post_init__(self) -> None:
        _set(self, "criteria", _tuple(self.criteria))
        if self.return_options is not None:
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
        if self.return_options is not None:
            out += [Raw(b"RETURN"), return_options(self.return_options, "SEARCH")]
        return out + self._program(utf8)

    def arguments(self) -> list[Arg]:
        return self._arguments(utf8=False)

    def encode(self, tag: str, options: EncodeOptions | None = None) -> Encoded:
        return encode(tag, self._arguments(utf8=options is not None and options.utf8), options)


@dataclasses.dataclass(frozen=True, slots=True)
class Sort(Command):
    """SORT (RFC 5256 §3): ``Sort(("REVERSE", "DATE"), ("SEEN",))``.

    Attributes:
        keys: sort keys, each optionally after ``REVERSE``; ``"ANNOTATION",
            entry, attribute`` sorts by an annotation (RFC 5257 §4.5:
            ``("ANNOTATION", "/altsubject", "value.shared")``).
        criteria, uid, charset: as for :class:`Search` (CHARSET is
            mandatory in SORT).
        return_options: ESORT return options (RFC 5267 §3.1): ``("MIN",
            "COUNT")``; ``("PARTIAL", "1:50")`` for a page (RFC 9394);
            ``()`` sends ``RETURN ()`` (the same as ALL). The answer is then
            an ESEARCH response. ``None``, the default, is a plain SORT.
    """

    verb: ClassVar[str] = "SORT"
    keys: Sequence[str] = ("ARRIVAL",)
    criteria: Sequence[Criterion] = ("ALL",)
    uid: bool = True
    charset: str = "UTF-8"
    return_options: Sequence[str] | None = None

    def __post_init__(self) -> None:
        _set(self, "keys", _tuple(self.keys))
        _set(self, "criteria", _tuple(self.criteria))
        if self.return_options is not None:
            _set(self, "return_options", _tuple(self.return_options))
        Command.__post_init__(self)

    def _keys(self) -> list[Arg]:
        keys: list[Arg] = []
        items = list(self.keys)
        i = 0
        last = ""
        while i < len(items):
            key = items[i]
            upper = key.upper() if isinstance(key, str) else key
            if upper == "ANNOTATION":
                if i + 2 >= len(items):
                    raise ValueError("SORT ANNOTATION needs an entry and an attribute")
                entry, attribute = items[i + 1], items[i + 2]
                keys += [Raw(b"ANNOTATION"), _annotation_entry(entry, wildcards=False)]
                if not isinstance(attribute, str) or attribute.lower() not in _ATT_SORT:
                    raise ValueError(
                        f"SORT ANNOTATION sorts by value.priv or value.shared, got {attribute!r}"
                    )
                keys.append(Raw(attribute.lower().encode("ascii")))
                i += 3
                last = "ANNOTATION"
                continue
            if upper != "REVERSE" and upper not in _SORT_KEYS:
                raise ValueError(f"not a SORT key: {key!r}")
            keys.append(Raw(upper.encode("ascii")))
            last = upper
            i += 1
        if not keys or last == "REVERSE":
            raise ValueError("SORT needs a key (REVERSE only modifies the next one)")
        return keys

    def arguments(self) -> list[Arg]:
        keys = self._keys()
        program, _ = compile_criteria(self.criteria)
        out: list[Arg] = [_uid(self.uid, b"SORT")]
        if self.return_options is not None:
            out += [Raw(b"RETURN"), return_options(self.return_options, "SORT")]
        return [*out, Group(tuple(keys)), _atom(self.charset, "charset"), *program]


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
    if item[:11].upper() == "ANNOTATION ":
        _check_annotation_item(item)
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
        partial: PARTIAL modifier (RFC 9394 §3.3; UID FETCH only): which of
            the matching messages to return, counted from the lowest UID
            (``"1:50"``, ``(1, 50)``) or, negative, from the highest
            (``"-1:-50"``).
    """

    verb: ClassVar[str] = "FETCH"
    messages: Any
    items: str | Sequence[str] = ("FLAGS",)
    uid: bool = True
    changedsince: int | None = None
    vanished: bool = False
    partial: str | tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _set(self, "messages", _messages(self.messages))
        _set(self, "items", _tuple(self.items))
        if self.vanished and (not self.uid or self.changedsince is None):
            raise ValueError("VANISHED needs UID FETCH with CHANGEDSINCE (RFC 7162 §3.2.6)")
        if self.partial is not None:
            if not self.uid:
                raise ValueError("PARTIAL is a UID FETCH modifier (RFC 9394 §3.3)")
            _set(self, "partial", partial_range(self.partial))
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
        else:
            modifiers = []
        if self.partial is not None:
            modifiers += [Raw(b"PARTIAL"), Raw(str(self.partial).encode("ascii"))]
        if modifiers:
            out.append(Group(tuple(modifiers)))
        return out


def _store_head(uid: bool, messages: Any, unchangedsince: int | None) -> list[Arg]:
    """``[UID] STORE set [(UNCHANGEDSINCE n)]`` (RFC 9051 §6.4.6, RFC 7162 §3.1.3)."""
    out: list[Arg] = [_uid(uid, b"STORE"), sequence_arg(messages)]
    if unchangedsince is not None:
        number = _number(unchangedsince, "UNCHANGEDSINCE")
        out.append(Group((Raw(b"UNCHANGEDSINCE"), number)))
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
        out = _store_head(self.uid, self.messages, self.unchangedsince)
        name = f"{self.action}{self.item.upper()}{'.SILENT' if self.silent else ''}"
        out.append(Raw(name.encode("ascii")))
        if self.item.upper() == "FLAGS":
            out.append(_flags(self.flags))
        else:
            out.append(Group(tuple(AString(label, "label") for label in self.flags)))
        return out


_PARTIAL = re.compile(r"(-?)([1-9][0-9]{0,9}):(-?)([1-9][0-9]{0,9})\Z")


def partial_range(value: str | tuple[int, int]) -> str:
    """A PARTIAL range (RFC 9394 §4) as the wire writes it, checked.

    ``"1:50"`` or ``(1, 50)`` counts from the first match, ``"-1:-50"`` or
    ``(-1, -50)`` from the last; both ends have the same sign, neither is 0.

    Raises:
        ValueError: anything else.
    """
    text = f"{value[0]}:{value[1]}" if isinstance(value, tuple) else value
    match = _PARTIAL.match(text) if isinstance(text, str) else None
    if match is None or match[1] != match[3] or max(int(match[2]), int(match[4])) > 2**32 - 1:
        raise ValueError(
            f"a PARTIAL range is n:m or -n:-m with n, m from 1 to 4294967295, got {value!r}"
        )
    return text


# RFC 5257 §5: an entry is a slash-separated path without "*" or "%"; an
# entry-match (FETCH, SEARCH) may hold them as wildcards.
_ANN_ENTRY = re.compile(r"/[\x21-\x7e]*\Z")
# Attribute names: "."-separated, no empty component (RFC 5257 §3.2).
_ANN_ATTRIB = re.compile(r"[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\Z", re.IGNORECASE)
_ATT_SORT = ("value.priv", "value.shared")
_ATT_SEARCH = ("value", "value.priv", "value.shared")


def _annotation_entry(name: object, *, wildcards: bool) -> AString:
    """An entry (or, with ``wildcards``, an entry-match) as RFC 5257 §3.2 allows it.

    A ``/``-separated ASCII path with no ``//``, no trailing ``/``, no ``*``
    or ``%`` (unless a match), and not the reserved ``/flags`` hierarchy
    (§3.5).
    """
    if (
        not isinstance(name, str)
        or not _ANN_ENTRY.match(name)
        or (not wildcards and ("*" in name or "%" in name))
        or "//" in name
        or name.endswith("/")
        or '"' in name
        or "\\" in name
    ):
        raise ValueError(
            f"not an annotation entry (RFC 5257 §3.2: '/'-separated ASCII path, no '//', "
            f"no trailing '/'{'' if wildcards else ', without * or %'}): {name!r}"
        )
    if name == "/flags" or name.startswith("/flags/"):
        raise ValueError(f"the /flags annotation entries are reserved (RFC 5257 §3.5): {name!r}")
    return AString(name, "annotation entry")


def _annotation_attribute(name: object) -> Raw:
    """An attribute (RFC 5257 §3.2): "."-separated, ``priv``/``shared`` only as the suffix."""
    if not isinstance(name, str) or not _ANN_ATTRIB.match(name):
        raise ValueError(f"not an annotation attribute (RFC 5257 §3.2): {name!r}")
    if {"priv", "shared"} & {part.lower() for part in name.split(".")[:-1]}:
        raise ValueError(f"priv and shared may only end an attribute (RFC 5257 §3.3): {name!r}")
    return Raw(name.encode("ascii"))


_ANNOTATION_FETCH = re.compile(r"ANNOTATION \((\([^()]*\)|[^ ()]+) (\([^()]*\)|[^ ()]+)\)\Z", re.I)


def _check_annotation_item(item: str) -> None:
    """The entries and attributes of an ``ANNOTATION (...)`` FETCH item (RFC 5257 §3.2)."""
    match = _ANNOTATION_FETCH.match(item)
    if match is None:
        raise ValueError(f"not a FETCH item: {item!r}")
    for entry in match[1].strip("()").split():
        _annotation_entry(entry, wildcards=True)
    for attribute in match[2].strip("()").split():
        _annotation_attribute(attribute)


def annotation_item(entries: str | Sequence[str], attributes: str | Sequence[str]) -> str:
    """A FETCH item asking for annotations (RFC 5257 §4.2).

    ``annotation_item("/comment", "value")`` is ``ANNOTATION (/comment
    value)``; ``annotation_item("/*", ["value", "size"])`` asks for every
    entry's value and size. Entries may hold ``*`` and ``%`` wildcards.

    Raises:
        ValueError: a malformed entry or attribute.
    """
    names = _tuple(entries)
    attrs = _tuple(attributes)
    if not names or not attrs:
        raise ValueError("ANNOTATION needs at least one entry and one attribute")
    for name in names:
        _annotation_entry(name, wildcards=True)
    entry_text = [str(name) for name in names]
    attr_text = [_annotation_attribute(a).data.decode("ascii") for a in attrs]
    e = entry_text[0] if len(names) == 1 else f"({' '.join(entry_text)})"
    a = attr_text[0] if len(attrs) == 1 else f"({' '.join(attr_text)})"
    item = f"ANNOTATION ({e} {a})"
    _fetch_item(item)
    return item


@dataclasses.dataclass(frozen=True, slots=True)
class StoreAnnotation(Command):
    """STORE ... ANNOTATION (RFC 5257 §4.3): set or remove message annotations.

    ``StoreAnnotation("1", {"/comment": {"value.shared": "Seen it"}})``; a
    ``None`` value removes that attribute.

    Attributes:
        messages: the message set (UIDs when ``uid``).
        annotations: entry to attribute to value (``str``, ``bytes`` or
            ``None``); attributes are ``value.priv`` or ``value.shared``.
        uid: UID STORE.
        unchangedsince: only where the mod-sequence is not above this
            (RFC 7162 §3.1.3).
    """

    verb: ClassVar[str] = "STORE"
    messages: Any
    annotations: Mapping[str, Mapping[str, str | bytes | None]] = dataclasses.field(
        default_factory=dict
    )
    uid: bool = True
    unchangedsince: int | None = None

    def __post_init__(self) -> None:
        _set(self, "messages", _messages(self.messages))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        out = _store_head(self.uid, self.messages, self.unchangedsince)
        if not self.annotations:
            raise ValueError("STORE ANNOTATION needs at least one entry")
        items: list[Arg] = []
        for entry, values in self.annotations.items():
            if not values:
                raise ValueError(f"annotation entry {entry!r} needs at least one attribute")
            pairs: list[Arg] = []
            for attribute, value in values.items():
                if not isinstance(attribute, str) or attribute.lower() not in _ATT_SORT:
                    raise ValueError(
                        f"STORE ANNOTATION sets value.priv or value.shared, got {attribute!r}"
                    )
                pairs += [Raw(attribute.lower().encode("ascii")), NString(value, "annotation")]
            items += [_annotation_entry(entry, wildcards=False), Group(tuple(pairs))]
        return [*out, Raw(b"ANNOTATION"), Group(tuple(items))]


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
