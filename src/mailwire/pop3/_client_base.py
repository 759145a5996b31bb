"""What the blocking and the asyncio POP3 clients share: every decision.

A client method builds a flow here, and the blocking or asyncio shell runs it
on its driver. Everything that needs no I/O -- which login method, whether
authentication may go over this connection, whether a command is supported,
whether to pipeline -- is decided here once, *before* the flow is handed to
the driver, so a refusal sends nothing and leaves the session as it was
(security.md S38, S39).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mailwire import sasl
from mailwire._flow import Flow
from mailwire.errors import (
    LocalProtocolError,
    NotSupportedError,
    POP3ErrorReply,
    SecurityError,
)
from mailwire.limits import DEFAULT_LIMITS, Limits
from mailwire.pop3 import _flows
from mailwire.pop3._capabilities import Capabilities
from mailwire.pop3._flows import Progress, Sink
from mailwire.pop3._login import APOP, apop_command, choose_login, user_pass_commands
from mailwire.pop3._maildir import Delivered, Maildir, retrieve_to_maildir
from mailwire.pop3._state import State
from mailwire.pop3.commands import (
    Command,
    Dele,
    Lang,
    List,
    Noop,
    Retr,
    Rset,
    Top,
    Uidl,
    Utf8,
)
from mailwire.pop3.connection import Connection
from mailwire.pop3.events import DropListing, Err, Greeting, Ok, ScanListing
from mailwire.tls import TLSMode, default_port
from mailwire.transcript import Transcript

if TYPE_CHECKING:
    import ssl

__all__ = ["DEFAULT_OPERATION_TIMEOUT", "ClientBase", "SinkFactory"]

#: Seconds one operation may take in all, on top of the per-wait timeout: a
#: server dripping a byte at a time cannot hold a command for ever (S27).
#: Message retrieval is exempt (it may legitimately take long).
DEFAULT_OPERATION_TIMEOUT = 300.0

#: ``factory(message_number) -> sink`` for the batch retrievals.
SinkFactory = Callable[[int], Sink]

#: RETR commands ``iter_messages`` keeps outstanding beyond the one being read
#: (with PIPELINING). Each saves a round trip per message on a slow link;
#: stopping early costs reading and dropping that many answers.
ITERATION_LOOKAHEAD = 4


class ClientBase:
    """Arguments and flow builders shared by ``Client`` and ``AsyncClient``.

    Args:
        host: the server.
        port: defaults to 995 (IMPLICIT) or 110 (STARTTLS, PLAIN).
        tls: :class:`TLSMode`; IMPLICIT by default (RFC 8314). STARTTLS means
            STLS is required: the client fails closed without it (S4, S5).
        ssl_context: a caller's context; ``None`` verifies against the system
            store with TLS >= 1.2.
        timeout: seconds any single network wait may take.
        allow_plaintext_auth: permit authentication without TLS (S38).
        keylog_file: write the TLS key log here (opt-in).
        transcript: record into this transcript (a new one by default).
        limits: bounds on what the server can make us hold.
        enable_apop: let :meth:`login` use APOP (MD5; off by default, S39).
        enable_cram_md5: let :meth:`login` use CRAM-MD5 (S39).
        operation_timeout: seconds a whole command may take; for RETR and
            TOP, seconds for the status line and for each 64 KiB after it.
        source_address: ``(host, port)`` to bind before connecting.
        pipeline_window: commands outstanding at once in a batch when the
            server offers PIPELINING (RFC 2449 §6.6).
    """

    _protocol = "pop3"

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        tls: TLSMode = TLSMode.IMPLICIT,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 30.0,
        allow_plaintext_auth: bool = False,
        keylog_file: str | os.PathLike[str] | None = None,
        transcript: Transcript | None = None,
        limits: Limits = DEFAULT_LIMITS,
        enable_apop: bool = False,
        enable_cram_md5: bool = False,
        operation_timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        source_address: tuple[str, int] | None = None,
        pipeline_window: int = 32,
    ) -> None:
        if pipeline_window < 1:
            raise ValueError("pipeline_window must be at least 1")
        self.host = host
        self.tls = TLSMode(tls)
        self.port = port if port is not None else default_port(self._protocol, self.tls)
        self.allow_plaintext_auth = allow_plaintext_auth
        self.enable_apop = enable_apop
        self.enable_cram_md5 = enable_cram_md5
        self.operation_timeout = operation_timeout
        self.pipeline_window = pipeline_window
        self.limits = limits
        self.transcript = transcript if transcript is not None else Transcript()
        self.transcript.protocol = self._protocol
        self.connection = Connection(
            limits=limits,
            tls_active=self.tls is TLSMode.IMPLICIT,
            annotate=self.transcript.event,
        )
        self._sizes: dict[int, int] = {}  # from the last LIST, for progress
        self._iterating = False
        self._driver_args: dict[str, Any] = {
            "tls": self.tls,
            "ssl_context": ssl_context,
            "timeout": timeout,
            "keylog_file": keylog_file,
            "transcript": self.transcript,
            "source_address": source_address,
        }

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.host}:{self.port} {self.tls.name} "
            f"{self.connection.state.name}>"
        )

    @property
    def capabilities(self) -> Capabilities | None:
        """What the server offered in its last CAPA answer."""
        return self.connection.capabilities

    @property
    def greeting(self) -> Greeting | None:
        """The server's greeting (with the APOP timestamp, if any)."""
        return self.connection.greeting

    @property
    def pipelining(self) -> bool:
        """Whether batches are pipelined (the server offers PIPELINING)."""
        caps = self.connection.capabilities
        return caps is not None and caps.pipelining

    # ------------------------------------------------------------ checks

    def _check_free(self) -> None:
        if self._iterating:
            raise LocalProtocolError(
                "a message iteration is in progress on this connection; finish or close it first"
            )

    def _need_transaction(self) -> None:
        self._check_free()
        if self.connection.state is not State.TRANSACTION:
            raise LocalProtocolError(
                f"not logged in (state {self.connection.state.name}); call login() first"
            )

    def _need(self, capability: str) -> None:
        caps = self.connection.capabilities
        # RFC 2449 §5: without CAPA the client probes: the command is just sent.
        if caps is not None and caps.supported and capability not in caps:
            raise NotSupportedError(
                f"the server does not offer {capability} (RFC 2449 §6)", capability=capability
            )

    def _window(self) -> int:
        return self.pipeline_window if self.pipelining else 1

    # ------------------------------------------------------------ session

    def _connect_flow(self) -> Flow[Capabilities]:
        yield from _flows.greet(self.connection)
        caps = yield from _flows.capa(self.connection)
        if self.tls is TLSMode.STARTTLS:
            caps = yield from _flows.stls(self.connection, None)
        return caps

    def _check_login(self) -> None:
        conn = self.connection
        self._check_free()
        if conn.authenticated or conn.state is State.TRANSACTION:
            raise LocalProtocolError("already authenticated on this connection")
        if conn.state is not State.AUTHORIZATION:
            raise LocalProtocolError(f"cannot log in in state {conn.state.name}")
        if not conn.tls_active and not self.allow_plaintext_auth:
            raise SecurityError(
                "refusing to authenticate without TLS; use TLSMode.IMPLICIT or STARTTLS, "
                "or pass allow_plaintext_auth=True"
            )

    def _login_flow(
        self,
        username: str | None,
        password: str | None,
        *,
        token: str | None,
        mechanisms: Iterable[str] | None,
        authzid: str | None,
        initial_response: bool,
    ) -> Flow[Ok]:
        """Check, choose the method, and return the login flow.

        A plain function, not a generator: its refusals are raised at once,
        before the driver runs anything (S38, S39: nothing reaches the server).
        Exactly one method is tried.
        """
        self._check_login()
        conn = self.connection
        choice = choose_login(
            conn.capabilities or Capabilities.unsupported(),
            conn.greeting,
            username=username,
            password=password,
            token=token,
            authzid=authzid,
            mechanisms=mechanisms,
            enable_apop=self.enable_apop,
            enable_cram_md5=self.enable_cram_md5,
            limits=self.limits,
            host=self.host,
            port=self.port,
        )
        if choice.mechanism is not None:
            return self._logged_in(
                _flows.authenticate(conn, choice.mechanism, initial_response=initial_response)
            )
        if choice.method == APOP:
            return self._apop_flow(username or "", password or "")
        utf8_user = conn.capabilities is not None and conn.capabilities.utf8_user
        user, secret = user_pass_commands(username or "", password or "", utf8_user=utf8_user)
        return self._logged_in(_flows.login_user(conn, user, secret))

    def _authenticate_flow(
        self,
        mechanism: str | sasl.Mechanism,
        username: str | None,
        password: str | None,
        *,
        token: str | None,
        authzid: str | None,
        initial_response: bool,
    ) -> Flow[Ok]:
        self._check_login()
        if isinstance(mechanism, str):
            name = mechanism.upper()
            mech = sasl.by_name(
                name,
                username=username,
                password=password,
                token=token,
                authzid=authzid,
                limits=self.limits,
            )
        else:
            mech = mechanism
        caps = self.connection.capabilities
        if caps is not None and caps.supported and mech.name not in caps.sasl:
            raise NotSupportedError(
                f"the server does not offer SASL {mech.name} (RFC 2449 §6.3)", capability="SASL"
            )
        return self._logged_in(
            _flows.authenticate(self.connection, mech, initial_response=initial_response)
        )

    def _apop_flow(self, username: str, password: str) -> Flow[Ok]:
        self._check_login()
        greeting = self.connection.greeting
        if greeting is None or greeting.timestamp is None:
            raise NotSupportedError(
                "the greeting carries no APOP timestamp (RFC 1939 §7)", capability="APOP"
            )
        caps = self.connection.capabilities
        utf8_user = caps is not None and caps.utf8_user
        apop = apop_command(username, greeting.timestamp, password, utf8_user=utf8_user)
        return self._logged_in(_flows.login_apop(self.connection, apop))

    def _logged_in(self, login: Flow[Ok]) -> Flow[Ok]:
        """After login: CAPA again (RFC 2449 §5) and STAT (bounds listings)."""
        result = yield from login
        yield from _flows.capa(self.connection)
        yield from _flows.stat(self.connection)
        return result

    def _capa_flow(self) -> Flow[Capabilities]:
        self._check_free()
        return _flows.capa(self.connection)

    def _utf8_flow(self) -> Flow[Ok]:
        self._check_free()
        if self.connection.state is not State.AUTHORIZATION:
            raise LocalProtocolError("UTF8 is only allowed before login (RFC 6856 §2.1)")
        self._need("UTF8")
        return self._ok_flow(Utf8())

    def _lang_flow(self, language: str | None) -> Flow[Any]:
        command = Lang(language)  # bad input first: ValueError, nothing sent
        self._check_free()
        self._need("LANG")
        if language is None:
            return self._listing_flow(command)
        return self._lang_set(command)

    def _lang_set(self, command: Lang) -> Flow[str | None]:
        yield from _flows.command(self.connection, command)
        return self.connection.language

    def _ok_flow(self, command: Command) -> Flow[Ok]:
        event = yield from _flows.command(self.connection, command)
        assert isinstance(event, Ok)
        return event

    def _listing_flow(self, command: Command) -> Flow[list[Any]]:
        return _flows.listing(self.connection, command, self.limits.max_held_responses)

    # ------------------------------------------------------------ transaction

    def _stat_flow(self) -> Flow[tuple[int, int]]:
        self._need_transaction()
        return self._stat()

    def _stat(self) -> Flow[tuple[int, int]]:
        drop: DropListing = yield from _flows.stat(self.connection)
        return drop.count, drop.octets

    def _list_flow(self, message: int | None) -> Flow[Any]:
        self._need_transaction()
        command = List(message)
        if message is not None:
            return self._single(command, "octets")
        return self._scan_all(command)

    def _scan_all(self, command: List) -> Flow[dict[int, int]]:
        items = yield from self._listing_flow(command)
        sizes = {item.message: item.octets for item in items}
        self._sizes = dict(sizes)
        return sizes

    def _uidl_flow(self, message: int | None) -> Flow[Any]:
        self._need_transaction()
        self._need("UIDL")
        command = Uidl(message)
        if message is not None:
            return self._single(command, "uid")
        return self._uids(command)

    def _uids(self, command: Uidl) -> Flow[dict[int, str]]:
        items = yield from self._listing_flow(command)
        return {item.message: item.uid for item in items}

    def _single(self, command: Command, field: str) -> Flow[Any]:
        event = yield from _flows.command(self.connection, command)
        return getattr(event, field)

    def _retrieve_flow(
        self, message: int, sink: Sink | None, progress: Progress | None
    ) -> Flow[bytes | int]:
        self._need_transaction()
        command = Retr(message)
        return self._message_flow(command, sink, progress)

    def _top_flow(self, message: int, lines: int, sink: Sink | None) -> Flow[bytes | int]:
        self._need_transaction()
        self._need("TOP")
        return self._message_flow(Top(message, lines), sink, None)

    def _message_flow(
        self, command: Retr | Top, sink: Sink | None, progress: Progress | None
    ) -> Flow[bytes | int]:
        write = _flows.writer_for(sink) if sink is not None else None
        self.connection.send(command)
        return _flows.message(
            self.connection,
            command,
            write,
            progress=progress,
            expected=self._sizes.get(command.message),
            limit=self.limits.max_literal_size,
            deadline=self.operation_timeout,
        )

    def _simple_flow(self, command: Command) -> Flow[Ok]:
        self._need_transaction()
        return self._ok_flow(command)

    def _delete_flow(self, message: int) -> Flow[Ok]:
        return self._simple_flow(Dele(message))

    def _reset_flow(self) -> Flow[Ok]:
        return self._simple_flow(Rset())

    def _noop_flow(self) -> Flow[Ok]:
        return self._simple_flow(Noop())

    # ------------------------------------------------------------ batches

    def _batch_flow(
        self, commands: list[Command], reader: Callable[[Command], Flow[Any]]
    ) -> Flow[list[Any]]:
        results = yield from _flows.pipelined(
            self.connection,
            ((command, functools.partial(reader, command)) for command in commands),
            self._window(),
        )
        _flows.first_refusal(results)
        return results

    def _retrieve_many_flow(
        self, numbers: Iterable[int], sink_factory: SinkFactory | None
    ) -> Flow[dict[int, Any]]:
        self._need_transaction()
        return self._messages([Retr(n) for n in numbers], sink_factory)

    def _top_many_flow(self, numbers: Iterable[int], lines: int) -> Flow[dict[int, Any]]:
        self._need_transaction()
        self._need("TOP")
        return self._messages([Top(n, lines) for n in numbers], None)

    def _messages(
        self, commands: Sequence[Retr | Top], sink_factory: SinkFactory | None
    ) -> Flow[dict[int, Any]]:
        limit = self.limits.max_literal_size
        numbers = [command.message for command in commands]

        def read(command: Command) -> Flow[bytes | int]:
            assert isinstance(command, Retr | Top)
            if sink_factory is None:
                return (
                    yield from _flows.message(
                        self.connection, command, None, limit=limit, deadline=self.operation_timeout
                    )
                )
            sink = sink_factory(command.message)
            try:
                return (
                    yield from _flows.message(
                        self.connection,
                        command,
                        _flows.writer_for(sink),
                        limit=limit,
                        deadline=self.operation_timeout,
                    )
                )
            finally:
                close = getattr(sink, "close", None)
                if callable(close):
                    close()

        results = yield from self._batch_flow(list(commands), read)
        return dict(zip(numbers, results, strict=True))

    def _delete_many_flow(self, numbers: Iterable[int]) -> Flow[None]:
        self._need_transaction()
        commands: list[Command] = [Dele(n) for n in numbers]
        return self._single_batch(commands, None)

    def _list_many_flow(self, numbers: Iterable[int]) -> Flow[dict[int, int]]:
        self._need_transaction()
        commands: list[Command] = [List(n) for n in numbers]
        return self._single_batch(commands, "octets")

    def _uidl_many_flow(self, numbers: Iterable[int]) -> Flow[dict[int, str]]:
        self._need_transaction()
        self._need("UIDL")
        commands: list[Command] = [Uidl(n) for n in numbers]
        return self._single_batch(commands, "uid")

    def _single_batch(self, commands: list[Command], field: str | None) -> Flow[Any]:
        """A batch of single-line commands; ``{message: event.field}`` or None."""

        def read(command: Command) -> Flow[Any]:
            event = yield from _flows.answer(self.connection)
            if isinstance(event, Err):
                raise event.error()
            return event

        results = yield from self._batch_flow(commands, read)
        if field is None:
            return None
        return {event.message: getattr(event, field) for event in results}

    def _numbers(self) -> Flow[list[int]]:
        """Every message number: from the drop listing (STAT), else from LIST."""
        known = self.connection.message_numbers()
        if known is not None:
            return known
        items: list[ScanListing] = yield from self._listing_flow(List())
        self._sizes = {item.message: item.octets for item in items}
        return [item.message for item in items]

    def _retrieve_all_flow(
        self,
        sink_factory: SinkFactory,
        numbers: Iterable[int] | None,
    ) -> Flow[dict[int, int]]:
        self._need_transaction()
        wanted = list(numbers) if numbers is not None else None
        return self._retrieve_all(sink_factory, wanted)

    def _retrieve_all(
        self, sink_factory: SinkFactory, wanted: list[int] | None
    ) -> Flow[dict[int, int]]:
        if wanted is None:
            wanted = yield from self._numbers()
        result = yield from self._messages([Retr(n) for n in wanted], sink_factory)
        return result

    def _maildir_flow(
        self,
        directory: str | os.PathLike[str],
        *,
        delete: bool,
        numbers: Iterable[int] | None,
        progress: Progress | None,
    ) -> Flow[list[Delivered]]:
        self._need_transaction()
        maildir = Maildir(directory)
        wanted = list(numbers) if numbers is not None else None
        return self._to_maildir(maildir, wanted, delete, progress)

    def _to_maildir(
        self, maildir: Maildir, wanted: list[int] | None, delete: bool, progress: Progress | None
    ) -> Flow[list[Delivered]]:
        if wanted is None:
            wanted = yield from self._numbers()
        uids: dict[int, str] = {}
        caps = self.connection.capabilities
        if caps is None or not caps.supported or caps.uidl:
            try:
                uids = yield from self._uids(Uidl())
            except POP3ErrorReply:
                uids = {}  # the uids only label the results
        return (
            yield from retrieve_to_maildir(
                self.connection,
                maildir,
                wanted,
                uids=uids,
                sizes=self._sizes,
                delete=delete,
                pipelining=self.pipelining,
                window=self.pipeline_window,
                progress=progress,
                deadline=self.operation_timeout,
            )
        )

    # ------------------------------------------------------------ iteration

    def _iteration_numbers(self, numbers: Iterable[int] | None) -> Flow[list[int]]:
        self._need_transaction()
        if numbers is not None:
            wanted = list(numbers)
            return self._given(wanted)
        return self._numbers()

    @staticmethod
    def _given(numbers: list[int]) -> Flow[list[int]]:
        yield from ()  # a flow that needs no I/O
        return numbers

    def _send_ahead(self, numbers: list[int], sent: int, index: int) -> int:
        """Queue RETR for the message at ``index`` and, with PIPELINING, a few after it.

        The answers to the RETRs sent ahead wait in the kernel's socket
        buffers, not here: only the message being read is held. They are
        topped up in batches (one write) when half have been read.
        """
        ahead = min(self.pipeline_window, ITERATION_LOOKAHEAD) if self.pipelining else 0
        if sent > index + ahead // 2:
            return sent
        while sent < len(numbers) and sent <= index + ahead:
            self.connection.send(Retr(numbers[sent]))
            sent += 1
        return sent

    def _read_retrieved(self, message: int) -> Flow[bytes | int]:
        return _flows.message(
            self.connection,
            Retr(message),
            None,
            limit=self.limits.max_literal_size,
            deadline=self.operation_timeout,
        )

    def _quit_flow(self) -> Flow[Ok | None]:
        return _flows.quit(self.connection)

    def _can_quit(self) -> bool:
        return self.connection.state not in (State.ERROR, State.CLOSED, State.GREETING) and (
            self.connection.error is None
        )
