"""DATA transparency and SMTP smuggling at the client level: security.md S10-S13.

The server records the DATA bytes exactly as they crossed the wire (still
dot-stuffed), so the checks are on what a receiving MTA would parse. Expected
bytes are written out by hand from RFC 5321 §4.5.2 (a line starting with "."
gets one more) and §2.3.8 (lines end in CRLF, nothing else).
"""

from __future__ import annotations

import email.message
import io
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire import TLSMode, smtp
from tests.lab import SmtpLab
from tests.security.smtp_support import (
    fake_smtp,
    kind,
    plain_client,
    unstuff,
)

__all__ = ["kind"]

ENVELOPE: dict[str, Any] = {"sender": "a@x.test", "recipients": ["b@x.test"]}
EHLO_CHUNKING = b"250-mx.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n"


def assert_clean_data(raw: bytes) -> None:
    """The smuggling-relevant invariants of DATA bytes (terminator excluded)."""
    assert re.search(rb"\r(?!\n)", raw) is None, "bare CR"
    assert re.search(rb"(?<!\r)\n", raw) is None, "bare LF"
    assert b"\r\n.\r\n" not in raw, "early terminator"
    assert not raw.startswith(b".\r\n"), "early terminator"
    for line in raw.split(b"\r\n"):
        # RFC 5321 §4.5.3.1.6: 1000 octets with CRLF, not counting a stuffed dot.
        assert len(line) - line.startswith(b"..") <= 998


# ---------------------------------------------------------------------- S10


def test_s10_line_ends_normalised_on_request(kind: str) -> None:
    """S10: bare CR and LF become CRLF; the lone dot is stuffed; one terminator."""
    body = b"a\n.\nMAIL FROM:<x@y>\r\nb\r.\rc"
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(body, normalize_line_endings=True, **ENVELOPE)
        c.quit()
        sent = b"".join(c.client.transcript.client_bytes().split(b"DATA\r\n", 1)[1:])
    (raw,) = srv.messages
    assert raw == b"a\r\n..\r\nMAIL FROM:<x@y>\r\nb\r\n..\r\nc\r\n"
    assert_clean_data(raw)
    assert sent.count(b"\r\n.\r\n") == 1
    assert sent.endswith(b"c\r\n.\r\nQUIT\r\n")


def test_s10_line_ends_split_across_chunks(kind: str) -> None:
    """S10: CR at the end of one chunk and LF at the start of the next are one CRLF."""
    chunks = [b"Subject: s\r", b"\n\r\nline\r", b"\n.dot\r", b".\n", b"\r", b"\nend"]
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(iter(chunks), normalize_line_endings=True, **ENVELOPE)
        c.quit()
    (raw,) = srv.messages
    assert raw == b"Subject: s\r\n\r\nline\r\n..dot\r\n..\r\n\r\nend\r\n"
    assert_clean_data(raw)


def test_s10_email_message_text_goes_out_with_crlf(kind: str) -> None:
    """S10 through the email package: a str body with LF lines arrives CRLF, stuffed."""
    msg = email.message.EmailMessage()
    msg["From"] = "a@x.test"
    msg["To"] = "b@x.test"
    msg["Subject"] = "text"
    msg.set_content("a\n.\nMAIL FROM:<x@y>\n.\n")
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(msg)
        c.quit()
    (raw,) = srv.messages
    assert raw.endswith(b"\r\n\r\na\r\n..\r\nMAIL FROM:<x@y>\r\n..\r\n")
    assert_clean_data(raw)


# ---------------------------------------------------------------------- S11


