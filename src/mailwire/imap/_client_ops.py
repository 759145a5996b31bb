"""Flow builders for the mailbox and message operations of the IMAP clients.

Part of :class:`~mailwire.imap._client_base.ClientBase`: each ``_x_flow``
checks the call (state, capability, arguments: ``ValueError`` for bad input)
before returning the flow, so a refusal sends nothing.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from mailwire._flow import Flow
from mailwire.errors import LocalProtocolError, NotSupportedError
from mailwire.imap import _flows_mailbox as mbx
from mailwire.imap import _flows_message as msg
from mailwire.imap._append import AppendPart
from mailwire.imap._flows import Done, Handler
from mailwire.imap._session import Capabilities
from mailwire.imap._sinks import Progress, SinkFactory, SinkRouter
from mailwire.imap.commands import (
    Copy,
    Create,
    Delete,
    Expunge,
    Fetch,
    GetMetadata,
    List,
    ListRights,
    Lsub,
    Move,
    Notify,
    NotifyGroup,
    QResync,
    Rename,
    Search,
    Sort,
    Status,
    Store,
    StoreAnnotation,
    Subscribe,
    Thread,
    Unsubscribe,
)
from mailwire.imap.connection import Connection
from mailwire.imap.events import (
    CopyUid,
    ESearchData,
    ListData,
    ListRightsData,
    Quota,
    StatusData,
)
from mailwire.imap.search import SearchKey
from mailwire.limits import Limits

__all__ = ["OpsMixin", "prepare_source"]

_STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")


def prepare_source(
    message: Any, flags: Sequence[str], date: datetime | None, chunk: int
) -> msg.Source:
    """An APPEND source from bytes, a binary file, a path, or a message object.

    ``mime.Message`` and ``email.message.Message`` are serialised once to a
    spooled temporary file (memory up to one chunk, then disk), so their size
    is known before the literal is announced.

    Raises:
        TypeError: not a kind of message this understands.
        ValueError: bad flags or date.
    """
    if isinstance(message, bytes | bytearray | memoryview):
        data = bytes(message)
        part = AppendPart(len(data), flags, date, binary=b"\x00" in data)
        return msg.Source(part, msg.chunked(data, chunk))
    if isinstance(message, str | os.PathLike):
        path = os.fspath(message)
        size = os.stat(path).st_size
        return msg.Source(AppendPart(size, flags, date), _read_path(path, chunk))
    import email.message  # here: the email package is slow to import

    if hasattr(message, "iter_bytes"):  # mailwire.mime.Message
        import tempfile

        spool = tempfile.SpooledTemporaryFile(max_size=chunk)  # noqa: SIM115
        for piece in message.iter_bytes(include_bcc=True):
            spool.write(piece)
        return _from_file(spool, flags, date, chunk, rewind=True)
    if isinstance(message, email.message.Message):
        import email.policy

        data = message.as_bytes(policy=email.policy.SMTP)
        return prepare_source(data, flags, date, chunk)
    if hasattr(message, "read"):
        return _from_file(message, flags, date, chunk, rewind=False)
    raise TypeError(f"cannot APPEND a {type(message).__name__}")


def _from_file(
    file: Any, flags: Sequence[str], date: datetime | None, chunk: int, *, rewind: bool
) -> msg.Source:
    if rewind:
        size = file.tell()
        file.seek(0)
    else:
        start = file.tell()
        size = file.seek(0, io.SEEK_END) - start
        file.seek(start)
    return msg.Source(AppendPart(size, flags, date), _read_file(file, chunk, close=rewind))


def _read_file(file: Any, chunk: int, *, close: bool) -> Iterator[bytes]:
    try:
        while data := file.read(chunk):
            yield data
    finally:
        if close:
            file.close()


def _read_path(path: str, chunk: int) -> Iterator[bytes]:
    with open(path, "rb") as file:
        yield from _read_file(file, chunk, close=False)


class OpsMixin:
    """The mailbox and message flow builders (see the module docstring)."""

    connection: Connection
    limits: Limits

    def _handle(self, event: Any) -> None:
        raise NotImplementedError

    def _usable(self) -> None:
        raise NotImplementedError

    def _need(self, *names: str) -> None:
        raise NotImplementedError

    @property
    def _limit(self) -> int:
        raise NotImplementedError

    @property
    def _h(self) -> Handler:
        return self._handle

    def _caps(self) -> Capabilities:
        return self.connection.capabilities or Capabilities(())

    # ------------------------------------------------------------ mailboxes

    def _list_flow(
        self,
        reference: str,
        pattern: str | Sequence[str],
        *,
        select_options: Sequence[str],
        return_options: Sequence[str],
        subscribed: bool,
    ) -> Flow[list[ListData]]:
        self._usable()
        if select_options or return_options:
            self._need("LIST-EXTENDED", "IMAP4REV2")
        command: List | Lsub
        if subscribed and not ({"LIST-EXTENDED", "IMAP4REV2"} & set(self._caps())):
            command = Lsub(reference, pattern if isinstance(pattern, str) else pattern[0])
        else:
            options = tuple(select_options) + (("SUBSCRIBED",) if subscribed else ())
            command = List(reference, pattern, options, tuple(return_options))
        return mbx.list_mailboxes(self.connection, command, self._h, limit=self._limit)

    def _list_status_flow(
        self, reference: str, pattern: str, items: Sequence[str]
    ) -> Flow[dict[str, StatusData]]:
        self._usable()
        Status("INBOX", tuple(items))  # bad items: ValueError now
        extended = "LIST-STATUS" in self._caps()
        return mbx.list_status(
            self.connection,
            reference,
            pattern,
            items,
            self._h,
            extended=extended,
            limit=self._limit,
        )

    def _mailbox_flow(self, command: object) -> Flow[Done]:
        self._usable()
        return mbx.simple(self.connection, command, self._h, limit=self._limit)

    def _create_flow(self, mailbox: str, special_use: Sequence[str]) -> Flow[Done]:
        if special_use:
            self._need("CREATE-SPECIAL-USE")
        return self._mailbox_flow(Create(mailbox, tuple(special_use)))

    def _delete_flow(self, mailbox: str) -> Flow[Done]:
        return self._mailbox_flow(Delete(mailbox))

    def _rename_flow(self, mailbox: str, new_name: str) -> Flow[Done]:
        return self._mailbox_flow(Rename(mailbox, new_name))

    def _subscribe_flow(self, mailbox: str, subscribe: bool) -> Flow[Done]:
        return self._mailbox_flow(Subscribe(mailbox) if subscribe else Unsubscribe(mailbox))

    def _status_flow(self, mailbox: str, items: Sequence[str] | None) -> Flow[StatusData]:
        self._usable()
        wanted = tuple(items) if items else _STATUS_ITEMS
        Status(mailbox, wanted)
        return mbx.status(self.connection, mailbox, wanted, self._h, limit=self._limit)

    def _select_flow(
        self,
        mailbox: str,
        *,
        readonly: bool,
        condstore: bool,
        qresync: QResync | None,
        annotate: bool = False,
    ) -> Flow[mbx.Opened]:
        self._usable()
        if condstore:
            self._need("CONDSTORE")
        if annotate:
            self._need("ANNOTATE-EXPERIMENT-1")
        if qresync is not None:
            self._need("QRESYNC")
            if "QRESYNC" not in self.connection.enabled and self.connection.selected_once:
                # RFC 7162 §3.2.3 wants ENABLE QRESYNC first; RFC 5161 §3.1 forbids
                # ENABLE once a mailbox was selected. Nothing is sent.
                raise LocalProtocolError(
                    "QRESYNC must be enabled before the first SELECT of the session: "
                    'call enable("QRESYNC") right after logging in (RFC 7162 §3.2.3, '
                    "RFC 5161 §3.1)"
                )
        return self._open(mailbox, readonly, condstore, qresync, annotate)

    def _open(
        self,
        mailbox: str,
        readonly: bool,
        condstore: bool,
        qresync: QResync | None,
        annotate: bool = False,
    ) -> Flow[mbx.Opened]:
        from mailwire.imap import _flows

        if qresync is not None and "QRESYNC" not in self.connection.enabled:
            # RFC 7162 §3.2.3: QRESYNC must be enabled before it is used.
            yield from _flows.enable(self.connection, ("QRESYNC",), self._h, limit=self._limit)
        return (
            yield from mbx.open_mailbox(
                self.connection,
                mailbox,
                self._h,
                readonly=readonly,
                condstore=condstore,
                qresync=qresync,
                limit=self._limit,
                annotate=annotate,
            )
        )

    def _close_flow(self, expunge: bool) -> Flow[Done]:
        self._usable()
        if not expunge:
            self._need("UNSELECT", "IMAP4REV2")
        return mbx.close(self.connection, self._h, expunge=expunge, limit=self._limit)

    def _quota_flow(self, root: str) -> Flow[Quota]:
        self._usable()
        self._need("QUOTA")
        return mbx.get_quota(self.connection, root, self._h, limit=self._limit)

    def _quota_root_flow(self, mailbox: str) -> Flow[tuple[tuple[str, ...], list[Quota]]]:
        self._usable()
        self._need("QUOTA")
        return mbx.get_quota_root(self.connection, mailbox, self._h, limit=self._limit)

    def _set_quota_flow(self, root: str, limits: dict[str, int]) -> Flow[Done]:
        self._usable()
        self._need("QUOTA")
        return mbx.set_quota(self.connection, root, limits, self._h, limit=self._limit)

    def _get_metadata_flow(
        self, mailbox: str, entries: Sequence[str], maxsize: int | None, depth: str | None
    ) -> Flow[dict[str, bytes | None]]:
        self._usable()
        self._need("METADATA", "METADATA-SERVER")
        command = GetMetadata(mailbox, tuple(entries), maxsize, depth)
        return mbx.get_metadata(self.connection, command, self._h, limit=self._limit)

    def _set_metadata_flow(
        self, mailbox: str, entries: dict[str, str | bytes | None]
    ) -> Flow[Done]:
        self._usable()
        self._need("METADATA", "METADATA-SERVER")
        return mbx.set_metadata(self.connection, mailbox, entries, self._h, limit=self._limit)

    def _acl_flow(self, command: object) -> Flow[Done]:
        self._usable()
        self._need("ACL")
        return mbx.simple(self.connection, command, self._h, limit=self._limit)

    def _get_acl_flow(self, mailbox: str) -> Flow[dict[str, str]]:
        self._usable()
        self._need("ACL")
        return mbx.get_acl(self.connection, mailbox, self._h, limit=self._limit)

    def _list_rights_flow(self, mailbox: str, identifier: str) -> Flow[ListRightsData]:
        self._usable()
        self._need("ACL")
        ListRights(mailbox, identifier)  # bad input: ValueError now
        return mbx.list_rights(self.connection, mailbox, identifier, self._h, limit=self._limit)

    def _my_rights_flow(self, mailbox: str) -> Flow[str]:
        self._usable()
        self._need("ACL")
        return mbx.my_rights(self.connection, mailbox, self._h, limit=self._limit)

    def _notify_flow(self, groups: Sequence[NotifyGroup], status: bool) -> Flow[list[StatusData]]:
        self._usable()
        self._need("NOTIFY")
        command = Notify(tuple(groups), status)
        return mbx.notify(self.connection, command, self._h, limit=self._limit)

    # ------------------------------------------------------------ messages

    def _search_flow(
        self, criteria: Sequence[Any], *, uid: bool, charset: str | None
    ) -> Flow[list[int]]:
        self._usable()
        command = Search(tuple(criteria) or ("ALL",), uid=uid, charset=charset)
        self._annotation_keys(criteria)
        return msg.search(self.connection, command, self._h, limit=self._limit)

    def _esearch_flow(
        self, criteria: Sequence[Any], returns: Sequence[str], *, uid: bool
    ) -> Flow[ESearchData]:
        self._usable()
        self._need("ESEARCH", "IMAP4REV2")
        if any(str(r).upper() == "PARTIAL" for r in returns):
            self._need("PARTIAL", "CONTEXT=SEARCH")  # RFC 9394 §3, RFC 5267 §4.4
        command = Search(tuple(criteria) or ("ALL",), uid=uid, return_options=tuple(returns))
        self._annotation_keys(criteria)
        return msg.esearch(self.connection, command, self._h, limit=self._limit)

    def _sort_flow(
        self, keys: Sequence[str], criteria: Sequence[Any], *, uid: bool, charset: str
    ) -> Flow[list[int]]:
        self._usable()
        self._need("SORT")
        command = Sort(tuple(keys), tuple(criteria) or ("ALL",), uid=uid, charset=charset)
        self._annotation_keys([*keys, *criteria])
        return msg.sort(self.connection, command, self._h, limit=self._limit)

    def _esort_flow(
        self,
        keys: Sequence[str],
        criteria: Sequence[Any],
        returns: Sequence[str],
        *,
        uid: bool,
        charset: str,
    ) -> Flow[ESearchData]:
        self._usable()
        if any(str(r).upper() == "PARTIAL" for r in returns):
            self._need("PARTIAL", "CONTEXT=SORT")
        else:
            self._need("ESORT")
        command = Sort(
            tuple(keys),
            tuple(criteria) or ("ALL",),
            uid=uid,
            charset=charset,
            return_options=tuple(returns),
        )
        self._annotation_keys([*keys, *criteria])
        return msg.esearch(self.connection, command, self._h, limit=self._limit)

    def _thread_flow(
        self, algorithm: str, criteria: Sequence[Any], *, uid: bool, charset: str
    ) -> Flow[list[Any]]:
        self._usable()
        self._need(f"THREAD={algorithm.upper()}")
        command = Thread(algorithm.upper(), tuple(criteria) or ("ALL",), uid=uid, charset=charset)
        return msg.thread(self.connection, command, self._h, limit=self._limit)

    def _fetch_flow(
        self,
        messages: Any,
        items: str | Sequence[str],
        *,
        sink: SinkFactory | None,
        progress: Progress | None,
        uid: bool,
        changedsince: int | None,
        vanished: bool,
        partial: str | tuple[int, int] | None = None,
    ) -> Flow[msg.FetchResult]:
        self._usable()
        if changedsince is not None:
            self._need("CONDSTORE", "QRESYNC")
        if vanished:
            self._need("QRESYNC")
        if partial is not None:
            self._need("PARTIAL")
        wanted = (items,) if isinstance(items, str) else tuple(items)
        if any(isinstance(i, str) and i[:10].upper() == "ANNOTATION" for i in wanted):
            self._annotations_allowed()
        command = Fetch(
            messages,
            wanted,
            uid=uid,
            changedsince=changedsince,
            vanished=vanished,
            partial=partial,
        )
        router = None
        if sink is not None:
            router = SinkRouter(sink, progress, uid=uid, chunk=self.limits.chunk_size)
        return msg.fetch(self.connection, command, self._h, router=router, limit=self._limit)

    def _store_flow(
        self,
        messages: Any,
        flags: Iterable[str],
        *,
        action: str,
        silent: bool,
        uid: bool,
        unchangedsince: int | None,
        item: str = "FLAGS",
    ) -> Flow[msg.StoreResult]:
        self._usable()
        if unchangedsince is not None:
            self._need("CONDSTORE")
        if item != "FLAGS":
            self._need("X-GM-EXT-1")
        if isinstance(flags, str):
            flags = (flags,)
        command = Store(messages, tuple(flags), action, silent, uid, unchangedsince, item)
        return msg.store(self.connection, command, self._h, limit=self._limit)

    def _store_annotation_flow(
        self,
        messages: Any,
        annotations: Mapping[str, Mapping[str, str | bytes | None]],
        *,
        uid: bool,
        unchangedsince: int | None,
    ) -> Flow[msg.StoreResult]:
        self._usable()
        self._need("ANNOTATE-EXPERIMENT-1")
        if unchangedsince is not None:
            self._need("CONDSTORE")
        command = StoreAnnotation(messages, annotations, uid, unchangedsince)
        self._annotations_allowed(store=True, values=annotations)
        return msg.store(self.connection, command, self._h, limit=self._limit)

    def _annotation_keys(self, items: Iterable[Any]) -> None:
        """SEARCH or SORT by ANNOTATION: refused under ``ANNOTATIONS NONE`` (RFC 5257 §4.1)."""
        stack = list(items)
        while stack:
            item = stack.pop()
            if isinstance(item, SearchKey):
                stack.extend((item.name, *item.args))
            elif isinstance(item, list | tuple):
                stack.extend(item)
            elif isinstance(item, str) and item.upper() == "ANNOTATION":
                self._annotations_allowed()
                return

    def _annotations_allowed(
        self,
        *,
        store: bool = False,
        values: Mapping[str, Mapping[str, str | bytes | None]] | None = None,
    ) -> None:
        """Refuse what the mailbox's ANNOTATIONS code rules out (RFC 5257 §4.1).

        ``NONE``: no annotation in any command; ``READ-ONLY``: no STORE; a
        size: no value longer than that. Nothing is sent when refused.
        """
        mailbox = self.connection.mailbox
        words = (mailbox.annotations or "").split() if mailbox is not None else []
        if not words:
            return
        if words[0] == "NONE":
            raise NotSupportedError(
                "this mailbox supports no annotations (ANNOTATIONS NONE, RFC 5257 §4.1)",
                capability="ANNOTATE-EXPERIMENT-1",
            )
        if store and words[0] == "READ-ONLY":
            raise NotSupportedError(
                "this mailbox's annotations are read-only (ANNOTATIONS READ-ONLY, RFC 5257 §4.1)",
                capability="ANNOTATE-EXPERIMENT-1",
            )
        if store and words[0].isascii() and words[0].isdigit() and values:
            largest = int(words[0])
            for entry, attributes in values.items():
                for attribute, value in attributes.items():
                    size = len(value.encode("utf-8") if isinstance(value, str) else value or b"")
                    if size > largest:
                        raise ValueError(
                            f"{entry} {attribute}: {size} octets, more than the {largest} "
                            "the mailbox allows (ANNOTATIONS, RFC 5257 §4.1)"
                        )

    def _copy_flow(self, messages: Any, mailbox: str, *, uid: bool) -> Flow[CopyUid | None]:
        self._usable()
        command = Copy(messages, mailbox, uid=uid)
        return msg.copy(self.connection, command, self._h, limit=self._limit)

    def _move_flow(self, messages: Any, mailbox: str, *, uid: bool) -> Flow[CopyUid | None]:
        self._usable()
        caps = self._caps()
        if "MOVE" in caps or caps.rev2:
            return msg.copy(
                self.connection, Move(messages, mailbox, uid=uid), self._h, limit=self._limit
            )
        if not uid or "UIDPLUS" not in caps:
            raise NotSupportedError(
                "the server offers neither MOVE nor UIDPLUS (RFC 6851 §3.3)", capability="MOVE"
            )
        copy = Copy(messages, mailbox, uid=True)
        return self._move_by_copy(copy)

    def _move_by_copy(self, copy: Copy) -> Flow[CopyUid | None]:
        """RFC 6851 §3.3: UID COPY, UID STORE +FLAGS.SILENT \\Deleted, UID EXPUNGE."""
        conn, limit = self.connection, self._limit
        result = yield from msg.copy(conn, copy, self._h, limit=limit)
        store = Store(copy.messages, ("\\Deleted",), "+", True, True)
        yield from msg.store(conn, store, self._h, limit=limit)
        yield from msg.expunge(conn, Expunge(copy.messages), self._h, limit=limit)
        return result

    def _expunge_flow(self, messages: Any | None) -> Flow[list[int]]:
        self._usable()
        if messages is not None:
            self._need("UIDPLUS", "IMAP4REV2")
        command = Expunge(messages)
        return msg.expunge(self.connection, command, self._h, limit=self._limit)

    def _append_flow(
        self, mailbox: str, messages: Sequence[tuple[Any, Sequence[str], datetime | None]]
    ) -> Flow[msg.Appended]:
        self._usable()
        if len(messages) > 1:
            self._need("MULTIAPPEND")
        chunk = self.limits.chunk_size
        sources = [prepare_source(m, tuple(flags), date, chunk) for m, flags, date in messages]
        if "UTF8=ACCEPT" in self.connection.enabled:
            # RFC 6855 §4: once UTF8=ACCEPT is on, messages go as UTF8 (~{n}),
            # whose header may then hold UTF-8 (sent for every message: the
            # header of a file or stream is not read ahead to tell).
            sources = [
                dataclasses.replace(s, part=dataclasses.replace(s.part, utf8=True)) for s in sources
            ]
        elif any(s.part.binary for s in sources):
            self._need("BINARY")
        return msg.append(self.connection, mailbox, sources, self._h)
