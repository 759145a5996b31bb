"""imap.replay: every server step carries the bytes its response came from.

What is checked against what:

- a session with the Dovecot lab (SELECT, a FETCH of a seeded message with
  its body as a literal, LOGOUT): the server steps' bytes, joined, are the
  recorded server bytes, exactly; each step is one response (a tagged one
  starts with its tag, an untagged one with ``*``, RFC 9051 §2.2.2); the
  FETCH step holds the ``{n}`` literal with the message as Dovecot stored
  it (RFC 9051 §4.3);
- recordings written here, where each response is known before the replay
  sees it, cut into records at awkward places (inside a line, inside a
  literal, several responses in one record);
- server bytes the recording did not keep (past ``max_data_bytes``, or a
  redacted record): a step of their own, never the end of the stream, and
  the responses after them still replay;
- the display: a huge literal is cut, saying how many bytes there were.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import uuid

import pytest

from mailwire import TLSMode, Transcript, imap
from mailwire.imap._replay import ReplayStep, replay
from mailwire.imap._state import State
from mailwire.imap.events import Continuation, FetchData, Tagged
from mailwire.transcript import Direction, Kind
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE

SHIPPED = pathlib.Path(__file__).resolve().parents[3] / "examples" / "transcripts" / "imap.txt"


def server(steps: list[ReplayStep]) -> list[ReplayStep]:
    return [s for s in steps if s.direction is Direction.SERVER]


def errors(steps: list[ReplayStep]) -> list[str]:
    return [str(s) for s in steps if "Error" in s.explanation.split(":")[0]]


def assert_one_response_each(steps: list[ReplayStep]) -> None:
    """RFC 9051 §2.2.2: a response is tagged, untagged ('*') or a continuation ('+')."""
    for step in server(steps):
        if step.event is None:
            continue
        assert step.wire.endswith(b"\r\n"), step
        if isinstance(step.event, Tagged):
            assert step.wire.startswith(step.event.tag.encode() + b" "), step
        elif isinstance(step.event, Continuation):
            assert step.wire.startswith(b"+"), step
        else:
            assert step.wire.startswith(b"* "), step


# ------------------------------------------------------- a real session


def seed(lab: DovecotLab) -> tuple[str, bytes]:
    """One message for alice; returns its Message-ID and its bytes as IMAP serves them."""
    lab.purge(ALICE)
    message_id = f"<{uuid.uuid4().hex}@imap-replay-wire.test>"
    body = b"".join(b"line %d of the body, long enough to matter\r\n" % n for n in range(40))
    data = (
        f"From: seed@example.test\r\nTo: alice@example.test\r\nSubject: wire\r\n"
        f"Message-ID: {message_id}\r\n\r\n"
    ).encode() + body
    lab.seed(data, ALICE)
    stored = lab.wait_for_message(ALICE, message_id)
    return message_id, stored.replace(b"\n", b"\r\n")  # Dovecot stores LF, serves CRLF


@pytest.fixture(scope="module")
def live(dovecot_lab: DovecotLab) -> tuple[Transcript, bytes]:
    message_id, served = seed(dovecot_lab)
    with imap.Client(
        dovecot_lab.host,
        dovecot_lab.imaps_port,
        tls=TLSMode.IMPLICIT,
        ssl_context=dovecot_lab.client_context(),
    ) as client:
        client.login(ALICE.name, ALICE.password)
        client.select("INBOX")
        uids = client.search("HEADER", "Message-ID", message_id)
        assert len(uids) == 1
        client.fetch(uids[0], ["BODY.PEEK[]"])
        client.logout()
    return client.transcript, served


@pytest.mark.parametrize("form", ["live", "text", "jsonl"])
def test_server_steps_carry_the_recorded_bytes(
    live: tuple[Transcript, bytes], form: str, tmp_path: pathlib.Path
) -> None:
    transcript, served = live
    if form != "live":
        path = tmp_path / "imap.session"
        path.write_text(transcript.render() if form == "text" else transcript.to_jsonl())
        transcript = Transcript.load(path)
    steps = list(replay(transcript))
    assert errors(steps) == []
    recorded = transcript.server_bytes()
    assert b"".join(s.wire for s in server(steps)) == recorded
    assert all(s.wire for s in server(steps) if s.event is not None)
    assert_one_response_each(steps)

    fetched = [s for s in steps if isinstance(s.event, FetchData)]
    assert len(fetched) == 1
    wire = fetched[0].wire
    # RFC 9051 §4.3: the body is a literal, its size in braces, then CRLF, then the octets.
    assert b"{%d}\r\n" % len(served) + served in wire
    assert re.match(rb"\* \d+ FETCH \(", wire)
    assert wire.endswith(b")\r\n")


def test_the_cli_prints_the_server_bytes(tmp_path: pathlib.Path) -> None:
    # The shipped IMAP transcript: each server line it holds appears in the replay.
    result = subprocess.run(
        [sys.executable, "-m", "mailwire", "replay", str(SHIPPED)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = Transcript.load(SHIPPED)
    lines = loaded.server_bytes().decode("utf-8").split("\r\n")
    short = [line for line in lines if line and len(line) < 150 and "{" not in line]
    assert len(short) > 10
    for line in short:
        assert re.search(r"^S\*?: " + re.escape(line) + "$", result.stdout, re.MULTILINE), line


# ----------------------------------------------- recordings written here

GREETING = b"* OK [CAPABILITY IMAP4rev1] ready\r\n"
BODY = b"Subject: hi\r\n\r\nsome {3}\r\nbraces and ) parens\r\n"
LOGIN = b"A1 LOGIN user pass\r\n"
SELECT = b"A2 SELECT INBOX\r\n"
SELECTED = b"* 2 EXISTS\r\nA2 OK [READ-WRITE] selected\r\n"
FETCH = b"A3 UID FETCH 7:8 (BODY[])\r\n"
RESPONSES = [
    b"* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {%d}\r\n%s)\r\n" % (len(BODY), BODY),
    b'* 2 FETCH (UID 8 BODY[HEADER.FIELDS (SUBJECT)] {13}\r\nSubject: x\r\n BODY[TEXT] "")\r\n',
    b"A3 OK Fetch completed.\r\n",
]


def scripted(cuts: list[int], *, max_data_bytes: int | None = None) -> Transcript:
    """LOGIN, SELECT and a FETCH whose answer arrives cut at ``cuts`` (offsets in it)."""
    transcript = Transcript(max_data_bytes=max_data_bytes)
    transcript.received(GREETING)
    transcript.sent(LOGIN)
    transcript.received(b"A1 OK logged in\r\n")
    transcript.sent(SELECT)
    transcript.received(SELECTED)
    transcript.sent(FETCH)
    answer = b"".join(RESPONSES)
    for start, end in zip([0, *cuts], [*cuts, len(answer)], strict=True):
        transcript.received(answer[start:end])
    return transcript


CUTS = {
    "whole": [],
    "inside-a-line": [5, 40],
    "inside-the-literal": [len(RESPONSES[0]) - 20],
    "byte-by-byte": list(range(1, len(b"".join(RESPONSES)))),
    "two-responses-in-one": [len(RESPONSES[0]) // 2],
}


@pytest.mark.parametrize("cuts", CUTS.values(), ids=CUTS.keys())
def test_each_response_is_one_step_however_it_arrived(cuts: list[int]) -> None:
    steps = list(replay(scripted(cuts)))
    assert errors(steps) == []
    wires = [s.wire for s in server(steps)]
    assert wires == [
        GREETING,
        b"A1 OK logged in\r\n",
        b"* 2 EXISTS\r\n",
        b"A2 OK [READ-WRITE] selected\r\n",
        *RESPONSES,
    ]
    assert steps[-1].after is State.SELECTED
    assert_one_response_each(steps)


def test_a_huge_literal_is_kept_whole_and_cut_for_display() -> None:
    body = b"x" * 99_998 + b"\r\n"
    response = b"* 1 FETCH (BODY[] {%d}\r\n%s)\r\n" % (len(body), body)
    transcript = Transcript(max_data_bytes=None)
    transcript.received(GREETING)
    transcript.sent(LOGIN)
    transcript.received(b"A1 OK logged in\r\n")
    transcript.sent(SELECT)
    transcript.received(SELECTED)
    transcript.sent(b"A3 FETCH 1 BODY[]\r\n")
    transcript.received(response[:70_000])
    transcript.received(response[70_000:] + b"A3 OK done\r\n")
    steps = list(replay(transcript))
    fetched = next(s for s in steps if isinstance(s.event, FetchData))
    assert fetched.wire == response
    shown = str(fetched)
    assert shown.startswith("S: * 1 FETCH (BODY[] {100000}\r\nxxx")
    assert f"({len(response)} bytes in all)" in shown
    assert len(shown) < 400
    assert str(server(steps)[-1]).startswith("S: A3 OK done\n")


# ------------------------------------------ bytes the recording did not keep


FORMS = ("live", "text", "jsonl")


def dropped(steps: list[ReplayStep]) -> list[ReplayStep]:
    return [s for s in steps if "did not keep" in s.explanation]


def again(transcript: Transcript, form: str) -> Transcript:
    """The recording as recorded, or saved in ``form`` and loaded back."""
    if form == "live":
        return transcript
    return Transcript.loads(transcript.render() if form == "text" else transcript.to_jsonl())


def test_dropped_bytes_are_a_step_not_the_end_of_the_stream() -> None:
    # Room for everything but the first two FETCH responses: that record is dropped.
    first, rest = len(b"".join(RESPONSES[:2])), len(RESPONSES[2])
    kept_before = sum(map(len, (GREETING, LOGIN, b"A1 OK logged in\r\n", SELECT, SELECTED, FETCH)))
    transcript = scripted([first], max_data_bytes=kept_before + rest)
    data = [r for r in transcript.records if r.kind is Kind.DATA]
    assert [(r.data, r.size) for r in data[-2:]] == [(b"", first), (RESPONSES[2], rest)]

    for form in FORMS:
        steps = list(replay(again(transcript, form)))
        assert errors(steps) == [], form
        assert [s.explanation for s in dropped(steps)] == [
            f"{first} bytes the recording did not keep: the replay is not exact"
        ], form
        # What came after still replays, byte for byte; no end of stream was recorded.
        assert [s.wire for s in server(steps) if s.event is not None][-1:] == RESPONSES[2:]
        assert not any(type(s.event).__name__ == "ConnectionClosed" for s in steps), form
        assert steps[-1].after is State.SELECTED, form


def test_a_redacted_server_record_is_a_step_too() -> None:
    transcript = Transcript()
    transcript.received(GREETING)
    transcript.sent(LOGIN)
    transcript.received(b"A1 OK logged in\r\n")
    alert = b"* OK [ALERT] not for the record\r\n"
    transcript.add(Kind.DATA, Direction.SERVER, alert, sensitive=True)  # not kept (S40)
    transcript.sent(b"A2 LOGOUT\r\n")
    transcript.received(b"* BYE bye\r\nA2 OK bye\r\n")
    transcript.add(Kind.CLOSE, Direction.SERVER)
    for form in FORMS:
        steps = list(replay(again(transcript, form)))
        assert errors(steps) == [], form
        assert [s.explanation for s in dropped(steps)] == [
            f"{len(alert)} bytes the recording did not keep: the replay is not exact"
        ], form
        assert not any(b"not for the record" in s.wire for s in steps)
        # The end of the stream is where the recording says: after LOGOUT's OK.
        assert [s.wire for s in server(steps) if s.event is not None][-3:] == [
            b"* BYE bye\r\n",
            b"A2 OK bye\r\n",
            b"",
        ], form
        assert steps[-1].explanation == "the server closed the connection", form
        assert steps[-1].after is State.CLOSED, form
