"""IMAP against a server that tries to exhaust the client: S22-S24, S26-S28, S31.

Scripted loopback servers; every limit is the client's own (``Limits``), so
the tests shrink it where the default would make them slow. Memory is
measured with ``tracemalloc`` (security.md §0).
"""

from __future__ import annotations

import base64
import tracemalloc
import zlib

import pytest

from mailwire import (
    AuthenticationError,
    ConnectionLost,
    LimitExceeded,
    LineTooLong,
    LiteralTooLarge,
    NestingTooDeep,
    RemoteProtocolError,
    Timeout,
)
from mailwire.imap._compress import Deflate
from mailwire.limits import Limits
from mailwire.transcript import Transcript
from tests.support.server import Peer
from tests.unit.imap_client.helpers import Both, Script

GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN COMPRESS=DEFLATE] hi\r\n"
LOGGED = [(b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] in\r\n")]


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def select_steps() -> list[tuple[bytes, bytes]]:
    return [*LOGGED, (b"A2 SELECT INBOX\r\n", b"* 1 EXISTS\r\nA2 OK [READ-WRITE] ok\r\n")]


def test_s22_unbounded_line(kind: str) -> None:
    limits = Limits(max_line_length=64 * 1024)

    data = b"* OK " + b"x" * (10 * 1024 * 1024)  # built before measuring

    def flood(peer: Peer) -> None:
        peer.send(data)
        peer.recv_until_eof()

    with Script(b"", [], after=flood) as script:
        c = Both(kind, script.port, limits=limits)
        tracemalloc.start()
        try:
            with pytest.raises(LineTooLong):
                c.connect()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        c.close()
    assert peak < 2 * limits.max_line_length + 1024 * 1024


def _flood_peak(lines: int) -> int:
    flood = b"* 1 EXISTS\r\n" * lines
    steps = [*select_steps(), (b"A3 NOOP\r\n", flood + b"A3 OK done\r\n")]
    with Script(GREETING, steps) as script:
        # The transcript keeps received bytes up to a bound of its own; keep
        # it small so that only what the client itself holds is measured.
        c = Both("blocking", script.port, transcript=Transcript(max_data_bytes=1024))
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        tracemalloc.start()
        try:
            c.noop()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert c.client.mailbox.exists == 1
        c.close()
    assert script.errors == []
    return peak


def test_s23_untagged_flood_does_not_pile_up() -> None:
    """S23: responses are dispatched as they arrive; memory does not grow with them."""
    small, large = _flood_peak(20_000), _flood_peak(80_000)
    assert large < 2 * small


@pytest.mark.parametrize(
    ("announce", "error"),
    [
        (b"{9999999999}", LiteralTooLarge),
        (b"{-1}", RemoteProtocolError),
        (b"{}", RemoteProtocolError),
        (b"{1e3}", RemoteProtocolError),
        (b"{99999999999999999999}", RemoteProtocolError),
    ],
)
def test_s24_hostile_literal_sizes(kind: str, announce: bytes, error: type[Exception]) -> None:
    reply = b"* 1 FETCH (UID 1 BODY[] " + announce + b"\r\n0123456789"
    steps = [*select_steps(), (b"A3 UID FETCH 1 (BODY.PEEK[])\r\n", reply)]
    with Script(GREETING, steps, after=lambda peer: peer.close()) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        tracemalloc.start()
        try:
            with pytest.raises(error):
                c.fetch(1, ["BODY.PEEK[]"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        c.close()
    assert peak < 8 * 1024 * 1024


def test_s24_huge_literal_to_a_sink_ends_in_connection_lost(kind: str) -> None:
    """With a sink no size is too large; a cut stream is ConnectionLost, the sink aborted."""
    reply = b"* 1 FETCH (UID 1 BODY[] {9999999999}\r\n0123456789"
    steps = [*select_steps(), (b"A3 UID FETCH 1 (BODY.PEEK[])\r\n", reply)]
    aborted: list[BaseException] = []

    class Sink:
        closed = False
        data = b""

        def write(self, data: bytes) -> None:
            self.data += data

        def close(self) -> None:
            self.closed = True

        def abort(self, exc: BaseException) -> None:
            aborted.append(exc)

    sink = Sink()
    with Script(GREETING, steps, after=lambda peer: peer.close()) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        with pytest.raises(ConnectionLost):
            c.fetch(1, ["BODY.PEEK[]"], sink=lambda uid, section: sink)
        c.close()
    assert sink.data == b"0123456789"
    assert not sink.closed
    assert len(aborted) == 1


def test_s26_endless_continuation(kind: str) -> None:
    """S26: after max_sasl_rounds the client cancels with '*' and fails."""
    steps = [(b"A1 AUTHENTICATE LOGIN\r\n", b"+ \r\n")]
    steps += [(base64.b64encode(b"u") + b"\r\n", b"+ \r\n")]
    steps += [(base64.b64encode(b"p") + b"\r\n", b"+ \r\n")]
    steps += [(b"*\r\n", b"A1 BAD cancelled\r\n")]
    with Script(b"* OK [CAPABILITY IMAP4rev1 AUTH=LOGIN] hi\r\n", steps) as script:
        c = Both(kind, script.port, limits=Limits(max_sasl_rounds=2))
        c.connect()
        with pytest.raises(AuthenticationError):
            c.authenticate("LOGIN", username="u", password="p")
        c.close()
    assert script.errors == []


def test_s26_unsolicited_continuation(kind: str) -> None:
    steps = [(b"A1 NOOP\r\n", b"+ more please\r\n")]
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", steps) as script:
        c = Both(kind, script.port)
        c.connect()
        with pytest.raises(RemoteProtocolError, match="continuation"):
            c.noop()
        c.close()


def test_s27_slow_drip_times_out(kind: str) -> None:
    import time

    def drip(peer: Peer) -> None:
        for _ in range(40):
            try:
                peer.send(b"x")
            except OSError:
                return
            time.sleep(0.1)

    steps = [(b"A1 NOOP\r\n", b"* OK ")]
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", steps, after=drip) as script:
        c = Both(kind, script.port, timeout=1.0, operation_timeout=1.0)
        c.connect()
        started = time.monotonic()
        with pytest.raises(Timeout):
            c.noop()
        elapsed = time.monotonic() - started
        c.close()
    assert elapsed < 3.0


def test_s28_deep_nesting(kind: str) -> None:
    reply = b"* 1 FETCH (UID 1 BODYSTRUCTURE " + b"(" * 10_000 + b"\r\n"
    steps = [*select_steps(), (b"A3 UID FETCH 1 (BODYSTRUCTURE)\r\n", reply)]
    with Script(GREETING, steps) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        with pytest.raises(NestingTooDeep):
            c.fetch(1, ["BODYSTRUCTURE"])
        c.close()


def _bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"*" * (1024 * 1024)
    out = [packer.compress(block) for _ in range(size // len(block))]
    out.append(packer.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(out)


def test_s31_compress_bomb(kind: str) -> None:
    """S31: 64 MiB of '*' without a line end, deflated to some 64 KiB: LineTooLong, bounded."""
    limits = Limits(max_line_length=256 * 1024)
    bomb = _bomb(64 * 1024 * 1024)
    steps = [*LOGGED, (b"A2 COMPRESS DEFLATE\r\n", b"A2 OK compressing\r\n")]

    def after(peer: Peer) -> None:
        inflate = zlib.decompressobj(-15)
        line = b""
        while not line.endswith(b"\n"):
            chunk = peer.sock.recv(4096)
            if not chunk:
                return
            line += inflate.decompress(chunk)
        if line == b"A3 NOOP\r\n":
            peer.send(bomb)
        peer.recv_until_eof()

    with Script(GREETING, steps, after=after) as script:
        c = Both(kind, script.port, limits=limits)
        c.connect()
        c.login("u", "p")
        assert c.compress() is True
        tracemalloc.start()
        try:
            with pytest.raises(LineTooLong):
                c.noop()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        c.close()
    assert script.errors == []
    assert peak < limits.max_line_length * 3 + 2 * 1024 * 1024


def test_compress_round_trip_and_bad_data() -> None:
    deflate = Deflate(Limits(max_inflate_chunk=10))
    server = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflate.feed(server.compress(b"* OK hello world\r\n") + server.flush(zlib.Z_SYNC_FLUSH))
    out = b""
    while deflate.pending:
        piece = deflate.inflate(1000)
        assert len(piece) <= 10
        out += piece
    assert out == b"* OK hello world\r\n"
    client = zlib.decompressobj(-15)
    assert client.decompress(deflate.deflate(b"A1 NOOP\r\n")) == b"A1 NOOP\r\n"
    broken = Deflate()
    broken.feed(b"\xff\xff\xff\xff")
    with pytest.raises(RemoteProtocolError, match="DEFLATE"):
        broken.inflate(100)


def test_limit_errors_are_mailwire_errors() -> None:
    assert issubclass(LineTooLong, LimitExceeded)
    assert issubclass(NestingTooDeep, RemoteProtocolError)
