"""IDLE (RFC 2177, RFC 9051 §6.3.13) as three small flows the clients loop over.

``start`` sends IDLE and reads to the server's go-ahead (``+``); ``wait``
reads one unsolicited response, or returns ``None`` when the driver's wait
ran out (the driver throws its ``Timeout`` into the flow at the read; the
flow takes it, so the connection stays open -- nothing was half read that
the core cannot resume); ``finish`` sends DONE and reads to the tagged OK.

The clients keep the clock: they end the iteration after ``timeout``
seconds without an event, and re-issue IDLE before the 29 minutes after
which a server may drop an idle client (RFC 2177 §3).
"""

from __future__ import annotations

import dataclasses

from mailwire._flow import Flow
from mailwire.errors import ConnectionLost, Timeout, TooManyResponses
from mailwire.imap._flows import Handler, receive, status_error
from mailwire.imap.commands import Idle
from mailwire.imap.connection import Connection, ConnectionClosed
from mailwire.imap.events import Continuation, Response, StatusResponse, Tagged

__all__ = ["IdleEnded", "finish", "start", "wait"]

#: Re-issue IDLE this often (RFC 2177 §3: servers may log out a client idle
#: for 30 minutes; the client should end IDLE and start again within 29).
REFRESH_SECONDS = 29 * 60


@dataclasses.dataclass(frozen=True, slots=True)
class IdleEnded:
    """The server completed IDLE on its own (the tagged response)."""

    tagged: Tagged


def _bye(event: Response) -> None:
    if isinstance(event, StatusResponse) and event.status == "BYE":
        raise ConnectionLost(f"the server ended the session while idling: BYE {event.text}")


def start(conn: Connection, *, limit: int) -> Flow[tuple[str, list[Response]]]:
    """Send IDLE and read to the go-ahead; returns the tag and what came before it.

    Raises:
        IMAPStatusError: the server refused IDLE.
        ConnectionLost: BYE or end of stream.
    """
    tag = conn.send(Idle())
    early: list[Response] = []
    while True:
        event = yield from receive(conn)
        if isinstance(event, ConnectionClosed):
            raise ConnectionLost("the server closed the connection before IDLE started")
        if conn.last_tag == tag:
            if isinstance(event, Continuation):
                return tag, early
            if isinstance(event, Tagged):
                raise status_error(event, "IDLE")
        _bye(event)
        early.append(event)
        if len(early) > limit:
            raise TooManyResponses("too many responses before the IDLE go-ahead", limit=limit)


def wait(conn: Connection, tag: str) -> Flow[Response | IdleEnded | None]:
    """The next event while idling; ``None`` when the wait timed out.

    Raises:
        ConnectionLost: BYE, or the server closed the connection.
    """
    try:
        event = yield from receive(conn)
    except Timeout:
        return None
    if isinstance(event, ConnectionClosed):
        raise ConnectionLost("the server closed the connection while idling")
    if conn.last_tag == tag and isinstance(event, Tagged):
        return IdleEnded(event)
    _bye(event)
    return event


def finish(conn: Connection, tag: str, handler: Handler | None, *, limit: int) -> Flow[Tagged]:
    """Send DONE and read to IDLE's completion; events before it go to ``handler``.

    Raises:
        ConnectionLost: BYE, or the server closed the connection.
    """
    if tag in conn.in_flight:
        conn.done()
    seen = 0
    while True:
        event = yield from receive(conn)
        if isinstance(event, ConnectionClosed):
            raise ConnectionLost("the server closed the connection while ending IDLE")
        if conn.last_tag == tag and isinstance(event, Tagged):
            return event
        _bye(event)
        if handler is not None:
            handler(event)
        seen += 1
        if seen > limit:
            raise TooManyResponses("too many responses after DONE", limit=limit)
