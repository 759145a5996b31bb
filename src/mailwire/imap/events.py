"""What the IMAP parser hands out: one frozen object per server response.

Names are nouns. Where a response keyword is also a command verb (FETCH,
LIST, STATUS, SEARCH, ...), the response class carries a ``Data`` suffix
(:class:`FetchData`, :class:`ListData`, ...) so that the command class can
have the verb's name (``imap.Fetch``, ``imap.List``). Status responses are
:class:`Tagged` (completion of a command), :class:`StatusResponse` (untagged
OK / NO / BAD / PREAUTH / BYE) and :class:`Continuation` (``+``).

Every response has ``defects``: the server deviations the parser accepted
while reading it (RFC 9051 grammar broken in a known, harmless way). An empty
tuple means the response was exactly as the RFC has it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import TypeAlias

from mailwire.imap._seqset import SequenceSet
from mailwire.imap.structures import BodyStructure, Envelope, empty

__all__ = [
    "AclData",
    "AppendUid",
    "CapabilityData",
    "CodeValue",
    "Continuation",
    "CopyUid",
    "Defect",
    "ESearchData",
    "Enabled",
    "Exists",
    "ExpungeData",
    "FetchData",
    "Flags",
    "IdData",
    "ListData",
    "ListRightsData",
    "MetadataData",
    "MyRightsData",
    "NamespaceData",
    "NamespaceInfo",
    "Quota",
    "QuotaResource",
    "QuotaRoot",
    "Recent",
    "Response",
    "ResponseCode",
    "SearchData",
    "SortData",
    "StatusData",
    "StatusResponse",
    "Tagged",
    "ThreadData",
    "UntaggedData",
    "Vanished",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Defect:
    """A deviation from the RFC that the parser accepted.

    Attributes:
        kind: a short stable name (``"nil-delimiter"``, ``"missing-text"``,
            ``"negative-number"``, ...), for tests and statistics.
        detail: what exactly was seen.
    """

    kind: str
    detail: str = ""


class Response:
    """Base class of every parsed response (for ``isinstance`` checks)."""

    __slots__ = ()
    defects: tuple[Defect, ...]


# --------------------------------------------------------------- codes


@dataclasses.dataclass(frozen=True, slots=True)
class AppendUid:
    """APPENDUID (RFC 4315 §3): where APPEND put the message(s).

    Attributes:
        uidvalidity: the UIDVALIDITY of the destination mailbox.
        uids: the UIDs given to the appended messages (MULTIAPPEND: several).
    """

    uidvalidity: int
    uids: SequenceSet


@dataclasses.dataclass(frozen=True, slots=True)
class CopyUid:
    """COPYUID (RFC 4315 §3): the UIDs COPY / MOVE gave the copies.

    Attributes:
        uidvalidity: the UIDVALIDITY of the destination mailbox.
        source: the UIDs of the source messages.
        destination: their new UIDs, in the same order.
    """

    uidvalidity: int
    source: SequenceSet
    destination: SequenceSet


#: The typed argument of a :class:`ResponseCode`.
CodeValue: TypeAlias = (
    int | str | tuple[str, ...] | SequenceSet | AppendUid | CopyUid | tuple[str, int | None] | None
)


@dataclasses.dataclass(frozen=True, slots=True)
class ResponseCode:
    """A response code, the bracketed part of a status response (RFC 9051 §7.1).

    ``value`` depends on ``name``:

    ===================================================  ======================
    name                                                 value
    ===================================================  ======================
    CAPABILITY, PERMANENTFLAGS, BADCHARSET               ``tuple[str, ...]``
    UIDNEXT, UIDVALIDITY, UNSEEN, HIGHESTMODSEQ,         ``int``
    APPENDLIMIT
    APPENDUID                                            :class:`AppendUid`
    COPYUID                                              :class:`CopyUid`
    MODIFIED                                             :class:`SequenceSet`
    WEBALERT, REFERRAL, MAILBOXID, BADURL                ``str``
    METADATA (RFC 5464 §4.2.1)                           ``(kind, number)``
    ALERT, PARSE, READ-ONLY, TRYCREATE, NOMODSEQ,        ``None``
    CLOSED, the RFC 5530 codes (AUTHENTICATIONFAILED,
    OVERQUOTA, ...) and the other argument-less codes
    any other code                                       its argument as
                                                         ``str``, or ``None``
    ===================================================  ======================

    Attributes:
        name: the code, upper case (codes are case-insensitive).
        value: its argument, typed as above.
        text: the argument exactly as sent (``None`` when there was none).
    """

    name: str
    value: CodeValue = None
    text: str | None = None


# --------------------------------------------------------------- status


@dataclasses.dataclass(frozen=True, slots=True)
class Tagged(Response):
    """A tagged status response: the completion of one command.

    Attributes:
        tag: the command's tag.
        status: ``"OK"``, ``"NO"`` or ``"BAD"``.
        code: the response code, if any.
        text: the human-readable text.
    """

    tag: str
    status: str
    code: ResponseCode | None = None
    text: str = ""
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class StatusResponse(Response):
    """An untagged status response: ``* OK``, ``NO``, ``BAD``, ``PREAUTH``, ``BYE``.

    A greeting is one of these (OK, PREAUTH or BYE); an untagged BYE says the
    server is closing the connection.

    Attributes:
        status: ``"OK"``, ``"NO"``, ``"BAD"``, ``"PREAUTH"`` or ``"BYE"``.
        code: the response code, if any.
        text: the human-readable text.
    """

    status: str
    code: ResponseCode | None = None
    text: str = ""
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Continuation(Response):
    """A continuation request ``+ ...`` (RFC 9051 §7.5).

    Attributes:
        text: what follows ``+ ``: text, or base64 during AUTHENTICATE.
        code: a response code, when the text starts with one.
    """

    text: str = ""
    code: ResponseCode | None = None
    defects: tuple[Defect, ...] = ()


# --------------------------------------------------------------- server and mailbox data


@dataclasses.dataclass(frozen=True, slots=True)
class CapabilityData(Response):
    """``* CAPABILITY ...`` (RFC 9051 §7.2.2); names upper case."""

    capabilities: tuple[str, ...]
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Enabled(Response):
    """``* ENABLED ...`` (RFC 5161 §3.2): the extensions now enabled."""

    capabilities: tuple[str, ...]
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class IdData(Response):
    """``* ID (...)`` (RFC 2971 §3.2): the server's identification.

    Attributes:
        params: field to value (``None`` for NIL); ``None`` when the server
            sent ``ID NIL``.
    """

    params: dict[str, str | None] | None
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class NamespaceInfo:
    """One namespace of a NAMESPACE response (RFC 2342, RFC 9051 §7.3.3).

    Attributes:
        prefix: the prefix of the namespace (``""``, ``"INBOX."``, ...).
        delimiter: the hierarchy delimiter, or ``None`` (flat).
        extensions: extension name to values (RFC 5255 TRANSLATION, ...).
    """

    prefix: str
    delimiter: str | None
    extensions: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class NamespaceData(Response):
    """``* NAMESPACE`` (RFC 9051 §7.3.3): personal, other users', shared."""

    personal: tuple[NamespaceInfo, ...]
    other: tuple[NamespaceInfo, ...]
    shared: tuple[NamespaceInfo, ...]
    defects: tuple[Defect, ...] = ()


