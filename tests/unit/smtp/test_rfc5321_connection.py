"""The SMTP core as a whole (RFC 5321): greeting, pairing, closing, errors, scripts.

The scripted sessions are RFC 5321 Appendix D's scenarios, client and server
bytes both taken from the RFC text, played whole, one byte at a time and
split in two (STYLE.md "Tests").
"""

from __future__ import annotations

import pytest

from mailwire import (
    NEED_DATA,
    ConnectionLost,
    Limits,
    LineTooLong,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    TooManyResponses,
)
from mailwire.smtp import (
    Connection,
    ConnectionClosed,
    Content,
    Data,
    Ehlo,
    EndOfData,
    Expn,
    Helo,
    Help,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Reply,
    Rset,
    State,
    Vrfy,
)

from .helpers import (
    GREETING,
    SPLITTERS,
    C,
    S,
    drain,
    exchange,
    feed,
    greeted,
    in_content,
    play,
    ready,
    resource,
    rfc_text,
    summary,
)

# RFC 5321 Appendix D.1 and D.2, server lines exactly as printed there.
D_GREETING = b"220 foo.com Simple Mail Transfer Service Ready\r\n"
D_EHLO = b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n"
D_BYE = b"221 foo.com Service closing transmission channel\r\n"
# The RFC elides the message ("Blah blah blah...", "...etc. etc. etc.").
D_BODY = b"Blah blah blah...\r\n...etc. etc. etc.\r\n"
# On the wire the second line starts with "." and so gets one more (§4.5.2).
D_BODY_WIRE = b"Blah blah blah...\r\n....etc. etc. etc.\r\n"


def test_appendix_d_is_quoted_from_the_rfc() -> None:
    """The scripts below are Appendix D's lines, not our own output."""
    text = rfc_text("5321")
    for line in [
        "S: 220 foo.com Simple Mail Transfer Service Ready",
        "C: EHLO bar.com",
        "S: 250-foo.com greets bar.com",
        "C: MAIL FROM:<Smith@bar.com>",
        "C: RCPT TO:<Green@foo.com>",
        "S: 550 No such user here",
        "S: 354 Start mail input; end with <CRLF>.<CRLF>",
        "C: Blah blah blah...",
        "C: ...etc. etc. etc.",
        "S: 221 foo.com Service closing transmission channel",
    ]:
        assert line in text


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_d1_typical_transaction(split) -> None:
    """RFC 5321 D.1: three recipients, Green refused, the message accepted."""
    conn = Connection()
    events = play(
        conn,
        [
            S(D_GREETING, 220),
            C(Ehlo("bar.com"), wire=b"EHLO bar.com\r\n"),
            S(D_EHLO, 250),
            C(MailFrom("Smith@bar.com"), wire=b"MAIL FROM:<Smith@bar.com>\r\n"),
            S(b"250 OK\r\n", 250),
            C(RcptTo("Jones@foo.com"), wire=b"RCPT TO:<Jones@foo.com>\r\n"),
            S(b"250 OK\r\n", 250),
            C(RcptTo("Green@foo.com"), wire=b"RCPT TO:<Green@foo.com>\r\n"),
            S(b"550 No such user here\r\n", 550),
            C(RcptTo("Brown@foo.com"), wire=b"RCPT TO:<Brown@foo.com>\r\n"),
            S(b"250 OK\r\n", 250),
            C(Data(), wire=b"DATA\r\n"),
            S(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n", 354),
            C(Content(D_BODY), EndOfData(), wire=D_BODY_WIRE + b".\r\n"),
            S(b"250 OK\r\n", 250),
            C(Quit(), wire=b"QUIT\r\n"),
            S(D_BYE, 221),
        ],
        split,
    )
    assert conn.state is State.CLOSED
    greeting, ehlo, *_ = events
    assert greeting.command is None
    assert isinstance(ehlo.command, Ehlo)
    assert conn.capabilities is not None
    assert conn.capabilities.domain == "foo.com"
    assert set(conn.capabilities.keywords) == {"8BITMIME", "SIZE", "DSN", "HELP"}
    rcpts = [(e.recipient, e.code) for e in events if isinstance(e.command, RcptTo)]
    assert rcpts == [("Jones@foo.com", 250), ("Green@foo.com", 550), ("Brown@foo.com", 250)]
    # The server closes after 221: an orderly end, not a lost connection.
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_d2_aborted_transaction(split) -> None:
    """RFC 5321 D.2: RSET after a refused recipient returns to READY."""
    conn = Connection()
    play(
        conn,
        [
            S(D_GREETING, 220),
            C(Ehlo("bar.com"), wire=b"EHLO bar.com\r\n"),
            S(D_EHLO, 250),
            C(MailFrom("Smith@bar.com"), wire=b"MAIL FROM:<Smith@bar.com>\r\n"),
            S(b"250 OK\r\n", 250),
            C(RcptTo("Jones@foo.com"), wire=b"RCPT TO:<Jones@foo.com>\r\n"),
            S(b"250 OK\r\n", 250),
            C(RcptTo("Green@foo.com"), wire=b"RCPT TO:<Green@foo.com>\r\n"),
            S(b"550 No such user here\r\n", 550),
        ],
        split,
    )
    assert conn.accepted == ["Jones@foo.com"]
    play(conn, [C(Rset(), wire=b"RSET\r\n")])
    assert conn.accepted == []  # RSET clears the transaction (§4.1.1.5)
    assert conn.state is State.READY
    play(
        conn,
        [S(b"250 OK\r\n", 250), C(Quit(), wire=b"QUIT\r\n"), S(D_BYE, 221)],
        split,
    )
    assert conn.state is State.CLOSED


# ------------------------------------------------------------ greeting (§3.1)


def test_nothing_before_the_greeting() -> None:
    conn = Connection()
    assert conn.state is State.GREETING
    assert conn.next_event() is NEED_DATA
    assert conn.data_to_send() == b""
    assert conn.capabilities is None


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_greeting_220(split) -> None:
    conn = Connection()
    (reply,) = feed(conn, split(GREETING))
    assert reply == Reply(220, ["mx.example ESMTP ready"], None, "mx.example ESMTP ready")
    assert reply.command is None
    assert conn.state is State.INIT


def test_multiline_greeting() -> None:
    """§4.2: a greeting may have several lines; only the last one ends it."""
    conn = Connection()
    (reply,) = feed(conn, [b"220-mx.example ESMTP\r\n220-no UCE\r\n220 ok\r\n"])
    assert reply.lines == ["mx.example ESMTP", "no UCE", "ok"]
    assert conn.state is State.INIT


def test_greeting_554_refuses_the_session_quit_only() -> None:
    """§3.1: a 554 greeting; the server "MUST still wait for the client to send a QUIT"."""
    conn = greeted(greeting=b"554 5.3.2 no SMTP service here\r\n")
    assert conn.state is State.REFUSED
    with pytest.raises(LocalProtocolError):
        conn.send(Ehlo("client.example"))
    conn = greeted(greeting=b"554 5.3.2 no SMTP service here\r\n")
    (bye,) = exchange(conn, Quit(), b"221 bye\r\n")
    assert isinstance(bye.command, Quit)
    assert conn.state is State.CLOSED


def test_greeting_421_closes() -> None:
    """§3.8 / §4.2.3: 421 "Service not available, closing transmission channel"."""
    conn = greeted(greeting=b"421 4.3.2 mx.example busy\r\n")
    assert conn.state is State.CLOSED
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]


