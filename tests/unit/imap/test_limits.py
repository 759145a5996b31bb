"""Bounds on what a server can make the IMAP reader hold or do (S22, S24, S25).

S28 (nesting) is in test_rfc9051_fetch.py, beside the body structures.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import pytest

from mailwire._buffer import ReceiveBuffer
from mailwire.errors import (
    ConnectionLost,
    LineTooLong,
    LiteralTooLarge,
    RemoteProtocolError,
)
from mailwire.imap import FetchData, ResponseReader, StatusResponse, UntaggedData
from mailwire.imap._frames import FrameReader
from mailwire.limits import Limits

from .helpers import read_all


def test_hostile_literal_size_is_refused_before_reading() -> None:
    """S24: {9999999999} raises LiteralTooLarge from the announcement alone."""
    tracemalloc.start()
    try:
        with pytest.raises(LiteralTooLarge) as info:
            read_all([b"* 1 FETCH (BODY[] {9999999999}\r\n" + b"x" * 10])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.limit == Limits().max_literal_size
    assert peak < 4 * 1024 * 1024


@pytest.mark.parametrize(
    "spec", [b"{-1}", b"{}", b"{1e3}", b"{99999999999999999999}", b"{1.5}", b"~{}"]
)
def test_malformed_literal_sizes(spec: bytes) -> None:
    """S24: sizes that are not a number64 are protocol errors, never allocations."""
    with pytest.raises(RemoteProtocolError):
        read_all([b"* 1 FETCH (BODY[] " + spec + b"\r\nabc)\r\n"])


def test_braces_that_are_not_a_literal_stay_text() -> None:
    assert read_all([b"* OK see {abc}\r\n"]) == [StatusResponse("OK", None, "see {abc}")]


def test_literal_at_the_limit_and_one_over() -> None:
    limits = Limits(max_literal_size=10)
    ok = read_all([b"* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n"], limits)
    assert ok == [FetchData(1, sections={"BODY[]": b"0123456789"})]
    with pytest.raises(LiteralTooLarge):
        read_all([b"* 1 FETCH (BODY[] {11}\r\n01234567890)\r\n"], limits)


def test_many_literals_in_one_response_are_bounded_in_total() -> None:
    limits = Limits(max_literal_size=100, max_line_length=100)
    item = b" X {90}\r\n" + b"y" * 90
    with pytest.raises(LiteralTooLarge, match="response holds more"):
        read_all([b"* 1 FETCH (A" + item * 3 + b")\r\n"], limits)


def test_line_too_long() -> None:
    """S22: a line that never ends stops at the bound."""
    limits = Limits(max_line_length=100)
    with pytest.raises(LineTooLong):
        read_all([b"* OK " + b"x" * 200 + b"\r\n"], limits)


def test_end_of_stream_inside_a_response() -> None:
    buf = ReceiveBuffer()
    reader = ResponseReader()
    buf.feed(b"* 1 FETCH (BODY[] {10}\r\nabc")
    assert reader.read(buf) is None
    buf.feed(b"")
    with pytest.raises(ConnectionLost):
        reader.read(buf)


def test_end_of_stream_between_responses_is_quiet() -> None:
    buf = ReceiveBuffer()
    reader = ResponseReader()
    buf.feed(b"* OK hi\r\n")
    buf.feed(b"")
    assert reader.read(buf) == StatusResponse("OK", None, "hi")
    assert reader.read(buf) is None


def test_streaming_to_a_sink_is_not_bound_by_the_literal_limit() -> None:
    """A literal far over max_literal_size goes to the sink chunk by chunk."""
    limits = Limits(max_literal_size=16, chunk_size=1024)
    sizes: list[int] = []

    class Sink:
        def write(self, data: bytes) -> None:
            assert len(data) <= 1024
            sizes.append(len(data))

    buf = ReceiveBuffer(limits)
    reader = ResponseReader(limits, sink_factory=lambda prefix, size: Sink())
    total = 1_000_000
    buf.feed(b"* 1 FETCH (BODY[] {%d}\r\n" % total)
    assert reader.read(buf) is None
    for _ in range(total // 50_000):
        buf.feed(b"z" * 50_000)
        assert reader.read(buf) is None
        assert len(buf) == 0  # nothing piles up
    buf.feed(b")\r\n")
    assert reader.read(buf) == FetchData(1, streamed={"BODY[]": total})
    assert sum(sizes) == total


def _parse_time(n: int) -> float:
    data = (
        b"* 1 FETCH ("
        + b"".join(b"BODY[%d] {1}\r\nx " % i for i in range(1, n + 1))
        + b"UID 1)\r\n"
    )
    other = b"* 2 XDATA (" + b"{1}\r\nx " * n + b")\r\n"
    best = float("inf")
    for _ in range(5):
        # The garbage collector's passes grow with the heap, not with the
        # parser's work: keep them out of a test about the parser.
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            (fetch,) = read_all([data])
            (extra,) = read_all([other])
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    assert isinstance(fetch, FetchData)
    assert len(fetch.sections) == n
    assert isinstance(extra, UntaggedData)
    assert len(extra.values[0]) == n
    return best


def test_many_literals_cost_linear_time() -> None:
    """S25: 80,000 literals take less than 6 times as long as 20,000."""
    small = _parse_time(20_000)
    large = _parse_time(80_000)
    assert large / small < 6, (small, large)


def test_frame_reader_reports_progress() -> None:
    buf = ReceiveBuffer()
    reader = FrameReader()
    buf.feed(b"* 1 FETCH (BODY[] {3}\r\nab")
    assert reader.read(buf) is None
    assert reader.in_frame
    buf.feed(b"c)\r\n")
    frame = reader.read(buf)
    assert frame is not None
    assert frame.text == b"* 1 FETCH (BODY[] {3}\r\n)"
    assert frame.literals == (b"abc",)
    assert frame.size == len(b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n")
    assert not reader.in_frame
