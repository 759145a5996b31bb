"""SMTP reply reading (RFC 5321 §4.2, RFC 3463 enhanced codes, S22/S23 bounds)."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire import Limits, LineTooLong, RemoteProtocolError, TooManyResponses
from mailwire._buffer import ReceiveBuffer
from mailwire.errors import ProtocolError
from mailwire.smtp import Reply, ReplyReader, parse_enhanced

CORPUS = pathlib.Path(__file__).parents[4] / "shared/corpora/mailkit/UnitTests/Net/Smtp/Resources"

# (server bytes, [(code, lines, enhanced, text)])
CASES = [
    (b"220 mx.example ESMTP\r\n", [(220, ["mx.example ESMTP"], None, "mx.example ESMTP")]),
    (
        b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
        [
            (
                250,
                ["mx.example", "PIPELINING", "SIZE 1000"],
                None,
                "mx.example\nPIPELINING\nSIZE 1000",
            )
        ],
    ),
    # §4.2: the code alone, with or without a trailing space
    (b"250\r\n", [(250, [""], None, "")]),
    (b"250 \r\n", [(250, [""], None, "")]),
    (b"354-\r\n354 go\r\n", [(354, ["", "go"], None, "\ngo")]),
    # RFC 3463 / RFC 2034: the enhanced code leads each line and is taken off .text
    (
        b"550-5.1.1 no such\r\n550 5.1.1 user\r\n",
        [(550, ["5.1.1 no such", "5.1.1 user"], (5, 1, 1), "no such\nuser")],
    ),
    # a class that does not match the reply is not an enhanced code
    (b"250 5.1.1 odd\r\n", [(250, ["5.1.1 odd"], None, "5.1.1 odd")]),
    # pipelined: several replies in one read
    (
        b"250 2.1.0 ok\r\n550 5.1.1 unknown\r\n354 go ahead\r\n",
        [
            (250, ["2.1.0 ok"], (2, 1, 0), "ok"),
            (550, ["5.1.1 unknown"], (5, 1, 1), "unknown"),
            (354, ["go ahead"], None, "go ahead"),
        ],
    ),
    # tolerated: bare LF line ends, UTF-8 text (RFC 6531 servers)
    (b"250 ok\n", [(250, ["ok"], None, "ok")]),
    ("250 grüße\r\n".encode(), [(250, ["grüße"], None, "grüße")]),
    # tabs and odd spacing are text
    (b"421 4.3.2\tbye now\r\n", [(421, ["4.3.2\tbye now"], (4, 3, 2), "bye now")]),
]

BAD = [
    b"25O ok\r\n",  # letter O, not zero
    b"199 too low\r\n",
    b"600 too high\r\n",
    b"2500 four digits\r\n",
    b"250_ok\r\n",
    b"hello\r\n",
    b"\r\n",
    b"250-first\r\n251 second\r\n",  # code changed in a multi-line reply
]


def read_all(pieces: list[bytes], limits: Limits | None = None) -> list[Reply]:
    limits = limits or Limits()
    buf = ReceiveBuffer(limits, max_line_length=limits.max_reply_line_length)
    reader = ReplyReader(limits)
    out = []
    for piece in pieces:
        if piece:
            buf.feed(piece)
        while (reply := reader.read(buf)) is not None:
            out.append(reply)
    assert not reader.in_reply
    assert len(buf) == 0
    return out


def summary(replies: list[Reply]) -> list[tuple[object, ...]]:
    return [(r.code, r.lines, r.enhanced, r.text) for r in replies]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_whole(data: bytes, expected: list[tuple[object, ...]]) -> None:
    replies = read_all([data])
    assert summary(replies) == expected
    assert b"".join(r.raw for r in replies) == data


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_byte_by_byte(data: bytes, expected: list[tuple[object, ...]]) -> None:
    assert summary(read_all([data[i : i + 1] for i in range(len(data))])) == expected


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_every_split(data: bytes, expected: list[tuple[object, ...]]) -> None:
    for cut in range(len(data) + 1):
        assert summary(read_all([data[:cut], data[cut:]])) == expected, cut


@pytest.mark.parametrize("data", BAD)
def test_malformed(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        read_all([data])


@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=5))
def test_any_bytes_give_replies_or_a_protocol_error(data: bytes, cuts: list[int]) -> None:
    bounds = sorted(min(c, len(data)) for c in cuts)
    pieces = [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True)]
    limits = Limits(max_reply_line_length=64, max_reply_lines=5, max_reply_bytes=150)
    buf = ReceiveBuffer(limits, max_line_length=limits.max_reply_line_length)
    reader = ReplyReader(limits)
    try:
        for piece in pieces:
            if piece:
                buf.feed(piece)
            while reader.read(buf) is not None:
                pass
    except ProtocolError:
        pass  # the only exception family allowed


@given(
    st.lists(
        st.tuples(
            st.integers(200, 599),
            st.lists(
                st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
                min_size=1,
                max_size=4,
            ),
        ),
        max_size=5,
    ),
    st.data(),
)
def test_any_split_gives_the_same_replies(
    replies: list[tuple[int, list[str]]], data: st.DataObject
) -> None:
    wire = b""
    for code, lines in replies:
        for i, text in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            wire += f"{code}{sep}{text}\r\n".encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    got = read_all(pieces)
    assert [(r.code, r.lines) for r in got] == [(c, ls) for c, ls in replies]


def test_line_too_long() -> None:
    """S22: a reply line past max_reply_line_length."""
    with pytest.raises(LineTooLong):
        read_all([b"220 " + b"x" * 9000 + b"\r\n"])
    assert read_all([b"220 " + b"x" * 8000 + b"\r\n"])[0].code == 220


def test_endless_multiline_reply() -> None:
    """S23: `250-x` forever stops at the line cap."""
    with pytest.raises(TooManyResponses) as info:
        read_all([b"250-x\r\n" * 101 + b"250 end\r\n"])
    assert info.value.limit == 100
    assert len(read_all([b"250-x\r\n" * 99 + b"250 end\r\n"])[0].lines) == 100


def test_reply_byte_cap() -> None:
    limits = Limits(max_reply_bytes=100)
    with pytest.raises(TooManyResponses, match="100 bytes"):
        read_all([b"250-" + b"y" * 60 + b"\r\n250 " + b"z" * 60 + b"\r\n"], limits)


def test_enhanced_code_parsing() -> None:
    assert parse_enhanced(b"2.0.0 ok", 250) == (2, 0, 0)
    assert parse_enhanced(b"4.7.123 later", 451) == (4, 7, 123)
    assert parse_enhanced(b"5.1.1", 550) == (5, 1, 1)
    assert parse_enhanced(b"5.1.1x", 550) is None
    assert parse_enhanced(b"3.0.0 bad class", 354) is None  # RFC 3463: class 2, 4 or 5
    assert parse_enhanced(b"2.1.0 class mismatch", 550) is None
    assert parse_enhanced(b"5.1234.1 too long", 550) is None


def test_reply_classes() -> None:
    (reply,) = read_all([b"451 4.3.0 later\r\n"])
    assert reply.is_transient
    assert not reply.is_positive
    assert str(reply) == "451 4.3.0 later"


def corpus_files() -> list[pathlib.Path]:
    return sorted(CORPUS.glob("*.txt"))


def test_corpus_is_there() -> None:
    # shared/ sits beside the checkout (CI lays it there); without it the
    # corpus tests below would silently parametrize to nothing.
    assert len(corpus_files()) >= 30, CORPUS


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_real_server_replies(path: pathlib.Path) -> None:
    """Every recorded reply from MailKit's corpus reads cleanly (LF made CRLF)."""
    data = path.read_bytes().replace(b"\n", b"\r\n")
    replies = read_all([data])
    assert replies
    assert b"".join(r.raw for r in replies) == data
    # Each reply's lines all start with its code (checked by the reader), and the
    # first line's code is what the file starts with.
    assert replies[0].code == int(data[:3])
