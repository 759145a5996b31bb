"""An aiosmtpd server that records everything a client sends.

One asyncio loop in a daemon thread serves up to three listeners on
127.0.0.1, each on a port the kernel picked (bind to port 0):

- ``plain``: no TLS at all (STARTTLS is not offered);
- ``starttls``: STARTTLS offered (``require_starttls`` makes it mandatory);
- ``tls``: implicit TLS (RFC 8314), as on port 465.

AUTH PLAIN and LOGIN accept the lab users (``tests.lab.accounts``); by
default AUTH is only offered once the connection is encrypted
(``auth_require_tls``). Every line the client sends outside message content
is recorded as raw bytes, CRLF included, in order; every message is recorded
with its envelope and the exact content bytes (dot-unstuffed, nothing added).

aiosmtpd's own behaviour is kept unless an option says otherwise; the
options add the PIPELINING keyword and BDAT (RFC 3030 CHUNKING), which
aiosmtpd lacks.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.lab.accounts import USERS, LabUser, find_user
from tests.lab.certs import CertKind, LabCertificates
from tests.lab.rules import PIP_HINT, LabStartError, LabUnavailable

Listener = Literal["plain", "starttls", "tls"]
LISTENERS: tuple[Listener, ...] = ("plain", "starttls", "tls")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class SmtpLabOptions:
    """How the aiosmtpd lab behaves; the defaults are aiosmtpd's own."""

    listeners: tuple[Listener, ...] = LISTENERS
    require_starttls: bool = False
    """On the ``starttls`` listener: ``530`` to anything but EHLO/NOOP/QUIT before STARTTLS."""
    auth_required: bool = False
    """``530 5.7.0 Authentication required`` for MAIL before AUTH."""
    auth_require_tls: bool = True
    """Offer and accept AUTH only over TLS (plain and STARTTLS listeners)."""
    pipelining: bool = False
    """Advertise PIPELINING (aiosmtpd reads pipelined commands correctly anyway)."""
    chunking: bool = False
    """Advertise CHUNKING and accept BDAT."""
    smtputf8: bool = True
    data_size_limit: int | None = 33_554_432
    cert: CertKind = "server"
    """Which certificate the TLS listeners present (see tests.lab.certs)."""
    hostname: str = "mlab.localhost"
    """The name in the greeting and the EHLO reply."""
    refuse_recipients: Mapping[str, str] = field(default_factory=dict)
    """Recipient address (lower case) -> the reply that refuses it, e.g. ``550 5.1.1 no``."""


@dataclass
class RecordedSession:
    """One client connection that sent at least one line."""

    number: int
    listener: Listener
    peer: tuple[Any, ...]
    lines: list[bytes] = field(default_factory=list)
    """Everything the client sent outside message content, CRLF included."""


