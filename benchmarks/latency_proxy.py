"""A loopback TCP proxy that delays each direction by a fixed time.

Each connection accepted on 127.0.0.1 is joined to ``target``; every chunk
read from one side is written to the other ``delay`` seconds after it was
read (``delay_to_server`` / ``delay_to_client`` set the directions apart).
The delay is applied per chunk against its arrival time, not by sleeping
between reads, so chunks in flight overlap: the proxy adds latency, not a
bandwidth cap, and a round trip through it costs about
``delay_to_server + delay_to_client`` plus the loopback's ~0.1 ms. A
half-close (EOF) travels with the same delay.

Threads: per connection and direction, one reader that stamps chunks and one
writer that releases them when due (with zero delay, one thread copies
straight through). At most 1024 chunks (64 MiB) wait per direction; a reader
blocks beyond that, which is TCP's own back-pressure. Bounded as every
:class:`~benchmarks._loopback.LoopbackService`.

Use::

    with ReplayServer(rules, greeting=b"220 hi\\r\\n") as server:
        with LatencyProxy(server.address, delay=0.010) as proxy:  # RTT ~20 ms
            client = smtplib.SMTP(*proxy.address)
"""

from __future__ import annotations

import contextlib
import queue
import socket
import time

from benchmarks._loopback import _POLL, LoopbackService, _shutdown

__all__ = ["LatencyProxy"]

_CHUNK = 64 * 1024
_QUEUE_CHUNKS = 1024


class LatencyProxy(LoopbackService):
    """Loopback proxy to ``target`` adding a one-way delay in each direction.

    Args:
        target: ``(host, port)`` to connect each accepted connection to
            (normally a loopback server).
        delay: one-way delay in seconds applied in both directions.
        delay_to_server: override for the client -> server direction.
        delay_to_client: override for the server -> client direction.
        max_seconds, max_connections, in_subprocess: see
            :class:`~benchmarks._loopback.LoopbackService`.
    """

    def __init__(
        self,
        target: tuple[str, int],
        delay: float = 0.010,
        *,
        delay_to_server: float | None = None,
        delay_to_client: float | None = None,
        max_seconds: float = 300.0,
        max_connections: int = 1000,
        in_subprocess: bool = False,
    ) -> None:
        up = delay if delay_to_server is None else delay_to_server
        down = delay if delay_to_client is None else delay_to_client
        if up < 0 or down < 0:
            raise ValueError("delays must be >= 0")
        super().__init__(
            {"target": tuple(target), "delay_to_server": up, "delay_to_client": down},
            max_seconds=max_seconds,
            max_connections=max_connections,
            in_subprocess=in_subprocess,
        )
        self.target = (target[0], int(target[1]))
        self.delay_to_server = up
        self.delay_to_client = down
        self.bytes_to_server = 0
        self.bytes_to_client = 0

    @property
    def rtt(self) -> float:
        """The round-trip time the proxy adds, in seconds."""
        return self.delay_to_server + self.delay_to_client

    def _extra_stats(self) -> dict[str, int | float]:
        return {
            "delay_to_server": self.delay_to_server,
            "delay_to_client": self.delay_to_client,
            "bytes_to_server": self.bytes_to_server,
            "bytes_to_client": self.bytes_to_client,
        }

    def _serve(self, conn: socket.socket, deadline: float) -> None:
        timeout = max(0.01, deadline - time.monotonic())
        upstream = socket.create_connection(self.target, timeout=min(timeout, 10.0))
        self._track(upstream)
        try:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for s in (conn, upstream):
                s.settimeout(timeout)
            pumps = [
                self._spawn(self._pipe, conn, upstream, self.delay_to_server, True),
                self._spawn(self._pipe, upstream, conn, self.delay_to_client, False),
            ]
            for t in pumps:
                t.join(timeout=max(0.0, deadline - time.monotonic()) + 1.0)
        finally:
            self._untrack(upstream)

    def _pipe(self, src: socket.socket, dst: socket.socket, delay: float, up: bool) -> None:
        """Copy src -> dst, each chunk released ``delay`` after it arrived."""
        moved = 0
        try:
            if delay <= 0:
                while data := src.recv(_CHUNK):
                    dst.sendall(data)
                    moved += len(data)
            else:
                due: queue.Queue[tuple[float, bytes]] = queue.Queue(_QUEUE_CHUNKS)
                writer = self._spawn(self._release, due, dst)
                try:
                    while data := src.recv(_CHUNK):
                        self._put(due, (time.monotonic() + delay, data))
                        moved += len(data)
                finally:
                    # EOF (or an error) travels with the same delay.
                    self._put(due, (time.monotonic() + delay, b""))
                writer.join(timeout=delay + 2.0)
                return
        except OSError:
            _shutdown(dst)
        finally:
            with self._lock:
                if up:
                    self.bytes_to_server += moved
                else:
                    self.bytes_to_client += moved
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def _put(self, due: queue.Queue[tuple[float, bytes]], item: tuple[float, bytes]) -> None:
        while not self.stopping:
            try:
                due.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def _release(self, due: queue.Queue[tuple[float, bytes]], dst: socket.socket) -> None:
        try:
            while not self.stopping:
                try:
                    when, data = due.get(timeout=_POLL)
                except queue.Empty:
                    continue
                wait = when - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
        except OSError:
            _shutdown(dst)
