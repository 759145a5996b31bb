"""PIPELINING (RFC 2920): groups in one write, replies paired by counting.

The three dialogues of RFC 2920 §4 are played byte for byte (client and
server lines from the RFC text), whole, one byte at a time and split.
"""

from __future__ import annotations

import pytest

from mailwire.smtp import (
    Connection,
    Content,
    Data,
    Ehlo,
    EndOfData,
    Helo,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Rset,
    State,
)

from .helpers import (
    SPLITTERS,
    C,
    S,
    cut,
    drain,
    exchange,
    feed,
    in_content,
    play,
    ready,
    resource,
    rfc_text,
)

GREETING = b"220 innosoft.com SMTP service ready\r\n"
EHLO = b"250-innosoft.com\r\n250 PIPELINING\r\n"
MROSE = "mrose@dbc.mtview.ca.us"


def test_dialogues_are_quoted_from_the_rfc() -> None:
    text = rfc_text("2920")
    for line in [
        "S: 220 innosoft.com SMTP service ready",
        "C: EHLO dbc.mtview.ca.us",
        "S: 250 PIPELINING",
        "C: MAIL FROM:<mrose@dbc.mtview.ca.us>",
        "S: 250 sender <mrose@dbc.mtview.ca.us> OK",
        "S: 250 recipient <kvc@innosoft.com> OK",
        'S: 354 enter mail, end with line containing only "."',
        "S: 550 remote mail to <nsb@thumper.bellore.com> not allowed",
        "S: 554 no valid recipients given",
        "S: 554 no valid recipients",
        "S: 250 message sent",
        "S: 221 goodbye",
    ]:
        assert line in text, line


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_nonpipelined_dialogue(split) -> None:
    """RFC 2920 §4, first dialogue: nine turnarounds, HELO, no pipelining."""
    conn = Connection()
    play(
        conn,
        [
            S(b"220 Innosoft.com SMTP service ready\r\n", 220),
            C(Helo("dbc.mtview.ca.us"), wire=b"HELO dbc.mtview.ca.us\r\n"),
            S(b"250 Innosoft.com\r\n", 250),
            C(MailFrom(MROSE), wire=b"MAIL FROM:<mrose@dbc.mtview.ca.us>\r\n"),
            S(b"250 sender <mrose@dbc.mtview.ca.us> OK\r\n", 250),
            C(RcptTo("ned@innosoft.com"), wire=b"RCPT TO:<ned@innosoft.com>\r\n"),
            S(b"250 recipient <ned@innosoft.com> OK\r\n", 250),
            C(RcptTo("dan@innosoft.com"), wire=b"RCPT TO:<dan@innosoft.com>\r\n"),
            S(b"250 recipient <dan@innosoft.com> OK\r\n", 250),
            C(RcptTo("kvc@innosoft.com"), wire=b"RCPT TO:<kvc@innosoft.com>\r\n"),
            S(b"250 recipient <kvc@innosoft.com> OK\r\n", 250),
            C(Data(), wire=b"DATA\r\n"),
            S(b'354 enter mail, end with line containing only "."\r\n', 354),
            C(EndOfData(), wire=b".\r\n"),
            S(b"250 message sent\r\n", 250),
            C(Quit(), wire=b"QUIT\r\n"),
            S(b"221 goodbye\r\n", 221),
        ],
        split,
    )
    assert conn.capabilities is not None
    assert not conn.capabilities.esmtp
    assert conn.state is State.CLOSED


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_pipelined_dialogue(split) -> None:
    """RFC 2920 §4, second dialogue: MAIL, three RCPT and DATA in one write; four turnarounds."""
    conn = Connection()
    events = play(
        conn,
        [
            S(GREETING, 220),
            C(Ehlo("dbc.mtview.ca.us"), wire=b"EHLO dbc.mtview.ca.us\r\n"),
            S(EHLO, 250),
            C(
                MailFrom(MROSE),
                RcptTo("ned@innosoft.com"),
                RcptTo("dan@innosoft.com"),
                RcptTo("kvc@innosoft.com"),
                Data(),
                wire=b"MAIL FROM:<mrose@dbc.mtview.ca.us>\r\n"
                b"RCPT TO:<ned@innosoft.com>\r\n"
                b"RCPT TO:<dan@innosoft.com>\r\n"
                b"RCPT TO:<kvc@innosoft.com>\r\n"
                b"DATA\r\n",
            ),
            S(
                b"250 sender <mrose@dbc.mtview.ca.us> OK\r\n"
                b"250 recipient <ned@innosoft.com> OK\r\n"
                b"250 recipient <dan@innosoft.com> OK\r\n"
                b"250 recipient <kvc@innosoft.com> OK\r\n"
                b'354 enter mail, end with line containing only "."\r\n',
                250,
                250,
                250,
                250,
                354,
            ),
            C(EndOfData(), Quit(), wire=b".\r\nQUIT\r\n"),
            S(b"250 message sent\r\n221 goodbye\r\n", 250, 221),
        ],
        split,
    )
    assert conn.capabilities is not None
    assert conn.capabilities.pipelining
    # §3.1: "Command statuses MUST be coordinated with responses by counting".
    answered = [(type(e.command).__name__, e.recipient) for e in events[2:]]
    assert answered == [
        ("MailFrom", None),
        ("RcptTo", "ned@innosoft.com"),
        ("RcptTo", "dan@innosoft.com"),
        ("RcptTo", "kvc@innosoft.com"),
        ("Data", None),
        ("EndOfData", None),
        ("Quit", None),
    ]
    assert conn.state is State.CLOSED


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_all_recipients_rejected_data_rejected(split) -> None:
    """RFC 2920 §4, third dialogue: 550, 550, then 554 to DATA; QUIT."""
    conn = Connection()
    play(
        conn,
        [
            S(GREETING, 220),
            C(Ehlo("dbc.mtview.ca.us"), wire=b"EHLO dbc.mtview.ca.us\r\n"),
            S(EHLO, 250),
            C(
                MailFrom(MROSE),
                RcptTo("nsb@thumper.bellcore.com"),
                RcptTo("galvin@tis.com"),
                Data(),
                wire=b"MAIL FROM:<mrose@dbc.mtview.ca.us>\r\n"
                b"RCPT TO:<nsb@thumper.bellcore.com>\r\n"
                b"RCPT TO:<galvin@tis.com>\r\n"
                b"DATA\r\n",
            ),
            S(
                b"250 sender <mrose@dbc.mtview.ca.us> OK\r\n"
                b"550 remote mail to <nsb@thumper.bellore.com> not allowed\r\n"
                b"550 remote mail to <galvin@tis.com> not allowed\r\n"
                b"554 no valid recipients given\r\n",
                250,
                550,
                550,
                554,
            ),
        ],
        split,
    )
    assert conn.accepted == []
    # The server still holds the MAIL: the state lets the client send RSET or QUIT.
    assert conn.state in {State.READY, State.RCPT}
    play(conn, [C(Quit(), wire=b"QUIT\r\n"), S(b"221 goodbye\r\n", 221)], split)
    assert conn.state is State.CLOSED


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_all_recipients_rejected_data_accepted(split) -> None:
    """RFC 2920 §4, fourth dialogue, and §3.1: "the client SMTP should send a single dot"."""
    conn = Connection()
    play(
        conn,
        [
            S(GREETING, 220),
            C(Ehlo("dbc.mtview.ca.us"), wire=b"EHLO dbc.mtview.ca.us\r\n"),
            S(EHLO, 250),
            C(
                MailFrom(MROSE),
                RcptTo("nsb@thumper.bellcore.com"),
                RcptTo("galvin@tis.com"),
                Data(),
                wire=b"MAIL FROM:<mrose@dbc.mtview.ca.us>\r\n"
                b"RCPT TO:<nsb@thumper.bellcore.com>\r\n"
                b"RCPT TO:<galvin@tis.com>\r\n"
                b"DATA\r\n",
            ),
            S(
                b"250 sender <mrose@dbc.mtview.ca.us> OK\r\n"
                b"550 remote mail to <nsb@thumper.bellore.com> not allowed\r\n"
                b"550 remote mail to <galvin@tis.com> not allowed\r\n"
                b'354 enter mail, end with line containing only "."\r\n',
                250,
                550,
                550,
                354,
            ),
            C(EndOfData(), Quit(), wire=b".\r\nQUIT\r\n"),
            S(b"554 no valid recipients\r\n221 goodbye\r\n", 554, 221),
        ],
        split,
    )
    assert conn.state is State.CLOSED


