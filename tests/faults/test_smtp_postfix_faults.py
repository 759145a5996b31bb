"""SMTP under every cut against Postfix, read back from Dovecot (issue 7).

The same session and judgement as test_smtp_faults.py (tests/faults/
smtp_sweep.py), against a real MTA: three pipelined messages to the lab
Postfix's plain ``smtp`` listener, which queues each message before it
answers the end of data and then delivers it to bob's Maildir over LMTP.
After each cut the sweep waits (bounded) for smtpd to log the session's end
and for the queue to empty, then compares the Maildir with what the client
reported: zero false successes, zero lost messages, and no plain failure for
a message that was in fact delivered.

How many offsets: with ``CI=true`` (or ``MAILWIRE_FAULTS_FULL=1``) every
offset of both streams (about 520 and 545 bytes, so at least 500 each);
otherwise about 100 spread over each stream plus every command and reply
boundary ±2, to keep a local run short (~4x faster).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults import smtp_sweep
from tests.faults.common import full_sweep
from tests.faults.smtp_sweep import PostfixTarget
from tests.lab import PostfixLab

#: offsets sampled per direction outside CI (every offset under CI)
LOCAL_SAMPLE = 100


@pytest.fixture(scope="module")
def target(postfix_lab: PostfixLab) -> Iterator[PostfixTarget]:
    target = PostfixTarget(postfix_lab)
    yield target
    target.close()


def sweep_limit() -> int:
    return 600 if full_sweep() else LOCAL_SAMPLE


def test_baseline_is_pipelined(target: PostfixTarget) -> None:
    streams = smtp_sweep.baseline(target)
    assert b"250-PIPELINING" in streams.s2c
    assert len(streams.writes) <= 8  # RFC 2920 §3.1: one write per message, about
    assert streams.s2c.count(b"250 2.0.0 Ok: queued as ") == 3


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_cut_at_every_offset(target: PostfixTarget, direction: str, kind: str) -> None:
    row = smtp_sweep.cut_sweep(target, direction, kind, limit=sweep_limit())
    if full_sweep():
        assert row.enough(), row.describe()
        assert row.tried >= 500, row.describe()
    assert row.problems == [], row.describe()
    assert row.outcomes["ConnectionLost"] > 0
    if direction == "s2c":
        assert row.outcomes["OutcomeUnknown"] > 0


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_stall_at_every_reply_boundary(target: PostfixTarget, kind: str) -> None:
    """As against aiosmtpd: every stall a Timeout (or OutcomeUnknown), none a false failure."""
    row = smtp_sweep.stall_sweep(target, kind)
    assert row.problems == [], row.describe()
    assert set(row.outcomes) == {"Timeout", "OutcomeUnknown"}, row.describe()


def test_cancel_at_every_await_point(target: PostfixTarget) -> None:
    row = smtp_sweep.cancel_sweep_smtp(target)
    assert row.problems == [], row.describe()
    assert row.outcomes["Cancelled"] >= 10
