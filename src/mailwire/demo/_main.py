"""The demo from start to end: start a lab, run the exchanges, stop the lab."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TextIO

from mailwire.demo import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LAB, EXIT_OK
from mailwire.demo._accounts import make_accounts
from mailwire.demo._errors import LabError, LabUnavailable
from mailwire.demo._lab import Lab, remove_workdir
from mailwire.demo._output import Printer
from mailwire.demo._scenario import Scenario, StepResult, run_step

__all__ = ["main"]


class _Quit(Exception):
    """The learner typed ``q`` at a pause."""


def main(
    *,
    servers: str,
    step: bool,
    save: str | Path | None,
    keep: bool,
    stdout: TextIO | None,
    stdin: TextIO | None,
) -> int:
    out = Printer(stdout or sys.stdout)
    with _sigterm_as_interrupt():
        try:
            return _demo(
                out,
                servers=servers,
                step=step,
                save=Path(save) if save else None,
                keep=keep,
                stdin=stdin or sys.stdin,
            )
        except (KeyboardInterrupt, _Quit) as exc:
            out.say()
            out.say("Stopped" + (" at your request" if isinstance(exc, _Quit) else "") + ":")
            out.say("the lab has been shut down and its files removed.")
            return EXIT_INTERRUPTED


def _demo(
    out: Printer, *, servers: str, step: bool, save: Path | None, keep: bool, stdin: TextIO
) -> int:
    out.title()
    started = time.monotonic()
    workdir = _workdir(servers)
    lab: Lab | None = None
    stop_seconds: float | None = None
    try:
        try:
            lab = _start_lab(servers, workdir)
        except LabUnavailable as exc:
            print(f"mailwire demo: {exc}", file=sys.stderr)
            print(f"  {exc.hint}", file=sys.stderr)
            return EXIT_LAB
        except LabError as exc:
            print(f"mailwire demo: the lab did not start: {exc}", file=sys.stderr)
            return EXIT_LAB
        start_seconds = time.monotonic() - started
        out.lab_ready(lab, start_seconds)

        scenario = Scenario(lab)
        steps = scenario.steps()
        results: list[StepResult] = []
        for number, (key, title, action) in enumerate(steps, 1):
            out.step_header(number, len(steps), title, key)
            if step:
                _pause(out, stdin)
            result = run_step(action, key)
            results.append(result)
            out.step_result(result)
            if not result.ok and result.transcript is not None and lab is not None:
                _show_logs(out, lab)

        saved = _save(results, save) if save else []
        if keep:
            # Ctrl-C is how --keep ends, whenever it comes: not an interruption.
            with contextlib.suppress(KeyboardInterrupt):
                _keep_running(out, lab)
        stopping = time.monotonic()
        lab.stop()
        stop_seconds = time.monotonic() - stopping
        lab = None
        out.summary(results, start_seconds, stop_seconds)
        out.saved(saved)
        out.where_next(save, servers)
        return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED
    finally:
        if lab is not None:
            lab.stop()
        _remove(workdir)


def _workdir(servers: str) -> Path:
    # Short: Dovecot and Postfix put unix sockets in it (sun_path is 108 bytes).
    # mkdtemp makes it private (0700) with an unguessable name.
    base = "/tmp" if servers == "system" and Path("/tmp").is_dir() else None  # noqa: S108
    return Path(tempfile.mkdtemp(prefix="mw-demo-", dir=base)).resolve()


def _start_lab(servers: str, workdir: Path) -> Lab:
    accounts = make_accounts()
    if servers == "system":
        from mailwire.demo._system import SystemLab

        return SystemLab(workdir, accounts).start()
    from mailwire.demo._pylab import PythonLab

    return PythonLab(workdir, accounts).start()


def _pause(out: Printer, stdin: TextIO) -> None:
    out.stream.write("  -- press Enter to run this exchange, or q then Enter to stop -- ")
    out.stream.flush()
    line = stdin.readline()
    if not line:  # end of input: nobody to ask, so go on without pausing
        out.say()
        return
    if line.strip().lower() in {"q", "quit"}:
        raise _Quit
    out.say()


def _show_logs(out: Printer, lab: Lab) -> None:
    tail = lab.log_tail(15)
    if tail:
        out.say("  The servers' logs end with:")
        for line in tail.splitlines():
            out.say(f"    {line}")
        out.say()


def _save(results: list[StepResult], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for result in results:
        if result.transcript is None:
            continue
        path = directory / f"{result.key}.txt"
        path.write_text(result.transcript.render(), encoding="utf-8")
        paths.append(path)
    return paths


def _keep_running(out: Printer, lab: Lab) -> None:
    """Leave the lab up until Ctrl-C; the passwords go to 0600 files, not the screen."""
    out.say("The lab keeps running until you press Ctrl-C. Try it yourself:")
    files = {name: acc.write_password_file(lab.workdir) for name, acc in lab.accounts.items()}
    for name, path in files.items():
        out.say(f"  {name}'s password is in {path}")
    env = _write_examples_env(lab, files["alice"])
    out.say(f"  the settings for examples/ are in {env} (in another shell: . {env})")
    out.say()
    out.say(
        f"  mailwire send --server {lab.host} --port {lab.ports['submission']} --tls starttls \\"
    )
    out.say(f"      --cafile {lab.certs.ca_file} --user alice \\")
    out.say(f"      --password-file {files['alice']} \\")
    out.say("      --from alice@example.test --to bob@example.test --subject 'my own message'")
    out.say()
    try:
        while True:  # short waits: a signal is handled between two of them
            time.sleep(0.5)
    finally:
        out.say()


def _write_examples_env(lab: Lab, password_file: Path) -> Path:
    """Write the ``MAILWIRE_*`` settings that examples/ reads, as shell exports.

    Only ports and paths go in: the password stays in its own 0600 file.
    """
    settings = {
        "MAILWIRE_HOST": lab.host,
        "MAILWIRE_SMTP_PORT": str(lab.ports["submission"]),
        "MAILWIRE_SMTP_TLS": "starttls",
        "MAILWIRE_POP3_PORT": str(lab.ports["pop3s"]),
        "MAILWIRE_POP3_TLS": "implicit",
        "MAILWIRE_IMAP_PORT": str(lab.ports["imap"]),
        "MAILWIRE_IMAP_TLS": "starttls",
        "MAILWIRE_CAFILE": str(lab.certs.ca_file),
        "MAILWIRE_USER": "alice",
        "MAILWIRE_PASSWORD_FILE": str(password_file),
    }
    path = lab.workdir / "examples.env"
    path.write_text(
        "".join(f"export {name}={shlex.quote(value)}\n" for name, value in settings.items()),
        encoding="utf-8",
    )
    return path


def _remove(workdir: Path) -> None:
    with contextlib.suppress(LabError):
        remove_workdir(workdir)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM unwind like Ctrl-C, so the lab is stopped on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
