"""S27 for downloads: a server that drips a message cannot hold a RETR for ever.

The per-read timeout alone does not stop a server that sends one byte just
inside it; the retrieval's deadline (renewed only after each 64 KiB of real
progress) does.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from mailwire import Timeout, TLSMode, pop3
from tests.support.server import Peer, ScriptedServer


def dripping_pop3(stop: threading.Event) -> object:
    def handler(peer: Peer) -> None:
        peer.send(b"+OK ready\r\n")
        while line := peer.recv_line():
            verb = line.split()[0].upper() if line.split() else b""
            if verb == b"CAPA":
                peer.send(b"+OK\r\nUSER\r\n.\r\n")
            elif verb in (b"USER", b"PASS", b"NOOP"):
                peer.send(b"+OK\r\n")
            elif verb == b"STAT":
                peer.send(b"+OK 1 1000000\r\n")
            elif verb == b"RETR":
                peer.send(b"+OK 1000000 octets\r\n")
                while not stop.wait(0.05):  # one byte each 50 ms, never a line end
                    peer.send(b"x")
                return
            elif verb == b"QUIT":
                peer.send(b"+OK bye\r\n")
                return
            else:
                peer.send(b"-ERR unknown\r\n")

    return handler


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_dripped_retr_ends_in_timeout(kind: str) -> None:
    stop = threading.Event()
    with ScriptedServer(dripping_pop3(stop)) as server:  # type: ignore[arg-type]
        args = ("127.0.0.1", server.port)
        options = {
            "tls": TLSMode.PLAIN,
            "allow_plaintext_auth": True,
            "timeout": 5.0,  # each byte arrives well within this
            "operation_timeout": 0.6,  # but the retrieval must progress
        }
        try:
            if kind == "blocking":
                client = pop3.Client(*args, **options)
                client.connect()
                client.login("user", "secret-password", mechanisms=["USER"])
                with pytest.raises(Timeout):
                    client.retrieve(1)
                client.close()
            else:

                async def scenario() -> None:
                    aclient = pop3.AsyncClient(*args, **options)
                    await aclient.connect()
                    await aclient.login("user", "secret-password", mechanisms=["USER"])
                    with pytest.raises(Timeout):
                        await aclient.retrieve(1)
                    await aclient.close()

                asyncio.run(scenario())
        finally:
            stop.set()
