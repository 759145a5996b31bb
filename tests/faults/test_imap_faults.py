"""IMAP under every cut: never a false success, never a half body passed off as whole (issue 7).

One session against Dovecot goes through a proxy that cuts the stream at a
byte offset of either direction: LOGIN, APPEND of a message carrying a
unique marker, SELECT, FETCH of its body into a :class:`FileSink`, MOVE to a
second mailbox, LOGOUT. For every offset, with the server's state read back
through ``doveadm``:

- the exception, if any, is a ``MailwireError`` (never a bare ``OSError``);
- APPEND reported success => the message is on the server, under the UID
  APPENDUID named (RFC 4315);
- FETCH reported success => the file holds the message byte for byte; if it
  raised, no file is left looking complete (the sink was aborted, and no
  ``.part`` file remains);
- MOVE reported success => the message is in the destination under the
  COPYUID UID and no longer in the source.

The sweep runs under both clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mailwire import MailwireError, Timeout, TLSMode
from mailwire.imap._sinks import FileSink
from mailwire.imap.aio import AsyncClient
from mailwire.imap.client import Client
from mailwire.transcript import Direction, Kind
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE
from tests.support.fault_proxy import Fault, FaultProxy


@pytest.fixture(scope="module")
def boxes(dovecot_lab: DovecotLab) -> Iterator[tuple[str, str]]:
    source, target = f"faults-{uuid.uuid4().hex[:8]}", f"faults-{uuid.uuid4().hex[:8]}"
    for name in (source, target):
        dovecot_lab.doveadm("mailbox", "create", "-u", ALICE.name, name)
    yield source, target
    for name in (source, target):
        with contextlib.suppress(RuntimeError):
            dovecot_lab.doveadm("mailbox", "delete", "-u", ALICE.name, "-s", name)


def message(marker: str) -> bytes:
    return (
        f"From: a@example.test\r\nTo: alice@example.test\r\nSubject: fault {marker}\r\n"
        f"Message-ID: <{marker}@faults.test>\r\nX-Marker: {marker}\r\n\r\n" + "body line\r\n" * 40
    ).encode()


class Outcome:
    """What the client reported, step by step."""

    def __init__(self) -> None:
        self.appended: Any = None
        self.fetched: Any = None
        self.moved: Any = None
        self.error: BaseException | None = None
        self.transcript: Any = None


async def _session_async(
    port: int, data: bytes, boxes: tuple[str, str], path: pathlib.Path, out: Outcome
) -> None:
    source, target = boxes
    client = AsyncClient(
        "127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=2.0
    )
    out.transcript = client.transcript
    try:
        await client.connect()
        await client.login(ALICE.name, ALICE.password)
        out.appended = await client.append(source, data)
        await client.select(source)
        uid = out.appended.uids[0]
        out.fetched = await client.fetch(uid, ["BODY.PEEK[]"], sink=lambda u, s: FileSink(path))
        out.moved = await client.move(uid, target)
        await client.logout()
    except Exception as exc:  # judged below: only MailwireError is allowed
        out.error = exc
        await client.disconnect()


def session(
    kind: str, port: int, data: bytes, boxes: tuple[str, str], path: pathlib.Path
) -> Outcome:
    out = Outcome()
    if kind == "asyncio":
        asyncio.run(_session_async(port, data, boxes, path, out))
        return out
    source, target = boxes
    client = Client("127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=2.0)
    out.transcript = client.transcript
    try:
        client.connect()
        client.login(ALICE.name, ALICE.password)
        out.appended = client.append(source, data)
        client.select(source)
        uid = out.appended.uids[0]
        out.fetched = client.fetch(uid, ["BODY.PEEK[]"], sink=lambda u, s: FileSink(path))
        out.moved = client.move(uid, target)
        client.logout()
    except Exception as exc:  # judged below
        out.error = exc
        client.disconnect()
    return out


def where(lab: DovecotLab, boxes: tuple[str, str], marker: str) -> tuple[list[int], list[int]]:
    """UIDs of the messages carrying ``marker`` in each box (Dovecot's own view)."""
    text = lab.doveadm("fetch", "-u", ALICE.name, "mailbox uid", "header", "X-Marker", marker)
    found: dict[str, list[int]] = {boxes[0]: [], boxes[1]: []}
    box = ""
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        if key == "mailbox":
            box = value.strip()
        elif key == "uid" and box in found:
            found[box].append(int(value))
    return found[boxes[0]], found[boxes[1]]


def check(
    lab: DovecotLab,
    out: Outcome,
    marker: str,
    data: bytes,
    boxes: tuple[str, str],
    path: pathlib.Path,
    label: str,
) -> str:
    if out.error is not None:
        assert isinstance(out.error, MailwireError), (
            f"{label}: {type(out.error).__name__}: {out.error}"
        )
    in_source, in_target = where(lab, boxes, marker)
    if out.appended is not None:
        (uid,) = out.appended.uids
        assert uid in in_source or (in_target and out.moved is None) or out.moved is not None, (
            f"{label}: APPEND reported UID {uid} but the server has {in_source}"
        )
    if out.fetched is not None:
        assert path.read_bytes() == data, f"{label}: FETCH reported whole, file differs"
    elif path.exists():
        assert path.read_bytes() == data, f"{label}: a partial body looks complete"
    assert not pathlib.Path(str(path) + ".part").exists(), f"{label}: partial file left"
    if out.moved is not None:
        assert list(out.moved.destination) == in_target, f"{label}: MOVE reported, not there"
        assert in_source == [], f"{label}: MOVE reported, still in the source"
    return "ok" if out.error is None else type(out.error).__name__


def stream_marks(transcript: Any) -> tuple[int, int, list[int], list[int]]:
    c2s = s2c = 0
    writes, lines = [], []
    for record in transcript.records:
        if record.kind is not Kind.DATA:
            continue
        if record.direction is Direction.CLIENT:
            c2s += record.size
            writes.append(c2s)
        else:
            lines += [s2c + i + 1 for i, b in enumerate(record.data) if b == 0x0A]
            s2c += record.size
    return c2s, s2c, writes, lines


def offsets(total: int, marks: list[int], limit: int = 500) -> list[int]:
    chosen = set(range(total + 1)) if total <= limit else set(range(0, total + 1, total // limit))
    for b in marks:
        chosen.update(x for x in (b - 2, b - 1, b, b + 1, b + 2) if 0 <= x <= total)
    return sorted(chosen)


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_baseline(
    kind: str, dovecot_lab: DovecotLab, boxes: tuple[str, str], tmp_path: pathlib.Path
) -> None:
    marker = uuid.uuid4().hex
    data = message(marker)
    path = tmp_path / "body.eml"
    with FaultProxy(("127.0.0.1", dovecot_lab.imap_port)) as proxy:
        out = session(kind, proxy.port, data, boxes, path)
    assert out.error is None
    assert check(dovecot_lab, out, marker, data, boxes, path, "baseline") == "ok"
    c2s, s2c, _, _ = stream_marks(out.transcript)
    assert proxy.relayed == {"c2s": c2s, "s2c": s2c}


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_cut_at_every_offset(
    kind: str,
    direction: str,
    dovecot_lab: DovecotLab,
    boxes: tuple[str, str],
    tmp_path: pathlib.Path,
) -> None:
    data = message(uuid.uuid4().hex)
    with FaultProxy(("127.0.0.1", dovecot_lab.imap_port)) as proxy:
        out = session(kind, proxy.port, data, boxes, tmp_path / "first.eml")
    assert out.error is None
    c2s, s2c, writes, lines = stream_marks(out.transcript)
    total, marks = (c2s, writes) if direction == "c2s" else (s2c, lines)
    outcomes: dict[str, int] = {}
    for n, at in enumerate(offsets(total, marks)):
        marker = uuid.uuid4().hex
        data = message(marker)
        path = tmp_path / f"{n}.eml"
        fault = Fault(direction, at, reset=at % 7 == 0)  # some cuts are RSTs
        with FaultProxy(("127.0.0.1", dovecot_lab.imap_port), fault, lifetime=10) as proxy:
            out = session(kind, proxy.port, data, boxes, path)
        label = f"{kind} {direction} cut at {at}"
        outcome = check(dovecot_lab, out, marker, data, boxes, path, label)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("ConnectionLost", 0) > 0
    assert set(outcomes) <= {"ok", "ConnectionLost", "RemoteProtocolError", "Timeout"}


def test_stall_becomes_a_timeout(
    kind: str, dovecot_lab: DovecotLab, boxes: tuple[str, str], tmp_path: pathlib.Path
) -> None:
    marker = uuid.uuid4().hex
    data = message(marker)
    path = tmp_path / "stall.eml"
    fault = Fault("s2c", 60, action="stall", seconds=4.0)  # inside the greeting's line
    with FaultProxy(("127.0.0.1", dovecot_lab.imap_port), fault, lifetime=10) as proxy:
        out = session(kind, proxy.port, data, boxes, path)
    assert proxy.fired
    assert isinstance(out.error, Timeout)
    check(dovecot_lab, out, marker, data, boxes, path, "stall")


def test_one_byte_at_a_time(
    kind: str, dovecot_lab: DovecotLab, boxes: tuple[str, str], tmp_path: pathlib.Path
) -> None:
    marker = uuid.uuid4().hex
    data = message(marker)
    path = tmp_path / "drip.eml"
    with FaultProxy(("127.0.0.1", dovecot_lab.imap_port), Fault("s2c", 0, action="drip")) as proxy:
        out = session(kind, proxy.port, data, boxes, path)
    assert proxy.fired
    assert out.error is None
    assert check(dovecot_lab, out, marker, data, boxes, path, "drip") == "ok"
