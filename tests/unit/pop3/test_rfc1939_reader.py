"""Reading POP3 answers: status lines, response codes, dot-unstuffed bodies (RFC 1939 §3).

The body reader takes blocks, not lines; these tests hold it to the line by
line rule of RFC 1939 §3 (``unstuff_reference``) for every split of the
input, and prove that unstuffing is the exact inverse of stuffing.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailwire.limits import Limits
from mailwire.pop3._reader import BodyBuffer, Status, clean_text, parse_status, split_code
from tests.unit.pop3.helpers import cut, rfc_text, stuff, unstuff_reference

# ---------------------------------------------------------------- status lines


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"+OK\r\n", (Status.OK, b"")),
        (b"+OK 2 320\r\n", (Status.OK, b"2 320")),
        (b"-ERR\r\n", (Status.ERR, b"")),
        (b"-ERR no such message\r\n", (Status.ERR, b"no such message")),
        (b"+ \r\n", (Status.CONTINUE, b"")),  # RFC 5034 §4: an empty challenge
        (b"+\r\n", (Status.CONTINUE, b"")),  # Exchange writes it without the space
        (b"+ dXNlcm5hbWU6\r\n", (Status.CONTINUE, b"dXNlcm5hbWU6")),
        (b"+OK bare LF\n", (Status.OK, b"bare LF")),
        (b"+ok lower case\r\n", (Status.OK, b"lower case")),
    ],
)
def test_status_lines(line: bytes, expected: tuple[str, bytes]) -> None:
    assert parse_status(line) == expected


@pytest.mark.parametrize(
    "line",
    [b"OK\r\n", b"+OKAY\r\n", b"-ERROR\r\n", b"+x\r\n", b"\r\n", b"* OK imap\r\n", b"220 smtp\r\n"],
)
def test_not_status_lines(line: bytes) -> None:
    assert parse_status(line) is None


def test_response_codes_from_the_rfcs() -> None:
    # RFC 2449 §8 example, and the RFC 3206 codes.
    assert "S: -ERR [IN-USE] Do you have another POP session running?" in rfc_text("2449")
    assert split_code(b"[IN-USE] Do you have another POP session running?") == (
        "IN-USE",
        b"Do you have another POP session running?",
    )
    assert split_code(b"[SYS/TEMP] out of resources") == ("SYS/TEMP", b"out of resources")
    assert split_code(b"[sys/perm] gone") == ("SYS/PERM", b"gone")  # case-insensitive
    assert split_code(b"[AUTH] Authentication failed.") == ("AUTH", b"Authentication failed.")
    assert split_code(b"[LOGIN-DELAY]") == ("LOGIN-DELAY", b"")


@pytest.mark.parametrize("text", [b"[] x", b"[A B] x", b"[A]x", b"no code", b"[A/]", b"[A"])
def test_not_response_codes(text: bytes) -> None:
    assert split_code(text) == (None, text)


def test_text_is_made_safe() -> None:
    # security.md S41: terminal escapes and bidi controls are escaped.
    assert clean_text(b"hi \x1b]0;pwned\x07 there") == "hi \\x1b]0;pwned\\x07 there"
    assert clean_text("a\u202eb".encode()) == "a\\u202eb"
    assert clean_text(b"caf\xc3\xa9 \xff") == "caf\u00e9 \ufffd"
    assert clean_text(b"tab\tkept") == "tab\tkept"


# ---------------------------------------------------------------- bodies


def take_all(
    pieces: list[bytes], chunk: int = 65536, *, bare_lf: bool = False
) -> tuple[bytes, bytes]:
    """Feed ``pieces``; return (unstuffed body, bytes left after the terminator)."""
    buf = BodyBuffer(Limits())
    out = bytearray()
    at_line_start = True
    ended = False
    for piece in pieces:
        if piece:
            buf.feed(piece)
        while not ended:
            taken = buf.take_body(at_line_start, chunk, bare_lf=bare_lf)
            if taken is None:
                break
            data, ended, at_line_start = taken
            out += data
    assert ended, "no terminator found"
    return bytes(out), buf.read_all()


BODIES = [
    b"",
    b"Subject: hi\r\n\r\nhello\r\n",
    b".\r\n",  # a line holding one dot: stuffed to ".."
    b"..\r\n...\r\n.x\r\n.\r\n.",
    b"a\r\n.\r\n\r\n.\r\n",
    b".\r.\r\n",  # a dotted line whose second byte is CR (not a line end)
    b"line without end",
    b"\r\n\r\n\r\n",
]


@pytest.mark.parametrize("body", BODIES)
def test_body_every_split(body: bytes) -> None:
    message = body if body.endswith(b"\r\n") or not body else body + b"\r\n"
    wire = stuff(message) + b".\r\n" + b"+OK next\r\n"
    expected = (message, b"+OK next\r\n")
    assert take_all([wire]) == expected
    assert take_all([wire[i : i + 1] for i in range(len(wire))]) == expected
    for position in range(len(wire) + 1):
        assert take_all([wire[:position], wire[position:]]) == expected, position
    # A tiny look-at window changes nothing either.
    assert take_all([wire], chunk=1) == expected


def test_terminator_with_bare_lf() -> None:
    # MailKit's "Unix line endings" servers end with ".\n"; stuffing still applies.
    wire = b"a\n..b\n.\n+OK\n"
    assert take_all([wire], bare_lf=True) == (b"a\n.b\n", b"+OK\n")
    assert take_all(cut(wire, [2, 3, 7]), chunk=1, bare_lf=True) == (b"a\n.b\n", b"+OK\n")
    assert take_all([b".\n"], bare_lf=True) == (b"", b"")


def test_bare_lf_is_data_for_a_crlf_server() -> None:
    # RFC 1939 §3 ends lines with CRLF: for a CRLF server a bare LF, even one
    # followed by ".\r\n", is part of the message.
    message = b"x\n.\r\n"  # stored: "x", LF, "." -- one CRLF line
    wire = stuff(message) + b".\r\n"
    assert wire == b"x\n.\r\n.\r\n"
    assert take_all([wire]) == (message, b"")
    for position in range(len(wire) + 1):
        assert take_all([wire[:position], wire[position:]], chunk=3) == (message, b"")


def test_gmail_parse_error_sample_is_just_bytes() -> None:
    # MailKit's retr1-parse-error.txt is a malformed MIME body; at the POP3
    # level it is a well-formed multi-line answer.
    from tests.unit.pop3.helpers import resource

    wire = resource("gmail/retr1-parse-error.txt")
    status, _, rest = wire.partition(b"\r\n")
    assert status == b"+OK message follows"
    body, left = take_all([rest])
    assert left == b""
    assert body == unstuff_reference(rest[: -len(b".\r\n")])


_LINE = st.one_of(
    st.sampled_from([b"", b".", b"..", b"...", b".x", b"..x", b"x.", b" .", b".\r", b"\r."]),
    st.binary(max_size=12).map(lambda b: b.replace(b"\r\n", b"")),
)


@settings(max_examples=300)
@given(st.lists(_LINE, max_size=12), st.lists(st.integers(0, 400), max_size=6), st.data())
@example(lines=[b"."], cuts=[1, 2], data=None)  # type: ignore[arg-type]
def test_unstuffing_is_the_inverse_of_stuffing(
    lines: list[bytes], cuts: list[int], data: st.DataObject | None
) -> None:
    # Lines without a CRLF inside, each ended by CRLF: the message as stored.
    lines = [line for line in lines if b"\r\n" not in line]
    message = b"".join(line + b"\r\n" for line in lines)
    wire = stuff(message) + b".\r\n"
    chunk = data.draw(st.integers(1, 64)) if data is not None else 65536
    body, left = take_all(cut(wire, cuts), chunk=chunk)
    assert body == message
    assert left == b""
    # ... and the line-by-line reading of RFC 1939 §3 agrees.
    assert body == unstuff_reference(stuff(message))
