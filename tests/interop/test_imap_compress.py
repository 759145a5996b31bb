"""COMPRESS=DEFLATE (RFC 4978) against Dovecot 2.3, and that it lacks UTF8=ACCEPT.

The lab loads Dovecot's ``imap_zlib`` plugin, without which 2.3 does not
advertise COMPRESS=DEFLATE. A compressed session lists, appends and fetches
a big message through both clients; the transcript records the deflated
octets as they crossed, and inflating the server's side of it with ``zlib``
(independently of mailwire's own lens) must give back the plain IMAP
exchange, literal included.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from typing import Any

import pytest

from mailwire.transcript import Direction, Kind, Transcript
from tests.interop.imap_support import connect, kind, mailbox, make_message, unique
from tests.lab import DovecotLab

__all__ = ["kind", "mailbox"]


def _big_message(size: int) -> bytes:
    """A message of about ``size`` octets whose text compresses only partly."""
    rng = random.Random(4978)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(3000)
    ]
    lines = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(words) for _ in range(12))
        lines.append(line)
        total += len(line) + 2
    return make_message(subject=unique("deflate"), body="\r\n".join(lines) + "\r\n")


def _records_after_compress(transcript: Any, direction: Direction) -> bytes:
    """The application octets of one side recorded after the COMPRESS go-ahead."""
    tag = b""
    compressed = False
    out = []
    for record in transcript.records:
        if record.kind is not Kind.DATA:
            continue
        data = record.data
        if compressed:
            if record.direction is direction:
                out.append(data)
        elif not tag:
            if record.direction is Direction.CLIENT and b" COMPRESS DEFLATE\r\n" in data:
                tag = data.split(b" ", 1)[0]
        elif record.direction is Direction.SERVER and (at := data.find(tag + b" OK")) >= 0:
            # Whatever follows the tagged OK's line end is deflated already.
            compressed = True
            if direction is Direction.SERVER:
                out.append(data[data.index(b"\r\n", at) + 2 :])
    return b"".join(out)


def test_compressed_session_lists_appends_and_fetches(
    kind: str, dovecot_lab: DovecotLab, mailbox: str
) -> None:
    data = _big_message(3_000_000)
    # Every octet kept (the default keeps the first 4 MiB).
    c = connect(kind, dovecot_lab, transcript=Transcript(max_data_bytes=None))
    try:
        assert "COMPRESS=DEFLATE" in c.client.capabilities
        assert c.compress() is True
        assert c.client.compression
        names = [m.name for m in c.list()]
        assert mailbox in names
        result = c.append(mailbox, data)
        (uid,) = result.uids
        c.select(mailbox)
        got = c.fetch(uid, ["RFC822.SIZE", "BODY.PEEK[]"])[uid]
        assert got.size == len(data)
        assert hashlib.sha256(got.sections["BODY[]"]).digest() == hashlib.sha256(data).digest()
        transcript = c.client.transcript
    finally:
        c.logout()

    # The wire was compressed: far fewer octets crossed than the message has.
    deflated = _records_after_compress(transcript, Direction.SERVER)
    assert 0 < len(deflated) < len(data) * 0.8
    plain = zlib.decompressobj(-15).decompress(deflated)
    sent = zlib.decompressobj(-15).decompress(_records_after_compress(transcript, Direction.CLIENT))
    assert b" LIST " in sent
    assert b" APPEND " in sent
    assert data in sent  # the APPEND literal, whole
    # Inflated independently of mailwire, the server's side is plain IMAP:
    # the LIST, the APPEND continuation and completion, the FETCH literal.
    assert b"* LIST " in plain
    assert mailbox.encode() in plain
    assert b"APPENDUID" in plain
    literal = b"BODY[] {%d}\r\n" % len(data)
    start = plain.index(literal) + len(literal)
    assert plain[start : start + len(data)] == data
    assert b"BYE" in plain or b"OK" in plain[-200:]


def test_compressed_session_fetches_to_a_sink(kind: str, dovecot_lab: DovecotLab) -> None:
    data = _big_message(1_000_000)
    dovecot_lab.seed(data, "alice")
    message_id = next(
        line.split(b":", 1)[1].strip()
        for line in data.split(b"\r\n")
        if line.lower().startswith(b"message-id:")
    )
    chunks: list[bytes] = []

    class Sink:
        def write(self, piece: bytes) -> None:
            chunks.append(bytes(piece))

    c = connect(kind, dovecot_lab)
    try:
        assert c.compress() is True
        c.select("INBOX")
        (uid,) = c.search("HEADER", "Message-ID", message_id.decode())
        c.fetch(uid, ["BODY.PEEK[]"], sink=lambda u, section: Sink())
    finally:
        c.logout()
    got = b"".join(chunks)
    # LMTP delivery put trace fields on top; the stored file has LF line ends.
    assert got.endswith(data)
    stored = dovecot_lab.wait_for_message("alice", message_id)
    assert got.replace(b"\r\n", b"\n") == stored


def test_dovecot_does_not_offer_utf8_accept(kind: str, dovecot_lab: DovecotLab) -> None:
    """Dovecot 2.3 implements no RFC 6855: ENABLE UTF8=ACCEPT enables nothing.

    (tests/interop/test_imap_utf8.py covers UTF8=ACCEPT against Courier-IMAP;
    if a later Dovecot offers it, this test says so and should go.)
    """
    c = connect(kind, dovecot_lab)
    try:
        caps = {name.upper() for name in c.client.capabilities}
        assert "ENABLE" in caps
        if "UTF8=ACCEPT" in caps:
            pytest.fail("Dovecot now offers UTF8=ACCEPT: add an interop test for it")
        assert c.enable("UTF8=ACCEPT") == ()
    finally:
        c.logout()
