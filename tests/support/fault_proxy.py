"""A fault-injecting TCP proxy on loopback, for fault sweeps (issue 7).

Between a client and a real server it relays bytes both ways, and can break
the stream at an exact byte offset of either direction:

- ``cut``: after N bytes have passed, close both sides (FIN, or RST with
  ``reset=True``). Inside TLS this is a session ended without close_notify.
- ``stall``: after N bytes, hold the rest for ``seconds``, then go on (a
  stall ends early when the proxy is stopped, so a sweep that saw its
  timeout need not wait the stall out).
- ``drip``: deliver that direction one byte per write.

The proxy counts bytes exactly (a chunk that straddles the offset is split),
so a sweep can cut at every command and reply boundary. Everything is bounded:
each connection lives at most ``lifetime`` seconds, and the listener is
loopback-only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Literal

Direction = Literal["c2s", "s2c"]


@dataclasses.dataclass(frozen=True)
class Fault:
    """What to do to one direction of the stream.

    Attributes:
        direction: ``"c2s"`` (client to server) or ``"s2c"``.
        at: the byte offset in that direction where the fault starts.
        action: ``"cut"``, ``"stall"`` or ``"drip"``.
        reset: with ``cut``, close with RST instead of FIN.
        seconds: with ``stall``, how long to hold the bytes.
    """

    direction: Direction
    at: int
    action: Literal["cut", "stall", "drip"] = "cut"
    reset: bool = False
    seconds: float = 0.0


class FaultProxy:
    """Listen on 127.0.0.1; relay each connection to ``upstream`` with ``fault``.

    Args:
        upstream: ``(host, port)`` of the real server (loopback only).
        fault: the fault to apply to every connection (``None``: relay only).
        lifetime: seconds after which a connection is closed regardless.
    """

    def __init__(
        self, upstream: tuple[str, int], fault: Fault | None = None, *, lifetime: float = 30.0
    ) -> None:
        assert upstream[0] in ("127.0.0.1", "::1", "localhost"), "loopback only"
        self.upstream = upstream
        self.fault = fault
        self.lifetime = lifetime
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.host = "127.0.0.1"
        #: bytes relayed per direction, summed over connections
        self.relayed: dict[Direction, int] = {"c2s": 0, "s2c": 0}
        #: whether the fault fired
        self.fired = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() at once (Linux)
        with contextlib.suppress(OSError):
            self._listener.close()
        self._acceptor.join(timeout=5)
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    # ----------------------------------------------------------------- relay

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            deadline = time.monotonic() + self.lifetime
            pair = _Pair(self, client, server, deadline)
            for direction in ("c2s", "s2c"):
                thread = threading.Thread(target=pair.pump, args=(direction,), daemon=True)
                self._threads.append(thread)
                thread.start()


class _Pair:
    def __init__(
        self, proxy: FaultProxy, client: socket.socket, server: socket.socket, deadline: float
    ) -> None:
        self.proxy = proxy
        self.client = client
        self.server = server
        self.deadline = deadline
        self.counts: dict[str, int] = {"c2s": 0, "s2c": 0}
        self.dead = threading.Event()

    def _kill(self, reset: bool) -> None:
        self.dead.set()
        for sock in (self.client, self.server):
            if reset:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                # SHUT_RD sends nothing but wakes the other pump's recv() at
                # once (a close() from this thread would not); the close
                # below then sends the RST.
                sock.shutdown(socket.SHUT_RD if reset else socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def pump(self, direction: str) -> None:
        src, dst = (self.client, self.server) if direction == "c2s" else (self.server, self.client)
        fault = self.proxy.fault
        mine = fault is not None and fault.direction == direction
        try:
            while not self.dead.is_set():
                left = self.deadline - time.monotonic()
                if left <= 0:
                    break
                src.settimeout(min(left, 0.5))
                try:
                    data = src.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    if self.dead.is_set():  # woken by _kill: no FIN ahead of its RST
                        return
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)  # pass the FIN on
                    return
                if mine:
                    assert fault is not None
                    if not self._faulty_send(dst, data, fault, direction):
                        return
                else:
                    dst.sendall(data)
                    self._count(direction, len(data))
        except OSError:
            pass
        self._kill(reset=False)

    def _count(self, direction: str, n: int) -> None:
        self.counts[direction] += n
        with self.proxy._lock:
            self.proxy.relayed[direction] += n  # type: ignore[index]

    def _faulty_send(self, dst: socket.socket, data: bytes, fault: Fault, direction: str) -> bool:
        """Send ``data`` applying the fault; False when the connection was cut."""
        done = self.counts[direction]
        before = max(0, min(len(data), fault.at - done))
        if before:
            self._send(dst, data[:before], fault, direction, drip=False)
        rest = data[before:]
        if not rest:
            return True
        if fault.action == "cut":
            self.proxy.fired = True
            self._kill(reset=fault.reset)
            return False
        if fault.action == "stall" and done + before == fault.at:
            self.proxy.fired = True
            if self._hold(fault.seconds):
                return False
        self._send(dst, rest, fault, direction, drip=fault.action == "drip")
        return True

    def _hold(self, seconds: float) -> bool:
        """Stall for ``seconds``; True when the pair died or the proxy stopped meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.dead.wait(min(left, 0.02)) or self.proxy._stop.is_set():
                return True
        return False

    def _send(
        self, dst: socket.socket, data: bytes, fault: Fault, direction: str, *, drip: bool
    ) -> None:
        if drip:
            self.proxy.fired = True
            for i in range(len(data)):
                dst.sendall(data[i : i + 1])
                self._count(direction, 1)
        else:
            dst.sendall(data)
            self._count(direction, len(data))
