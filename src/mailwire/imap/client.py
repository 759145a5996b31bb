"""The blocking IMAP client: each method runs one flow on the blocking driver.

The decisions live in :mod:`._client_base` and :mod:`._client_ops`, the
procedures in the ``_flows`` modules; this shell only runs them, so the
asyncio client (:mod:`.aio`) behaves the same by construction.
"""

from __future__ import annotations

import builtins
import collections
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from mailwire import sasl
from mailwire._flow import Flow
from mailwire._io.blocking import BlockingDriver
from mailwire.imap._client_base import ClientBase
from mailwire.imap._flows import Done
from mailwire.imap._flows_mailbox import Opened
from mailwire.imap._flows_message import Appended, FetchResult, StoreResult
from mailwire.imap._idle import REFRESH_SECONDS, IdleEnded
from mailwire.imap._session import Capabilities
from mailwire.imap._sinks import Progress, SinkFactory
from mailwire.imap._state import State
from mailwire.imap.commands import DeleteAcl, NotifyGroup, QResync, SetAcl
from mailwire.imap.events import (
    CopyUid,
    ESearchData,
    FetchData,
    ListData,
    ListRightsData,
    NamespaceData,
    Quota,
    Response,
    StatusData,
    Tagged,
)
from mailwire.imap.search import x_gm_raw

__all__ = ["Client", "IdleSession"]

T = TypeVar("T")


