"""Which command an untagged response belongs to, and what it does to the mailbox.

Untagged data carries no tag (RFC 9051 §2.2.2), so the connection decides
from its kind, and from the commands in flight, which command it answers
(:func:`route`). Data no command asked for is *unsolicited* (RFC 9051 §7:
"the client MUST be prepared to accept any response at all times"): message
counts, expunges, flag changes, alerts, BYE. Either way the connection
applies it to the selected mailbox (:func:`apply`), so the session state is
current whoever reads the event, and nothing piles up (security.md S23).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable

from mailwire.imap._append import Step
from mailwire.imap._seqset import SequenceSet
from mailwire.imap._session import SelectedMailbox
from mailwire.imap._state import State
from mailwire.imap.events import (
    AclData,
    CapabilityData,
    Continuation,
    Enabled,
    ESearchData,
    Exists,
    ExpungeData,
    FetchData,
    Flags,
    IdData,
    ListData,
    ListRightsData,
    MetadataData,
    MyRightsData,
    NamespaceData,
    Quota,
    QuotaRoot,
    Recent,
    Response,
    SearchData,
    SortData,
    StatusData,
    StatusResponse,
    Tagged,
    ThreadData,
    Vanished,
)

__all__ = ["InFlight", "apply", "covers", "describe", "route"]


@dataclasses.dataclass(slots=True, eq=False)
class InFlight:
    """A command sent (or queued to be written) whose completion has not come.

    Attributes:
        tag: its tag.
        command: the command object.
        verb: its verb, upper case, without ``UID``.
        uid: a UID command (UID FETCH, UID STORE, ...).
        steps: the pieces not yet written (see :mod:`._append`).
        slot_left: octets of caller data still due for the current slot
            (-1: not inside a slot).
        plus: a ``+`` arrived for the step that waits for one.
        sent_at: how many octets had been received when its first piece was
            written (-1: not written yet); its completion must come later (S7).
        exclusive: it changes the state; nothing is sent while it runs.
        sequence_numbers: it uses message sequence numbers (RFC 9051 §5.5).
        messages: the message set it names, for routing FETCH data.
        before: the state when it was sent (IDLE returns to it).
        mailbox: SELECT/EXAMINE: the mailbox being opened; STATUS: the name.
        wants_plus: continuations go to the flow (AUTHENTICATE, IDLE).
    """

    tag: str
    command: object
    verb: str
    uid: bool
    steps: deque[Step]
    slot_left: int = -1
    plus: bool = False
    sent_at: int = -1
    exclusive: bool = False
    sequence_numbers: bool = False
    messages: SequenceSet | None = None
    before: State = State.NOT_AUTHENTICATED
    mailbox: SelectedMailbox | str | None = None
    wants_plus: bool = False


def covers(messages: SequenceSet | None, number: int) -> bool:
    """Whether ``number`` is in ``messages``, reading ``*`` as "the largest there is"."""
    if messages is None:
        return False
    for first, last in messages.ranges:
        if first is None and last is None:
            return True
        if first is None or last is None:
            bound = first if last is None else last
            assert bound is not None
            if number >= bound:
                return True
            continue
        if min(first, last) <= number <= max(first, last):
            return True
    return False


_SELECT = ("SELECT", "EXAMINE")
_EXPUNGING = ("EXPUNGE", "MOVE", "CLOSE")


def _first(entries: Iterable[InFlight], *verbs: str) -> InFlight | None:
    for entry in entries:
        if entry.verb in verbs:
            return entry
    return None


def route(response: Response, entries: Iterable[InFlight]) -> InFlight | None:
    """The in-flight command ``response`` answers, or ``None`` when unsolicited.

    Continuations and tagged responses are the connection's business and are
    not routed here.
    """
    table = list(entries)
    if isinstance(response, FetchData):
        return _route_fetch(response, table)
    if isinstance(response, Exists | Recent | Flags):
        return _first(table, *_SELECT)
    if isinstance(response, ExpungeData):
        return _first(table, *_EXPUNGING)
    if isinstance(response, Vanished):
        if response.earlier:
            return _first(table, *_SELECT, "FETCH")
        return _first(table, *_EXPUNGING)
    if isinstance(response, StatusResponse):
        return _route_status(response, table)
    if isinstance(response, SearchData):
        return _first(table, "SEARCH")
    if isinstance(response, ESearchData):
        for entry in table:
            if entry.tag == response.tag:
                return entry
        return _first(table, "SEARCH", "SORT")
    simple: list[tuple[type[Response], tuple[str, ...]]] = [
        (CapabilityData, ("CAPABILITY",)),
        (ListData, ("LIST", "LSUB", "XLIST")),
        (SortData, ("SORT",)),
        (ThreadData, ("THREAD",)),
        (Enabled, ("ENABLE",)),
        (IdData, ("ID",)),
        (NamespaceData, ("NAMESPACE",)),
        (Quota, ("GETQUOTA", "GETQUOTAROOT")),
        (QuotaRoot, ("GETQUOTAROOT",)),
        (MetadataData, ("GETMETADATA",)),
        (AclData, ("GETACL",)),
        (ListRightsData, ("LISTRIGHTS",)),
        (MyRightsData, ("MYRIGHTS",)),
    ]
    for kind, verbs in simple:
        if isinstance(response, kind):
            if isinstance(response, MetadataData) and response.changed_only:
                return None  # RFC 5464 §4.4.2: an unsolicited change notice
            return _first(table, *verbs)
    if isinstance(response, StatusData):
        for entry in table:
            if entry.verb == "STATUS" and entry.mailbox == response.mailbox:
                return entry
        # LIST-STATUS (RFC 5819); NOTIFY SET STATUS (RFC 5465 §3.1).
        return _first(table, "LIST", "NOTIFY")
    return None


def _route_fetch(response: FetchData, table: list[InFlight]) -> InFlight | None:
    for entry in table:
        if entry.verb not in ("FETCH", "STORE"):
            continue
        if entry.uid:
            if response.uid is not None and covers(entry.messages, response.uid):
                return entry
        elif covers(entry.messages, response.seq):
            return entry
    # RFC 7162 §3.2.5.2: SELECT with QRESYNC reports changed messages as FETCH.
    return _first(table, *_SELECT)


def _route_status(response: StatusResponse, table: list[InFlight]) -> InFlight | None:
    if response.status == "BYE":
        return _first(table, "LOGOUT")
    code = response.code.name if response.code is not None else None
    if code in ("ALERT", "WEBALERT") or response.status != "OK":
        return None
    if code == "COPYUID":
        return _first(table, "MOVE", "COPY")  # RFC 6851 §4.3
    return _first(table, *_SELECT)  # UIDVALIDITY, UIDNEXT, PERMANENTFLAGS ...


def apply(mailbox: SelectedMailbox | None, response: Response) -> None:
    """Bring ``mailbox`` up to date with ``response`` (nothing per message is kept)."""
    if mailbox is None:
        return
    if isinstance(response, Exists):
        mailbox.exists = response.count
    elif isinstance(response, ExpungeData):
        mailbox.exists = max(0, mailbox.exists - 1)
        mailbox.expunged += 1
    elif isinstance(response, Vanished):
        if not response.earlier and not response.uids.has_star:
            gone = sum(abs((b or 0) - (a or 0)) + 1 for a, b in response.uids.ranges)
            mailbox.exists = max(0, mailbox.exists - gone)
            mailbox.expunged += gone
    elif isinstance(response, Recent):
        mailbox.recent = response.count
    elif isinstance(response, Flags):
        mailbox.flags = response.flags
    elif isinstance(response, FetchData):
        if response.modseq is not None and mailbox.highestmodseq is not None:
            mailbox.highestmodseq = max(mailbox.highestmodseq, response.modseq)
    elif isinstance(response, StatusResponse | Tagged) and response.code is not None:
        _apply_code(mailbox, response.code.name, response.code.value)


def _apply_code(mailbox: SelectedMailbox, name: str, value: object) -> None:
    if name == "UIDVALIDITY" and isinstance(value, int):
        if mailbox.uidvalidity is not None and mailbox.uidvalidity != value:
            mailbox.uidvalidity_changed = True  # RFC 9051 §2.3.1.1
        mailbox.uidvalidity = value
    elif name == "UIDNEXT" and isinstance(value, int):
        mailbox.uidnext = value
    elif name == "UNSEEN" and isinstance(value, int):
        mailbox.unseen = value
    elif name == "HIGHESTMODSEQ" and isinstance(value, int):
        mailbox.highestmodseq = value
    elif name == "NOMODSEQ":
        mailbox.nomodseq = True
        mailbox.highestmodseq = None
    elif name == "PERMANENTFLAGS" and isinstance(value, tuple):
        mailbox.permanent_flags = tuple(str(v) for v in value)
    elif name == "READ-ONLY":
        mailbox.readonly = True
    elif name == "READ-WRITE":
        mailbox.readonly = False
    elif name == "UIDNOTSTICKY":
        mailbox.uidnotsticky = True
    elif name == "MAILBOXID" and isinstance(value, str):
        mailbox.mailboxid = value
    elif name == "ANNOTATIONS" and isinstance(value, str):
        mailbox.annotations = value.upper()


_SECTIONS = {
    "Exists": "RFC 9051 §7.4.1",
    "ExpungeData": "RFC 9051 §7.5.1",
    "Vanished": "RFC 7162 §3.2.10",
    "FetchData": "RFC 9051 §7.5.2",
    "Flags": "RFC 9051 §7.3.5",
    "Recent": "RFC 3501 §7.3.2",
    "StatusResponse": "RFC 9051 §7.1",
    "CapabilityData": "RFC 9051 §7.2.2",
    "ListData": "RFC 9051 §7.3.1",
    "StatusData": "RFC 9051 §7.3.2",
    "SearchData": "RFC 3501 §7.2.5",
    "ESearchData": "RFC 9051 §7.3.4",
    "AclData": "RFC 4314 §3.6",
    "ListRightsData": "RFC 4314 §3.7",
    "MyRightsData": "RFC 4314 §3.8",
}


def describe(
    response: Response | Continuation,
    owner: InFlight | None,
    before: State,
    after: State,
) -> str:
    """One line for learners: what arrived, what it answers, the state change."""
    change = f"{before.name} -> {after.name}" if before is not after else f"stays {after.name}"
    name = type(response).__name__
    if isinstance(response, Tagged):
        verb = owner.verb if owner is not None else "?"
        code = f" [{response.code.name}]" if response.code is not None else ""
        return f"{response.tag} {response.status}{code} completes {verb} (RFC 9051 §7.1); {change}"
    if isinstance(response, Continuation):
        verb = owner.verb if owner is not None else "?"
        return f"+ continuation for {verb} (RFC 9051 §7.5); {change}"
    section = _SECTIONS.get(name, "RFC 9051 §7")
    if isinstance(response, StatusResponse):
        code = f" [{response.code.name}]" if response.code is not None else ""
        name = f"* {response.status}{code}"
    whose = f"answers {owner.verb} {owner.tag}" if owner is not None else "unsolicited"
    return f"{name}: {whose} ({section}); {change}"
