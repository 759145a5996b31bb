"""Shared plumbing of the loopback servers: bounded life, threads, child process.

A :class:`LoopbackService` listens on 127.0.0.1 (never another interface) on
an ephemeral port and serves each accepted connection in its own thread. It
is bounded three ways, so a forgotten server cannot outlive its benchmark:

- ``max_seconds``: after that the listener closes and every connection is shut
  down, whether or not :meth:`stop` was called;
- ``max_connections``: connections beyond it are closed at once;
- every thread is a daemon and every blocking call has a timeout.

With ``in_subprocess=True`` the same service runs in a child Python process
(``python -m benchmarks._loopback``), so that its threads do not compete with
the benchmarked client for this process's GIL (on 2 cores a server thread that
waits for the GIL behind a CPU-bound client can stall the socket). The child
receives the service's constructor arguments (pickled, so callables in them
must be module-level), prints its address, and exits when its standard input
closes (the parent called :meth:`stop` or went away) or when its own
``max_seconds`` run out. Its counters come back when it stops.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pickle
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["LoopbackService"]

HOST = "127.0.0.1"
_POLL = 0.1  # seconds between checks of the stop flag in blocking loops
_MAX_ERRORS = 100  # errors kept per service (the count goes on)
_REPO_ROOT = Path(__file__).resolve().parent.parent


class LoopbackService:
    """Base class: start() -> (host, port), stop(), context manager.

    Subclasses implement :meth:`_serve` (one connection) and pass their own
    constructor arguments as ``config`` so the service can be rebuilt in a
    child process.
    """

    def __init__(
        self,
        config: dict[str, Any],
        *,
        max_seconds: float = 300.0,
        max_connections: int = 1000,
        in_subprocess: bool = False,
    ) -> None:
        if max_seconds <= 0 or max_connections <= 0:
            raise ValueError("max_seconds and max_connections must be positive")
        self.max_seconds = max_seconds
        self.max_connections = max_connections
        self.in_subprocess = in_subprocess
        self._config = {**config, "max_seconds": max_seconds, "max_connections": max_connections}
        self._address: tuple[str, int] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._deadline = 0.0
        self._child: subprocess.Popen[bytes] | None = None
        self._child_stats: dict[str, Any] = {}
        self.connections = 0
        self.errors: list[str] = []
        self.error_count = 0

    # ------------------------------------------------------------ public --

    @property
    def address(self) -> tuple[str, int]:
        if self._address is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._address

    @property
    def host(self) -> str:
        return self.address[0]

    @property
    def port(self) -> int:
        return self.address[1]

    def start(self) -> tuple[str, int]:
        """Start listening; returns ``(host, port)``."""
        if self._address is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        if self.in_subprocess:
            self._address = self._start_child()
        else:
            self._address = self._start_threads()
        return self._address

    def stop(self) -> None:
        """Stop listening, end every connection, wait (bounded) for the threads."""
        if self._child is not None:
            self._stop_child()
            return
        self._stopping.set()
        self._shutdown_all()
        for t in list(self._threads):
            if t is not threading.current_thread():
                t.join(timeout=2.0)

    def stats(self) -> dict[str, Any]:
        """Counters: connections, error_count, errors (first 100) and the
        subclass's own. In subprocess mode they are known after :meth:`stop`."""
        if self.in_subprocess:
            return dict(self._child_stats)
        return {
            "connections": self.connections,
            "error_count": self.error_count,
            "errors": list(self.errors),
            **self._extra_stats(),
        }

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------- for subclasses --

    def _serve(self, conn: socket.socket, deadline: float) -> None:
        raise NotImplementedError

    def _extra_stats(self) -> dict[str, Any]:
        return {}

    def _record_error(self, text: str) -> None:
        with self._lock:
            self.error_count += 1
            if len(self.errors) < _MAX_ERRORS:
                self.errors.append(text)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        if self._stopping.is_set():  # stop() ran meanwhile: do not leave it open
            _shutdown(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        sock.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> threading.Thread:
        t = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()
        return t

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set() or time.monotonic() > self._deadline

    # ------------------------------------------------------- thread mode --

    def _start_threads(self) -> tuple[str, int]:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(64)
        listener.settimeout(_POLL)
        self._listener = listener
        self._deadline = time.monotonic() + self.max_seconds
        self._spawn(self._accept_loop, listener)
        host, port = listener.getsockname()[:2]
        return (host, port)

    def _accept_loop(self, listener: socket.socket) -> None:
        try:
            while not self.stopping:
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break
                if self.connections >= self.max_connections:
                    self._record_error(f"connection refused: over {self.max_connections}")
                    conn.close()
                    continue
                self.connections += 1
                self._spawn(self._run_connection, conn)
        finally:
            listener.close()
            # The lifetime is over (or stop() was called): end every connection.
            self._stopping.set()
            self._shutdown_all()

    def _run_connection(self, conn: socket.socket) -> None:
        self._track(conn)
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._serve(conn, self._deadline)
        except OSError as exc:
            if not self.stopping:
                self._record_error(f"connection: {type(exc).__name__}: {exc}")
        except Exception as exc:
            self._record_error(f"handler: {type(exc).__name__}: {exc}")
        finally:
            self._untrack(conn)

    def _shutdown_all(self) -> None:
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            _shutdown(s)

    # ---------------------------------------------------- subprocess mode --

    def _start_child(self) -> tuple[str, int]:
        cls = type(self)
        payload = pickle.dumps((cls.__module__, cls.__qualname__, self._config))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._loopback"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_REPO_ROOT,
            env=env,
        )
        self._child = child
        if child.stdin is None or child.stdout is None:  # pragma: no cover - PIPE given
            raise RuntimeError("no pipes to the server child process")
        try:
            child.stdin.write(struct.pack("!Q", len(payload)) + payload)
            child.stdin.flush()
            line = _readline_within(child.stdout, 30.0)
            ready = json.loads(line)
        except Exception:
            self._stop_child()
            raise
        return (ready["host"], int(ready["port"]))

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            # communicate() closes the child's stdin: its signal to stop.
            out, _ = child.communicate(timeout=10.0)
        except subprocess.TimeoutExpired:
            child.kill()
            out, _ = child.communicate(timeout=5.0)
        for line in reversed(out.splitlines()):
            with contextlib.suppress(ValueError):
                self._child_stats = json.loads(line)
                break