#: RFC 9051 §6.3.9.4, Table 2: an attribute -> the stronger ones that imply it.
_IMPLIED_BY: dict[str, tuple[str, ...]] = {
    "\\hasnochildren": ("\\noinferiors",),
    "\\noselect": ("\\nonexistent",),
}


@dataclasses.dataclass(frozen=True, slots=True)
class ListData(Response):
    """``* LIST`` / ``* LSUB`` / ``* XLIST`` (RFC 9051 §7.3.1, RFC 5258, RFC 6154).

    Attributes:
        attributes: name attributes as sent (``\\HasNoChildren``,
            ``\\Sent``, ...); compare case-insensitively.
        delimiter: the hierarchy delimiter, or ``None`` (NIL).
        name: the mailbox name, decoded from modified UTF-7 (RFC 3501
            §5.1.3) or UTF-8.
        childinfo: CHILDINFO extended data (RFC 5258 §4), upper case.
        oldname: OLDNAME extended data (RFC 5465 §5.4, RFC 9051 §7.3.1).
        extended: every extended data item by upper-case tag, as generic
            values (atoms ``str``, strings ``bytes``, lists ``tuple``).
        kind: ``"LIST"``, ``"LSUB"`` or ``"XLIST"``.
        raw_name: the mailbox name's octets as sent.
    """

    attributes: tuple[str, ...]
    delimiter: str | None
    name: str
    childinfo: tuple[str, ...] = ()
    oldname: str | None = None
    extended: dict[str, object] = dataclasses.field(default_factory=dict)
    kind: str = "LIST"
    raw_name: bytes = b""
    defects: tuple[Defect, ...] = ()

    def has_attribute(self, attribute: str) -> bool:
        """Whether ``attribute`` (``"\\\\Noselect"``...) is set, ignoring case.

        An attribute implied by a stronger one counts as set (RFC 9051
        §6.3.9.4, Table 2): ``\\\\NoInferiors`` implies ``\\\\HasNoChildren``,
        ``\\\\NonExistent`` implies ``\\\\Noselect``.
        """
        wanted = attribute.lower()
        given = {a.lower() for a in self.attributes}
        return wanted in given or any(strong in given for strong in _IMPLIED_BY.get(wanted, ()))


