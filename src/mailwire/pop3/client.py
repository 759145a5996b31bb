"""The blocking POP3 client: each method runs one flow on a socket."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar, overload

from mailwire import sasl
from mailwire._flow import Flow
from mailwire._io.blocking import BlockingDriver
from mailwire.pop3 import _flows
from mailwire.pop3._capabilities import Capabilities
from mailwire.pop3._client_base import ClientBase, SinkFactory
from mailwire.pop3._flows import Progress, Sink
from mailwire.pop3._maildir import Delivered
from mailwire.pop3.events import LanguageListing, Ok

__all__ = ["Client"]

T = TypeVar("T")


class Client(ClientBase):
    """A blocking POP3 client (RFC 1939 and its extensions) with safe defaults.

    Implicit TLS on port 995 unless told otherwise; ``TLSMode.STARTTLS`` is
    required when chosen (STLS, RFC 2595); no authentication without TLS
    unless ``allow_plaintext_auth=True``; APOP and CRAM-MD5 only when enabled.
    See :class:`~mailwire.pop3._client_base.ClientBase` for the arguments.

    Use it as a context manager: ``with Client(host) as c: c.login(u, pw)``.
    Leaving the block normally sends QUIT, which commits the deletions
    (RFC 1939 §6) -- and raises ``ConnectionLost`` if its answer is lost, since
    they may not have happened. Leaving it with an exception closes the
    connection without QUIT: nothing marked deleted is removed.
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
            self.quit()
        else:
            self.close()

    def _run(self, flow: Flow[T], *, deadline: bool = True) -> T:
        return self._driver.run(flow, timeout=self.operation_timeout if deadline else None)

    # ------------------------------------------------------------ session

    def connect(self) -> Capabilities:
        """Connect, read the greeting, send CAPA (and STLS when required).

        Returns:
            The server's capabilities (``supported`` is false when the server
            refuses CAPA).

        Raises:
            ConnectionLost, Timeout, ssl.SSLCertVerificationError,
            SecurityError (STLS required and not obtained, or injection),
            POP3ErrorReply (the greeting refused the session).
        """
        self._driver.connect()
        return self._run(self._connect_flow())

    def login(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        token: str | None = None,
        mechanisms: Iterable[str] | None = None,
        authzid: str | None = None,
        initial_response: bool = True,
    ) -> Ok:
        """Log in with the strongest method both sides support, then CAPA and STAT.

        The order: the best offered SASL mechanism (SCRAM-SHA-256, SCRAM-SHA-1,
        PLAIN, LOGIN; OAUTHBEARER/XOAUTH2 for a ``token``), then APOP (only
        with ``enable_apop``), then USER/PASS. Exactly one is tried: a refusal
        is reported, never followed by a weaker attempt (S39).

        Args:
            username, password: the credentials.
            token: an OAuth 2.0 bearer token.
            mechanisms: restrict and order the methods; SASL names plus the
                pseudo-names ``"USER"`` (USER/PASS) and ``"APOP"``.
            authzid: the identity to act as (SASL).
            initial_response: send the first SASL message with AUTH (RFC 5034
                §4) when it fits in the command line.

        Returns:
            The server's ``+OK`` to the login.

        Raises:
            SecurityError: no TLS and plaintext authentication not allowed
                (nothing sent).
            AuthenticationError: refused (``.reply.code``: ``AUTH``,
                ``IN-USE``, ``LOGIN-DELAY``, ``SYS/TEMP`` ...) or no
                acceptable method (nothing sent).
            LocalProtocolError: already logged in (nothing sent).
        """
        flow = self._login_flow(
            username,
            password,
            token=token,
            mechanisms=mechanisms,
            authzid=authzid,
            initial_response=initial_response,
        )
        return self._run(flow)

    def authenticate(
        self,
        mechanism: str | sasl.Mechanism,
        username: str | None = None,
        password: str | None = None,
        *,
        token: str | None = None,
        authzid: str | None = None,
        initial_response: bool = True,
    ) -> Ok:
        """Log in with one named SASL mechanism (RFC 5034), then CAPA and STAT.

        Raises:
            SecurityError, AuthenticationError, NotSupportedError (not
            offered), ValueError (credentials the mechanism cannot carry).
        """
        flow = self._authenticate_flow(
            mechanism,
            username,
            password,
            token=token,
            authzid=authzid,
            initial_response=initial_response,
        )
        return self._run(flow)

    def apop(self, username: str, password: str) -> Ok:
        """Log in with APOP (RFC 1939 §7), then CAPA and STAT.

        Calling this is the explicit choice APOP needs (S39): it is an MD5
        challenge-response that an active attacker can attack.

        Raises:
            SecurityError, AuthenticationError, NotSupportedError (no
            timestamp in the greeting).
        """
        return self._run(self._apop_flow(username, password))

    def capa(self) -> Capabilities:
        """Ask for the capabilities again (RFC 2449 §5)."""
        return self._run(self._capa_flow())

    def utf8(self) -> Ok:
        """Switch to UTF-8 mode (RFC 6856 §2.1); only before login.

        Raises:
            NotSupportedError, LocalProtocolError (after login), POP3ErrorReply.
        """
        return self._run(self._utf8_flow())

    @overload
    def lang(self, language: None = None) -> builtins.list[LanguageListing]: ...
    @overload
    def lang(self, language: str) -> str | None: ...
    def lang(self, language: str | None = None) -> Any:
        """LANG (RFC 6856 §3): list the languages, or choose one.

        Returns:
            The language listings; or, with ``language``, the tag the server
            chose.
        """
        return self._run(self._lang_flow(language))

    # ------------------------------------------------------------ transaction

    def stat(self) -> tuple[int, int]:
        """STAT (RFC 1939 §5): ``(message count, total octets)``."""
        return self._run(self._stat_flow())

    @overload
    def list(self, message: None = None) -> dict[int, int]: ...
    @overload
    def list(self, message: int) -> int: ...
    def list(self, message: int | None = None) -> Any:
        """LIST (RFC 1939 §5): ``{number: octets}``, or one message's size.

        Raises:
            POP3ErrorReply: no such message. RemoteProtocolError: a
            malformed listing (the line is quoted; the connection is closed).
        """
        return self._run(self._list_flow(message))

    @overload
    def uidl(self, message: None = None) -> dict[int, str]: ...
    @overload
    def uidl(self, message: int) -> str: ...
    def uidl(self, message: int | None = None) -> Any:
        """UIDL (RFC 1939 §7): ``{number: unique-id}``, or one message's id."""
        return self._run(self._uidl_flow(message))

    @overload
    def retrieve(
        self, message: int, sink: None = None, progress: Progress | None = None
    ) -> bytes: ...
    @overload
    def retrieve(self, message: int, sink: Sink, progress: Progress | None = None) -> int: ...
    def retrieve(
        self, message: int, sink: Sink | None = None, progress: Progress | None = None
    ) -> Any:
        """RETR (RFC 1939 §5): the message, dot-unstuffed, as the server has it.

        Args:
            message: the message number.
            sink: a binary file or a callable that takes each chunk as it
                arrives; the message is then never held in memory.
            progress: ``progress(octets_so_far, expected_or_None)`` after
                each chunk (the expectation comes from the last ``list()``).

        Returns:
            The message bytes, or with a sink the number of octets written.

        Raises:
            POP3ErrorReply: no such message. LiteralTooLarge: over
            ``Limits.max_literal_size`` without a sink. ConnectionLost: cut
            off mid-message (the sink then holds a partial message).
        """
        return self._run(self._retrieve_flow(message, sink, progress), deadline=False)

    def top(self, message: int, lines: int, sink: Sink | None = None) -> Any:
        """TOP (RFC 1939 §7): the header and the first ``lines`` body lines."""
        return self._run(self._top_flow(message, lines, sink), deadline=False)

    def delete(self, message: int) -> Ok:
        """DELE (RFC 1939 §5): mark a message deleted; QUIT removes it."""
        return self._run(self._delete_flow(message))

    def reset(self) -> Ok:
        """RSET (RFC 1939 §5): unmark every message marked deleted."""
        return self._run(self._reset_flow())

    def noop(self) -> Ok:
        """NOOP (RFC 1939 §5)."""
        return self._run(self._noop_flow())

    # ------------------------------------------------------------ batches

    def retrieve_many(
        self, numbers: Iterable[int], sink_factory: SinkFactory | None = None
    ) -> dict[int, Any]:
        """RETR several messages, pipelined when the server offers PIPELINING.

        Args:
            numbers: the message numbers.
            sink_factory: ``factory(number) -> sink`` for each message (the
                sink is closed when its message is complete); without one the
                messages are returned as bytes (all held: mind the count).

        Returns:
            ``{number: bytes}``, or ``{number: octets}`` with sinks.

        Raises:
            POP3ErrorReply: the first refusal, after every answer was read.
        """
        return self._run(self._retrieve_many_flow(numbers, sink_factory), deadline=False)

    def top_many(self, numbers: Iterable[int], lines: int) -> dict[int, bytes]:
        """TOP for several messages, pipelined when offered."""
        return self._run(self._top_many_flow(numbers, lines), deadline=False)

    def delete_many(self, numbers: Iterable[int]) -> None:
        """DELE several messages, pipelined when offered.

        Raises:
            POP3ErrorReply: the first refusal, after every answer was read.
        """
        self._run(self._delete_many_flow(numbers))

    def list_many(self, numbers: Iterable[int]) -> dict[int, int]:
        """LIST for several messages (single-line answers), pipelined when offered.

        Raises:
            POP3ErrorReply: the first refusal, after every answer was read.
        """
        return self._run(self._list_many_flow(numbers))

    def uidl_many(self, numbers: Iterable[int]) -> dict[int, str]:
        """UIDL for several messages (single-line answers), pipelined when offered.

        Raises:
            POP3ErrorReply: the first refusal, after every answer was read.
        """
        return self._run(self._uidl_many_flow(numbers))

    def retrieve_all(
        self, sink_factory: SinkFactory, numbers: Iterable[int] | None = None
    ) -> dict[int, int]:
        """Stream every message (or ``numbers``) into its own sink, pipelined.

        Nothing is held but one chunk: the whole mailbox can be larger than
        memory. Returns ``{number: octets}``.
        """
        return self._run(self._retrieve_all_flow(sink_factory, numbers), deadline=False)

    def iter_messages(self, numbers: Iterable[int] | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield ``(number, message)`` one message at a time.

        Only the message being handed out is held. With PIPELINING the next
        few RETRs are already on their way while the caller works on this one
        (their answers wait in the socket buffers). The other methods refuse
        to run until the iteration ends; stopping early and closing the
        iterator (``break`` does it) reads and drops the answers still due.
        The checks (logged in) run at the first step.
        """
        wanted = self._run(self._iteration_numbers(numbers))
        sent = 0
        self._iterating = True
        try:
            for index, number in enumerate(wanted):
                sent = self._send_ahead(wanted, sent, index)
                data = self._run(self._read_retrieved(number), deadline=False)
                assert isinstance(data, bytes)
                yield number, data
        finally:
            self._iterating = False
            if self.connection.pending and self._driver.is_open and self._can_quit():
                self._run(_flows.drain(self.connection), deadline=False)

    def retrieve_to_maildir(
        self,
        directory: str | os.PathLike[str],
        *,
        delete: bool = True,
        numbers: Iterable[int] | None = None,
        progress: Progress | None = None,
    ) -> builtins.list[Delivered]:
        """Download every message (or ``numbers``) into a Maildir, safely.

        Each message is written to ``tmp/``, fsync-ed, moved to ``new/`` (and
        the directory fsync-ed) before its DELE is sent; the server removes
        messages only at a successful QUIT. A message is never deleted that
        is not on disk, and a cut anywhere before QUIT's ``+OK`` leaves every
        message on the server.

        Returns:
            One :class:`~mailwire.pop3.Delivered` per message.
        """
        flow = self._maildir_flow(directory, delete=delete, numbers=numbers, progress=progress)
        return self._run(flow, deadline=False)

    # ------------------------------------------------------------ ending

    def quit(self) -> Ok | None:
        """QUIT and close; from TRANSACTION this commits the deletions.

        Returns:
            The ``+OK``, or ``None`` when there was no session to end.

        Raises:
            ConnectionLost: the answer was lost after QUIT from TRANSACTION:
                the deletions may not have happened (RFC 1939 §6).
            POP3ErrorReply: ``-ERR`` to QUIT (some deletions failed).
        """
        if not self._driver.is_open:
            return None
        if not self._can_quit():
            self.close()
            return None
        try:
            if self.connection.pending:
                self._run(_flows.drain(self.connection), deadline=False)
            return self._run(self._quit_flow())
        finally:
            self._driver.close()

    def close(self) -> None:
        """Close the connection without QUIT (nothing marked deleted is removed)."""
        self._driver.close()