SMUGGLE = b"Subject: s\r\n\r\nA\n.\r\nB\r.\r\nC"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: SMUGGLE, id="bytes"),
        pytest.param(lambda: io.BytesIO(SMUGGLE), id="file"),
        pytest.param(lambda: iter([SMUGGLE[:14], SMUGGLE[14:]]), id="iterable"),
    ],
)
def test_s11_bare_line_ends_refused_and_nothing_delivered(kind: str, make: Any) -> None:
    """S11: raw content with a bare CR or LF raises ValueError; no content, no
    terminator reach the server, so no message (smuggled or not) is delivered."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        with pytest.raises(ValueError, match="bare CR or LF"):
            c.send_message(make(), **ENVELOPE)
    assert srv.done.wait(5)
    assert srv.messages == []
    after_data = srv.received.split(b"DATA\r\n", 1)[-1]
    assert b"\r\n.\r\n" not in after_data
    assert b"A\n." not in srv.received
    assert srv.received.count(b"MAIL FROM:") <= 1  # no second, smuggled transaction


def test_s11_in_memory_content_refused_before_data(kind: str) -> None:
    """S11: content held in memory can be checked before the transaction starts."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        with pytest.raises(ValueError, match="bare CR or LF"):
            c.send_message(SMUGGLE, **ENVELOPE)
        c.noop()  # the session is still usable: ValueError means nothing was sent
        c.quit()
    assert srv.commands == [b"EHLO client.test\r\n", b"NOOP\r\n", b"QUIT\r\n"]


def test_s11_normalisation_when_asked(kind: str) -> None:
    """S11: ``normalize_line_endings=True`` sends S11's body with S10's invariants."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(SMUGGLE, normalize_line_endings=True, **ENVELOPE)
        c.quit()
    (raw,) = srv.messages
    assert raw == b"Subject: s\r\n\r\nA\r\n..\r\nB\r\n..\r\nC\r\n"
    assert_clean_data(raw)


def test_s11_bdat_refuses_bare_line_ends_too(kind: str) -> None:
    """S11 for BDAT: the content rules do not depend on the transfer command."""
    with fake_smtp(ehlo=EHLO_CHUNKING) as srv, plain_client(kind, srv) as c:
        c.connect()
        with pytest.raises(ValueError, match="bare CR or LF"):
            c.send_message(SMUGGLE + b"\r\n", use_bdat=True, **ENVELOPE)
    assert srv.messages == []
    assert b"A\n.\r\n" not in srv.received


def test_s11_bdat_with_normalisation_is_clean(kind: str) -> None:
    """S11 for BDAT when asked to normalise: CRLF only, sent unstuffed and as it
    ends (RFC 3030 §2 has no terminator; an RFC 5322 body may end without CRLF)."""
    with fake_smtp(ehlo=EHLO_CHUNKING) as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(SMUGGLE, use_bdat=True, normalize_line_endings=True, **ENVELOPE)
        c.quit()
    assert srv.messages == [b"Subject: s\r\n\r\nA\r\n.\r\nB\r\n.\r\nC"]


EHLO_BINARYMIME = b"250-mx.test\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 8BITMIME\r\n"
BINARY = b"Subject: binary\r\nContent-Transfer-Encoding: binary\r\n\r\n" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: BINARY, id="bytes"),
        pytest.param(lambda: iter([BINARY[:100], BINARY[100:]]), id="iterable"),
    ],
)
def test_s11_binarymime_carries_any_octets(kind: str, make: Any) -> None:
    """S11's rules are for text: with BODY=BINARYMIME (RFC 3030 §3) the octets go
    as they are in BDAT chunks, bare CR and LF included, nothing stuffed."""
    with fake_smtp(ehlo=EHLO_BINARYMIME) as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(make(), binarymime=True, **ENVELOPE)
        c.quit()
    assert srv.messages == [BINARY]
    (mail,) = [line for line in srv.commands if line.startswith(b"MAIL")]
    assert b" BODY=BINARYMIME" in mail


# ---------------------------------------------------------------------- S12

_LINE = st.one_of(
    st.sampled_from([".", "..", ".x", "", "...", ". ", "x.", " .", "From x"]),
    st.text(alphabet="ab. \t", max_size=12),
)
_EOL = st.sampled_from(["\r\n", "\n", "\r"])


@st.composite
def texts(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(input with mixed line ends, perhaps no final one; expected unstuffed content).

    The expectation is S12's definition: each CR LF, lone CR or lone LF is one
    line end, written CRLF (RFC 5322 §2.3), and the content ends with CRLF
    (RFC 5321 §4.1.1.4).
    """
    lines = draw(st.lists(_LINE, min_size=1, max_size=12))
    ends = [draw(_EOL) for _ in lines]
    if not draw(st.booleans()):
        ends[-1] = ""
    raw = "".join(line + end for line, end in zip(lines, ends, strict=True)) or "x"
    expected = re.sub(r"\r\n|\r|\n", "\r\n", raw)
    if not expected.endswith("\r\n"):
        expected += "\r\n"
    return raw.encode(), expected.encode()


