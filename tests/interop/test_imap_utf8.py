"""UTF8=ACCEPT (RFC 6855) against Courier-IMAP 5, with non-ASCII mailbox names.

Dovecot 2.3 does not offer UTF8=ACCEPT (see test_imap_compress.py); Courier
does (tests/lab/courier.py runs it pre-authenticated on loopback). Each test
runs through both clients and checks the wire as well as the results: after
``ENABLE UTF8=ACCEPT`` mailbox names go as UTF-8 quoted strings, not
modified UTF-7 (RFC 6855 §3), searches carry no CHARSET, and APPEND sends
the message as ``UTF8 (~{n})`` (§4), which Courier otherwise answers with
an ALERT that the client mishandles Unicode messages.
"""

from __future__ import annotations

from mailwire import TLSMode
from mailwire.imap import search
from mailwire.transcript import Direction, Kind, Transcript
from tests.interop.imap_support import Sync, kind, unique
from tests.lab import CourierLab

__all__ = ["kind"]


def _client(kind: str, lab: CourierLab, transcript: Transcript) -> Sync:
    # PREAUTH on plaintext loopback: allowed because TLS is not asked for (S6).
    client = Sync(kind, lab.host, lab.port, tls=TLSMode.PLAIN, timeout=10, transcript=transcript)
    client.connect()
    return client


def _sent(transcript: Transcript) -> bytes:
    return b"".join(
        r.data
        for r in transcript.records
        if r.kind is Kind.DATA and r.direction is Direction.CLIENT
    )


def test_utf8_mailbox_names_and_messages(kind: str, courier_lab: CourierLab) -> None:
    transcript = Transcript(max_data_bytes=None)
    c = _client(kind, courier_lab, transcript)
    name = f"INBOX.Räksmörgås-{unique()}"
    renamed = f"INBOX.Грузовик-{unique()}"
    subject = f"Grüße aus Köln {unique()}"
    message = (
        f"From: Jürgen <j@example.test>\r\nTo: a@example.test\r\nSubject: {subject}\r\n"
        "Date: Fri, 27 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nÄpfel und Birnen.\r\n"
    ).encode()
    try:
        assert c.client.state.name == "AUTHENTICATED"  # PREAUTH
        assert "UTF8=ACCEPT" in c.capabilities
        assert c.enable("UTF8=ACCEPT") == ("UTF8=ACCEPT",)
        c.create(name)
        assert name in [m.name for m in c.list("", "INBOX.*")]
        appended = c.append(name, message)
        assert len(appended.uids) == 1
        assert c.alerts == []  # Courier's "does not appear to implement Unicode" alert
        opened = c.select(name)
        assert opened.mailbox.exists == 1
        got = c.fetch("1:*", ["ENVELOPE", "BODY.PEEK[]"])
        (data,) = got.values()
        assert data.envelope is not None
        assert data.envelope.subject == subject
        assert data.envelope.from_[0].name == "Jürgen"
        assert data.sections["BODY[]"] == message
        assert c.search(search.subject("Grüße")) == list(got)
        c.close()  # Courier has no UNSELECT
        c.rename(name, renamed)
        names = [m.name for m in c.list("", "INBOX.*")]
        assert renamed in names
        assert name not in names
        assert c.status(renamed, ["MESSAGES"]).items["MESSAGES"] == 1
        c.delete(renamed)
    finally:
        c.logout()
    wire = _sent(transcript)
    # RFC 6855 §3: names as UTF-8 quoted strings; no modified UTF-7, no CHARSET.
    assert f'CREATE "{name}"'.encode() in wire
    assert b"&" not in wire.split(b"APPEND", 1)[0]
    assert b"CHARSET" not in wire
    # §4: the message went as a UTF8 literal8.
    assert b" UTF8 (~{%d" % len(message) in wire


def test_names_agree_with_and_without_utf8(kind: str, courier_lab: CourierLab) -> None:
    """Without ENABLE the same name travels as modified UTF-7 and reads back equal."""
    name = f"INBOX.Café-{unique()}"
    plain = Transcript(max_data_bytes=None)
    c = _client(kind, courier_lab, plain)
    try:
        c.create(name)
        listed = [m.name for m in c.list("", "INBOX.*")]
        assert name in listed
    finally:
        c.logout()
    assert b"Caf&AOk-" in _sent(plain)  # RFC 3501 §5.1.3: é is &AOk-
    utf8 = Transcript(max_data_bytes=None)
    c = _client(kind, courier_lab, utf8)
    try:
        c.enable("UTF8=ACCEPT")
        assert name in [m.name for m in c.list("", "INBOX.*")]
        c.delete(name)
    finally:
        c.logout()
    assert f'DELETE "{name}"'.encode() in _sent(utf8)


def test_plain_literal_before_enable(kind: str, courier_lab: CourierLab) -> None:
    """RFC 6855 §4: the UTF8 form belongs to ENABLE UTF8=ACCEPT; before it, a plain literal."""
    transcript = Transcript(max_data_bytes=None)
    c = _client(kind, courier_lab, transcript)
    try:
        appended = c.append("INBOX", b"Subject: plain ascii\r\n\r\nbody\r\n")
        assert len(appended.uids) == 1
    finally:
        c.logout()
    wire = _sent(transcript)
    assert b"UTF8 (" not in wire
    assert b"~{" not in wire
    assert b" APPEND INBOX {" in wire
