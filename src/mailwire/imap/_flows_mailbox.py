"""IMAP procedures on mailboxes (RFC 9051 §6.3, §6.4.1-2; quota and metadata).

LIST (with LIST-EXTENDED, SPECIAL-USE and LIST-STATUS), CREATE, DELETE,
RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, SELECT and EXAMINE (with CONDSTORE
and QRESYNC, RFC 7162), CLOSE, UNSELECT, and the QUOTA (RFC 9208) and
METADATA (RFC 5464) commands. Names are ``str`` both ways: the commands
encode them (modified UTF-7, or UTF-8 once UTF8=ACCEPT is on) and the parser
decodes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from mailwire._flow import Flow
from mailwire.errors import RemoteProtocolError
from mailwire.imap._flows import Done, Handler, execute, expanded, pipeline
from mailwire.imap._session import SelectedMailbox
from mailwire.imap.commands import (
    Close,
    Examine,
    GetAcl,
    GetMetadata,
    GetQuota,
    GetQuotaRoot,
    List,
    ListRights,
    Lsub,
    MyRights,
    Notify,
    QResync,
    Select,
    SetMetadata,
    SetQuota,
    Status,
    Unselect,
)
from mailwire.imap.connection import Connection
from mailwire.imap.events import (
    AclData,
    FetchData,
    ListData,
    ListRightsData,
    MetadataData,
    MyRightsData,
    Quota,
    QuotaRoot,
    StatusData,
    Vanished,
)

__all__ = [
    "Opened",
    "close",
    "get_acl",
    "get_metadata",
    "get_quota",
    "get_quota_root",
    "list_mailboxes",
    "list_rights",
    "list_status",
    "my_rights",
    "notify",
    "open_mailbox",
    "simple",
    "status",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Opened:
    """What SELECT or EXAMINE reported (RFC 9051 §6.3.2, RFC 7162 §3.2.5).

    Attributes:
        mailbox: a snapshot of the mailbox state when the command completed.
        vanished: QRESYNC: UIDs expunged since the known mod-sequence.
        changed: QRESYNC: messages changed since it, by UID (FLAGS, MODSEQ).
    """

    mailbox: SelectedMailbox
    vanished: tuple[int, ...] = ()
    changed: dict[int, FetchData] = dataclasses.field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # The mailbox fields read straight through: opened.exists, opened.uidvalidity ...
        return getattr(self.mailbox, name)


def simple(conn: Connection, command: object, handler: Handler | None, *, limit: int) -> Flow[Done]:
    """A command whose only result is its completion (CREATE, DELETE, RENAME ...)."""
    return (yield from execute(conn, command, handler, limit=limit))


def list_mailboxes(
    conn: Connection, command: List | Lsub, handler: Handler | None, *, limit: int
) -> Flow[list[ListData]]:
    """LIST or LSUB; the mailboxes in the server's order."""
    done = yield from execute(conn, command, handler, limit=limit)
    return [r for r in done.data if isinstance(r, ListData)]


def list_status(
    conn: Connection,
    reference: str,
    pattern: str,
    items: Sequence[str],
    handler: Handler | None,
    *,
    extended: bool,
    limit: int,
) -> Flow[dict[str, StatusData]]:
    """STATUS of every mailbox a pattern matches.

    With LIST-STATUS (RFC 5819) in one command; otherwise LIST, then one
    STATUS per selectable mailbox, pipelined (RFC 9051 §5.5 allows it: none
    of them changes the state or uses message numbers).
    """
    if extended:
        command = List(reference, pattern, status_items=tuple(items))
        done = yield from execute(conn, command, handler, limit=limit)
        return {r.mailbox: r for r in done.data if isinstance(r, StatusData)}
    mailboxes = yield from list_mailboxes(conn, List(reference, pattern), handler, limit=limit)
    names = [m.name for m in mailboxes if not m.has_attribute("\\Noselect")]
    names = [n for n in names if not _nonexistent(mailboxes, n)]
    results = yield from pipeline(
        conn, [Status(name, tuple(items)) for name in names], handler, limit=limit
    )
    out: dict[str, StatusData] = {}
    for done in results:
        for response in done.data:
            if isinstance(response, StatusData):
                out[response.mailbox] = response
    return out


def _nonexistent(mailboxes: list[ListData], name: str) -> bool:
    return any(m.name == name and m.has_attribute("\\NonExistent") for m in mailboxes)


def status(
    conn: Connection, mailbox: str, items: Sequence[str], handler: Handler | None, *, limit: int
) -> Flow[StatusData]:
    """STATUS (RFC 9051 §6.3.11).

    Raises:
        RemoteProtocolError: the server completed it without the data.
    """
    done = yield from execute(conn, Status(mailbox, tuple(items)), handler, limit=limit)
    for response in done.data:
        if isinstance(response, StatusData):
            return response
    raise RemoteProtocolError(f"STATUS {mailbox!r} completed without a STATUS response")


