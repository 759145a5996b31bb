"""LMTP (RFC 2033): LHLO, and one reply per accepted recipient after the data.

RFC 2033 is not in shared/rfc. Its §4.2 example (quoted below) was checked
against a public copy of the RFC text; the rules used here are §4.1 (LHLO
instead of EHLO/HELO) and §4.2 ("after the final ".", the server returns one
reply for each previously successful RCPT command in the mail transaction,
in the order that the RCPT commands were issued"; "If there were no
successful RCPT commands in the mail transaction, the DATA command MUST fail
with a 503 reply code"). smtplib gets this wrong (CPython gh-76984).
"""

from __future__ import annotations

import pytest

from mailwire import ConnectionLost, LocalProtocolError, ProtocolError, RemoteProtocolError
from mailwire.smtp import (
    Bdat,
    Connection,
    Content,
    Data,
    Ehlo,
    EndOfData,
    Helo,
    Lhlo,
    MailFrom,
    Quit,
    RcptTo,
    State,
)

from .helpers import SPLITTERS, C, S, drain, exchange, feed, in_content, play, ready

BODY = b"Blah blah blah...\r\n...etc. etc. etc.\r\n"
BODY_WIRE = b"Blah blah blah...\r\n....etc. etc. etc.\r\n"  # §4.5.2 of RFC 5321


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_rfc2033_example(split) -> None:
    """RFC 2033 §4.2: three RCPT, jones refused; after the data one reply for pat
    (250) and one for green (452), in RCPT order."""
    conn = Connection(lmtp=True)
    events = play(
        conn,
        [
            S(b"220 foo.edu LMTP server ready\r\n", 220),
            C(Lhlo("foo.edu"), wire=b"LHLO foo.edu\r\n"),
            S(b"250-foo.edu\r\n250-PIPELINING\r\n250 SIZE\r\n", 250),
            C(MailFrom("chris@bar.com"), wire=b"MAIL FROM:<chris@bar.com>\r\n"),
            S(b"250 OK\r\n", 250),
            C(RcptTo("pat@foo.edu"), wire=b"RCPT TO:<pat@foo.edu>\r\n"),
            S(b"250 OK\r\n", 250),
            C(RcptTo("jones@foo.edu"), wire=b"RCPT TO:<jones@foo.edu>\r\n"),
            S(b"550 No such user here\r\n", 550),
            C(RcptTo("green@foo.edu"), wire=b"RCPT TO:<green@foo.edu>\r\n"),
            S(b"250 OK\r\n", 250),
            C(Data(), wire=b"DATA\r\n"),
            S(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n", 354),
            C(Content(BODY), EndOfData(), wire=BODY_WIRE + b".\r\n"),
            S(b"250 OK\r\n452 <green@foo.edu> is temporarily over quota\r\n", 250, 452),
            C(Quit(), wire=b"QUIT\r\n"),
            S(b"221 foo.edu closing connection\r\n", 221),
        ],
        split,
    )
    assert conn.capabilities is not None
    assert conn.capabilities.pipelining
    final = [(e.code, e.recipient) for e in events if isinstance(e.command, EndOfData)]
    assert final == [(250, "pat@foo.edu"), (452, "green@foo.edu")]
    rcpts = [(e.code, e.recipient) for e in events if isinstance(e.command, RcptTo)]
    assert rcpts == [(250, "pat@foo.edu"), (550, "jones@foo.edu"), (250, "green@foo.edu")]
    assert conn.state is State.CLOSED


def test_state_waits_for_the_last_recipient_reply() -> None:
    conn = in_content(lmtp=True, recipients=["a@example.org", "b@example.org", "c@example.org"])
    assert conn.accepted == ["a@example.org", "b@example.org", "c@example.org"]
    conn.send(EndOfData())
    assert conn.data_to_send() == b".\r\n"
    assert conn.pending == (EndOfData(),)
    conn.receive_data(b"250 2.0.0 a ok\r\n250 2.0.0 b ok\r\n")
    first, second = drain(conn)
    assert (first.recipient, second.recipient) == ("a@example.org", "b@example.org")
    assert conn.state is State.END_OF_DATA
    assert len(conn.pending) == 1  # still due: c's reply
    conn.receive_data(b"550 5.2.1 c over quota\r\n")
    (third,) = drain(conn)
    assert (third.code, third.recipient, third.enhanced) == (550, "c@example.org", (5, 2, 1))
    assert conn.state is State.READY
    assert conn.accepted == []
    assert conn.pending == ()


def test_pipelined_rcpts_then_data() -> None:
    conn = ready(lmtp=True)
    events = exchange(
        conn,
        [MailFrom("s@example.org"), RcptTo("a@example.org"), RcptTo("b@example.org"), Data()],
        b"250 ok\r\n550 5.1.1 no a\r\n250 ok\r\n354 go\r\n",
    )
    assert [e.recipient for e in events] == [None, "a@example.org", "b@example.org", None]
    assert conn.accepted == ["b@example.org"]
    conn.send(Content(b"x\r\n"))
    conn.send(EndOfData())
    (reply,) = exchange(conn, [], b"250 2.0.0 delivered to b\r\n")
    assert reply.recipient == "b@example.org"
    assert conn.state is State.READY


def test_replies_per_recipient_in_any_split() -> None:
    replies = b"250-2.0.0 a\r\n250 2.0.0 stored\r\n451 4.3.0 b later\r\n"
    for i in range(1, len(replies)):
        conn = in_content(lmtp=True, recipients=["a@example.org", "b@example.org"])
        conn.send(EndOfData())
        got = feed(conn, [replies[:i], replies[i:]])
        assert [(e.code, e.recipient) for e in got] == [
            (250, "a@example.org"),
            (451, "b@example.org"),
        ]
        assert conn.state is State.READY


def test_one_reply_too_many() -> None:
    conn = in_content(lmtp=True)
    conn.send(EndOfData())
    conn.receive_data(b"250 ok\r\n250 surprise\r\n")
    with pytest.raises(RemoteProtocolError, match="no command waiting"):
        drain(conn)


def test_lost_between_recipient_replies() -> None:
    """The recipients without a reply have an unknown fate: ConnectionLost, not success."""
    conn = in_content(lmtp=True, recipients=["a@example.org", "b@example.org"])
    conn.send(EndOfData())
    conn.receive_data(b"250 ok\r\n")
    (first,) = drain(conn)
    assert first.recipient == "a@example.org"
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost, match="end of data"):
        conn.next_event()


