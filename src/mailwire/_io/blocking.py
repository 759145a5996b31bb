"""The blocking driver: runs flows over a socket.

It owns the socket and the clocks and nothing protocol-specific: it connects,
performs the raw steps that :func:`mailwire._io._stream.lower` produces, and
turns transport failures into mailwire exceptions (``ConnectionLost``,
``Timeout``). Three timeouts apply (security.md S27):

- ``connect_timeout``: the TCP connect (defaults to ``timeout``);
- ``timeout``: any single wait for the socket (a read or a write);
- the ``timeout`` given to :meth:`BlockingDriver.run`: the whole operation,
  so a server that drips one byte just inside the read timeout still cannot
  hold an operation for ever.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING, TypeVar

from mailwire._flow import Flow
from mailwire._io._stream import (
    RawRecvInto,
    Stream,
    connect_failed,
    connection_survives,
    lower,
    timed_out,
    transport_failed,
    wait_budget,
)
from mailwire.errors import ConnectionLost, Timeout
from mailwire.tls import RawClose, RawDeadline, RawFlow, RawRecv, RawSend, TLSMode
from mailwire.transcript import Transcript

if TYPE_CHECKING:
    import ssl

__all__ = ["BlockingDriver"]

T = TypeVar("T")


class BlockingDriver:
    """One connection, run with blocking socket calls.

    Args:
        host: the server's name or address.
        port: the TCP port.
        tls: how the connection is protected (:class:`TLSMode`).
        ssl_context: a caller's context; ``None`` uses mailwire's default.
        timeout: seconds any single read or write may wait.
        connect_timeout: seconds the TCP connect may take (``timeout``).
        keylog_file: write TLS session keys here (opt-in).
        transcript: record into this transcript (a new one by default).
        source_address: ``(host, port)`` to bind before connecting.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: TLSMode = TLSMode.IMPLICIT,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 30.0,
        connect_timeout: float | None = None,
        keylog_file: str | os.PathLike[str] | None = None,
        transcript: Transcript | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> None:
        self.transcript = transcript if transcript is not None else Transcript()
        self.stream = Stream(
            host,
            port,
            tls=tls,
            ssl_context=ssl_context,
            keylog_file=keylog_file,
            transcript=self.transcript,
        )
        self.timeout = timeout
        self.connect_timeout = connect_timeout if connect_timeout is not None else timeout
        self.source_address = source_address
        self._sock: socket.socket | None = None
        # The socket's timeout as last set (settimeout costs system calls).
        self._wait: float | None = -1.0

    def __repr__(self) -> str:
        state = "open" if self._sock is not None else "closed"
        return f"<BlockingDriver {self.stream.host}:{self.stream.port} {state}>"

    @property
    def is_open(self) -> bool:
        """Whether the socket is open."""
        return self._sock is not None

    @property
    def sockname(self) -> tuple[object, ...] | None:
        """The local address of the connection, once connected."""
        return tuple(self._sock.getsockname()) if self._sock is not None else None

    def connect(self) -> None:
        """Open the TCP connection, and for IMPLICIT TLS do the handshake.

        Raises:
            ConnectionLost: the connection could not be made.
            Timeout: the connect or handshake took too long.
            ssl.SSLCertVerificationError: the certificate was refused.
            SecurityError: the TLS handshake failed otherwise.
        """
        host, port = self.stream.host, self.stream.port
        try:
            sock = socket.create_connection(
                (host, port), timeout=self.connect_timeout, source_address=self.source_address
            )
        except OSError as exc:
            raise connect_failed(self.stream, exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._wait = -1.0
        peer = "%s:%s" % sock.getpeername()[:2]  # noqa: UP031
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        self._drive(self.stream.open(peer), deadline, what="TLS handshake")

    def run(self, flow: Flow[T], *, timeout: float | None = None) -> T:
        """Run one flow to its end and return its result.

        Args:
            flow: the operation's generator.
            timeout: a deadline for the whole operation (seconds), on top of
                the per-read timeout.

        Raises:
            Whatever the flow raises. Unless the exception leaves the session
            usable (a refused command, caller input), the socket is closed.
        """
        if self._sock is None:
            raise ConnectionLost("not connected")
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._drive(lower(flow, self.stream), deadline, what="operation")

    def close(self) -> None:
        """Close the connection (close_notify first when TLS is on). Idempotent."""
        if self._sock is None:
            return
        try:
            self._drive(self.stream.close(), time.monotonic() + 1.0, what="close")
        except Exception:  # noqa: S110  closing is best effort
            pass
        finally:
            self._close_socket()

    # -------------------------------------------------------------- internals

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        self.stream.closed = True
        if sock is not None:
            sock.close()

    def _drive(self, steps: RawFlow[T], deadline: float | None, *, what: str) -> T:
        answer: bytes | None = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    step = steps.send(answer) if error is None else steps.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                answer, error = None, None
                if isinstance(step, RawDeadline):
                    seconds = step.seconds
                    deadline = None if seconds is None else time.monotonic() + seconds
                    continue
                try:
                    answer = self._perform(step, deadline, what)
                except (Timeout, ConnectionLost) as exc:
                    error = exc
        except BaseException as exc:
            if not connection_survives(exc):
                self._close_socket()
            raise

    def _perform(
        self,
        step: RawSend | RawRecv | RawClose,
        deadline: float | None,
        what: str,
    ) -> bytes | None:
        if isinstance(step, RawClose):
            self._close_socket()
            return None
        sock = self._sock
        if sock is None:
            raise ConnectionLost("the connection is closed")
        wait = wait_budget(self.stream, self.timeout, deadline, time.monotonic(), what)
        if wait != self._wait:
            sock.settimeout(wait)
            self._wait = wait
        try:
            if isinstance(step, RawSend):
                sock.sendall(step.data)
                return None
            if isinstance(step, RawRecvInto):
                step.count = sock.recv_into(step.view)
                return None
            return sock.recv(step.max_bytes)
        except TimeoutError as exc:
            raise timed_out(self.stream, step, wait) from exc
        except OSError as exc:
            raise transport_failed(self.stream, exc) from exc
