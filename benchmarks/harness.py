"""Run several implementations of one workload side by side and compare them.

Theory of operation
-------------------
A :class:`Workload` is a declarative description: a name, a dict of
implementations (name -> callable taking the workload's *fixture*), the name
of the baseline the others are compared with, and optional ``setup`` /
``teardown`` / ``check`` hooks. :func:`run_workload` then

1. calls ``setup(options)`` once; what it returns is the fixture handed to
   every implementation (input data, server addresses ...). ``setup`` may
   raise :class:`Unavailable` to skip the whole workload;
2. runs the *check pass*: every implementation once, baseline first, and
   checks each result (``check(fixture, result)``, or equality with the
   baseline's result when the workload has no ``check``). A wrong result or an
   exception marks the implementation FAILED and it is never timed: a fast
   wrong answer is no result. :class:`Unavailable` marks it skipped instead;
3. runs further warm-up rounds (``Options.warmup - 1``), untimed;
4. runs the timed rounds. Every round calls each implementation once, in an
   order rotated by one each round (A B C, B C A, C A B ...), so slow drifts of
   a shared machine hit every implementation alike. Each sample is timed with
   :func:`time.perf_counter_ns` after a ``gc.collect()``, and its result is
   checked again (outside the timed region);
5. optionally (``Options.memory``) runs a separate, untimed pass under
   :mod:`tracemalloc` for the peak of Python allocations of one call: tracing
   slows code down several times, so it never overlaps the timed pass;
6. calls ``teardown(fixture)``, always.

Figures: median, interquartile range and minimum per implementation, and the
*paired ratio* against the baseline: the median over rounds of
``baseline_ns[r] / impl_ns[r]``. Because a round runs everything back to back,
pairing cancels load drift better than a ratio of medians (both are in the
JSON). A ratio above 1 means faster than the baseline.

Implementations that time something other than their own call (a child
process's import time, one phase of a session) return a :class:`Measurement`;
its ``ns`` replaces the wall time of the call and its ``extra`` figures become
additional columns.

Tables and JSON files are made by :mod:`benchmarks.report`.

Every loop here is bounded: by ``rounds``, and by ``Options.max_seconds``
after which the remaining rounds of a workload are dropped (and reported).
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from benchmarks.report import format_ns

__all__ = [
    "FAILED",
    "OK",
    "UNAVAILABLE",
    "CheckFailed",
    "ImplResult",
    "Measurement",
    "Options",
    "Unavailable",
    "Workload",
    "WorkloadResult",
    "run_workload",
]

OK = "ok"
FAILED = "failed"
UNAVAILABLE = "unavailable"

Implementation = Callable[[Any], Any]
Check = Callable[[Any, Any], object]


class Unavailable(Exception):
    """This workload or implementation cannot run here.

    Raised by ``setup`` (skips the workload) or by an implementation (skips its
    row): a module not written yet, an optional package not installed. Not a
    failure: the run still succeeds.
    """


class CheckFailed(AssertionError):
    """An implementation's result is wrong (raise it from a ``check``)."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Returned by a self-timed implementation instead of its bare result.

    Attributes:
        ns: the duration to record for this call, in nanoseconds; it replaces
            the wall time the harness measured around the call.
        result: what ``check`` sees.
        extra: further figures for this call (name -> value), shown as extra
            columns (median over rounds) and kept in the JSON.
    """

    ns: int
    result: Any = None
    extra: Mapping[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Options:
    """How to run (the command line fills this in).

    Attributes:
        rounds: timed rounds; ``None`` takes the workload's own default (or 1
            in quick mode).
        warmup: untimed rounds before timing, at least 1 (the first is the
            check pass).
        quick: ask ``setup`` for small inputs (tests, smoke runs).
        memory: add the tracemalloc pass.
        baseline: compare with this implementation instead of the workload's.
        only: keep only these implementations (the baseline is always kept).
        max_seconds: time budget per workload; rounds that would start after
            it are dropped.
        progress: where to write one line per sample (``None``: silent).
    """

    rounds: int | None = None
    warmup: int = 1
    quick: bool = False
    memory: bool = False
    baseline: str | None = None
    only: tuple[str, ...] = ()
    max_seconds: float = 600.0
    progress: TextIO | None = None


@dataclasses.dataclass(frozen=True)
class Workload:
    """A declarative description of one benchmark.

    Attributes:
        name: identifier used on the command line (``python -m benchmarks.run NAME``).
        implementations: name -> callable ``impl(fixture) -> result``. Each
            call does the whole unit of work once.
        baseline: the implementation the ratios are computed against.
        check: ``check(fixture, result)``; raise (``CheckFailed``,
            ``AssertionError`` ...) or return ``False`` if the result is wrong.
            ``None``: every result must equal the baseline's.
        setup: ``setup(options) -> fixture``, run once before any call.
            Honour ``options.quick`` by making the input small.
        teardown: ``teardown(fixture)``, run once at the end, even on errors.
        description: one line printed above the table.
        describe: ``describe(fixture) -> str``: details known after setup
            (input size, measured RTT ...), printed under the description.
        rounds: default number of timed rounds.
        number: calls per timed sample, for work too short to time alone;
            the sample is divided by it. Keep 1 for self-timed
            implementations (only the last call's ``Measurement`` counts).
        work_bytes: ``work_bytes(fixture) -> int``: bytes processed per call;
            adds an MB/s column (MB = 10**6 bytes).
        memory: whether the tracemalloc pass means anything here (``False``
            when the work happens in another process).
    """

    name: str
    implementations: Mapping[str, Implementation]
    baseline: str
    check: Check | None = None
    setup: Callable[[Options], Any] | None = None
    teardown: Callable[[Any], None] | None = None
    description: str = ""
    describe: Callable[[Any], str] | None = None
    rounds: int = 5
    number: int = 1
    work_bytes: Callable[[Any], int] | None = None
    memory: bool = True

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier():
            raise ValueError(f"workload name must be an identifier, got {self.name!r}")
        if self.baseline not in self.implementations:
            raise ValueError(f"{self.name}: baseline {self.baseline!r} is not an implementation")
        if self.rounds < 1 or self.number < 1:
            raise ValueError(f"{self.name}: rounds and number must be >= 1")


@dataclasses.dataclass
class ImplResult:
    """Everything measured for one implementation."""

    name: str
    status: str = OK
    reason: str = ""
    samples_ns: list[float] = dataclasses.field(default_factory=list)
    extras: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    peak_bytes: int | None = None

    @property
    def median_ns(self) -> float | None:
        return statistics.median(self.samples_ns) if self.samples_ns else None

    @property
    def min_ns(self) -> float | None:
        return min(self.samples_ns) if self.samples_ns else None

    @property
    def quartiles_ns(self) -> tuple[float, float] | None:
        """(first quartile, third quartile) of the samples."""
        s = self.samples_ns
        if not s:
            return None
        if len(s) == 1:
            return (s[0], s[0])
        q1, _, q3 = statistics.quantiles(s, n=4, method="inclusive")
        return (q1, q3)

    def extra_median(self, key: str) -> float | None:
        values = self.extras.get(key)
        return statistics.median(values) if values else None


@dataclasses.dataclass
class WorkloadResult:
    """The outcome of :func:`run_workload` for one workload."""

    name: str
    baseline: str
    description: str = ""
    notes: str = ""
    rounds_requested: int = 0
    rounds_done: int = 0
    warmup: int = 0
    number: int = 1
    work_bytes: int | None = None
    implementations: dict[str, ImplResult] = dataclasses.field(default_factory=dict)
    order: list[list[str]] = dataclasses.field(default_factory=list)
    skipped: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        """No implementation failed and the workload itself did not break."""
        return not self.error and all(r.status != FAILED for r in self.implementations.values())

    def ratio(self, name: str) -> float | None:
        """Paired ratio baseline/name: median over rounds of base[r] / impl[r]."""
        base = self.implementations.get(self.baseline)
        impl = self.implementations.get(name)
        if base is None or impl is None or not base.samples_ns or not impl.samples_ns:
            return None
        pairs = [b / x for b, x in zip(base.samples_ns, impl.samples_ns, strict=False) if x > 0]
        return statistics.median(pairs) if pairs else None

    def ratio_of_medians(self, name: str) -> float | None:
        base = self.implementations.get(self.baseline)
        impl = self.implementations.get(name)
        if base is None or impl is None:
            return None
        b, x = base.median_ns, impl.median_ns
        return b / x if b is not None and x else None

    def extra_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for r in self.implementations.values():
            for k in r.extras:
                keys.setdefault(k, None)
        return list(keys)

    def to_json(self) -> dict[str, Any]:
        impls = {}
        for name, r in self.implementations.items():
            q = r.quartiles_ns
            impls[name] = {
                "status": r.status,
                "reason": r.reason,
                "samples_ns": r.samples_ns,
                "median_ns": r.median_ns,
                "q1_ns": q[0] if q else None,
                "q3_ns": q[1] if q else None,
                "min_ns": r.min_ns,
                "ratio_paired": self.ratio(name),
                "ratio_of_medians": self.ratio_of_medians(name),
                "peak_bytes": r.peak_bytes,
                "extras": r.extras,
            }
        return {
            "name": self.name,
            "baseline": self.baseline,
            "description": self.description,
            "notes": self.notes,
            "rounds_requested": self.rounds_requested,
            "rounds_done": self.rounds_done,
            "warmup": self.warmup,
            "number": self.number,
            "work_bytes": self.work_bytes,
            "order": self.order,
            "skipped": self.skipped,
            "error": self.error,
            "ok": self.ok,
            "implementations": impls,
        }


# ---------------------------------------------------------------- running --


def run_workload(workload: Workload, options: Options | None = None) -> WorkloadResult:
    """Run one workload as described in the module docstring.

    Never raises for a failing implementation (it is marked FAILED); an
    exception from ``setup``/``teardown`` is recorded in ``result.error``.
    """
    options = options or Options()
    baseline = options.baseline or workload.baseline
    rounds = options.rounds or (1 if options.quick else workload.rounds)
    result = WorkloadResult(
        name=workload.name,
        baseline=baseline,
        description=workload.description,
        rounds_requested=rounds,
        warmup=max(1, options.warmup),
        number=1 if options.quick else workload.number,
    )
    if baseline not in workload.implementations:
        result.error = f"unknown baseline {baseline!r}"
        return result
    names = [n for n in workload.implementations if not options.only or n in options.only]
    if baseline not in names:
        names.insert(0, baseline)
    # The baseline runs first in the check pass: its result is the reference.
    names.remove(baseline)
    names.insert(0, baseline)
    result.implementations = {n: ImplResult(n) for n in names}
    deadline = time.monotonic() + options.max_seconds

    try:
        fixture = workload.setup(options) if workload.setup else None
    except Unavailable as exc:
        result.skipped = str(exc) or "unavailable"
        return result
    except Exception as exc:
        result.error = f"setup raised {_describe_exc(exc)}"
        return result
    try:
        if workload.describe is not None:
            result.notes = workload.describe(fixture)
        if workload.work_bytes is not None:
            result.work_bytes = workload.work_bytes(fixture)
        _run_rounds(workload, fixture, options, result, deadline)
    except Exception as exc:
        result.error = f"harness error: {_describe_exc(exc)}"
    finally:
        if workload.teardown is not None:
            try:
                workload.teardown(fixture)
            except Exception as exc:
                result.error = result.error or f"teardown raised {_describe_exc(exc)}"
    return result


class _Reference:
    """Holds the baseline's result for workloads without a check hook."""

    def __init__(self) -> None:
        self.set = False
        self.value: Any = None


def _run_rounds(
    workload: Workload, fixture: Any, options: Options, result: WorkloadResult, deadline: float
) -> None:
    impls = result.implementations
    reference = _Reference()
    number = result.number

    def active() -> list[str]:
        return [n for n, r in impls.items() if r.status == OK]

    # Check pass, then the remaining warm-up rounds.
    base = impls[result.baseline]
    for w in range(result.warmup):
        for name in active():  # the baseline comes first
            _sample(workload, fixture, name, impls[name], result, reference, 1, record=False)
            _log(options, f"{workload.name}: warm-up {w + 1} {name}: {impls[name].status}")
            if base.status == UNAVAILABLE:  # nothing to compare with: skip, as setup can
                result.skipped = f"baseline {result.baseline!r} unavailable: {base.reason}"
                return
            if base.status != OK:
                result.error = f"baseline {result.baseline!r} failed: {base.reason}"
                return
    # Timed rounds, order rotated by one each round.
    for r in range(result.rounds_requested):
        if r > 0 and time.monotonic() > deadline:
            budget = f"time budget of {options.max_seconds:g} s spent after {r} round(s)"
            result.notes = _join(result.notes, budget)
            break
        names = active()
        if not names:
            break
        k = r % len(names)
        order = names[k:] + names[:k]
        result.order.append(order)
        for name in order:
            _sample(workload, fixture, name, impls[name], result, reference, number, record=True)
            if options.progress is not None:
                last = impls[name].samples_ns[-1] if impls[name].samples_ns else None
                shown = format_ns(last) if last is not None else impls[name].status
                _log(options, f"{workload.name}: round {r + 1} {name}: {shown}")
        result.rounds_done += 1
    if options.memory and workload.memory:
        for name in active():
            _memory_pass(workload, fixture, name, impls[name], result, reference)


def _sample(
    workload: Workload,
    fixture: Any,
    name: str,
    impl_result: ImplResult,
    result: WorkloadResult,
    reference: _Reference,
    number: int,
    *,
    record: bool,
) -> None:
    """One timed call (or ``number`` calls); checks the result afterwards."""
    impl = workload.implementations[name]
    gc.collect()
    try:
        t0 = time.perf_counter_ns()
        for _ in range(number):
            out = impl(fixture)
        elapsed = time.perf_counter_ns() - t0
    except Unavailable as exc:
        impl_result.status = UNAVAILABLE
        impl_result.reason = str(exc) or "unavailable"
        _drop_samples(impl_result)
        return
    except Exception as exc:
        _fail(impl_result, f"raised {_describe_exc(exc)}")
        return
    ns: float = elapsed / number
    extra: Mapping[str, float] = {}
    if isinstance(out, Measurement):
        ns, extra, out = out.ns, out.extra, out.result
    if not _verify(workload, fixture, name, out, impl_result, result, reference):
        return
    if record:
        impl_result.samples_ns.append(ns)
        for key, value in extra.items():
            impl_result.extras.setdefault(key, []).append(value)


def _memory_pass(
    workload: Workload,
    fixture: Any,
    name: str,
    impl_result: ImplResult,
    result: WorkloadResult,
    reference: _Reference,
) -> None:
    impl = workload.implementations[name]
    gc.collect()
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        base, _ = tracemalloc.get_traced_memory()
        out = impl(fixture)
        _, peak = tracemalloc.get_traced_memory()
    except Exception as exc:
        _fail(impl_result, f"raised {_describe_exc(exc)} in the memory pass")
        return
    finally:
        if not already:
            tracemalloc.stop()
    if isinstance(out, Measurement):
        out = out.result
    if _verify(workload, fixture, name, out, impl_result, result, reference):
        impl_result.peak_bytes = max(0, peak - base)


def _verify(
    workload: Workload,
    fixture: Any,
    name: str,
    out: Any,
    impl_result: ImplResult,
    result: WorkloadResult,
    reference: _Reference,
) -> bool:
    try:
        if workload.check is not None:
            if workload.check(fixture, out) is False:
                raise CheckFailed("check returned False")
        elif name == result.baseline and not reference.set:
            reference.value, reference.set = out, True
        elif not reference.set:
            raise CheckFailed(f"no result from the baseline {result.baseline!r} to compare with")
        elif out != reference.value:
            raise CheckFailed(f"result differs from the baseline {result.baseline!r}'s")
    except Exception as exc:
        _fail(impl_result, f"check failed: {_describe_exc(exc)}")
        return False
    return True


def _fail(impl_result: ImplResult, reason: str) -> None:
    impl_result.status = FAILED
    impl_result.reason = reason
    _drop_samples(impl_result)


def _drop_samples(impl_result: ImplResult) -> None:
    # A row that failed once has no figures at all: earlier samples may have
    # been fast because they were wrong.
    impl_result.samples_ns.clear()
    impl_result.extras.clear()
    impl_result.peak_bytes = None


def _describe_exc(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _log(options: Options, line: str) -> None:
    if options.progress is not None:
        options.progress.write(line + "\n")
        options.progress.flush()
