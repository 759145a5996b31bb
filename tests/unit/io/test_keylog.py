"""keylog_file: session keys are written only when asked."""

from __future__ import annotations

import pathlib
from typing import Any

from mailwire._buffer import ReceiveBuffer
from tests.support.server import Peer, ScriptedServer
from tests.support.tls import PKI
from tests.unit.io import flows


def greet(peer: Peer) -> None:
    peer.send(b"* OK hi\r\n")
    peer.recv_until_eof()


def test_keylog_written_when_asked(make_driver: Any, pki: PKI, tmp_path: pathlib.Path) -> None:
    keylog = tmp_path / "keys.log"
    ctx = pki.server_context("localhost")
    with ScriptedServer(greet, tls_context=ctx, implicit_tls=True) as server:
        driver = make_driver(
            "localhost", server.port, ssl_context=pki.client_context(), keylog_file=keylog
        )
        driver.connect()
        assert driver.run(flows.exchange(ReceiveBuffer())) == [b"* OK hi\r\n"]
    text = keylog.read_text()
    # NSS key log format: TLS 1.3 secrets or the TLS 1.2 CLIENT_RANDOM line.
    assert "CLIENT_HANDSHAKE_TRAFFIC_SECRET" in text or "CLIENT_RANDOM" in text


def test_no_keylog_by_default(make_driver: Any, pki: PKI, monkeypatch: Any) -> None:
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    ctx = pki.server_context("localhost")
    with ScriptedServer(greet, tls_context=ctx, implicit_tls=True) as server:
        driver = make_driver("localhost", server.port, ssl_context=pki.client_context())
        driver.connect()
        assert driver.stream.context().keylog_filename is None
