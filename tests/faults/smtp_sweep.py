"""The SMTP fault sweeps: three pipelined messages under cuts, stalls and cancellation.

The session: connect, ``send_messages`` of three messages (pipelined across
messages when the server offers PIPELINING), QUIT. Each message carries a
unique ``X-Marker`` header, so what the server really took can be read back:

- from aiosmtpd (:class:`AiosmtpdTarget`), which records a message before it
  answers the end of data;
- from Postfix (:class:`PostfixTarget`), which queues the message before it
  answers and delivers it later to Dovecot over LMTP: the read-back waits for
  Postfix's smtpd to log the session's end, then for the queue to empty, then
  reads the recipient's Maildir (each wait bounded).

The guarantees (RFC 5321 §4.1.1.4 and §4.2.5; issue 7): a message is reported
accepted only after a positive reply to its end of data, and is then really on
the server; a plain ``ConnectionLost`` or ``Timeout`` says the open message
was not sent, and that must be true (a resend would duplicate it); only
``OutcomeUnknown`` may leave a message's fate open; every exception is a
``MailwireError``; after a failure the client is closed.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailwire import MailwireError, OutcomeUnknown, Timeout, TLSMode, smtp
from tests.faults.cancel import CancelProbe, cancel_sweep
from tests.faults.common import (
    FALSE_FAILURE,
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
from tests.lab import DovecotLab, PostfixLab, SmtpLab
from tests.lab.accounts import BOB
from tests.support.fault_proxy import Fault, FaultProxy

Problems = list[tuple[str, str]]


class AiosmtpdTarget:
    """aiosmtpd from the lab: it records a message before answering its end of data."""

    name = "aiosmtpd"
    recipient = "b@example.test"

    def __init__(self, lab: SmtpLab) -> None:
        self.lab = lab
        self.port = lab.plain_port

    def begin(self) -> None:
        self.lab.reset()

    def delivered(self, markers: list[str]) -> list[bool]:
        # Give the server loop a moment to finish with a connection just cut.
        time.sleep(0.02)
        contents = [m.content for m in self.lab.messages]
        return [any(marker.encode() in c for c in contents) for marker in markers]


class PostfixTarget:
    """Postfix from the lab (its plain ``smtp`` listener), delivering to Dovecot.

    Delivery is asynchronous, so :meth:`delivered` settles first: it waits
    (bounded) until smtpd has logged the end of every session begun since
    :meth:`begin`, so any message it committed is in the queue; then until the
    queue is empty, so every queued message is in the Maildir.
    """

    name = "Postfix"
    recipient = BOB.address

    def __init__(self, lab: PostfixLab, *, settle: float = 20.0) -> None:
        self.lab = lab
        self.dovecot: DovecotLab = lab.dovecot
        self.port = lab.smtp_port
        self.settle = settle
        self._log_at = 0
        self._seen: set[str] = set()
        self._spool = lab.workdir / "spool"
        self.dovecot.purge(BOB)

    def begin(self) -> None:
        try:
            self._log_at = self.lab.log_file.stat().st_size
        except FileNotFoundError:
            self._log_at = 0

    def _sessions_ended(self) -> int:
        with open(self.lab.log_file, "rb") as log:
            log.seek(self._log_at)
            text = log.read()
        return len(re.findall(rb"/smtpd\[\d+\]: disconnect from ", text))

    def _queue_empty(self) -> bool:
        # What postqueue -p lists, read from the queue directories directly
        # (a process spawn per poll would double the sweep's time).
        for queue in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(self._spool / queue):
                if files:
                    return False
        return True

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.settle
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"Postfix: {what} after {self.settle} s\n{self.lab.log_tail()}")
            time.sleep(0.01)

    def delivered(self, markers: list[str]) -> list[bool]:
        self._wait(lambda: self._sessions_ended() >= 1, "smtpd did not log the disconnect")
        self._wait(self._queue_empty, "the queue did not empty")
        found = []
        root = self.dovecot.maildir(BOB)
        for sub in ("new", "cur"):
            with os.scandir(root / sub) as entries:
                for entry in entries:
                    if entry.name not in self._seen:
                        self._seen.add(entry.name)
                        try:
                            found.append(Path(entry.path).read_bytes())
                        except FileNotFoundError:  # moved new/ -> cur/ meanwhile
                            continue
        return [any(marker.encode() in data for data in found) for marker in markers]

    def close(self) -> None:
        self.dovecot.purge(BOB)


Target = AiosmtpdTarget | PostfixTarget


def messages() -> tuple[list[bytes], list[str]]:
    """Three small messages, each with a fresh marker (and a line starting with a dot)."""
    datas, markers = [], []
    for i in range(3):
        marker = uuid.uuid4().hex
        datas.append(
            (
                f"From: a@example.test\r\nTo: b@example.test\r\nSubject: {i}\r\n"
                f"X-Marker: {marker}\r\n\r\nbody {i}\r\n.dot line\r\n"
            ).encode()
        )
        markers.append(marker)
    return datas, markers


class Outcome:
    """What one run reported: the results, the exception, the client, the probe."""

    def __init__(self) -> None:
        self.results: Any = None
        self.error: BaseException | None = None
        self.client: Any = None
        #: what a further call raised after the failure (None: it succeeded)
        self.probe: BaseException | None = None


def session(target: Target, port: int, datas: list[bytes], kind: str, timeout: float) -> Outcome:
    """The batch through the blocking or the asyncio client; a failure is probed, then closed."""
    items = [(data, "a@example.test", [target.recipient]) for data in datas]
    out = Outcome()
    if kind == "asyncio":
        asyncio.run(_async_session(port, items, timeout, out))
        return out
    client = out.client = smtp.Client("127.0.0.1", port, tls=TLSMode.PLAIN, timeout=timeout)
    try:
        client.connect()
        out.results = client.send_messages(items)
        client.quit()
    except Exception as exc:  # judged by check(): only MailwireError is allowed
        out.error = exc
        try:
            client.noop()
        except Exception as probe:  # the connection must be gone
            out.probe = probe
        client.close()
    return out


async def _async_session(port: int, items: list[Any], timeout: float, out: Outcome) -> None:
    client = out.client = smtp.AsyncClient("127.0.0.1", port, tls=TLSMode.PLAIN, timeout=timeout)
    try:
        await client.connect()
        out.results = await client.send_messages(items)
        await client.quit()
    except Exception as exc:  # judged by check()
        out.error = exc
        try:
            await client.noop()
        except Exception as probe:
            out.probe = probe
        await client.close()


def check(out: Outcome, got: list[bool], where: str) -> tuple[str, Problems]:
    """Judge one run against the server's state ``got`` (message i delivered?)."""
    problems: Problems = []
    error = out.error
    if error is None:
        results = list(out.results or [])
        if len(results) != len(got):
            problems.append((LOST, f"{where}: {len(results)} results for {len(got)} messages"))
        for i, result in enumerate(results):
            if not result.accepted:
                problems.append((OTHER, f"{where}: message {i} refused in a clean session"))
            elif not got[i]:
                problems.append((FALSE_SUCCESS, f"{where}: message {i} reported sent, not there"))
        return "ok", problems
    problems += not_mailwire(error, where)
    if not isinstance(out.probe, MailwireError):
        problems.append((OTHER, f"{where}: after {type(error).__name__} a call gave {out.probe!r}"))
    # A failure after send_messages returned (in QUIT) leaves its results standing.
    settled = list(out.results) if out.results is not None else list(getattr(error, "settled", []))
    for i, result in enumerate(settled):
        if result.accepted and not got[i]:
            problems.append((FALSE_SUCCESS, f"{where}: settled message {i} accepted, not there"))
    # The first unsettled message may be on the server only when the client
    # says its outcome is unknown; every later one was never sent.
    first_open = len(settled)
    not_sent_from = first_open + 1 if isinstance(error, OutcomeUnknown) else first_open
    for i in range(not_sent_from, len(got)):
        if got[i]:
            problems.append(
                (
                    FALSE_FAILURE,
                    f"{where}: {type(error).__name__} says message {i} was not sent, but the "
                    "server has it (a resend would duplicate it)",
                )
            )
    return outcome_of(error), problems


