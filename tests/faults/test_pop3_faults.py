"""POP3 under every cut, stall and cancel: nothing deleted that is not on disk (issue 7).

Three messages wait in alice's INBOX on Dovecot; the client downloads them
with ``retrieve_to_maildir(delete=True)`` and QUITs, through a proxy that
breaks the stream. tests/faults/pop3_sweep.py runs the sessions and judges
each one against the server's state read back through a fresh connection;
the same functions fill docs/faults.md (``python -m tests.faults.report``).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from tests.faults import pop3_sweep
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE


@pytest.fixture
def mailbox(dovecot_lab: DovecotLab) -> Iterator[DovecotLab]:
    dovecot_lab.purge(ALICE)
    yield dovecot_lab
    dovecot_lab.purge(ALICE)


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_cut_at_every_offset(
    mailbox: DovecotLab, tmp_path: pathlib.Path, direction: str, kind: str
) -> None:
    row = pop3_sweep.cut_sweep(mailbox, tmp_path, direction, kind)
    assert row.enough(), row.describe()
    assert row.problems == [], row.describe()
    assert row.outcomes["ConnectionLost"] > 0, row.describe()


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_stall_at_every_reply_boundary(
    mailbox: DovecotLab, tmp_path: pathlib.Path, kind: str
) -> None:
    """Held at each reply's end, inside each reply and each body: always Timeout."""
    row = pop3_sweep.stall_sweep(mailbox, tmp_path, kind)
    assert row.problems == [], row.describe()
    assert set(row.outcomes) == {"Timeout"}, row.describe()
    assert row.tried >= 20


@pytest.mark.parametrize("drip", [False, True], ids=["every-step", "drip"])
def test_cancel_at_every_await_point(
    mailbox: DovecotLab, tmp_path: pathlib.Path, drip: bool
) -> None:
    row = pop3_sweep.cancel_sweep_pop3(mailbox, tmp_path, drip=drip)
    assert row.problems == [], row.describe()
    assert row.outcomes["Cancelled"] >= 10, row.describe()
