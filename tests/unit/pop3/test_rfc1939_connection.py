"""The POP3 core over whole sessions: pairing, states, bodies, hostile input.

Sessions are RFC 1939's own examples (§10 and the command sections) and
MailKit's recorded replies; each is fed whole, one byte at a time and split
in two at every offset, and must give the same events.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire import (
    ConnectionLost,
    LimitExceeded,
    Limits,
    LineTooLong,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SecurityError,
    TooManyResponses,
)
from mailwire.pop3 import (
    Apop,
    Auth,
    AuthResponse,
    Capa,
    Capabilities,
    Connection,
    ConnectionClosed,
    Continuation,
    Dele,
    DropListing,
    End,
    Err,
    Greeting,
    Lang,
    LanguageListing,
    List,
    Noop,
    Ok,
    Pass,
    Quit,
    Retr,
    Rset,
    ScanListing,
    Stat,
    State,
    Stls,
    Top,
    Uidl,
    UniqueIdListing,
    User,
    Utf8,
)
from tests.unit.pop3.helpers import (
    GREETING,
    SPLITTERS,
    cut,
    drain,
    exchange,
    feed,
    greeted,
    merged,
    multiline,
    resource,
    rfc_text,
    transaction,
)

MESSAGE_1 = b"Subject: one\r\n\r\n.a dotted line\r\n..two dots\r\n.\r\nend\r\n"
MESSAGE_2 = b"Subject: two\r\n\r\nplain\r\n"

# RFC 1939 §10, with the two messages filled in.
SESSION_CLIENT = (
    b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"
    b"STAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n"
)
SESSION_ANSWERS = [
    b"+OK mrose's maildrop has 2 messages (320 octets)\r\n",
    b"+OK 2 320\r\n",
    b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
    multiline(MESSAGE_1, b"+OK 120 octets"),
    b"+OK message 1 deleted\r\n",
    multiline(MESSAGE_2, b"+OK 200 octets"),
    b"+OK message 2 deleted\r\n",
    b"+OK dewey POP3 server signing off (maildrop empty)\r\n",
]
SESSION_COMMANDS = [
    Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb"),
    Stat(),
    List(),
    Retr(1),
    Dele(1),
    Retr(2),
    Dele(2),
    Quit(),
]


def session_events(pieces_of: str) -> tuple[Connection, list[object]]:
    conn = Connection()
    split = SPLITTERS[pieces_of]
    events = feed(conn, split(GREETING))
    for command, answer in zip(SESSION_COMMANDS, SESSION_ANSWERS, strict=True):
        conn.send(command)
        events += feed(conn, split(answer))
    return conn, merged(events)


@pytest.mark.parametrize("how", sorted(SPLITTERS))
def test_rfc1939_example_session(how: str) -> None:
    text = rfc_text("1939")
    for line in (b"APOP mrose c4c9334bac560ecc979e58001b3e22fb", b"S:    +OK 2 320"):
        assert line.decode().removeprefix("S:    ") in text
    conn, events = session_events(how)
    assert events == [
        Greeting(
            "POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
            "<1896.697170952@dbc.mtview.ca.us>",
        ),
        Ok("mrose's maildrop has 2 messages (320 octets)"),
        DropListing(2, 320),
        Ok("2 messages (320 octets)"),
        ScanListing(1, 120),
        ScanListing(2, 200),
        End(List(), 2),
        Ok("120 octets"),
        MESSAGE_1,
        End(Retr(1), len(MESSAGE_1)),
        Ok("message 1 deleted"),
        Ok("200 octets"),
        MESSAGE_2,
        End(Retr(2), len(MESSAGE_2)),
        Ok("message 2 deleted"),
        Ok("dewey POP3 server signing off (maildrop empty)"),
    ]
    assert conn.state is State.CLOSED
    assert conn.deleted == {1, 2}
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), ConnectionClosed)


def test_client_bytes_of_the_example_session() -> None:
    conn = Connection()
    feed(conn, [GREETING])
    sent = b""
    for command, answer in zip(SESSION_COMMANDS, SESSION_ANSWERS, strict=True):
        conn.send(command)
        sent += conn.data_to_send()
        feed(conn, [answer])
    assert sent == SESSION_CLIENT


def test_every_split_of_a_pipelined_session_gives_the_same_events() -> None:
    # RFC 2449 §6.6: commands sent together, answers paired in order.
    server = b"".join(SESSION_ANSWERS[1:7])
    commands = SESSION_COMMANDS[1:7]

    def run(pieces: list[bytes]) -> list[object]:
        conn = Connection()
        feed(conn, [GREETING])
        exchange(conn, SESSION_COMMANDS[0], SESSION_ANSWERS[0])
        for command in commands:
            conn.send(command)
        assert conn.data_to_send() == b"STAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\n"
        events = merged(feed(conn, pieces))
        assert conn.pending == ()
        return events

    expected = run([server])
    assert run(SPLITTERS["bytewise"](server)) == expected
    for position in range(0, len(server) + 1, 7):
        assert run(cut(server, [position, position + 3])) == expected
    # Each answer carries the command it answers.
    conn = transaction()
    for command in commands:
        conn.send(command)
    answered = [e.command for e in feed(conn, [server]) if isinstance(e, Ok | End)]
    assert answered[0] == List()
    assert Retr(1) in answered
    assert answered[-1] == Dele(2)


# ---------------------------------------------------------------- RFC examples


def test_listing_examples() -> None:
    conn = transaction()
    assert exchange(conn, List(2), b"+OK 2 200\r\n") == [ScanListing(2, 200)]
    (err,) = exchange(conn, List(3), b"-ERR no such message, only 2 messages in maildrop\r\n")
    assert isinstance(err, Err)
    assert err.text == "no such message, only 2 messages in maildrop"
    assert err.error().command == "LIST"
    uidl = b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
    assert exchange(conn, Uidl(), uidl) == [
        Ok(),
        UniqueIdListing(1, "whqtswO00WBw418f9t5JxYwZ"),
        UniqueIdListing(2, "QhdPYR:00WBw1Ph7x7"),
        End(Uidl(), 2),
    ]
    assert exchange(conn, Uidl(2), b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n") == [
        UniqueIdListing(2, "QhdPYR:00WBw1Ph7x7")
    ]
    assert isinstance(exchange(conn, Top(100, 3), b"-ERR no such message\r\n")[0], Err)
    assert conn.state is State.TRANSACTION  # refusals change nothing


def test_user_pass_examples_and_states() -> None:
    # RFC 1939 §7: USER refused, USER accepted, PASS refused, then accepted.
    conn = greeted()
    (err,) = exchange(conn, User("frated"), b"-ERR sorry, no mailbox for frated here\r\n")
    assert isinstance(err, Err)
    assert conn.state is State.AUTHORIZATION
    exchange(conn, User("mrose"), b"+OK mrose is a real hoopy frood\r\n")
    assert conn.state is State.USER
    exchange(conn, Pass("secret"), b"-ERR maildrop already locked\r\n")
    assert conn.state is State.AUTHORIZATION
    assert not conn.authenticated
    exchange(conn, User("mrose"), b"+OK mrose is a real hoopy frood\r\n")
    exchange(conn, Pass("secret"), b"+OK mrose's maildrop has 2 messages (320 octets)\r\n")
    assert conn.state is State.TRANSACTION
    assert conn.authenticated


def test_response_codes_on_events() -> None:
    conn = greeted()
    exchange(conn, User("mrose"), b"+OK\r\n")
    (err,) = exchange(
        conn, Pass("x"), b"-ERR [IN-USE] Do you have another POP session running?\r\n"
    )
    assert isinstance(err, Err)
    assert (err.code, err.text) == ("IN-USE", "Do you have another POP session running?")
    error = err.error()
    assert (error.code, error.command) == ("IN-USE", "PASS")
    assert "[IN-USE]" in str(error)


def test_rset_and_dele_tracking() -> None:
    conn = transaction()
    exchange(conn, Dele(1), b"+OK message 1 deleted\r\n")
    exchange(conn, Dele(2), b"-ERR message 2 already deleted\r\n")
    assert conn.deleted == {1}
    exchange(conn, Rset(), b"+OK maildrop has 2 messages (320 octets)\r\n")
    assert conn.deleted == set()


def test_top_and_retr_bodies_with_bare_lf() -> None:
    conn = transaction()
    events = merged(exchange(conn, Top(1, 0), b"+OK\nSubject: x\n..dot\n\n.\n"))
    body = b"Subject: x\n.dot\n\n"
    assert events == [Ok(), body, End(Top(1, 0), len(body))]


def test_lang_listing_example() -> None:
    # RFC 6856 §3.3.
    conn = greeted()
    listing = (
        b"+OK Language listing follows:\r\nen English\r\nen-boont English Boontling dialect\r\n"
        b"de Deutsch\r\nit Italiano\r\nes Espanol\r\nsv Svenska\r\n.\r\n"
    )
    events = exchange(conn, Lang(), listing)
    tags = [(e.tag, e.description) for e in events if isinstance(e, LanguageListing)]
    assert tags[:2] == [("en", "English"), ("en-boont", "English Boontling dialect")]
    assert len(tags) == 6
    exchange(conn, Lang("es"), b"+OK es Idioma cambiado\r\n")
    assert conn.language == "es"


def test_capa_example() -> None:
    # RFC 2449 §5.
    text = rfc_text("2449")
    lines = ["+OK Capability list follows", "TOP", "USER", "SASL CRAM-MD5 KERBEROS_V4"]
    lines += ["RESP-CODES", "LOGIN-DELAY 900", "PIPELINING", "EXPIRE 60", "UIDL"]
    lines += ["IMPLEMENTATION Shlemazle-Plotz-v302", "."]
    assert all(f"S: {line}" in text for line in lines)
    conn = greeted()
    (caps,) = exchange(conn, Capa(), "".join(f"{line}\r\n" for line in lines).encode())
    assert isinstance(caps, Capabilities)
    assert conn.capabilities is caps
    assert caps.sasl == ("CRAM-MD5", "KERBEROS_V4")
    assert caps.login_delay is not None
    assert caps.login_delay.seconds == 900
    assert caps.expire is not None
    assert caps.expire.days == 60
    assert caps.implementation == "Shlemazle-Plotz-v302"
    assert all((caps.top, caps.user, caps.resp_codes, caps.pipelining, caps.uidl))
    assert not any((caps.stls, caps.utf8, caps.utf8_user, caps.lang))


def test_capa_refused() -> None:
    conn = greeted()
    (err,) = exchange(conn, Capa(), b"-ERR\r\n")
    assert isinstance(err, Err)
    assert conn.capabilities is not None
    assert not conn.capabilities.supported


def test_greeting_refused() -> None:
    conn = Connection()
    (err,) = feed(conn, [resource("common/err-greeting.txt")])
    assert isinstance(err, Err)
    assert err.command is None
    assert conn.state is State.REFUSED
    conn.send(Quit())  # the only thing left to do
    assert conn.data_to_send() == b"QUIT\r\n"


def test_bare_ok_greeting() -> None:
    conn = Connection()
    (greeting,) = feed(conn, [resource("common/ok-greeting.txt")])
    assert greeting == Greeting("", None)


# ---------------------------------------------------------------- SASL


def test_auth_exchange_states() -> None:
    conn = greeted()
    events = exchange(conn, Auth("LOGIN"), resource("exchange/plus.txt"))
    assert events == [Continuation("")]
    assert conn.state is State.AUTH
    assert exchange(conn, AuthResponse(b"username"), b"+ UGFzc3dvcmQ6\r\n") == [
        Continuation("UGFzc3dvcmQ6")
    ]
    exchange(conn, AuthResponse(b"password"), resource("exchange/auth.txt"))
    assert conn.state is State.TRANSACTION


def test_unsolicited_continuation_is_refused() -> None:
    # security.md S26: a "+ " when no AUTH is under way.
    conn = transaction()
    conn.send(Noop())
    conn.receive_data(b"+ \r\n")
    with pytest.raises(RemoteProtocolError, match="continuation"):
        conn.next_event()
    assert conn.state is State.ERROR
    with pytest.raises(RemoteProtocolError):
        conn.send(Noop())  # poisoned for good


# ---------------------------------------------------------------- STLS (S1, S3)


def test_stls_go_ahead_then_handshake() -> None:
    conn = greeted()
    exchange(conn, Capa(), b"+OK\r\nSTLS\r\nUSER\r\n.\r\n")
    assert exchange(conn, Stls(), b"+OK Begin TLS negotiation\r\n") == [Ok("Begin TLS negotiation")]
    assert conn.state is State.TLS_HANDSHAKE
    assert conn.capabilities is None  # RFC 2595 §4: forgotten
    with pytest.raises(LocalProtocolError):
        Connection().tls_established()
    conn.tls_established()
    assert conn.state is State.AUTHORIZATION
    assert conn.tls_active
    with pytest.raises(LocalProtocolError, match="already on"):
        conn.send(Stls())


def test_stls_injection_is_refused() -> None:
    conn = greeted()
    conn.send(Stls())
    conn.data_to_send()
    conn.receive_data(b"+OK begin\r\n+OK injected\r\n")
    with pytest.raises(SecurityError, match="injection"):
        conn.next_event()
    assert conn.state is State.ERROR


def test_no_stls_after_utf8() -> None:
    # RFC 6856 §2.1: "Clients MUST NOT issue the "STLS" command after issuing UTF8".
    conn = greeted()
    exchange(conn, Utf8(), b"+OK\r\n")
    assert conn.utf8
    with pytest.raises(LocalProtocolError, match="6856"):
        conn.send(Stls())


# ---------------------------------------------------------------- malformed listings


@pytest.mark.parametrize(
    ("command", "count", "name", "offending"),
    [
        (Stat(), 7, "comcast/stat-error1.txt", b"+OK 7"),
        (Stat(), 7, "comcast/stat-error2.txt", b"seven"),
        (Stat(), 7, "comcast/stat-error3.txt", b"#octets"),
        (List(), 7, "comcast/list-error1.txt", b"7\\r\\n"),
        (List(), 7, "comcast/list-error2.txt", b"8 8192"),
        (List(), 7, "comcast/list-error3.txt", b"ten-twenty-four"),
        (List(1), 7, "comcast/list1-error1.txt", b"+OK 1"),
        (List(1), 7, "comcast/list1-error2.txt", b"99 1024"),
        (List(1), 7, "comcast/list1-error3.txt", b"ten-twenty-four"),
        (Uidl(), 3, "gmail/uidl-error1.txt", b"3\\r\\n"),
        (Uidl(), 3, "gmail/uidl-error2.txt", b"4 103"),
        (Uidl(1), 3, "gmail/uidl1-error1.txt", b"+OK 1"),
        (Uidl(1), 3, "gmail/uidl1-error2.txt", b"99 101"),
    ],
)
def test_malformed_listings_quote_the_line(
    command: object, count: int, name: str, offending: bytes
) -> None:
    conn = transaction(count=count)
    conn.send(command)  # type: ignore[arg-type]
    conn.receive_data(resource(name))
    with pytest.raises(RemoteProtocolError) as info:
        drain(conn)
    assert offending.decode() in str(info.value)
    assert conn.state is State.ERROR


def test_listing_order_and_deleted_messages() -> None:
    conn = transaction(count=2)
    conn.send(List())
    conn.receive_data(b"+OK\r\n2 200\r\n1 120\r\n.\r\n")
    with pytest.raises(RemoteProtocolError, match="after message 2"):
        drain(conn)
    conn = transaction(count=3)
    exchange(conn, Dele(2), b"+OK\r\n")
    conn.send(Uidl())
    conn.receive_data(b"+OK\r\n1 a\r\n2 b\r\n.\r\n")
    with pytest.raises(RemoteProtocolError, match="marked deleted"):
        drain(conn)


def test_listing_bound_follows_deletions() -> None:
    # STAT after DELE counts the undeleted messages only (RFC 1939 §5): the
    # highest number is that count plus the deleted ones.
    conn = transaction(count=3)
    exchange(conn, Dele(1), b"+OK\r\n")
    exchange(conn, Stat(), b"+OK 2 200\r\n")
    events = exchange(conn, List(), b"+OK\r\n2 100\r\n3 100\r\n.\r\n")
    assert [e.message for e in events if isinstance(e, ScanListing)] == [2, 3]


# ---------------------------------------------------------------- ends and limits


def test_close_in_the_middle_of_a_message() -> None:
    conn = transaction()
    conn.send(Retr(1))
    conn.receive_data(b"+OK\r\nSubject: x\r\n\r\nbody")
    drain(conn)
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost, match="RETR"):
        conn.next_event()
    assert conn.state is State.CLOSED


def test_close_before_the_greeting() -> None:
    conn = Connection()
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost, match="greeting"):
        conn.next_event()


def test_answer_without_a_command() -> None:
    conn = transaction()
    conn.receive_data(b"+OK surprise\r\n")
    with pytest.raises(RemoteProtocolError, match="no command"):
        conn.next_event()


def test_garbage_status_line() -> None:
    conn = greeted()
    conn.send(Capa())
    conn.receive_data(b"* OK this is IMAP\r\n")
    with pytest.raises(RemoteProtocolError, match="status line"):
        conn.next_event()


def test_endless_capa_is_cut_off() -> None:
    # security.md S23: CAPA never terminated.
    conn = greeted()
    conn.send(Capa())
    conn.receive_data(b"+OK\r\n" + b"X-CAP\r\n" * 101)
    with pytest.raises(TooManyResponses):
        drain(conn)


def test_overlong_status_line() -> None:
    # security.md S22: bounded by Limits.max_line_length.
    conn = Connection(limits=Limits(max_line_length=1024))
    conn.receive_data(b"+OK " + b"x" * 2000)
    with pytest.raises(LineTooLong):
        conn.next_event()


def test_long_body_lines_stream() -> None:
    # A message line far longer than the line limit is not an error: bodies
    # are not split into lines.
    conn = Connection(limits=Limits(max_line_length=1024))
    feed(conn, [GREETING])
    conn.state = State.TRANSACTION  # a shortcut: the body reader is what is tested
    conn.send(Retr(1))
    message = b"x" * 50_000 + b"\r\n"
    events = merged(feed(conn, [b"+OK\r\n", message, b".\r\n"]))
    assert events[1] == message


# ---------------------------------------------------------------- any bytes


ALL_COMMANDS = [
    Stat(),
    List(),
    List(1),
    Retr(1),
    Top(1, 2),
    Uidl(),
    Uidl(2),
    Dele(1),
    Noop(),
    Rset(),
    Capa(),
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(ALL_COMMANDS), min_size=1, max_size=4),
    st.booleans(),
    st.binary(max_size=300),
    st.lists(st.integers(0, 300), max_size=5),
)
def test_any_bytes_give_events_or_a_protocol_error(
    commands: list[object], quit_last: bool, data: bytes, cuts: list[int]
) -> None:
    conn = transaction(count=5)
    conn.limits = Limits(max_line_length=128, max_reply_lines=5, max_reply_bytes=300)
    for command in [*commands, *([Quit()] if quit_last else [])]:
        conn.send(command)  # type: ignore[arg-type]
    try:
        feed(conn, cut(data, cuts))
        conn.receive_data(b"")
        drain(conn)
    except (ProtocolError, LimitExceeded, ConnectionLost):
        pass  # the only exception families allowed


_ANSWERS = st.sampled_from(
    [
        (Noop(), b"+OK\r\n"),
        (Dele(1), b"-ERR [SYS/TEMP] busy\r\n"),
        (Stat(), b"+OK 3 300\r\n"),
        (List(), b"+OK\r\n1 100\r\n3 200\r\n.\r\n"),
        (Uidl(2), b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n"),
        (Retr(2), multiline(b".\r\n..\r\nx.\r\n\r\n")),
        (Top(3, 1), multiline(b"A: b\r\n\r\n.line\r\n")),
        (Retr(1), b"-ERR no such message\r\n"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ANSWERS, min_size=1, max_size=6), st.data())
def test_any_split_gives_the_same_events(
    pairs: list[tuple[object, bytes]], data: st.DataObject
) -> None:
    wire = b"".join(answer for _, answer in pairs)

    def run(pieces: list[bytes]) -> list[object]:
        conn = transaction(count=3)
        for command, _ in pairs:
            conn.send(command)  # type: ignore[arg-type]
        events = merged(feed(conn, pieces))
        assert conn.pending == ()
        return events

    expected = run([wire])
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=8))
    assert run(cut(wire, cuts)) == expected
