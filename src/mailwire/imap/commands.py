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
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from mailwire.imap._command_base import (  # the shared argument checks
    Command,
    _atom,
    _date_time,
    _flags,
    _number,
    _set,
    _tuple,
)
from mailwire.imap._extension_commands import (
    DeleteAcl,
    GetAcl,
    ListRights,
    MyRights,
    Notify,
    NotifyGroup,
    SetAcl,
)
from mailwire.imap._message_commands import (
    Check,
    Close,
    Copy,
    Expunge,
    Fetch,
    GetMetadata,
    GetQuota,
    GetQuotaRoot,
    Move,
    Search,
    SetMetadata,
    SetQuota,
    Sort,
    Store,
    StoreAnnotation,
    Thread,
    Unselect,
    annotation_item,
    body_section,
    partial_range,
)
from mailwire.imap._writer import Arg, AString, Group, Literal, MailboxName, NString, Raw, Secret
from mailwire.imap.search import sequence_arg

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
    "DeleteAcl",
    "Enable",
    "Examine",
    "Expunge",
    "Fetch",
    "GetAcl",
    "GetMetadata",
    "GetQuota",
    "GetQuotaRoot",
    "Id",
    "Idle",
    "List",
    "ListRights",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "MyRights",
    "Namespace",
    "Noop",
    "Notify",
    "NotifyGroup",
    "QResync",
    "Rename",
    "Search",
    "Select",
    "SetAcl",
    "SetMetadata",
    "SetQuota",
    "Sort",
    "StartTLS",
    "Status",
    "Store",
    "StoreAnnotation",
    "Subscribe",
    "Thread",
    "Unselect",
    "Unsubscribe",
    "annotation_item",
    "body_section",
    "partial_range",
]


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
        # RFC 2971 §3.3: fields at most 30 octets, values at most 1024, at most 30 pairs.
        if len(self.params) > 30:
            raise ValueError(f"ID takes at most 30 field-value pairs, got {len(self.params)}")
        items: list[Arg] = []
        for key, value in self.params.items():
            if len(key.encode("utf-8")) > 30:
                raise ValueError(f"ID field {key[:40]!r} is longer than 30 octets")
            if value is not None and len(value.encode("utf-8")) > 1024:
                raise ValueError(f"ID value of {key!r} is longer than 1024 octets")
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
    """SELECT (RFC 9051 §6.3.2), optionally with CONDSTORE or QRESYNC (RFC 7162).

    ``annotate`` adds the ANNOTATE select parameter (RFC 5257 §4.1), which
    makes FETCH answers carry annotation changes.
    """

    verb: ClassVar[str] = "SELECT"
    mailbox: str
    condstore: bool = False
    qresync: QResync | None = None
    annotate: bool = False

    def arguments(self) -> list[Arg]:
        out: list[Arg] = [Raw(self.verb.encode()), MailboxName(self.mailbox)]
        params: list[Arg] = []
        if self.qresync is not None:
            group = self.qresync.argument()
            assert isinstance(group, Group)
            params.extend(group.items)  # QRESYNC (...)
        elif self.condstore:
            params.append(Raw(b"CONDSTORE"))
        if self.annotate:
            params.append(Raw(b"ANNOTATE"))
        if params:
            out.append(Group(tuple(params)))
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
