"""Large literals read with at most one copy: filled in place, or streamed as received.

The buffer's contract (``_buffer.py``): ``read_exact(n, allocate=True)`` is
only called once ``n`` passed its limit check (security.md S24), and may then
set ``n`` octets aside, filled by ``feed`` or straight by the driver through
``receive_view``/``filled``; ``read_upto`` hands a streamed literal out one
chunk (``Limits.chunk_size``) at a time, a chunk received whole while it
waited being handed on with no copy.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from mailwire._buffer import ReceiveBuffer
from mailwire.limits import Limits

BODY = bytes(random.Random(7).randrange(256) for _ in range(300_000))


def test_without_allocate_nothing_is_set_aside() -> None:
    """S24: a declared size alone never makes the buffer allocate it."""
    buf = ReceiveBuffer()
    buf.feed(b"abc")
    assert buf.read_exact(10_000_000) is None
    assert buf.receive_view() is None  # no place prepared for the 10 MB
    assert buf.wanted() <= 1024 * 1024  # and reads stay bounded


def test_a_literal_filled_by_feed_comes_back_whole() -> None:
    buf = ReceiveBuffer()
    buf.feed(BODY[:1000])
    assert buf.read_exact(len(BODY), allocate=True) is None
    assert len(buf) == 0  # the 1000 octets moved into the literal's place
    for start in range(1000, len(BODY), 70_000):
        buf.feed(BODY[start : start + 70_000])
        got = buf.read_exact(len(BODY), allocate=True)
    assert type(got) is bytes
    assert got == BODY
    assert buf.receive_view() is None


def test_a_literal_filled_through_the_view() -> None:
    buf = ReceiveBuffer()
    buf.feed(BODY[:5])
    assert buf.read_exact(len(BODY), allocate=True) is None
    pos = 5
    while (view := buf.receive_view()) is not None:
        with view:
            assert 0 < len(view) <= min(len(BODY) - pos, 1024 * 1024)
            n = min(len(view), 40_000)
            view[:n] = BODY[pos : pos + n]
        buf.filled(n)
        pos += n
    assert pos == len(BODY)
    assert buf.read_exact(len(BODY), allocate=True) == BODY


def test_filled_refuses_more_than_is_owed() -> None:
    buf = ReceiveBuffer()
    assert buf.read_exact(100_000, allocate=True) is None
    view = buf.receive_view()
    assert view is not None
    view.release()
    with pytest.raises(ValueError, match="owed"):
        buf.filled(100_001)
    with pytest.raises(ValueError, match="being read"):
        buf.read_exact(5, allocate=True)


def test_bytes_after_the_literal_stay_for_the_next_line() -> None:
    buf = ReceiveBuffer()
    assert buf.read_exact(len(BODY), allocate=True) is None
    buf.feed(BODY + b")\r\nA1 OK done\r\n")
    assert buf.read_exact(len(BODY), allocate=True) == BODY
    assert buf.read_line() == b")\r\n"
    assert buf.read_line() == b"A1 OK done\r\n"


def test_small_literals_are_not_set_aside() -> None:
    buf = ReceiveBuffer()
    buf.feed(b"ab")
    assert buf.read_exact(100, allocate=True) is None
    assert buf.receive_view() is None
    buf.feed(b"c" * 98 + b"\r\n")
    assert buf.read_exact(100, allocate=True) == b"ab" + b"c" * 98
    assert buf.read_line() == b"\r\n"


def test_a_chunk_received_whole_is_handed_on_without_a_copy() -> None:
    buf = ReceiveBuffer(Limits(chunk_size=1000))
    assert buf.read_upto(5000) == b""
    assert buf.wanted() == 1000  # streaming: one chunk per read
    chunk = bytes(range(256)) * 3
    buf.feed(chunk)
    assert buf.read_upto(5000) is chunk


def test_streamed_chunks_never_exceed_the_chunk_size() -> None:
    buf = ReceiveBuffer(Limits(chunk_size=1000))
    buf.feed(BODY[:4500])  # more than a chunk arrived at once
    out = []
    need = 4500
    while need:
        piece = buf.read_upto(need)
        assert 0 < len(piece) <= 1000
        out.append(piece)
        need -= len(piece)
    assert b"".join(out) == BODY[:4500]


def test_a_streamed_literal_read_through_the_scratch_view() -> None:
    buf = ReceiveBuffer(Limits(chunk_size=4096))
    need = len(BODY)
    assert buf.read_upto(need) == b""
    out: list[bytes] = []
    pos = 0
    while need:
        view = buf.receive_view()
        assert view is not None
        assert 0 < len(view) <= need
        with view:
            n = min(len(view), 150_000)
            view[:n] = BODY[pos : pos + n]
        buf.filled(n)
        pos += n
        while piece := buf.read_upto(need):
            assert len(piece) <= 4096
            out.append(piece)
            need -= len(piece)
    assert b"".join(out) == BODY
    assert buf.receive_view() is None  # nothing owed any more


def test_the_scratch_view_is_never_offered_over_unread_bytes() -> None:
    buf = ReceiveBuffer(Limits(chunk_size=10))
    buf.feed(b"x" * 30)
    assert buf.read_upto(100) == b"x" * 10
    assert buf.receive_view() is None  # 20 octets are still buffered
    with pytest.raises(ValueError):
        buf.filled(5)


def test_leftover_of_a_direct_chunk_goes_back_to_line_reading() -> None:
    buf = ReceiveBuffer(Limits(chunk_size=10))
    assert buf.read_upto(4) == b""
    buf.feed(b"abcd")
    assert buf.read_upto(4) == b"abcd"
    buf.feed(b" rest\r\nnext\r\n")
    assert buf.read_line() == b" rest\r\n"
    assert buf.read_line() == b"next\r\n"
    assert len(buf) == 0


def _frames_of(data: bytes, plan: random.Random | None, *, sinks: bool) -> list[Any]:
    """Every frame of ``data``, fed by a driver that picks at random how to read."""
    from mailwire.imap._frames import FrameReader, StreamedLiteral

    streamed: list[bytes] = []

    class Sink:
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        def write(self, piece: bytes) -> None:
            assert len(piece) <= 4096
            self.parts.append(bytes(piece))

        def close(self) -> None:
            streamed.append(b"".join(self.parts))

    limits = Limits(chunk_size=4096)
    buf = ReceiveBuffer(limits)
    reader = FrameReader(limits, sink_factory=(lambda prefix, size: Sink()) if sinks else None)
    frames: list[Any] = []
    pos = 0
    while True:
        while (frame := reader.read(buf)) is not None:
            literals = [
                streamed.pop(0) if isinstance(x, StreamedLiteral) else x for x in frame.literals
            ]
            frames.append((frame.text, literals))
        if pos == len(data):
            return frames
        if plan is None:  # the reference: everything at once, no view
            buf.feed(data)
            pos = len(data)
            continue
        view = buf.receive_view() if plan.random() < 0.7 else None
        if view is not None:
            with view:
                n = min(len(view), plan.randint(1, 200_000), len(data) - pos)
                view[:n] = data[pos : pos + n]
            buf.filled(n)
        else:
            n = min(plan.choice([1, 7, 4096, 50_000, 300_000]), len(data) - pos)
            buf.feed(data[pos : pos + n])
        pos += n


@pytest.mark.parametrize("seed", range(12))
def test_any_mix_of_reads_gives_the_same_frames(seed: int) -> None:
    """In-place fills, scratch reads, direct chunks and copies all agree."""
    rng = random.Random(seed)
    responses = []
    for n in range(1, 9):
        size = rng.choice([0, 5, 40_000, 100_000, 250_000])
        body = BODY[:size]
        responses.append(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (n, n, size) + body + b")\r\n")
        if rng.random() < 0.3:
            responses.append(b"* %d FETCH (FLAGS (\\Seen))\r\n" % n)
    data = b"".join(responses) + b"A1 OK done\r\n"
    want = _frames_of(data, None, sinks=False)
    assert len(want) == len(responses) + 1
    for text, literals in want:
        if literals:
            size = int(text.rsplit(b"{", 1)[1].split(b"}")[0])
            assert literals == [BODY[:size]]
    for sinks in (False, True):
        assert _frames_of(data, rng, sinks=sinks) == want
