"""Every SMTP scenario of MailKit's manifest, replayed through the core.

``shared/corpora/mailkit/manifest/smtp.json`` (format in shared/corpora/README.md)
lists, per MailKit test, the exact bytes MailKit's client wrote and the real
server replies it got back. Here each expected client line is turned into the
command that means it, sent through ``Connection``, and the bytes our writer
produces must equal MailKit's byte for byte (``send_pattern`` steps: a glob
where ``{*}`` is filled with a value of ours). Then the recorded reply is fed
whole, one byte at a time and split in two, and must come out as one reply per
command, paired in order.

What this does not test: *which* command a client sends next (HELO after a
504, RSET after a refusal, the SASL mechanism, BODY=8BITMIME ...). Those are
the flows' decisions; here the manifest dictates them.
"""

from __future__ import annotations

import base64
import fnmatch
import json
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import ConnectionLost
from mailwire.errors import RemoteProtocolError
from mailwire.smtp import (
    Auth,
    AuthCancel,
    AuthResponse,
    Bdat,
    Command,
    Connection,
    Content,
    Data,
    Ehlo,
    EndOfData,
    Expn,
    Helo,
    Help,
    Lhlo,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Reply,
    Rset,
    StartTLS,
    State,
    Vrfy,
)

from .helpers import MAILKIT, RESOURCES, SPLITTERS, feed

MANIFEST: dict[str, Any] = json.loads((MAILKIT / "manifest/smtp.json").read_text("utf-8"))
SCENARIOS: list[dict[str, Any]] = MANIFEST["scenarios"]

# The message sent after each 354 (the manifest records only the terminator).
MESSAGE = (
    b"From: sender@example.com\r\nTo: recipient@example.com\r\nSubject: replay\r\n\r\n"
    b".this line starts with a dot\r\n"
)
# RFC 5321 §4.5.2 by hand: the dotted line doubled, then the end of data.
MESSAGE_WIRE = (
    b"From: sender@example.com\r\nTo: recipient@example.com\r\nSubject: replay\r\n\r\n"
    b"..this line starts with a dot\r\n.\r\n"
)

# Our values for the {*} holes, by pattern (the manifest says what MailKit computed).
UTF8_ADDRESS = "пользователь@пример.рф"
FILLS: dict[str, list[str]] = {
    "EHLO {*}\r\n": ["EHLO unit-tests.mimekit.org\r\n"],
    "MAIL FROM:<{*}> SMTPUTF8 BODY=8BITMIME\r\n": [
        f"MAIL FROM:<{UTF8_ADDRESS}> SMTPUTF8 BODY=8BITMIME\r\n"
    ],
    # In CreateInternationalMailboxesCommands: first the UTF-8 transaction, then
    # an ASCII one (its MAIL has no SMTPUTF8).
    "RCPT TO:<{*}>\r\n": [f"RCPT TO:<{UTF8_ADDRESS}>\r\n", "RCPT TO:<recipient@example.com>\r\n"],
    "MAIL FROM:<{*}> BODY=8BITMIME\r\n": ["MAIL FROM:<sender@example.com> BODY=8BITMIME\r\n"],
    "MAIL FROM:<sender@example.com> BODY=8BITMIME ENVID={*} RET=HDRS\r\n": [
        "MAIL FROM:<sender@example.com> BODY=8BITMIME ENVID=mimekit-envid-0001 RET=HDRS\r\n"
    ],
}

KNOWN_BUGS: dict[str, str] = {}

#: Scenarios whose "greeting" is neither 220, 554 nor 421 (MailKit: 221 not ready).
NOT_A_GREETING = {"SmtpClientTests.TestServiceNotReady", "SmtpClientTests.TestServiceNotReadyAsync"}


