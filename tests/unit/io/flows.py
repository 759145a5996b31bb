"""Small flows of the tests' own, in the shape the protocol flows will have."""

from __future__ import annotations

from mailwire._buffer import ReceiveBuffer
from mailwire._flow import Close, Flow, Receive, Send, StartTLS
from mailwire.errors import CommandError, ConnectionLost, OutcomeUnknown


def read_line(buf: ReceiveBuffer) -> Flow[bytes]:
    while (line := buf.read_line()) is None:
        data = yield Receive(buf.wanted())
        if not data:
            raise ConnectionLost("server closed the connection mid-reply")
        buf.feed(data)
    return line


def exchange(buf: ReceiveBuffer, *commands: bytes, replies: int = 1) -> Flow[list[bytes]]:
    for command in commands:
        yield Send(command)
    out = []
    for _ in range(replies):
        out.append((yield from read_line(buf)))
    return out


def login(buf: ReceiveBuffer, user: bytes, password: bytes) -> Flow[bytes]:
    """A LOGIN-like command whose password is marked secret at the source."""
    data = b"LOGIN " + user + b" " + password + b"\r\n"
    start = len(b"LOGIN ") + len(user) + 1
    yield Send(data, secrets=((start, start + len(password)),))
    return (yield from read_line(buf))


def starttls(buf: ReceiveBuffer, server_hostname: str | None = None) -> Flow[list[bytes]]:
    """STARTTLS, refusing data injected before the handshake, then a greeting."""
    yield Send(b"STARTTLS\r\n")
    reply = yield from read_line(buf)
    if not reply.startswith(b"220"):
        raise CommandError(reply.decode())
    if buf:
        raise ConnectionLost("injected data")  # the real cores raise RemoteProtocolError
    yield StartTLS(server_hostname)
    return [reply, *(yield from exchange(buf, b"HELLO\r\n"))]


def send_then_outcome(buf: ReceiveBuffer) -> Flow[bytes]:
    """Like the end of SMTP DATA: a loss after sending becomes OutcomeUnknown."""
    yield Send(b"DATA-END\r\n")
    try:
        return (yield from read_line(buf))
    except ConnectionLost as exc:
        raise OutcomeUnknown("lost before the reply", recipients=["a@b.example"]) from exc


def refused(buf: ReceiveBuffer) -> Flow[None]:
    reply = (yield from exchange(buf, b"BAD\r\n"))[0]
    raise CommandError(reply.decode().strip())


def quit_flow(buf: ReceiveBuffer) -> Flow[bytes]:
    reply = (yield from exchange(buf, b"QUIT\r\n"))[0]
    yield Close()
    return reply