def test_mailkit_greeting_not_ready() -> None:
    """MailKit's `221 ESMTP server not ready` greeting is neither 220 nor 554 (§3.1)."""
    conn = Connection()
    conn.receive_data(resource("greeting-not-ready.txt"))
    with pytest.raises(RemoteProtocolError, match="not an SMTP greeting"):
        conn.next_event()
    assert conn.state is State.ERROR


@pytest.mark.parametrize(
    "greeting", [b"500 5.5.1 what\r\n", b"250 hello\r\n", b"354 go\r\n", b"450 later\r\n"]
)
def test_any_other_greeting_is_a_protocol_error(greeting: bytes) -> None:
    """§4.3.2: connection establishment is 220, else 554. S8: an odd greeting is a
    ProtocolError and never leads to EHLO, AUTH or MAIL being sent."""
    for command in (Ehlo("c.example"), Helo("c.example"), MailFrom("a@example.org")):
        conn = Connection()
        conn.receive_data(greeting)
        with pytest.raises(RemoteProtocolError):
            conn.next_event()
        with pytest.raises(ProtocolError):
            conn.send(command)
        assert conn.data_to_send() == b""


@pytest.mark.parametrize("data", [b"", b"22", b"220 partial line"])
def test_closed_before_the_greeting(data: bytes) -> None:
    conn = Connection()
    conn.receive_data(data)
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost, match="greeting"):
        conn.next_event()
    assert conn.state is State.CLOSED
    with pytest.raises(ConnectionLost):  # for good
        conn.next_event()


