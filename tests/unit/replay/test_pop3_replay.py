"""pop3.replay: recorded POP3 sessions re-fed through a fresh core, step by step.

Three sources of recordings:

- real sessions against the Dovecot lab (STLS with USER/PASS, implicit TLS
  with AUTH PLAIN as an initial response and after a challenge), saved as
  text and as JSON Lines and loaded back;
- MailKit's POP3 corpus (Comcast, Exchange, Gmail, and the LANG/UTF8
  servers), 49 scenarios, whose client bytes are MailKit's and whose replies
  are the servers';
- deliberately altered recordings, which must give a difference step (or a
  refusal, or a protocol error) instead of an exception.

The expected states and sections are RFC 1939's: the greeting leaves the
session in AUTHORIZATION (§4), a successful login enters TRANSACTION (§4),
QUIT from TRANSACTION enters UPDATE (§6); STAT, LIST, RETR, DELE, NOOP and
RSET are TRANSACTION commands (§5), TOP, UIDL, USER and PASS optional ones
(§7); a multi-line answer ends with a "." line and its body lines are
byte-stuffed (§3). CAPA is RFC 2449 §5, STLS RFC 2595 §4, AUTH RFC 5034 §4.
"""

from __future__ import annotations

import base64
import functools
import json
import pathlib
import uuid
from typing import Any

import pytest

from mailwire import TLSMode, Transcript, pop3
from mailwire.pop3 import State
from mailwire.pop3._replay import Step
from mailwire.transcript import Direction
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE

PLAIN_PAYLOAD = base64.b64encode(f"\0{ALICE.name}\0{ALICE.password}".encode()).decode()

# ------------------------------------------------------------ helpers


def problems(steps: list[Step]) -> list[str]:
    """Every step that reports a difference, a refusal or an error."""
    out = []
    for step in steps:
        head = step.explanation.split(":")[0]
        if (
            step.mismatch is not None
            or "refuses this" in step.explanation
            or "Error" in head
            or head == "not understood"
        ):
            out.append(str(step))
    return out


def client_steps(steps: list[Step]) -> list[Step]:
    return [s for s in steps if s.direction is Direction.CLIENT]


def first(steps: list[Step], kind: type) -> Step:
    return next(s for s in steps if isinstance(s.event, kind))


def message_bytes(steps: list[Step], command: type) -> bytes:
    return b"".join(
        s.event.data
        for s in steps
        if isinstance(s.event, pop3.MessageData) and isinstance(s.event.command, command)
    )


# ------------------------------------------------------- real sessions

SESSIONS = {
    "stls-user-pass": (TLSMode.STARTTLS, {"mechanisms": ["USER"]}),
    "implicit-plain-initial": (TLSMode.IMPLICIT, {"mechanisms": ["PLAIN"]}),
    "implicit-plain-challenge": (
        TLSMode.IMPLICIT,
        {"mechanisms": ["PLAIN"], "initial_response": False},
    ),
}


def seed(lab: DovecotLab) -> bytes:
    """One message with lines a server must dot-stuff; returns it as served (CRLF)."""
    lab.purge(ALICE)
    message_id = f"<{uuid.uuid4().hex}@pop3-replay.test>"
    data = (
        f"From: seed@example.test\r\nTo: alice@example.test\r\nSubject: replay\r\n"
        f"Message-ID: {message_id}\r\n\r\n"
    ).encode() + b".dot first\r\n..two dots\r\n.\r\nend\r\n"
    lab.seed(data, ALICE)
    stored = lab.wait_for_message(ALICE, message_id)
    return stored.replace(b"\n", b"\r\n")  # Dovecot stores LF, serves CRLF


def record(lab: DovecotLab, session: str) -> tuple[Transcript, bytes]:
    tls, login = SESSIONS[session]
    served = seed(lab)
    port = lab.pop3_port if tls is TLSMode.STARTTLS else lab.pop3s_port
    with pop3.Client(lab.host, port, tls=tls, ssl_context=lab.client_context()) as client:
        client.login(ALICE.name, ALICE.password, **login)
        client.list()
        client.uidl()
        client.top(1, 0)
        client.retrieve(1)
        client.noop()
        client.delete(1)
        client.reset()
    return client.transcript, served


@pytest.fixture(scope="module", params=sorted(SESSIONS))
def live(request: pytest.FixtureRequest, dovecot_lab: DovecotLab) -> tuple[str, Transcript, bytes]:
    transcript, served = record(dovecot_lab, request.param)
    return request.param, transcript, served


