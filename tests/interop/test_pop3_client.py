"""mailwire's POP3 clients against Dovecot (the test lab), under both clients.

Each test empties its user's mailbox, delivers its own messages over LMTP
(unique Message-IDs), and compares what POP3 returns with the file Dovecot
stored: Dovecot keeps LF line ends and serves CRLF, so the stored file with
LF turned into CRLF is, byte for byte, what RETR must give. Deletions are
checked through a fresh connection after QUIT, and against the Maildir.
"""

from __future__ import annotations

import hashlib
import io
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mailwire import AuthenticationError, TLSMode
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE, BOB, LabUser
from tests.unit.pop3.helpers import Sync


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_message(subject: str, *body: bytes) -> tuple[bytes, str]:
    message_id = f"<{uuid.uuid4().hex}@pop3-interop.test>"
    head = (
        f"From: seed@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\n\r\n"
    ).encode()
    return head + b"".join(line + b"\r\n" for line in body), message_id


# Lines a POP3 server must dot-stuff, and ones it must not touch.
AWKWARD = (b".", b"..", b".a dotted line", b"...three", b"", b"x.", b" .", b"end")


@pytest.fixture
def mailbox(dovecot_lab: DovecotLab) -> Iterator[Any]:
    """Empty a user's mailbox and seed it; yields ``seed(user, count) -> ids``."""
    touched: list[LabUser] = []

    def seed(user: LabUser, count: int, *, big: int = 0) -> list[str]:
        dovecot_lab.purge(user)
        touched.append(user)
        ids = []
        for i in range(count):
            body = list(AWKWARD)
            if big and i == 0:
                body += [b".%06d " % n + b"z" * 70 for n in range(big)]
            data, message_id = make_message(f"message {i}", *body)
            dovecot_lab.seed(data, user)
            ids.append(message_id)
        for message_id in ids:
            dovecot_lab.wait_for_message(user, message_id)
        return ids

    yield seed
    for user in touched:
        dovecot_lab.purge(user)


def stored(lab: DovecotLab, user: LabUser) -> dict[str, bytes]:
    """Message-ID -> the message as POP3 must serve it (LF -> CRLF)."""
    out = {}
    for data in lab.messages(user):
        for line in data.split(b"\n"):
            if line.lower().startswith(b"message-id:"):
                out[line.split(b":", 1)[1].strip().decode()] = data.replace(b"\n", b"\r\n")
    return out


def message_id(message: bytes) -> str:
    for line in message.split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Message-ID")


def implicit(lab: DovecotLab, kind: str, **kwargs: Any) -> Sync:
    return Sync(kind, lab.host, lab.pop3s_port, ssl_context=lab.client_context(), **kwargs)


def starttls(lab: DovecotLab, kind: str, host: str | None = None, **kwargs: Any) -> Sync:
    return Sync(
        kind,
        host or lab.host,
        lab.pop3_port,
        tls=TLSMode.STARTTLS,
        ssl_context=lab.client_context(),
        **kwargs,
    )


# ---------------------------------------------------------------- sessions


def test_implicit_tls_user_pass_every_command(
    kind: str, dovecot_lab: DovecotLab, mailbox: Any
) -> None:
    ids = mailbox(ALICE, 3)
    expected = stored(dovecot_lab, ALICE)
    with implicit(dovecot_lab, kind) as c:
        assert c.client.connection.tls_active
        assert c.greeting.timestamp is not None  # Dovecot offers APOP
        c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        count, octets = c.stat()
        assert count == 3
        sizes = c.list()
        assert sorted(sizes) == [1, 2, 3]
        assert sum(sizes.values()) == octets
        assert c.list(2) == sizes[2]
        uids = c.uidl()
        assert len(set(uids.values())) == 3
        assert c.uidl(3) == uids[3]
        got = {n: c.retrieve(n) for n in (1, 2, 3)}
        assert {message_id(m): m for m in got.values()} == expected
        assert {n: len(m) for n, m in got.items()} == sizes  # LIST counts what RETR sends
        header, _, body = got[1].partition(b"\r\n\r\n")
        assert c.top(1, 0) == header + b"\r\n\r\n"
        assert c.top(1, 2) == header + b"\r\n\r\n" + b"\r\n".join(body.split(b"\r\n")[:2]) + b"\r\n"
        c.noop()
        c.delete(1)
        c.reset()  # undone
        c.delete(2)
        # RFC 1939 §5: a message-number may not refer to a deleted message; the
        # core knows it and refuses before sending (the session carries on).
        with pytest.raises(ValueError, match="marked deleted"):
            c.retrieve(2)
        assert c.stat() == (2, octets - sizes[2])
        deleted_id = message_id(got[2])
    # QUIT committed the deletion: a fresh session sees two messages.
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        assert c.stat()[0] == 2
        remaining = [message_id(m) for _, m in c.iter_messages()]
    assert sorted(remaining) == sorted(i for i in ids if i != deleted_id)
    assert deleted_id not in stored(dovecot_lab, ALICE)


def test_starttls_sasl_plain_with_a_utf8_password(
    kind: str, dovecot_lab: DovecotLab, mailbox: Any
) -> None:
    mailbox(BOB, 1)
    expected = stored(dovecot_lab, BOB)
    with starttls(dovecot_lab, kind) as c:
        assert c.client.connection.tls_active
        assert not c.capabilities.stls  # the CAPA after TLS (RFC 2595 §4)
        c.login(BOB.name, BOB.password, mechanisms=["PLAIN"])  # UTF-8 inside SASL
        (only,) = c.iter_messages()
        assert only[1] == next(iter(expected.values()))
    text = c.client.transcript.render()
    assert "AUTH PLAIN <redacted" in text
    assert BOB.password not in text