@pytest.mark.parametrize("greeting", [b"hello\r\n", b"22O ok\r\n", b"\r\n", b"220_ok\r\n"])
def test_garbage_greeting(greeting: bytes) -> None:
    """S8: an invalid greeting is a protocol error, not a session."""
    conn = Connection()
    conn.receive_data(greeting)
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    assert conn.state is State.ERROR


# ---------------------------------------------------- hello (§4.1.1.1, §3.2)


def test_ehlo_refused_then_helo() -> None:
    """§3.2: EHLO refused with 500/502/504; "the SMTP client MUST be able to ... HELO"."""
    conn = greeted()
    (reply,) = exchange(conn, Ehlo("client.example"), resource("ehlo-failed.txt"))
    assert reply.code == 504
    assert conn.state is State.INIT
    assert conn.capabilities is None
    (reply,) = exchange(conn, Helo("client.example"), resource("helo.txt"))
    assert conn.state is State.READY
    assert conn.capabilities is not None
    assert not conn.capabilities.esmtp
    assert conn.capabilities.domain == "omta06.westchester.pa.mail.comcast.net"
    assert dict(conn.capabilities.keywords) == {}


def test_helo_refused_stays_in_init() -> None:
    conn = greeted()
    exchange(conn, Ehlo("client.example"), b"502 no\r\n")
    exchange(conn, Helo("client.example"), b"504 no either\r\n")
    assert conn.state is State.INIT
    with pytest.raises(LocalProtocolError):  # §4.1.4: no mail without a hello
        conn.send(MailFrom("a@example.org"))


def test_second_ehlo_replaces_capabilities() -> None:
    """§4.1.4: EHLO may be sent again later; the new reply is what counts."""
    conn = ready()
    exchange(conn, Ehlo("client.example"), b"250-mx.example\r\n250 SIZE 10\r\n")
    assert conn.capabilities is not None
    assert set(conn.capabilities.keywords) == {"SIZE"}
    assert conn.state is State.READY


# ------------------------------------------------------ pairing and replies


def test_reply_carries_the_command_it_answers() -> None:
    conn = ready()
    noop, vrfy = Noop(), Vrfy("Smith")
    conn.send(noop)
    conn.send(vrfy)
    assert conn.pending == (noop, vrfy)
    assert conn.data_to_send() == b"NOOP\r\nVRFY Smith\r\n"
    conn.receive_data(resource("comcast-noop.txt") + resource("rfc0821-vrfy.txt"))
    first, second = drain(conn)
    assert first.command is noop
    assert second.command is vrfy
    assert second.lines == ["Fred Smith <Smith@USC-ISIF.ARPA>"]
    assert conn.pending == ()


def test_expn_multiline_reply() -> None:
    """RFC 821's EXPN example as MailKit recorded it: one reply, six lines."""
    conn = ready()
    (reply,) = exchange(conn, Expn("Example-People"), resource("rfc0821-expn.txt"))
    assert reply.code == 250
    assert len(reply.lines) == 6
    assert reply.lines[-1] == "<xyz@bar-unix.ARPA>"


def test_help_with_and_without_argument() -> None:
    conn = ready()
    conn.send(Help())
    conn.send(Help("MAIL"))
    assert conn.data_to_send() == b"HELP\r\nHELP MAIL\r\n"


def test_enhanced_status_code_from_the_corpus() -> None:
    """RFC 2034 §4: the enhanced code leads the text and is taken off ``.text``."""
    conn = ready()
    (reply,) = exchange(conn, MailFrom("a@example.org"), resource("auth-required.txt"))
    assert (reply.code, reply.enhanced, reply.text) == (530, (5, 7, 0), "Authentication required")
    assert reply.is_permanent
    assert conn.state is State.READY  # §4.1.1.2: a refused MAIL opens no transaction


def test_reply_with_no_command_waiting() -> None:
    """ARCHITECTURE: a reply with no pending command is a RemoteProtocolError."""
    conn = ready()
    conn.receive_data(b"250 surprise\r\n")
    with pytest.raises(RemoteProtocolError, match="no command waiting"):
        conn.next_event()
    assert conn.state is State.ERROR
    with pytest.raises(RemoteProtocolError):
        conn.send(Noop())
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    assert conn.data_to_send() == b""


def test_unsolicited_421_closes() -> None:
    """§3.8: the server may send 421 at any time, then close."""
    conn = ready()
    (reply,) = feed(conn, [b"421 4.4.2 mx.example timeout\r\n"])
    assert reply.code == 421
    assert reply.command is None
    assert conn.state is State.CLOSED
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]


