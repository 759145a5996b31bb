"""The IMAP fault sweeps: "append, fetch with a sink, move" against Dovecot.

The session: LOGIN, APPEND of a message carrying a unique marker, SELECT,
FETCH of its body into a :class:`FileSink`, MOVE to a second mailbox, LOGOUT.
After every faulted run the server's state is read back through ``doveadm``
and judged (RFC 3501, RFC 4315 UIDPLUS, RFC 6851 MOVE):

- the exception, if any, is a ``MailwireError`` (never a bare ``OSError``);
- APPEND reported success => the message is on the server, under the UID
  APPENDUID named;
- FETCH reported success => the file holds the message byte for byte; if it
  raised, no file is left looking complete (the sink was aborted, and no
  ``.part`` file remains);
- MOVE reported success => the message is in the destination under the
  COPYUID UID and no longer in the source;
- a message APPEND reported is in one of the two mailboxes -- never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

from mailwire import MailwireError, Timeout, TLSMode
from mailwire.imap._sinks import FileSink
from mailwire.imap.aio import AsyncClient
from mailwire.imap.client import Client
from tests.faults.cancel import CancelProbe, cancel_sweep
from tests.faults.common import (
    FALSE_SUCCESS,
    LOST,
    OTHER,
    Row,
    Streams,
    not_mailwire,
    offsets,
    outcome_of,
    stall_points,
)
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE
from tests.support.fault_proxy import Fault, FaultProxy

Problems = list[tuple[str, str]]
Boxes = tuple[str, str]
SESSION = "IMAP append, fetch into a file sink, move (Dovecot)"


@contextlib.contextmanager
def mailboxes(lab: DovecotLab) -> Iterator[Boxes]:
    """Two fresh mailboxes of alice's, deleted afterwards."""
    source, target = f"faults-{uuid.uuid4().hex[:8]}", f"faults-{uuid.uuid4().hex[:8]}"
    for name in (source, target):
        lab.doveadm("mailbox", "create", "-u", ALICE.name, name)
    try:
        yield source, target
    finally:
        for name in (source, target):
            with contextlib.suppress(RuntimeError):
                lab.doveadm("mailbox", "delete", "-u", ALICE.name, "-s", name)


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
        #: LOGOUT's tagged OK; None when the server did not answer (not an error)
        self.logout: Any = None
        #: what a further call raised after the failure (None: it succeeded)
        self.probe: BaseException | None = None


def _client(kind: str, port: int, timeout: float) -> Any:
    cls = AsyncClient if kind == "asyncio" else Client
    return cls("127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=timeout)


async def _steps_async(
    client: Any, data: bytes, boxes: Boxes, path: pathlib.Path, out: Outcome
) -> None:
    source, target = boxes
    await client.connect()
    await client.login(ALICE.name, ALICE.password)
    out.appended = await client.append(source, data)
    await client.select(source)
    uid = out.appended.uids[0]
    out.fetched = await client.fetch(uid, ["BODY.PEEK[]"], sink=lambda u, s: FileSink(path))
    out.moved = await client.move(uid, target)
    out.logout = await client.logout()


async def _session_async(
    port: int, data: bytes, boxes: Boxes, path: pathlib.Path, out: Outcome, timeout: float
) -> None:
    client = _client("asyncio", port, timeout)
    out.transcript = client.transcript
    try:
        await _steps_async(client, data, boxes, path, out)
    except Exception as exc:  # judged by check(): only MailwireError is allowed
        out.error = exc
        try:
            await client.noop()
        except Exception as probe:  # the connection must be gone
            out.probe = probe
        await client.disconnect()


def session(
    kind: str, port: int, data: bytes, boxes: Boxes, path: pathlib.Path, timeout: float = 2.0
) -> Outcome:
    out = Outcome()
    if kind == "asyncio":
        asyncio.run(_session_async(port, data, boxes, path, out, timeout))
        return out
    source, target = boxes
    client = _client(kind, port, timeout)
    out.transcript = client.transcript
    try:
        client.connect()
        client.login(ALICE.name, ALICE.password)
        out.appended = client.append(source, data)
        client.select(source)
        uid = out.appended.uids[0]
        out.fetched = client.fetch(uid, ["BODY.PEEK[]"], sink=lambda u, s: FileSink(path))
        out.moved = client.move(uid, target)
        out.logout = client.logout()
    except Exception as exc:  # judged by check()
        out.error = exc
        try:
            client.noop()
        except Exception as probe:
            out.probe = probe
        client.disconnect()
    return out


def where_is(lab: DovecotLab, boxes: Boxes, marker: str) -> tuple[list[int], list[int]]:
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
    boxes: Boxes,
    path: pathlib.Path,
    label: str,
    *,
    probed: bool = True,
) -> tuple[str, Problems]:
    problems: Problems = not_mailwire(out.error, label)
    if out.error is not None and probed and not isinstance(out.probe, MailwireError):
        problems.append((OTHER, f"{label}: after {out.error!r} a call gave {out.probe!r}"))
    in_source, in_target = where_is(lab, boxes, marker)
    if out.appended is not None:
        (uid,) = out.appended.uids
        if not in_source and not in_target:
            kind = LOST if out.moved is None else FALSE_SUCCESS
            problems.append((kind, f"{label}: APPEND reported UID {uid}, in neither mailbox"))
        elif out.moved is None and in_source and uid not in in_source:
            problems.append(
                (FALSE_SUCCESS, f"{label}: APPEND reported UID {uid}, server has {in_source}")
            )
    if out.fetched is not None:
        if not path.exists() or path.read_bytes() != data:
            problems.append((FALSE_SUCCESS, f"{label}: FETCH reported whole, the file differs"))
    elif path.exists() and path.read_bytes() != data:
        problems.append((FALSE_SUCCESS, f"{label}: a partial body looks complete"))
    if pathlib.Path(str(path) + ".part").exists():
        problems.append((OTHER, f"{label}: a partial .part file left"))
    if out.moved is not None and (list(out.moved.destination) != in_target or in_source):
        problems.append(
            (FALSE_SUCCESS, f"{label}: MOVE reported, server has {in_source} / {in_target}")
        )
    return outcome_of(out.error), problems


