"""What both drivers share: lowering a flow to raw socket steps.

A flow (see :mod:`mailwire._flow`) asks for application-level I/O: send these
bytes, receive some, start TLS, close. :func:`lower` turns it into a generator
of *raw* steps (:class:`~mailwire.tls.RawSend`, :class:`~mailwire.tls.RawRecv`,
:class:`~mailwire.tls.RawClose`) by passing application bytes through the TLS
lens when TLS is on and recording everything in the transcript. A driver then
only has to perform raw steps on its socket or asyncio streams, apply its
timeouts, and throw transport failures back in as mailwire exceptions, which
reach the flow at the point where it asked for I/O (so an SMTP flow can turn a
lost connection after the end of data into ``OutcomeUnknown``).

Nothing in this module blocks, awaits, or reads a clock.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, TypeVar

from mailwire._flow import Close, Deadline, Flow, Receive, ReceiveInto, Request, Send, StartTLS
from mailwire.errors import (
    CommandError,
    ConnectionLost,
    LocalProtocolError,
    NotSupportedError,
    SecurityError,
    Timeout,
)
from mailwire.tls import (
    RawClose,
    RawDeadline,
    RawFlow,
    RawRecv,
    RawSend,
    TLSLens,
    TLSMode,
    context_warnings,
)
from mailwire.transcript import Direction, Kind, Transcript

if TYPE_CHECKING:
    import ssl

__all__ = [
    "RawRecvInto",
    "Stream",
    "connect_failed",
    "connection_survives",
    "lower",
    "timed_out",
    "transport_failed",
    "wait_budget",
]

T = TypeVar("T")


class RawRecvInto(RawRecv):
    """A :class:`~mailwire.tls.RawRecv` the driver may answer with ``recv_into(view)``.

    A driver that does sets :attr:`count` (0 at end of stream) and answers
    ``None``; one that does not answers ``bytes`` as for any ``RawRecv``.
    """

    __slots__ = ("count", "view")

    def __init__(self, view: memoryview) -> None:
        super().__init__(len(view))
        self.view = view
        self.count = 0

    def __setattr__(self, name: str, value: object) -> None:
        if name == "max_bytes":
            raise AttributeError("max_bytes is fixed by the view")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"RawRecvInto(<{len(self.view)} bytes>)"


def connection_survives(exc: BaseException) -> bool:
    """Whether the connection is still usable after ``exc`` left an operation.

    True only when the server refused a command (``CommandError``), a
    capability was missing (``NotSupportedError``), or the caller's input was
    refused before anything was sent (``ValueError``). Everything else --
    protocol errors, timeouts, lost connections, TLS failures, cancellation --
    leaves the session in an unknown state, so the driver closes it.
    """
    if isinstance(exc, CommandError | NotSupportedError):
        return True
    return type(exc) is ValueError


class Stream:
    """The state of one connection above the socket: TLS lens and transcript.

    Args:
        host: the host connected to; the default name for TLS verification.
        port: the port connected to.
        tls: the :class:`TLSMode`.
        ssl_context: the caller's context, or ``None`` for
            :func:`mailwire.tls.create_context`.
        keylog_file: write TLS session keys here (opt-in).
        transcript: where everything is recorded.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: TLSMode,
        ssl_context: ssl.SSLContext | None,
        keylog_file: str | os.PathLike[str] | None,
        transcript: Transcript,
    ) -> None:
        self.host = host
        self.port = port
        self.tls_mode = TLSMode(tls)
        self._ssl_context = ssl_context
        self._keylog_file = keylog_file
        self.transcript = transcript
        self.lens: TLSLens | None = None
        self.closed = False
        # Set when a TLS handshake failed: nothing may be sent in the clear
        # afterwards (S33, S37).
        self._tls_failed = False

    @property
    def tls_active(self) -> bool:
        """Whether application bytes now travel inside TLS."""
        return self.lens is not None and self.lens.handshake_done

    def context(self) -> ssl.SSLContext:
        """The SSL context to use, made on first need."""
        from mailwire.tls import create_context

        if self._keylog_file is not None:
            self.transcript.keylog_file = os.fspath(self._keylog_file)
        if self._ssl_context is None:
            self._ssl_context = create_context(keylog_file=self._keylog_file)
        else:
            if self._keylog_file is not None:
                self._ssl_context.keylog_filename = os.fspath(self._keylog_file)
            for warning in context_warnings(self._ssl_context):
                self.transcript.event(f"warning: {warning}")
        return self._ssl_context

    # ------------------------------------------------------------ raw flows

    def open(self, peer: str) -> RawFlow[None]:
        """After the TCP connect: record it, and do the handshake for IMPLICIT."""
        self.transcript.add(Kind.CONNECT, note=f"connected to {self.host}:{self.port} ({peer})")
        if self.tls_mode is TLSMode.IMPLICIT:
            yield from self.start_tls(None)

    def start_tls(self, server_hostname: str | None) -> RawFlow[None]:
        """Handshake over the open connection (implicit TLS or an upgrade)."""
        import ssl

        if self.lens is not None:
            raise LocalProtocolError("TLS is already active on this connection")
        if self._tls_failed:
            raise SecurityError("a TLS handshake already failed on this connection")
        name = server_hostname or self.host
        self.transcript.add(Kind.TLS, note=f"TLS handshake begins (server name {name})")
        lens = TLSLens(self.context(), name, self.transcript)
        try:
            yield from lens.handshake()
        except ssl.SSLCertVerificationError as exc:
            self._tls_failed = True
            self.transcript.add(Kind.ERROR, note=f"TLS certificate refused: {exc.verify_message}")
            raise
        except ssl.SSLError as exc:
            self._tls_failed = True
            self.transcript.add(Kind.ERROR, note=f"TLS handshake failed: {exc}")
            raise SecurityError(f"TLS handshake with {name} failed: {exc}") from exc
        except ConnectionLost:
            self._tls_failed = True
            raise
        self.lens = lens
        self.transcript.tls_established(lens.describe())

    def read(self, max_bytes: int) -> RawFlow[bytes]:
        """Receive application bytes (decrypted when TLS is on)."""
        if self.lens is None:
            data = yield RawRecv(max_bytes)
            data = data or b""
        else:
            data = yield from self.lens.read(max_bytes)
        if data:
            self.transcript.received(data)
        else:
            ragged = self.lens is not None and self.lens.ragged_eof
            note = "server closed the connection"
            if ragged:
                note += " (TLS ended without close_notify)"
            self.transcript.add(Kind.CLOSE, Direction.SERVER, note=note)
        return data

    def read_into(self, request: ReceiveInto) -> RawFlow[bytes | None]:
        """Receive application bytes into ``request.view``; see :class:`ReceiveInto`.

        Without TLS the socket writes straight into the view; with TLS the
        decrypted bytes are copied into it. Returns ``None`` with
        ``request.count`` set, or ``b""`` at the end of the stream.
        """
        view = request.view
        if self.lens is None:
            step = RawRecvInto(view)
            answer = yield step
            if answer is None:
                count = step.count
            else:  # a driver that answers every RawRecv with bytes
                count = len(answer)
                view[:count] = answer
        else:
            data = yield from self.lens.read(len(view))
            count = len(data)
            view[:count] = data
        request.count = count
        if not count:
            ragged = self.lens is not None and self.lens.ragged_eof
            note = "server closed the connection"
            if ragged:
                note += " (TLS ended without close_notify)"
            self.transcript.add(Kind.CLOSE, Direction.SERVER, note=note)
            return b""
        # The transcript copies what it keeps (up to its max_data_bytes) and
        # only counts the rest, so the view is handed over as it is.
        self.transcript.received(view[:count])  # type: ignore[arg-type]
        return None

    def write(self, data: bytes, secrets: tuple[tuple[int, int], ...] = ()) -> RawFlow[None]:
        """Send application bytes (encrypted when TLS is on)."""
        if self._tls_failed:
            raise SecurityError("refusing to send after a failed TLS handshake")
        if self.closed:
            raise ConnectionLost("the connection is closed")
        self.transcript.sent(data, secrets)
        if self.lens is None:
            yield RawSend(data)
        else:
            yield from self.lens.write(data)

    def close(self) -> RawFlow[None]:
        """Close: close_notify when TLS is on, then the socket."""
        if self.closed:
            return
        self.closed = True
        if self.lens is not None:
            with contextlib.suppress(ConnectionLost):
                yield from self.lens.close()
        self.transcript.add(Kind.CLOSE, Direction.CLIENT, note="client closed the connection")
        yield RawClose()

    def perform(self, request: Request) -> RawFlow[bytes | None]:
        """One flow request as raw steps; returns what the flow is sent back."""
        if isinstance(request, Send):
            yield from self.write(request.data, request.secrets)
            return None
        if isinstance(request, ReceiveInto):
            return (yield from self.read_into(request))
        if isinstance(request, Receive):
            return (yield from self.read(request.max_bytes))
        if isinstance(request, StartTLS):
            yield from self.start_tls(request.server_hostname)
            return None
        if isinstance(request, Close):
            yield from self.close()
            return None
        if isinstance(request, Deadline):
            yield RawDeadline(request.seconds)
            return None
        raise TypeError(f"a flow yielded {request!r}, which is not a request")