def test_421_in_answer_to_a_command() -> None:
    conn = ready()
    (reply,) = exchange(conn, MailFrom("a@example.org"), b"421 4.3.2 shutting down\r\n")
    assert isinstance(reply.command, MailFrom)
    assert conn.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        conn.send(Rset())


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        (MailFrom("a@example.org"), b"354 go on\r\n"),
        (Noop(), b"334 \r\n"),
        (Rset(), b"354 x\r\n"),
        (Ehlo("client.example"), b"334 x\r\n"),
    ],
)
def test_intermediate_reply_to_a_command_that_has_none(command, reply: bytes) -> None:
    """§4.2.1 / §4.3.2: 3yz only answers DATA (354) and AUTH (334)."""
    conn = ready()
    conn.send(command)
    conn.receive_data(reply)
    with pytest.raises(RemoteProtocolError, match="intermediate"):
        conn.next_event()
    assert conn.state is State.ERROR


def test_data_refused_keeps_the_transaction_open() -> None:
    """§3.3: a refused DATA does not end a transaction whose MAIL was accepted: RSET ends it."""
    conn = ready()
    exchange(conn, [MailFrom("a@example.org"), RcptTo("b@example.org")], b"250 ok\r\n550 no\r\n")
    (reply,) = exchange(conn, Data(), b"554 5.5.1 no valid recipients\r\n")
    assert reply.code == 554
    assert conn.state is State.RCPT
    exchange(conn, Rset(), b"250 ok\r\n")
    assert conn.state is State.READY


def test_data_refused_after_a_refused_mail_returns_to_ready() -> None:
    """MAIL refused: there is no transaction, so the DATA refusal leaves READY."""
    conn = ready()
    events = exchange(
        conn,
        [MailFrom("a@example.org"), RcptTo("b@example.org"), Data()],
        b"550 5.1.8 bad sender\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no RCPT\r\n",
    )
    assert [e.code for e in events] == [550, 503, 503]
    assert conn.state is State.READY


def test_data_answered_with_334_is_a_protocol_error() -> None:
    conn = ready()
    exchange(conn, [MailFrom("a@example.org"), RcptTo("b@example.org")], b"250 ok\r\n250 ok\r\n")
    conn.send(Data())
    conn.receive_data(b"334 what\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_end_of_data_reply_ends_the_transaction() -> None:
    conn = in_content()
    conn.send(Content(b"Subject: hi\r\n\r\nbody\r\n"))
    conn.send(EndOfData())
    assert conn.state is State.END_OF_DATA
    assert conn.data_to_send() == b"Subject: hi\r\n\r\nbody\r\n.\r\n"
    (reply,) = feed(conn, [resource("comcast-data-done.txt")])
    assert isinstance(reply.command, EndOfData)
    assert reply.enhanced == (2, 0, 0)
    assert conn.state is State.READY
    assert conn.accepted == []


# ---------------------------------------------------- trailing data (STYLE.md)


def test_trailing_data_stays_buffered_for_the_next_reply() -> None:
    """A reply followed by the start of the next one: one event, the rest kept."""
    conn = ready()
    conn.send(Noop())
    conn.send(Noop())
    conn.data_to_send()
    conn.receive_data(b"250 2.0.0 first\r\n250-second")
    (first,) = drain(conn)
    assert first.text == "first"
    assert conn.buffered == len(b"250-second")
    assert len(conn.pending) == 1
    conn.receive_data(b" part\r\n250 end\r\n")
    (second,) = drain(conn)
    assert second.lines == ["second part", "end"]
    assert conn.buffered == 0


def test_bare_lf_replies_are_tolerated() -> None:
    """Servers in the wild end lines with LF alone; the reader accepts it."""
    conn = Connection()
    feed(conn, [b"220 mx\n"])
    (reply,) = exchange(conn, Ehlo("c.example"), b"250-mx\n250 PIPELINING\n")
    assert reply.raw == b"250-mx\n250 PIPELINING\n"
    assert conn.capabilities is not None
    assert conn.capabilities.pipelining


def test_receive_data_only_buffers() -> None:
    """ARCHITECTURE: receive_data never parses, so garbage fails only at next_event."""
    conn = ready()
    conn.receive_data(b"\x00\xff garbage\r\n")
    assert conn.state is State.READY
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


# ------------------------------------------------------------ closing


def test_quit_then_close() -> None:
    """§4.1.1.10: QUIT, 221, then the server closes."""
    conn = ready()
    (reply,) = exchange(conn, Quit(), resource("comcast-quit.txt"))
    assert reply.code == 221
    assert conn.state is State.CLOSED
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]
    with pytest.raises(LocalProtocolError):
        conn.send(Noop())


def test_close_with_a_reply_due_is_connection_lost() -> None:
    conn = ready()
    conn.send(Noop())
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost, match="NOOP"):
        conn.next_event()
    assert conn.state is State.CLOSED
    with pytest.raises(ConnectionLost):
        conn.send(Noop())