def baseline(target: Target, kind: str = "blocking") -> Streams:
    """One clean session through a fault-free proxy: the streams to sweep."""
    target.begin()
    datas, markers = messages()
    with FaultProxy(("127.0.0.1", target.port)) as proxy:
        out = session(target, proxy.port, datas, kind, 2.0)
    if out.error is not None:
        raise AssertionError(f"the clean session failed: {out.error!r}")
    streams = Streams.of(out.client.transcript)
    if proxy.relayed != {"c2s": streams.c2s_size, "s2c": len(streams.s2c)}:
        raise AssertionError(f"proxy counts {proxy.relayed} differ from the transcript")
    if not all(target.delivered(markers)):
        raise AssertionError("the clean session's messages did not all arrive")
    return streams


def cut_sweep(target: Target, direction: str, kind: str, *, limit: int = 600) -> Row:
    """Cut the stream at every offset (or ~``limit`` plus every boundary ±2)."""
    row = Row(f"SMTP send of 3 pipelined messages ({target.name})", kind, f"cut {direction}")
    total, marks = baseline(target).marks(direction)
    row.stream = total
    for at in offsets(total, marks, limit):
        target.begin()
        datas, markers = messages()
        fault = Fault(direction, at, reset=at % 7 == 0)  # type: ignore[arg-type]  # some RSTs
        with FaultProxy(("127.0.0.1", target.port), fault, lifetime=10) as proxy:
            out = session(target, proxy.port, datas, kind, 2.0)
        row.record(*check(out, target.delivered(markers), f"{kind} {direction} cut at {at}"))
    return row


