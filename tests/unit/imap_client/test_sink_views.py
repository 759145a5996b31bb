"""Sinks that take views, sinks that take bytes, and a transcript that stays bounded.

A sink whose class sets ``accepts_views = True`` (``FileSink`` does) is given
memoryviews of the receive buffer, valid only during ``write``; every other
sink keeps getting ``bytes`` it may hold on to, in chunks of at most
``Limits.chunk_size``. Both must receive the server's octets exactly, across
reads and chunk boundaries, plain and under TLS, through both drivers. Past
``Transcript(max_data_bytes=...)`` a long download must not add one record
per read.
"""

from __future__ import annotations

import itertools
import pathlib
import random
from typing import Any

import pytest

from mailwire._buffer import ReceiveBuffer
from mailwire.errors import ConnectionLost
from mailwire.imap._sinks import FileSink, file_sinks
from mailwire.limits import Limits
from mailwire.tls import TLSMode
from mailwire.transcript import Direction, Kind, Transcript
from tests.support.tls import make_pki
from tests.unit.imap_client.helpers import Both, Script

# Two bodies larger than the reused read buffer (256 KiB) and one tiny one.
BIG = bytes(random.Random(21).randrange(256) for _ in range(900_000))
BIG2 = bytes(random.Random(22).randrange(256) for _ in range(333_333))
SMALL = b"Subject: small\r\n\r\nhi\r\n"
GREETING = b"* OK [CAPABILITY IMAP4rev1] hi\r\n"
BODIES = {7: BIG, 8: SMALL, 9: BIG2}
FETCH_REPLY = (
    b"".join(
        b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (n - 6, n, len(body)) + body + b")\r\n"
        for n, body in BODIES.items()
    )
    + b"A3 OK done\r\n"
)
STEPS = [
    (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1] in\r\n"),
    (b"A2 SELECT INBOX\r\n", b"* 3 EXISTS\r\n* OK [UIDVALIDITY 3] v\r\nA2 OK [READ-WRITE] ok\r\n"),
    (b"A3 UID FETCH 7:9 (BODY.PEEK[])\r\n", FETCH_REPLY),
]
CHUNK = 16 * 1024


def _open(
    transport: str, steps: list[tuple[bytes, bytes]] = STEPS
) -> tuple[Script, dict[str, Any]]:
    kwargs: dict[str, Any] = {"limits": Limits(chunk_size=CHUNK)}
    if transport == "plain":
        return Script(GREETING, steps), kwargs
    pki = make_pki()
    script = Script(GREETING, steps, tls_context=pki.server_context(), implicit_tls=True)
    kwargs.update(tls=TLSMode.IMPLICIT, ssl_context=pki.client_context())
    return script, kwargs


class ViewSink:
    """Takes views; copies each during the call, as the contract asks."""

    accepts_views = True

    def __init__(self, uid: int, got: dict[int, list[Any]]) -> None:
        self.parts: list[bytes] = []
        self.uid = uid
        got[uid] = self.parts
        self.types_seen = got.setdefault(-uid, [])

    def write(self, data: Any) -> None:
        self.types_seen.append(type(data))
        self.parts.append(bytes(data))


class KeepingSink:
    """A plain sink that keeps the very objects it is given, no copy."""

    def __init__(self, uid: int, got: dict[int, list[Any]]) -> None:
        self.parts: list[Any] = []
        got[uid] = self.parts

    def write(self, data: Any) -> None:
        self.parts.append(data)