@pytest.mark.parametrize("form", ["text", "jsonl"])
def test_a_live_session_replays_without_difference(
    live: tuple[str, Transcript, bytes], form: str, tmp_path: pathlib.Path
) -> None:
    session, transcript, served = live
    path = tmp_path / "pop3.session"
    path.write_text(transcript.render() if form == "text" else transcript.to_jsonl())
    steps = list(pop3.replay(Transcript.load(path)))
    assert steps, "no steps"
    assert problems(steps) == []

    # RFC 1939 §4: the greeting leaves the session in AUTHORIZATION.
    greeting = first(steps, pop3.Greeting)
    assert (greeting.before, greeting.after) == (State.GREETING, State.AUTHORIZATION)
    assert "RFC 1939 §4" in greeting.explanation

    sent = [type(s.event).__name__ for s in client_steps(steps)]
    if session.startswith("stls"):
        assert sent[:2] == ["Capa", "Stls"]
        stls = first(steps, pop3.Stls)
        assert "RFC 2595 §4" in stls.explanation
        # RFC 2595 §4: after TLS the client discards the capabilities and asks again.
        handshake = next(
            s for s in steps if s.direction is Direction.LOCAL and s.before is State.TLS_HANDSHAKE
        )
        assert handshake.after is State.AUTHORIZATION
        assert sent[2] == "Capa"
        assert [v for v in sent if v in ("User", "Pass", "Auth")] == ["User", "Pass"]
        login = first(steps, pop3.Pass)
        assert "RFC 1939 §7" in login.explanation
    else:
        assert "Stls" not in sent
        assert all(s.tls for s in steps)
        auth = first(steps, pop3.Auth)
        assert "RFC 5034 §4" in auth.explanation
        if "challenge" in session:
            challenge = first(steps, pop3.Continuation)
            assert challenge.before is State.AUTH
            assert challenge.after is State.AUTH
            assert "AuthResponse" in sent
        else:
            assert "AuthResponse" not in sent
    # RFC 1939 §4: a successful login enters TRANSACTION.
    entered = next(s for s in steps if s.after is State.TRANSACTION)
    assert entered.direction is Direction.SERVER
    assert entered.before is State.AUTH

    assert {"Stat", "List", "Uidl", "Top", "Retr", "Noop", "Dele", "Rset", "Quit"} <= set(sent)
    for command, section in [
        (pop3.Stat, "RFC 1939 §5"),
        (pop3.Retr, "RFC 1939 §5"),
        (pop3.Dele, "RFC 1939 §5"),
        (pop3.Rset, "RFC 1939 §5"),
        (pop3.Top, "RFC 1939 §7"),
        (pop3.Uidl, "RFC 1939 §7"),
        (pop3.Capa, "RFC 2449 §5"),
    ]:
        step = first(steps, command)
        assert section in step.explanation, (command, step.explanation)
        assert step.before is State.TRANSACTION or command is pop3.Capa

    # The message as Dovecot stored it: RETR gives it whole, the stuffing
    # dots removed (§3); TOP n 0 the header and the blank line after it (§7).
    assert message_bytes(steps, pop3.Retr) == served
    head, _, _ = served.partition(b"\r\n\r\n")
    assert message_bytes(steps, pop3.Top) == head + b"\r\n\r\n"
    ends = [s for s in steps if isinstance(s.event, pop3.End)]
    assert ends
    assert all(s.wire == b".\r\n" and "RFC 1939 §3" in s.explanation for s in ends)

    # RFC 1939 §6: QUIT from TRANSACTION enters UPDATE; its +OK ends the session.
    quit_step = first(steps, pop3.Quit)
    assert (quit_step.before, quit_step.after) == (State.TRANSACTION, State.UPDATE)
    assert "§6" in quit_step.explanation
    assert steps[-1].after is State.CLOSED

    shown = "\n".join(map(str, steps))
    assert ALICE.password not in shown
    assert PLAIN_PAYLOAD not in shown
    # The redacted secret is shown as '*' in place, never compared.
    secret_steps = [s for s in client_steps(steps) if b"*" * 8 in s.wire]
    assert secret_steps
    assert all(s.mismatch is None for s in secret_steps)


def test_dot_stuffed_lines_are_shown_as_they_crossed_the_wire(
    live: tuple[str, Transcript, bytes],
) -> None:
    _, transcript, _ = live
    text = transcript.render()
    assert "..dot first" in text  # RFC 1939 §3: the server stuffed it
    steps = list(pop3.replay(Transcript.loads(text)))
    body = message_bytes(steps, pop3.Retr)
    assert b"\r\n.dot first\r\n...two dots" not in body
    assert b"\r\n.dot first\r\n..two dots\r\n.\r\nend\r\n" in body


# ------------------------------------------------ deliberately altered


def altered(transcript: Transcript, old: str, new: str) -> Transcript:
    text = transcript.render()
    assert old in text
    return Transcript.loads(text.replace(old, new, 1))


