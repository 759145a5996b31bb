"""Large literals kept in memory: filled in place, in one pass, and still safe.

A literal kept in memory (no sink) is set aside at its declared size once
that size passed ``Limits.max_literal_size`` (security.md S24), then filled
where it will stay: by the driver's ``recv_into`` on a plain socket, by the
bytes the TLS lens or the COMPRESS lens hand over otherwise. The place is a
``bytes(n)`` lent through a ``BytesIO`` (see ``ReceiveBuffer._start_target``),
so nothing zero-fills it first and nothing copies it at the end. These tests
pin what that must never change: the octets arrive exact however the reads
split them, every literal handed out is its own object that later reads
leave alone, a peer that stops mid-literal is a ``ConnectionLost`` (never a
short body), and an over-limit size is refused before anything is set aside.
"""

from __future__ import annotations

import itertools
import random
import time
import tracemalloc
import zlib
from typing import Any

import pytest

from mailwire import ConnectionLost, Timeout
from mailwire._buffer import ReceiveBuffer
from mailwire.errors import LiteralTooLarge
from mailwire.imap._frames import FrameReader
from mailwire.limits import Limits
from mailwire.tls import TLSMode
from tests.support.server import Peer
from tests.support.tls import make_pki
from tests.unit.imap_client.helpers import Both, Script

BODY = bytes(random.Random(23).randrange(256) for _ in range(600_000))
OTHER = bytes(random.Random(29).randrange(256) for _ in range(200_000))
GREETING = b"* OK [CAPABILITY IMAP4rev1] hi\r\n"
LOGIN = (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] in\r\n")
SELECT = (
    b"A2 SELECT INBOX\r\n",
    b"* 2 EXISTS\r\n* OK [UIDVALIDITY 3] v\r\nA2 OK [READ-WRITE] ok\r\n",
)


def _fetch(tag: bytes) -> tuple[bytes, bytes]:
    """The FETCH the client sends under ``tag``, and the reply: two literals, then OK."""
    reply = (
        b"* 1 FETCH (UID 7 BODY[] {%d}\r\n" % len(BODY)
        + BODY
        + b")\r\n* 2 FETCH (UID 8 BODY[] {%d}\r\n" % len(OTHER)
        + OTHER
        + b")\r\n"
        + tag
        + b" OK done\r\n"
    )
    return tag + b" UID FETCH 7:8 (BODY.PEEK[])\r\n", reply


FETCH, REPLY = _fetch(b"A3")


def _script(transport: str, after: Any, **kwargs: Any) -> tuple[Script, dict[str, Any]]:
    steps = [LOGIN, SELECT]
    if transport == "plain":
        return Script(GREETING, steps, after=after), kwargs
    pki = make_pki()
    script = Script(
        GREETING, steps, tls_context=pki.server_context(), implicit_tls=True, after=after
    )
    kwargs.update(tls=TLSMode.IMPLICIT, ssl_context=pki.client_context())
    return script, kwargs


def _answer_fetch_in(pieces: list[bytes], then_close: bool = False) -> Any:
    """A handler that waits for the FETCH, then sends ``pieces`` one send each."""

    def after(peer: Peer) -> None:
        if peer.recv_line() != FETCH:
            return
        for piece in pieces:
            peer.send(piece)
            # Let the client read what is there, so its reads end where the
            # pieces do (a split the test means, not one the kernel merges).
            time.sleep(0.02)
        if then_close:
            peer.close()
        else:
            peer.recv_until_eof()

    return after


