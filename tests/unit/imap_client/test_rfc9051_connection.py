"""The sans-I/O IMAP core: tags, the in-flight table, continuations, routing, states.

Server bytes are the RFC 9051 §8 sample session and the examples of the
sections cited; the client bytes expected are written from the grammar.
"""

from __future__ import annotations

import pytest

from mailwire import (
    ConnectionLost,
    LocalProtocolError,
    RemoteProtocolError,
    SecurityError,
)
from mailwire.imap._append import AppendPart, StreamedAppend
from mailwire.imap._state import COMPLETION_TABLE, SEND_TABLE, State
from mailwire.imap.commands import (
    Append,
    Authenticate,
    Capability,
    Close,
    Copy,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Idle,
    Login,
    Logout,
    Move,
    Noop,
    Search,
    Select,
    StartTLS,
    Store,
)
from mailwire.imap.connection import Connection, ConnectionClosed
from mailwire.imap.events import (
    Continuation,
    Enabled,
    Exists,
    ExpungeData,
    FetchData,
    Flags,
    ListData,
    SearchData,
    StatusResponse,
    Tagged,
    Vanished,
)
from tests.unit.imap_client.helpers import events, greeted, logged_in, selected

SAMPLE_GREETING = (
    b"* OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2] "
    b"IMAP4rev2 Service Ready\r\n"
)