@dataclass(frozen=True)
class RecordedMessage:
    """A message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    rcpt_options: tuple[str, ...]
    content: bytes
    """The message exactly as transferred: dot-unstuffed after DATA, joined chunks after BDAT."""
    command: Literal["DATA", "BDAT"]
    listener: Listener
    session: int
    tls: bool
    authenticated_as: str | None


class SmtpLab:
    """aiosmtpd on 127.0.0.1 with recording; see the module docstring.

    Attributes: ``host``, ``ports`` (listener -> port), ``certs``, ``ca_file``,
    ``users``, ``options``; recordings: ``commands``, ``sessions``,
    ``messages``, ``connections``; helpers: ``client_context()``,
    ``wait_for_messages()``, ``reset()``.
    """

    host = HOST

    def __init__(self, certs: LabCertificates, options: SmtpLabOptions | None = None) -> None:
        self.certs = certs
        self.ca_file = certs.ca_file
        self.options = options or SmtpLabOptions()
        self.users: dict[str, LabUser] = dict(USERS)
        self.ports: dict[Listener, int] = {}
        self.errors: list[str] = []
        """Exceptions the server's loop reported (failed TLS handshakes and the like)."""
        self._lock = threading.Lock()
        self._sessions: list[RecordedSession] = []
        self._commands: list[bytes] = []
        self._messages: list[RecordedMessage] = []
        self._connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._protocols: weakref.WeakSet[Any] = weakref.WeakSet()

    # -- convenience -------------------------------------------------------

    @property
    def plain_port(self) -> int:
        return self.ports["plain"]

    @property
    def starttls_port(self) -> int:
        return self.ports["starttls"]

    @property
    def tls_port(self) -> int:
        return self.ports["tls"]

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts the lab CA only."""
        return self.certs.client_context()

    # -- recordings (safe to read from the test's thread) -----------------------

    @property
    def commands(self) -> list[bytes]:
        """Every recorded line of every session, in arrival order."""
        with self._lock:
            return list(self._commands)

    @property
    def sessions(self) -> list[RecordedSession]:
        with self._lock:
            return [
                RecordedSession(s.number, s.listener, s.peer, list(s.lines)) for s in self._sessions
            ]

    @property
    def messages(self) -> list[RecordedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def connections(self) -> int:
        """TCP connections accepted, including those that never sent a line."""
        with self._lock:
            return self._connections

    def reset(self) -> None:
        """Forget every recording (a module-scoped lab between tests)."""
        with self._lock:
            self._sessions.clear()
            self._commands.clear()
            self._messages.clear()
            self._connections = 0
            self.errors.clear()

    def wait_for_messages(self, count: int = 1, timeout: float = 5.0) -> list[RecordedMessage]:
        """Wait until at least ``count`` messages are recorded; returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages
            if len(messages) >= count:
                return messages
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(messages)} message(s) recorded, wanted {count}")
            time.sleep(0.01)

    # -- called from the server's loop --------------------------------------

    def _record_line(self, session: RecordedSession, line: bytes) -> None:
        with self._lock:
            if not session.lines:
                self._sessions.append(session)
            session.lines.append(line)
            self._commands.append(line)

    def _record_message(self, message: RecordedMessage) -> None:
        with self._lock:
            self._messages.append(message)

    def _new_session(self, listener: Listener, peer: tuple[Any, ...]) -> RecordedSession:
        with self._lock:
            self._connections += 1
            return RecordedSession(self._connections, listener, peer)

    # -- start / stop ---------------------------------------------------------

    def start(self) -> SmtpLab:
        try:
            import aiosmtpd  # noqa: F401 - optional: the rule skips without it
        except ImportError:
            raise LabUnavailable("the Python package aiosmtpd is not installed", PIP_HINT) from None
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(self._loop_exception)
        self._loop = loop
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # handed to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="smtp-lab", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise LabStartError("aiosmtpd lab: the server loop did not start within 10 s")
        if failure:
            self._thread.join()
            raise LabStartError(f"aiosmtpd lab: {failure[0]!r}") from failure[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> SmtpLab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.errors.append(f"{context.get('message')}: {exc!r}" if exc else str(context))

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        tls = self.certs.server_context(self.options.cert)
        for listener in self.options.listeners:
            server = await loop.create_server(
                lambda listener=listener: self._make_protocol(listener),
                host=HOST,
                port=0,
                ssl=tls if listener == "tls" else None,
            )
            self._servers.append(server)
            self.ports[listener] = server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for proto in list(self._protocols):
            if proto.transport is not None:
                proto.transport.close()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        asyncio.get_running_loop().stop()

    def _make_protocol(self, listener: Listener) -> Any:
        opts = self.options
        proto = _recording_smtp_class()(
            _RecordingHandler(self),
            lab=self,
            listener=listener,
            chunking=opts.chunking,
            loop=self._loop,
            hostname=opts.hostname,
            enable_SMTPUTF8=opts.smtputf8,
            data_size_limit=opts.data_size_limit,
            tls_context=self.certs.server_context(opts.cert) if listener == "starttls" else None,
            require_starttls=opts.require_starttls and listener == "starttls",
            auth_required=opts.auth_required,
            auth_require_tls=opts.auth_require_tls,
            authenticator=_authenticate,
        )
        if listener == "tls":
            # aiosmtpd does not see that an implicit-TLS transport is encrypted,
            # so with auth_require_tls it hides AUTH and answers 538
            # (aio-libs/aiosmtpd#281). The connection *is* TLS: lift the check.
            proto._auth_require_tls = False
        self._protocols.add(proto)
        return proto


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    """aiosmtpd authenticator: the lab users, password compared as UTF-8 bytes."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    if isinstance(auth_data, LoginPassword):
        user = find_user(auth_data.login)
        if user is not None and auth_data.password == user.password_bytes:
            return AuthResult(success=True, auth_data=user.name)
    return AuthResult(success=False, handled=False)


class _RecordingHandler:
    """aiosmtpd handler hooks: EHLO keywords, recipient policy, recording."""

    def __init__(self, lab: SmtpLab) -> None:
        self.lab = lab

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        extra = []
        if self.lab.options.pipelining:
            extra.append("250-PIPELINING")
        if self.lab.options.chunking:
            extra.append("250-CHUNKING")
        return responses[:1] + extra + responses[1:]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.lab.options.refuse_recipients.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recorded = server.recorded_session
        self.lab._record_message(
            RecordedMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                mail_options=tuple(envelope.mail_options),
                rcpt_options=tuple(envelope.rcpt_options),
                content=bytes(envelope.original_content),
                command="BDAT" if getattr(envelope, "bdat", False) else "DATA",
                listener=recorded.listener,
                session=recorded.number,
                tls=recorded.listener == "tls" or session.ssl is not None,
                authenticated_as=session.auth_data if session.authenticated else None,
            )
        )
        return "250 2.0.0 OK: queued"


_SMTP_CLASS: type | None = None


def _recording_smtp_class() -> type:
    """Build the aiosmtpd.SMTP subclass on first use (aiosmtpd is optional)."""
    global _SMTP_CLASS
    if _SMTP_CLASS is None:
        _SMTP_CLASS = _build_smtp_class()
    return _SMTP_CLASS


def _build_smtp_class() -> type:
    from aiosmtpd.smtp import SMTP, syntax

    class RecordingReader(asyncio.StreamReader):
        """Hands every line read outside message content to ``journal``.

        aiosmtpd reads command lines with readuntil() and AUTH responses with
        readline(), which calls readuntil(); content is read while
        ``in_content`` is set, and BDAT chunks with readexactly(). A line
        longer than the reader's limit is drained with read() before its end
        is found by readuntil(): the pieces are joined, so it is recorded whole.
        """

        journal: Callable[[bytes], None] | None = None
        in_content = False
        _partial = b""

        async def read(self, n: int = -1) -> bytes:
            data = await super().read(n)
            if self.journal is not None and not self.in_content:
                self._partial += data
            return data

        async def readuntil(self, separator: Any = b"\n") -> bytes:
            line = await super().readuntil(separator)
            if self.journal is not None and not self.in_content:
                self.journal(self._partial + line)
                self._partial = b""
            return line

    class RecordingSMTP(SMTP):
        def __init__(
            self, handler: Any, *, lab: SmtpLab, listener: Listener, chunking: bool, **kwargs: Any
        ) -> None:
            super().__init__(handler, **kwargs)
            self.chunking = chunking
            self.recorded_session: RecordedSession | None = None
            self._lab = lab
            self._listener = listener
            # Construct the stream protocol again around a recording reader:
            # SMTP.__init__ builds its own plain StreamReader and offers no hook.
            reader = RecordingReader(limit=self.line_length_limit, loop=self.loop)
            asyncio.StreamReaderProtocol.__init__(
                self, reader, client_connected_cb=self._cb_client_connected, loop=self.loop
            )
            self._recording_reader = reader

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if self.recorded_session is None:  # not again after STARTTLS
                peer = transport.get_extra_info("peername") or ()
                session = self._lab._new_session(self._listener, tuple(peer))
                self.recorded_session = session
                self._recording_reader.journal = lambda line: self._lab._record_line(session, line)
            super().connection_made(transport)

        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            self._recording_reader.in_content = True
            try:
                await super().smtp_DATA(arg)
            finally:
                self._recording_reader.in_content = False

        @syntax("BDAT chunk-size [LAST]", when="chunking")
        async def smtp_BDAT(self, arg: str | None) -> None:
            """RFC 3030 BDAT, without BINARYMIME."""
            if not self.chunking:
                await self.push('500 Error: command "BDAT" not recognized')
                return
            words = (arg or "").split()
            if not (
                1 <= len(words) <= 2
                and words[0].isdigit()
                and (len(words) == 1 or words[1].upper() == "LAST")
            ):
                await self.push("501 5.5.4 Syntax: BDAT chunk-size [LAST]")
                return
            size, last = int(words[0]), len(words) == 2
            # RFC 3030 §2: the chunk follows the command at once; read it
            # before any refusal so the session stays in step.
            chunk = await self._reader.readexactly(size)
            if await self.check_helo_needed() or await self.check_auth_needed("BDAT"):
                return
            envelope: Any = self.envelope
            if not envelope.rcpt_tos:
                await self.push("503 5.5.1 Error: need RCPT command")
                return
            envelope.bdat = True
            buffer = getattr(envelope, "bdat_buffer", None)
            if buffer is None:
                buffer = envelope.bdat_buffer = bytearray()
            buffer += chunk
            if self.data_size_limit and len(buffer) > self.data_size_limit:
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                await self.push("552 5.3.4 Error: message too big")
                return
            if not last:
                await self.push(f"250 2.0.0 {size} octets received")
                return
            envelope.original_content = envelope.content = bytes(buffer)
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("250 OK" if status is None else status)

    return RecordingSMTP