def test_no_accepted_recipient_data_refused() -> None:
    """§4.2: with no successful RCPT, "the DATA command MUST fail with a 503 reply code"."""
    conn = ready(lmtp=True)
    events = exchange(
        conn,
        [MailFrom("s@example.org"), RcptTo("a@example.org"), Data()],
        b"250 ok\r\n550 5.1.1 no\r\n503 5.5.1 no valid recipients\r\n",
    )
    assert [e.code for e in events] == [250, 550, 503]
    assert conn.accepted == []
    assert conn.state in {State.READY, State.RCPT}


def test_lmtp_with_chunking() -> None:
    """RFC 2033 with RFC 3030: after BDAT LAST, one reply per accepted recipient."""
    conn = ready(lmtp=True)
    exchange(
        conn,
        [MailFrom("s@example.org"), RcptTo("a@example.org"), RcptTo("b@example.org")],
        b"250 ok\r\n250 ok\r\n250 ok\r\n",
    )
    exchange(conn, Bdat(b"Subject: x\r\n\r\n"), b"250 2.0.0 14 octets\r\n")
    events = exchange(conn, Bdat(b"body\r\n", last=True), b"250 a ok\r\n452 4.2.2 b full\r\n")
    assert [(e.code, e.recipient) for e in events] == [
        (250, "a@example.org"),
        (452, "b@example.org"),
    ]
    assert conn.state is State.READY


@pytest.mark.parametrize("command", [Ehlo("c.example"), Helo("c.example")])
def test_lmtp_uses_lhlo(command) -> None:
    """§4.1: LHLO replaces EHLO; an LMTP session refuses EHLO and HELO."""
    conn = Connection(lmtp=True)
    conn.receive_data(b"220 lmtp ready\r\n")
    drain(conn)
    with pytest.raises(LocalProtocolError, match="LHLO"):
        conn.send(command)
    assert conn.data_to_send() == b""


def test_smtp_refuses_lhlo() -> None:
    conn = Connection()
    conn.receive_data(b"220 smtp ready\r\n")
    drain(conn)
    with pytest.raises(LocalProtocolError, match="EHLO"):
        conn.send(Lhlo("c.example"))


def test_lhlo_capabilities() -> None:
    conn = Connection(lmtp=True)
    conn.receive_data(b"220 lmtp ready\r\n")
    drain(conn)
    exchange(conn, Lhlo("c.example"), b"250-dovecot\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 ok\r\n")
    assert conn.capabilities is not None
    assert conn.capabilities.esmtp
    assert conn.capabilities.chunking


def test_smtp_end_of_data_has_one_reply() -> None:
    """Only LMTP has per-recipient replies: SMTP gets one for the whole message."""
    conn = in_content(recipients=["a@example.org", "b@example.org"])
    conn.send(EndOfData())
    conn.receive_data(b"250 ok\r\n250 extra\r\n")
    (reply,) = [conn.next_event()]
    assert reply.recipient is None
    assert conn.state is State.READY
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_end_of_data_with_no_accepted_recipient_writes_nothing() -> None:
    """ARCHITECTURE core contract: a refused send queues nothing. The 354 here breaks
    §4.2 ("MUST fail with a 503"); either refusing the 354 or refusing the end of
    data is acceptable, but not writing the terminator and then raising."""
    conn = ready(lmtp=True)
    conn.send(MailFrom("s@example.org"))
    conn.send(RcptTo("a@example.org"))
    conn.send(Data())
    conn.data_to_send()
    conn.receive_data(b"250 ok\r\n550 no\r\n354 go ahead anyway\r\n")
    try:
        drain(conn)
    except RemoteProtocolError:
        return
    with pytest.raises(ProtocolError):
        conn.send(EndOfData())
    assert conn.data_to_send() == b""


def test_bdat_last_with_a_rcpt_reply_still_due() -> None:
    """RFC 2033 §4.2 counts the successful RCPTs of the transaction. RFC 3030 §2 sends
    BDAT "after all MAIL and RCPT responses are collected", so refusing the BDAT
    LAST is fine too; silently miscounting is not."""
    conn = ready(lmtp=True)
    for command in (MailFrom("s@example.org"), RcptTo("a@example.org"), RcptTo("b@example.org")):
        conn.send(command)
    conn.receive_data(b"250 ok\r\n250 a ok\r\n")
    drain(conn)  # b's RCPT reply is still due
    try:
        conn.send(Bdat(b"x\r\n", last=True))
    except LocalProtocolError:
        assert conn.data_to_send().endswith(b"RCPT TO:<b@example.org>\r\n")
        return
    conn.receive_data(b"250 b ok\r\n250 a stored\r\n250 b stored\r\n")
    events = drain(conn)
    assert [e.recipient for e in events] == ["b@example.org", "a@example.org", "b@example.org"]
