"""What every fault sweep shares: the result row, the offsets, the stream marks (issue 7).

A sweep runs one session many times, each time with one fault, and judges
each run against what the server really holds afterwards. It does not stop
at the first broken guarantee: it records the outcome class of every run and
every broken guarantee in a :class:`Row`, so the tests can assert that a row
is clean and ``python -m tests.faults.report`` can print the very same rows
into docs/faults.md.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

from mailwire import MailwireError
from mailwire.transcript import Direction, Kind

#: The outcome classes in the order the report prints them.
OUTCOMES = (
    "ok",
    "ConnectionLost",
    "OutcomeUnknown",
    "Timeout",
    "RemoteProtocolError",
    "Cancelled",
)

#: The kinds of broken guarantee a run can show.
FALSE_SUCCESS = "false success"
LOST = "lost message"
#: reported as not sent (a plain failure) though the server has it: a resend duplicates it
FALSE_FAILURE = "false failure"
OTHER = "other"


@dataclasses.dataclass
class Row:
    """One sweep: a session, a client, a kind of fault, and what came of it.

    Attributes:
        session: what the session does, against which server.
        client: ``"blocking"`` or ``"asyncio"``.
        fault: ``"cut c2s"``, ``"cut s2c"``, ``"stall s2c"``, ``"cancel"``...
        tried: how many faulted runs were made.
        stream: the length in bytes of the faulted stream of a clean session
            (for a cancel sweep: its number of await points).
        outcomes: outcome class -> count (an exception's class name, or ``ok``).
        problems: every broken guarantee, ``(kind, description)``.
    """

    session: str
    client: str
    fault: str
    tried: int = 0
    stream: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def record(self, outcome: str, problems: Iterable[tuple[str, str]] = ()) -> None:
        self.tried += 1
        self.outcomes[outcome] += 1
        self.problems.extend(problems)

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.problems if k == kind)

    @property
    def false_successes(self) -> int:
        return self.count(FALSE_SUCCESS)

    @property
    def lost(self) -> int:
        return self.count(LOST)

    def enough(self, sample: int = 500) -> bool:
        """Every offset of a short stream was tried, or at least ``sample`` of a long one."""
        return self.tried >= min(sample, self.stream + 1)

    def describe(self) -> str:
        """The first few problems, for an assertion message."""
        lines = [f"{self.session} / {self.client} / {self.fault}: {dict(self.outcomes)}"]
        lines += [f"  {kind}: {text}" for kind, text in self.problems[:10]]
        if len(self.problems) > 10:
            lines.append(f"  ... and {len(self.problems) - 10} more")
        return "\n".join(lines)


def outcome_of(error: BaseException | None) -> str:
    """The outcome class of a run: ``ok``, or the exception's class name."""
    return "ok" if error is None else type(error).__name__


def not_mailwire(error: BaseException | None, where: str) -> list[tuple[str, str]]:
    """A problem when ``error`` is an exception that is not a MailwireError."""
    if error is None or isinstance(error, MailwireError):
        return []
    return [(OTHER, f"{where}: {type(error).__name__} is not a MailwireError: {error!r}")]


def full_sweep() -> bool:
    """Whether the long sweeps run in full: under ``CI=true`` or ``MAILWIRE_FAULTS_FULL=1``."""
    ci = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
    return ci or os.environ.get("MAILWIRE_FAULTS_FULL", "") not in {"", "0"}


def offsets(total: int, boundaries: Iterable[int], limit: int = 500) -> list[int]:
    """Every offset when the stream is short, else ~``limit`` spread plus each boundary ±2."""
    chosen = set(range(total + 1)) if total <= limit else set(range(0, total + 1, total // limit))
    for b in boundaries:
        chosen.update(x for x in range(b - 2, b + 3) if 0 <= x <= total)
    return sorted(chosen)


@dataclasses.dataclass
class Streams:
    """The bytes of a clean session each way, and where its pieces end.

    Attributes:
        c2s, s2c: every byte the client sent, and the server (as recorded:
            a secret in the client's stream is redacted, so ``c2s_size``
            counts the bytes that really went over the wire).
        c2s_size: the length of the client's stream on the wire.
        writes: the offset in the client's stream after each client write.
        lines: the offset in ``s2c`` after each line end.
    """

    c2s: bytes
    s2c: bytes
    c2s_size: int
    writes: list[int]
    lines: list[int]

    @classmethod
    def of(cls, transcript: Any) -> Streams:
        c2s, s2c = bytearray(), bytearray()
        size = 0
        writes: list[int] = []
        for record in transcript.records:
            if record.kind is not Kind.DATA:
                continue
            if record.direction is Direction.CLIENT:
                c2s += record.data
                size += record.size
                writes.append(size)
            else:
                s2c += record.data
        lines = [i + 1 for i, byte in enumerate(s2c) if byte == 0x0A]
        return cls(bytes(c2s), bytes(s2c), size, writes, lines)

    def marks(self, direction: str) -> tuple[int, list[int]]:
        """``(total, boundaries)`` of one direction, ``"c2s"`` or ``"s2c"``."""
        if direction == "c2s":
            return self.c2s_size, self.writes
        return len(self.s2c), self.lines


def stall_points(s2c: bytes, reply_ends: list[int], inside: Iterable[int] = ()) -> list[int]:
    """Where a stall sweep holds the server's stream.

    Every reply boundary (the start of the stream, the end of each reply), the
    middle of each reply, and the extra points ``inside`` (a literal, a body).
    """
    ends = sorted({0, *reply_ends})
    points = set(ends)
    for start, end in itertools.pairwise(ends):
        if end - start > 1:
            points.add((start + end) // 2)
    points.update(inside)
    return sorted(p for p in points if 0 <= p < len(s2c))
