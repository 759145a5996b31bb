"""retrieve_to_maildir (fsync before DELE, issue 7) and iter_messages, on loopback.

Both clients run each case against a scripted server that records, in one
shared sequence with the client's fsync calls, when each DELE arrived.
"""

from __future__ import annotations

import os
import pathlib
import threading
from typing import Any

import pytest

from mailwire import ConnectionLost, LocalProtocolError
from mailwire.pop3._client_base import ITERATION_LOOKAHEAD
from tests.support.server import Peer
from tests.unit.pop3.helpers import FakePOP3, Sync, multiline, plain_client_args

MESSAGES = {
    1: b"Subject: one\r\nMessage-ID: <one@test>\r\n\r\n.dotted\r\nbody one\r\n",
    2: b"Subject: two\r\nMessage-ID: <two@test>\r\n\r\n" + b"y" * 70_000 + b"\r\n",
    3: b"Subject: three\r\nMessage-ID: <three@test>\r\n\r\n..\r\n",
}


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Log:
    """One ordered record of client fsyncs and server-side DELE arrivals."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self._lock = threading.Lock()

    def add(self, what: str, value: object) -> None:
        with self._lock:
            self.events.append((what, value))


def server_answers(log: Log, *, pipelining: bool, messages: dict[int, bytes]) -> dict[str, Any]:
    def retr(server: FakePOP3, peer: Peer, line: bytes) -> bytes:
        number = int(line.split()[1])
        if number not in messages:
            return b"-ERR no such message\r\n"
        return multiline(messages[number])

    def dele(server: FakePOP3, peer: Peer, line: bytes) -> bytes:
        log.add("DELE", int(line.split()[1]))
        return b"+OK\r\n"

    capabilities = (
        b"+OK\r\nUSER\r\nUIDL\r\n" + (b"PIPELINING\r\n" if pipelining else b"") + b".\r\n"
    )
    uidl = b"".join(b"%d uid-%d\r\n" % (n, n) for n in sorted(messages))
    return {
        "CAPA": capabilities,
        "USER": b"+OK\r\n",
        "PASS": b"+OK\r\n",
        "STAT": b"+OK %d %d\r\n" % (max(messages), sum(map(len, messages.values()))),
        "UIDL": b"+OK\r\n" + uidl + b".\r\n",
        "RETR": retr,
        "DELE": dele,
        "NOOP": b"+OK\r\n",
        "QUIT": b"+OK bye\r\n",
    }


@pytest.fixture
def fsync_log(monkeypatch: pytest.MonkeyPatch) -> Log:
    log = Log()
    real = os.fsync

    def fsync(fd: int) -> None:
        real(fd)
        log.add("fsync", os.fstat(fd).st_ino)

    monkeypatch.setattr(os, "fsync", fsync)
    return log


@pytest.mark.parametrize("pipelining", [True, False])
def test_each_message_is_on_disk_before_its_dele(
    kind: str, pipelining: bool, fsync_log: Log, tmp_path: pathlib.Path
) -> None:
    answers = server_answers(fsync_log, pipelining=pipelining, messages=MESSAGES)
    with FakePOP3(answers) as server, Sync(kind, **plain_client_args(server)) as c:
        c.login("mrose", "tanstaaf")
        delivered = c.retrieve_to_maildir(tmp_path / "Maildir")
    assert [d.number for d in delivered] == [1, 2, 3]
    assert [d.uid for d in delivered] == ["uid-1", "uid-2", "uid-3"]
    assert all(d.deleted and d.error is None for d in delivered)
    new = tmp_path / "Maildir" / "new"
    events = fsync_log.events
    for item in delivered:
        assert item.path is not None
        assert item.path.parent == new
        assert item.path.read_bytes() == MESSAGES[item.number]
        assert item.size == len(MESSAGES[item.number])
        file_synced = events.index(("fsync", item.path.stat().st_ino))
        deleted = events.index(("DELE", item.number))
        # new/ itself is synced after the file and before the DELE.
        directory = new.stat().st_ino
        assert any(event == ("fsync", directory) for event in events[file_synced + 1 : deleted]), (
            events
        )
    assert list((tmp_path / "Maildir" / "tmp").iterdir()) == []
    assert len({d.path for d in delivered}) == 3
    verbs = server.verbs()
    assert verbs[-1] == "QUIT"  # the deletions are committed only now


def test_a_cut_mid_message_deletes_nothing_undelivered(
    kind: str, fsync_log: Log, tmp_path: pathlib.Path
) -> None:
    answers = server_answers(fsync_log, pipelining=False, messages=MESSAGES)

    def cut_retr(server: FakePOP3, peer: Peer, line: bytes) -> bytes | None:
        number = int(line.split()[1])
        whole = multiline(MESSAGES[number])
        if number == 2:
            peer.send(whole[: len(whole) // 2])
            peer.reset()
            return None
        return whole

    answers["RETR"] = cut_retr
    with FakePOP3(answers) as server:
        c = Sync(kind, **plain_client_args(server))
        try:
            c.connect()
            c.login("mrose", "tanstaaf")
            with pytest.raises(ConnectionLost):
                c.retrieve_to_maildir(tmp_path / "Maildir")
        finally:
            c.shutdown()
    maildir = tmp_path / "Maildir"
    assert list((maildir / "tmp").iterdir()) == []  # no partial file left
    (only,) = list((maildir / "new").iterdir())
    assert only.read_bytes() == MESSAGES[1]
    assert ("DELE", 2) not in fsync_log.events
    assert "QUIT" not in server.verbs()  # so the server deletes nothing at all


def test_refused_message_is_reported_and_kept(
    kind: str, fsync_log: Log, tmp_path: pathlib.Path
) -> None:
    messages = {1: MESSAGES[1], 3: MESSAGES[3]}  # number 2 is refused
    answers = server_answers(fsync_log, pipelining=True, messages=messages)
    answers["STAT"] = b"+OK 3 100\r\n"
    with FakePOP3(answers) as server, Sync(kind, **plain_client_args(server)) as c:
        c.login("mrose", "tanstaaf")
        delivered = c.retrieve_to_maildir(tmp_path / "md", delete=True)
    assert [(d.number, d.deleted) for d in delivered] == [(1, True), (2, False), (3, True)]
    assert delivered[1].path is None
    assert delivered[1].error is not None
    assert [n for what, n in fsync_log.events if what == "DELE"] == [1, 3]


def test_keep_on_server(kind: str, fsync_log: Log, tmp_path: pathlib.Path) -> None:
    answers = server_answers(fsync_log, pipelining=True, messages=MESSAGES)
    with FakePOP3(answers) as server, Sync(kind, **plain_client_args(server)) as c:
        c.login("mrose", "tanstaaf")
        delivered = c.retrieve_to_maildir(tmp_path / "md", delete=False, numbers=[3])
    assert [(d.number, d.deleted) for d in delivered] == [(3, False)]
    assert "DELE" not in server.verbs()


# ---------------------------------------------------------------- iteration


def test_iteration_holds_one_message_and_drains_when_stopped(kind: str) -> None:
    answers = server_answers(Log(), pipelining=True, messages=MESSAGES)
    with FakePOP3(answers) as server, Sync(kind, **plain_client_args(server)) as c:
        c.login("mrose", "tanstaaf")
        assert c.iter_messages() == [(n, MESSAGES[n]) for n in (1, 2, 3)]
        assert c.first_message() == (1, MESSAGES[1])
        # With PIPELINING the next RETRs were already out: their answers were
        # read and dropped, so the session is in step again.
        assert c.client.connection.pending == ()
        c.noop()
    verbs = server.verbs()
    assert verbs.count("RETR") == 3 + min(3, 1 + ITERATION_LOOKAHEAD)
    assert verbs[-2:] == ["NOOP", "QUIT"]


def test_other_calls_wait_for_the_iteration() -> None:
    answers = server_answers(Log(), pipelining=True, messages=MESSAGES)
    with FakePOP3(answers) as server, Sync("blocking", **plain_client_args(server)) as c:
        c.login("mrose", "tanstaaf")
        iterator = c.client.iter_messages()
        assert next(iterator) == (1, MESSAGES[1])
        with pytest.raises(LocalProtocolError, match="iteration"):
            c.noop()
        iterator.close()
        c.noop()


# ---------------------------------------------------------------- QUIT


def test_lost_quit_answer_raises_from_the_with_block(kind: str) -> None:
    # ARCHITECTURE.md: a lost reply to QUIT raises ConnectionLost, also from a
    # with block that exits normally: the deletions may not have happened.
    answers = server_answers(Log(), pipelining=True, messages=MESSAGES)

    def vanish(server: FakePOP3, peer: Peer, line: bytes) -> None:
        peer.reset()

    answers["QUIT"] = vanish
    with FakePOP3(answers) as server:
        c = Sync(kind, **plain_client_args(server))
        with pytest.raises(ConnectionLost, match="may not have been removed"), c:
            c.login("mrose", "tanstaaf")
            c.delete(1)
    assert server.verbs()[-2:] == ["DELE", "QUIT"]
    assert not c.client._driver.is_open
