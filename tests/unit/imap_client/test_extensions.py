"""Extensions Dovecot's lab does not offer, against scripted servers: COMPRESS, UTF8=ACCEPT, Gmail.

Dovecot 2.3 as configured in tests/lab has no imap_zlib plugin (so no
COMPRESS=DEFLATE) and does not offer UTF8=ACCEPT; these flows are checked
here against a loopback server scripted from RFC 4978, RFC 6855 and Gmail's
documented X-GM-EXT-1 syntax, under both clients.
"""

from __future__ import annotations

import zlib

import pytest

from mailwire import ConnectionLost, NotSupportedError
from mailwire.imap.events import Exists
from tests.support.server import Peer
from tests.unit.imap_client.helpers import Both, Script

LOGIN = (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE IDLE] in\r\n")


def test_compress_deflate_both_ways(kind: str) -> None:
    """RFC 4978: after the OK both directions are raw DEFLATE; commands still work."""
    seen: list[bytes] = []

    def deflated(peer: Peer) -> None:
        inflate = zlib.decompressobj(-15)
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        pending = b""
        replies = {
            b"A3 NOOP\r\n": b"* 7 EXISTS\r\nA3 OK NOOP done\r\n",
            b"A4 LOGOUT\r\n": b"* BYE bye\r\nA4 OK done\r\n",
        }
        while True:
            data = peer.sock.recv(4096)
            if not data:
                return
            pending += inflate.decompress(data)
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                line += b"\n"
                seen.append(line)
                reply = replies.get(line, b"")
                peer.send(deflate.compress(reply) + deflate.flush(zlib.Z_SYNC_FLUSH))

    steps = [LOGIN, (b"A2 COMPRESS DEFLATE\r\n", b"A2 OK DEFLATE active\r\n")]
    events: list[object] = []
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", steps, after=deflated) as script:
        c = Both(kind, script.port, on_event=events.append)
        c.connect()
        c.login("u", "p")
        assert c.compress() is True
        assert c.client.compression
        c.noop()
        c.logout()
    assert script.errors == []
    assert seen == [b"A3 NOOP\r\n", b"A4 LOGOUT\r\n"]
    assert any(isinstance(e, Exists) and e.count == 7 for e in events)


def test_compress_not_offered(kind: str) -> None:
    with Script(
        b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
        [
            (b"A1 LOGIN u p\r\n", b"A1 OK in\r\n"),
            (b"A2 CAPABILITY\r\n", b"* CAPABILITY IMAP4rev1\r\nA2 OK\r\n"),
        ],
    ) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("u", "p")
        with pytest.raises(NotSupportedError, match="COMPRESS"):
            c.compress()
        c.close()
    assert b"COMPRESS" not in script.server.received


def test_utf8_accept_mailbox_names(kind: str) -> None:
    """RFC 6855 §3: once UTF8=ACCEPT is enabled, names go as UTF-8 quoted strings."""
    name = "Bücher/日本"
    steps = [
        (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] in\r\n"),
        (b"A2 CREATE B&APw-cher/&ZeVnLA-\r\n", b"A2 OK\r\n"),
        (b"A3 ENABLE UTF8=ACCEPT\r\n", b"* ENABLED UTF8=ACCEPT\r\nA3 OK\r\n"),
        ('A4 CREATE "Bücher/日本"\r\n'.encode(), b"A4 OK\r\n"),
        (b'A5 LIST "" "*"\r\n', '* LIST () "/" "Bücher/日本"\r\nA5 OK\r\n'.encode()),
    ]
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", steps) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("u", "p")
        c.create(name)  # before ENABLE: modified UTF-7 (RFC 3501 §5.1.3)
        assert c.enable("UTF8=ACCEPT") == ("UTF8=ACCEPT",)
        c.create(name)
        assert [m.name for m in c.list()] == [name]
        c.close()
    assert script.errors == []


