"""Framing and parsing together: bytes in, typed responses out.

:class:`ResponseReader` is what the IMAP connection (issue 6) drives: it
reads one :class:`~mailwire.imap._frames.Frame` from the receive buffer and
parses it. :func:`parse_responses` does the same over a whole byte string,
for tests, tools and benchmarks.
"""

from __future__ import annotations

from mailwire._buffer import ReceiveBuffer
from mailwire.imap._frames import FrameReader, SinkFactory
from mailwire.imap._parser import parse_response
from mailwire.imap.events import Response
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["ResponseReader", "parse_responses"]


class ResponseReader:
    """Reads whole, parsed responses out of a receive buffer.

    Args:
        limits: bounds on literals and nesting.
        sink_factory: decides which literals are streamed (see
            :data:`~mailwire.imap._frames.SinkFactory`).
    """

    __slots__ = ("_frames", "_limits")

    def __init__(
        self, limits: Limits = DEFAULT_LIMITS, *, sink_factory: SinkFactory | None = None
    ) -> None:
        self._limits = limits
        self._frames = FrameReader(limits, sink_factory=sink_factory)

    @property
    def in_response(self) -> bool:
        """Whether part of a response has been read."""
        return self._frames.in_frame

    def read(self, buf: ReceiveBuffer) -> Response | None:
        """The next response, or ``None`` until one is complete.

        Raises:
            RemoteProtocolError: malformed or oversized data (see
                :meth:`FrameReader.read` and :func:`parse_response`).
            ConnectionLost: the stream ended inside a response.
        """
        frame = self._frames.read(buf)
        if frame is None:
            return None
        return parse_response(frame, self._limits)


def parse_responses(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Response]:
    """Every response in ``data``, which must end at a response boundary.

    Raises:
        RemoteProtocolError: malformed data.
        ConnectionLost: ``data`` ends inside a response.
    """
    buf = ReceiveBuffer(limits)
    buf.feed(data)
    buf.feed(b"")
    reader = ResponseReader(limits)
    out = []
    while (response := reader.read(buf)) is not None:
        out.append(response)
    return out
