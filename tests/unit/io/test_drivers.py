"""Both drivers run the same flows over real loopback sockets (plain, TLS, STARTTLS)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Any

import pytest

from mailwire import ConnectionLost, OutcomeUnknown, SecurityError, Timeout, TLSMode
from mailwire._buffer import ReceiveBuffer
from mailwire.errors import CommandError
from mailwire.transcript import Direction, Kind
from tests.support.server import Peer, ScriptedServer
from tests.support.tls import PKI
from tests.unit.io import flows


def echo_upper(peer: Peer) -> None:
    """Greets, then answers each line with its upper-case form; QUIT ends."""
    peer.send(b"220 ready\r\n")
    while line := peer.recv_line():
        if line == b"QUIT\r\n":
            peer.send(b"221 bye\r\n")
            return
        peer.send(b"250 " + line.upper())


def starttls_server(pki: PKI) -> Any:
    def handler(peer: Peer) -> None:
        peer.send(b"220 ready\r\n")
        assert peer.recv_line() == b"STARTTLS\r\n"
        peer.send(b"220 go ahead\r\n")
        peer.start_tls()
        echo_after = peer.recv_line()
        peer.send(b"250 " + echo_after)
        peer.recv_until_eof()

    return handler


def data_records(transcript: Any, direction: Direction) -> bytes:
    return b"".join(
        r.data for r in transcript.records if r.kind is Kind.DATA and r.direction is direction
    )


def test_plain_exchange(make_driver: Any) -> None:
    with ScriptedServer(echo_upper) as server:
        driver = make_driver("127.0.0.1", server.port, tls=TLSMode.PLAIN)
        driver.connect()
        buf = ReceiveBuffer()
        assert driver.run(flows.exchange(buf)) == [b"220 ready\r\n"]
        assert driver.run(flows.exchange(buf, b"ehlo x\r\n", b"noop\r\n", replies=2)) == [
            b"250 EHLO X\r\n",
            b"250 NOOP\r\n",
        ]
        assert driver.run(flows.quit_flow(buf)) == b"221 bye\r\n"
        assert not driver.is_open
    assert server.received == b"ehlo x\r\nnoop\r\nQUIT\r\n"
    t = driver.transcript
    assert data_records(t, Direction.CLIENT) == server.received
    expected = b"220 ready\r\n250 EHLO X\r\n250 NOOP\r\n221 bye\r\n"
    assert data_records(t, Direction.SERVER) == expected
    assert t.records[0].kind is Kind.CONNECT
    assert t.records[-1].kind is Kind.CLOSE
    assert not any(r.tls for r in t.records)


def test_implicit_tls(make_driver: Any, pki: PKI) -> None:
    server_ctx = pki.server_context("localhost")
    with ScriptedServer(echo_upper, tls_context=server_ctx, implicit_tls=True) as server:
        driver = make_driver("localhost", server.port, ssl_context=pki.client_context())
        driver.connect()
        buf = ReceiveBuffer()
        assert driver.run(flows.exchange(buf)) == [b"220 ready\r\n"]
        assert driver.run(flows.exchange(buf, b"hi\r\n")) == [b"250 HI\r\n"]
        driver.run(flows.quit_flow(buf))
    assert server.received == b"hi\r\nQUIT\r\n"  # decrypted by the server
    t = driver.transcript
    kinds = [r.kind for r in t.records]
    assert Kind.TLS_RECORD in kinds
    established = [r for r in t.records if r.kind is Kind.TLS and "established" in (r.note or "")]
    assert len(established) == 1
    assert "TLSv1." in (established[0].note or "")
    # Every application byte came after the handshake and is marked as inside TLS.
    assert all(r.tls for r in t.records if r.kind is Kind.DATA)
    # The raw records are ciphertext: the plaintext does not appear in them.
    raw = b"".join(r.data for r in t.records if r.kind is Kind.TLS_RECORD)
    assert b"QUIT" not in raw
    assert b"220 ready" not in raw
    assert server.sni_names == ["localhost"]


def test_starttls_upgrade(make_driver: Any, pki: PKI) -> None:
    with ScriptedServer(starttls_server(pki), tls_context=pki.server_context("localhost")) as s:
        driver = make_driver(
            "localhost", s.port, tls=TLSMode.STARTTLS, ssl_context=pki.client_context()
        )
        driver.connect()
        buf = ReceiveBuffer()
        assert driver.run(flows.exchange(buf)) == [b"220 ready\r\n"]
        assert driver.run(flows.starttls(buf)) == [b"220 go ahead\r\n", b"250 HELLO\r\n"]
        assert driver.stream.tls_active
    t = driver.transcript
    before = [r for r in t.records if r.kind is Kind.DATA and not r.tls]
    after = [r for r in t.records if r.kind is Kind.DATA and r.tls]
    assert b"".join(r.data for r in before) == b"220 ready\r\nSTARTTLS\r\n220 go ahead\r\n"
    assert b"".join(r.data for r in after) == b"HELLO\r\n250 HELLO\r\n"
    assert s.sni_names == ["localhost"]


def test_secrets_are_marked_at_the_source(make_driver: Any) -> None:
    def handler(peer: Peer) -> None:
        peer.recv_line()
        peer.send(b"OK\r\n")

    with ScriptedServer(handler) as server:
        driver = make_driver("127.0.0.1", server.port, tls=TLSMode.PLAIN)
        driver.connect()
        assert driver.run(flows.login(ReceiveBuffer(), b"alice", b"s3cr3t")) == b"OK\r\n"
    assert server.received == b"LOGIN alice s3cr3t\r\n"
    sent = [r for r in driver.transcript.records if r.direction is Direction.CLIENT and r.data]
    sent = [r for r in driver.transcript.records if r.direction is Direction.CLIENT and r.size]
    # The secret is marked at the source and, by default, not even stored (S40).
    assert [(r.data, r.size, r.sensitive) for r in sent] == [
        (b"LOGIN alice ", 12, False),
        (b"", 6, True),
        (b"\r\n", 2, False),
    ]
    assert "s3cr3t" not in repr(sent)


def test_read_timeout(make_driver: Any) -> None:
    release = threading.Event()

    def silent(peer: Peer) -> None:
        release.wait(5)

    with ScriptedServer(silent) as server:
        driver = make_driver("127.0.0.1", server.port, tls=TLSMode.PLAIN, timeout=0.3)
        driver.connect()
        started = time.monotonic()
        with pytest.raises(Timeout) as info:
            driver.run(flows.exchange(ReceiveBuffer()))
        release.set()
    assert isinstance(info.value, TimeoutError)
    assert time.monotonic() - started < 3
    assert not driver.is_open  # a late reply could pair with the wrong command
    assert any(r.kind is Kind.TIMEOUT for r in driver.transcript.records)


def test_slow_drip_hits_the_operation_deadline(make_driver: Any) -> None:
    """S27: one byte every 50 ms, never a line end; read timeout 1 s, deadline 0.8 s."""
    stop = threading.Event()

    def drip(peer: Peer) -> None:
        while not stop.wait(0.05):
            peer.send(b"x")

    with ScriptedServer(drip) as server:
        driver = make_driver("127.0.0.1", server.port, tls=TLSMode.PLAIN, timeout=1.0)
        driver.connect()
        started = time.monotonic()
        with pytest.raises(Timeout):
            driver.run(flows.exchange(ReceiveBuffer()), timeout=0.8)
        elapsed = time.monotonic() - started
        stop.set()
    assert elapsed < 2.5


def test_eof_mid_reply(make_driver: Any) -> None:
    def cut(peer: Peer) -> None:
        peer.send(b"250-partial\r\n250 no")

    with ScriptedServer(cut) as server:
        driver = make_driver("127.0.0.1", server.port, tls=TLSMode.PLAIN)
        driver.connect()
        buf = ReceiveBuffer()
        with pytest.raises(ConnectionLost):
            driver.run(flows.exchange(buf, replies=2))
    assert isinstance(ConnectionLost("x"), ConnectionError)
    assert not driver.is_open


def test_reset_is_thrown_into_the_flow(make_driver: Any) -> None:
    """A reset after the data was sent reaches the flow, which reports OutcomeUnknown."""

    def reset_after_data(peer: Peer) -> None:
        peer.recv_line()
        peer.reset()

    with ScriptedServer(reset_after_data) as server:
        driver = make_driver("127.0.0.1", server.port, tls=TLSMode.PLAIN)
        driver.connect()
        with pytest.raises(OutcomeUnknown) as info:
            driver.run(flows.send_then_outcome(ReceiveBuffer()))
    assert info.value.recipients == ["a@b.example"]
    assert isinstance(info.value.__cause__, ConnectionLost)


def test_refused_command_keeps_the_connection(make_driver: Any) -> None:
    with ScriptedServer(echo_upper) as server:
        driver = make_driver("127.0.0.1", server.port, tls=TLSMode.PLAIN)
        driver.connect()
        buf = ReceiveBuffer()
        driver.run(flows.exchange(buf))
        with pytest.raises(CommandError, match="250 BAD"):
            driver.run(flows.refused(buf))
        assert driver.is_open
        assert driver.run(flows.exchange(buf, b"again\r\n")) == [b"250 AGAIN\r\n"]


def test_connect_refused(make_driver: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        driver = make_driver("127.0.0.1", port, tls=TLSMode.PLAIN, timeout=2)
        with pytest.raises(ConnectionLost, match="could not connect"):
            driver.connect()
    assert driver.transcript.records[-1].kind is Kind.ERROR


def test_handshake_failure_is_not_retried_in_plaintext(make_driver: Any, pki: PKI) -> None:
    """S37: a failed implicit-TLS handshake is final: one accept, nothing in clear."""

    def plaintext_server(peer: Peer) -> None:
        peer.send(b"220 I do not speak TLS\r\n")
        peer.recv_until_eof()

    with ScriptedServer(plaintext_server) as server:
        driver = make_driver("localhost", server.port, ssl_context=pki.client_context())
        with pytest.raises(SecurityError, match="TLS handshake"):
            driver.connect()
        time.sleep(0.1)
    assert server.accepts == 1
    assert not driver.is_open
    # What reached the server is a TLS ClientHello (0x16 0x03), no application bytes.
    assert server.received[:1] == b"\x16"
    assert isinstance(driver.transcript.records[-1].note, str)


@pytest.mark.parametrize("tls", [TLSMode.IMPLICIT, TLSMode.STARTTLS])
def test_untrusted_ca_is_refused(make_driver: Any, pki: PKI, tls: TLSMode) -> None:
    """S33: a certificate from a CA the client does not trust."""
    bad_ctx = pki.server_context("localhost", ca=pki.other_ca)
    handler = starttls_server(pki) if tls is TLSMode.STARTTLS else echo_upper
    with ScriptedServer(handler, tls_context=bad_ctx, implicit_tls=tls is TLSMode.IMPLICIT) as s:
        driver = make_driver("localhost", s.port, tls=tls, ssl_context=pki.client_context())
        buf = ReceiveBuffer()
        with pytest.raises(ssl.SSLCertVerificationError):
            driver.connect()
            driver.run(flows.exchange(buf))
            driver.run(flows.starttls(buf))
        time.sleep(0.1)
    assert not driver.is_open
    if tls is TLSMode.STARTTLS:
        # The server's TLS layer consumed the handshake; nothing else reached it
        # in the clear after the STARTTLS command (no HELLO, no credentials).
        assert s.peers[0].received == b"STARTTLS\r\n"


def test_hostname_mismatch_is_refused(make_driver: Any, pki: PKI) -> None:
    """S34: a trusted certificate for another name."""
    ctx = pki.server_context("other.example")
    with ScriptedServer(echo_upper, tls_context=ctx, implicit_tls=True) as server:
        driver = make_driver("localhost", server.port, ssl_context=pki.client_context())
        with pytest.raises(ssl.SSLCertVerificationError, match=r"hostname|match"):
            driver.connect()


@pytest.mark.parametrize(("host", "sni"), [("localhost", "localhost"), ("127.0.0.1", None)])
def test_sni_for_names_not_for_ip_literals(
    make_driver: Any, pki: PKI, host: str, sni: str | None
) -> None:
    """S35: SNI carries host names only (RFC 6066 §3); IP literals are checked by IP SAN."""
    ctx = pki.server_context("localhost", "127.0.0.1")
    with ScriptedServer(echo_upper, tls_context=ctx, implicit_tls=True) as server:
        driver = make_driver(host, server.port, ssl_context=pki.client_context())
        driver.connect()
        assert driver.run(flows.exchange(ReceiveBuffer())) == [b"220 ready\r\n"]
    assert server.sni_names == [sni]


def test_default_context_verifies(make_driver: Any, pki: PKI) -> None:
    """With no context at all, the system trust store applies: a test CA is refused."""
    ctx = pki.server_context("localhost")
    with ScriptedServer(echo_upper, tls_context=ctx, implicit_tls=True) as server:
        driver = make_driver("localhost", server.port)
        with pytest.raises(ssl.SSLCertVerificationError):
            driver.connect()


def test_weak_context_is_noted(make_driver: Any, pki: PKI) -> None:
    """S36: a caller's context that skips verification is written to the transcript."""
    weak = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    weak.check_hostname = False
    weak.verify_mode = ssl.CERT_NONE
    ctx = pki.server_context("localhost", ca=pki.other_ca)
    with ScriptedServer(echo_upper, tls_context=ctx, implicit_tls=True) as server:
        driver = make_driver("localhost", server.port, ssl_context=weak)
        driver.connect()
        assert driver.run(flows.exchange(ReceiveBuffer())) == [b"220 ready\r\n"]
    notes = [r.note or "" for r in driver.transcript.records if r.kind is Kind.EVENT]
    assert any("not verified" in n for n in notes)
    assert any("hostname is not checked" in n for n in notes)