def test_an_altered_live_command_is_a_difference_step(
    live: tuple[str, Transcript, bytes],
) -> None:
    _, transcript, _ = live
    steps = list(pop3.replay(altered(transcript, "C*: UIDL\n", "C*: uidl\n")))
    differing = [s for s in steps if s.mismatch is not None]
    assert len(differing) == 1
    step = differing[0]
    assert step.wire == b"uidl\r\n"
    assert step.mismatch == b"UIDL\r\n"  # RFC 1939 §7 spells the keyword so
    assert isinstance(step.event, pop3.Uidl)
    assert "our writer would send" in str(step)
    assert steps[-1].after is State.CLOSED  # the rest replays as before


def test_an_altered_message_number_is_a_difference_step(
    live: tuple[str, Transcript, bytes],
) -> None:
    _, transcript, _ = live
    steps = list(pop3.replay(altered(transcript, "C*: RETR 1\n", "C*: RETR 001\n")))
    step = first(steps, pop3.Retr)
    assert step.wire == b"RETR 001\r\n"
    assert step.mismatch == b"RETR 1\r\n"


def test_an_altered_reply_is_a_protocol_error_step(
    live: tuple[str, Transcript, bytes],
) -> None:
    _, transcript, _ = live
    text = transcript.render()
    stat_reply = next(line for line in text.splitlines() if line.startswith("S*: +OK 1 "))
    steps = list(pop3.replay(altered(transcript, stat_reply + "\n", "S*: +OK one\n")))
    errors = [s for s in steps if s.explanation.startswith("RemoteProtocolError")]
    assert len(errors) == 1
    assert "drop listing (RFC 1939 §5)" in errors[0].explanation
    assert errors[0].after is State.ERROR
    # Commands after it are shown, refused by the stopped core, never raised.
    assert "refuses this" in steps[-1].explanation


def test_a_command_out_of_its_state_is_a_refusal_step() -> None:
    text = "\n".join(
        [
            "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
            "C: STAT",  # RFC 1939 §5: only in the TRANSACTION state
            "S: -ERR not yet",
            "",
        ]
    )
    steps = list(pop3.replay(Transcript.loads(text)))
    stat = first(steps, pop3.Stat)
    assert stat.before is State.AUTHORIZATION
    assert "refuses this" in stat.explanation
    assert "TRANSACTION" not in stat.after.name


def test_a_line_that_is_no_command_is_a_step() -> None:
    text = "S: +OK ready\nC: XYZZY 3\nS: -ERR unknown command\n"
    steps = list(pop3.replay(Transcript.loads(text)))
    assert steps[1].direction is Direction.CLIENT
    assert steps[1].explanation.startswith("not understood")
    assert steps[1].wire == b"XYZZY 3\r\n"


def test_the_rfc_1939_example_session() -> None:
    # RFC 1939 §10, with the APOP digest of its §7 example.
    text = "\n".join(
        [
            "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            "S: +OK mrose's maildrop has 2 messages (320 octets)",
            "C: STAT",
            "S: +OK 2 320",
            "C: LIST",
            "S: +OK 2 messages (320 octets)",
            "S: 1 120",
            "S: 2 200",
            "S: .",
            "C: RETR 1",
            "S: +OK 120 octets",
            "S: <the POP3 server sends message 1>",
            "S: .",
            "C: DELE 1",
            "S: +OK message 1 deleted",
            "C: RETR 2",
            "S: +OK 200 octets",
            "S: <the POP3 server sends message 2>",
            "S: .",
            "C: DELE 2",
            "S: +OK message 2 deleted",
            "C: QUIT",
            "S: +OK dewey POP3 server signing off (maildrop empty)",
            "",
        ]
    )
    steps = list(pop3.replay(Transcript.loads(text)))
    assert problems(steps) == []
    greeting = steps[0]
    assert isinstance(greeting.event, pop3.Greeting)
    assert greeting.event.timestamp == "<1896.697170952@dbc.mtview.ca.us>"
    apop_answer = steps[2]
    assert (apop_answer.before, apop_answer.after) == (State.AUTH, State.TRANSACTION)
    stat = steps[4]
    assert isinstance(stat.event, pop3.DropListing)
    assert (stat.event.count, stat.event.octets) == (2, 320)
    scans = [s.event for s in steps if isinstance(s.event, pop3.ScanListing)]
    assert [(e.message, e.octets) for e in scans] == [(1, 120), (2, 200)]
    quit_step = first(steps, pop3.Quit)
    assert (quit_step.before, quit_step.after) == (State.TRANSACTION, State.UPDATE)
    assert steps[-1].after is State.CLOSED


# --------------------------------------------------------- MailKit corpus

CORPUS = pathlib.Path(__file__).resolve().parents[4] / "shared" / "corpora"
MANIFEST = CORPUS / "mailkit" / "manifest" / "pop3.json"


@functools.cache
def manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text("utf-8"))  # type: ignore[no-any-return]