def test_gmail_extensions(kind: str) -> None:
    caps = b"IMAP4rev1 X-GM-EXT-1 UIDPLUS"
    steps = [
        (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY " + caps + b"] in\r\n"),
        (b"A2 SELECT INBOX\r\n", b"* 2 EXISTS\r\nA2 OK [READ-WRITE] ok\r\n"),
        (b'A3 UID SEARCH X-GM-RAW "has:attachment in:unread"\r\n', b"* SEARCH 4 7\r\nA3 OK\r\n"),
        (
            b"A4 UID STORE 4 +X-GM-LABELS (Work)\r\n",
            b"* 1 FETCH (UID 4 X-GM-LABELS (Work \\Inbox))\r\nA4 OK\r\n",
        ),
        (
            b"A5 UID FETCH 4 (X-GM-MSGID X-GM-THRID X-GM-LABELS)\r\n",
            b"* 1 FETCH (UID 4 X-GM-MSGID 1278455344230334865 X-GM-THRID 1266894439832287888"
            b" X-GM-LABELS (Work))\r\nA5 OK\r\n",
        ),
        (
            b"A6 NOOP\r\n",
            b"* OK [WEBALERT https://accounts.example/verify] Web login required\r\nA6 OK\r\n",
        ),
    ]
    with Script(b"* OK [CAPABILITY IMAP4rev1] Gimap ready\r\n", steps) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        assert c.gmail_search("has:attachment in:unread") == [4, 7]
        labels = c.add_labels(4, ["Work"])
        assert labels[4].gm_labels == ("Work", "\\Inbox")
        data = c.fetch(4, ["X-GM-MSGID", "X-GM-THRID", "X-GM-LABELS"])[4]
        assert data.gm_msgid == 1278455344230334865
        assert data.gm_thrid == 1266894439832287888
        c.noop()
        (alert,) = c.client.alerts
        assert alert.url == "https://accounts.example/verify"
        assert alert.text == "Web login required"
        c.close()
    assert script.errors == []


def test_gmail_calls_refused_elsewhere(kind: str) -> None:
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", []) as script:
        c = Both(kind, script.port)
        c.connect()
        with pytest.raises(NotSupportedError, match="X-GM-EXT-1"):
            c.gmail_search("x")
        c.close()


def test_idle_ends_on_bye(kind: str) -> None:
    steps = [
        (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n"),
        (b"A2 SELECT INBOX\r\n", b"* 1 EXISTS\r\nA2 OK ok\r\n"),
        (b"A3 IDLE\r\n", b"+ idling\r\n* 2 EXISTS\r\n* BYE idle too long\r\n"),
    ]
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", steps, after=lambda p: p.close()) as s:
        c = Both(kind, s.port)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        got: list[object] = []
        with pytest.raises(ConnectionLost, match="idle too long"):
            if kind == "blocking":
                with c.client.idle(timeout=5) as events:
                    got.extend(events)
            else:

                async def run() -> None:
                    async with c.client.idle(timeout=5) as events:
                        async for event in events:
                            got.append(event)

                assert c.runner is not None
                c.runner.run(run())
        assert [type(e).__name__ for e in got] == ["Exists"]
        c.close()


def test_idle_restarts_when_the_server_ends_it(kind: str) -> None:
    steps = [
        (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n"),
        (b"A2 SELECT INBOX\r\n", b"* 1 EXISTS\r\nA2 OK ok\r\n"),
        (b"A3 IDLE\r\n", b"+ idling\r\nA3 OK IDLE ended by the server\r\n"),
        (b"A4 IDLE\r\n", b"+ again\r\n* 5 EXISTS\r\n"),
        (b"DONE\r\n", b"A4 OK done\r\n"),
    ]
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", steps) as s:
        c = Both(kind, s.port)
        c.connect()
        c.login("u", "p")
        c.select("INBOX")
        if kind == "blocking":
            with c.client.idle(timeout=5) as events:
                first = next(iter(events))
        else:

            async def run() -> object:
                async with c.client.idle(timeout=5) as events:
                    return await events.__anext__()

            assert c.runner is not None
            first = c.runner.run(run())
        assert isinstance(first, Exists)
        assert first.count == 5
        assert c.client.state.name == "SELECTED"
        c.close()
    assert s.errors == []
