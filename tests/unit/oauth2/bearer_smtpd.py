"""aiosmtpd on 127.0.0.1 with implicit TLS that accepts OAuth bearer tokens.

The server offers only ``AUTH OAUTHBEARER XOAUTH2`` and accepts a token when it
is one the test registered (``tokens``) for the user named in the message.
It parses the two formats itself, from the providers' documentation and
RFC 7628 §3.1, not with mailwire's code:

- XOAUTH2: ``user=USER ^A auth=Bearer TOKEN ^A ^A``;
- OAUTHBEARER: ``n,a=USER, ^A [host=H ^A] [port=P ^A] auth=Bearer TOKEN ^A ^A``.

A refused token gets what Gmail sends: a ``334`` challenge carrying a JSON
error, then, after the client's answer, ``535``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

ERROR_JSON = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}


@dataclass
class Recorded:
    """What the server accepted."""

    logins: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, user)
    refusals: list[str] = field(default_factory=list)
    error_answers: list[bytes] = field(default_factory=list)  # what clients sent after 334
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)


def parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    parts = blob.split(b"\x01")
    if len(parts) != 4 or parts[2:] != [b"", b""]:
        return None
    if not parts[0].startswith(b"user=") or not parts[1].startswith(b"auth=Bearer "):
        return None
    return parts[0][5:].decode(), parts[1][12:].decode()


def parse_oauthbearer(blob: bytes) -> tuple[str, str] | None:
    parts = blob.split(b"\x01")
    if len(parts) < 4 or parts[-2:] != [b"", b""]:
        return None
    gs2 = parts[0].split(b",")
    if len(gs2) != 3 or gs2[0] != b"n" or not gs2[1].startswith(b"a="):
        return None
    user = gs2[1][2:].replace(b"=2C", b",").replace(b"=3D", b"=").decode()
    pairs = dict(pair.split(b"=", 1) for pair in parts[1:-2])
    auth = pairs.get(b"auth", b"")
    if not auth.startswith(b"Bearer "):
        return None
    return user, auth[7:].decode()


class BearerHandler:
    """aiosmtpd handler: the two bearer mechanisms and message recording."""

    def __init__(self, tokens: dict[str, str], recorded: Recorded) -> None:
        self.tokens = tokens  # token -> user
        self.recorded = recorded

    async def _check(self, server: Any, mechanism: str, args: list[str], parse: Any) -> Any:
        from aiosmtpd.smtp import MISSING, AuthResult

        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False)
        else:
            answer = await server.challenge_auth("")
            if answer is MISSING:
                return AuthResult(success=False, handled=True)
            blob = answer
        parsed = parse(blob)
        if parsed is not None and self.tokens.get(parsed[1]) == parsed[0]:
            self.recorded.logins.append((mechanism, parsed[0]))
            return AuthResult(success=True, auth_data=parsed[0])
        self.recorded.refusals.append(mechanism)
        answer = await server.challenge_auth(json.dumps(ERROR_JSON))
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        self.recorded.error_answers.append(answer)
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        return await self._check(server, "XOAUTH2", args, parse_xoauth2)

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> Any:
        return await self._check(server, "OAUTHBEARER", args, parse_oauthbearer)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recorded.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 2.0.0 OK: queued"


class BearerSMTPServer:
    """aiosmtpd in a thread, implicit TLS, bearer-token AUTH only."""

    host = "127.0.0.1"

    def __init__(self, tls_context: ssl.SSLContext, tokens: dict[str, str]) -> None:
        self.tls_context = tls_context
        self.tokens = tokens
        self.recorded = Recorded()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> BearerSMTPServer:
        from aiosmtpd.smtp import SMTP

        self._thread.start()

        def protocol() -> Any:
            smtp = SMTP(
                BearerHandler(self.tokens, self.recorded),
                hostname="bearer.test",
                auth_required=True,
                auth_exclude_mechanism=["PLAIN", "LOGIN"],
                loop=self._loop,
            )
            # Implicit TLS: aiosmtpd does not see that the transport is encrypted
            # (aio-libs/aiosmtpd#281), so its TLS check for AUTH is lifted here.
            smtp._auth_require_tls = False
            return smtp

        async def listen() -> asyncio.AbstractServer:
            return await self._loop.create_server(
                protocol, host=self.host, port=0, ssl=self.tls_context
            )

        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc_info: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
