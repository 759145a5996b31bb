"""Commands of the ACL (RFC 4314) and NOTIFY (RFC 5465) extensions.

ACL: GETACL, SETACL, DELETEACL, LISTRIGHTS and MYRIGHTS, each on one
mailbox. Rights are the letters and digits of RFC 4314 §2.1 (``lrswipkxtea``
and the obsolete ``c`` and ``d``); SETACL may prefix them with ``+`` or ``-``
to add or remove rather than replace (§3.1). An identifier is any string
without CR, LF or NUL; a leading ``-`` names negative rights (§2).

NOTIFY: ``Notify(groups, status=...)`` asks the server to report events on
mailboxes beyond the selected one; no groups is ``NOTIFY NONE``. Each
:class:`NotifyGroup` names the mailboxes (``selected``, ``selected-delayed``,
``inboxes``, ``personal``, ``subscribed``, ``subtree`` or ``mailboxes`` with
names) and the events wanted. The rules of RFC 5465 §8 are checked before
anything is sent: MessageNew and MessageExpunge go together, FlagChange and
AnnotationChange need both, only message events and a FETCH list for the
selected mailbox, at most one selected group.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import ClassVar

from mailwire.imap._command_base import Command, _atom, _set, _tuple
from mailwire.imap._message_commands import _fetch_item
from mailwire.imap._writer import Arg, AString, Group, MailboxName, Raw

__all__ = [
    "DeleteAcl",
    "GetAcl",
    "ListRights",
    "MyRights",
    "Notify",
    "NotifyGroup",
    "SetAcl",
]

# RFC 4314 §2.1: rights are lower-case letters and digits.
_RIGHTS = re.compile(r"[+-]?[a-z0-9]*\Z")


def _identifier(value: object) -> AString:
    if not isinstance(value, str) or not value:
        raise ValueError(f"an ACL identifier is a non-empty string, got {value!r}")
    return AString(value, "ACL identifier")


@dataclasses.dataclass(frozen=True, slots=True)
class GetAcl(Command):
    """GETACL (RFC 4314 §3.3): the mailbox's access control list."""

    verb: ClassVar[str] = "GETACL"
    mailbox: str

    def arguments(self) -> list[Arg]:
        return [Raw(self.verb.encode("ascii")), MailboxName(self.mailbox)]


@dataclasses.dataclass(frozen=True, slots=True)
class MyRights(GetAcl):
    """MYRIGHTS (RFC 4314 §3.5): the logged-in user's rights on the mailbox."""

    verb: ClassVar[str] = "MYRIGHTS"


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteAcl(Command):
    """DELETEACL (RFC 4314 §3.2): remove ``identifier`` from the mailbox's list."""

    verb: ClassVar[str] = "DELETEACL"
    mailbox: str
    identifier: str

    def arguments(self) -> list[Arg]:
        return [
            Raw(self.verb.encode("ascii")),
            MailboxName(self.mailbox),
            _identifier(self.identifier),
        ]


@dataclasses.dataclass(frozen=True, slots=True)
class ListRights(DeleteAcl):
    """LISTRIGHTS (RFC 4314 §3.4): the rights that may be granted to ``identifier``."""

    verb: ClassVar[str] = "LISTRIGHTS"


@dataclasses.dataclass(frozen=True, slots=True)
class SetAcl(Command):
    """SETACL (RFC 4314 §3.1): ``rights`` replace, ``+rights`` add, ``-rights`` remove."""

    verb: ClassVar[str] = "SETACL"
    mailbox: str
    identifier: str
    rights: str

    def arguments(self) -> list[Arg]:
        if not isinstance(self.rights, str) or not _RIGHTS.match(self.rights):
            raise ValueError(
                "ACL rights are lower-case letters and digits, optionally after + or - "
                f"(RFC 4314 §2.1), got {self.rights!r}"
            )
        return [
            Raw(b"SETACL"),
            MailboxName(self.mailbox),
            _identifier(self.identifier),
            AString(self.rights, "ACL rights"),
        ]


_SELECTED = ("SELECTED", "SELECTED-DELAYED")
_PLAIN = ("INBOXES", "PERSONAL", "SUBSCRIBED")
_NAMED = ("SUBTREE", "MAILBOXES")
_MESSAGE_EVENTS = ("MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange")
_OTHER_EVENTS = (
    "MailboxName",
    "SubscriptionChange",
    "MailboxMetadataChange",
    "ServerMetadataChange",
)
_EVENTS = {name.upper(): name for name in _MESSAGE_EVENTS + _OTHER_EVENTS}