def _shutdown(sock: socket.socket) -> None:
    # shutdown() wakes a thread blocked in recv() on Linux; close() alone does not.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _readline_within(stream: Any, seconds: float) -> bytes:
    """One line from a child's stdout, or TimeoutError: a hung child must not
    hang the benchmark."""
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    buf = b""
    end = time.monotonic() + seconds
    try:
        while not buf.endswith(b"\n"):
            left = end - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise TimeoutError("the server child process did not report its address")
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                raise ConnectionError("the server child process exited before it was ready")
            buf += chunk
    finally:
        sel.close()
    return buf


def _child_main() -> None:
    stdin = sys.stdin.buffer
    (size,) = struct.unpack("!Q", stdin.read(8))
    module, qualname, config = pickle.loads(stdin.read(size))
    cls = getattr(importlib.import_module(module), qualname)
    service: LoopbackService = cls(**config)
    host, port = service.start()
    print(json.dumps({"host": host, "port": port}), flush=True)

    parent_gone = threading.Event()

    def watch_stdin() -> None:
        with contextlib.suppress(OSError, ValueError):
            while stdin.read(1):
                pass
        parent_gone.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    parent_gone.wait(timeout=service.max_seconds)
    service.stop()
    print(json.dumps(service.stats(), default=str), flush=True)


if __name__ == "__main__":
    _child_main()