def test_rfc9051_sample_session() -> None:
    """RFC 9051 §8, with our tags; the server's lines as printed there."""
    conn = Connection()
    (greeting,) = events(conn, SAMPLE_GREETING)
    assert isinstance(greeting, StatusResponse)
    assert conn.state is State.NOT_AUTHENTICATED
    assert conn.capabilities is not None
    assert conn.capabilities.login_disabled
    assert conn.capabilities.auth == ("SCRAM-SHA-256",)
    tag = conn.send(StartTLS())
    assert conn.data_to_send() == b"A1 STARTTLS\r\n"
    (done,) = events(conn, b"A1 OK Proceed with TLS negotiation\r\n")
    assert isinstance(done, Tagged)
    assert tag == "A1"
    assert conn.state is State.TLS_HANDSHAKE
    assert conn.capabilities is None  # forgotten until asked again (S3)
    conn.tls_established()
    assert conn.state is State.NOT_AUTHENTICATED
    tag = conn.send(Authenticate("SCRAM-SHA-256", b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
    assert conn.data_to_send() == (
        b"A2 AUTHENTICATE SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n"
    )
    challenge = (
        b"+ cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE"
        b"5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=\r\n"
    )
    (plus,) = events(conn, challenge)
    assert isinstance(plus, Continuation)
    assert conn.last_tag == "A2"
    conn.send_continuation(b"Yz1iaXdz", secret=True)
    send = conn.outgoing()
    assert send.data == b"Yz1iaXdz\r\n"
    assert send.secrets == ((0, 8),)
    events(conn, b"+ dj02cnJp\r\n")
    conn.send_continuation(b"")
    assert conn.data_to_send() == b"\r\n"
    events(conn, b"A2 OK SCRAM-SHA-256 authentication successful\r\n")
    assert conn.state is State.AUTHENTICATED
    assert conn.authenticated
    conn.send(Enable(("IMAP4rev2",)))
    assert conn.data_to_send() == b"A3 ENABLE IMAP4rev2\r\n"
    out = events(conn, b"* ENABLED IMAP4rev2\r\nA3 OK Some capabilities enabled\r\n")
    assert isinstance(out[0], Enabled)
    assert conn.enabled == {"IMAP4REV2"}
    assert conn.encode_options.utf8  # RFC 9051 §6.3.1: UTF-8 names once enabled
    conn.send(Select("INBOX"))
    assert conn.data_to_send() == b"A4 SELECT INBOX\r\n"
    out = events(
        conn,
        b"* 18 EXISTS\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
        b'* LIST () "/" INBOX ("OLDNAME" ("inbox"))\r\n'
        b"A4 OK [READ-WRITE] SELECT completed\r\n",
    )
    assert [type(e) for e in out] == [Exists, Flags, StatusResponse, ListData, Tagged]
    assert conn.state is State.SELECTED
    assert conn.mailbox is not None
    assert (conn.mailbox.exists, conn.mailbox.uidvalidity) == (18, 3857529045)
    assert "\\Draft" in conn.mailbox.flags
    assert not conn.mailbox.readonly
    conn.send(Fetch(12, "FULL", uid=False))
    assert conn.data_to_send() == b"A5 FETCH 12 FULL\r\n"
    conn.send(Store(12, ["\\Deleted"], uid=False))
    assert conn.data_to_send() == b"A6 STORE 12 +FLAGS (\\Deleted)\r\n"
    out = events(conn, b"* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\nA6 OK +FLAGS completed\r\n")
    assert isinstance(out[0], FetchData)
    assert conn.last_tag == "A6"
    assert conn.in_flight == ("A5",)


def test_tags_count_and_a_refused_command_spends_none() -> None:
    conn = logged_in()
    first = conn.send(Noop())
    with pytest.raises(ValueError, match="LF"):
        conn.send(Select("bad\nname"))
    second = conn.send(Noop())
    assert int(second[1:]) == int(first[1:]) + 1
    assert conn.data_to_send() == f"{first} NOOP\r\n{second} NOOP\r\n".encode()


@pytest.mark.parametrize(
    ("greeting", "state"),
    [
        (b"* OK ready\r\n", State.NOT_AUTHENTICATED),
        (b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", State.AUTHENTICATED),
        (b"* BYE go away\r\n", State.LOGOUT),
    ],
)
def test_any_legal_greeting(greeting: bytes, state: State) -> None:
    conn = Connection()
    events(conn, greeting)
    assert conn.state is state
    assert conn.preauth is (state is State.AUTHENTICATED)


@pytest.mark.parametrize(
    "greeting", [b"hello\r\n", b"A1 OK hi\r\n", b"+ go\r\n", b"* 3 EXISTS\r\n"]
)
def test_not_a_greeting(greeting: bytes) -> None:
    """S8: anything but OK, PREAUTH or BYE is no IMAP server."""
    conn = Connection()
    with pytest.raises(RemoteProtocolError):
        events(conn, greeting)
    assert conn.state is State.ERROR
    with pytest.raises(RemoteProtocolError):
        conn.send(Noop())


def test_unknown_tag_and_early_completion() -> None:
    """S7: a completion for no command, or one on the wire before the command."""
    conn = logged_in()
    with pytest.raises(RemoteProtocolError, match="no command"):
        events(conn, b"A99 OK what\r\n")
    conn = Connection()
    conn.receive_data(b"* OK hi\r\nA1 OK begin TLS\r\n")
    conn.next_event()
    conn.send(StartTLS())
    with pytest.raises(RemoteProtocolError, match="before STARTTLS was sent"):
        conn.next_event()


def test_starttls_injection() -> None:
    """S1: bytes after the go-ahead in the same read are refused."""
    conn = greeted()
    conn.send(StartTLS())
    with pytest.raises(SecurityError, match="injection"):
        events(conn, b"A1 OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA2 OK done\r\n")
    assert conn.state is State.ERROR


def test_synchronizing_literal_waits_for_continuation() -> None:
    conn = logged_in()
    conn.send(Append("INBOX", b"hello\r\n", flags=["\\Seen"]))
    conn.capabilities = None
    assert conn.data_to_send() == b"A2 APPEND INBOX (\\Seen) {7+}\r\nhello\r\n\r\n"
    conn = greeted(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    tag = conn.send(Login("u", "p"))
    events(conn, f"{tag} OK done\r\n".encode())
    conn.data_to_send()
    conn.capabilities = None
    tag = conn.send(Append("INBOX", b"hello\r\n"))
    assert conn.data_to_send() == b"A2 APPEND INBOX {7}\r\n"
    later = conn.send(Noop())  # held until the literal is done (RFC 9051 §5.5)
    assert conn.data_to_send() == b""
    (plus,) = events(conn, b"+ Ready for literal data\r\n")
    assert isinstance(plus, Continuation)
    assert conn.last_tag == tag
    assert conn.data_to_send() == b"hello\r\n\r\n" + later.encode() + b" NOOP\r\n"


def test_append_refused_before_the_literal_releases_the_queue() -> None:
    conn = greeted(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    events(conn, f"{conn.send(Login('u', 'p'))} OK done\r\n".encode())
    conn.data_to_send()
    conn.capabilities = None
    tag = conn.send(Append("Nope", b"x"))
    later = conn.send(Noop())
    assert conn.data_to_send() == b"A2 APPEND Nope {1}\r\n"
    events(conn, f"{tag} NO [TRYCREATE] no such mailbox\r\n".encode())
    assert conn.data_to_send() == later.encode() + b" NOOP\r\n"


def test_streamed_append_slots() -> None:
    conn = logged_in()
    tag = conn.send(StreamedAppend("INBOX", [AppendPart(3), AppendPart(2, ["\\Seen"])]))
    assert conn.data_to_send() == b"A2 APPEND INBOX {3+}\r\n"
    assert conn.slot_open(tag) == 3
    with pytest.raises(LocalProtocolError, match="left"):
        Connection.literal_data(conn, tag, b"abcd")
    conn = logged_in()
    tag = conn.send(StreamedAppend("INBOX", [AppendPart(3), AppendPart(2, ["\\Seen"])]))
    conn.data_to_send()
    conn.literal_data(tag, b"ab")
    conn.literal_data(tag, b"c")
    conn.literal_data(tag, b"de")
    assert conn.data_to_send() == b"abc (\\Seen) {2+}\r\nde\r\n"


def test_streamed_append_with_synchronizing_literals() -> None:
    """Without LITERAL+ each message waits for "+"; the line end follows the last one.

    (A streamed APPEND once stopped after the last message, never writing the
    CRLF that ends the command, on every server without LITERAL+.)
    """
    conn = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1 MULTIAPPEND] ready\r\n")
    tag = conn.send(StreamedAppend("INBOX", [AppendPart(3), AppendPart(2, ["\\Seen"])]))
    assert conn.data_to_send() == b"A1 APPEND INBOX {3}\r\n"
    assert conn.slot_open(tag) == 0
    events(conn, b"+ Ready for literal data\r\n")
    assert conn.slot_open(tag) == 3
    conn.literal_data(tag, b"abc")
    assert conn.data_to_send() == b"abc (\\Seen) {2}\r\n"
    assert conn.slot_open(tag) == 0
    events(conn, b"+ Ready for literal data\r\n")
    conn.literal_data(tag, b"de")
    assert conn.data_to_send() == b"de\r\n"


def test_streamed_append_utf8_literal() -> None:
    """RFC 6855 §4: utf8-literal = "UTF8" SP "(" literal8 ")", after an empty flag list."""
    conn = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ UTF8=ACCEPT] ready\r\n")
    parts = [AppendPart(3, utf8=True), AppendPart(2, ["\\Seen"], utf8=True)]
    tag = conn.send(StreamedAppend("INBOX", parts))
    conn.literal_data(tag, "äb".encode())
    conn.literal_data(tag, b"de")
    assert conn.data_to_send() == (
        b"A1 APPEND INBOX () UTF8 (~{3+}\r\n\xc3\xa4b) (\\Seen) UTF8 (~{2+}\r\nde)\r\n"
    )


def test_unexpected_continuation() -> None:
    """S26: a '+' nobody waits for is a protocol error."""
    conn = logged_in()
    conn.send(Noop())
    with pytest.raises(RemoteProtocolError, match="continuation"):
        events(conn, b"+ send me more\r\n")


def test_exclusive_commands_and_sequence_number_rule() -> None:
    conn = selected()
    conn.send(Fetch("1:*", ["FLAGS"]))
    with pytest.raises(LocalProtocolError, match="wait for the commands in flight"):
        conn.send(Select("Other"))
    conn = selected()
    conn.send(Close())
    with pytest.raises(LocalProtocolError, match="in progress"):
        conn.send(Noop())
    # RFC 9051 §5.5 examples: FETCH + STORE + SEARCH + NOOP is valid ...
    conn = selected()
    for command in (
        Fetch(1, ["FLAGS"], uid=False),
        Store(1, ["\\Seen"], uid=False),
        Search(("ALL",), uid=False),
        Noop(),
    ):
        conn.send(command)
    # ... COPY + COPY is not, nor a sequence-number command after a UID one.
    conn = selected()
    conn.send(Copy(1, "X", uid=False))
    with pytest.raises(LocalProtocolError, match=r"5\.5"):
        conn.send(Copy(2, "X", uid=False))
    conn = selected()
    conn.send(Fetch(1, ["FLAGS"], uid=True))
    with pytest.raises(LocalProtocolError, match=r"5\.5"):
        conn.send(Fetch(1, ["FLAGS"], uid=False))


def test_wrong_state() -> None:
    conn = greeted()
    with pytest.raises(
        LocalProtocolError, match="SELECT is not allowed in state NOT_AUTHENTICATED"
    ):
        conn.send(Select("INBOX"))
    conn = logged_in()
    with pytest.raises(LocalProtocolError, match="FETCH"):
        conn.send(Fetch(1, ["FLAGS"]))


def test_routing_of_untagged_data() -> None:
    conn = selected()
    fetch = conn.send(Fetch("5:7", ["FLAGS"]))
    search = conn.send(Search(("ALL",)))
    conn.receive_data(
        b"* 2 FETCH (UID 6 FLAGS (\\Seen))\r\n* 1 FETCH (UID 99 FLAGS (\\Flagged))\r\n"
        b"* SEARCH 5 6 7\r\n* 4 EXISTS\r\n* OK [ALERT] maintenance tonight\r\n"
    )
    owners = []
    for _ in range(5):
        conn.next_event()
        owners.append(conn.last_tag)
    assert owners == [fetch, None, search, None, None]
    assert conn.mailbox is not None
    assert conn.mailbox.exists == 4


def test_mailbox_state_follows_expunge_and_vanished() -> None:
    conn = selected()
    assert conn.mailbox is not None
    events(conn, b"* 2 EXPUNGE\r\n")
    assert conn.mailbox.exists == 2
    events(conn, b"* VANISHED 7:8\r\n")
    assert conn.mailbox.exists == 0
    assert conn.mailbox.expunged == 3
    events(conn, b"* OK [UIDVALIDITY 10] changed\r\n")
    assert conn.mailbox.uidvalidity_changed
    tag = conn.send(Expunge())
    out = events(conn, b"* 1 EXPUNGE\r\n" + tag.encode() + b" OK done\r\n")
    assert isinstance(out[0], ExpungeData)


def test_select_failure_leaves_no_mailbox() -> None:
    """RFC 9051 §6.3.2: a failed SELECT closes the mailbox that was open."""
    conn = selected()
    tag = conn.send(Examine("Other"))
    events(conn, tag.encode() + b" NO no such mailbox\r\n")
    assert conn.state is State.AUTHENTICATED
    assert conn.mailbox is None


def test_move_copyuid_routed_and_vanished_earlier() -> None:
    conn = selected()
    tag = conn.send(Move("1:2", "Trash"))
    conn.receive_data(
        b"* OK [COPYUID 432432 1:2 3:4] moved\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n"
        + tag.encode()
        + b" OK done\r\n"
    )
    owners = []
    for _ in range(4):
        conn.next_event()
        owners.append(conn.last_tag)
    assert owners == [tag] * 4
    tag = conn.send(Fetch("1:*", ["FLAGS"], changedsince=5, vanished=True))
    conn.receive_data(b"* VANISHED (EARLIER) 3:4\r\n")
    vanished = conn.next_event()
    assert isinstance(vanished, Vanished)
    assert conn.last_tag == tag


def test_idle_and_done() -> None:
    conn = selected()
    tag = conn.send(Idle())
    assert conn.data_to_send() == tag.encode() + b" IDLE\r\n"
    events(conn, b"+ idling\r\n")
    assert conn.state is State.IDLING
    with pytest.raises(LocalProtocolError):
        conn.send(Noop())


def test_idle_done_resumes_selected() -> None:
    conn = selected()
    tag = conn.send(Idle())
    conn.data_to_send()
    events(conn, b"+ idling\r\n* 4 EXISTS\r\n")
    conn.done()
    assert conn.data_to_send() == b"DONE\r\n"
    events(conn, tag.encode() + b" OK IDLE terminated\r\n")
    assert conn.state is State.SELECTED


def test_bye_and_end_of_stream() -> None:
    conn = logged_in()
    conn.send(Noop())
    out = events(conn, b"* BYE shutting down\r\n")
    assert isinstance(out[0], StatusResponse)
    assert conn.state is State.LOGOUT
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost, match="shutting down"):
        conn.next_event()
    conn = logged_in()
    tag = conn.send(Logout())
    out = events(conn, b"* BYE bye\r\n" + tag.encode() + b" OK done\r\n")
    assert conn.last_tag == tag
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), ConnectionClosed)
    assert conn.state is State.CLOSED