def transcript_of(scenario: dict[str, Any]) -> Transcript:
    root = CORPUS / manifest()["resource_root"]
    transcript = Transcript(max_data_bytes=None)
    for step in scenario["steps"]:
        if step.get("send") is not None:
            transcript.sent(step["send"].encode("utf-8"))
        reply = step["reply"]
        if "file" in reply:
            transcript.received((root / reply["file"]).read_bytes().replace(b"\n", b"\r\n"))
        else:
            transcript.received(reply["inline"].encode("utf-8"))
    return transcript


# Scenarios that feed a deliberately malformed reply (the files MailKit names
# *-error*), and the error our core gives for the first of them.
EXPECTED_ERRORS = {
    # "+OK 7": RFC 1939 §5 wants "count SP octets" after STAT's +OK.
    "TestGetMessageCountParseExceptions": "malformed drop listing (RFC 1939 §5): b'+OK 7\\r\\n'",
    # "+OK 1": LIST n answers "n SP octets".
    "TestGetMessageSizeParseExceptions": "malformed scan listing (RFC 1939 §5): b'+OK 1\\r\\n'",
    # A listing line "7" without its size.
    "TestGetMessageSizesParseExceptions": "malformed scan listing (RFC 1939 §5): b'7\\r\\n'",
    # "+OK 1": UIDL n answers "n SP unique-id" (§7).
    "TestGetMessageUidParseExceptions": "malformed unique-id listing (RFC 1939 §7): b'+OK 1\\r\\n'",
    "TestGetMessageUidsParseExceptions": "malformed unique-id listing (RFC 1939 §7): b'3\\r\\n'",
}


def scenarios() -> list[dict[str, Any]]:
    return [s for s in manifest()["scenarios"] if s["complete"]]


def test_the_corpus_is_there() -> None:
    assert len(scenarios()) == 49


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s["id"])
def test_mailkit_scenario(scenario: dict[str, Any]) -> None:
    steps = list(pop3.replay(transcript_of(scenario)))
    name = scenario["id"].split(".")[-1].removesuffix("Async")
    expected = EXPECTED_ERRORS.get(name)
    errors = [s.explanation for s in steps if s.explanation.startswith("RemoteProtocolError")]
    if expected is not None:
        assert errors == [f"RemoteProtocolError: {expected}"]
        assert steps[-1].after is State.ERROR
        return
    assert errors == []
    # MailKit wrote every command exactly as our writer does.
    assert [s.mismatch for s in steps if s.mismatch is not None] == []
    others = [p for p in problems(steps) if "refuses" in p or "not understood" in p]
    assert others == []
    last_sent = [s for s in scenario["steps"] if s.get("send")]
    if not last_sent:
        # RFC 1939 §4 leaves a -ERR greeting undefined; the session is refused.
        assert isinstance(steps[0].event, pop3.Err)
        assert steps[-1].after is State.REFUSED
    elif last_sent[-1]["send"] == "QUIT\r\n":
        assert steps[-1].after is State.CLOSED  # +OK to QUIT (§6)
    else:
        assert steps[-1].after in (State.AUTHORIZATION, State.TRANSACTION)


def test_mailkit_sasl_login_steps_through_its_challenges() -> None:
    scenario = next(s for s in scenarios() if s["id"] == "Pop3ClientTests.TestSaslAuthentication")
    steps = list(pop3.replay(transcript_of(scenario)))
    challenges = [s for s in steps if isinstance(s.event, pop3.Continuation)]
    responses = [s for s in steps if isinstance(s.event, pop3.AuthResponse)]
    assert len(challenges) == 2
    assert len(responses) == 2
    assert all(s.before is State.AUTH for s in challenges + responses)
    assert all("RFC 5034 §4" in s.explanation for s in challenges + responses)
    done = next(s for s in steps if s.after is State.TRANSACTION)
    assert done.before is State.AUTH


def test_mailkit_pipelined_commands_are_answered_in_order() -> None:
    # RFC 2449 §6.6: the server processes pipelined commands in turn.
    scenario = next(s for s in scenarios() if s["id"] == "Pop3ClientTests.CreateGMailCommands")
    steps = list(pop3.replay(transcript_of(scenario)))
    assert problems(steps) == []
    retrieved = [
        s.event.command.message
        for s in steps
        if isinstance(s.event, pop3.End) and isinstance(s.event.command, pop3.Retr)
    ]
    # RETR 1 alone, then RETR 1, 2 and 3 in one write, twice (the scenario's sends).
    assert retrieved[:7] == [1, 1, 2, 3, 1, 2, 3]
    pipelined = next(s for s in steps if s.wire == b"RETR 3\r\n")
    answer = steps.index(pipelined) + 1
    # All three were sent before the first answer arrived.
    assert isinstance(steps[answer].event, pop3.Ok)
    assert steps[answer].event.command == pop3.Retr(1)