def open_mailbox(
    conn: Connection,
    mailbox: str,
    handler: Handler | None,
    *,
    readonly: bool,
    condstore: bool,
    qresync: QResync | None,
    limit: int,
    annotate: bool = False,
) -> Flow[Opened]:
    """SELECT or EXAMINE (RFC 9051 §6.3.2-3), optionally CONDSTORE / QRESYNC.

    State effect: SELECTED on OK; AUTHENTICATED (no mailbox) on NO.
    """
    kind = Examine if readonly else Select
    done = yield from execute(
        conn,
        kind(mailbox, condstore=condstore, qresync=qresync, annotate=annotate),
        handler,
        limit=limit,
    )
    assert conn.mailbox is not None
    vanished: list[int] = []
    changed: dict[int, FetchData] = {}
    for response in done.data:
        if isinstance(response, Vanished) and not response.uids.has_star:
            vanished.extend(expanded(response.uids, len(vanished), limit, "VANISHED (EARLIER)"))
        elif isinstance(response, FetchData) and response.uid is not None:
            changed[response.uid] = response
    return Opened(dataclasses.replace(conn.mailbox), tuple(vanished), changed)


def close(conn: Connection, handler: Handler | None, *, expunge: bool, limit: int) -> Flow[Done]:
    """CLOSE (expunging, RFC 9051 §6.4.1) or UNSELECT (not, §6.4.2)."""
    command = Close() if expunge else Unselect()
    return (yield from execute(conn, command, handler, limit=limit))


def get_quota(conn: Connection, root: str, handler: Handler | None, *, limit: int) -> Flow[Quota]:
    """GETQUOTA (RFC 9208 §4.2).

    Raises:
        RemoteProtocolError: completed without a QUOTA response.
    """
    done = yield from execute(conn, GetQuota(root), handler, limit=limit)
    for response in done.data:
        if isinstance(response, Quota):
            return response
    raise RemoteProtocolError("GETQUOTA completed without a QUOTA response")


def get_quota_root(
    conn: Connection, mailbox: str, handler: Handler | None, *, limit: int
) -> Flow[tuple[tuple[str, ...], list[Quota]]]:
    """GETQUOTAROOT (RFC 9208 §4.3): the roots of ``mailbox`` and their quotas."""
    done = yield from execute(conn, GetQuotaRoot(mailbox), handler, limit=limit)
    roots: tuple[str, ...] = ()
    quotas = []
    for response in done.data:
        if isinstance(response, QuotaRoot):
            roots = response.roots
        elif isinstance(response, Quota):
            quotas.append(response)
    return roots, quotas


def set_quota(
    conn: Connection, root: str, limits: dict[str, int], handler: Handler | None, *, limit: int
) -> Flow[Done]:
    """SETQUOTA (RFC 9208 §4.4)."""
    return (yield from execute(conn, SetQuota(root, limits), handler, limit=limit))


def get_metadata(
    conn: Connection,
    command: GetMetadata,
    handler: Handler | None,
    *,
    limit: int,
) -> Flow[dict[str, bytes | None]]:
    """GETMETADATA (RFC 5464 §4.2): entry name to value."""
    done = yield from execute(conn, command, handler, limit=limit)
    out: dict[str, bytes | None] = {}
    for response in done.data:
        if isinstance(response, MetadataData):
            out.update(response.entries)
    return out


def set_metadata(
    conn: Connection,
    mailbox: str,
    entries: dict[str, str | bytes | None],
    handler: Handler | None,
    *,
    limit: int,
) -> Flow[Done]:
    """SETMETADATA (RFC 5464 §4.3); ``None`` removes an entry."""
    return (yield from execute(conn, SetMetadata(mailbox, entries), handler, limit=limit))


def get_acl(
    conn: Connection, mailbox: str, handler: Handler | None, *, limit: int
) -> Flow[dict[str, str]]:
    """GETACL (RFC 4314 §3.3): identifier to rights.

    Raises:
        RemoteProtocolError: completed without an ACL response.
    """
    done = yield from execute(conn, GetAcl(mailbox), handler, limit=limit)
    for response in done.data:
        if isinstance(response, AclData):
            return dict(response.rights)
    raise RemoteProtocolError("GETACL completed without an ACL response")


def list_rights(
    conn: Connection, mailbox: str, identifier: str, handler: Handler | None, *, limit: int
) -> Flow[ListRightsData]:
    """LISTRIGHTS (RFC 4314 §3.4).

    Raises:
        RemoteProtocolError: completed without a LISTRIGHTS response.
    """
    done = yield from execute(conn, ListRights(mailbox, identifier), handler, limit=limit)
    for response in done.data:
        if isinstance(response, ListRightsData):
            return response
    raise RemoteProtocolError("LISTRIGHTS completed without a LISTRIGHTS response")


def my_rights(conn: Connection, mailbox: str, handler: Handler | None, *, limit: int) -> Flow[str]:
    """MYRIGHTS (RFC 4314 §3.5): the rights of the logged-in user.

    Raises:
        RemoteProtocolError: completed without a MYRIGHTS response.
    """
    done = yield from execute(conn, MyRights(mailbox), handler, limit=limit)
    for response in done.data:
        if isinstance(response, MyRightsData):
            return response.rights
    raise RemoteProtocolError("MYRIGHTS completed without a MYRIGHTS response")


def notify(
    conn: Connection, command: Notify, handler: Handler | None, *, limit: int
) -> Flow[list[StatusData]]:
    """NOTIFY SET / NONE (RFC 5465 §3): the STATUS responses NOTIFY SET STATUS brought.

    What the server reports later arrives unsolicited: read it with IDLE or
    NOOP, or through the client's ``on_event`` handler.
    """
    done = yield from execute(conn, command, handler, limit=limit)
    return [r for r in done.data if isinstance(r, StatusData)]
