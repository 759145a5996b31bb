"""Big FETCH literals through the real drivers: read in place or streamed, bytes intact.

The blocking driver reads a large literal straight into the buffer it is
handed out in (``recv_into``); the asyncio driver and TLS answer the same
request with bytes, which are copied in. Either way the caller must get the
server's octets exactly, the transcript must record them as received, and a
sink must get them in chunks of at most ``Limits.chunk_size``.
"""

from __future__ import annotations

import random
from typing import Any

from mailwire.limits import Limits
from mailwire.tls import TLSMode
from tests.support.tls import make_pki
from tests.unit.imap_client.helpers import Both, Script

BIG = bytes(random.Random(11).randrange(256) for _ in range(700_000))
SMALL = b"Subject: small\r\n\r\nhi\r\n"
GREETING = b"* OK [CAPABILITY IMAP4rev1] hi\r\n"
FETCH_REPLY = (
    b"* 1 FETCH (UID 7 BODY[] {%d}\r\n" % len(BIG)
    + BIG
    + b")\r\n* 2 FETCH (UID 8 BODY[] {%d}\r\n" % len(SMALL)
    + SMALL
    + b")\r\nA3 OK done\r\n"
)
STEPS = [
    (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1] in\r\n"),
    (b"A2 SELECT INBOX\r\n", b"* 2 EXISTS\r\n* OK [UIDVALIDITY 3] v\r\nA2 OK [READ-WRITE] ok\r\n"),
    (b"A3 UID FETCH 7:8 (BODY.PEEK[])\r\n", FETCH_REPLY),
]


def _open(kind: str, transport: str, **kwargs: Any) -> tuple[Script, dict[str, Any]]:
    if transport == "plain":
        return Script(GREETING, STEPS), kwargs
    pki = make_pki()
    script = Script(GREETING, STEPS, tls_context=pki.server_context(), implicit_tls=True)
    kwargs.update(tls=TLSMode.IMPLICIT, ssl_context=pki.client_context())
    return script, kwargs


def test_big_literal_in_memory(kind: str, transport: str) -> None:
    script, kwargs = _open(kind, transport)
    with script:
        c = Both(kind, script.port, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        result = c.fetch("7:8", ["BODY.PEEK[]"])
        received = c.client.transcript.server_bytes()
        c.close()
    assert script.errors == []
    assert type(result[7].sections["BODY[]"]) is bytes
    assert result[7].sections["BODY[]"] == BIG
    assert result[8].sections["BODY[]"] == SMALL
    # The transcript keeps the first 4 MiB it sees: all of this session.
    assert FETCH_REPLY in received


def test_big_literal_to_a_sink(kind: str, transport: str) -> None:
    chunks: dict[int, list[bytes]] = {}

    class Sink:
        def __init__(self, uid: int) -> None:
            self.uid = uid
            chunks[uid] = []

        def write(self, data: bytes) -> None:
            chunks[self.uid].append(bytes(data))

    limits = Limits(chunk_size=16 * 1024)
    script, kwargs = _open(kind, transport, limits=limits)
    with script:
        c = Both(kind, script.port, **kwargs)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        c.fetch("7:8", ["BODY.PEEK[]"], sink=lambda uid, section: Sink(uid))
        received = c.client.transcript.server_bytes()
        c.close()
    assert script.errors == []
    assert b"".join(chunks[7]) == BIG
    assert b"".join(chunks[8]) == SMALL
    assert max(map(len, chunks[7])) <= 16 * 1024
    assert FETCH_REPLY in received


def test_a_transcript_that_keeps_nothing_still_counts_the_octets(kind: str) -> None:
    from mailwire.transcript import Transcript

    transcript = Transcript(max_data_bytes=100)
    with Script(GREETING, STEPS) as script:
        c = Both(kind, script.port, transcript=transcript)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        assert c.fetch("7:8", ["BODY.PEEK[]"])[7].sections["BODY[]"] == BIG
        c.close()
    assert transcript.dropped_bytes >= len(BIG)
