"""What the blocking and the asyncio IMAP clients share: every decision.

A client method builds a flow here, and the blocking or asyncio shell runs it
on its driver. Everything that needs no I/O -- whether authentication may go
over this connection, which SASL mechanism, whether the server offers what
the call needs, building and checking the command -- is decided *before* the
flow is handed to the driver, so a refusal sends nothing and leaves the
session as it was (security.md S38, S39, S16). The mailbox and message
operations are in :mod:`._client_ops`.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from mailwire import sasl
from mailwire._flow import Flow
from mailwire.errors import LocalProtocolError, NotSupportedError, SecurityError
from mailwire.imap import _flows, _idle
from mailwire.imap._client_ops import OpsMixin
from mailwire.imap._compress import Deflate, compressed
from mailwire.imap._flows import Done
from mailwire.imap._session import Alert, Capabilities, SelectedMailbox
from mailwire.imap._state import State
from mailwire.imap.commands import Compress, Login
from mailwire.imap.connection import ENABLE_AFTER_SELECT, Connection
from mailwire.imap.events import NamespaceData, Response, StatusResponse, Tagged
from mailwire.limits import DEFAULT_LIMITS, Limits
from mailwire.tls import TLSMode, default_port
from mailwire.transcript import Transcript

if TYPE_CHECKING:
    import ssl

__all__ = ["DEFAULT_OPERATION_TIMEOUT", "ClientBase"]

T = TypeVar("T")

#: Seconds one operation may take in all, on top of the per-wait timeout: a
#: server dripping a byte at a time cannot hold a command for ever (S27).
#: FETCH and APPEND, which may legitimately take long, are exempt.
DEFAULT_OPERATION_TIMEOUT = 300.0

#: Alerts kept for :attr:`ClientBase.alerts` (the newest; older ones drop off).
MAX_ALERTS = 32


class ClientBase(OpsMixin):
    """Arguments and flow builders shared by ``Client`` and ``AsyncClient``.

    Args:
        host: the server.
        port: defaults to 993 (IMPLICIT) or 143 (STARTTLS, PLAIN).
        tls: :class:`TLSMode`; IMPLICIT by default (RFC 8314). STARTTLS means
            the upgrade is required: the client fails closed without it (S4,
            S5), and refuses a PREAUTH greeting (S6).
        ssl_context: a caller's context; ``None`` verifies against the system
            store with TLS >= 1.2.
        timeout: seconds any single network wait may take.
        allow_plaintext_auth: permit LOGIN/AUTHENTICATE without TLS (S38).
        keylog_file: write the TLS key log here (opt-in).
        transcript: record into this transcript (a new one by default).
        limits: bounds on what the server can make us hold.
        enable_cram_md5: let SASL choose CRAM-MD5 (S39).
        operation_timeout: seconds a whole command may take (not FETCH or APPEND).
        source_address: ``(host, port)`` to bind before connecting.
        on_event: called with every unsolicited response (EXISTS, EXPUNGE,
            flag changes, alerts ...) as it arrives, outside IDLE too.
    """

    _protocol = "imap"

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
        enable_cram_md5: bool = False,
        operation_timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        source_address: tuple[str, int] | None = None,
        on_event: Callable[[Response], Any] | None = None,
    ) -> None:
        self.host = host
        self.tls = TLSMode(tls)
        self.port = port if port is not None else default_port(self._protocol, self.tls)
        self.allow_plaintext_auth = allow_plaintext_auth
        self.enable_cram_md5 = enable_cram_md5
        self.operation_timeout = operation_timeout
        self.limits = limits
        self.on_event = on_event
        self.transcript = transcript if transcript is not None else Transcript()
        self.transcript.protocol = self._protocol
        self.connection = Connection(
            limits=limits,
            tls_active=self.tls is TLSMode.IMPLICIT,
            annotate=self.transcript.event,
        )
        self._alerts: collections.deque[Alert] = collections.deque(maxlen=MAX_ALERTS)
        self._deflate: Deflate | None = None
        self._greeting: StatusResponse | None = None
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

    # ------------------------------------------------------------ state

    @property
    def capabilities(self) -> Capabilities | None:
        """What the server announced last (re-read after STARTTLS and login)."""
        return self.connection.capabilities

    @property
    def mailbox(self) -> SelectedMailbox | None:
        """The selected mailbox, kept current by the server's updates."""
        return self.connection.mailbox

    @property
    def state(self) -> State:
        """The session state (RFC 9051 §3)."""
        return self.connection.state

    @property
    def greeting(self) -> StatusResponse | None:
        """The server's greeting."""
        return self._greeting

    @property
    def alerts(self) -> list[Alert]:
        """The last ``[ALERT]`` / ``[WEBALERT]`` texts, oldest first (RFC 9051 §7.1).

        Those that arrived before TLS have ``trusted=False`` (S41).
        """
        return list(self._alerts)

    @property
    def compression(self) -> bool:
        """Whether COMPRESS=DEFLATE is active (RFC 4978)."""
        return self._deflate is not None

    def _handle(self, event: Response) -> None:
        """Every unsolicited response: alerts kept, the caller's handler called."""
        if isinstance(event, StatusResponse | Tagged) and event.code is not None:
            name = event.code.name
            if name in ("ALERT", "WEBALERT"):
                url = event.code.text if name == "WEBALERT" else None
                self._alerts.append(Alert(event.text, url, trusted=self.connection.tls_active))
        if self.on_event is not None:
            self.on_event(event)

    def _wrap(self, flow: Flow[T]) -> Flow[T]:
        """Through COMPRESS=DEFLATE when it is on."""
        return compressed(flow, self._deflate) if self._deflate is not None else flow

    @property
    def _limit(self) -> int:
        return self.limits.max_held_responses

    def _usable(self) -> None:
        if self.connection.state is State.IDLING:
            raise LocalProtocolError("an IDLE is running on this connection; leave it first")

    # ------------------------------------------------------------ session

    def _connect_flow(self) -> Flow[Capabilities]:
        conn = self.connection
        self._greeting = yield from _flows.greet(conn)
        if self._greeting.code is not None and self._greeting.code.name == "ALERT":
            self._handle(self._greeting)
        if self.tls is TLSMode.STARTTLS:
            if conn.preauth:
                # S6: PREAUTH skips STARTTLS; a man in the middle can send it.
                raise SecurityError(
                    "TLS is required but the server greeted with PREAUTH (no STARTTLS possible)"
                )
            caps = yield from _flows.starttls(conn, None, self._handle, limit=self._limit)
            self._alerts = collections.deque(
                (a for a in self._alerts if not a.trusted), maxlen=MAX_ALERTS
            )
            return caps
        return (yield from _flows.capabilities(conn, self._handle, limit=self._limit))

    def _check_login(self) -> None:
        conn = self.connection
        self._usable()
        if conn.authenticated:
            raise LocalProtocolError("already authenticated on this connection")
        if conn.state is not State.NOT_AUTHENTICATED:
            raise LocalProtocolError(f"cannot log in in state {conn.state.name}")
        if not conn.tls_active and not self.allow_plaintext_auth:
            raise SecurityError(
                "refusing to authenticate without TLS; use TLSMode.IMPLICIT or STARTTLS, "
                "or pass allow_plaintext_auth=True"
            )

    def _login_flow(self, username: str, password: str) -> Flow[Capabilities]:
        """Check, build LOGIN, and return its flow (refusals raised at once, S38)."""
        self._check_login()
        caps = self.connection.capabilities
        if caps is not None and caps.login_disabled:
            raise NotSupportedError(
                "the server forbids LOGIN here (LOGINDISABLED, RFC 9051 §6.2.3); "
                "use STARTTLS or authenticate()",
                capability="LOGIN",
            )
        Login(username, password)  # ValueError for CR, LF or NUL before anything is sent
        if not (username + password).isascii():
            # RFC 6855 §5: LOGIN is not extended to UTF-8; such credentials MUST
            # go through AUTHENTICATE, which carries them as UTF-8.
            offered = {name.upper() for name in (caps.auth if caps is not None else ())}
            if not offered.intersection(sasl.PASSWORD_PREFERENCE):
                raise ValueError(
                    "a non-ASCII user name or password needs AUTHENTICATE (RFC 6855 §5), "
                    "and the server offers no password mechanism (SCRAM, PLAIN, LOGIN)"
                )
            return self._authenticate_flow(
                None,
                username=username,
                password=password,
                token=None,
                authzid=None,
                mechanisms=None,
                initial_response=None,
            )
        return self._after_login(
            _flows.login(self.connection, username, password, self._handle, limit=self._limit)
        )

    def _authenticate_flow(
        self,
        mechanism: str | sasl.Mechanism | None,
        *,
        username: str | None,
        password: str | None,
        token: str | None,
        authzid: str | None,
        mechanisms: Iterable[str] | None,
        initial_response: bool | None,
    ) -> Flow[Capabilities]:
        self._check_login()
        caps = self.connection.capabilities or Capabilities(())
        if isinstance(mechanism, sasl.Mechanism):
            mech = mechanism
        elif isinstance(mechanism, str):
            mech = sasl.by_name(
                mechanism,
                username=username,
                password=password,
                token=token,
                authzid=authzid,
                limits=self.limits,
            )
        else:
            if not caps.auth:
                raise NotSupportedError("the server offers no SASL mechanism", capability="AUTH")
            mech = sasl.choose(
                caps.auth,
                username=username,
                password=password,
                token=token,
                authzid=authzid,
                enable_cram_md5=self.enable_cram_md5,
                allowed=mechanisms,
                limits=self.limits,
            )
        if mech.name not in caps.auth:
            raise NotSupportedError(
                f"the server does not offer AUTH={mech.name} (RFC 9051 §6.2.2)",
                capability=f"AUTH={mech.name}",
            )
        use_ir = caps.sasl_ir if initial_response is None else initial_response and caps.sasl_ir
        return self._after_login(
            _flows.authenticate(
                self.connection, mech, self._handle, initial_response=use_ir, limit=self._limit
            )
        )

    def _after_login(self, flow: Flow[Tagged]) -> Flow[Capabilities]:
        yield from flow
        return (yield from _flows.capabilities(self.connection, self._handle, limit=self._limit))

    def _capability_flow(self) -> Flow[Capabilities]:
        self._usable()
        return _flows.capability(self.connection, self._handle, limit=self._limit)

    def _need(self, *names: str) -> None:
        """Refuse (nothing sent) unless the server offers one of ``names``."""
        caps = self.connection.capabilities
        if caps is None or not any(name in caps for name in names):
            raise NotSupportedError(
                f"the server does not offer {' or '.join(names)}", capability=names[0]
            )

    def _enable_flow(self, names: Iterable[str]) -> Flow[tuple[str, ...]]:
        self._usable()
        wanted = tuple(names)
        self._need("ENABLE", "IMAP4REV2")
        if self.connection.selected_once:  # refused here, before the core is touched
            raise LocalProtocolError(ENABLE_AFTER_SELECT)
        return _flows.enable(self.connection, wanted, self._handle, limit=self._limit)

    def _id_flow(self, params: dict[str, str | None] | None) -> Flow[dict[str, str | None] | None]:
        self._usable()
        self._need("ID")
        return _flows.identify(self.connection, params, self._handle, limit=self._limit)

    def _namespace_flow(self) -> Flow[NamespaceData]:
        self._usable()
        self._need("NAMESPACE", "IMAP4REV2")
        return _flows.namespace(self.connection, self._handle, limit=self._limit)

    def _noop_flow(self) -> Flow[Done]:
        self._usable()
        return _flows.noop(self.connection, self._handle, limit=self._limit)

    def _compress_flow(self) -> Flow[bool]:
        self._usable()
        if self._deflate is not None:
            raise LocalProtocolError("COMPRESS is already active (RFC 4978 §3)")
        self._need("COMPRESS=DEFLATE")
        return self._start_compression()

    def _start_compression(self) -> Flow[bool]:
        conn = self.connection
        yield from _flows.execute(conn, Compress("DEFLATE"), self._handle, limit=self._limit)
        deflate = Deflate(self.limits)
        # Whatever followed the OK in the same read is already deflated.
        deflate.feed(conn.take_buffered())
        self._deflate = deflate
        return True

    def _pipeline_flow(self, commands: Iterable[object]) -> Flow[list[Done]]:
        self._usable()
        return _flows.pipeline(self.connection, list(commands), self._handle, limit=self._limit)

    def _logout_flow(self) -> Flow[Tagged | None]:
        return _flows.logout(self.connection, self._handle, limit=self._limit)

    def _can_logout(self) -> bool:
        return self.connection.error is None and self.connection.state in (
            State.NOT_AUTHENTICATED,
            State.AUTHENTICATED,
            State.SELECTED,
        )

    # ------------------------------------------------------------ IDLE

    def _idle_start_flow(self) -> Flow[tuple[str, list[Response]]]:
        self._usable()
        self._need("IDLE", "IMAP4REV2")
        return _idle.start(self.connection, limit=self._limit)

    def _idle_wait_flow(self, tag: str) -> Flow[Response | _idle.IdleEnded | None]:
        return _idle.wait(self.connection, tag)

    def _idle_finish_flow(self, tag: str) -> Flow[Tagged]:
        return _idle.finish(self.connection, tag, self._handle, limit=self._limit)
