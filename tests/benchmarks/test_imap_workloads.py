"""The IMAP client workloads run, and their checks catch wrong answers.

Quick mode only (small mailboxes). Nothing here asserts a speed.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import Any

import pytest
from benchmarks.harness import FAILED, OK, UNAVAILABLE, Measurement, Options, run_workload
from benchmarks.workloads import imap_client_bulk, imap_dovecot_envelope

from tests.lab.rules import in_ci

QUICK = Options(quick=True, rounds=1)


# ---------------------------------------------------------------- bulk FETCH


def _truncating_sinks(fixture: imap_client_bulk.Fixture) -> Any:
    """Right sizes claimed, but the last chunk of every body never written."""

    class Lossy(imap_client_bulk._Counter):
        def write(self, data: bytes) -> None:
            if self.size + len(data) < fixture.size:
                super().write(data)
            else:
                self.size += len(data)  # counted, not kept: the tail is stale

    client = imap_client_bulk._client(fixture)
    found: list[tuple[int, int, bytes]] = []
    client.fetch(f"1:{fixture.count}", ["BODY.PEEK[]"], sink=lambda uid, s: Lossy(uid, found))
    client.logout()
    return imap_client_bulk.summary(found)


def _one_missing(fixture: imap_client_bulk.Fixture) -> Any:
    return imap_client_bulk.with_mailwire(fixture)[:-1]


def test_bulk_fetch_checks_catch_wrong_bodies() -> None:
    wrong = {"lossy sinks": _truncating_sinks, "one missing": _one_missing}
    workload = dataclasses.replace(
        imap_client_bulk.WORKLOAD,
        implementations={**imap_client_bulk.WORKLOAD.implementations, **wrong},
    )
    result = run_workload(workload, QUICK)

    for name in wrong:
        assert result.implementations[name].status == FAILED
        assert result.implementations[name].reason.startswith("check failed")
    for name in imap_client_bulk.WORKLOAD.implementations:
        impl = result.implementations[name]
        assert impl.status in {OK, UNAVAILABLE}, (name, impl.reason)
    child = result.implementations["mailwire sinks, own process"]
    if child.status == OK:  # Linux: the child read its VmHWM
        (peak,) = child.extras["peak RSS MiB"]
        (before,) = child.extras["RSS before MiB"]
        assert 0 < before <= peak


# ------------------------------------------------------ ENVELOPE from Dovecot


@pytest.fixture(scope="module")
def dovecot() -> Any:
    if shutil.which("dovecot") is None and shutil.which("dovecot", path="/usr/sbin") is None:
        if in_ci():
            pytest.fail("dovecot is not installed, and CI=true", pytrace=False)
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    fixture = imap_dovecot_envelope.setup(QUICK)
    yield fixture
    imap_dovecot_envelope.teardown(fixture)


def _rows(impl: Any, fixture: Any) -> list[Any]:
    result = impl(fixture)
    return list(result.result if isinstance(result, Measurement) else result)


def test_envelope_rows_agree_with_the_seeded_mailbox(dovecot: Any) -> None:
    seen = {}
    for name, impl in imap_dovecot_envelope.WORKLOAD.implementations.items():
        try:
            rows = _rows(impl, dovecot)
        except imap_dovecot_envelope.Unavailable:
            continue
        assert imap_dovecot_envelope.check(dovecot, rows), name
        seen[name] = rows
    assert {"imaplib (raw lines)", "mailwire", "mailwire pipelined"} <= set(seen)
    # The parsed rows carry the decoded subject, raw UTF-8 ones included.
    subjects = {row[3] for row in seen["mailwire"]}
    assert any("\u00fcber caf\u00e9" in s for s in subjects if s)


def test_envelope_check_catches_wrong_answers(dovecot: Any) -> None:
    good = _rows(imap_dovecot_envelope.with_mailwire, dovecot)
    check = imap_dovecot_envelope.check
    uid, mid, flags, subject = good[5]
    wrong_flags = ("\\Deleted",) if flags != ("\\Deleted",) else ()
    for bad in (
        good[:-1],  # a message missing
        [*good[:5], (uid, mid, wrong_flags, subject), *good[6:]],
        [*good[:5], (uid, "<other@bench.example>", flags, subject), *good[6:]],
        [*good[:5], (uid, mid, flags, "mojibake \u00c3\u00bc"), *good[6:]],
        [*good[:5], good[6], good[6], *good[7:]],  # one duplicated, one lost
    ):
        assert not check(dovecot, bad)


def test_envelope_workload_fails_a_wrong_implementation(dovecot: Any) -> None:
    def swapped(fixture: Any) -> Measurement:
        m = imap_dovecot_envelope.with_imaplib(fixture)
        rows = list(m.result)
        rows[0], rows[1] = (
            (rows[0][0], rows[1][1], *rows[0][2:]),
            (rows[1][0], rows[0][1], *rows[1][2:]),
        )
        return Measurement(m.ns, rows)

    base = imap_dovecot_envelope.WORKLOAD
    workload = dataclasses.replace(
        base,
        implementations={
            "imaplib (raw lines)": base.implementations["imaplib (raw lines)"],
            "swapped ids": swapped,
        },
        setup=lambda options: dovecot,
        teardown=lambda fixture: None,
    )
    result = run_workload(workload, QUICK)
    assert result.implementations["imaplib (raw lines)"].status == OK
    assert result.implementations["swapped ids"].status == FAILED
