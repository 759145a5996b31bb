"""Run every fault sweep against the lab servers and write docs/faults.md (issue 7).

    python -m tests.faults.report            # every sweep in full (~15 min), as root
    python -m tests.faults.report --quick    # ~100 cut offsets per stream instead
    python -m tests.faults.report --output /tmp/faults.md

The servers are the test lab's (tests/lab): aiosmtpd, Dovecot, and Postfix
in front of Dovecot (Postfix needs root; without it its rows are left out and
the page says so). The sweeps are the very functions the tests in
tests/faults/ call and assert on, so the table and the tests cannot disagree.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

from tests.faults import imap_sweep, pop3_sweep, smtp_sweep
from tests.faults.common import FALSE_FAILURE, FALSE_SUCCESS, LOST, OUTCOMES, Row
from tests.lab import (
    DovecotLab,
    LabCertificates,
    LabUnavailable,
    PostfixLab,
    SmtpLab,
    SmtpLabOptions,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def labs(
    work: pathlib.Path, notes: list[str]
) -> Iterator[tuple[SmtpLab, DovecotLab, PostfixLab | None]]:
    certs = LabCertificates(work / "certs")
    smtp_lab = SmtpLab(certs, SmtpLabOptions(pipelining=True)).start()
    dovecot = DovecotLab(certs).start()
    postfix: PostfixLab | None = None
    try:
        postfix = PostfixLab(dovecot).start()
    except LabUnavailable as exc:
        notes.append(f"Postfix rows left out: {exc}")
    try:
        yield smtp_lab, dovecot, postfix
    finally:
        if postfix is not None:
            postfix.stop()
        dovecot.stop()
        smtp_lab.stop()


def sweeps(
    smtp_lab: SmtpLab,
    dovecot: DovecotLab,
    postfix: PostfixLab | None,
    tmp: pathlib.Path,
    quick: bool,
) -> Iterator[Callable[[], Row]]:
    """Every sweep, as a thunk, in the order of the table."""
    kinds = ("blocking", "asyncio")
    directions = ("c2s", "s2c")
    smtp_limit = 100 if quick else 600
    other_limit = 100 if quick else 500
    targets: list[smtp_sweep.Target] = [smtp_sweep.AiosmtpdTarget(smtp_lab)]
    if postfix is not None:
        targets.append(smtp_sweep.PostfixTarget(postfix))
    for target in targets:
        for kind in kinds:
            for direction in directions:
                yield lambda t=target, k=kind, d=direction: smtp_sweep.cut_sweep(
                    t, d, k, limit=smtp_limit
                )
        for kind in kinds:
            yield lambda t=target, k=kind: smtp_sweep.stall_sweep(t, k)
        for drip in (False, True):
            yield lambda t=target, d=drip: smtp_sweep.cancel_sweep_smtp(t, drip=d)
    for kind in kinds:
        for direction in directions:
            yield lambda k=kind, d=direction: pop3_sweep.cut_sweep(
                dovecot, tmp, d, k, limit=other_limit
            )
    for kind in kinds:
        yield lambda k=kind: pop3_sweep.stall_sweep(dovecot, tmp, k)
    for drip in (False, True):
        yield lambda d=drip: pop3_sweep.cancel_sweep_pop3(dovecot, tmp, drip=d)
    with imap_sweep.mailboxes(dovecot) as boxes:
        for kind in kinds:
            for direction in directions:
                yield lambda k=kind, d=direction: imap_sweep.cut_sweep(
                    dovecot, boxes, tmp, d, k, limit=other_limit
                )
        for kind in kinds:
            yield lambda k=kind: imap_sweep.stall_sweep(dovecot, boxes, tmp, k)
        for drip in (False, True):
            yield lambda d=drip: imap_sweep.cancel_sweep_imap(dovecot, boxes, tmp, drip=d)


def table(rows: list[Row]) -> list[str]:
    outcomes = [o for o in OUTCOMES if any(r.outcomes[o] for r in rows)]
    extra = sorted({o for r in rows for o in r.outcomes} - set(OUTCOMES))
    columns = [*outcomes, *extra]
    head = [
        "Session",
        "Client",
        "Fault",
        "Stream",
        "Runs",
        *columns,
        "False successes",
        "Lost messages",
        "False failures",
        "Other problems",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        other = len(r.problems) - r.false_successes - r.lost - r.count(FALSE_FAILURE)
        cells = [
            r.session,
            r.client,
            r.fault,
            f"{r.stream} {'steps' if r.fault.startswith('cancel') else 'bytes'}",
            str(r.tried),
            *(str(r.outcomes[c]) for c in columns),
            str(r.false_successes),
            str(r.lost),
            str(r.count(FALSE_FAILURE)),
            str(other),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(rows: list[Row], notes: list[str], quick: bool, seconds: float) -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    day = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    total_fs = sum(r.false_successes for r in rows)
    total_lost = sum(r.lost for r in rows)
    total_runs = sum(r.tried for r in rows)
    out = [
        "# Faults: what every cut, stall and cancel ends in",
        "",
        "Generated by `python -m tests.faults.report` "
        f"({'--quick, ' if quick else ''}{total_runs} runs in {seconds / 60:.0f} min, "
        f"commit {commit}, {day}). Do not edit by hand: rerun it.",
        "",
        "Each session runs against a real server of the test lab through a loopback",
        "proxy (tests/support/fault_proxy.py) that breaks the stream, and each run is",
        "judged against the server's state read back afterwards. The sweeps are the",
        "functions the tests in tests/faults/ call and assert on, so this table and",
        "the tests cannot disagree.",
        "",
        f"**False successes: {total_fs}. Lost messages: {total_lost}.**",
        "",
        *table(rows),
        "",
        "## What the columns mean",
        "",
        "- **Fault**: `cut c2s` / `cut s2c`: the connection is closed (FIN, or RST for",
        "  every 7th offset -- every 5th for POP3) once that many bytes of the",
        "  client's / server's stream have passed; every offset of the stream when it is",
        "  shorter than the sample (500; 600 for SMTP), else that many spread over it,",
        "  always with every command and reply boundary and the two bytes either side.",
        "  `stall s2c`: the server's stream is held at every reply boundary, in the",
        "  middle of every reply, and inside each message body or literal, with the",
        "  client's timeout at 0.2 s. `cancel`: the asyncio client's task is cancelled",
        "  at each await point of its driver, one run per point (`drip`: the server's",
        "  bytes handed over one per write, so more and smaller reads; up to 80 tried).",
        "- **Stream**: the length of the faulted stream in a clean session, or its",
        "  number of await points.",
        "- Outcome columns: how the runs ended -- `ok`, or the exception's class",
        "  (`Cancelled`: `asyncio.CancelledError` propagated, as it must). A stall",
        "  ends `ok` only inside IMAP LOGOUT's response: LOGOUT takes a server that",
        "  does not answer as gone and returns None, after MOVE was confirmed.",
        f"- **False successes** ({FALSE_SUCCESS}): the client reported something done",
        "  (a message accepted, stored, moved, downloaded whole; a QUIT committed) that",
        "  the server's state does not show. Must be 0.",
        f"- **Lost messages** ({LOST}): a message neither where it was nor where it",
        "  went (POP3: neither on disk nor on the server; IMAP: in neither mailbox",
        "  after APPEND was reported; SMTP: a batch result missing). Must be 0.",
        f"- **False failures** ({FALSE_FAILURE}): a plain failure (not",
        "  `OutcomeUnknown`) for an SMTP message the server did take, so a resend",
        "  would deliver it twice.",
        "- **Other problems**: an exception that is not a `MailwireError`; a client",
        "  still usable after a fault or a cancel (a further call must raise a",
        "  `MailwireError` at once); a stall that did not end in `Timeout`; a partial",
        "  file left behind; a `ResourceWarning` or a task left after a cancel.",
        "",
        "The servers: SMTP against aiosmtpd (which records a message before it",
        "answers the end of data) and Postfix (read back from the recipient's",
        "Maildir once smtpd has logged the session's end and the queue is empty);",
        "POP3 and IMAP against Dovecot (POP3 read back through a fresh connection,",
        "IMAP through `doveadm fetch`). TLS truncation (a session ended without",
        "close_notify mid-reply is `ConnectionLost`) is tested separately in",
        "tests/faults/test_tls_truncation.py.",
        "",
    ]
    if any(r.problems for r in rows):
        out += ["## Problems found", ""]
        for r in rows:
            if not r.problems:
                continue
            out.append(f"- {r.session} / {r.client} / {r.fault}: {len(r.problems)}, e.g.")
            out += [f"  - {kind}: {text}" for kind, text in r.problems[:3]]
        out += [
            "",
            "The SMTP false failures are one library bug, shown by the strict xfail test",
            "`test_timeout_after_a_settled_message_keeps_it` in",
            "tests/faults/test_smtp_faults.py: when a batch's later message times out",
            "after an earlier one was accepted, `send_messages` raises a `Timeout` that",
            "carries no `.settled` (only `ConnectionLost` does), so the caller cannot",
            "know the earlier message went through and a resend duplicates it.",
            "",
        ]
    if notes:
        out += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    out += [
        "## Rerun",
        "",
        "```sh",
        "sudo python -m tests.faults.report      # as root, for Postfix; writes docs/faults.md",
        "python -m pytest tests/faults           # the same sweeps as tests",
        "CI=true python -m pytest tests/faults   # the Postfix sweep at every offset",
        "```",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.report", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~100 cut offsets per stream")
    parser.add_argument("--output", type=pathlib.Path, default=ROOT / "docs" / "faults.md")
    args = parser.parse_args(argv)
    notes: list[str] = []
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mw-faults-") as work:
        tmp = pathlib.Path(work)
        with labs(tmp, notes) as (smtp_lab, dovecot, postfix):
            for sweep in sweeps(smtp_lab, dovecot, postfix, tmp / "runs", args.quick):
                shutil.rmtree(tmp / "runs", ignore_errors=True)  # a clean directory per sweep
                (tmp / "runs").mkdir()
                t0 = time.monotonic()
                row = sweep()
                rows.append(row)
                print(f"{time.monotonic() - t0:6.1f}s {row.describe()}", flush=True)
    seconds = time.monotonic() - started
    args.output.write_text(render(rows, notes, args.quick, seconds), encoding="utf-8")
    print(f"wrote {args.output}")
    bad = sum(r.false_successes + r.lost for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