def test_default_login_is_scram(kind: str, dovecot_lab: DovecotLab, mailbox: Any) -> None:
    mailbox(ALICE, 1)
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        assert c.stat()[0] == 1
    assert "AUTH SCRAM-SHA-256 <redacted" in c.client.transcript.render()


def test_scram_sha_1_and_apop_when_asked(kind: str, dovecot_lab: DovecotLab, mailbox: Any) -> None:
    mailbox(ALICE, 1)
    with implicit(dovecot_lab, kind) as c:
        c.authenticate("SCRAM-SHA-1", ALICE.name, ALICE.password)
        assert c.stat()[0] == 1
    with implicit(dovecot_lab, kind, enable_apop=True) as c:
        c.login(ALICE.name, ALICE.password, mechanisms=["APOP"])
        assert c.stat()[0] == 1


def test_wrong_password_is_refused_with_a_code(kind: str, dovecot_lab: DovecotLab) -> None:
    with implicit(dovecot_lab, kind) as c:
        with pytest.raises(AuthenticationError) as info:
            c.login(ALICE.name, "not the password", mechanisms=["USER"])
        assert info.value.reply is not None
        assert info.value.reply.code == "AUTH"  # RFC 3206 via AUTH-RESP-CODE
        c.login(ALICE.name, ALICE.password)  # the session goes on


def test_strict_host_needs_tls_for_plaintext_logins(
    kind: str, dovecot_lab: DovecotLab, mailbox: Any
) -> None:
    mailbox(ALICE, 1)
    host = dovecot_lab.strict_host
    # In the clear Dovecot withholds USER and PLAIN; with plaintext allowed
    # the client picks SCRAM, which it still offers.
    with Sync(kind, host, dovecot_lab.pop3_port, tls=TLSMode.PLAIN, allow_plaintext_auth=True) as c:
        assert not c.capabilities.user
        c.login(ALICE.name, ALICE.password)
        assert c.stat()[0] == 1
    assert "AUTH SCRAM-SHA-256" in c.client.transcript.render()
    # After STLS everything is offered again.
    with starttls(dovecot_lab, kind, host=host) as c:
        assert c.capabilities.user
        c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        assert c.stat()[0] == 1


def test_closing_without_quit_deletes_nothing(
    kind: str, dovecot_lab: DovecotLab, mailbox: Any
) -> None:
    mailbox(ALICE, 2)
    c = implicit(dovecot_lab, kind)
    try:
        c.connect()
        c.login(ALICE.name, ALICE.password)
        c.delete_many([1, 2])
    finally:
        c.shutdown()  # no QUIT: RFC 1939 §6, no UPDATE state
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        assert c.stat()[0] == 2


# ---------------------------------------------------------------- batches


def test_pipelined_batches(kind: str, dovecot_lab: DovecotLab, mailbox: Any) -> None:
    mailbox(ALICE, 5)
    expected = stored(dovecot_lab, ALICE)
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        assert c.client.pipelining  # Dovecot offers PIPELINING
        got = c.retrieve_many(range(1, 6))
        assert sorted(message_id(m) for m in got.values()) == sorted(expected)
        tops = c.top_many(range(1, 6), 0)
        assert all(got[n].startswith(tops[n]) for n in tops)
        sinks: dict[int, io.BytesIO] = {}
        sizes = c.retrieve_all(lambda n: sinks.setdefault(n, io.BytesIO()))
        assert sizes == {n: len(m) for n, m in got.items()}
        c.delete_many([1, 3, 5])
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        left = dict(c.iter_messages())
    assert sorted(left) == [1, 2]  # numbers are per session: renumbered
    assert {message_id(m) for m in left.values()} == {
        message_id(got[2]),
        message_id(got[4]),
    }


def test_big_message_into_a_sink(kind: str, dovecot_lab: DovecotLab, mailbox: Any) -> None:
    mailbox(ALICE, 1, big=60_000)  # about 4.6 MB, every line dot-stuffed
    (expected,) = stored(dovecot_lab, ALICE).values()
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        digest = hashlib.sha256()
        seen: list[tuple[int, int | None]] = []
        size = c.list(1)
        c.list()  # the sizes for progress
        written = c.retrieve(1, sink=digest.update, progress=lambda n, t: seen.append((n, t)))
    assert written == size == len(expected)
    assert digest.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert seen[-1] == (len(expected), size)
    assert len(seen) > 10  # delivered in many chunks


def test_retrieve_to_maildir_then_deleted(
    kind: str, dovecot_lab: DovecotLab, mailbox: Any, tmp_path: pathlib.Path
) -> None:
    mailbox(ALICE, 4)
    expected = stored(dovecot_lab, ALICE)
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        delivered = c.retrieve_to_maildir(tmp_path / "Maildir")
    assert [d.number for d in delivered] == [1, 2, 3, 4]
    assert all(d.deleted for d in delivered)
    files = {message_id(d.path.read_bytes()): d.path.read_bytes() for d in delivered if d.path}
    assert files == expected
    assert list((tmp_path / "Maildir" / "tmp").iterdir()) == []
    # QUIT committed: the server's mailbox is empty now.
    assert stored(dovecot_lab, ALICE) == {}
    with implicit(dovecot_lab, kind) as c:
        c.login(ALICE.name, ALICE.password)
        assert c.stat() == (0, 0)
