"""``imap.replay``: a recorded session stepped through a fresh core."""

from __future__ import annotations

from mailwire.imap._replay import replay
from mailwire.imap._state import State
from mailwire.imap.events import Exists, FetchData, Tagged
from mailwire.transcript import Direction, Transcript
from tests.unit.imap_client.helpers import Both, Script

STEPS = [
    (b"A1 LOGIN user secret\r\n", b"A1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n"),
    (b"A2 SELECT INBOX\r\n", b"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\nA2 OK [READ-WRITE] ok\r\n"),
    (b"A3 UID FETCH 1:* (FLAGS)\r\n", b"* 1 FETCH (UID 4 FLAGS (\\Seen))\r\nA3 OK done\r\n"),
    (b"A4 IDLE\r\n", b"+ idling\r\n* 3 EXISTS\r\n"),
    (b"DONE\r\n", b"A4 OK IDLE done\r\n"),
    (b"A5 LOGOUT\r\n", b"* BYE bye\r\nA5 OK bye\r\n"),
]


def test_replay_steps_through_states() -> None:
    with Script(
        b"* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n", STEPS, after=lambda p: p.close()
    ) as script:
        c = Both("blocking", script.port)
        c.connect()
        c.login("user", "secret")
        c.select("INBOX")
        c.fetch("1:*", ["FLAGS"])
        with c.client.idle(timeout=1) as session:
            events = [next(session)]
        assert isinstance(events[0], Exists)
        c.logout()
    assert script.errors == []
    text = c.client.transcript.render()
    assert "secret" not in text
    loaded = Transcript.loads(text)
    steps = list(replay(loaded))
    states = [s.after for s in steps]
    assert State.SELECTED in states
    assert State.IDLING in states
    assert states[-1] is State.LOGOUT  # the client closed first: no end of stream recorded
    server = [s for s in steps if s.direction is Direction.SERVER]
    assert any(
        isinstance(s.event, FetchData) and "answers FETCH A3" in s.explanation for s in server
    )
    assert any(isinstance(s.event, Tagged) and "completes LOGOUT" in s.explanation for s in server)
    assert not any("Error" in s.explanation for s in steps), [str(s) for s in steps]
    client = [s for s in steps if s.direction is Direction.CLIENT]
    assert [bytes(s.wire).split(b" ")[0] for s in client] == [
        b"A1",
        b"A2",
        b"A3",
        b"A4",
        b"DONE\r\n",
        b"A5",
    ]
    assert b"*" * 6 in client[0].wire  # the redacted password, length kept


def test_replay_synchronizing_literal() -> None:
    transcript = Transcript()
    transcript.received(b"* OK [CAPABILITY IMAP4rev1] hi\r\n")
    transcript.sent(b"A1 LOGIN user {6}\r\n")
    transcript.received(b"+ ok\r\n")
    transcript.sent(b"secret\r\n", ((0, 6),))
    transcript.received(b"A1 OK logged in\r\n")
    steps = list(replay(transcript))
    assert steps[-1].after is State.AUTHENTICATED
    assert any("literal data" in s.explanation for s in steps)
    assert steps[0].after is State.NOT_AUTHENTICATED
