"""COMPRESS=DEFLATE (RFC 4978): a lens between the flows and the driver.

After the tagged OK to ``COMPRESS DEFLATE`` both directions are raw DEFLATE
streams (RFC 1951, no zlib header: ``wbits=-15``). :func:`compressed` wraps
any flow: what it sends is deflated and flushed (``Z_SYNC_FLUSH``, so every
command reaches the server whole, RFC 4978 §4), what it receives is inflated.

Inflation is bounded (security.md S31): each input is inflated with
``decompress(data, max_length)`` in steps of ``Limits.max_inflate_chunk``,
the rest kept as ``unconsumed_tail`` until the core has taken what it was
given. A bomb of 1 MiB that inflates to 1 GiB without a line end therefore
meets ``LineTooLong`` having inflated little more than the line limit.

The transcript records the deflated octets (the drivers see nothing else);
a send that held a secret is marked secret whole, since the secret could be
inflated back out of it (S40).
"""

from __future__ import annotations

import zlib
from typing import TypeVar

from mailwire._flow import Flow, Receive, Request, Send, StartTLS
from mailwire.errors import LocalProtocolError, RemoteProtocolError
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["Deflate", "compressed"]

T = TypeVar("T")


class Deflate:
    """The two DEFLATE streams of one connection.

    Args:
        limits: ``max_inflate_chunk`` bounds each inflation step.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._out = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self._in = zlib.decompressobj(-15)
        self._step = limits.max_inflate_chunk
        self._tail = b""
        self.ended = False
        #: Octets received deflated / given out inflated (for the curious).
        self.raw_in = 0
        self.inflated = 0

    def deflate(self, data: bytes) -> bytes:
        """Compress ``data`` and flush it, so the server can read it all now."""
        return self._out.compress(data) + self._out.flush(zlib.Z_SYNC_FLUSH)

    def feed(self, data: bytes) -> None:
        """Take deflated octets from the wire.

        Raises:
            RemoteProtocolError: more data after the stream ended.
        """
        if data and self.ended:
            raise RemoteProtocolError("data after the end of the DEFLATE stream")
        self.raw_in += len(data)
        self._tail += data

    @property
    def pending(self) -> bool:
        """Whether fed input has not been inflated yet."""
        return bool(self._tail)

    def inflate(self, want: int) -> bytes:
        """Inflate at most ``min(want, max_inflate_chunk)`` octets of what was fed.

        Raises:
            RemoteProtocolError: the input is not valid DEFLATE data.
        """
        limit = max(1, min(want, self._step))
        try:
            out = self._in.decompress(self._tail, limit)
        except zlib.error as exc:
            raise RemoteProtocolError(f"bad DEFLATE data from the server: {exc}") from exc
        self._tail = self._in.unconsumed_tail
        if self._in.eof:
            self.ended = True
            self._tail = b""
        self.inflated += len(out)
        return out


def compressed(flow: Flow[T], deflate: Deflate) -> Flow[T]:
    """Run ``flow`` through the DEFLATE streams of ``deflate``.

    Raises:
        LocalProtocolError: the flow asked for STARTTLS (never after
            COMPRESS, RFC 4978 §3).
    """
    answer: bytes | None = None
    error: BaseException | None = None
    while True:
        try:
            request: Request = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        answer, error = None, None
        try:
            if isinstance(request, Send):
                data = deflate.deflate(request.data)
                secrets = ((0, len(data)),) if request.secrets and data else ()
                yield Send(data, secrets)
            elif isinstance(request, Receive):
                answer = yield from _receive(deflate, request.max_bytes)
            elif isinstance(request, StartTLS):
                raise LocalProtocolError("STARTTLS after COMPRESS is not allowed (RFC 4978 §3)")
            else:
                yield request
        except Exception as exc:  # handed to the flow at the request that caused it
            error = exc


def _receive(deflate: Deflate, max_bytes: int) -> Flow[bytes]:
    while True:
        if deflate.pending:
            out = deflate.inflate(max_bytes)
            if out:
                return out
            if deflate.pending:
                continue  # input consumed without output yet (a block header)
        data = yield Receive(max_bytes)
        if not data:
            return b""
        deflate.feed(data)
