"""IMAP under every cut, stall and cancel: no false success, no half body passed as whole (issue 7).

One session against Dovecot -- LOGIN, APPEND, SELECT, FETCH into a
FileSink, MOVE, LOGOUT -- goes through a proxy that breaks the stream.
tests/faults/imap_sweep.py runs the sessions and judges each one against
the server's state read back through ``doveadm``; the same functions fill
docs/faults.md (``python -m tests.faults.report``).
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator

import pytest

from tests.faults import imap_sweep
from tests.faults.imap_sweep import Boxes
from tests.lab import DovecotLab
from tests.support.fault_proxy import Fault, FaultProxy


@pytest.fixture(scope="module")
def boxes(dovecot_lab: DovecotLab) -> Iterator[Boxes]:
    with imap_sweep.mailboxes(dovecot_lab) as names:
        yield names


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_baseline(dovecot_lab: DovecotLab, boxes: Boxes, tmp_path: pathlib.Path) -> None:
    streams = imap_sweep.baseline(dovecot_lab, boxes, tmp_path)
    ends, inside = imap_sweep.reply_ends(streams.s2c)
    assert len(inside) == 1  # the FETCH literal
    assert streams.s2c[: ends[0]].startswith(b"* OK")


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_cut_at_every_offset(
    kind: str, direction: str, dovecot_lab: DovecotLab, boxes: Boxes, tmp_path: pathlib.Path
) -> None:
    row = imap_sweep.cut_sweep(dovecot_lab, boxes, tmp_path, direction, kind)
    assert row.enough(), row.describe()
    assert row.problems == [], row.describe()
    assert row.outcomes["ConnectionLost"] > 0
    assert set(row.outcomes) <= {"ok", "ConnectionLost", "RemoteProtocolError", "Timeout"}


def test_stall_at_every_reply_boundary(
    kind: str, dovecot_lab: DovecotLab, boxes: Boxes, tmp_path: pathlib.Path
) -> None:
    """Held at each response's end, inside each response and the FETCH literal: Timeout.

    Inside LOGOUT's response the session ends "ok": LOGOUT takes a server
    that does not answer as gone and returns None (the work was confirmed).
    """
    row = imap_sweep.stall_sweep(dovecot_lab, boxes, tmp_path, kind)
    assert row.problems == [], row.describe()
    assert row.outcomes["Timeout"] >= 20, row.describe()
    assert set(row.outcomes) <= {"Timeout", "ok"}, row.describe()


@pytest.mark.parametrize("drip", [False, True], ids=["every-step", "drip"])
def test_cancel_at_every_await_point(
    dovecot_lab: DovecotLab, boxes: Boxes, tmp_path: pathlib.Path, drip: bool
) -> None:
    row = imap_sweep.cancel_sweep_imap(dovecot_lab, boxes, tmp_path, drip=drip)
    assert row.problems == [], row.describe()
    assert row.outcomes["Cancelled"] >= 10, row.describe()


def test_one_byte_at_a_time(
    kind: str, dovecot_lab: DovecotLab, boxes: Boxes, tmp_path: pathlib.Path
) -> None:
    marker = uuid.uuid4().hex
    data = imap_sweep.message(marker)
    path = tmp_path / "drip.eml"
    with FaultProxy(("127.0.0.1", dovecot_lab.imap_port), Fault("s2c", 0, action="drip")) as proxy:
        out = imap_sweep.session(kind, proxy.port, data, boxes, path)
    assert proxy.fired
    assert out.error is None
    assert imap_sweep.check(dovecot_lab, out, marker, data, boxes, path, "drip") == ("ok", [])