def test_eof_inside_a_literal() -> None:
    conn = selected()
    conn.send(Fetch(1, ["BODY[]"]))
    conn.receive_data(b"* 1 FETCH (UID 1 BODY[] {10}\r\nabc")
    conn.receive_data(b"")
    with pytest.raises(ConnectionLost):
        conn.next_event()
    assert conn.state is State.CLOSED


def test_literal_sink_receives_body_chunks() -> None:
    conn = selected()
    got: list[tuple[bytes, int]] = []

    class Sink:
        def __init__(self) -> None:
            self.data = b""

        def write(self, data: bytes) -> None:
            self.data += data

    sink = Sink()

    def factory(prefix: bytes, size: int) -> Sink:
        got.append((prefix, size))
        return sink

    conn.literal_sink = factory
    conn.send(Fetch(1, ["BODY.PEEK[]"]))
    (fetch,) = events(conn, b"* 1 FETCH (UID 1 BODY[] {5}\r\nhello)\r\n")
    assert got == [(b"* 1 FETCH (UID 1 BODY[] ", 5)]
    assert sink.data == b"hello"
    assert isinstance(fetch, FetchData)
    assert fetch.streamed == {"BODY[]": 5}


def test_secret_spans_in_login() -> None:
    """S40: the password (quoted or literal) is marked secret."""
    conn = greeted(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    conn.send(Login("user", 'pa"ss'))
    send = conn.outgoing()
    start, end = send.secrets[0]
    assert send.data[start:end] == b'"pa\\"ss"'
    conn = greeted(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n")
    conn.send(Login("user", "päss"))
    send = conn.outgoing()
    assert b"p\xc3\xa4ss" in b"".join(send.data[a:b] for a, b in send.secrets)
    assert b"p\xc3\xa4ss" not in send.data[: send.secrets[0][0]]


def test_state_tables_cite_rfcs() -> None:
    for verb, row in SEND_TABLE.items():
        assert row.rfc.startswith("RFC "), verb
        assert row.allowed
    for verb, completion in COMPLETION_TABLE.items():
        assert verb in SEND_TABLE
        assert completion.rfc.startswith("RFC ")


def test_capability_command_replaces_the_list() -> None:
    conn = logged_in()
    tag = conn.send(Capability())
    events(conn, b"* CAPABILITY IMAP4rev1 SORT\r\n" + tag.encode() + b" OK done\r\n")
    assert conn.capabilities is not None
    assert list(conn.capabilities) == ["IMAP4REV1", "SORT"]


def test_search_data_routed() -> None:
    conn = selected()
    tag = conn.send(Search(("ALL",)))
    conn.receive_data(b"* SEARCH 2 84 882\r\n")
    out = conn.next_event()
    assert isinstance(out, SearchData)
    assert out.numbers == (2, 84, 882)
    assert conn.last_tag == tag
