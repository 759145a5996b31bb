"""SMTP under every cut, stall and cancel against aiosmtpd (issue 7).

Three messages go in one pipelined batch through a proxy that breaks the
stream; tests/faults/smtp_sweep.py runs the sessions and judges each one
against what aiosmtpd recorded (it records a message the moment it accepts
the end of data). The same sweep functions fill docs/faults.md
(``python -m tests.faults.report``), so the table and these tests cannot
disagree. Postfix gets the same sweep in test_smtp_postfix_faults.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from mailwire import Timeout
from tests.faults import smtp_sweep
from tests.faults.common import Row
from tests.faults.smtp_sweep import AiosmtpdTarget
from tests.lab import LabCertificates, SmtpLab, SmtpLabOptions, start_lab
from tests.support.fault_proxy import Fault, FaultProxy


@pytest.fixture(scope="module")
def target(lab_certs: LabCertificates) -> Iterator[AiosmtpdTarget]:
    lab = start_lab(SmtpLab(lab_certs, SmtpLabOptions(pipelining=True)).start)
    yield AiosmtpdTarget(lab)
    lab.stop()


def assert_clean(row: Row, *, allow: tuple[str, ...] = ()) -> None:
    problems = [p for p in row.problems if p[0] not in allow]
    assert problems == [], row.describe()


def test_baseline_is_pipelined(target: AiosmtpdTarget) -> None:
    streams = smtp_sweep.baseline(target)
    # Pipelined across messages (RFC 2920 §3.1): far fewer writes than commands.
    assert len(streams.writes) <= 8
    assert streams.c2s.count(b"MAIL FROM:") == 3


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_cut_at_every_offset(target: AiosmtpdTarget, direction: str, kind: str) -> None:
    row = smtp_sweep.cut_sweep(target, direction, kind)
    assert row.enough(), row.describe()  # every offset: the streams are < 500 bytes
    assert_clean(row)
    # The sweep saw the interesting outcomes, not only one kind of failure.
    assert row.outcomes["ConnectionLost"] > 0
    if direction == "s2c":
        assert row.outcomes["OutcomeUnknown"] > 0


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_stall_at_every_reply_boundary(target: AiosmtpdTarget, kind: str) -> None:
    """Every stall ends in Timeout (OutcomeUnknown when the end of data's reply stalled).

    A Timeout in a batch carries the messages settled before it (``.settled``),
    so none is reported unsent when the server has it (no false failure).
    """
    row = smtp_sweep.stall_sweep(target, kind)
    assert_clean(row)
    assert set(row.outcomes) == {"Timeout", "OutcomeUnknown"}, row.describe()
    assert row.false_successes == 0


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_timeout_after_a_settled_message_keeps_it(target: AiosmtpdTarget, kind: str) -> None:
    streams = smtp_sweep.baseline(target)
    # Right after the reply "250 2.0.0 OK: queued" to message 0's end of data:
    # message 0 is settled (accepted), the replies to message 1's envelope stall.
    first_queued = next(re.finditer(rb"250 2\.0\.0 [^\r]*\r\n", streams.s2c)).end()
    target.begin()
    datas, markers = smtp_sweep.messages()
    fault = Fault("s2c", first_queued, action="stall", seconds=10.0)
    with FaultProxy(("127.0.0.1", target.port), fault, lifetime=15) as proxy:
        out = smtp_sweep.session(target, proxy.port, datas, kind, 0.2)
    assert target.delivered(markers) == [True, False, False]
    assert isinstance(out.error, Timeout)
    settled = out.error.settled
    assert len(settled) == 1
    assert list(settled[0].accepted) == [target.recipient]


def test_cancel_at_every_await_point(target: AiosmtpdTarget) -> None:
    row = smtp_sweep.cancel_sweep_smtp(target)
    assert_clean(row)
    assert row.outcomes["Cancelled"] >= 10


def test_cancel_at_every_byte(target: AiosmtpdTarget) -> None:
    """The server's bytes come one per write, so the client makes more, smaller reads."""
    row = smtp_sweep.cancel_sweep_smtp(target, drip=True)
    assert_clean(row)
    assert row.outcomes["Cancelled"] >= 10


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_one_byte_at_a_time(target: AiosmtpdTarget, kind: str) -> None:
    target.begin()
    datas, markers = smtp_sweep.messages()
    with FaultProxy(("127.0.0.1", target.port), Fault("s2c", 0, action="drip")) as proxy:
        out = smtp_sweep.session(target, proxy.port, datas, kind, 2.0)
    assert proxy.fired
    assert out.error is None
    assert [list(r.accepted) for r in out.results] == [[target.recipient]] * 3
    assert all(target.delivered(markers))