@dataclasses.dataclass(frozen=True, slots=True)
class StatusData(Response):
    """``* STATUS mailbox (...)`` (RFC 9051 §7.3.2, RFC 7162, RFC 8438, RFC 7889).

    Attributes:
        mailbox: the mailbox name, decoded.
        items: each attribute by upper-case name: MESSAGES, UIDNEXT,
            UIDVALIDITY, UNSEEN, DELETED, SIZE, RECENT, HIGHESTMODSEQ,
            APPENDLIMIT (``None`` for NIL: no limit), MAILBOXID (``str``).
    """

    mailbox: str
    items: dict[str, int | str | None]
    defects: tuple[Defect, ...] = ()

    def _int(self, name: str) -> int | None:
        value = self.items.get(name)
        return value if isinstance(value, int) else None

    @property
    def messages(self) -> int | None:
        """MESSAGES."""
        return self._int("MESSAGES")

    @property
    def uidnext(self) -> int | None:
        """UIDNEXT."""
        return self._int("UIDNEXT")

    @property
    def uidvalidity(self) -> int | None:
        """UIDVALIDITY."""
        return self._int("UIDVALIDITY")

    @property
    def unseen(self) -> int | None:
        """UNSEEN."""
        return self._int("UNSEEN")

    @property
    def highestmodseq(self) -> int | None:
        """HIGHESTMODSEQ (RFC 7162)."""
        return self._int("HIGHESTMODSEQ")


