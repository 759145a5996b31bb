"""The POP3 clients mark their transcript as POP3, as the SMTP and IMAP clients do theirs.

``Transcript.protocol`` is what exports, replays and the coloured rendering
go by: with it, the lines of a message a POP3 server sends are message data
(RFC 1939 §3) even when one of them looks like an SMTP reply or an IMAP
status; without it, every protocol's forms are tried.
"""

from __future__ import annotations

import uuid

import pytest

from mailwire import TLSMode, Transcript, pop3
from mailwire._transcript_protocol import guess_protocol
from mailwire._transcript_render import strip_color
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE
from tests.unit.pop3.helpers import Sync

# Message lines that read like another protocol's status lines (RFC 5321 §4.2, RFC 9051 §7.1).
LOOKALIKES = (b"550 looks like an SMTP refusal", b"* NO looks like an IMAP refusal")


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("client_class", [pop3.Client, pop3.AsyncClient])
def test_a_new_client_marks_its_transcript(client_class: type) -> None:
    # Nothing is connected: the mark is there from the start, on a given transcript too.
    given = Transcript()
    own = client_class("127.0.0.1", 110, tls=TLSMode.PLAIN)
    passed = client_class("127.0.0.1", 110, tls=TLSMode.PLAIN, transcript=given)
    assert (own.transcript.protocol, passed.transcript.protocol) == ("pop3", "pop3")
    assert passed.transcript is given


def test_a_real_session_renders_message_lines_as_data(dovecot_lab: DovecotLab, kind: str) -> None:
    dovecot_lab.purge(ALICE)
    message_id = f"<{uuid.uuid4().hex}@pop3-protocol.test>"
    message = (
        f"From: seed@example.test\r\nTo: alice@example.test\r\nSubject: protocol\r\n"
        f"Message-ID: {message_id}\r\n\r\n"
    ).encode() + b"".join(line + b"\r\n" for line in LOOKALIKES)
    dovecot_lab.seed(message, ALICE)
    dovecot_lab.wait_for_message(ALICE, message_id)
    with Sync(
        kind,
        dovecot_lab.host,
        dovecot_lab.pop3s_port,
        tls=TLSMode.IMPLICIT,
        ssl_context=dovecot_lab.client_context(),
    ) as client:
        client.login(ALICE.name, ALICE.password)
        retrieved = client.retrieve(1)
    assert all(line in retrieved for line in LOOKALIKES)
    transcript = client.client.transcript
    assert transcript.protocol == "pop3"
    assert guess_protocol(transcript) == "pop3"

    colored = transcript.render(color=True).splitlines()
    for line in LOOKALIKES:
        shown = f"S*: {line.decode()}"
        # RFC 1939 §3: inside a multi-line answer, a line is message data.
        assert shown in colored, shown
    assert any(strip_color(c).startswith("S*: +OK") and c != strip_color(c) for c in colored)
    # Unmarked, the same lines would be taken for an SMTP and an IMAP refusal.
    transcript.protocol = None
    plain = transcript.render(color=True).splitlines()
    assert not any(f"S*: {line.decode()}" in plain for line in LOOKALIKES)
