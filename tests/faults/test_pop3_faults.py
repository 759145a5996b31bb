"""POP3 under every cut: nothing deleted that is not on disk (issue 7).

Three messages wait in alice's INBOX on Dovecot. The client downloads them
with ``retrieve_to_maildir(delete=True)`` and QUITs, through a proxy that cuts
the stream at a byte offset of either direction. After every cut a fresh
connection reads the server's state back, and the guarantees are checked:

- the exception, if any, is a MailwireError (never a bare OSError);
- every message is on disk, on the server, or both -- none is lost;
- a message on disk is complete (its marker and last line are there);
- when the session did not end with QUIT's +OK, the client raised; and when
  QUIT never reached the server, the server still has every message
  (RFC 1939 §6: deletions happen only in the UPDATE state). When QUIT did
  reach it and only the +OK was cut, the server may have deleted -- which is
  why the client raises ConnectionLost then -- but only messages on disk.
"""

from __future__ import annotations

import asyncio
import pathlib
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mailwire import MailwireError, TLSMode, pop3
from mailwire.transcript import Direction, Kind
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE
from tests.support.fault_proxy import Fault, FaultProxy


@pytest.fixture
def mailbox(dovecot_lab: DovecotLab) -> Iterator[DovecotLab]:
    dovecot_lab.purge(ALICE)
    yield dovecot_lab
    dovecot_lab.purge(ALICE)


def seed(lab: DovecotLab) -> list[str]:
    lab.purge(ALICE)
    markers = []
    for i in range(3):
        marker = uuid.uuid4().hex
        body = "".join(f"line {n} of message {i}\r\n" for n in range(20))
        lab.seed(
            f"From: seed@example.test\r\nTo: alice@example.test\r\nSubject: {i}\r\n"
            f"X-Marker: {marker}\r\n\r\n{body}.dot line\r\nlast {marker}\r\n".encode(),
            ALICE,
        )
        markers.append(marker)
    return markers


def client(port: int) -> pop3.Client:
    return pop3.Client("127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=3.0)


def session(
    port: int, maildir: pathlib.Path, kind: str = "blocking"
) -> tuple[BaseException | None, bool, Any]:
    """Download into ``maildir`` and QUIT; returns (error, quit confirmed, client)."""
    if kind == "asyncio":
        return asyncio.run(_async_session(port, maildir))
    c = client(port)
    try:
        c.connect()
        c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        c.retrieve_to_maildir(maildir, delete=True)
        reply = c.quit()
        return None, reply is not None, c
    except Exception as exc:  # judged by the caller: only MailwireError is allowed
        c.close()
        return exc, False, c


async def _async_session(
    port: int, maildir: pathlib.Path
) -> tuple[BaseException | None, bool, Any]:
    c = pop3.AsyncClient(
        "127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=3.0
    )
    try:
        await c.connect()
        await c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        await c.retrieve_to_maildir(maildir, delete=True)
        reply = await c.quit()
        return None, reply is not None, c
    except Exception as exc:  # judged by the caller
        await c.close()
        return exc, False, c


def on_server(lab: DovecotLab) -> list[str]:
    c = client(lab.pop3_port)
    c.connect()
    c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
    texts = [c.retrieve(n).decode() for n in sorted(c.list())]
    c.quit()
    return texts


def on_disk(maildir: pathlib.Path) -> list[bytes]:
    new = maildir / "new"
    return [p.read_bytes() for p in new.iterdir()] if new.exists() else []


def check(
    lab: DovecotLab,
    markers: list[str],
    maildir: pathlib.Path,
    error: BaseException | None,
    quit_ok: bool,
    quit_reached: bool,
    where: str,
) -> str:
    if error is not None:
        assert isinstance(error, MailwireError), f"{where}: {type(error).__name__}: {error}"
    if not quit_ok:
        assert error is not None, f"{where}: no +OK to QUIT, yet no exception"
    server = on_server(lab)
    disk = on_disk(maildir)
    if (maildir / "tmp").exists():
        assert not list((maildir / "tmp").iterdir()), f"{where}: a partial file left in tmp/"
    for marker in markers:
        here = [d for d in disk if marker.encode() in d]
        there = [s for s in server if marker in s]
        assert here or there, f"{where}: message {marker} lost"
        for data in here:  # a file in new/ is complete
            assert data.rstrip().endswith(f"last {marker}".encode()), f"{where}: partial file"
        if not quit_ok and not quit_reached:
            assert there, f"{where}: deleted from the server though QUIT never reached it"
    return "ok" if error is None else type(error).__name__


def boundaries(c: Any, direction: Direction) -> tuple[int, list[int]]:
    total, marks = 0, []
    for record in c.transcript.records:
        if record.kind is Kind.DATA and record.direction is direction:
            for i, byte in enumerate(record.data):
                if byte == 0x0A:
                    marks.append(total + i + 1)
            total += record.size
    return total, marks


def offsets(total: int, marks: list[int], limit: int = 500) -> list[int]:
    chosen = set(range(total + 1)) if total <= limit else set(range(0, total + 1, total // limit))
    for b in marks:
        chosen.update(x for x in range(b - 2, b + 3) if 0 <= x <= total)
    return sorted(chosen)


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
@pytest.mark.parametrize("direction", [Direction.CLIENT, Direction.SERVER])
def test_cut_at_every_offset(
    mailbox: DovecotLab, tmp_path: pathlib.Path, direction: Direction, kind: str
) -> None:
    markers = seed(mailbox)
    with FaultProxy(("127.0.0.1", mailbox.pop3_port)) as proxy:
        error, quit_ok, c = session(proxy.port, tmp_path / "baseline")
    assert error is None
    assert quit_ok
    assert on_server(mailbox) == []  # all downloaded and deleted
    assert len(on_disk(tmp_path / "baseline")) == 3
    total, marks = boundaries(c, direction)
    # Where QUIT has reached the server: the whole client stream has passed,
    # or the server has begun its answer to QUIT (its last line).
    quit_from = total if direction is Direction.CLIENT else marks[-2]
    outcomes: dict[str, int] = {}
    for at in offsets(total, marks):
        markers = seed(mailbox)
        maildir = tmp_path / f"cut-{at}"
        fault = Fault("c2s" if direction is Direction.CLIENT else "s2c", at, reset=at % 5 == 0)
        with FaultProxy(("127.0.0.1", mailbox.pop3_port), fault, lifetime=10) as proxy:
            error, quit_ok, _ = session(proxy.port, maildir, kind)
        kind = check(
            mailbox,
            markers,
            maildir,
            error,
            quit_ok,
            at >= quit_from,
            f"{kind} {direction.name} cut at {at}",
        )
        outcomes[kind] = outcomes.get(kind, 0) + 1
        shutil.rmtree(maildir, ignore_errors=True)
    assert outcomes.get("ConnectionLost", 0) > 0, outcomes
