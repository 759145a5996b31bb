"""What every lab offers the scenario, whichever servers run it."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from mailwire.demo._accounts import Account
from mailwire.demo._certs import LabCertificates
from mailwire.demo._errors import LabError

__all__ = [
    "Lab",
    "Listener",
    "LogCapture",
    "remove_workdir",
    "signals_to_main_thread",
    "wait_for_message",
]


@dataclasses.dataclass(frozen=True)
class Listener:
    """One listening port, as the banner shows it."""

    key: str  # "submission", "pop3", "pop3s", "imap": what the scenario asks for
    protocol: str  # "SMTP", "POP3", "IMAP"
    software: str  # "aiosmtpd 1.4.6"
    port: int
    security: str  # how TLS and authentication work there


class Lab(Protocol):
    """A running set of mail servers on loopback.

    ``ports`` has at least ``submission`` (SMTP, STARTTLS then AUTH),
    ``pop3s`` (POP3 over implicit TLS) and ``imap`` (IMAP with STARTTLS).
    """

    kind: str
    host: str
    certs: LabCertificates
    accounts: Mapping[str, Account]
    workdir: Path
    listeners: list[Listener]

    @property
    def ports(self) -> dict[str, int]: ...

    def wait_for_message(self, account: Account, needle: bytes, timeout: float) -> None: ...

    def log_tail(self, lines: int = 20) -> str: ...

    def stop(self) -> None: ...


def wait_for_message(maildir: Path, needle: bytes, timeout: float) -> None:
    """Wait until a file in the Maildir's new/ or cur/ contains ``needle``.

    Raises TimeoutError. The aiosmtpd lab stores before it answers 250, so
    this returns at once there; Postfix hands the message to Dovecot a moment
    after its 250.
    """
    deadline = time.monotonic() + timeout
    while True:
        for sub in ("new", "cur"):
            for path in sorted((maildir / sub).glob("*")):
                try:
                    if needle in path.read_bytes():
                        return
                except FileNotFoundError:  # moved from new/ to cur/ meanwhile
                    continue
        if time.monotonic() > deadline:
            raise TimeoutError(f"the message did not arrive in {maildir} within {timeout:g} s")
        time.sleep(0.05)


class LogCapture:
    """Send the named loggers to a file while the lab runs, not to the screen."""

    def __init__(self, path: Path, names: tuple[str, ...]) -> None:
        self.path = path
        self._handler = logging.FileHandler(path, encoding="utf-8")
        self._handler.setFormatter(
            logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
        )
        self._saved: list[tuple[logging.Logger, bool, int]] = []
        for name in names:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.propagate, logger.level))
            logger.addHandler(self._handler)
            logger.propagate = False
            logger.setLevel(logging.INFO)

    def close(self) -> None:
        for logger, propagate, level in self._saved:
            logger.removeHandler(self._handler)
            logger.propagate = propagate
            logger.setLevel(level)
        self._saved = []
        self._handler.close()

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.path.read_text("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def remove_workdir(path: Path, attempts: int = 3) -> None:
    """Delete a lab directory (mail, certificates, logs); LabError if it stays."""
    for _ in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.05)
    raise LabError(f"could not remove {path}")


def signals_to_main_thread(target: Callable[[], object]) -> Callable[[], None]:
    """Wrap a server thread's ``target`` so that SIGINT and SIGTERM skip it.

    The kernel may hand a process's signal to any thread that does not block
    it. Python runs handlers in the main thread only, and a main thread
    blocked in a wait is woken only if the signal was delivered to it: so
    Ctrl-C could go unnoticed while the demo waits. Threads started by these
    threads (pymap's I/O workers) inherit the mask.
    """

    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):  # POSIX; Windows has no such thing
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        target()

    return run
