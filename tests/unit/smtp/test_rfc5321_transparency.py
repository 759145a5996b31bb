"""DATA content on the wire: RFC 5321 §4.5.2 transparency, §2.3.8 lines, §4.5.3.1.6 length.

Security catalogue S10-S13 ("SMTP smuggling"): no bare CR or LF ever leaves the
client, every line that starts with "." gets one more, the end-of-data
sequence appears exactly once, at the end, and no line is longer than 998
octets (not counting the added dot).

Expectations are checked with :func:`unstuff`, an independent reading of the
server side of §4.5.2, not with the writer under test.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire._core import Outbound
from mailwire.smtp import Content, EndOfData, State
from mailwire.smtp._writer import DataStuffer

from .helpers import cut, in_content, rfc_text

END = b"\r\n.\r\n"


def unstuff(wire: bytes) -> bytes:
    """The server side of RFC 5321 §4.5.2, line by line.

    "If the line is composed of a single period, it is treated as the end of
    mail indicator. If the first character is a period and there are other
    characters on the line, the first character is deleted."
    Asserts that the data ends at the first lone "." and nothing follows it.
    """
    out = bytearray()
    rest = wire
    while True:
        line, sep, rest = rest.partition(b"\r\n")
        assert sep, f"no CRLF before the end of data: {line!r}"
        assert b"\r" not in line
        assert b"\n" not in line
        if line == b".":
            assert rest == b"", f"bytes after the end of data: {rest!r}"
            return bytes(out)
        out += (line[1:] if line.startswith(b".") else line) + b"\r\n"


def send_content(pieces: list[bytes]) -> bytes:
    """Everything written after the 354 for these pieces, end of data included."""
    conn = in_content()
    for piece in pieces:
        conn.send(Content(piece))
    conn.send(EndOfData())
    assert conn.state is State.END_OF_DATA
    return conn.data_to_send()


def test_rules_are_quoted_from_the_rfc() -> None:
    text = " ".join(rfc_text("5321").split())
    assert "If it is a period, one additional period is inserted at the beginning of the line" in (
        text
    )
    assert "SMTP client implementations MUST NOT transmit these characters" in text
    assert "(not counting the leading dot duplicated for transparency)" in text
    assert "MUST either reject the message as invalid or add <CRLF>" in text


# --------------------------------------------------------- §4.5.2 examples

CASES = [
    # (content, exact wire bytes after the 354)
    (b"Subject: a\r\n\r\nbody\r\n", b"Subject: a\r\n\r\nbody\r\n.\r\n"),
    (b".hidden\r\n", b"..hidden\r\n.\r\n"),  # a period at the very start
    (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),  # a lone dot is not the end
    (b"a\r\n..\r\n", b"a\r\n...\r\n.\r\n"),
    (b"a\r\n.x\r\n.\r\n", b"a\r\n..x\r\n..\r\n.\r\n"),
    (b"a.b\r\n x.\r\n", b"a.b\r\n x.\r\n.\r\n"),  # only the first character counts
    # §4.1.1.4: a final line without CRLF gets one, then the terminator.
    (b"no newline", b"no newline\r\n.\r\n"),
    (b"a\r\n.", b"a\r\n..\r\n.\r\n"),
    # §4.1.1.4 ("no mail data") and RFC 2920 §3.1 ("send a single dot").
    (b"", b".\r\n"),
    (b"\r\n", b"\r\n.\r\n"),
    # 8-bit octets pass as they are (RFC 6152 content; the flow declares BODY).
    ("grüße\r\n".encode(), "grüße\r\n".encode() + b".\r\n"),
]


@pytest.mark.parametrize(("content", "wire"), CASES)
def test_whole(content: bytes, wire: bytes) -> None:
    assert send_content([content]) == wire
    expected = content if content.endswith(b"\r\n") or not content else content + b"\r\n"
    assert unstuff(wire) == expected


@pytest.mark.parametrize(("content", "wire"), CASES)
def test_byte_by_byte(content: bytes, wire: bytes) -> None:
    pieces = [content[i : i + 1] for i in range(len(content))]
    assert send_content(pieces) == wire


@pytest.mark.parametrize(("content", "wire"), CASES)
def test_every_split(content: bytes, wire: bytes) -> None:
    """A CR at the end of one piece and its LF in the next are one line end."""
    for i in range(len(content) + 1):
        for j in range(i, len(content) + 1):
            assert send_content(cut(content, [i, j])) == wire, (i, j)


def test_smuggled_message_stays_inside_the_data() -> None:
    """S10: a message that contains an end of data and a second transaction."""
    evil = (
        b"Subject: hi\r\n\r\nhello\r\n.\r\n"
        b"MAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
        b"From: admin@bank.example\r\n\r\nsend money\r\n"
    )
    wire = send_content([evil])
    assert wire.count(END) == 1
    assert wire.endswith(END)
    assert unstuff(wire) == evil


# --------------------------------------------------------- S11: bare CR / LF

BARE = [
    b"a\nb\r\n",  # LF alone (§2.3.8)
    b"a\rb\r\n",  # CR alone
    b"\n",
    b"a\r\n.\n",
    b"a\n.\r\n",  # <LF>.<CR><LF>: the smuggling sequence of CVE-2023-51764
    b"a\r.\r\n",
    b"a\r\r\nb\r\n",  # CR CR LF (Postfix collapsed it: SMTP-Smuggling-Tools #4)
    b"\r\n\n",
    b"x\n\r\n",
]


@pytest.mark.parametrize("content", BARE)
def test_bare_line_ends_are_refused(content: bytes) -> None:
    """S11 / §2.3.8: "MUST NOT transmit these characters except ... as a <CRLF>"."""
    conn = in_content()
    with pytest.raises(ValueError, match="bare"):
        conn.send(Content(content))
    assert conn.data_to_send() == b""  # nothing of the refused piece
    assert conn.state is State.CONTENT
    assert conn.error is None  # a ValueError does not poison


@pytest.mark.parametrize("content", BARE)
def test_bare_line_ends_are_refused_in_any_split(content: bytes) -> None:
    for i in range(1, len(content)):
        conn = in_content()
        with pytest.raises(ValueError, match="bare"):
            for piece in cut(content, [i]):
                conn.send(Content(piece))
            conn.send(EndOfData())
        # What went out before the refusal is never a bare line end.
        written = conn.data_to_send()
        assert b"\n" not in written.replace(b"\r\n", b"")
        assert b"\r" not in written.replace(b"\r\n", b"")[:-1]


def test_content_ending_in_bare_cr_is_refused_at_the_end() -> None:
    conn = in_content()
    conn.send(Content(b"last line\r"))  # the LF may still come in the next piece
    with pytest.raises(ValueError, match="bare CR"):
        conn.send(EndOfData())
    assert conn.state is State.CONTENT
    conn.send(Content(b"\n"))  # it came after all: the line is complete
    conn.send(EndOfData())
    assert conn.data_to_send() == b"last line\r\n.\r\n"


def test_cr_then_something_else_in_the_next_piece() -> None:
    conn = in_content()
    conn.send(Content(b"a\r"))
    with pytest.raises(ValueError, match="bare CR"):
        conn.send(Content(b"b\r\n"))


# --------------------------------------------------------- S13: line length

LIMIT = 998  # §4.5.3.1.6: 1000 octets with the CRLF


def test_998_octets_pass_999_do_not() -> None:
    assert send_content([b"x" * LIMIT + b"\r\n"]) == b"x" * LIMIT + END
    conn = in_content()
    with pytest.raises(ValueError, match="longer than 998"):
        conn.send(Content(b"x" * (LIMIT + 1) + b"\r\n"))
    assert conn.data_to_send() == b""


def test_the_added_dot_does_not_count() -> None:
    """§4.5.3.1.6: "(not counting the leading dot duplicated for transparency)"."""
    line = b"." + b"x" * (LIMIT - 1)
    assert send_content([line + b"\r\n"]) == b"." + line + b"\r\n.\r\n"


@pytest.mark.parametrize("size", [LIMIT - 1, LIMIT, LIMIT + 1, 5000])
def test_line_length_across_pieces(size: int) -> None:
    line = b"y" * size
    for pieces in ([line[:500], line[500:] + b"\r\n"], [line[:10], line[10:], b"\r\n"]):
        conn = in_content()
        conn.send(Content(b"short\r\n"))
        if size <= LIMIT:
            for piece in pieces:
                conn.send(Content(piece))
            conn.send(EndOfData())
            assert conn.data_to_send() == b"short\r\n" + line + b"\r\n.\r\n"
        else:
            with pytest.raises(ValueError, match="longer than 998"):
                for piece in pieces:
                    conn.send(Content(piece))


def test_last_line_without_crlf_is_bounded_too() -> None:
    conn = in_content()
    with pytest.raises(ValueError, match="longer than 998"):
        conn.send(Content(b"z" * (LIMIT + 1)))


def test_a_refused_piece_leaves_the_line_count_unchanged() -> None:
    """DataStuffer: validate first, commit the line state only then."""
    conn = in_content()
    conn.send(Content(b"a" * 500))
    with pytest.raises(ValueError):
        conn.send(Content(b"b" * 600))
    conn.send(Content(b"c" * 498 + b"\r\n"))  # 500 + 498 = 998: still fine
    conn.send(EndOfData())
    assert conn.data_to_send() == b"a" * 500 + b"c" * 498 + b"\r\n.\r\n"


def test_long_lines_over_many_lines() -> None:
    ok = (b"k" * LIMIT + b"\r\n") * 3
    assert unstuff(send_content([ok])) == ok
    conn = in_content()
    with pytest.raises(ValueError):
        conn.send(Content(ok + b"k" * (LIMIT + 1) + b"\r\n" + ok))


# --------------------------------------------------------- the stuffer alone


def test_stuffer_line_start_tracking() -> None:
    out = Outbound()
    stuffer = DataStuffer()
    assert stuffer.at_line_start
    stuffer.feed(b"abc", out)
    assert not stuffer.at_line_start
    stuffer.feed(b"\r", out)
    assert not stuffer.at_line_start
    stuffer.feed(b"\n", out)
    assert stuffer.at_line_start
    stuffer.feed(b".", out)
    stuffer.end(out)
    assert out.drain().data == b"abc\r\n..\r\n.\r\n"


def test_stuffer_empty_pieces_change_nothing() -> None:
    out = Outbound()
    stuffer = DataStuffer()
    stuffer.feed(b"a\r", out)
    stuffer.feed(b"", out)
    stuffer.feed(b"\n.", out)
    stuffer.end(out)
    assert out.drain().data == b"a\r\n..\r\n.\r\n"


# --------------------------------------------------------- S12 (hypothesis)

LINES = st.one_of(
    st.sampled_from([b"", b".", b"..", b"...", b".x", b"x.", b" .", b"From x", b"\t."]),
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


@settings(max_examples=300)
@given(
    lines=st.lists(LINES, max_size=12),
    final_newline=st.booleans(),
    cuts=st.lists(st.integers(0, 600), max_size=6),
)
def test_dot_stuffing_round_trip(lines: list[bytes], final_newline: bool, cuts: list[int]) -> None:
    """S12: for any CRLF text in any pieces, the server reads back exactly the text."""
    content = b"\r\n".join(lines) + (b"\r\n" if final_newline and lines else b"")
    wire = send_content(cut(content, cuts))
    expected = content if content.endswith(b"\r\n") or not content else content + b"\r\n"
    assert unstuff(wire) == expected
    # The terminator appears once, at the very end.
    assert (b"\r\n" + wire).count(END) == 1
    assert wire.endswith(b".\r\n")
    # Any split gives the same bytes.
    assert send_content([content]) == wire
    # No line past 998 octets, the transparency dot aside.
    for line in wire.split(b"\r\n"):
        assert len(line[1:] if line.startswith(b"..") else line) <= LIMIT


@settings(max_examples=300)
@given(data=st.binary(max_size=60), cuts=st.lists(st.integers(0, 60), max_size=4))
def test_any_bytes_either_go_out_clean_or_are_refused(data: bytes, cuts: list[int]) -> None:
    """Whatever the caller passes, no bare CR/LF and no early terminator reach the wire."""
    conn = in_content()
    try:
        for piece in cut(data, cuts):
            conn.send(Content(piece))
        conn.send(EndOfData())
    except ValueError:
        written = conn.data_to_send()
        assert END not in b"\r\n" + written
        stripped = written.replace(b"\r\n", b"")
        assert b"\n" not in stripped
        assert b"\r" not in stripped[:-1]
        return
    wire = conn.data_to_send()
    assert unstuff(wire) == (data if data.endswith(b"\r\n") or not data else data + b"\r\n")