def test_mailkit_pipelined_replies() -> None:
    """MailKit's recorded replies to a pipelined MAIL + RCPT (comcast)."""
    conn = ready()
    first = exchange(
        conn,
        [MailFrom("sender@example.com", {"BODY": "8BITMIME"}), RcptTo("recipient@example.com")],
        resource("pipelined-mail-from-rcpt-to.txt"),
    )
    assert [(e.code, e.enhanced) for e in first] == [(250, (2, 1, 0)), (250, (2, 1, 5))]
    assert conn.accepted == ["recipient@example.com"]
    conn = ready()
    second = exchange(
        conn,
        [MailFrom("sender@example.com"), RcptTo("recipient@example.com")],
        resource("pipelined-mailbox-unavailable.txt"),
    )
    assert [e.code for e in second] == [250, 550]
    assert second[1].recipient == "recipient@example.com"
    assert conn.accepted == []


def test_multiline_replies_are_not_confused_with_several_replies() -> None:
    """§3.1: "Clients MUST NOT confuse responses to multiple commands with multiline responses"."""
    conn = ready()
    conn.send(Ehlo("client.example"))
    conn.data_to_send()
    conn.receive_data(b"250-mx\r\n250-PIPELINING\r\n250 SIZE 1\r\n")
    (ehlo,) = drain(conn)
    assert len(ehlo.lines) == 3
    events = exchange(
        conn,
        [MailFrom("a@example.org"), RcptTo("b@example.org"), RcptTo("c@example.org")],
        b"250-2.1.0 sender\r\n250 2.1.0 ok\r\n550-5.1.1 b is\r\n550 5.1.1 unknown\r\n250 ok\r\n",
    )
    assert [(e.code, len(e.lines), e.recipient) for e in events] == [
        (250, 2, None),
        (550, 2, "b@example.org"),
        (250, 1, "c@example.org"),
    ]
    assert conn.accepted == ["c@example.org"]


