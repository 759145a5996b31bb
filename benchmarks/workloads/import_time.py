"""Import time of mailwire's modules next to the stdlib mail modules.

Each sample runs three fresh interpreters back to back (``sys.executable``):

1. ``python -c pass`` and 2. ``python -c "import X"``, timed from outside:
   their difference is the extra ``wall-pass ms`` column (noisy: process
   start-up varies by a few ms);
3. ``python -X importtime -c "import X"``: the recorded time is the sum of the
   cumulative times of the statement's top-level imports, i.e. what the
   import added on top of interpreter start-up (modules already imported at
   start-up, such as ``site``'s, are excluded). ``modules`` counts the
   modules the statement loaded.

The children run with ``-S`` (no ``site``) and ``PYTHONPATH=<repo>/src``, so
the figures do not depend on what the ``.pth`` files of site-packages import
at start-up: on the machine these were first taken on, one such file
preloaded ~80 modules (``re``, ``pathlib``, ``importlib.resources`` ...) and
halved every figure (smtplib 21 ms instead of 40). mailwire comes from the
same source tree the editable install points to.

mailwire's sources are compiled to bytecode first (``compileall``, as pip
does when it installs a package): the stdlib's modules come compiled, and a
machine that sets ``PYTHONDONTWRITEBYTECODE`` (this one does) would
otherwise time the compilation of every mailwire module on every run. The
figures recorded before 2026-11-27 evening included that compilation.

``mailwire.imap`` and ``mailwire.mime`` load their modules on first use, so
their rows are the package alone; the ``*.client`` rows are what opening a
client costs (its module and everything it needs, TLS excepted).

The figures are the child's, so there is no tracemalloc pass. The check only
asks that the import succeeded and loaded the named modules. Rows for mailwire
modules that do not exist yet (``mailwire.smtp`` ...) show as unavailable and
fill in once the modules land. Goal (research/performance.md, W6): one protocol
module without TLS <= 15 ms, the package root <= 5 ms.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import CheckFailed, Measurement, Options, Unavailable, Workload

REPO_ROOT = Path(__file__).resolve().parents[2]
_TIMEOUT = 60.0  # seconds for one child interpreter
# No site: see the module docstring. PYTHONPATH then supplies mailwire.
FLAGS = ("-S",)

# Row name -> the modules of one ``import`` statement.
MODULES: dict[str, tuple[str, ...]] = {
    "mailwire": ("mailwire",),
    "mailwire.errors": ("mailwire.errors",),
    "mailwire.smtp": ("mailwire.smtp",),
    "mailwire.pop3": ("mailwire.pop3",),
    "mailwire.imap": ("mailwire.imap",),
    "mailwire.mime": ("mailwire.mime",),
    "mailwire.smtp.client": ("mailwire.smtp.client",),
    "mailwire.pop3.client": ("mailwire.pop3.client",),
    "mailwire.imap.client": ("mailwire.imap.client",),
    "smtplib": ("smtplib",),
    "poplib": ("poplib",),
    "imaplib": ("imaplib",),
    "email.message": ("email.message",),
    "smtplib+poplib+imaplib+email.message": ("smtplib", "poplib", "imaplib", "email.message"),
}

_LINE = re.compile(r"import time:\s*(\d+) \|\s*(\d+) \|( *)(\S+)")


@dataclasses.dataclass(frozen=True)
class Interpreter:
    """The fixture: which python, and what it imports before any statement."""

    python: str
    startup_modules: frozenset[str]
    mailwire_file: str


@dataclasses.dataclass(frozen=True)
class ImportRun:
    """What one ``-X importtime`` child reported."""

    requested: tuple[str, ...]
    returncode: int
    statement_us: int
    loaded: tuple[str, ...]
    error: str = ""


def parse_importtime(stderr: str, startup: frozenset[str]) -> tuple[int, tuple[str, ...]]:
    """(cumulative microseconds of the statement's top-level imports, modules loaded).

    ``-X importtime`` prints one line per module when it finishes loading,
    indented two spaces per nesting level; the top level has one space.
    """
    total = 0
    loaded = []
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m is None or m[4] in startup:
            continue
        loaded.append(m[4])
        if len(m[3]) == 1:
            total += int(m[2])
    return total, tuple(loaded)


def _run(python: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [python, *FLAGS, *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        cwd=REPO_ROOT,
        env=env,
        check=False,
    )


def _wall_ns(python: str, code: str) -> int:
    t0 = time.perf_counter_ns()
    _run(python, ["-c", code])
    return time.perf_counter_ns() - t0


def _setup(options: Options) -> Interpreter:
    python = sys.executable
    # Bytecode for mailwire, as an installed package has (module docstring).
    compiled = _run(python, ["-m", "compileall", "-q", str(REPO_ROOT / "src" / "mailwire")])
    if compiled.returncode != 0:
        raise CheckFailed(f"compileall failed: {compiled.stderr.strip()[-200:]}")
    startup = _run(python, ["-X", "importtime", "-c", "pass"])
    names = frozenset(m[4] for m in map(_LINE.match, startup.stderr.splitlines()) if m)
    where = _run(python, ["-c", "import mailwire; print(mailwire.__file__)"])
    return Interpreter(python, names, where.stdout.strip() or where.stderr.strip()[-200:])


def _describe(interp: Interpreter) -> str:
    flags = " ".join(FLAGS)
    return (
        f"{interp.python} {flags} ({len(interp.startup_modules)} modules at start-up); "
        f"mailwire from {interp.mailwire_file}"
    )


def importer(modules: tuple[str, ...]) -> Callable[[Interpreter], Measurement]:
    """The implementation for one ``import`` statement."""
    statement = "import " + ", ".join(modules)

    def measure(interp: Interpreter) -> Measurement:
        for name in modules:
            if name.startswith("mailwire.") and importlib.util.find_spec(name) is None:
                raise Unavailable(f"{name} is not written yet")
        pass_ns = _wall_ns(interp.python, "pass")
        import_ns = _wall_ns(interp.python, statement)
        child = _run(interp.python, ["-X", "importtime", "-c", statement])
        total_us, loaded = parse_importtime(child.stderr, interp.startup_modules)
        error = child.stderr.strip().splitlines()[-1] if child.returncode else ""
        run = ImportRun(modules, child.returncode, total_us, loaded, error)
        return Measurement(
            ns=total_us * 1000,
            result=run,
            extra={"wall-pass ms": (import_ns - pass_ns) / 1e6, "modules": len(loaded)},
        )

    return measure


def _check(interp: Interpreter, run: Any) -> None:
    if not isinstance(run, ImportRun):
        raise CheckFailed(f"expected an ImportRun, got {type(run).__name__}")
    if run.returncode != 0:
        raise CheckFailed(f"the import failed: {run.error}")
    missing = [name for name in run.requested if name not in run.loaded]
    if missing or run.statement_us <= 0:
        raise CheckFailed(f"importtime does not show {', '.join(missing) or 'any time'}")


WORKLOAD = Workload(
    name="import_time",
    description="fresh-interpreter import time (python -X importtime), mailwire vs the stdlib",
    implementations={row: importer(mods) for row, mods in MODULES.items()},
    baseline="smtplib",
    setup=_setup,
    check=_check,
    describe=_describe,
    rounds=9,
    memory=False,
)