def test_close_in_the_middle_of_a_reply_is_connection_lost() -> None:
    conn = ready()
    conn.send(Ehlo("c.example"))
    conn.receive_data(b"250-mx.example\r\n250-PIPE")
    assert drain(conn) == []
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost):
        conn.next_event()


def test_close_while_idle_is_an_orderly_close() -> None:
    conn = ready()
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]
    assert conn.state is State.CLOSED


def test_close_after_end_of_data_before_its_reply() -> None:
    """The outcome-unknown case: the core says ConnectionLost naming the end of data."""
    conn = in_content()
    conn.send(Content(b"x\r\n"))
    conn.send(EndOfData())
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost, match="end of data"):
        conn.next_event()


def test_data_after_end_of_stream_is_refused() -> None:
    conn = ready()
    conn.receive_data(b"")
    with pytest.raises(ValueError, match="after end of stream"):
        conn.receive_data(b"250 late\r\n")


# ------------------------------------------------------------ limits (S22, S23)


def test_endless_reply_line() -> None:
    """S22: a line past max_reply_line_length; the driver is told to read at most limit+1."""
    conn = Connection()
    conn.receive_data(b"220 " + b"x" * 100)
    assert conn.next_event() is NEED_DATA
    assert conn.receive_size() == Limits().max_reply_line_length + 1 - 104
    conn.receive_data(b"x" * 9000)
    with pytest.raises(LineTooLong):
        conn.next_event()
    assert conn.state is State.ERROR
    with pytest.raises(LineTooLong):
        conn.next_event()


def test_endless_multiline_reply() -> None:
    """S23: `250-x` forever stops at the line cap, also through the connection."""
    conn = ready()
    conn.send(Ehlo("c.example"))
    with pytest.raises(TooManyResponses):
        for _ in range(200):
            conn.receive_data(b"250-x\r\n")
            assert conn.next_event() is NEED_DATA
    assert conn.state is State.ERROR


def test_custom_limits_are_used() -> None:
    limits = Limits(max_reply_line_length=64, max_reply_lines=3)
    conn = Connection(limits=limits)
    conn.receive_data(b"220-a\r\n220-b\r\n220-c\r\n220 d\r\n")
    with pytest.raises(TooManyResponses):
        conn.next_event()
    conn = Connection(limits=limits)
    conn.receive_data(b"220 " + b"y" * 64 + b"\r\n")
    with pytest.raises(LineTooLong):
        conn.next_event()


# ------------------------------------------------------------ caller mistakes


def test_value_error_leaves_the_session_usable() -> None:
    """ARCHITECTURE §3: bad caller input raises ValueError and sends nothing."""
    conn = in_content()
    conn.send(Content(b"first line\r\n"))
    with pytest.raises(ValueError, match="bare"):
        conn.send(Content(b"bare\nLF\r\n"))
    assert conn.state is State.CONTENT
    assert conn.error is None
    conn.send(EndOfData())
    assert conn.data_to_send() == b"first line\r\n.\r\n"


def test_not_a_command() -> None:
    conn = ready()
    with pytest.raises(TypeError):
        conn.send("NOOP\r\n")  # type: ignore[arg-type]
    assert conn.state is State.READY


def test_local_protocol_error_poisons() -> None:
    """ARCHITECTURE: after any protocol error the core is in ERROR for good."""
    conn = ready()
    with pytest.raises(LocalProtocolError, match="RCPT TO"):
        conn.send(RcptTo("b@example.org"))
    assert conn.state is State.ERROR
    assert isinstance(conn.error, LocalProtocolError)
    assert conn.data_to_send() == b""
    for action in (lambda: conn.send(Noop()), conn.next_event):
        with pytest.raises(LocalProtocolError, match="unusable"):
            action()


def test_repr_names_the_state() -> None:
    conn = ready()
    conn.send(Noop())
    assert repr(conn) == "<smtp.Connection SMTP READY pending=1>"
    assert "LMTP" in repr(Connection(lmtp=True))


def test_pending_and_state_after_content() -> None:
    conn = in_content()
    assert conn.pending == ()
    conn.send(Content(b"a\r\n"))
    assert conn.pending == ()  # content gets no reply of its own
    conn.send(EndOfData())
    assert len(conn.pending) == 1


def test_greeting_reply_value() -> None:
    conn = Connection()
    conn.receive_data(resource("comcast-greeting.txt"))
    reply = conn.next_event()
    assert summary(reply) == (220, ("ESMTP server ready",), None, None, None)
