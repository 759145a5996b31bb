"""Shared builders for the transcript tests."""

from __future__ import annotations

import itertools
import unicodedata

from mailwire.transcript import Direction, Kind, Transcript

PASSWORD = "s3cr3t-Hunter2"
# AUTH PLAIN initial response for authzid "", user "alice", the password.
PLAIN_TOKEN = "AGFsaWNlAHMzY3IzdC1IdW50ZXIy"


def ticking() -> Transcript:
    """A transcript whose clock advances 10 ms per record."""
    counter = itertools.count()
    return Transcript(clock=lambda: next(counter) / 100, keep_secrets=True)


def smtp_starttls_session() -> Transcript:
    """A realistic submission session: greeting, STARTTLS, AUTH PLAIN, one message."""
    t = ticking()
    t.add(Kind.CONNECT, note="mail.example:587")
    t.received(b"220 mail.example ESMTP ready\r\n")
    t.event("greeting 220: GREETING -> READY (RFC 5321 \u00a74.3.1)")
    t.sent(b"EHLO client.example\r\n")
    t.received(b"250-mail.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
    t.sent(b"STARTTLS\r\n")
    t.received(b"220 2.0.0 go ahead\r\n")
    t.add(Kind.TLS, note="handshake started")
    t.tls_record(Direction.CLIENT, bytes.fromhex("160301002a0100002603"))
    t.tls_record(Direction.SERVER, bytes.fromhex("160303003a0200003603"))
    t.tls_established("TLSv1.3 TLS_AES_256_GCM_SHA384")
    t.sent(b"EHLO client.example\r\n")
    t.received(b"250-mail.example\r\n250 AUTH PLAIN LOGIN\r\n")
    line = f"AUTH PLAIN {PLAIN_TOKEN}\r\n".encode()
    t.sent(line, secrets=((11, 11 + len(PLAIN_TOKEN)),))
    t.received(b"235 2.7.0 Authentication successful\r\n")
    t.sent(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
    t.received(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go on\r\n")
    t.sent(b"Subject: hi\r\n\r\nHello \\o/\r\n.\r\n")
    t.received(b"250 2.0.0 queued as 1234\r\n")
    t.sent(b"QUIT\r\n")
    t.received(b"221 2.0.0 bye\r\n")
    t.add(Kind.CLOSE, note="by us")
    return t


def every_output(t: Transcript, reveal_secrets: bool = False) -> dict[str, str]:
    """Every rendering and export, by name."""
    out = {
        style: t.render(style, reveal_secrets=reveal_secrets)
        for style in ("text", "annotated", "raw")
    }
    out["jsonl"] = t.to_jsonl(reveal_secrets=reveal_secrets)
    out["repr"] = repr(t) + "".join(repr(record) for record in t.records)
    return out


def is_safe_to_print(text: str) -> bool:
    """No control, format (bidi), separator or odd space character but LF and U+0020."""
    for char in text:
        if char == "\n" or " " <= char <= "~":
            continue
        if ord(char) < 0x80 or unicodedata.category(char)[0] in "CZ":
            return False
    return True
