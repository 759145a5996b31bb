"""Run the benchmark workloads side by side and print their tables.

    python -m benchmarks.run                       # every workload
    python -m benchmarks.run line_split import_time --rounds 9
    python -m benchmarks.run --quick               # small inputs, 1 round: a smoke run
    python -m benchmarks.run --json                # also a JSON file in benchmarks/results/
    python -m benchmarks.run --list

(``python benchmarks/run.py ...`` works the same.) Workloads are discovered
from the modules of :mod:`benchmarks.workloads`: each defines ``WORKLOAD`` or
``WORKLOADS``. The exit status is 1 when an implementation failed its check or
a workload broke, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness, report
from benchmarks.harness import Options, Workload, WorkloadResult

__all__ = ["discover", "main"]


def discover() -> tuple[dict[str, Workload], dict[str, str]]:
    """Every workload in :mod:`benchmarks.workloads`, by name, and the modules
    that could not be imported (module -> error)."""
    from benchmarks import workloads

    found: dict[str, Workload] = {}
    broken: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(workloads.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        qualified = f"{workloads.__name__}.{info.name}"
        try:
            module = importlib.import_module(qualified)
        except Exception as exc:
            broken[qualified] = f"{type(exc).__name__}: {exc}"
            continue
        items = getattr(module, "WORKLOADS", None)
        if items is None:
            single = getattr(module, "WORKLOAD", None)
            items = [] if single is None else [single]
        for w in items:
            if not isinstance(w, Workload):
                broken[qualified] = f"{w!r} is not a benchmarks.harness.Workload"
            elif w.name in found:
                broken[qualified] = f"workload name {w.name!r} is used twice"
            else:
                found[w.name] = w
    return found, broken


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Run mailwire's benchmark workloads side by side with their baselines.",
    )
    p.add_argument("workloads", nargs="*", metavar="WORKLOAD", help="names (default: all)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("-r", "--rounds", type=int, help="timed rounds (default: per workload)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up rounds, >= 1 (default 1)")
    p.add_argument("--quick", action="store_true", help="small inputs and 1 round (smoke run)")
    p.add_argument("--memory", action="store_true", help="add a tracemalloc peak-memory pass")
    p.add_argument("--baseline", help="compare with this implementation instead")
    p.add_argument(
        "--only", action="append", default=[], metavar="IMPL", help="keep only IMPL (repeatable)"
    )
    p.add_argument(
        "--max-seconds", type=float, default=600.0, help="time budget per workload (default 600)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="write the raw results as JSON to benchmarks/results/<date>-<time>-<workloads>.json",
    )
    p.add_argument("--json-file", metavar="PATH", help="write the JSON to PATH instead")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-sample progress on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    found, broken = discover()
    for module, error in broken.items():
        print(f"cannot load {module}: {error}", file=sys.stderr)
    if args.list:
        for name, w in found.items():
            print(f"{name:16} {w.description}  [{', '.join(w.implementations)}]")
        return 1 if broken else 0
    unknown = [n for n in args.workloads if n not in found]
    if unknown:
        print(f"unknown workload(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    if (args.rounds is not None and args.rounds < 1) or args.warmup < 1:
        print("--rounds and --warmup must be >= 1", file=sys.stderr)
        return 2
    names = args.workloads or list(found)
    if args.baseline:
        lacking = [n for n in names if args.baseline not in found[n].implementations]
        if lacking:
            print(f"no implementation {args.baseline!r} in: {', '.join(lacking)}", file=sys.stderr)
            return 2
    options = Options(
        rounds=args.rounds,
        warmup=args.warmup,
        quick=args.quick,
        memory=args.memory,
        baseline=args.baseline,
        only=tuple(args.only),
        max_seconds=args.max_seconds,
        progress=None if args.quiet else sys.stderr,
    )
    info = report.machine_info()
    print(
        f"{info['date']}  python {info['python']} on {info['platform']}, "
        f"{info['cpus']} cpus ({info['cpu']}), load {info['loadavg']}"
    )
    results: list[WorkloadResult] = []
    for name in names:
        result = harness.run_workload(found[name], options)
        results.append(result)
        print()
        print(report.format_markdown(result) if args.markdown else report.format_table(result))
        sys.stdout.flush()
    if args.json or args.json_file:
        path = report.write_json(results, args.json_file, options=options)
        print(f"\nresults written to {path}")
    return 0 if not broken and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
