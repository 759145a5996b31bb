"""SMTP under every cut: never a false success, never a silent loss (issue 7).

Three messages go to a real server (aiosmtpd, which records a message the
moment it accepts the end of data) in one pipelined batch, through a proxy
that cuts the stream at a byte offset of either direction. For every offset:

- the exception, if any, is a MailwireError (never a bare OSError);
- a message reported accepted is on the server;
- a message reported not sent (plain ConnectionLost, not OutcomeUnknown) is
  NOT on the server: that report would invite a resend, so it must be true;
- only OutcomeUnknown may leave a message's fate open.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mailwire import MailwireError, OutcomeUnknown, Timeout, TLSMode, smtp
from mailwire.transcript import Direction, Kind
from tests.lab import LabCertificates, SmtpLab, SmtpLabOptions, start_lab
from tests.support.fault_proxy import Fault, FaultProxy


@pytest.fixture(scope="module")
def lab(lab_certs: LabCertificates) -> Iterator[SmtpLab]:
    started = start_lab(SmtpLab(lab_certs, SmtpLabOptions(pipelining=True)).start)
    yield started
    started.stop()


def messages() -> list[tuple[bytes, str]]:
    out = []
    for i in range(3):
        marker = uuid.uuid4().hex
        data = (
            f"From: a@example.test\r\nTo: b@example.test\r\nSubject: {i}\r\n"
            f"X-Marker: {marker}\r\n\r\nbody {i}\r\n.dot line\r\n"
        ).encode()
        out.append((data, marker))
    return out


def session(
    port: int, batch: list[tuple[bytes, str]], kind: str = "blocking"
) -> tuple[Any, BaseException | None, Any]:
    """The batch through the blocking or the asyncio client (issue 7 item 4)."""
    items = [(data, "a@example.test", ["b@example.test"]) for data, _ in batch]
    if kind == "asyncio":
        return asyncio.run(_async_session(port, items))
    client = smtp.Client("127.0.0.1", port, tls=TLSMode.PLAIN, timeout=2.0)
    results = None
    error: BaseException | None = None
    try:
        client.connect()
        results = client.send_messages(items)
        client.quit()
    except Exception as exc:  # judged below: only MailwireError is allowed
        error = exc
        client.close()
    return results, error, client


async def _async_session(port: int, items: list[Any]) -> tuple[Any, BaseException | None, Any]:
    client = smtp.AsyncClient("127.0.0.1", port, tls=TLSMode.PLAIN, timeout=2.0)
    results = None
    error: BaseException | None = None
    try:
        await client.connect()
        results = await client.send_messages(items)
        await client.quit()
    except Exception as exc:  # judged by the caller
        error = exc
        await client.close()
    return results, error, client


def delivered(lab: SmtpLab, batch: list[tuple[bytes, str]]) -> list[bool]:
    # aiosmtpd records a message before it answers the end of data; give the
    # server loop a moment to finish with a connection that was just cut.
    time.sleep(0.02)
    contents = [m.content for m in lab.messages]
    return [any(marker.encode() in c for c in contents) for _, marker in batch]


def check(results: Any, error: BaseException | None, got: list[bool], where: str) -> str:
    if error is None:
        assert results is not None
        for i, result in enumerate(results):
            assert result.accepted, (where, i)
            assert got[i], f"{where}: message {i} reported sent but not on the server"
        return "ok"
    assert isinstance(error, MailwireError), f"{where}: {type(error).__name__}: {error}"
    settled = list(getattr(error, "settled", []))
    for i, result in enumerate(settled):
        if result.accepted:
            assert got[i], f"{where}: settled message {i} accepted but not on the server"
    # The first unsettled message may have reached the server only when the
    # client says its outcome is unknown; every later one was never sent.
    first_open = len(settled)
    not_sent_from = first_open + 1 if isinstance(error, OutcomeUnknown) else first_open
    for i in range(not_sent_from, len(got)):
        assert not got[i], (
            f"{where}: {type(error).__name__} says message {i} was not sent, "
            "but the server has it (a resend would duplicate it)"
        )
    return type(error).__name__


def stream_lengths(client: Any) -> tuple[int, int, list[int], list[int]]:
    """Total bytes each way, and the offsets of every write and line end."""
    c2s = s2c = 0
    writes, lines = [], []
    for record in client.transcript.records:
        if record.kind is not Kind.DATA:
            continue
        if record.direction is Direction.CLIENT:
            c2s += record.size
            writes.append(c2s)
        else:
            for i, byte in enumerate(record.data):
                if byte == 0x0A:
                    lines.append(s2c + i + 1)
            s2c += record.size
    return c2s, s2c, writes, lines


def offsets(total: int, boundaries: list[int], limit: int = 600) -> list[int]:
    """Every offset when the stream is short, else a spread plus each boundary ±2."""
    chosen = set(range(total + 1)) if total <= limit else set(range(0, total + 1, total // limit))
    for b in boundaries:
        chosen.update(x for x in (b - 2, b - 1, b, b + 1, b + 2) if 0 <= x <= total)
    return sorted(chosen)


def test_baseline_through_the_proxy(lab: SmtpLab) -> None:
    lab.reset()
    batch = messages()
    with FaultProxy(("127.0.0.1", lab.plain_port)) as proxy:
        _, error, client = session(proxy.port, batch)
    assert error is None
    assert all(delivered(lab, batch))
    c2s, s2c, writes, _ = stream_lengths(client)
    assert proxy.relayed == {"c2s": c2s, "s2c": s2c}
    # Pipelined across messages: far fewer writes than commands.
    assert len(writes) <= 8


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_cut_at_every_offset(lab: SmtpLab, direction: str, kind: str) -> None:
    lab.reset()
    batch = messages()
    with FaultProxy(("127.0.0.1", lab.plain_port)) as proxy:
        _, error, client = session(proxy.port, batch)
    assert error is None
    c2s, s2c, writes, lines = stream_lengths(client)
    total, marks = (c2s, writes) if direction == "c2s" else (s2c, lines)
    outcomes: dict[str, int] = {}
    for at in offsets(total, marks):
        lab.reset()
        batch = messages()
        fault = Fault(direction, at, reset=at % 7 == 0)  # some cuts are RSTs
        with FaultProxy(("127.0.0.1", lab.plain_port), fault, lifetime=10) as proxy:
            results, error, _ = session(proxy.port, batch, kind)
        outcome = check(results, error, delivered(lab, batch), f"{kind} {direction} cut at {at}")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # The sweep saw the interesting outcomes, not only one kind of failure.
    assert outcomes.get("ConnectionLost", 0) > 0
    if direction == "s2c":
        assert outcomes.get("OutcomeUnknown", 0) > 0


def test_stall_becomes_a_timeout(lab: SmtpLab) -> None:
    lab.reset()
    batch = messages()
    # 40 bytes into the server's stream is inside the EHLO reply; the stall
    # (4 s) outlasts the client's 2 s timeout, so the timeout must end it.
    fault = Fault("s2c", 40, action="stall", seconds=4.0)
    with FaultProxy(("127.0.0.1", lab.plain_port), fault, lifetime=10) as proxy:
        results, error, _ = session(proxy.port, batch)
    assert proxy.fired
    assert isinstance(error, Timeout)
    assert isinstance(error, TimeoutError)
    check(results, error, delivered(lab, batch), "stall at 40")
    assert not any(delivered(lab, batch))


def test_one_byte_at_a_time(lab: SmtpLab) -> None:
    lab.reset()
    batch = messages()
    with FaultProxy(("127.0.0.1", lab.plain_port), Fault("s2c", 0, action="drip")) as proxy:
        results, error, _ = session(proxy.port, batch)
    assert proxy.fired
    assert error is None
    assert [list(r.accepted) for r in results] == [["b@example.test"]] * 3
    assert all(delivered(lab, batch))
