"""CHUNKING and BINARYMIME (RFC 3030): BDAT size [LAST] plus the chunk, no dot-stuffing.

RFC 3030 §4's two dialogues are played byte for byte (client and server lines
from the RFC text).
"""

from __future__ import annotations

import pytest

from mailwire import LocalProtocolError
from mailwire.smtp import (
    Bdat,
    Connection,
    Data,
    Ehlo,
    MailFrom,
    Quit,
    RcptTo,
    Rset,
    State,
)

from .helpers import SPLITTERS, C, S, drain, exchange, in_transaction, play, ready, rfc_text

# RFC 3030 §4.1: the 86 octets of the example message.
SIMPLE = (
    b"To: Susan@random.com\r\nFrom: Sam@random.com\r\nSubject: This is a bodyless test message\r\n"
)


def test_dialogues_are_quoted_from_the_rfc() -> None:
    text = rfc_text("3030")
    for line in [
        "S: BDAT 86 LAST",
        "S: To: Susan@random.com<CR><LF>",
        "S: From: Sam@random.com<CR><LF>",
        "S: Subject: This is a bodyless test message<CR><LF>",
        "R: 250 Message OK, 86 octets received",
        "S: MAIL FROM:<ned@ymir.claremont.edu> BODY=BINARYMIME",
        "S: BDAT 324",
        "S: BDAT 0 LAST",
        "R: 250 Message OK, 100324 octets received",
    ]:
        assert line in text, line
    assert len(SIMPLE) == 86


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_simple_chunking(split) -> None:
    """RFC 3030 §4.1 (its "S:" is our client, "R:" the server)."""
    conn = Connection()
    events = play(
        conn,
        [
            S(b"220 cnri.reston.va.us SMTP service ready\r\n", 220),
            C(Ehlo("ymir.claremont.edu"), wire=b"EHLO ymir.claremont.edu\r\n"),
            S(b"250-cnri.reston.va.us says hello\r\n250 CHUNKING\r\n", 250),
            C(MailFrom("Sam@Random.com"), wire=b"MAIL FROM:<Sam@Random.com>\r\n"),
            S(b"250 <Sam@Random.com> Sender ok\r\n", 250),
            C(RcptTo("Susan@Random.com"), wire=b"RCPT TO:<Susan@Random.com>\r\n"),
            S(b"250 <Susan@random.com> Recipient ok\r\n", 250),
            C(Bdat(SIMPLE, last=True), wire=b"BDAT 86 LAST\r\n" + SIMPLE),
            S(b"250 Message OK, 86 octets received\r\n", 250),
            C(Quit(), wire=b"QUIT\r\n"),
            S(b"221 Goodbye\r\n", 221),
        ],
        split,
    )
    assert conn.capabilities is not None
    assert conn.capabilities.chunking
    assert isinstance(events[-2].command, Bdat)
    assert conn.state is State.CLOSED


@pytest.mark.parametrize("split", SPLITTERS.values(), ids=SPLITTERS.keys())
def test_pipelining_binarymime(split) -> None:
    """RFC 3030 §4.2. The RFC's first chunk says "BDAT 100000" over "First 10000
    octets" (a typo in the RFC); here the count matches the data, as §2 requires."""
    first, second = b"\x00\xff" * 50_000, b"\r\n.\r\n\n" * 54
    assert (len(first), len(second)) == (100_000, 324)
    conn = Connection()
    events = play(
        conn,
        [
            S(b"220 cnri.reston.va.us SMTP service ready\r\n", 220),
            C(Ehlo("ymir.claremont.edu"), wire=b"EHLO ymir.claremont.edu\r\n"),
            S(
                b"250-cnri.reston.va.us says hello\r\n250-PIPELINING\r\n"
                b"250-BINARYMIME\r\n250 CHUNKING\r\n",
                250,
            ),
            C(
                MailFrom("ned@ymir.claremont.edu", {"BODY": "BINARYMIME"}),
                RcptTo("gvaudre@cnri.reston.va.us"),
                RcptTo("jstewart@cnri.reston.va.us"),
                wire=b"MAIL FROM:<ned@ymir.claremont.edu> BODY=BINARYMIME\r\n"
                b"RCPT TO:<gvaudre@cnri.reston.va.us>\r\n"
                b"RCPT TO:<jstewart@cnri.reston.va.us>\r\n",
            ),
            S(
                b"250 <ned@ymir.claremont.edu>... Sender and BINARYMIME ok\r\n"
                b"250 <gvaudre@cnri.reston.va.us>... Recipient ok\r\n"
                b"250 <jstewart@cnri.reston.va.us>... Recipient ok\r\n",
                250,
                250,
                250,
            ),
            C(
                Bdat(first),
                Bdat(second),
                Bdat(b"", last=True),
                wire=b"BDAT 100000\r\n" + first + b"BDAT 324\r\n" + second + b"BDAT 0 LAST\r\n",
            ),
        ],
        split,
    )
    assert conn.capabilities is not None
    assert conn.capabilities.binarymime
    assert conn.state is State.END_OF_DATA
    assert len(conn.pending) == 3
    events = play(
        conn,
        [
            S(
                b"250 100000 octets received\r\n250 324 octets received\r\n"
                b"250 Message OK, 100324 octets received\r\n",
                250,
                250,
                250,
            ),
            C(Quit(), wire=b"QUIT\r\n"),
            S(b"221 Goodbye\r\n", 221),
        ],
        split,
    )
    assert [e.command.last for e in events[:3]] == [False, False, True]
    assert conn.state is State.CLOSED


