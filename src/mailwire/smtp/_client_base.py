"""What the blocking and the asyncio SMTP clients share: every decision.

A client method builds a flow here, and the blocking or asyncio shell runs it
on its driver. The decisions that need no I/O -- which SASL mechanism, whether
authentication may go over this connection, how a message is prepared -- live
here once, so the two shells only differ in ``await``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mailwire import sasl
from mailwire._flow import Flow
from mailwire.errors import LocalProtocolError, NotSupportedError, SecurityError, SMTPReplyError
from mailwire.limits import DEFAULT_LIMITS, Limits
from mailwire.smtp import _flows
from mailwire.smtp._capabilities import Capabilities
from mailwire.smtp._message import prepare
from mailwire.smtp._send import SendOptions, SendResult, send_message, send_messages
from mailwire.smtp.commands import Command, Expn, Noop, Rset, Vrfy
from mailwire.smtp.connection import Connection
from mailwire.smtp.events import Reply
from mailwire.tls import TLSMode, default_port
from mailwire.transcript import Transcript

if TYPE_CHECKING:
    import ssl

__all__ = ["ClientBase", "ehlo_name"]

#: Seconds any one operation other than sending a message may take in all,
#: on top of the per-wait timeout: a server dripping a byte at a time cannot
#: hold a command for ever (security.md S27).
DEFAULT_OPERATION_TIMEOUT = 300.0


class ClientBase:
    """Arguments and flow builders shared by ``Client`` and ``AsyncClient``.

    Args:
        host: the server.
        port: defaults to 465 (IMPLICIT), 587 (STARTTLS) or 25 (PLAIN).
        tls: :class:`TLSMode`; IMPLICIT by default (RFC 8314).
        ssl_context: a caller's context; ``None`` verifies against the system
            store with TLS >= 1.2.
        timeout: seconds any single network wait may take.
        allow_plaintext_auth: permit AUTH without TLS (off by default, S38).
        keylog_file: write the TLS key log here (opt-in).
        transcript: record into this transcript (a new one by default).
        local_hostname: the name sent in EHLO (default: this host's FQDN).
        limits: bounds on what the server can make us hold.
        enable_cram_md5: allow CRAM-MD5 (S39).
        operation_timeout: seconds a whole command may take (not a send).
        source_address: ``(host, port)`` to bind before connecting.
    """

    _lmtp = False
    _protocol = "smtp"

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
        local_hostname: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
        enable_cram_md5: bool = False,
        operation_timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        source_address: tuple[str, int] | None = None,
    ) -> None:
        self.host = host
        self.tls = TLSMode(tls)
        self.port = port if port is not None else default_port(self._protocol, self.tls)
        self.allow_plaintext_auth = allow_plaintext_auth
        self.enable_cram_md5 = enable_cram_md5
        self.operation_timeout = operation_timeout
        self.limits = limits
        self._local_hostname = local_hostname
        self.transcript = transcript if transcript is not None else Transcript()
        self.transcript.protocol = self._protocol
        self.connection = Connection(
            lmtp=self._lmtp,
            limits=limits,
            tls_active=self.tls is TLSMode.IMPLICIT,
            annotate=self.transcript.event,
        )
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
        """What the server offered in its last EHLO/LHLO reply."""
        return self.connection.capabilities

    # ------------------------------------------------------------ flows

    @property
    def local_hostname(self) -> str:
        """The name sent in EHLO/LHLO (known once connected)."""
        return self._local_hostname or "localhost"

    def _set_local_name(self, sockname: tuple[Any, ...] | None) -> None:
        if self._local_hostname is None:
            self._local_hostname = ehlo_name(sockname)

    def _connect_flow(self) -> Flow[Capabilities]:
        if self.tls is not TLSMode.STARTTLS:
            return (yield from _flows.greet(self.connection, self.local_hostname))
        # TLS is required: a refusal before it is on (554 greeting, EHLO
        # refused) means TLS was not obtained, and the plaintext session must
        # not be used for anything else (security.md S5).
        try:
            yield from _flows.greet(self.connection, self.local_hostname)
        except SMTPReplyError as exc:
            raise SecurityError(f"TLS is required but was not obtained: {exc}") from exc
        return (yield from _flows.starttls(self.connection, self.local_hostname, None))

    def _login_flow(
        self,
        username: str | None,
        password: str | None,
        *,
        token: str | None,
        mechanisms: Iterable[str] | None,
        authzid: str | None,
    ) -> Flow[Reply]:
        """Check, choose the mechanism, and return the AUTH flow.

        A plain function, not a generator: its refusals are raised at once,
        before the driver runs anything, so the connection stays as it was
        (S38, S39: nothing reaches the server).
        """
        conn = self.connection
        if conn.authenticated:
            raise LocalProtocolError("already authenticated on this connection")
        if not conn.tls_active and not self.allow_plaintext_auth:
            raise SecurityError(
                "refusing to authenticate without TLS; use TLSMode.IMPLICIT or STARTTLS, "
                "or pass allow_plaintext_auth=True"
            )
        offered = conn.capabilities.auth if conn.capabilities else ()
        if not offered:
            raise NotSupportedError("the server offers no AUTH mechanism", capability="AUTH")
        mechanism = sasl.choose(
            offered,
            username=username,
            password=password,
            token=token,
            authzid=authzid,
            enable_cram_md5=self.enable_cram_md5,
            allowed=mechanisms,
            limits=self.limits,
            host=self.host,
            port=self.port,
        )
        return _flows.authenticate(conn, mechanism)

    def _send_flow(
        self,
        message: Any,
        *,
        sender: str | None,
        recipients: Iterable[str] | None,
        options: SendOptions,
        normalize_line_endings: bool,
    ) -> Flow[SendResult]:
        # Prepared eagerly: bad input is refused before the driver runs.
        prepared = prepare(
            message,
            sender=sender,
            recipients=recipients,
            chunk_size=self.limits.chunk_size,
            normalize_line_endings=normalize_line_endings,
            smtputf8=self._smtputf8(),
            eightbitmime=self._caps().eightbitmime,
            binarymime=options.binarymime,
        )
        return send_message(
            self.connection, prepared, options, reply_deadline=self.operation_timeout
        )

    def _caps(self) -> Capabilities:
        return self.connection.capabilities or Capabilities()

    def _smtputf8(self) -> bool:
        return self._caps().smtputf8

    def _batch_flow(
        self, items: Iterable[Any], *, options: SendOptions, normalize_line_endings: bool
    ) -> Flow[list[SendResult]]:
        """Prepare every message of a batch (refusing bad input before sending)."""
        batch = []
        for item in items:
            if isinstance(item, tuple):
                message, sender, recipients = item
            else:
                message, sender, recipients = item, None, None
            prepared = prepare(
                message,
                sender=sender,
                recipients=recipients,
                chunk_size=self.limits.chunk_size,
                normalize_line_endings=normalize_line_endings,
                smtputf8=self._smtputf8(),
                eightbitmime=self._caps().eightbitmime,
                binarymime=options.binarymime,
            )
            batch.append((prepared, options))
        return send_messages(self.connection, batch, reply_deadline=self.operation_timeout)

    def _command_flow(self, command: Command) -> Flow[Reply]:
        return (yield from _flows.command(self.connection, command))

    @staticmethod
    def _options(**kwargs: Any) -> SendOptions:
        notify = kwargs.pop("notify", ())
        if isinstance(notify, str):
            notify = (notify,)
        return SendOptions(notify=tuple(notify), **kwargs)

    def _simple(self, verb: str, argument: str | None = None) -> Command:
        if verb == "NOOP":
            return Noop()
        if verb == "RSET":
            return Rset()
        if verb == "VRFY":
            return Vrfy(argument or "")
        return Expn(argument or "")


def ehlo_name(sockname: tuple[Any, ...] | None) -> str:
    """The client's name for EHLO (RFC 5321 §4.1.4).

    The host name when it is fully qualified; otherwise an address literal of
    the connection's local address (``[192.0.2.1]``, ``[IPv6:2001:db8::1]``).
    No DNS lookup is made (``socket.getfqdn`` can block for seconds).
    """
    name = socket.gethostname()
    if name and name.isascii() and "." in name and not any(c.isspace() for c in name):
        return name
    address = str(sockname[0]) if sockname else "127.0.0.1"
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"
