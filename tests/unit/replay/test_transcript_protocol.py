"""Telling a saved transcript's protocol from its first words (for replay and export)."""

from __future__ import annotations

import pytest

from mailwire import Transcript
from mailwire._transcript_protocol import guess_protocol


@pytest.mark.parametrize(
    ("text", "protocol"),
    [
        # Greetings: RFC 1939 §4 (+OK / -ERR), RFC 9051 §7.1 (* OK / PREAUTH / BYE),
        # RFC 5321 §4.2 (a three-digit code), RFC 2033 §4.1 (LHLO after it).
        ("S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\n", "pop3"),
        ("S: -ERR [SYS/TEMP] not now\n", "pop3"),
        ("S: * OK IMAP4rev2 Service Ready\n", "imap"),
        ("S: * PREAUTH IMAP4rev2 server logged in as Smith\n", "imap"),
        ("S: * BYE Autologout; idle for too long\n", "imap"),
        ("S: 220 foo.com Simple Mail Transfer Service Ready\nC: EHLO bar.com\n", "smtp"),
        ("S: 554 no service here\n", "smtp"),
        ("S: 220 foo.edu LMTP server ready\nC: LHLO foo.edu\n", "lmtp"),
        # Without a greeting, the first command.
        ("C: EHLO bar.com\n", "smtp"),
        ("C: LHLO foo.edu\n", "lmtp"),
        ("C: CAPA\n", "pop3"),
        ("C: APOP mrose c4c9334bac560ecc979e58001b3e22fb\n", "pop3"),
        ("C: a001 LOGIN SMITH SESAME\n", "imap"),
        ("C: A003 UID FETCH 1:* (FLAGS)\n", "imap"),
        # Last, the port in the connect note.
        ("# connect: connected to mail.example:993 (192.0.2.7:993)\n", "imap"),
        ("# connect: connected to mail.example:110 (192.0.2.7:110)\n", "pop3"),
        # Nothing to go on.
        ("C: HELLO there\n", None),
        ("", None),
    ],
)
def test_guess(text: str, protocol: str | None) -> None:
    assert guess_protocol(Transcript.loads(text)) == protocol


def test_a_protocol_set_on_the_transcript_wins() -> None:
    transcript = Transcript.loads("S: +OK hello\n")
    transcript.protocol = "imap"
    assert guess_protocol(transcript) == "imap"