def test_chunks_are_sent_as_they_are() -> None:
    """§2/§3: BDAT data is counted, not dot-stuffed, and bare CR/LF/NUL go unchanged."""
    raw = b".\r\n.leading dot\nbare LF\rbare CR\x00NUL\r\n.\r\n"
    conn = in_transaction()
    conn.send(Bdat(raw, last=True))
    assert conn.data_to_send() == b"BDAT %d LAST\r\n" % len(raw) + raw


def test_no_crlf_after_the_chunk() -> None:
    """§2: the next command follows the last octet of the chunk directly."""
    conn = in_transaction()
    conn.send(Bdat(b"abc"))
    conn.send(Bdat(b"def", last=True))
    assert conn.data_to_send() == b"BDAT 3\r\nabcBDAT 3 LAST\r\ndef"


def test_state_through_the_chunks() -> None:
    conn = in_transaction()
    conn.send(Bdat(b"one"))
    assert conn.state is State.BDAT
    conn.send(Bdat(b"two"))
    conn.send(Bdat(b"three", last=True))
    assert conn.state is State.END_OF_DATA
    conn.receive_data(b"250 3\r\n250 3\r\n")
    drain(conn)
    assert conn.state is State.END_OF_DATA  # the LAST reply is still due
    conn.receive_data(b"250 2.0.0 queued\r\n")
    (reply,) = drain(conn)
    assert reply.command == Bdat(b"three", last=True)
    assert conn.state is State.READY
    assert conn.accepted == []


def test_failed_last_chunk_ends_the_transaction() -> None:
    """§2: after a refused chunk (LAST included) a RSET must come before anything else."""
    conn = in_transaction()
    (reply,) = exchange(conn, Bdat(b"x", last=True), b"554 5.6.0 rejected\r\n")
    assert reply.is_permanent
    assert conn.state is State.FAILED


def test_rset_between_chunks() -> None:
    """§2: "The RSET command, when issued after the first BDAT and before the BDAT LAST,
    clears all segments sent during that transaction and resets the session"."""
    conn = in_transaction()
    exchange(conn, Bdat(b"part"), b"250 4 octets\r\n")
    (reply,) = exchange(conn, Rset(), b"250 2.0.0 reset\r\n")
    assert isinstance(reply.command, Rset)
    assert conn.state is State.READY


def test_data_and_bdat_do_not_mix() -> None:
    """§2: "DATA and BDAT commands cannot be used in the same transaction"."""
    conn = in_transaction()
    conn.send(Bdat(b"part"))
    with pytest.raises(LocalProtocolError):
        conn.send(Data())
    assert conn.data_to_send() == b"BDAT 4\r\npart"


def test_no_bdat_after_last() -> None:
    """§2: "Any BDAT command sent after the BDAT LAST is illegal"."""
    conn = in_transaction()
    conn.send(Bdat(b"end", last=True))
    conn.data_to_send()
    with pytest.raises(LocalProtocolError):
        conn.send(Bdat(b"more"))
    assert conn.data_to_send() == b""


def test_no_bdat_outside_a_transaction() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError):
        conn.send(Bdat(b"x", last=True))


def test_no_more_chunks_after_a_failed_chunk() -> None:
    """§2: "If a 5XX or 4XX code is received by the sender-SMTP in response to a BDAT
    chunk, the transaction should be considered failed and the sender-SMTP MUST NOT
    send any additional BDAT segments"; "A RSET command MUST be issued"."""
    conn = in_transaction()
    exchange(conn, Bdat(b"abc"), b"552 5.3.4 too big\r\n")
    with pytest.raises(LocalProtocolError):
        conn.send(Bdat(b"def"))


def test_rset_required_after_a_failed_last_chunk() -> None:
    """§2: "The resulting state from a failed BDAT command is indeterminate. A RSET
    command MUST be issued to clear the transaction before additional commands may be sent"."""
    conn = in_transaction()
    exchange(conn, Bdat(b"abc", last=True), b"554 5.6.0 rejected\r\n")
    with pytest.raises(LocalProtocolError):
        conn.send(MailFrom("a@example.org"))
