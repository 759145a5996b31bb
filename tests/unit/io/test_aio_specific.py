"""What only the asyncio driver has: cancellation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mailwire import TLSMode
from mailwire._buffer import ReceiveBuffer
from mailwire._io.aio import AsyncDriver
from mailwire.transcript import Kind
from tests.support.server import Peer, ScriptedServer
from tests.unit.io import flows


def test_cancellation_closes_the_connection() -> None:
    release = threading.Event()

    def silent(peer: Peer) -> None:
        peer.send(b"220 hi\r\n")
        release.wait(5)

    async def scenario(port: int) -> AsyncDriver:
        driver = AsyncDriver("127.0.0.1", port, tls=TLSMode.PLAIN, timeout=10)
        await driver.connect()
        buf = ReceiveBuffer()
        assert await driver.run(flows.exchange(buf)) == [b"220 hi\r\n"]
        task = asyncio.create_task(driver.run(flows.exchange(buf, b"NOOP\r\n")))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return driver

    with ScriptedServer(silent) as server:
        driver = asyncio.run(scenario(server.port))
        release.set()
    # The reply to NOOP may still come: the session is unusable, so it was closed.
    assert not driver.is_open
    assert driver.transcript.records[0].kind is Kind.CONNECT
