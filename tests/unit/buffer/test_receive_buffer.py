"""The bounded receive buffer: lines, exact counts, limits (security.md S22)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire import Limits, LineTooLong
from mailwire._buffer import ReceiveBuffer, strip_eol

# (stream, lines expected out of it, bytes left over)
LINE_CASES = [
    (b"", [], b""),
    (b"220 ready\r\n", [b"220 ready\r\n"], b""),
    (b"250-a\r\n250-b\r\n250 c\r\n", [b"250-a\r\n", b"250-b\r\n", b"250 c\r\n"], b""),
    (b"+OK\r\npartial", [b"+OK\r\n"], b"partial"),
    (b"bare lf\nnext\r\n", [b"bare lf\n", b"next\r\n"], b""),
    (b"\r\n\r\n", [b"\r\n", b"\r\n"], b""),
    (b"cr\rinside\r\n", [b"cr\rinside\r\n"], b""),
    (b"ends with cr\r", [], b"ends with cr\r"),
    (b"nul\x00byte\r\n", [b"nul\x00byte\r\n"], b""),
    (b"\xff\xfe8bit\r\n", [b"\xff\xfe8bit\r\n"], b""),
]


def drain_lines(buf: ReceiveBuffer) -> list[bytes]:
    out = []
    while (line := buf.read_line()) is not None:
        out.append(line)
    return out


def feed_in_pieces(pieces: list[bytes], limits: Limits | None = None) -> tuple[list[bytes], bytes]:
    buf = ReceiveBuffer(limits or Limits())
    lines: list[bytes] = []
    for piece in pieces:
        if not piece:  # b"" would mean end of stream; a driver never reads an empty chunk
            continue
        buf.feed(piece)
        lines.extend(drain_lines(buf))
    return lines, buf.read_all()


@pytest.mark.parametrize(("stream", "lines", "rest"), LINE_CASES)
def test_whole(stream: bytes, lines: list[bytes], rest: bytes) -> None:
    assert feed_in_pieces([stream]) == (lines, rest)


@pytest.mark.parametrize(("stream", "lines", "rest"), LINE_CASES)
def test_one_byte_at_a_time(stream: bytes, lines: list[bytes], rest: bytes) -> None:
    assert feed_in_pieces([stream[i : i + 1] for i in range(len(stream))]) == (lines, rest)


@pytest.mark.parametrize(("stream", "lines", "rest"), LINE_CASES)
def test_split_at_every_position(stream: bytes, lines: list[bytes], rest: bytes) -> None:
    for cut in range(len(stream) + 1):
        assert feed_in_pieces([stream[:cut], stream[cut:]]) == (lines, rest), cut


@pytest.mark.parametrize(("stream", "lines", "rest"), LINE_CASES)
def test_with_trailing_data(stream: bytes, lines: list[bytes], rest: bytes) -> None:
    trailing = b"{5}\r\nhello"
    got, left = feed_in_pieces([stream, trailing])
    # The trailing data completes the leftover partial line (if any) first.
    combined = rest + trailing
    expect_more = [] if b"\n" not in combined else [combined[: combined.index(b"\n") + 1]]
    assert got == lines + expect_more
    assert left == combined[len(b"".join(expect_more)) :]


@given(st.lists(st.binary(max_size=40), max_size=20), st.data())
def test_any_split_gives_the_same_lines(chunks: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(chunks)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    lines, rest = feed_in_pieces(pieces)
    # Reference: split after every LF.
    parts = stream.split(b"\n")
    expected = [p + b"\n" for p in parts[:-1]]
    assert lines == expected
    assert rest == parts[-1]
    assert b"".join(lines) + rest == stream


def test_exact_reads_mixed_with_lines() -> None:
    # An IMAP literal: a line announcing {5}, five bytes, then the rest of the line.
    stream = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\n"
    for cut in range(len(stream) + 1):
        buf = ReceiveBuffer()
        if cut:
            buf.feed(stream[:cut])
        got: list[bytes] = []
        state = "line"
        pending = [stream[cut:]]
        while True:
            if state == "line":
                line = buf.read_line()
                if line is not None:
                    got.append(line)
                    state = "literal" if line.endswith(b"{5}\r\n") else "line"
                    if len(got) == 3:
                        break
                    continue
            else:
                chunk = buf.read_exact(5)
                if chunk is not None:
                    got.append(chunk)
                    state = "line"
                    continue
            assert pending, (cut, got)
            more = pending.pop()
            if more:
                buf.feed(more)
        assert got == [b"* 1 FETCH (BODY[] {5}\r\n", b"ab\r\nc", b")\r\n"], cut


def test_read_upto_streams_what_is_there() -> None:
    buf = ReceiveBuffer()
    buf.feed(b"abc")
    assert buf.read_upto(10) == b"abc"
    assert buf.read_upto(10) == b""
    buf.feed(b"defgh")
    assert buf.read_upto(2) == b"de"
    assert buf.read_exact(3) == b"fgh"
    assert buf.read_exact(1) is None
    assert len(buf) == 0


def test_negative_counts_are_refused() -> None:
    buf = ReceiveBuffer()
    with pytest.raises(ValueError, match="negative"):
        buf.read_exact(-1)
    with pytest.raises(ValueError, match="negative"):
        buf.read_upto(-1)


def test_eof() -> None:
    buf = ReceiveBuffer()
    buf.feed(b"partial")
    assert not buf.eof
    buf.feed(b"")
    assert buf.eof
    assert buf.read_line() is None
    assert buf.read_all() == b"partial"
    with pytest.raises(ValueError, match="after end of stream"):
        buf.feed(b"more")


def test_strip_eol() -> None:
    assert strip_eol(b"a\r\n") == b"a"
    assert strip_eol(b"a\n") == b"a"
    assert strip_eol(b"a\r") == b"a\r"
    assert strip_eol(b"a") == b"a"


# --- limits (S22) -----------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 10, 100])
def test_line_of_exactly_the_limit_is_accepted(limit: int) -> None:
    line = b"x" * (limit - 1) + b"\n"
    for pieces in ([line], [line[i : i + 1] for i in range(len(line))]):
        assert feed_in_pieces(pieces, Limits(max_line_length=limit)) == ([line], b"")


@pytest.mark.parametrize("limit", [1, 2, 10, 100])
def test_line_one_over_the_limit_is_refused(limit: int) -> None:
    line = b"x" * limit + b"\n"
    for pieces in ([line], [line[i : i + 1] for i in range(len(line))]):
        with pytest.raises(LineTooLong) as info:
            feed_in_pieces(pieces, Limits(max_line_length=limit))
        assert info.value.limit == limit


def test_crlf_counts_towards_the_limit() -> None:
    assert feed_in_pieces([b"abc\r\n"], Limits(max_line_length=5)) == ([b"abc\r\n"], b"")
    with pytest.raises(LineTooLong):
        feed_in_pieces([b"abcd\r\n"], Limits(max_line_length=5))


def test_override_for_smtp_reply_lines() -> None:
    buf = ReceiveBuffer(Limits(max_line_length=1000), max_line_length=8)
    assert buf.max_line_length == 8
    buf.feed(b"250 okay\r\n")
    with pytest.raises(LineTooLong):
        buf.read_line()


def test_endless_line_held_at_most_limit_plus_one() -> None:
    """S22: a reader that follows wanted() never holds more than limit + 1 bytes."""
    limit = 64 * 1024
    buf = ReceiveBuffer(Limits(max_line_length=limit, chunk_size=4096))
    endless = b"+OK " + b"A" * (10 * limit)  # never a LF
    fed = 0
    peak = 0
    with pytest.raises(LineTooLong) as info:
        while True:
            assert buf.read_line() is None
            want = buf.wanted()
            buf.feed(endless[fed : fed + want])
            fed += want
            peak = max(peak, len(buf))
    assert fed <= limit + 1
    assert peak <= limit + 1
    assert len(buf) == 0  # dropped, not kept
    assert "64" in str(info.value) or str(limit) in str(info.value)


def test_wanted_follows_the_pending_read() -> None:
    buf = ReceiveBuffer(Limits(max_line_length=100, chunk_size=50))
    assert buf.wanted() == 50  # nothing asked yet: a chunk
    buf.feed(b"x" * 30)
    assert buf.read_line() is None
    assert buf.wanted() == 50  # 71 would finish the limit, but a chunk is the cap
    buf.feed(b"x" * 60)
    assert buf.read_line() is None
    assert buf.wanted() == 11  # 90 held: 11 more reach limit + 1
    buf.read_all()
    assert buf.read_exact(7) is None
    assert buf.wanted() == 7


def test_search_resumes_instead_of_rescanning() -> None:
    """A line dripping in byte by byte is scanned once (O(n), no rescans)."""

    class CountingBuffer(bytearray):
        scanned = 0

        def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:  # type: ignore[override]
            stop = len(self) if end is None else min(end, len(self))
            CountingBuffer.scanned += max(0, stop - start)
            return super().find(sub, start, stop)

    buf = ReceiveBuffer()
    buf._data = CountingBuffer()  # type: ignore[assignment]
    n = 5000
    for _ in range(n):
        buf.feed(b"a")
        assert buf.read_line() is None
    buf.feed(b"\n")
    assert buf.read_line() == b"a" * n + b"\n"
    assert CountingBuffer.scanned <= n + 1


# --- read_lines: the batch form -----------------------------------------------


def drain_batch(buf: ReceiveBuffer) -> list[bytes]:
    return buf.read_lines()


@pytest.mark.parametrize(("stream", "lines", "rest"), LINE_CASES)
def test_read_lines_matches_read_line(stream: bytes, lines: list[bytes], rest: bytes) -> None:
    for cut in range(len(stream) + 1):
        buf = ReceiveBuffer()
        got: list[bytes] = []
        for piece in (stream[:cut], stream[cut:]):
            if piece:
                buf.feed(piece)
                got.extend(buf.read_lines())
        assert got == lines, cut
        assert buf.read_all() == rest


@given(st.lists(st.binary(max_size=40), max_size=20), st.data())
def test_read_lines_any_split(chunks: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(chunks)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    one, many = ReceiveBuffer(), ReceiveBuffer()
    by_line, by_batch = [], []
    for piece in pieces:
        if piece:
            one.feed(piece)
            many.feed(piece)
            while (line := one.read_line()) is not None:
                by_line.append(line)
            by_batch.extend(many.read_lines())
    assert by_batch == by_line
    assert many.read_all() == one.read_all()


@pytest.mark.parametrize("limit", [2, 10, 100])
def test_read_lines_limit(limit: int) -> None:
    ok = b"x" * (limit - 1) + b"\n"
    buf = ReceiveBuffer(Limits(max_line_length=limit))
    buf.feed(ok * 3)
    assert buf.read_lines() == [ok] * 3
    buf.feed(ok + b"y" * limit + b"\n")
    with pytest.raises(LineTooLong):
        buf.read_lines()
    assert len(buf) == 0
    # A partial line that has already outgrown the limit is refused at once.
    buf2 = ReceiveBuffer(Limits(max_line_length=limit))
    buf2.feed(ok + b"z" * limit)
    with pytest.raises(LineTooLong):
        buf2.read_lines()