def timed_out(error: BaseException | None) -> bool:
    """A ``Timeout``, or an ``OutcomeUnknown`` caused by one (the end of data's reply stalled)."""
    if isinstance(error, OutcomeUnknown):
        error = error.__cause__
    return isinstance(error, Timeout)


def reply_ends(s2c: bytes) -> list[int]:
    """Where each SMTP reply ends: after a line whose code is followed by a space."""
    ends, at = [], 0
    for line in s2c.splitlines(keepends=True):
        at += len(line)
        if len(line) >= 4 and line[3:4] != b"-":
            ends.append(at)
    return ends


def stall_sweep(target: Target, kind: str, *, timeout: float = 0.2) -> Row:
    """Hold the server's stream at every reply boundary and inside each reply.

    The client's per-wait timeout is ``timeout``; the stall lasts far longer
    (10 s, ended early once the run is over), so every run must end in
    ``Timeout`` -- or ``OutcomeUnknown`` when it was the end of data's reply
    that stalled. An ``ok`` would mean the stall did not take, also a problem.
    """
    row = Row(f"SMTP send of 3 pipelined messages ({target.name})", kind, "stall s2c")
    streams = baseline(target)
    row.stream = len(streams.s2c)
    for at in stall_points(streams.s2c, reply_ends(streams.s2c)):
        target.begin()
        datas, markers = messages()
        fault = Fault("s2c", at, action="stall", seconds=10.0)
        with FaultProxy(("127.0.0.1", target.port), fault, lifetime=15) as proxy:
            out = session(target, proxy.port, datas, kind, timeout)
        where = f"{kind} stall at s2c {at}"
        outcome, problems = check(out, target.delivered(markers), where)
        if not timed_out(out.error):
            problems.append((OTHER, f"{where}: ended in {outcome}, not Timeout"))
        row.record(outcome, problems)
    return row


def cancel_run(target: Target, port: int, probe: CancelProbe) -> tuple[str, Problems]:
    """One asyncio session, cancelled at ``probe``'s step; judged like a cut."""
    target.begin()
    datas, markers = messages()
    items = [(data, "a@example.test", [target.recipient]) for data in datas]
    out = Outcome()

    async def body(client: Any) -> None:
        await client.connect()
        out.results = await client.send_messages(items)
        await client.quit()

    client = smtp.AsyncClient("127.0.0.1", port, tls=TLSMode.PLAIN, timeout=2.0)
    outcome, problems = probe.run(client, body, client.noop)
    got = target.delivered(markers)
    for i, result in enumerate(out.results or []):
        if result.accepted and not got[i]:
            problems.append((FALSE_SUCCESS, f"{probe.where}: message {i} reported, not there"))
    return outcome, problems


def cancel_sweep_smtp(target: Target, *, drip: bool = False) -> Row:
    """Cancel the asyncio session at every driver step (see tests/faults/cancel.py)."""
    row = Row(
        f"SMTP send of 3 pipelined messages ({target.name})",
        "asyncio",
        "cancel" + (" (drip)" if drip else ""),
    )
    return cancel_sweep(row, target.port, lambda port, probe: cancel_run(target, port, probe), drip)
