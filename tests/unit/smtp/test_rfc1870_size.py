"""SIZE (RFC 1870): the server's limit read from EHLO, the client's SIZE= on MAIL.

Refusing a message over the limit before DATA is the flow's job; the core
parses the limit and writes the parameter.
"""

from __future__ import annotations

import pytest

from mailwire.smtp import (
    Capabilities,
    Connection,
    Data,
    Ehlo,
    EndOfData,
    MailFrom,
    Quit,
    RcptTo,
    Reply,
    State,
)

from .helpers import SPLITTERS, C, S, play, ready, rfc_text


def test_example_is_quoted_from_the_rfc() -> None:
    text = rfc_text("1870")
    for line in [
        "S: 220 sigurd.innosoft.com -- Server SMTP (PMDF V4.2-6 #1992)",
        "S: 250 SIZE 1000000",
        "C: MAIL FROM:<ned@thor.innosoft.com> SIZE=500000",
        "S: 250 ned@innosoft.com OK; can accomodate 500000 byte message",
        "S: 552 Channel size limit exceeded: ned@YMIR.CLAREMONT.EDU",
        "S: 452 Insufficient channel storage: ned@hmcvax.CLAREMONT.EDU",
        "S: 354 Send message, ending in CRLF.CRLF.",
        "S: 250 Some recipients OK",
    ]:
        assert line in text, line
    assert "A parameter value of 0 (zero) indicates that no fixed maximum" in text


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_rfc1870_example(split) -> None:
    """RFC 1870 §8: SIZE declared, one recipient refused 552, one 452, message sent."""
    conn = Connection()
    events = play(
        conn,
        [
            S(b"220 sigurd.innosoft.com -- Server SMTP (PMDF V4.2-6 #1992)\r\n", 220),
            C(Ehlo("ymir.claremont.edu"), wire=b"EHLO ymir.claremont.edu\r\n"),
            S(b"250-sigurd.innosoft.com\r\n250-EXPN\r\n250-HELP\r\n250 SIZE 1000000\r\n", 250),
            C(
                MailFrom("ned@thor.innosoft.com", {"SIZE": "500000"}),
                wire=b"MAIL FROM:<ned@thor.innosoft.com> SIZE=500000\r\n",
            ),
            S(b"250 Address Ok.\r\n", 250),
            C(RcptTo("ned@innosoft.com"), wire=b"RCPT TO:<ned@innosoft.com>\r\n"),
            S(b"250 ned@innosoft.com OK; can accomodate 500000 byte message\r\n", 250),
            C(RcptTo("ned@ymir.claremont.edu"), wire=b"RCPT TO:<ned@ymir.claremont.edu>\r\n"),
            S(b"552 Channel size limit exceeded: ned@YMIR.CLAREMONT.EDU\r\n", 552),
            C(RcptTo("ned@hmcvax.claremont.edu"), wire=b"RCPT TO:<ned@hmcvax.claremont.edu>\r\n"),
            S(b"452 Insufficient channel storage: ned@hmcvax.CLAREMONT.EDU\r\n", 452),
            C(Data(), wire=b"DATA\r\n"),
            S(b"354 Send message, ending in CRLF.CRLF.\r\n", 354),
            C(EndOfData(), wire=b".\r\n"),
            S(b"250 Some recipients OK\r\n", 250),
            C(Quit(), wire=b"QUIT\r\n"),
            S(b"221 Goodbye\r\n", 221),
        ],
        split,
    )
    assert conn.state is State.CLOSED
    refused = [(e.recipient, e.is_transient) for e in events if e.code in (452, 552)]
    assert refused == [("ned@ymir.claremont.edu", False), ("ned@hmcvax.claremont.edu", True)]


def caps_of(*lines: str) -> Capabilities:
    return Capabilities.from_reply(Reply(250, list(lines)))


@pytest.mark.parametrize(
    ("line", "size"),
    [
        ("SIZE 1000000", 1_000_000),
        ("SIZE 36700160", 36_700_160),
        ("SIZE", None),  # §3 (3): "If the parameter is omitted no information is conveyed"
        ("SIZE 0", None),  # §3 (3): "0 (zero) indicates that no fixed maximum"
        ("SIZE 00", None),
        ("SIZE abc", None),
        ("SIZE -5", None),
        ("SIZE 1e6", None),
        ("size 42", 42),
        ("SIZE 99999999999999999999", 99_999_999_999_999_999_999),  # a number, never a buffer
    ],
)
def test_size_parameter(line: str, size: int | None) -> None:
    caps = caps_of("mx", line)
    assert "SIZE" in caps
    assert caps.size == size


def test_no_size_keyword() -> None:
    assert caps_of("mx", "PIPELINING").size is None


def test_size_keyword_after_helo() -> None:
    assert Capabilities.helo(Reply(250, ["mx"])).size is None


def test_mail_from_with_size_and_other_parameters() -> None:
    """RFC 5321 §4.1.2 Mail-parameters: SP-separated, in the order given."""
    conn = ready()
    conn.send(MailFrom("a@example.org", {"SIZE": "12345", "BODY": "8BITMIME", "SMTPUTF8": None}))
    assert conn.data_to_send() == b"MAIL FROM:<a@example.org> SIZE=12345 BODY=8BITMIME SMTPUTF8\r\n"


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662\u0663", "\U0001d7d7"])
def test_size_is_ascii_digits_only(value: str) -> None:
    """RFC 1870 §3 (3): size-param ::= [1*DIGIT], DIGIT being ASCII 0-9; the reply text
    is decoded as UTF-8 (RFC 6531 servers), so other Unicode digits can arrive."""
    assert caps_of("mx", f"SIZE {value}").size is None