def test_refused_mail_in_a_group_leaves_the_rest_to_their_replies() -> None:
    conn = ready()
    events = exchange(
        conn,
        [MailFrom("a@example.org"), RcptTo("b@example.org"), Data()],
        b"550 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n",
    )
    assert [e.code for e in events] == [550, 503, 503]
    assert conn.state is State.READY
    assert conn.accepted == []


def test_replies_arriving_in_any_split_pair_the_same() -> None:
    commands = [
        MailFrom("a@example.org"),
        RcptTo("b@example.org"),
        RcptTo("c@example.org"),
        Data(),
    ]
    replies = b"250 ok\r\n451 4.7.1 later\r\n250-fine\r\n250 really\r\n354 go\r\n"
    reference = None
    for i in range(len(replies) + 1):
        for j in range(i, len(replies) + 1, 7):
            conn = ready()
            for command in commands:
                conn.send(command)
            got = [(e.code, e.command, e.recipient) for e in feed(conn, cut(replies, [i, j]))]
            reference = reference or got
            assert got == reference
            assert conn.state is State.CONTENT
            assert conn.accepted == ["c@example.org"]


# ----------------------------------------- §3.1: content opens the next group


def test_next_transaction_after_content_in_one_write() -> None:
    """§3.1: "a RSET/MAIL FROM sequence ... can be placed in the same group as the
    final transfer of the headers and body of the previous message"."""
    conn = in_content(recipients=["a@example.org"])
    conn.send(Content(b"Subject: one\r\n\r\n1\r\n"))
    conn.send(EndOfData())
    conn.send(Rset())
    conn.send(MailFrom("sender@example.org"))
    conn.send(RcptTo("b@example.org"))
    conn.send(Data())
    assert conn.data_to_send() == (
        b"Subject: one\r\n\r\n1\r\n.\r\n"
        b"RSET\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
    )
    conn.receive_data(b"250 2.0.0 queued as 1\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n")
    events = drain(conn)
    assert [type(e.command).__name__ for e in events] == [
        "EndOfData",
        "Rset",
        "MailFrom",
        "RcptTo",
        "Data",
    ]
    assert events[3].recipient == "b@example.org"
    assert conn.state is State.CONTENT
    assert conn.accepted == ["b@example.org"]


def test_pending_lists_the_group_in_order() -> None:
    conn = ready()
    group = [MailFrom("a@example.org"), RcptTo("b@example.org"), Noop()]
    for command in group:
        conn.send(command)
    assert conn.pending == tuple(group)
    conn.receive_data(b"250 ok\r\n")
    drain(conn)
    assert conn.pending == tuple(group[1:])


def test_rcpt_reply_after_a_pipelined_rset_keeps_its_recipient() -> None:
    """RFC 2920 §3.1: RSET and MAIL "can all appear anywhere in a pipelined command group";
    replies are paired "by counting" - so each RCPT reply is about its own RCPT."""
    conn = ready()
    for command in (
        MailFrom("a@example.org"),
        RcptTo("x@example.org"),
        Rset(),
        MailFrom("a@example.org"),
        RcptTo("z@example.org"),
    ):
        conn.send(command)
    conn.receive_data(b"250 ok\r\n250 x ok\r\n250 reset\r\n250 ok\r\n550 z unknown\r\n")
    events = drain(conn)
    assert [(e.code, e.recipient) for e in events if isinstance(e.command, RcptTo)] == [
        (250, "x@example.org"),
        (550, "z@example.org"),
    ]
    assert conn.accepted == []  # x belonged to the reset transaction; z was refused
