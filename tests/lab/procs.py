"""Small process, port and file helpers shared by the Dovecot and Postfix labs."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

# Daemons live in sbin, which is not on every user's PATH.
_EXTRA_BIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")

# Unix socket paths are limited to 107 bytes (sun_path). Dovecot's longest
# socket name under its base_dir is ~35 bytes and Postfix's queue sockets are
# shorter, so keep work dirs well below 107 - 35 - len("/run/").
MAX_WORKDIR_LENGTH = 60

# Ports are taken from below Linux's default ephemeral range (32768-60999),
# so that no outgoing connection can grab one between the probe and the bind.
_PORT_RANGE = (20000, 32767)


def find_program(name: str) -> str | None:
    """The path of an executable, looked up on PATH and in the sbin directories."""
    found = shutil.which(name)
    if found:
        return found
    path = os.pathsep.join(_EXTRA_BIN_DIRS)
    return shutil.which(name, path=path)


def is_root() -> bool:
    return os.geteuid() == 0


def short_tempdir(prefix: str) -> Path:
    """A new private directory with a path short enough for unix sockets."""
    base = tempfile.gettempdir()
    if len(base) > MAX_WORKDIR_LENGTH - 20:
        base = "/tmp"
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base)).resolve()
    if len(str(path)) > MAX_WORKDIR_LENGTH:
        shutil.rmtree(path, ignore_errors=True)
        raise RuntimeError(f"temporary directory {path} is too long for unix sockets")
    return path


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def ipv6_loopback() -> bool:
    """Whether ::1 exists here (containers sometimes have no IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_ports(count: int, hosts: Sequence[str] = ("127.0.0.1",)) -> list[int]:
    """``count`` distinct TCP ports that are free on every one of ``hosts``.

    The probe sockets stay bound until all ports are chosen, so no port is
    picked twice; after that a daemon may still lose a race with another
    process, which the labs handle by starting again on new ports.
    """
    rng = random.SystemRandom()  # independent of tests that seed `random`
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for _ in range(count * 50):
            if len(ports) == count:
                break
            port = rng.randint(*_PORT_RANGE)
            if port in ports:
                continue
            probes = []
            try:
                for host in hosts:
                    sock = socket.socket(_family(host), socket.SOCK_STREAM)
                    probes.append(sock)
                    sock.bind((host, port))
            except OSError:
                for sock in probes:
                    sock.close()
                continue
            held.extend(probes)
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    if len(ports) < count:
        raise RuntimeError(f"could not find {count} free ports on {', '.join(hosts)}")
    return ports


def wait_for_greeting(
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    deadline: float,
    alive: Iterable[subprocess.Popen[bytes]] = (),
) -> None:
    """Wait until ``host:port`` sends its first bytes (after the TLS handshake).

    Raises TimeoutError at ``deadline`` (a time.monotonic() value) and
    ChildProcessError as soon as one of ``alive`` has exited.
    """
    procs = list(alive)
    while True:
        for proc in procs:
            if proc.poll() is not None:
                raise ChildProcessError(f"pid {proc.pid} exited with status {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                if tls is None:
                    if sock.recv(1):
                        return
                else:
                    with tls.wrap_socket(sock, server_hostname=host) as tls_sock:
                        if tls_sock.recv(1):
                            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no greeting from {host}:{port}")
        time.sleep(0.02)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie counts as gone.

    A daemon's master, once exited, stays a zombie until its parent (often
    init) reaps it, and signalling a zombie still succeeds.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def pid_mentions(pid: int, needle: str) -> bool:
    """Whether the command line or environment of ``pid`` contains ``needle``.

    Guards against signalling a recycled PID read from a stale pid file.
    """
    for name in ("cmdline", "environ"):
        try:
            data = Path(f"/proc/{pid}/{name}").read_bytes()
        except OSError:
            continue
        if needle.encode() in data:
            return True
    return False


def terminate_pid(pid: int, *, timeout: float = 10.0) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.02)


def children_of(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text("ascii", errors="replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def stop_child(
    proc: subprocess.Popen[bytes], *, timeout: float = 10.0, with_children: bool = False
) -> int:
    """Stop a child we started (SIGTERM, then SIGKILL) and reap it.

    ``with_children`` also sends SIGTERM to the child's own children, which
    the child would stop anyway: Dovecot's master takes ~1 s to stop its
    services one by one, all at once it is ~0.1 s.
    """
    if proc.poll() is None:
        children = children_of(proc.pid) if with_children else []
        proc.terminate()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


def tail(paths: Iterable[Path], lines: int = 30) -> str:
    """The last lines of each existing log file, headed by its path."""
    parts = []
    for path in paths:
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        if text.strip():
            last = "\n".join(text.rstrip("\n").splitlines()[-lines:])
            parts.append(f"--- {path} (last {lines} lines) ---\n{last}")
    return "\n".join(parts) if parts else "(no log output)"