def test_s12_dot_stuffing_property_on_the_wire(kind: str) -> None:
    """S12: for any text, the wire form un-stuffs (RFC 5321 §4.5.2) to the
    CRLF-normalised input, with exactly one terminator and no long line."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        sent: list[bytes] = []

        @settings(max_examples=60, deadline=None)
        @given(texts())
        def check(case: tuple[bytes, bytes]) -> None:
            raw, expected = case
            c.send_message(raw, normalize_line_endings=True, **ENVELOPE)
            sent.append(expected)
            assert len(srv.messages) == len(sent)  # the reply came after the terminator
            wire = srv.messages[-1]
            assert_clean_data(wire)
            assert unstuff(wire) == expected

        check()
        c.quit()
        everything = c.client.transcript.client_bytes()
    # One terminator per message, nothing resembling one elsewhere.
    assert everything.count(b"\r\n.\r\n") == len(sent)


def test_s12_dot_stuffing_property_against_aiosmtpd(smtp_lab_module: SmtpLab) -> None:
    """S12 with an independent un-stuffer: aiosmtpd's stored content is the expected text."""
    lab = smtp_lab_module
    lab.reset()
    with smtp.Client(
        lab.host, lab.plain_port, tls=TLSMode.PLAIN, local_hostname="client.test"
    ) as c:
        count = 0

        @settings(max_examples=60, deadline=None)
        @given(texts())
        def check(case: tuple[bytes, bytes]) -> None:
            nonlocal count
            raw, expected = case
            c.send_message(raw, normalize_line_endings=True, **ENVELOPE)
            count += 1
            stored = lab.wait_for_messages(count)[-1]
            assert stored.content == expected

        check()


# ---------------------------------------------------------------------- S13


def test_s13_long_line_encoded_by_the_email_package(kind: str) -> None:
    """S13: a 5000-character line leaves as short physical lines (QP or base64)."""
    msg = email.message.EmailMessage()
    msg["From"] = "a@x.test"
    msg["To"] = "b@x.test"
    msg["Subject"] = "long"
    msg.set_content("y" * 5000 + "\n")
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(msg)
        c.quit()
    (raw,) = srv.messages
    assert_clean_data(raw)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"Content-Transfer-Encoding: " in raw


@pytest.mark.parametrize(
    ("body", "delivered"),
    [
        (b"x" * 998, True),  # 998 + CRLF = 1000 octets: the limit (RFC 5321 §4.5.3.1.6)
        (b"." + b"x" * 997, True),  # stuffed to 999 on the wire: the dot does not count
        (b"x" * 999, False),
        (b"x" * 5000, False),
    ],
    ids=["998", "998-with-dot", "999", "5000"],
)
def test_s13_raw_line_length(kind: str, body: bytes, delivered: bool) -> None:
    """S13: raw content with a line over 998 octets raises ValueError, nothing delivered."""
    content = b"Subject: s\r\n\r\n" + body + b"\r\nend\r\n"
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        if delivered:
            c.send_message(content, **ENVELOPE)
            c.quit()
        else:
            with pytest.raises(ValueError, match="998"):
                c.send_message(content, **ENVELOPE)
    assert srv.done.wait(5)
    if delivered:
        (raw,) = srv.messages
        assert unstuff(raw) == content
        assert_clean_data(raw)
    else:
        assert srv.messages == []
        assert body[:1000] not in srv.received


def test_s13_long_line_spread_over_chunks(kind: str) -> None:
    """S13: the length is counted across chunk boundaries of a stream."""
    chunks = [b"Subject: s\r\n\r\n", b"x" * 500, b"y" * 499, b"\r\n"]  # 999 octets
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        with pytest.raises(ValueError, match="998"):
            c.send_message(iter(chunks), **ENVELOPE)
    assert srv.messages == []
