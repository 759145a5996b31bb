"""SMTPUTF8 (RFC 6531): UTF-8 addresses only in a transaction that declares SMTPUTF8.

§3.4: "If the envelope or message being sent requires the capabilities of the
SMTPUTF8 extension, the SMTPUTF8-aware SMTP client MUST supply the SMTPUTF8
parameter with the MAIL command"; §3.3 extends the mailbox syntax to UTF-8.
Whether the server offers SMTPUTF8 is the flow's check; the core refuses a
non-ASCII address in a transaction that did not declare it.
"""

from __future__ import annotations

import pytest

from mailwire.smtp import Data, Ehlo, EndOfData, MailFrom, RcptTo, State, Vrfy

from .helpers import exchange, ready, rfc_text

# RFC 6531 §3.3 uses no example address; these are the usual IDN test strings.
UTF8_SENDER = "jösé@exämple.org"
UTF8_RCPT = "用户@例子.广告"


def test_rules_are_quoted_from_the_rfc() -> None:
    text = " ".join(rfc_text("6531").split())
    assert "the SMTPUTF8-aware SMTP client MUST supply the SMTPUTF8 parameter" in text
    assert "The parameter does not accept a value" in text


def test_utf8_sender_with_smtputf8() -> None:
    """§3.3/§3.4: MAIL FROM:<UTF-8 mailbox> SMTPUTF8."""
    conn = ready()
    conn.send(MailFrom(UTF8_SENDER, {"SMTPUTF8": None}))
    assert conn.data_to_send() == f"MAIL FROM:<{UTF8_SENDER}> SMTPUTF8\r\n".encode()


def test_utf8_recipient_in_a_smtputf8_transaction() -> None:
    conn = ready()
    conn.send(MailFrom("sender@example.org", {"SMTPUTF8": None, "BODY": "8BITMIME"}))
    conn.send(RcptTo(UTF8_RCPT, {"ORCPT": f"utf-8;{UTF8_RCPT}"}))
    assert conn.data_to_send() == (
        b"MAIL FROM:<sender@example.org> SMTPUTF8 BODY=8BITMIME\r\n"
        + f"RCPT TO:<{UTF8_RCPT}> ORCPT=utf-8;{UTF8_RCPT}\r\n".encode()
    )


def test_utf8_parameter_keyword_case() -> None:
    """Keywords are case-insensitive (RFC 5321 §2.4): smtputf8 counts too."""
    conn = ready()
    conn.send(MailFrom("sender@example.org", {"smtputf8": None}))
    conn.send(RcptTo(UTF8_RCPT))
    assert UTF8_RCPT.encode() in conn.data_to_send()


@pytest.mark.parametrize(
    "command",
    [
        MailFrom(UTF8_SENDER),
        MailFrom("a@example.org", {"ENVID": "grüße"}),
        Vrfy("jösé"),
        Ehlo("exämple.org"),
    ],
    ids=["mail", "param", "vrfy", "ehlo"],
)
def test_non_ascii_without_smtputf8_is_refused(command) -> None:
    """§3.5 / RFC 5321 §2.4: without SMTPUTF8 the command line is ASCII; nothing is sent."""
    conn = ready()
    with pytest.raises(ValueError, match="SMTPUTF8"):
        conn.send(command)
    assert conn.data_to_send() == b""
    assert conn.state is State.READY
    assert conn.error is None


def test_utf8_recipient_without_smtputf8_is_refused() -> None:
    conn = ready()
    exchange(conn, MailFrom("sender@example.org"), b"250 ok\r\n")
    with pytest.raises(ValueError, match="SMTPUTF8"):
        conn.send(RcptTo(UTF8_RCPT))
    assert conn.data_to_send() == b""
    assert conn.state is State.MAIL


def test_the_declaration_ends_with_its_transaction() -> None:
    conn = ready()
    exchange(conn, MailFrom("s@example.org", {"SMTPUTF8": None}), b"250 ok\r\n")
    exchange(conn, RcptTo(UTF8_RCPT), b"250 ok\r\n")
    exchange(conn, Data(), b"354 go\r\n")
    exchange(conn, EndOfData(), b"250 queued\r\n")
    assert conn.state is State.READY
    exchange(conn, MailFrom("s@example.org"), b"250 ok\r\n")
    with pytest.raises(ValueError, match="SMTPUTF8"):
        conn.send(RcptTo(UTF8_RCPT))


def test_declaration_of_a_refused_mail_does_not_leak() -> None:
    conn = ready()
    exchange(conn, MailFrom("s@example.org", {"SMTPUTF8": None}), b"550 5.7.1 no\r\n")
    assert conn.state is State.READY
    with pytest.raises(ValueError, match="SMTPUTF8"):
        conn.send(MailFrom(UTF8_SENDER))
    assert conn.data_to_send() == b""