@dataclasses.dataclass(frozen=True, slots=True)
class Flags(Response):
    """``* FLAGS (...)`` (RFC 9051 §7.3.5): the flags defined in the mailbox."""

    flags: tuple[str, ...]
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Exists(Response):
    """``* n EXISTS`` (RFC 9051 §7.4.1): the mailbox now holds n messages."""

    count: int
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Recent(Response):
    """``* n RECENT`` (RFC 3501 §7.3.2; obsolete in IMAP4rev2)."""

    count: int
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ExpungeData(Response):
    """``* n EXPUNGE`` (RFC 9051 §7.5.1): message number n is gone.

    Numbers of later messages drop by one at once.
    """

    number: int
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Vanished(Response):
    """``* VANISHED [(EARLIER)] uids`` (RFC 7162 §3.2.10).

    Attributes:
        uids: the UIDs of the expunged messages.
        earlier: ``True`` for the (EARLIER) form, an answer to a FETCH or
            SELECT with QRESYNC rather than news.
    """

    uids: SequenceSet
    earlier: bool = False
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class SearchData(Response):
    """``* SEARCH ...`` (RFC 3501 §7.2.5) with RFC 7162's ``(MODSEQ n)``.

    Attributes:
        numbers: the matching message numbers or UIDs, in the server's order.
        modseq: the highest mod-sequence of the matches (CONDSTORE).
    """

    numbers: tuple[int, ...]
    modseq: int | None = None
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ESearchData(Response):
    """``* ESEARCH ...`` (RFC 4731, RFC 9051 §7.3.4, RFC 9394 PARTIAL).

    Attributes:
        tag: the tag of the command it answers (search correlator).
        uid: whether the numbers are UIDs.
        min, max, count: those return data, when asked for.
        all: ALL as a sequence set.
        modseq: MODSEQ (RFC 7162 §3.1.5).
        partial: PARTIAL (RFC 9394): the range asked for and the set found
            (``None`` for NIL).
        relevancy: RELEVANCY (RFC 6203 §6): a score from 1 to 100 per
            result, in the order of the results.
        items: every return datum by upper-case name, as generic values.
    """

    tag: str | None = None
    uid: bool = False
    min: int | None = None
    max: int | None = None
    count: int | None = None
    all: SequenceSet | None = None
    modseq: int | None = None
    partial: tuple[str, SequenceSet | None] | None = None
    relevancy: tuple[int, ...] | None = None
    items: dict[str, object] = dataclasses.field(default_factory=dict)
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class SortData(Response):
    """``* SORT ...`` (RFC 5256 §4), with an optional ``(MODSEQ n)``."""

    numbers: tuple[int, ...]
    modseq: int | None = None
    defects: tuple[Defect, ...] = ()


#: A thread: message numbers in order, a nested tuple where it branches.
Thread: TypeAlias = "tuple[int | Thread, ...]"


@dataclasses.dataclass(frozen=True, slots=True)
class ThreadData(Response):
    """``* THREAD ...`` (RFC 5256 §4).

    Attributes:
        threads: one entry per thread. ``(3, 6, (4, 23), (44, 7, 96))``
            reads: 3, then its reply 6, which has two reply chains: 4-23 and
            44-7-96.
    """

    threads: tuple[Thread, ...]
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaResource:
    """One resource of a QUOTA response (RFC 9208 §5.1): usage and limit."""

    name: str
    usage: int
    limit: int


