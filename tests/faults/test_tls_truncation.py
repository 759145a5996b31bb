"""A TLS session cut without close_notify mid-reply is ConnectionLost (issue 7).

The server writes part of a reply inside TLS and then drops the TCP
connection without a TLS close_notify: a truncation, which must never be
read as a clean end of the data. Each protocol's client is tested, both
drivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import ConnectionLost, imap, pop3, smtp
from tests.support.server import Peer, ScriptedServer
from tests.support.tls import PKI, make_pki


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


def cut_after(greeting_part: bytes) -> Callable[[Peer], None]:
    """Send ``greeting_part`` inside TLS, then drop the socket: no close_notify."""

    def handler(peer: Peer) -> None:
        peer.send(greeting_part)
        # Close the TCP connection underneath TLS with a plain FIN, skipping
        # unwrap(): the peer sees the stream end with no close_notify.
        with contextlib.suppress(OSError):
            tcp = socket.socket(fileno=peer.sock.detach())
            tcp.shutdown(socket.SHUT_RDWR)
            tcp.close()

    return handler


CASES: dict[str, tuple[Any, Any, bytes]] = {
    "smtp": (smtp.Client, smtp.AsyncClient, b"220-mx.example ESMTP\r\n220 still go"),
    "pop3": (pop3.Client, pop3.AsyncClient, b"+OK POP3 ready <1.2@mx"),
    "imap": (imap.Client, imap.AsyncClient, b"* OK [CAPABILITY IMAP4rev1] rea"),
}


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
@pytest.mark.parametrize("protocol", sorted(CASES))
def test_truncated_tls_is_connection_lost(pki: PKI, protocol: str, kind: str) -> None:
    blocking, asynchronous, partial = CASES[protocol]
    ctx = pki.server_context("localhost")
    with ScriptedServer(cut_after(partial), tls_context=ctx, implicit_tls=True) as server:
        args = ("localhost", server.port)
        options = {"ssl_context": pki.client_context(), "timeout": 5.0}
        if kind == "blocking":
            client = blocking(*args, **options)
            with pytest.raises(ConnectionLost):
                client.connect()
            getattr(client, "disconnect", client.close)()  # IMAP: close() is CLOSE
        else:

            async def scenario() -> None:
                aclient = asynchronous(*args, **options)
                with pytest.raises(ConnectionLost):
                    await aclient.connect()
                await getattr(aclient, "disconnect", aclient.close)()

            asyncio.run(scenario())
        if kind == "blocking":
            # The transcript says the TLS session ended without close_notify.
            notes = [r.note or "" for r in client.transcript.records]
            assert any("without close_notify" in n for n in notes), notes
