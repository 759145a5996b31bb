"""Reporting: aligned text tables, Markdown tables, and JSON files of results.

The figures come from :func:`benchmarks.harness.run_workload`; see
``benchmarks/README.md`` for what each column means.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.harness import Options, WorkloadResult

__all__ = [
    "RESULTS_DIR",
    "format_bytes",
    "format_markdown",
    "format_ns",
    "format_table",
    "machine_info",
    "write_json",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def format_ns(ns: float | None) -> str:
    """A duration with a unit chosen for 3-4 significant digits."""
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= scale:
            return _num(ns / scale) + " " + unit
    return _num(ns) + " ns"


def format_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return _num(n / scale) + " " + unit
    return f"{n:.0f} B"


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) >= 0.01 else f"{x:.3g}"


def _rows(result: WorkloadResult) -> tuple[list[str], list[list[str]]]:
    extras = result.extra_keys()
    with_mb = result.work_bytes is not None
    with_mem = any(r.peak_bytes is not None for r in result.implementations.values())
    header = ["implementation", "median", "iqr", "min", "rounds", f"x {result.baseline}"]
    if with_mb:
        header.append("MB/s")
    if with_mem:
        header.append("peak mem")
    header += extras
    header.append("status")
    rows = []
    for name, r in result.implementations.items():
        q = r.quartiles_ns
        ratio = result.ratio(name)
        row = [
            name,
            format_ns(r.median_ns),
            format_ns(q[1] - q[0]) if q else "-",
            format_ns(r.min_ns),
            str(len(r.samples_ns)),
            f"{ratio:.2f}" if ratio is not None else "-",
        ]
        if with_mb:
            med = r.median_ns
            row.append(_num(result.work_bytes * 1e3 / med) if med and result.work_bytes else "-")
        if with_mem:
            row.append(format_bytes(r.peak_bytes))
        for key in extras:
            value = r.extra_median(key)
            if value is None:
                row.append("-")
            else:
                row.append(f"{int(value):,}" if float(value).is_integer() else _num(value))
        row.append(r.status if not r.reason else f"{r.status.upper()}: {r.reason}")
        rows.append(row)
    return header, rows


def _heading(result: WorkloadResult) -> list[str]:
    lines = [f"== {result.name}: {result.description}".rstrip(": ")]
    if result.skipped:
        return [*lines, f"   skipped: {result.skipped}"]
    lines.append(
        f"   baseline {result.baseline}; {result.rounds_done} timed round(s) after "
        f"{result.warmup} warm-up; order rotated each round"
        + (f"; {result.number} calls per sample" if result.number > 1 else "")
    )
    if result.notes:
        lines.append(f"   {result.notes}")
    if result.error:
        lines.append(f"   ERROR: {result.error}")
    return lines


def format_table(result: WorkloadResult) -> str:
    """The result as an aligned plain-text table (with a short heading)."""
    lines = _heading(result)
    if result.skipped or not result.implementations:
        return "\n".join(lines)
    header, rows = _rows(result)
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]
    last = len(header) - 1

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            if i == 0:
                out.append(cell.ljust(widths[i]))
            elif i == last:
                out.append(cell)
            else:
                out.append(cell.rjust(widths[i]))
        return "  ".join(out).rstrip()

    lines.append(fmt(header))
    lines.append(fmt(["-" * w for w in widths[:-1]] + ["-" * len(header[-1])]))
    lines += [fmt(row) for row in rows]
    return "\n".join(lines)


def format_markdown(result: WorkloadResult) -> str:
    """The result as a Markdown table (for READMEs and issues)."""
    lines = [line.strip() for line in _heading(result)]
    lines[0] = lines[0].replace("== ", "**", 1) + "**"
    if result.skipped or not result.implementations:
        return "\n\n".join(lines)
    header, rows = _rows(result)
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n\n".join(["\n".join(lines), "\n".join(table)])


def machine_info() -> dict[str, Any]:
    """Where and when the figures were taken."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg": load,
    }


def write_json(
    results: Iterable[WorkloadResult],
    path: str | os.PathLike[str] | None = None,
    *,
    options: Options | None = None,
) -> Path:
    """Write every result (raw samples included) as JSON; returns the path.

    Default path: ``benchmarks/results/<date>-<time>-<workloads>.json``
    (gitignored).
    """
    results = list(results)
    if path is None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        names = "+".join(r.name for r in results)[:80]
        target = RESULTS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{names}.json"
    else:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
    opts = None
    if options is not None:
        fields = dataclasses.fields(options)
        opts = {f.name: getattr(options, f.name) for f in fields if f.name != "progress"}
    doc = {
        "machine": machine_info(),
        "options": opts,
        "workloads": [r.to_json() for r in results],
    }
    target.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    return target
