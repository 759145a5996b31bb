"""The POP3 fault sweeps: "retrieve every message into a Maildir, then delete".

Three messages wait in alice's INBOX on Dovecot. The session: connect,
USER/PASS, ``retrieve_to_maildir(delete=True)``, QUIT. After every faulted run
a fresh connection reads the server's state back, and the guarantees are
checked (RFC 1939 §6: deletions happen only in the UPDATE state, after QUIT):

- the exception, if any, is a MailwireError (never a bare OSError);
- every message is on disk, on the server, or both -- none is lost;
- a message in the Maildir's new/ is complete (its last line is there), and
  no partial file is left in tmp/ -- else a half body would pass as whole;
- without QUIT's +OK the client raised; and when QUIT never reached the
  server, the server still has every message. When QUIT did reach it and only
  the +OK was lost, the server may have deleted, but only messages on disk.
"""

from __future__ import annotations

import asyncio
import pathlib
import shutil
import uuid
from typing import Any

from mailwire import MailwireError, Timeout, TLSMode, pop3
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
SESSION = "POP3 retrieve 3 messages to a Maildir, delete, QUIT (Dovecot)"


def seed(lab: DovecotLab) -> list[str]:
    """Empty alice's mailboxes and put three fresh messages in her INBOX."""
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


def client(port: int, timeout: float = 3.0) -> pop3.Client:
    return pop3.Client(
        "127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=timeout
    )


class Outcome:
    """What one run reported."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.quit_ok = False
        self.client: Any = None
        #: what a further call raised after the failure (None: it succeeded)
        self.probe: BaseException | None = None


def session(port: int, maildir: pathlib.Path, kind: str, timeout: float = 3.0) -> Outcome:
    """Download into ``maildir`` and QUIT; a failure is probed with NOOP, then closed."""
    out = Outcome()
    if kind == "asyncio":
        asyncio.run(_async_session(port, maildir, timeout, out))
        return out
    c = out.client = client(port, timeout)
    try:
        c.connect()
        c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        c.retrieve_to_maildir(maildir, delete=True)
        out.quit_ok = c.quit() is not None
    except Exception as exc:  # judged by check(): only MailwireError is allowed
        out.error = exc
        try:
            c.noop()
        except Exception as probe:  # the connection must be gone
            out.probe = probe
        c.close()
    return out


async def _async_session(port: int, maildir: pathlib.Path, timeout: float, out: Outcome) -> None:
    c = out.client = pop3.AsyncClient(
        "127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=timeout
    )
    try:
        await c.connect()
        await c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        await c.retrieve_to_maildir(maildir, delete=True)
        out.quit_ok = await c.quit() is not None
    except Exception as exc:  # judged by check()
        out.error = exc
        try:
            await c.noop()
        except Exception as probe:
            out.probe = probe
        await c.close()


def on_server(lab: DovecotLab) -> list[str]:
    """The messages in alice's INBOX, read through a fresh POP3 connection."""
    c = client(lab.pop3_port)
    c.connect()
    c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
    texts = [c.retrieve(n).decode() for n in sorted(c.list())]
    c.quit()
    return texts


def on_disk(maildir: pathlib.Path) -> list[bytes]:
    new = maildir / "new"
    return [p.read_bytes() for p in new.iterdir()] if new.exists() else []


def quit_sent(transcript: Any) -> bool:
    """Whether the client wrote QUIT (so it may have reached the server)."""
    return b"QUIT\r\n" in Streams.of(transcript).c2s


def check(
    lab: DovecotLab,
    markers: list[str],
    maildir: pathlib.Path,
    out: Outcome,
    quit_reached: bool,
    where: str,
    *,
    probed: bool = True,
) -> tuple[str, Problems]:
    """Judge one run against the server's state, read back through a fresh connection."""
    problems: Problems = not_mailwire(out.error, where)
    if not out.quit_ok and out.error is None:
        problems.append((FALSE_SUCCESS, f"{where}: no +OK to QUIT, yet no exception"))
    if out.error is not None and probed and not isinstance(out.probe, MailwireError):
        problems.append((OTHER, f"{where}: after {out.error!r} a call gave {out.probe!r}"))
    server = on_server(lab)
    disk = on_disk(maildir)
    if (maildir / "tmp").exists() and list((maildir / "tmp").iterdir()):
        problems.append((OTHER, f"{where}: a partial file left in tmp/"))
    for marker in markers:
        here = [d for d in disk if marker.encode() in d]
        there = [s for s in server if marker in s]
        if not here and not there:
            problems.append((LOST, f"{where}: message {marker} neither on disk nor on the server"))
        if any(not d.rstrip().endswith(f"last {marker}".encode()) for d in here):
            problems.append((FALSE_SUCCESS, f"{where}: a partial file in new/ looks complete"))
        if not out.quit_ok and not quit_reached and not there:
            problems.append((OTHER, f"{where}: deleted though QUIT never reached the server"))
    return outcome_of(out.error), problems


