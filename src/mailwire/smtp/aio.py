"""The asyncio SMTP and LMTP clients: the same flows as the blocking ones, awaited."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, TypeVar

from mailwire._flow import Flow
from mailwire._io.aio import AsyncDriver
from mailwire.smtp import _flows
from mailwire.smtp._capabilities import Capabilities
from mailwire.smtp._client_base import ClientBase
from mailwire.smtp._send import SendResult
from mailwire.smtp.events import Reply
from mailwire.tls import TLSMode

__all__ = ["AsyncClient", "AsyncLMTPClient"]

T = TypeVar("T")


class AsyncClient(ClientBase):
    """An asyncio SMTP client (RFC 5321); the same methods as ``Client``, awaitable.

    Implicit TLS on port 465 unless told otherwise; ``TLSMode.STARTTLS`` is
    required when chosen; no authentication without TLS unless
    ``allow_plaintext_auth=True``. See :class:`ClientBase` for the arguments.

    Use it as a context manager: ``async with AsyncClient(host) as c: await c.login(...)``.
    Leaving the block normally sends QUIT; leaving it with an exception closes
    the connection.
    """

    def __init__(self, host: str, port: int | None = None, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._driver = AsyncDriver(self.host, self.port, **self._driver_args)

    async def __aenter__(self) -> AsyncClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None and self._driver.is_open:
            await self.quit()
        else:
            await self.close()

    async def _run(self, flow: Flow[T], *, deadline: bool = True) -> T:
        return await self._driver.run(flow, timeout=self.operation_timeout if deadline else None)

    async def connect(self) -> Capabilities:
        """Connect, read the greeting, say EHLO (and STARTTLS when required).

        Returns:
            The server's capabilities.

        Raises:
            ConnectionLost, Timeout, ssl.SSLCertVerificationError,
            SecurityError (STARTTLS required and not obtained),
            SMTPReplyError (the greeting refused the session).
        """
        await self._driver.connect()
        self._set_local_name(self._driver.sockname)
        return await self._run(self._connect_flow())

    async def login(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        token: str | None = None,
        mechanisms: Iterable[str] | None = None,
        authzid: str | None = None,
    ) -> Reply:
        """Authenticate with the strongest mechanism both sides support.

        Exactly one mechanism is tried; a refusal is reported, never followed
        by a weaker attempt (S39).

        Args:
            username, password: for the password mechanisms.
            token: an OAuth 2.0 bearer token (OAUTHBEARER, XOAUTH2).
            mechanisms: restrict and order the mechanisms.
            authzid: the identity to act as.

        Raises:
            SecurityError: no TLS and plaintext auth not allowed (nothing sent).
            NotSupportedError: the server offers no AUTH.
            AuthenticationError: refused or no acceptable mechanism.
        """
        return await self._run(
            self._login_flow(
                username, password, token=token, mechanisms=mechanisms, authzid=authzid
            )
        )

    async def send_message(
        self,
        message: Any,
        *,
        sender: str | None = None,
        recipients: Iterable[str] | None = None,
        normalize_line_endings: bool = False,
        **options: Any,
    ) -> SendResult:
        """Send one message; see :func:`mailwire.smtp._flows.send_message`.

        Args:
            message: an ``email.message.Message``, a mailwire MIME message,
                ``bytes``, a binary file, or an iterable of ``bytes``.
            sender, recipients: the envelope; from the header when omitted
                (Bcc is then removed from the content, S21).
            normalize_line_endings: turn bare CR/LF into CRLF instead of
                refusing them.
            **options: :class:`~mailwire.smtp._flows.SendOptions` fields
                (``ret``, ``envid``, ``notify``, ``orcpt``, ``requiretls``,
                ``priority``, ``use_bdat``, ``binarymime``).

        Returns:
            :class:`SendResult`; a partial refusal is in ``.refused``.

        Raises:
            SenderRefused, RecipientRefused (every recipient refused),
            SMTPReplyError (content refused), OutcomeUnknown,
            NotSupportedError, ValueError.
        """
        flow = self._send_flow(
            message,
            sender=sender,
            recipients=recipients,
            options=self._options(**options),
            normalize_line_endings=normalize_line_endings,
        )
        return await self._run(flow, deadline=False)

    async def send_messages(
        self, messages: Iterable[Any], *, normalize_line_endings: bool = False, **options: Any
    ) -> list[SendResult]:
        """Send several messages over this connection, pipelined across messages.

        With PIPELINING the content of one message and the MAIL/RCPT/DATA of
        the next share one write (RFC 2920 §3.1), so a batch costs about one
        round trip per message.

        Args:
            messages: messages (envelope from their headers) or
                ``(message, sender, recipients)`` tuples.
            normalize_line_endings, **options: as for :meth:`send_message`,
                applied to every message.

        Returns:
            One :class:`SendResult` per message, in order; a message refused
            as a whole has an empty ``accepted``.

        Raises:
            OutcomeUnknown, ConnectionLost: ``.settled`` holds the results
            of the messages settled before the loss.
        """
        flow = self._batch_flow(
            messages,
            options=self._options(**options),
            normalize_line_endings=normalize_line_endings,
        )
        return await self._run(flow, deadline=False)

    async def noop(self) -> Reply:
        """NOOP (RFC 5321 §4.1.1.9)."""
        return await self._run(self._command_flow(self._simple("NOOP")))

    async def rset(self) -> Reply:
        """RSET (RFC 5321 §4.1.1.5)."""
        return await self._run(self._command_flow(self._simple("RSET")))

    async def vrfy(self, argument: str) -> Reply:
        """VRFY (RFC 5321 §4.1.1.6); servers commonly refuse it (252 or 502)."""
        return await self._run(self._command_flow(self._simple("VRFY", argument)))

    async def expn(self, argument: str) -> Reply:
        """EXPN (RFC 5321 §4.1.1.7)."""
        return await self._run(self._command_flow(self._simple("EXPN", argument)))

    async def quit(self) -> Reply | None:
        """QUIT and close. Returns the 221 reply, or None if the server had gone."""
        if not self._driver.is_open:
            return None
        try:
            return await self._run(_flows.quit(self.connection))
        finally:
            await self._driver.close()

    async def close(self) -> None:
        """Close the connection without QUIT."""
        await self._driver.close()


class AsyncLMTPClient(AsyncClient):
    """An asyncio LMTP client (RFC 2033): LHLO, one reply per recipient.

    No default port (RFC 2033 §5); plain TCP unless told otherwise.
    """

    _lmtp = True
    _protocol = "lmtp"

    def __init__(
        self, host: str, port: int | None = None, *, tls: TLSMode = TLSMode.PLAIN, **kwargs: Any
    ) -> None:
        super().__init__(host, port, tls=tls, **kwargs)