def lower(flow: Flow[T], stream: Stream) -> RawFlow[T]:
    """Run ``flow`` over ``stream``: a generator of raw steps returning its result.

    Exceptions thrown in by the driver (``ConnectionLost``, ``Timeout``) and
    raised by the stream (TLS failures) are thrown into the flow at the
    request that caused them, so the flow can add what it knows.
    """
    answer: bytes | None = None
    error: BaseException | None = None
    while True:
        try:
            request = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        error = None
        try:
            answer = yield from stream.perform(request)
        except Exception as exc:  # handed to the flow, which re-raises or converts
            error = exc
            answer = None


# --------------------------------------------------------------------------
# Timeouts and transport errors, worded the same way for both drivers.


def wait_budget(
    stream: Stream, timeout: float | None, deadline: float | None, now: float, what: str
) -> float | None:
    """Seconds the next socket wait may take: the per-wait timeout, cut to the deadline.

    Raises:
        Timeout: the deadline has passed already.
    """
    if deadline is None:
        return timeout
    left = deadline - now
    if left <= 0:
        stream.transcript.add(Kind.TIMEOUT, note=f"{what} deadline passed")
        raise Timeout(f"{what} did not finish in time")
    return left if timeout is None else min(timeout, left)


def timed_out(stream: Stream, step: RawSend | RawRecv, wait: float | None) -> Timeout:
    """The exception (and transcript record) for a socket wait that ran out."""
    verb = "writing to" if isinstance(step, RawSend) else "waiting for"
    seconds = "?" if wait is None else f"{wait:.3g}"
    stream.transcript.add(Kind.TIMEOUT, note=f"{verb} the server: no progress in {seconds}s")
    return Timeout(f"{verb} {stream.host} timed out after {seconds}s")


def transport_failed(stream: Stream, exc: OSError) -> ConnectionLost:
    """The exception (and transcript record) for a failed socket operation."""
    stream.transcript.add(Kind.ERROR, note=f"connection failed: {exc}")
    return ConnectionLost(f"connection to {stream.host} failed: {exc}")


def connect_failed(stream: Stream, exc: OSError) -> Timeout | ConnectionLost:
    """The exception (and transcript record) for a failed TCP connect."""
    where = f"{stream.host}:{stream.port}"
    if isinstance(exc, TimeoutError):
        stream.transcript.add(Kind.TIMEOUT, note=f"connect to {where} timed out")
        return Timeout(f"connecting to {where} timed out")
    stream.transcript.add(Kind.ERROR, note=f"connect to {where} failed: {exc}")
    return ConnectionLost(f"could not connect to {where}: {exc}")