def _fetch(kind: str, transport: str, factory: Any) -> Both:
    script, kwargs = _open(transport)
    with script:
        c = Both(kind, script.port, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        c.fetch("7:9", ["BODY.PEEK[]"], sink=factory)
        c.close()
    assert script.errors == []
    return c


def test_a_sink_that_accepts_views_gets_every_octet(kind: str, transport: str) -> None:
    got: dict[int, list[Any]] = {}
    _fetch(kind, transport, lambda uid, section: ViewSink(uid, got))
    for uid, body in BODIES.items():
        assert b"".join(got[uid]) == body, uid
    seen = got[-7] + got[-9]
    # The large bodies came (mostly) as views of the reused read buffer,
    # and never as anything but bytes or memoryview.
    assert memoryview in seen
    assert set(seen) <= {bytes, memoryview}


def test_a_plain_sink_gets_bytes_it_may_keep(kind: str, transport: str) -> None:
    got: dict[int, list[Any]] = {}
    _fetch(kind, transport, lambda uid, section: KeepingSink(uid, got))
    for uid, body in BODIES.items():
        parts = got[uid]
        # Kept as given and joined only now: nothing was overwritten by later reads.
        assert all(type(p) is bytes for p in parts), uid
        assert all(0 < len(p) <= CHUNK for p in parts), uid
        assert b"".join(parts) == body, uid


def test_views_and_bytes_sinks_side_by_side(kind: str) -> None:
    got: dict[int, list[Any]] = {}

    def factory(uid: int, section: str) -> Any:
        return ViewSink(uid, got) if uid == 7 else KeepingSink(uid, got)

    _fetch(kind, "plain", factory)
    assert b"".join(got[7]) == BIG
    assert b"".join(got[9]) == BIG2
    assert all(type(p) is bytes and len(p) <= CHUNK for p in got[9])


def test_file_sinks_write_the_exact_bodies(
    kind: str, transport: str, tmp_path: pathlib.Path
) -> None:
    assert FileSink.accepts_views is True
    _fetch(kind, transport, file_sinks(tmp_path))
    for uid, body in BODIES.items():
        assert (tmp_path / f"{uid}.eml").read_bytes() == body
    assert not list(tmp_path.glob("*.part"))


def test_a_cut_inside_a_literal_removes_the_file_sink_part(
    kind: str, tmp_path: pathlib.Path
) -> None:
    """Issue 7 on the view path: the partial file goes, nothing looks whole."""
    cut = FETCH_REPLY[: len(b"* 1 FETCH (UID 7 BODY[] {900000}\r\n") + 600_000]
    steps = [*STEPS[:2], (STEPS[2][0], cut)]

    def hang_up(peer: Any) -> None:
        peer.close()

    script, kwargs = _open("plain", steps)
    script.after = hang_up
    with script:
        c = Both(kind, script.port, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        with pytest.raises(ConnectionLost):
            c.fetch("7:9", ["BODY.PEEK[]"], sink=file_sinks(tmp_path))
        c.close()
    assert list(tmp_path.iterdir()) == []


def test_past_max_data_bytes_the_transcript_adds_no_record_per_read(kind: str) -> None:
    transcript = Transcript(max_data_bytes=1000)
    script, kwargs = _open("plain")
    with script:
        c = Both(kind, script.port, transcript=transcript, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        c.fetch("7:9", ["BODY.PEEK[]"], sink=lambda uid, section: KeepingSink(uid, {}))
        c.close()
    server = [
        r for r in transcript.records if r.kind is Kind.DATA and r.direction is Direction.SERVER
    ]
    dropped = [r for r in server if r.size and not r.data]
    # The FETCH answer (1.2 MB) took many reads; past the cap each run of
    # them is one record, so no two dropped records are neighbours.
    assert dropped
    records = transcript.records
    for a, b in itertools.pairwise(records):
        assert not (a in dropped and b in dropped and a.direction is b.direction)
    assert sum(r.size for r in dropped) == transcript.dropped_bytes
    assert transcript.dropped_bytes >= len(FETCH_REPLY) - 1000


def test_a_long_run_of_dropped_reads_is_one_record() -> None:
    transcript = Transcript(max_data_bytes=10)
    transcript.received(b"0123456789")  # fills the cap
    for _ in range(1000):
        transcript.received(b"x" * 1000)
    assert len(transcript.records) == 2
    last = transcript.records[-1]
    assert (last.data, last.size, last.seq) == (b"", 1_000_000, 1)
    assert transcript.dropped_bytes == 1_000_000
    # Something else in between starts a new run; a record that fits is kept.
    transcript.sent(b"A1 NOOP\r\n")
    transcript.received(b"y" * 50)
    transcript.received(b"y" * 50)
    assert [(r.direction, r.size) for r in transcript.records[2:]] == [
        (Direction.CLIENT, 9),
        (Direction.SERVER, 100),
    ]
    assert transcript.records[-1].seq == 3


def test_read_view_hands_out_the_whole_read_without_copying() -> None:
    buf = ReceiveBuffer(Limits(chunk_size=1000))
    assert buf.read_upto(500_000) == b""
    view = buf.receive_view()
    assert view is not None
    assert len(view) > 1000
    with view:
        view[:5000] = b"a" * 5000
    buf.filled(5000)
    piece = buf.read_view(500_000)
    assert isinstance(piece, memoryview)
    assert piece == b"a" * 5000  # one piece, larger than a chunk
    assert buf.read_view(495_000) == b""
    # Bytes that came through feed (not the scratch buffer) stay bytes, one chunk at a time.
    buf.feed(b"b" * 2500)
    first = buf.read_view(495_000)
    assert type(first) is bytes
    assert first == b"b" * 1000