class Client(ClientBase):
    """A blocking IMAP client (RFC 9051 and RFC 3501) with safe defaults.

    Implicit TLS on port 993 unless told otherwise; ``TLSMode.STARTTLS`` is
    required when chosen; no authentication without TLS unless
    ``allow_plaintext_auth=True``. Message sets are UIDs unless ``uid=False``.
    See :class:`~mailwire.imap._client_base.ClientBase` for the arguments.

    Use it as a context manager: ``with Client(host) as c: c.login(...)``.
    Leaving the block normally sends LOGOUT; leaving it with an exception
    closes the connection.
    """

    def __init__(self, host: str, port: int | None = None, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._driver = BlockingDriver(self.host, self.port, **self._driver_args)

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None and self._driver.is_open:
            self.logout()
        else:
            self.disconnect()

    def _run(self, flow: Flow[T], *, deadline: bool = True) -> T:
        timeout = self.operation_timeout if deadline else None
        return self._driver.run(self._wrap(flow), timeout=timeout)

    # ------------------------------------------------------------ session

    def connect(self) -> Capabilities:
        """Connect, read the greeting, STARTTLS when required, learn the capabilities.

        Returns:
            The server's capabilities.

        Raises:
            ConnectionLost: the connection failed, or the greeting was BYE.
            Timeout, ssl.SSLCertVerificationError,
            SecurityError: STARTTLS required and not obtained, or PREAUTH
                when STARTTLS is required (S6).
            RemoteProtocolError: no IMAP greeting (S8).
        """
        self._driver.connect()
        return self._run(self._connect_flow())

    def login(self, username: str, password: str) -> Capabilities:
        """LOGIN (RFC 9051 §6.2.3). State: NOT_AUTHENTICATED -> AUTHENTICATED.

        A non-ASCII user name or password is sent with AUTHENTICATE instead
        (the strongest offered password mechanism), since LOGIN carries no
        UTF-8 (RFC 6855 §5).

        Returns:
            The capabilities after login (they may change, §6.2.3).

        Raises:
            SecurityError: no TLS and plaintext auth not allowed (nothing sent).
            NotSupportedError: LOGINDISABLED (nothing sent).
            AuthenticationError: the server refused.
            ValueError: CR, LF or NUL in an argument, or non-ASCII
                credentials and no password mechanism offered (nothing sent).
        """
        return self._run(self._login_flow(username, password))

    def authenticate(
        self,
        mechanism: str | sasl.Mechanism | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        authzid: str | None = None,
        mechanisms: Iterable[str] | None = None,
        initial_response: bool | None = None,
    ) -> Capabilities:
        """AUTHENTICATE with one SASL mechanism (RFC 9051 §6.2.2, SASL-IR RFC 4959).

        With no ``mechanism`` the strongest offered one the credentials can
        use is chosen (SCRAM first); a refusal is reported, never followed by
        another mechanism (S39). State: NOT_AUTHENTICATED -> AUTHENTICATED.

        Raises:
            SecurityError, NotSupportedError, AuthenticationError, ValueError.
        """
        flow = self._authenticate_flow(
            mechanism,
            username=username,
            password=password,
            token=token,
            authzid=authzid,
            mechanisms=mechanisms,
            initial_response=initial_response,
        )
        return self._run(flow)

    def capability(self) -> Capabilities:
        """CAPABILITY (RFC 9051 §6.1.1), asked again."""
        return self._run(self._capability_flow())

    def enable(self, *names: str) -> tuple[str, ...]:
        """ENABLE (RFC 5161): e.g. ``enable("CONDSTORE", "UTF8=ACCEPT")``; what was enabled."""
        return self._run(self._enable_flow(names))

    def id(self, params: dict[str, str | None] | None = None) -> dict[str, str | None] | None:
        """ID (RFC 2971): send ``params`` (or NIL); returns the server's."""
        return self._run(self._id_flow(params))

    def namespace(self) -> NamespaceData:
        """NAMESPACE (RFC 9051 §6.3.10): personal, other users', shared."""
        return self._run(self._namespace_flow())

    def compress(self) -> bool:
        """COMPRESS=DEFLATE (RFC 4978): compress both directions from now on."""
        return self._run(self._compress_flow())

    def noop(self) -> Done:
        """NOOP (RFC 9051 §6.1.2): unsolicited updates go to ``on_event``."""
        return self._run(self._noop_flow())

    def pipeline(self, commands: Iterable[object]) -> builtins.list[Done]:
        """Send commands without waiting, then collect every result (RFC 9051 §5.5).

        ``client.pipeline([imap.Fetch(...), imap.Store(...), imap.Search(...)])``
        returns one :class:`~mailwire.imap._flows.Done` per command; a NO or
        BAD is in its ``error`` (``raise_for_status()``), not raised.
        """
        return self._run(self._pipeline_flow(commands))

    def logout(self) -> Tagged | None:
        """LOGOUT and close. Returns the tagged OK, or None if the server had gone."""
        if not self._driver.is_open:
            return None
        try:
            if not self._can_logout():
                return None
            return self._run(self._logout_flow())
        finally:
            self._driver.close()

    def disconnect(self) -> None:
        """Close the connection without LOGOUT."""
        self._driver.close()

    # ------------------------------------------------------------ mailboxes

    def list(
        self,
        reference: str = "",
        pattern: str | Sequence[str] = "*",
        *,
        select_options: Sequence[str] = (),
        return_options: Sequence[str] = (),
        subscribed: bool = False,
    ) -> builtins.list[ListData]:
        """LIST (RFC 9051 §6.3.9; LIST-EXTENDED, SPECIAL-USE): the matching mailboxes."""
        flow = self._list_flow(
            reference,
            pattern,
            select_options=select_options,
            return_options=return_options,
            subscribed=subscribed,
        )
        return self._run(flow)

    def list_status(
        self, pattern: str = "*", items: Sequence[str] = ("MESSAGES", "UNSEEN"), reference: str = ""
    ) -> dict[str, StatusData]:
        """STATUS of every mailbox matching ``pattern`` (LIST-STATUS, or pipelined STATUS)."""
        return self._run(self._list_status_flow(reference, pattern, items))

    def create(self, mailbox: str, *, special_use: Sequence[str] = ()) -> Done:
        """CREATE (RFC 9051 §6.3.4; ``special_use`` RFC 6154 §3)."""
        return self._run(self._create_flow(mailbox, special_use))

    def delete(self, mailbox: str) -> Done:
        """DELETE (RFC 9051 §6.3.5)."""
        return self._run(self._delete_flow(mailbox))

    def rename(self, mailbox: str, new_name: str) -> Done:
        """RENAME (RFC 9051 §6.3.6)."""
        return self._run(self._rename_flow(mailbox, new_name))

    def subscribe(self, mailbox: str) -> Done:
        """SUBSCRIBE (RFC 9051 §6.3.7)."""
        return self._run(self._subscribe_flow(mailbox, True))

    def unsubscribe(self, mailbox: str) -> Done:
        """UNSUBSCRIBE (RFC 9051 §6.3.8)."""
        return self._run(self._subscribe_flow(mailbox, False))

    def status(self, mailbox: str, items: Sequence[str] | None = None) -> StatusData:
        """STATUS (RFC 9051 §6.3.11); MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN by default."""
        return self._run(self._status_flow(mailbox, items))

    def select(
        self,
        mailbox: str,
        readonly: bool = False,
        *,
        condstore: bool = False,
        qresync: QResync | None = None,
        annotate: bool = False,
    ) -> Opened:
        """SELECT (or EXAMINE when ``readonly``), RFC 9051 §6.3.2; CONDSTORE/QRESYNC (RFC 7162).

        ``annotate`` adds the ANNOTATE parameter (RFC 5257 §4.1): FETCH
        answers then report annotation changes, and ``Opened.mailbox.
        annotations`` holds the server's ANNOTATIONS limit.

        State: -> SELECTED on OK; -> AUTHENTICATED on NO (IMAPStatusError).
        """
        flow = self._select_flow(
            mailbox, readonly=readonly, condstore=condstore, qresync=qresync, annotate=annotate
        )
        return self._run(flow)

    def examine(self, mailbox: str, *, condstore: bool = False) -> Opened:
        """EXAMINE (RFC 9051 §6.3.3): SELECT, read-only."""
        return self.select(mailbox, True, condstore=condstore)

    def unselect(self) -> Done:
        """UNSELECT (RFC 3691, RFC 9051 §6.4.2): leave without expunging."""
        return self._run(self._close_flow(False))

    def close(self) -> Done:
        """CLOSE (RFC 9051 §6.4.1): expunge \\Deleted messages and leave the mailbox."""
        return self._run(self._close_flow(True))

    def get_quota(self, root: str = "") -> Quota:
        """GETQUOTA (RFC 9208 §4.2)."""
        return self._run(self._quota_flow(root))

    def get_quota_root(self, mailbox: str) -> tuple[tuple[str, ...], builtins.list[Quota]]:
        """GETQUOTAROOT (RFC 9208 §4.3): the roots and their quotas."""
        return self._run(self._quota_root_flow(mailbox))

    def set_quota(self, root: str, limits: dict[str, int]) -> Done:
        """SETQUOTA (RFC 9208 §4.4)."""
        return self._run(self._set_quota_flow(root, limits))

    def get_metadata(
        self,
        mailbox: str,
        entries: Sequence[str],
        *,
        maxsize: int | None = None,
        depth: str | None = None,
    ) -> dict[str, bytes | None]:
        """GETMETADATA (RFC 5464 §4.2); ``mailbox=""`` for server entries."""
        return self._run(self._get_metadata_flow(mailbox, entries, maxsize, depth))

    def set_metadata(self, mailbox: str, entries: dict[str, str | bytes | None]) -> Done:
        """SETMETADATA (RFC 5464 §4.3); a ``None`` value removes the entry."""
        return self._run(self._set_metadata_flow(mailbox, entries))

    def get_acl(self, mailbox: str) -> dict[str, str]:
        """GETACL (RFC 4314 §3.3): identifier to rights (``{"fred": "lrswipkxtea"}``)."""
        return self._run(self._get_acl_flow(mailbox))

    def set_acl(self, mailbox: str, identifier: str, rights: str) -> Done:
        """SETACL (RFC 4314 §3.1): ``"lrs"`` replaces, ``"+w"`` adds, ``"-w"`` removes."""
        return self._run(self._acl_flow(SetAcl(mailbox, identifier, rights)))

    def delete_acl(self, mailbox: str, identifier: str) -> Done:
        """DELETEACL (RFC 4314 §3.2): take ``identifier`` off the mailbox's list."""
        return self._run(self._acl_flow(DeleteAcl(mailbox, identifier)))

    def list_rights(self, mailbox: str, identifier: str) -> ListRightsData:
        """LISTRIGHTS (RFC 4314 §3.4): what may be granted to ``identifier``."""
        return self._run(self._list_rights_flow(mailbox, identifier))

    def my_rights(self, mailbox: str) -> str:
        """MYRIGHTS (RFC 4314 §3.5): the logged-in user's rights on ``mailbox``."""
        return self._run(self._my_rights_flow(mailbox))

    def notify(self, *groups: NotifyGroup, status: bool = False) -> builtins.list[StatusData]:
        """NOTIFY SET (RFC 5465 §3): which events to report, beyond the selected mailbox.

        ``notify(NotifyGroup("inboxes", events=["MessageNew", "MessageExpunge"]),
        status=True)``; no groups sends ``NOTIFY NONE``. Returns the STATUS
        responses ``status=True`` brings; later events arrive unsolicited
        (``on_event``, IDLE, NOOP).

        Treat events as hints, not a ledger. Servers read the filters
        loosely (Dovecot 2.3 takes ``inboxes`` as every personal mailbox),
        and Dovecot 2.3 can drop an INBOX change that lands within half a
        second of a change to its mailbox list (a mailbox created, say); ask
        STATUS again where a count must be right.
        """
        return self._run(self._notify_flow(groups, status))

    # ------------------------------------------------------------ messages

    def search(
        self, *criteria: Any, uid: bool = True, charset: str | None = None
    ) -> builtins.list[int]:
        """SEARCH (RFC 9051 §6.4.4): ``search("FROM", "x@y")`` -> UIDs (``uid=False``: numbers)."""
        return self._run(self._search_flow(criteria, uid=uid, charset=charset))

    def esearch(
        self, *criteria: Any, returns: Sequence[str] = ("ALL",), uid: bool = True
    ) -> ESearchData:
        """SEARCH RETURN (RFC 4731): MIN, MAX, COUNT, ALL without listing every match."""
        return self._run(self._esearch_flow(criteria, returns, uid=uid))

    def sort(
        self, keys: Sequence[str], *criteria: Any, uid: bool = True, charset: str = "UTF-8"
    ) -> builtins.list[int]:
        """SORT (RFC 5256): ``sort(["REVERSE", "DATE"], "UNSEEN")``."""
        return self._run(self._sort_flow(keys, criteria, uid=uid, charset=charset))

    def esort(
        self,
        keys: Sequence[str],
        *criteria: Any,
        returns: Sequence[str] = ("ALL",),
        uid: bool = True,
        charset: str = "UTF-8",
    ) -> ESearchData:
        """SORT RETURN (ESORT, RFC 5267 §3.1): MIN, MAX, COUNT, ALL in sorted order.

        ``esort(["REVERSE", "DATE"], "UNSEEN", returns=["ALL"])``;
        ``returns=["PARTIAL", "1:50"]`` gives one page (RFC 9394). ``ALL``
        of the answer lists the matches in the requested order.
        """
        flow = self._esort_flow(keys, criteria, returns, uid=uid, charset=charset)
        return self._run(flow)

    def thread(
        self,
        algorithm: str = "REFERENCES",
        *criteria: Any,
        uid: bool = True,
        charset: str = "UTF-8",
    ) -> builtins.list[Any]:
        """THREAD (RFC 5256): one nested tuple per thread."""
        return self._run(self._thread_flow(algorithm, criteria, uid=uid, charset=charset))

    def fetch(
        self,
        messages: Any,
        items: str | Sequence[str],
        sink: SinkFactory | None = None,
        *,
        progress: Progress | None = None,
        uid: bool = True,
        changedsince: int | None = None,
        vanished: bool = False,
        partial: str | tuple[int, int] | None = None,
    ) -> FetchResult:
        """FETCH (RFC 9051 §6.4.5): ``{uid: FetchData}``.

        Args:
            messages: UIDs (``"1:*"``, an int, ints, a SequenceSet).
            items: ``["ENVELOPE", "FLAGS", "BODY.PEEK[]"]`` or one string.
            sink: ``factory(uid, section)`` -> binary file-like: each body is
                written to it chunk by chunk and it is closed when complete
                (aborted, ``abort(exc)``, when the transfer fails). Chunks
                are ``bytes`` the sink may keep; a sink class that sets
                ``accepts_views = True`` (``FileSink``) gets memoryviews
                valid only during ``write`` instead, one copy fewer.
            progress: ``progress(uid, section, done, total)`` per chunk.
            uid: ``False`` for message sequence numbers.
            changedsince, vanished: CONDSTORE / QRESYNC modifiers (RFC 7162).
            partial: only some of the matches (PARTIAL, RFC 9394 §3.3; UID
                FETCH only): ``"1:50"`` the first fifty by UID, ``"-1:-50"``
                the last fifty.

        Raises:
            ConnectionLost: the transfer was cut; nothing is returned.
            IMAPStatusError: NO or BAD.
        """
        flow = self._fetch_flow(
            messages,
            items,
            sink=sink,
            progress=progress,
            uid=uid,
            changedsince=changedsince,
            vanished=vanished,
            partial=partial,
        )
        return self._run(flow, deadline=False)

    def store(
        self,
        messages: Any,
        flags: Iterable[str],
        action: str = "+",
        *,
        silent: bool = False,
        uid: bool = True,
        unchangedsince: int | None = None,
    ) -> StoreResult:
        """STORE (RFC 9051 §6.4.6): ``action`` ``"+"`` adds, ``"-"`` removes, ``""`` sets.

        Returns:
            The new flags by UID (message number with ``uid=False``), none
            when ``silent``. With ``unchangedsince`` (CONDSTORE, RFC 7162
            §3.1.3), ``.modified`` holds the messages the server left alone
            because they had changed since then (``None`` if none).
        """
        flow = self._store_flow(
            messages, flags, action=action, silent=silent, uid=uid, unchangedsince=unchangedsince
        )
        return self._run(flow)

    def store_annotations(
        self,
        messages: Any,
        annotations: Mapping[str, Mapping[str, str | bytes | None]],
        *,
        uid: bool = True,
        unchangedsince: int | None = None,
    ) -> StoreResult:
        """STORE ... ANNOTATION (RFC 5257 §4.3): set (or with ``None`` remove) annotations.

        ``store_annotations(7, {"/comment": {"value.shared": "Call back"}})``.
        With ``unchangedsince``, ``.modified`` is as for :meth:`store`.
        """
        flow = self._store_annotation_flow(
            messages, annotations, uid=uid, unchangedsince=unchangedsince
        )
        return self._run(flow)

    def copy(self, messages: Any, mailbox: str, *, uid: bool = True) -> CopyUid | None:
        """COPY (RFC 9051 §6.4.7); COPYUID (RFC 4315) when the server gives it."""
        return self._run(self._copy_flow(messages, mailbox, uid=uid))

    def move(self, messages: Any, mailbox: str, *, uid: bool = True) -> CopyUid | None:
        """MOVE (RFC 6851); without MOVE, UID COPY + STORE + UID EXPUNGE (§3.3)."""
        return self._run(self._move_flow(messages, mailbox, uid=uid))

    def expunge(self, messages: Any | None = None) -> builtins.list[int]:
        """EXPUNGE, or UID EXPUNGE of ``messages`` (RFC 4315 §2.1)."""
        return self._run(self._expunge_flow(messages))

    def append(
        self,
        mailbox: str,
        message: Any,
        flags: Sequence[str] = (),
        date: datetime | None = None,
    ) -> Appended:
        """APPEND (RFC 9051 §6.3.12), streamed from bytes, a file, a path or a message.

        Returns:
            APPENDUID (RFC 4315) when offered: ``.uidvalidity``, ``.uids``.

        Raises:
            IMAPStatusError: refused (``code == "TRYCREATE"``: no such mailbox).
            ConnectionLost: lost before the tagged OK (fate unknown).
        """
        return self._run(self._append_flow(mailbox, [(message, flags, date)]), deadline=False)

    def append_many(
        self, mailbox: str, messages: Sequence[tuple[Any, Sequence[str], datetime | None]]
    ) -> Appended:
        """MULTIAPPEND (RFC 3502): several messages, all or none."""
        return self._run(self._append_flow(mailbox, messages), deadline=False)

    def gmail_search(self, query: str) -> builtins.list[int]:
        """Gmail's X-GM-RAW search (X-GM-EXT-1): the query as typed in Gmail."""
        self._need("X-GM-EXT-1")
        return self.search(x_gm_raw(query))

    def add_labels(self, messages: Any, labels: Iterable[str]) -> dict[int, FetchData]:
        """Gmail: add labels (``STORE +X-GM-LABELS``)."""
        flow = self._store_flow(
            messages,
            labels,
            action="+",
            silent=False,
            uid=True,
            unchangedsince=None,
            item="X-GM-LABELS",
        )
        return self._run(flow)

    def remove_labels(self, messages: Any, labels: Iterable[str]) -> dict[int, FetchData]:
        """Gmail: remove labels (``STORE -X-GM-LABELS``)."""
        flow = self._store_flow(
            messages,
            labels,
            action="-",
            silent=False,
            uid=True,
            unchangedsince=None,
            item="X-GM-LABELS",
        )
        return self._run(flow)

    # ------------------------------------------------------------ IDLE

    def idle(self, timeout: float = 60.0) -> IdleSession:
        """IDLE (RFC 2177): ``with client.idle(timeout=30) as events: for e in events: ...``.

        The iteration yields unsolicited events (``Exists``, ``ExpungeData``,
        ``Vanished``, ``FetchData`` flag changes ...) and ends after
        ``timeout`` seconds without one; IDLE is re-issued every 29 minutes.
        Leaving the block sends DONE and waits for the tagged OK. BYE or a
        lost connection raise ``ConnectionLost``.

        Raises:
            NotSupportedError: the server does not offer IDLE (nothing sent).
        """
        self._idle_start_flow().close()  # the checks, now (the flow itself runs on enter)
        return IdleSession(self, timeout)


class IdleSession:
    """The running IDLE of a blocking :class:`Client` (see :meth:`Client.idle`)."""

    def __init__(self, client: Client, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self._tag: str | None = None
        self._since = 0.0
        self._queue: collections.deque[Response] = collections.deque()

    def __enter__(self) -> IdleSession:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        client = self.client
        if self._tag is not None and client._driver.is_open and client.connection.error is None:
            tag, self._tag = self._tag, None
            client._run(client._idle_finish_flow(tag))

    def _start(self) -> None:
        tag, early = self.client._run(self.client._idle_start_flow())
        self._tag, self._since = tag, time.monotonic()
        self._queue.extend(early)

    def __iter__(self) -> Iterator[Response]:
        return self

    def __next__(self) -> Response:
        client = self.client
        if self._queue:
            return self._deliver(self._queue.popleft())
        deadline = time.monotonic() + self.timeout
        while self._tag is not None:
            now = time.monotonic()
            if now >= deadline:
                raise StopIteration
            if now - self._since >= REFRESH_SECONDS:
                tag, self._tag = self._tag, None
                client._run(client._idle_finish_flow(tag))
                self._start()
                continue
            budget = min(deadline, self._since + REFRESH_SECONDS) - now
            event = client._driver.run(
                client._wrap(client._idle_wait_flow(self._tag)), timeout=budget
            )
            if event is None:
                continue
            if isinstance(event, IdleEnded):
                self._tag = None  # the server ended IDLE; start it again
                self._start()
                continue
            return self._deliver(event)
        raise StopIteration

    def _deliver(self, event: Response) -> Response:
        self.client._handle(event)
        return event

    @property
    def active(self) -> bool:
        """Whether IDLE is running."""
        return self._tag is not None and self.client.connection.state is State.IDLING