@dataclasses.dataclass(frozen=True, slots=True)
class NotifyGroup:
    """One event group of NOTIFY SET (RFC 5465 §5).

    Attributes:
        mailboxes: ``selected``, ``selected-delayed``, ``inboxes``,
            ``personal``, ``subscribed``, ``subtree`` or ``mailboxes`` (any case).
        names: the mailboxes for ``subtree`` and ``mailboxes``.
        events: event names (``MessageNew``, ``MessageExpunge``,
            ``FlagChange``, ``AnnotationChange``, ``MailboxName``,
            ``SubscriptionChange``, ``MailboxMetadataChange``,
            ``ServerMetadataChange``); empty for ``NONE`` (no events from
            these mailboxes).
        fetch: FETCH items the server sends with each new message (only
            for the selected mailbox), e.g. ``("UID", "FLAGS", "ENVELOPE")``.
    """

    mailboxes: str
    names: Sequence[str] = ()
    events: Sequence[str] = ()
    fetch: Sequence[str] = ()

    def __post_init__(self) -> None:
        _set(self, "names", _tuple(self.names))
        _set(self, "events", _tuple(self.events))
        _set(self, "fetch", _tuple(self.fetch))
        self.argument()

    @property
    def selected(self) -> bool:
        return self.mailboxes.upper() in _SELECTED

    def argument(self) -> Group:
        """The ``(filter events)`` group; ``ValueError`` where RFC 5465 §8 forbids it."""
        kind = self.mailboxes.upper() if isinstance(self.mailboxes, str) else ""
        if kind not in _SELECTED + _PLAIN + _NAMED:
            raise ValueError(f"not a NOTIFY mailbox filter: {self.mailboxes!r}")
        out: list[Arg] = [Raw(kind.encode("ascii"))]
        if kind in _NAMED:
            if not self.names:
                raise ValueError(f"NOTIFY {kind} needs at least one mailbox")
            names = [MailboxName(_name(n)) for n in self.names]
            out.append(names[0] if len(names) == 1 else Group(tuple(names)))
        elif self.names:
            raise ValueError(f"NOTIFY {kind} takes no mailbox names")
        out.append(self._events(kind))
        return Group(tuple(out))

    def _events(self, kind: str) -> Arg:
        events = []
        for event in self.events:
            if not isinstance(event, str):
                raise ValueError(f"not a NOTIFY event: {event!r}")
            events.append(_EVENTS.get(event.upper()) or _atom(event, "NOTIFY event").data.decode())
        if self.fetch and (kind not in _SELECTED or "MessageNew" not in events):
            raise ValueError("a FETCH list goes with MessageNew for the selected mailbox only")
        if not events:
            return Raw(b"NONE")
        if ("MessageNew" in events) != ("MessageExpunge" in events):
            raise ValueError("NOTIFY: MessageNew and MessageExpunge go together (RFC 5465 §5)")
        changes = {"FlagChange", "AnnotationChange"} & set(events)
        if changes and "MessageNew" not in events:
            raise ValueError(f"NOTIFY: {sorted(changes)[0]} needs MessageNew and MessageExpunge")
        if kind in _SELECTED and not set(events) <= set(_MESSAGE_EVENTS):
            raise ValueError("NOTIFY: the selected mailbox takes message events only (§5)")
        items: list[Arg] = []
        for event in events:
            items.append(Raw(event.encode("ascii")))
            if event == "MessageNew" and self.fetch:
                items.append(Group(tuple(_fetch_item(i) for i in self.fetch)))
        return Group(tuple(items))


def _name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a mailbox name: {value!r}")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class Notify(Command):
    """NOTIFY (RFC 5465 §3): ``Notify([NotifyGroup(...), ...], status=True)``.

    No groups sends ``NOTIFY NONE`` (stop every notification). ``status``
    asks for a STATUS response per mailbox right away (§3.1).
    """

    verb: ClassVar[str] = "NOTIFY"
    groups: Sequence[NotifyGroup] = ()
    status: bool = False

    def __post_init__(self) -> None:
        _set(self, "groups", tuple(self.groups))
        Command.__post_init__(self)

    def arguments(self) -> list[Arg]:
        if not self.groups:
            if self.status:
                raise ValueError("NOTIFY NONE takes no STATUS")
            return [Raw(b"NOTIFY"), Raw(b"NONE")]
        for group in self.groups:
            if not isinstance(group, NotifyGroup):
                raise ValueError(f"not a NotifyGroup: {group!r}")
        if sum(group.selected for group in self.groups) > 1:
            raise ValueError("NOTIFY: at most one selected or selected-delayed group (§8)")
        out: list[Arg] = [Raw(b"NOTIFY"), Raw(b"SET")]
        if self.status:
            out.append(Raw(b"STATUS"))
        return out + [group.argument() for group in self.groups]