def baseline(lab: DovecotLab, tmp: pathlib.Path) -> Streams:
    seed(lab)
    with FaultProxy(("127.0.0.1", lab.pop3_port)) as proxy:
        out = session(proxy.port, tmp / "baseline", "blocking")
    if out.error is not None or not out.quit_ok:
        raise AssertionError(f"the clean session failed: {out.error!r}")
    if on_server(lab) != [] or len(on_disk(tmp / "baseline")) != 3:
        raise AssertionError("the clean session did not move all three messages")
    shutil.rmtree(tmp / "baseline")
    return Streams.of(out.client.transcript)


def cut_sweep(
    lab: DovecotLab, tmp: pathlib.Path, direction: str, kind: str, *, limit: int = 500
) -> Row:
    """Cut at every offset (or 500 spread plus every line end ±2) of one direction."""
    row = Row(SESSION, kind, f"cut {direction}")
    streams = baseline(lab, tmp)
    total, marks = streams.marks(direction)
    row.stream = total
    # Where QUIT has reached the server: the whole client stream has passed,
    # or the server has begun its answer to QUIT (its last line).
    quit_from = total if direction == "c2s" else streams.lines[-2]
    for at in offsets(total, marks, limit):
        markers = seed(lab)
        maildir = tmp / f"cut-{at}"
        fault = Fault(direction, at, reset=at % 5 == 0)  # type: ignore[arg-type]  # some RSTs
        with FaultProxy(("127.0.0.1", lab.pop3_port), fault, lifetime=10) as proxy:
            out = session(proxy.port, maildir, kind)
        where = f"{kind} {direction} cut at {at}"
        row.record(*check(lab, markers, maildir, out, at >= quit_from, where))
        shutil.rmtree(maildir, ignore_errors=True)
    return row


def reply_ends(s2c: bytes) -> tuple[list[int], list[int]]:
    """Where each POP3 reply ends (a status line, or a multi-line reply's dot line),
    and a point inside each message body (between the status line and the dot)."""
    ends, inside, at = [], [], 0
    body_from: int | None = None
    for line in s2c.splitlines(keepends=True):
        start, at = at, at + len(line)
        if line.startswith((b"+OK", b"-ERR")) and body_from is None:
            ends.append(at)
            if line.startswith(b"+OK") and b"octets" in line:
                body_from = at  # a RETR: the body follows
        elif line == b".\r\n":
            ends.append(at)
            if body_from is not None:
                inside.append((body_from + start) // 2)
            body_from = None
    return ends, inside


def stall_sweep(lab: DovecotLab, tmp: pathlib.Path, kind: str, *, timeout: float = 0.2) -> Row:
    """Hold the server's stream at each reply boundary, inside each reply and each body."""
    row = Row(SESSION, kind, "stall s2c")
    streams = baseline(lab, tmp)
    row.stream = len(streams.s2c)
    ends, inside = reply_ends(streams.s2c)
    for at in stall_points(streams.s2c, ends, inside):
        markers = seed(lab)
        maildir = tmp / f"stall-{at}"
        fault = Fault("s2c", at, action="stall", seconds=10.0)
        with FaultProxy(("127.0.0.1", lab.pop3_port), fault, lifetime=15) as proxy:
            out = session(proxy.port, maildir, kind, timeout)
        where = f"{kind} stall at s2c {at}"
        outcome, problems = check(
            lab, markers, maildir, out, quit_sent(out.client.transcript), where
        )
        if not isinstance(out.error, Timeout):
            problems.append((OTHER, f"{where}: ended in {outcome}, not Timeout"))
        row.record(outcome, problems)
        shutil.rmtree(maildir, ignore_errors=True)
    return row


def cancel_sweep_pop3(lab: DovecotLab, tmp: pathlib.Path, *, drip: bool = False) -> Row:
    """Cancel the asyncio session at every driver step (see tests/faults/cancel.py)."""
    row = Row(SESSION, "asyncio", "cancel" + (" (drip)" if drip else ""))
    count = 0

    def run_one(port: int, probe: CancelProbe) -> tuple[str, Problems]:
        nonlocal count
        count += 1
        markers = seed(lab)
        maildir = tmp / f"cancel-{count}"
        out = Outcome()

        async def body(c: Any) -> None:
            await c.connect()
            await c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
            await c.retrieve_to_maildir(maildir, delete=True)
            out.quit_ok = await c.quit() is not None

        c = pop3.AsyncClient(
            "127.0.0.1", port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=3.0
        )
        outcome, problems = probe.run(c, body, c.noop)
        if outcome != "ok":  # what the caller saw instead of QUIT's +OK
            out.error = asyncio.CancelledError()
        _, judged = check(
            lab, markers, maildir, out, quit_sent(c.transcript), probe.where, probed=False
        )
        # A cancel is not a MailwireError by design; the probe judged the rest.
        problems += [p for p in judged if "is not a MailwireError" not in p[1]]
        shutil.rmtree(maildir, ignore_errors=True)
        return outcome, problems

    return cancel_sweep(row, lab.pop3_port, run_one, drip)
