"""Every complete IMAP scenario of MailKit's manifest, stepped through our core.

``shared/corpora/mailkit/manifest/imap.json`` holds 131 complete scenarios
from 19 server families (Gmail, Dovecot, Exchange, Yahoo, Yandex, iCloud,
Cyrus, UW, Domino, Courier ...): the bytes MailKit's client wrote and the
replies the servers sent. Each scenario becomes a transcript (client and
server records in order) and goes through :func:`mailwire.imap._replay.replay`,
which sends every recorded command through a fresh core and feeds it every
reply. The core must accept each command in its state, pair every tagged
completion with its command by tag, route each continuation to the command
waiting for it, and end in the state the session implies -- or, where the
scenario feeds a deliberately broken reply, fail with a named protocol error.

The greeting-detection list (14 greetings MailKit uses to tell server
families apart) is read too: each greeting must be accepted, with its
capabilities where it carries them.
"""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

import pytest

from mailwire import NEED_DATA
from mailwire.imap._replay import replay
from mailwire.imap._state import State
from mailwire.imap.connection import Connection
from mailwire.transcript import Direction, Kind, Transcript

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpora"
MANIFEST = CORPUS / "mailkit/manifest/imap.json"


@functools.cache
def manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text("utf-8"))  # type: ignore[no-any-return]


def resource(name: str) -> bytes:
    root = CORPUS / manifest()["resource_root"]
    return (root / name).read_bytes().replace(b"\n", b"\r\n")


def reply_bytes(step: dict[str, Any]) -> bytes:
    reply = step["reply"]
    if "inline" in reply:
        return str(reply["inline"]).encode(
            "utf-8" if reply.get("encoding") == "UTF8" else "latin-1"
        )
    if reply.get("status") == "Plus":
        return b"+\r\n"
    if "status" in reply:
        return f"{step['tag']} {reply['status']} completed\r\n".encode()
    data = resource(reply["file"])
    return data.replace(b"A########", str(step.get("tag", "")).encode())


def send_bytes(step: dict[str, Any]) -> bytes:
    encoding = "utf-8" if step.get("encoding") == "UTF8" else "latin-1"
    return str(step["send"]).encode(encoding)


def scenarios() -> list[dict[str, Any]]:
    return [s for s in manifest()["scenarios"] if s["complete"]]


def transcript_of(scenario: dict[str, Any]) -> Transcript:
    transcript = Transcript(max_data_bytes=None)
    for step in scenario["steps"]:
        if step.get("send") is not None:
            transcript.sent(send_bytes(step))
        transcript.received(reply_bytes(step))
    return transcript


# Scenarios that feed a deliberately broken or hostile reply, and the error
# the core must give (the MailKit test expects its client to fail as well).
EXPECTED_ERRORS: dict[str, str] = {
    # "* INVALID" as a greeting: not OK, PREAUTH or BYE (RFC 9051 §7.1, S8).
    "ImapClientTests.TestUnexpectedGreeting": "not an IMAP greeting",
    # "A00000005 BYE ..." is no tagged status (RFC 9051 §7.1: OK, NO or BAD);
    # MailKit tolerates it during LOGOUT, we do not guess what it meant.
    "ImapClientTests.CreateInvalidTaggedByeDuringLogoutCommands": "without OK/NO/BAD",
    # "* {25}" and a literal where a keyword must be.
    "ImapClientTests.CreateInvalidUntaggedResponseCommands": "not an IMAP response",
}


def _verdict(scenario: dict[str, Any]) -> tuple[list[str], State]:
    steps = list(replay(transcript_of(scenario)))
    problems = [
        s.explanation
        for s in steps
        if "Error" in s.explanation.split(":")[0] or "refuses" in s.explanation
    ]
    return problems, steps[-1].after if steps else State.GREETING


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s["id"])
def test_scenario(scenario: dict[str, Any]) -> None:
    if any(step.get("send_pattern") for step in scenario["steps"]):
        pytest.skip("a step's bytes are computed by the test (send_pattern)")
    problems, final = _verdict(scenario)
    expected = EXPECTED_ERRORS.get(scenario["id"])
    if expected is not None:
        assert problems
        assert expected in problems[0]
        return
    assert problems == []
    assert final not in (State.ERROR, State.GREETING)


def test_every_server_family_is_replayed() -> None:
    families = {server for s in scenarios() for server in s["servers"]}
    assert len(families) >= 17  # 19 folders; acl/metadata are families of replies too


@pytest.mark.parametrize("entry", manifest()["greeting_detection"], ids=lambda e: e["greeting"])
def test_greeting_detection_list(entry: dict[str, Any]) -> None:
    conn = Connection()
    conn.receive_data(resource(entry["greeting"]))
    greeting = conn.next_event()
    assert greeting is not NEED_DATA
    assert conn.state in (State.NOT_AUTHENTICATED, State.AUTHENTICATED)
    if "capability_reply" in entry:
        data = resource(entry["capability_reply"]).replace(b"A########", b"A1")
        from mailwire.imap.commands import Capability

        conn.send(Capability())
        conn.receive_data(data)
        while conn.next_event() is not NEED_DATA:
            pass
        assert conn.capabilities is not None
        assert len(conn.capabilities) > 0
    assert Direction.SERVER
    assert Kind.DATA