def reply_bytes(reply: dict[str, Any]) -> bytes | None:
    """The server's bytes for a step: file (LF made CRLF), inline, or none (closed)."""
    if reply.get("none"):
        return None
    if "file" in reply:
        return (RESOURCES / reply["file"]).read_bytes().replace(b"\n", b"\r\n")
    encoding = "utf-8" if reply.get("encoding") == "UTF8" else "latin-1"
    data: bytes = reply["inline"].encode(encoding)
    return data


def _path(rest: str, prefix: str) -> tuple[str, dict[str, str | None]]:
    assert rest.upper().startswith(prefix), rest
    address, _, tail = rest[len(prefix) :].partition(">")
    params: dict[str, str | None] = {}
    for word in tail.split():
        key, eq, value = word.partition("=")
        params[key] = value if eq else None
    return address, params


def parse_line(line: str, conn: Connection) -> Command:
    """The command whose wire form MailKit wrote as ``line`` (CRLF removed)."""
    if conn.state is State.AUTH:
        return AuthCancel() if line == "*" else AuthResponse(base64.b64decode(line))
    verb, _, rest = line.partition(" ")
    simple: dict[str, Callable[[], Command]] = {
        "DATA": Data,
        "RSET": Rset,
        "NOOP": Noop,
        "QUIT": Quit,
        "STARTTLS": StartTLS,
    }
    hello: dict[str, type[Ehlo | Helo | Lhlo]] = {"EHLO": Ehlo, "HELO": Helo, "LHLO": Lhlo}
    verb = verb.upper()
    if verb in simple:
        assert not rest
        return simple[verb]()
    if verb in hello:
        return hello[verb](rest)
    if verb == "MAIL":
        return MailFrom(*_path(rest, "FROM:<"))
    if verb == "RCPT":
        return RcptTo(*_path(rest, "TO:<"))
    if verb == "AUTH":
        mechanism, _, initial = rest.partition(" ")
        if not initial:
            return Auth(mechanism)
        return Auth(mechanism, b"" if initial == "=" else base64.b64decode(initial))
    if verb == "VRFY":
        return Vrfy(rest)
    if verb == "EXPN":
        return Expn(rest)
    if verb == "HELP":
        return Help(rest or None)
    raise AssertionError(f"no command for {line!r}")


def replay(scenario: dict[str, Any], split: Callable[[bytes], list[bytes]]) -> Connection:
    conn = Connection()
    fills = {pattern: list(values) for pattern, values in FILLS.items()}
    for n, step in enumerate(scenario["steps"]):
        where = f"{scenario['id']} step {n}"
        commands: list[Command] = []
        if n == 0:
            assert step["send"] is None  # the greeting
        elif step.get("after_data"):
            # The message, then the terminator the manifest records.
            assert conn.state is State.CONTENT, where
            commands = [Content(MESSAGE), EndOfData()]
            for command in commands:
                conn.send(command)
            sent = conn.data_to_send()
            assert sent == MESSAGE_WIRE, where
            assert sent.endswith(b"\r\n" + step["send"].encode("latin-1")), where
            commands = commands[1:]  # only the end of data gets a reply
        elif step.get("send_pattern") == "{*}":
            # BDAT n LAST plus the chunk, as one step (README: SMTP).
            command = Bdat(MESSAGE, last=True)
            conn.send(command)
            assert conn.data_to_send() == b"BDAT %d LAST\r\n" % len(MESSAGE) + MESSAGE, where
            commands = [command]
        else:
            if "send" in step:
                text = step["send"]
            else:
                pattern = step["send_pattern"]
                options = fills[pattern]
                text = options.pop(0) if len(options) > 1 else options[0]
                assert fnmatch.fnmatchcase(text, pattern.replace("{*}", "*")), where
            assert text.endswith("\r\n"), where
            for line in text[:-2].split("\r\n"):
                command = parse_line(line, conn)
                conn.send(command)
                commands.append(command)
            encoding = (
                "utf-8" if step.get("encoding") == "UTF8" or UTF8_ADDRESS in text else "latin-1"
            )
            assert conn.data_to_send() == text.encode(encoding), where
        data = reply_bytes(step["reply"])
        if data is None:
            # The server had already gone: the pending command gets no reply.
            conn.receive_data(b"")
            with pytest.raises(ConnectionLost):
                conn.next_event()
            return conn
        events = feed(conn, split(data))
        replies = [e for e in events if isinstance(e, Reply)]
        assert b"".join(r.raw for r in replies) == data, where
        expected = commands or [None]
        assert [r.command for r in replies] == expected, where
        assert conn.pending == (), where
        if step.get("next_state") == "WaitForEndOfData":
            assert replies[-1].code == 354, where
            assert conn.state is State.CONTENT, where
    return conn