def _cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = [0, *sorted(points), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def test_a_literal_split_across_reads_arrives_exact(kind: str, transport: str) -> None:
    start = REPLY.index(BODY)
    # Cuts inside the announcement line, one octet into the body, deep in
    # it, one octet before its end, and inside the second announcement.
    points = [start - 5, start + 1, start + 70_001, start + len(BODY) - 1, start + len(BODY) + 12]
    script, kwargs = _script(transport, _answer_fetch_in(_cut(REPLY, points)))
    with script:
        c = Both(kind, script.port, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        result = c.fetch("7:8", ["BODY.PEEK[]"])
        received = c.client.transcript.server_bytes()
        c.close()
    assert script.errors == []
    first, second = result[7].sections["BODY[]"], result[8].sections["BODY[]"]
    assert type(first) is bytes
    assert type(second) is bytes
    assert first == BODY
    assert second == OTHER
    # The transcript still records every octet as received, in order.
    assert REPLY in received


@pytest.mark.parametrize("cut", [1, 300_000, len(BODY) - 1])
def test_the_server_closing_mid_literal_is_connection_lost(
    kind: str, transport: str, cut: int
) -> None:
    start = REPLY.index(BODY)
    script, kwargs = _script(transport, _answer_fetch_in([REPLY[: start + cut]], then_close=True))
    with script:
        c = Both(kind, script.port, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        with pytest.raises(ConnectionLost, match="in the middle of a response"):
            c.fetch("7:8", ["BODY.PEEK[]"])
        c.close()
    assert script.errors == []


def test_a_server_that_stalls_mid_literal_is_a_timeout(kind: str, transport: str) -> None:
    """Half a literal, then silence with the connection open: the read timeout ends it."""
    start = REPLY.index(BODY)
    script, kwargs = _script(transport, _answer_fetch_in([REPLY[: start + 300_000]]), timeout=1.0)
    with script:
        c = Both(kind, script.port, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        with pytest.raises(Timeout):
            c.fetch("7:8", ["BODY.PEEK[]"])
        c.close()
    assert script.errors == []


def test_a_big_literal_through_compress_deflate(kind: str) -> None:
    """RFC 4978: the inflated bytes are fed (not read into place) and still arrive exact."""

    fetch, reply = _fetch(b"A4")

    def deflated(peer: Peer) -> None:
        inflate = zlib.decompressobj(-15)
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        pending = b""
        while True:
            data = peer.sock.recv(4096)
            if not data:
                return
            pending += inflate.decompress(data)
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                line += b"\n"
                if line == fetch:
                    # Several flushes, so the literal comes in many pieces.
                    for at in range(0, len(reply), 50_000):
                        chunk = deflate.compress(reply[at : at + 50_000])
                        peer.send(chunk + deflate.flush(zlib.Z_SYNC_FLUSH))
                elif line == b"A5 LOGOUT\r\n":
                    bye = b"* BYE bye\r\nA5 OK done\r\n"
                    peer.send(deflate.compress(bye) + deflate.flush(zlib.Z_SYNC_FLUSH))

    steps = [LOGIN, SELECT, (b"A3 COMPRESS DEFLATE\r\n", b"A3 OK DEFLATE active\r\n")]
    with Script(GREETING, steps, after=deflated) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        assert c.compress() is True
        result = c.fetch("7:8", ["BODY.PEEK[]"])
        c.logout()
    assert script.errors == []
    assert result[7].sections["BODY[]"] == BODY
    assert result[8].sections["BODY[]"] == OTHER


# ----------------------------------------------------------- buffer and frames


def _fill_randomly(buf: ReceiveBuffer, body: bytes, rng: random.Random) -> bytes:
    """Deliver ``body`` (owed as a literal) by a random mix of views and feeds."""
    pos = 0
    got = buf.read_exact(len(body), allocate=True)
    while got is None:
        size = rng.choice([1, 7, 4096, 65_536, 300_000])
        view = buf.receive_view()
        if view is not None and rng.random() < 0.7:
            with view:
                n = min(len(view), size, len(body) - pos)
                view[:n] = body[pos : pos + n]
            buf.filled(n)
        else:
            if view is not None:
                view.release()  # the driver's contract: released before anything else
            n = min(size, len(body) - pos)
            buf.feed(body[pos : pos + n])
        pos += n
        got = buf.read_exact(len(body), allocate=True)
    assert pos == len(body)
    return got


@pytest.mark.parametrize("seed", range(6))
def test_literals_filled_in_place_are_exact_and_stay_untouched(seed: int) -> None:
    rng = random.Random(seed)
    buf = ReceiveBuffer()
    kept: list[tuple[bytes, bytes]] = []
    for _ in range(4):
        body = rng.randbytes(rng.choice([40_000, 250_000, 1_100_000]))
        got = _fill_randomly(buf, body, rng)
        assert type(got) is bytes
        assert got == body
        kept.append((got, body))
    # Each literal is its own object: filling the next ones changed none.
    for got, body in kept:
        assert got == body
    assert len({id(got) for got, _ in kept}) == len(kept)


def test_an_over_limit_literal_is_refused_before_anything_is_set_aside() -> None:
    """S24: the announcement alone raises; no buffer of the declared size is made."""
    limits = Limits(max_literal_size=1_000_000)
    buf = ReceiveBuffer(limits)
    reader = FrameReader(limits)
    buf.feed(b"* 1 FETCH (BODY[] {500000000000}\r\n" + b"x" * 1000)
    tracemalloc.start()
    try:
        with pytest.raises(LiteralTooLarge):
            reader.read(buf)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert buf.receive_view() is None


def test_a_literal_at_the_limit_is_read_in_place() -> None:
    limits = Limits(max_literal_size=len(BODY))
    buf = ReceiveBuffer(limits)
    reader = FrameReader(limits)
    buf.feed(b"* 1 FETCH (BODY[] {%d}\r\n" % len(BODY) + BODY[:10])
    assert reader.read(buf) is None
    view = buf.receive_view()
    assert view is not None
    with view:
        view[: len(BODY) - 10] = BODY[10:]
    buf.filled(len(BODY) - 10)
    buf.feed(b")\r\n")
    frame = reader.read(buf)
    assert frame is not None
    assert frame.literals == (BODY,)


def test_end_of_stream_inside_an_in_place_literal_is_connection_lost() -> None:
    buf = ReceiveBuffer()
    reader = FrameReader()
    buf.feed(b"* 1 FETCH (BODY[] {%d}\r\n" % len(BODY) + BODY[:100_000])
    assert reader.read(buf) is None
    buf.feed(b"")
    with pytest.raises(ConnectionLost, match="middle of a response"):
        reader.read(buf)
