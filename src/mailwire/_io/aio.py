"""The asyncio driver: runs the same flows as the blocking driver, awaiting.

TLS is not asyncio's ``start_tls``: the raw streams carry the records the
shared TLS lens produces, exactly as in the blocking driver, so implicit TLS,
STARTTLS, the transcript and every protocol rule are one code path. Timeouts
are the same three as :mod:`mailwire._io.blocking` (connect, each wait, the
whole operation). Cancelling an operation leaves the session in an unknown
state, so the driver closes the connection and lets ``CancelledError`` through.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, TypeVar

from mailwire._flow import Flow
from mailwire._io._stream import (
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

__all__ = ["AsyncDriver"]

T = TypeVar("T")


class AsyncDriver:
    """One connection, run on asyncio streams. Arguments as BlockingDriver."""

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
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def __repr__(self) -> str:
        state = "open" if self._writer is not None else "closed"
        return f"<AsyncDriver {self.stream.host}:{self.stream.port} {state}>"

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._writer is not None

    @property
    def sockname(self) -> tuple[object, ...] | None:
        """The local address of the connection, once connected."""
        if self._writer is None:
            return None
        name = self._writer.get_extra_info("sockname")
        return tuple(name) if name else None

    async def connect(self) -> None:
        """Open the TCP connection, and for IMPLICIT TLS do the handshake.

        Raises: as :meth:`BlockingDriver.connect`.
        """
        host, port = self.stream.host, self.stream.port
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=self.source_address
                )
        except OSError as exc:
            raise connect_failed(self.stream, exc) from exc
        self._reader, self._writer = reader, writer
        peer = "%s:%s" % writer.get_extra_info("peername")[:2]  # noqa: UP031
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        await self._drive(self.stream.open(peer), deadline, what="TLS handshake")

    async def run(self, flow: Flow[T], *, timeout: float | None = None) -> T:
        """Run one flow to its end and return its result (see BlockingDriver.run)."""
        if self._writer is None:
            raise ConnectionLost("not connected")
        deadline = None if timeout is None else time.monotonic() + timeout
        return await self._drive(lower(flow, self.stream), deadline, what="operation")

    async def close(self) -> None:
        """Close the connection (close_notify first when TLS is on). Idempotent."""
        if self._writer is None:
            return
        try:
            await self._drive(self.stream.close(), time.monotonic() + 1.0, what="close")
        except Exception:  # noqa: S110  closing is best effort
            pass
        finally:
            await self._close_writer()

    # -------------------------------------------------------------- internals

    async def _close_writer(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        self.stream.closed = True
        if writer is not None:
            writer.close()
            try:
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            except (OSError, TimeoutError):
                pass

    def _abort(self) -> None:
        # Synchronous close for paths that may not await (cancellation).
        writer, self._writer, self._reader = self._writer, None, None
        self.stream.closed = True
        if writer is not None:
            writer.transport.abort()

    async def _drive(self, steps: RawFlow[T], deadline: float | None, *, what: str) -> T:
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
                    answer = await self._perform(step, deadline, what)
                except (Timeout, ConnectionLost) as exc:
                    error = exc
        except BaseException as exc:
            if not connection_survives(exc):
                self._abort()
            raise

    async def _perform(
        self,
        step: RawSend | RawRecv | RawClose,
        deadline: float | None,
        what: str,
    ) -> bytes | None:
        if isinstance(step, RawClose):
            await self._close_writer()
            return None
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            raise ConnectionLost("the connection is closed")
        wait = wait_budget(self.stream, self.timeout, deadline, time.monotonic(), what)
        try:
            async with asyncio.timeout(wait):
                if isinstance(step, RawSend):
                    writer.write(step.data)
                    await writer.drain()
                    return None
                return await reader.read(step.max_bytes)
        except TimeoutError as exc:
            raise timed_out(self.stream, step, wait) from exc
        except OSError as exc:
            raise transport_failed(self.stream, exc) from exc
