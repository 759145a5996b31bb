"""Courier-IMAP on loopback: a real server with UTF8=ACCEPT (RFC 6855).

Dovecot 2.3 (the lab's main server) does not offer UTF8=ACCEPT; Courier-IMAP
5 does. Debian's ``courier-imap`` package conflicts with ``dovecot-imapd``
(both are the imap-server), so ``.ci/install-servers.sh`` installs the
libraries Courier's ``imapd`` needs as packages and unpacks the
``courier-imap`` package itself into ``/opt/mailwire-lab/courier-imap``,
beside Dovecot. A machine that has ``courier-imap`` installed instead uses
its ``/usr/bin/imapd``.

The lab listens on 127.0.0.1 at a free port. For each connection it runs
``imapd`` as Courier's login process would once a user is authenticated
(``AUTHENTICATED`` set, a Maildir as its argument), with the accepted socket
as its standard input and output: the server greets with PREAUTH and speaks
IMAP on the socket itself. There is no login and no TLS; this lab is for the
UTF-8 rules. Every connection shares one Maildir in the lab's directory.
Courier's own log lines go to ``log_file``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

from tests.lab import procs
from tests.lab.rules import INSTALL_HINT, LabStartError, LabUnavailable

UNPACKED = Path("/opt/mailwire-lab/courier-imap/usr/bin/imapd")
# Debian's /etc/courier/imapd default; Courier adds ENABLE and UTF8=ACCEPT itself.
CAPABILITY = (
    "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"
)


def find_imapd() -> Path:
    """Courier's imapd: the unpacked copy, else an installed courier-imap's.

    Raises:
        LabUnavailable: neither is there.
    """
    if UNPACKED.is_file() and os.access(UNPACKED, os.X_OK):
        return UNPACKED
    installed = Path("/usr/bin/imapd")
    if installed.is_file() and Path("/usr/lib/courier/imapd").exists():
        return installed
    raise LabUnavailable("Courier-IMAP's imapd is not unpacked or installed", INSTALL_HINT)


class CourierLab:
    """A listening socket that hands each connection to a fresh Courier ``imapd``.

    Attributes: ``host``, ``port``, ``user``, ``workdir``, ``maildir``,
    ``log_file``, ``imapd``.
    """

    host = "127.0.0.1"
    user = "alice"

    def __init__(self) -> None:
        self.imapd = Path()
        self.workdir = Path()
        self.port = 0
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._children: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._closing = False

    @property
    def maildir(self) -> Path:
        return self.workdir / "Maildir"

    @property
    def log_file(self) -> Path:
        return self.workdir / "imapd.log"

    def start(self) -> CourierLab:
        """Find imapd, make the Maildir, listen, and check a greeting comes."""
        self.imapd = find_imapd()
        self.workdir = procs.short_tempdir("mw-courier-")
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        listener = socket.create_server((self.host, 0))
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="courier-lab", daemon=True)
        self._thread.start()
        try:
            with socket.create_connection((self.host, self.port), timeout=10) as probe:
                greeting = probe.makefile("rb").readline()
        except OSError as exc:
            greeting = repr(exc).encode()
        if not greeting.startswith(b"* PREAUTH"):
            self.stop()
            raise LabStartError(
                f"Courier imapd gave no PREAUTH greeting ({greeting!r})\n{self.log_tail()}"
            )
        return self

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.workdir),
            "AUTHENTICATED": self.user,
            "MAILDIR": str(self.maildir),
            "IMAP_CAPABILITY": CAPABILITY,
            "IMAP_KEYWORDS": "1",
            "IMAP_IDLE_TIMEOUT": "60",
            "TCPREMOTEIP": "127.0.0.1",
        }

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn, self.log_file.open("ab") as log, self._lock:
                if self._closing:
                    return
                child = subprocess.Popen(
                    [str(self.imapd), str(self.maildir)],
                    stdin=conn.fileno(),
                    stdout=conn.fileno(),
                    stderr=log,
                    cwd=self.workdir,
                    env=self._environment(),
                )
                self._children = [c for c in self._children if c.poll() is None] + [child]
            # The child holds its own copies of the socket; ours is closed.

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, *, remove: bool = True) -> None:
        with self._lock:
            self._closing = True
            if self._listener is not None:
                self._listener.close()
            children, self._children = self._children, []
        for child in children:
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if remove and self.workdir != Path():
            shutil.rmtree(self.workdir, ignore_errors=True)