@dataclasses.dataclass(frozen=True, slots=True)
class Quota(Response):
    """``* QUOTA root (...)`` (RFC 9208 §5.1)."""

    root: str
    resources: tuple[QuotaResource, ...]
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaRoot(Response):
    """``* QUOTAROOT mailbox root...`` (RFC 9208 §5.2)."""

    mailbox: str
    roots: tuple[str, ...]
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class MetadataData(Response):
    """``* METADATA mailbox ...`` (RFC 5464 §4.4).

    Attributes:
        mailbox: the mailbox (``""`` for server annotations).
        entries: entry name to value (``None`` for NIL). For the unsolicited
            form, which only names entries that changed, every value is
            ``None`` and ``changed_only`` is set.
        changed_only: whether this is the unsolicited form.
    """

    mailbox: str
    entries: dict[str, bytes | None]
    changed_only: bool = False
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class AclData(Response):
    """``* ACL mailbox identifier rights ...`` (RFC 4314 §3.6): a mailbox's access list.

    Attributes:
        mailbox: the mailbox.
        rights: identifier to its rights (``{"fred": "lrswipkxtea"}``); an
            identifier may begin with ``-`` for negative rights (§2).
    """

    mailbox: str
    rights: dict[str, str]
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ListRightsData(Response):
    """``* LISTRIGHTS mailbox identifier required optional...`` (RFC 4314 §3.7).

    Attributes:
        mailbox, identifier: what was asked about.
        required: the rights the identifier always has (may be ``""``).
        optional: the rights that can be granted, each group granted or
            revoked together (``("l", "r", "s", "wi")``).
    """

    mailbox: str
    identifier: str
    required: str
    optional: tuple[str, ...] = ()
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class MyRightsData(Response):
    """``* MYRIGHTS mailbox rights`` (RFC 4314 §3.8): what the logged-in user may do."""

    mailbox: str
    rights: str
    defects: tuple[Defect, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class UntaggedData(Response):
    """Any other untagged response (ANNOTATION, X-...).

    Attributes:
        name: the keyword, upper case.
        number: the number before the keyword (``* 3 XYZ``), if any.
        values: the rest as generic values: atoms ``str``, numbers
            ``int``, strings ``bytes``, NIL ``None``, lists ``tuple``.
        text: the rest as text, for responses that are not lists.
    """

    name: str
    number: int | None = None
    values: tuple[object, ...] = ()
    text: str = ""
    defects: tuple[Defect, ...] = ()


# --------------------------------------------------------------- FETCH


@dataclasses.dataclass(frozen=True, slots=True)
class FetchData(Response):
    """``* n FETCH (...)`` (RFC 9051 §7.5.2): data about one message.

    A field is ``None`` when the response did not carry that item.

    Attributes:
        seq: the message sequence number.
        uid: UID.
        flags: FLAGS, as sent (``\\Seen``, ``$Forwarded``...).
        internaldate: INTERNALDATE, aware.
        size: RFC822.SIZE.
        envelope: ENVELOPE.
        bodystructure: BODYSTRUCTURE, or the non-extensible BODY.
        sections: BODY[...], BINARY[...] and RFC822, RFC822.HEADER,
            RFC822.TEXT contents keyed as the server names them, upper case
            (``"BODY[]"`` also answers ``BODY.PEEK[]``; ``"BODY[]<0>"`` a
            partial fetch). ``None`` for NIL.
        streamed: sections that went to a sink instead, with their sizes.
        binary_sizes: BINARY.SIZE[...] by section (``"1.2"``).
        modseq: MODSEQ (RFC 7162).
        emailid, threadid: EMAILID and THREADID (RFC 8474).
        savedate: SAVEDATE (RFC 8514); ``None`` also for NIL.
        preview: PREVIEW (RFC 8970).
        gm_msgid, gm_thrid, gm_labels: Gmail's X-GM-MSGID, X-GM-THRID and
            X-GM-LABELS.
        other: unknown items by upper-case name, as generic values.
        annotations: ANNOTATION (RFC 5257 §4.2): entry name to attribute
            name to value (``None`` for NIL). An entry the server only names
            (the unsolicited form after a STORE, §4.3) maps to ``{}``.
    """

    seq: int
    uid: int | None = None
    flags: tuple[str, ...] | None = None
    internaldate: datetime | None = None
    size: int | None = None
    envelope: Envelope | None = None
    bodystructure: BodyStructure | None = None
    sections: Mapping[str, bytes | None] = dataclasses.field(default_factory=empty)
    streamed: Mapping[str, int] = dataclasses.field(default_factory=empty)
    binary_sizes: Mapping[str, int] = dataclasses.field(default_factory=empty)
    modseq: int | None = None
    emailid: str | None = None
    threadid: str | None = None
    savedate: datetime | None = None
    preview: str | None = None
    gm_msgid: int | None = None
    gm_thrid: int | None = None
    gm_labels: tuple[str, ...] | None = None
    other: Mapping[str, object] = dataclasses.field(default_factory=empty)
    defects: tuple[Defect, ...] = ()
    # Last, so the fast path's positional constructor is unaffected.
    annotations: Mapping[str, Mapping[str, bytes | None]] | None = None