def baseline(lab: DovecotLab, boxes: Boxes, tmp: pathlib.Path, kind: str = "blocking") -> Streams:
    marker = uuid.uuid4().hex
    data = message(marker)
    path = tmp / f"baseline-{marker}.eml"
    with FaultProxy(("127.0.0.1", lab.imap_port)) as proxy:
        out = session(kind, proxy.port, data, boxes, path)
    outcome, problems = check(lab, out, marker, data, boxes, path, "baseline")
    if outcome != "ok" or problems:
        raise AssertionError(f"the clean session failed: {out.error!r} {problems}")
    streams = Streams.of(out.transcript)
    if proxy.relayed != {"c2s": streams.c2s_size, "s2c": len(streams.s2c)}:
        raise AssertionError(f"proxy counts {proxy.relayed} differ from the transcript")
    return streams


def cut_sweep(
    lab: DovecotLab, boxes: Boxes, tmp: pathlib.Path, direction: str, kind: str, *, limit: int = 500
) -> Row:
    """Cut at every offset (or 500 spread plus every boundary ±2) of one direction."""
    row = Row(SESSION, kind, f"cut {direction}")
    total, marks = baseline(lab, boxes, tmp).marks(direction)
    row.stream = total
    for n, at in enumerate(offsets(total, marks, limit)):
        marker = uuid.uuid4().hex
        data = message(marker)
        path = tmp / f"cut-{direction}-{n}.eml"
        fault = Fault(direction, at, reset=at % 7 == 0)  # type: ignore[arg-type]  # some RSTs
        with FaultProxy(("127.0.0.1", lab.imap_port), fault, lifetime=10) as proxy:
            out = session(kind, proxy.port, data, boxes, path)
        label = f"{kind} {direction} cut at {at}"
        row.record(*check(lab, out, marker, data, boxes, path, label))
    return row


_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


def reply_ends(s2c: bytes) -> tuple[list[int], list[int]]:
    """Where each IMAP response line ends (a literal's bytes are skipped whole),
    and the middle of each literal."""
    ends, inside, at = [], [], 0
    while at < len(s2c):
        eol = s2c.find(b"\n", at)
        if eol < 0:
            break
        at = eol + 1
        literal = _LITERAL.search(s2c, 0, at)
        if literal is not None and literal.end() == at:
            size = int(literal.group(1))
            inside.append(at + size // 2)
            at += size  # the response line goes on after the literal
            continue
        ends.append(at)
    return ends, inside


def stall_sweep(
    lab: DovecotLab, boxes: Boxes, tmp: pathlib.Path, kind: str, *, timeout: float = 0.2
) -> Row:
    """Hold the server's stream at each response boundary, inside each response and literal."""
    row = Row(SESSION, kind, "stall s2c")
    streams = baseline(lab, boxes, tmp)
    row.stream = len(streams.s2c)
    ends, inside = reply_ends(streams.s2c)
    for n, at in enumerate(stall_points(streams.s2c, ends, inside)):
        marker = uuid.uuid4().hex
        data = message(marker)
        path = tmp / f"stall-{n}.eml"
        fault = Fault("s2c", at, action="stall", seconds=10.0)
        with FaultProxy(("127.0.0.1", lab.imap_port), fault, lifetime=15) as proxy:
            out = session(kind, proxy.port, data, boxes, path, timeout)
        label = f"{kind} stall at s2c {at}"
        outcome, problems = check(lab, out, marker, data, boxes, path, label)
        # LOGOUT treats a server that does not answer as gone (RFC 9051 §6.1.3:
        # the session is over either way): held inside its reply, the
        # session ends with LOGOUT returning None, after MOVE's OK.
        held_in_logout = out.error is None and out.moved is not None and out.logout is None
        if not isinstance(out.error, Timeout) and not held_in_logout:
            problems.append((OTHER, f"{label}: ended in {outcome}, not Timeout"))
        row.record(outcome, problems)
    return row


def cancel_sweep_imap(
    lab: DovecotLab, boxes: Boxes, tmp: pathlib.Path, *, drip: bool = False
) -> Row:
    """Cancel the asyncio session at every driver step (see tests/faults/cancel.py)."""
    row = Row(SESSION, "asyncio", "cancel" + (" (drip)" if drip else ""))
    count = 0

    def run_one(port: int, probe: CancelProbe) -> tuple[str, Problems]:
        nonlocal count
        count += 1
        marker = uuid.uuid4().hex
        data = message(marker)
        path = tmp / f"cancel-{count}.eml"
        out = Outcome()
        client = _client("asyncio", port, 2.0)

        async def body(c: Any) -> None:
            await _steps_async(c, data, boxes, path, out)

        outcome, problems = probe.run(client, body, client.noop, client.disconnect)
        _, judged = check(lab, out, marker, data, boxes, path, probe.where, probed=False)
        return outcome, problems + judged

    return cancel_sweep(row, lab.imap_port, run_one, drip)