def _param(scenario: dict[str, Any], split: str) -> Any:
    bug = KNOWN_BUGS.get(scenario["id"])
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(scenario, SPLITTERS[split], id=f"{scenario['id']}-{split}", marks=marks)


@pytest.mark.parametrize(
    ("scenario", "split"), [_param(s, split) for s in SCENARIOS for split in SPLITTERS]
)
def test_replay(scenario: dict[str, Any], split: Callable[[bytes], list[bytes]]) -> None:
    if scenario["id"] in NOT_A_GREETING:
        # MailKit's client throws on this greeting too; security.md S8.
        with pytest.raises(RemoteProtocolError, match="not an SMTP greeting"):
            replay(scenario, split)
        return
    conn = replay(scenario, split)
    last = scenario["steps"][-1]
    if last.get("send") == "QUIT\r\n" or last["reply"].get("none"):
        assert conn.state is State.CLOSED
    elif len(scenario["steps"]) == 1:  # a greeting alone
        assert conn.state in {State.INIT, State.REFUSED}
    else:
        assert conn.state not in {State.ERROR, State.CLOSED}


def test_manifest_shape() -> None:
    """README counts: 43 SMTP scenarios, all complete; every reply file exists."""
    assert MANIFEST["protocol"] == "smtp"
    assert len(SCENARIOS) == 43
    assert all(s["complete"] for s in SCENARIOS)
    for scenario in SCENARIOS:
        for step in scenario["steps"]:
            if "file" in step["reply"]:
                assert (RESOURCES / step["reply"]["file"]).is_file()
    patterns = {s["send_pattern"] for sc in SCENARIOS for s in sc["steps"] if "send_pattern" in s}
    assert patterns <= set(FILLS) | {"{*}"}


def test_service_not_ready_greeting() -> None:
    """TestServiceNotReady: a 221 greeting is no greeting (RFC 5321 §3.1: 220 or 554)."""
    (scenario,) = [s for s in SCENARIOS if s["id"] == "SmtpClientTests.TestServiceNotReady"]
    with pytest.raises(RemoteProtocolError):
        replay(scenario, SPLITTERS["whole"])


def test_helo_fallback_capabilities() -> None:
    """CreateHeloFallbackCommands: EHLO refused (504), HELO accepted: no extensions."""
    (scenario,) = [s for s in SCENARIOS if s["id"] == "SmtpClientTests.CreateHeloFallbackCommands"]
    conn = Connection()
    steps = dict(scenario, steps=scenario["steps"][:3])
    conn = replay(steps, SPLITTERS["whole"])
    assert conn.state is State.READY
    assert conn.capabilities is not None
    assert not conn.capabilities.esmtp


def test_pipelined_refusal_is_tagged() -> None:
    """CreateNoRecipientsAcceptedPipelinedCommands: the 550 is about recipient@example.com."""
    (scenario,) = [
        s
        for s in SCENARIOS
        if s["id"] == "SmtpClientTests.CreateNoRecipientsAcceptedPipelinedCommands"
    ]
    conn = replay(dict(scenario, steps=scenario["steps"][:4]), SPLITTERS["whole"])
    assert conn.accepted == []
    assert conn.state is State.RCPT
