"""IMAP procedures on messages (RFC 9051 §6.3.12, §6.4; RFC 4315, 5256, 6851, 7162).

SEARCH and ESEARCH, SORT, THREAD, FETCH (bodies streamed to sinks), STORE
(with UNCHANGEDSINCE), COPY and MOVE (COPYUID), EXPUNGE and UID EXPUNGE,
APPEND streamed from any source (APPENDUID). Message sets are UIDs unless
the caller says otherwise.

A command reports success only on its tagged OK: APPEND, COPY and MOVE that
lose the connection before it raise ``ConnectionLost``, never return a
result (issue 7).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from mailwire._flow import NEED_DATA, Flow, NeedData, flush
from mailwire.errors import ConnectionLost, TooManyResponses
from mailwire.imap._append import AppendPart, StreamedAppend
from mailwire.imap._flows import (
    Done,
    Handler,
    execute,
    expanded,
    receive,
    status_error,
    unsolicited,
)
from mailwire.imap._seqset import SequenceSet
from mailwire.imap._sinks import SinkRouter
from mailwire.imap.commands import (
    Copy,
    Expunge,
    Fetch,
    Move,
    Search,
    Sort,
    Store,
    StoreAnnotation,
    Thread,
)
from mailwire.imap.connection import Connection, ConnectionClosed
from mailwire.imap.events import (
    AppendUid,
    Continuation,
    CopyUid,
    ESearchData,
    ExpungeData,
    FetchData,
    SearchData,
    SortData,
    StatusResponse,
    Tagged,
    ThreadData,
    Vanished,
)

__all__ = [
    "FetchResult",
    "Source",
    "StoreResult",
    "append",
    "copy",
    "esearch",
    "expunge",
    "fetch",
    "search",
    "sort",
    "store",
    "thread",
]


class StoreResult(dict[int, FetchData]):
    """STORE's new values by UID (or by message number for a non-UID STORE).

    Attributes:
        modified: with UNCHANGEDSINCE (RFC 7162 §3.1.3), the messages left
            unchanged because they had changed since that mod-sequence, as
            the server's ``[MODIFIED ...]`` set (``in`` and ``count()`` work
            on it unexpanded); ``None`` when the server named none.
    """

    modified: SequenceSet | None = None


class FetchResult(dict[int, FetchData]):
    """FETCH data by UID (or by message number for a non-UID FETCH).

    Attributes:
        vanished: UIDs reported expunged by ``VANISHED (EARLIER)`` when the
            FETCH asked for them (CHANGEDSINCE ... VANISHED, RFC 7162 §3.2.6).
    """

    vanished: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """A message to APPEND: its size and a way to produce its octets once.

    Attributes:
        part: size, flags, date (see :class:`AppendPart`).
        chunks: an iterator of the message's octets, ``part.size`` in all.
    """

    part: AppendPart
    chunks: Iterator[bytes]


def search(
    conn: Connection, command: Search, handler: Handler | None, *, limit: int
) -> Flow[list[int]]:
    """SEARCH / UID SEARCH (RFC 9051 §6.4.4): the matches, in the server's order.

    An ESEARCH answer (IMAP4rev2 servers send one) is read just as well.
    """
    done = yield from execute(conn, command, handler, limit=limit)
    out: list[int] = []
    for response in done.data:
        if isinstance(response, SearchData):
            out.extend(response.numbers)
        elif isinstance(response, ESearchData) and response.all is not None:
            out.extend(expanded(response.all, len(out), limit, "ESEARCH ALL"))
    return out


def esearch(
    conn: Connection, command: Search | Sort, handler: Handler | None, *, limit: int
) -> Flow[ESearchData]:
    """SEARCH RETURN (...) (RFC 4731 / RFC 9051 §6.4.4): MIN, MAX, COUNT, ALL.

    Also SORT RETURN (...) (ESORT, RFC 5267 §3.1), whose ALL lists the
    matches in sorted order.
    """
    done = yield from execute(conn, command, handler, limit=limit)
    for response in done.data:
        if isinstance(response, ESearchData):
            return response
    return ESearchData(tag=done.tag, uid=bool(getattr(command, "uid", False)))


def sort(
    conn: Connection, command: Sort, handler: Handler | None, *, limit: int
) -> Flow[list[int]]:
    """SORT (RFC 5256 §3): the matches in sorted order."""
    done = yield from execute(conn, command, handler, limit=limit)
    out: list[int] = []
    for response in done.data:
        if isinstance(response, SortData):
            out.extend(response.numbers)
        elif isinstance(response, ESearchData) and response.all is not None:
            out.extend(expanded(response.all, len(out), limit, "ESEARCH ALL"))
    return out


def thread(
    conn: Connection, command: Thread, handler: Handler | None, *, limit: int
) -> Flow[list[Any]]:
    """THREAD (RFC 5256 §3): one nested tuple per thread."""
    done = yield from execute(conn, command, handler, limit=limit)
    out: list[Any] = []
    for response in done.data:
        if isinstance(response, ThreadData):
            out.extend(response.threads)
    return out


def _merge(old: FetchData, new: FetchData) -> FetchData:
    """Two FETCH responses about one message, as one (the later wins per item)."""
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(FetchData):
        value = getattr(new, field.name)
        if field.name in ("sections", "streamed", "binary_sizes", "other"):
            if value:
                changes[field.name] = {**getattr(old, field.name), **value}
        elif value is not None and field.name != "defects":
            changes[field.name] = value
    changes["defects"] = old.defects + new.defects
    return dataclasses.replace(old, **changes)


def fetch(
    conn: Connection,
    command: Fetch,
    handler: Handler | None,
    *,
    router: SinkRouter | None,
    limit: int,
) -> Flow[FetchResult]:
    """FETCH / UID FETCH (RFC 9051 §6.4.5), bodies to sinks when ``router`` is given.

    Returns:
        Data by UID (message number for a non-UID FETCH); several responses
        about one message are merged.

    Raises:
        ConnectionLost: the connection was cut (inside a literal too): every
            open sink is aborted, and nothing is returned.
    """
    tag = conn.send(command)
    result = FetchResult()
    vanished: list[int] = []
    conn.literal_sink = router
    try:
        while True:
            # A response already buffered is taken without a read (most of a
            # big FETCH); otherwise flush and read.
            event = NEED_DATA if conn.pending_output else conn.next_event()
            if isinstance(event, NeedData):
                event = yield from receive(conn)
            if isinstance(event, ConnectionClosed):
                raise ConnectionLost("the server closed the connection during FETCH")
            if conn.last_tag != tag:
                unsolicited(conn, event, handler)
                continue
            if isinstance(event, Tagged):
                if event.status != "OK":
                    raise status_error(event, "FETCH")
                break
            if isinstance(event, FetchData):
                key = event.uid if command.uid else event.seq
                if router is not None and router.spooled:
                    router.settle(event.seq, event.uid)
                if key is None:
                    continue  # a flag update without UID; nothing to key it by
                old = result.get(key)
                result[key] = event if old is None else _merge(old, event)
                if len(result) > limit:
                    raise TooManyResponses(f"more than {limit} FETCH responses", limit=limit)
            elif isinstance(event, Vanished) and not event.uids.has_star:
                vanished.extend(expanded(event.uids, len(vanished), limit, "VANISHED"))
            elif not isinstance(event, Continuation):
                unsolicited(conn, event, handler)
    except BaseException as exc:
        if router is not None:
            router.abort(exc)
        raise
    finally:
        conn.literal_sink = None
    result.vanished = tuple(vanished)
    return result


def store(
    conn: Connection, command: Store | StoreAnnotation, handler: Handler | None, *, limit: int
) -> Flow[StoreResult]:
    """STORE / UID STORE (RFC 9051 §6.4.6); the new flags by UID unless silent.

    With UNCHANGEDSINCE (RFC 7162 §3.1.3) the messages that had changed are
    in the OK's ``[MODIFIED ...]`` code, kept in :attr:`StoreResult.modified`.
    """
    done = yield from execute(conn, command, handler, limit=limit)
    out = StoreResult()
    for response in done.data:
        if isinstance(response, FetchData):
            key = response.uid if command.uid else response.seq
            if key is not None:
                out[key] = response
    code = done.tagged.code
    if code is not None and code.name == "MODIFIED" and isinstance(code.value, SequenceSet):
        out.modified = code.value
    return out


def copy(
    conn: Connection, command: Copy | Move, handler: Handler | None, *, limit: int
) -> Flow[CopyUid | None]:
    """COPY or MOVE (RFC 9051 §6.4.7-8, RFC 6851); COPYUID when the server gives it.

    The result is reported only after the tagged OK (issue 7).
    """
    done = yield from execute(conn, command, handler, limit=limit)
    return _copyuid(done)


def _copyuid(done: Done) -> CopyUid | None:
    codes = [done.tagged.code] + [
        r.code for r in done.data if isinstance(r, StatusResponse) and r.code is not None
    ]
    for code in codes:
        if code is not None and code.name == "COPYUID" and isinstance(code.value, CopyUid):
            return code.value
    return None


def expunge(
    conn: Connection, command: Expunge, handler: Handler | None, *, limit: int
) -> Flow[list[int]]:
    """EXPUNGE or UID EXPUNGE (RFC 9051 §6.4.3, §6.4.9).

    Returns:
        The message numbers of EXPUNGE responses, or the UIDs of VANISHED
        responses (QRESYNC enabled), in the order received.
    """
    done = yield from execute(conn, command, handler, limit=limit)
    out: list[int] = []
    for response in done.data:
        if isinstance(response, ExpungeData):
            out.append(response.number)
        elif isinstance(response, Vanished) and not response.uids.has_star:
            out.extend(expanded(response.uids, len(out), limit, "VANISHED"))
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Appended:
    """Where APPEND put the message(s) (RFC 4315 APPENDUID), when the server says.

    Attributes:
        uidvalidity: the destination's UIDVALIDITY, or ``None``.
        uids: the new UIDs in order (empty without UIDPLUS).
    """

    uidvalidity: int | None
    uids: tuple[int, ...]


def append(
    conn: Connection, mailbox: str, sources: Sequence[Source], handler: Handler | None
) -> Flow[Appended]:
    """APPEND one message, or MULTIAPPEND several (RFC 3502), streamed.

    Each message is written chunk by chunk once the server's ``+`` came (or
    at once with LITERAL+). Success is reported only on the tagged OK.

    Raises:
        IMAPStatusError: refused (``code`` TRYCREATE when the mailbox is
            missing, RFC 9051 §6.3.12), before or after the data.
        ConnectionLost: the connection was lost before the tagged OK: the
            message may or may not be in the mailbox.
    """
    command = StreamedAppend(mailbox, [source.part for source in sources])
    tag = conn.send(command)
    for source in sources:
        done = yield from _await_slot(conn, tag, source.part.size, handler)
        if done is not None:
            raise status_error(done, "APPEND")  # refused before the message went
        written = 0
        for chunk in source.chunks:
            if not chunk:
                continue
            written += len(chunk)
            if written > source.part.size:
                raise ValueError("the APPEND message grew while it was being sent")
            conn.literal_data(tag, chunk)
            yield from flush(conn)
        if written != source.part.size:
            raise ValueError("the APPEND message shrank while it was being sent")
    while True:
        event = yield from receive(conn)
        if isinstance(event, ConnectionClosed):
            raise ConnectionLost("the server closed the connection during APPEND")
        if conn.last_tag == tag and isinstance(event, Tagged):
            if event.status != "OK":
                raise status_error(event, "APPEND")
            return _appenduid(event, len(sources))
        if conn.last_tag != tag:
            unsolicited(conn, event, handler)


def _await_slot(
    conn: Connection, tag: str, size: int, handler: Handler | None
) -> Flow[Tagged | None]:
    """Wait until the literal may be written; the completion if refused first."""
    yield from flush(conn)
    while size and not conn.slot_open(tag):
        event = yield from receive(conn)
        if isinstance(event, ConnectionClosed):
            raise ConnectionLost("the server closed the connection during APPEND")
        if conn.last_tag == tag:
            if isinstance(event, Tagged):
                return event
            continue
        unsolicited(conn, event, handler)
    return None


def _appenduid(tagged: Tagged, appended: int) -> Appended:
    code = tagged.code
    if code is not None and code.name == "APPENDUID" and isinstance(code.value, AppendUid):
        uids = code.value.uids
        # RFC 4315 §3: one UID per message appended. Any other count (or a
        # '*', or a range of billions) maps nothing to anything: no UIDs.
        return Appended(code.value.uidvalidity, tuple(uids) if uids.count() == appended else ())
    return Appended(None, ())


def chunked(data: bytes | bytearray | memoryview, size: int) -> Iterator[bytes]:
    """``data`` in pieces of ``size`` octets."""
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def concatenated(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Skip empty pieces (they carry nothing and would cost a write each)."""
    for piece in pieces:
        if piece:
            yield bytes(piece)
