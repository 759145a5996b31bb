"""Splitting a server's byte stream into lines: mailwire's buffer vs the stdlib.

Input: 20,000 CRLF-terminated lines (2,000 in quick mode) shaped like what an
IMAP or POP3 server sends: message body text (60-76 characters), header
lines, blank lines, 76-column base64, short status lines, and a few long
FETCH lines with ENVELOPE/BODYSTRUCTURE (200-2,000 characters). The bytes
are printable ASCII, so every implementation must find exactly the same
lines (the check compares each result with the input's lines).

Implementations:

- ``makefile.readline`` (baseline): what imaplib and poplib do, a
  ``socket.makefile("rb").readline()`` loop on a socket;
- ``BytesIO.readline``: the same loop over the bytes in memory;
- ``ReceiveBuffer``: mailwire's buffer fed the 64 KiB chunks from memory,
  ``read_line()`` until ``None`` after each feed;
- ``ReceiveBuffer.read_lines``: the batch form, every complete line of a chunk
  in one call.
- ``ReceiveBuffer+socket``: the same fed by ``recv(65536)`` on a socket, the
  like-for-like comparison with the baseline;
- ``floor:splitlines``: ``bytes.splitlines(keepends=True)`` on the whole
  input, what C does without any buffering (the limit, not a client).

The socket rows read from a :class:`~benchmarks.replay_server.ReplayServer` in
a child process that sends the stream in 64 KiB ``sendall`` calls over
loopback TCP, as a real server would. They time from the request to EOF; the
TCP connect comes before the timer. (A socketpair fed by a thread of this
process was tried first: the sender thread waiting for the GIL behind the
CPU-bound reader made both socket rows 15-35 % slower and moved their ratio,
which would measure the GIL, not the splitting.)
"""

from __future__ import annotations

import dataclasses
import io
import random
import socket
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import CheckFailed, Measurement, Options, Unavailable, Workload
from benchmarks.replay_server import ReplayServer, Rule

CHUNK = 64 * 1024
LINES = 20_000
QUICK_LINES = 2_000
IMAPLIB_MAXLINE = 1_000_000  # imaplib._MAXLINE: it calls readline(_MAXLINE + 1)

# (weight, shortest, longest) line lengths without the CRLF.
_SHAPES = (
    (50, 60, 76),  # body text
    (15, 20, 120),  # header fields
    (10, 0, 0),  # blank lines
    (8, 76, 76),  # base64
    (12, 1, 30),  # status lines, short text
    (5, 200, 2000),  # FETCH (... ENVELOPE (...) BODYSTRUCTURE (...))
)
# Printable ASCII only: no CR, LF or other byte that splitlines() treats as a break.
_ALPHABET = bytes(range(0x20, 0x7F))


@dataclasses.dataclass
class Stream:
    """The fixture: the server's bytes, as 64 KiB chunks, and its lines;
    ``server`` sends the chunks to whoever connects and sends ``SEND``."""

    data: bytes
    chunks: list[bytes]
    expected: list[bytes]
    server: ReplayServer | None = None


def make_stream(lines: int, seed: int = 1939) -> Stream:
    """``lines`` deterministic CRLF lines (seeded; the same bytes every run)."""
    rnd = random.Random(seed)
    weights = [w for w, _, _ in _SHAPES]
    table = bytes(_ALPHABET[i % len(_ALPHABET)] for i in range(256))
    out = []
    for lo, hi in (s[1:] for s in rnd.choices(_SHAPES, weights, k=lines)):
        out.append(rnd.randbytes(rnd.randint(lo, hi)).translate(table) + b"\r\n")
    data = b"".join(out)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    return Stream(data, chunks, out)


def _setup(options: Options) -> Stream:
    stream = make_stream(QUICK_LINES if options.quick else LINES)
    stream.server = ReplayServer(
        [Rule(b"SEND", stream.chunks, close=True)], in_subprocess=True, max_seconds=3600
    )
    stream.server.start()
    return stream


def _teardown(stream: Stream) -> None:
    if stream.server is not None:
        stream.server.stop()


def _check(stream: Stream, result: Any) -> None:
    if not isinstance(result, list):
        raise CheckFailed(f"expected a list of lines, got {type(result).__name__}")
    if len(result) != len(stream.expected):
        raise CheckFailed(f"{len(result)} lines instead of {len(stream.expected)}")
    for i, (got, want) in enumerate(zip(result, stream.expected, strict=True)):
        if got != want:
            raise CheckFailed(f"line {i} is {got[:40]!r}..., expected {want[:40]!r}...")


def _describe(stream: Stream) -> str:
    longest = max(len(line) for line in stream.expected)
    return (
        f"{len(stream.expected):,} lines, {len(stream.data) / 1e6:.2f} MB, "
        f"{len(stream.chunks)} chunks of 64 KiB, longest line {longest:,} bytes"
    )


# ---------------------------------------------------------- stdlib ways --


def _request(stream: Stream) -> tuple[socket.socket, int]:
    """A connection to the stream's server; the clock starts as the request
    leaves, so the TCP handshake is not counted."""
    if stream.server is None:
        raise Unavailable("no stream server (setup did not run)")
    sock = socket.create_connection(stream.server.address, timeout=30)
    t0 = time.perf_counter_ns()
    sock.sendall(b"SEND\r\n")
    return sock, t0


def makefile_readline(stream: Stream) -> Measurement:
    sock, t0 = _request(stream)
    with sock, sock.makefile("rb") as f:
        lines = []
        while line := f.readline(IMAPLIB_MAXLINE + 1):
            lines.append(line)
        elapsed = time.perf_counter_ns() - t0
    return Measurement(elapsed, lines)


def bytesio_readline(stream: Stream) -> list[bytes]:
    f = io.BytesIO(stream.data)
    lines = []
    while line := f.readline():
        lines.append(line)
    return lines


def floor_splitlines(stream: Stream) -> list[bytes]:
    return stream.data.splitlines(keepends=True)


# --------------------------------------------------------- mailwire way --


def _mailwire_buffer() -> type[Any]:
    try:
        from mailwire._buffer import ReceiveBuffer
    except ImportError as exc:
        raise Unavailable(f"mailwire._buffer.ReceiveBuffer: {exc}") from None
    return ReceiveBuffer


def receive_buffer(buffer_cls: type[Any] | None = None) -> Callable[[Stream], list[bytes]]:
    """The in-memory ReceiveBuffer implementation (``buffer_cls`` for stand-ins)."""

    def split(stream: Stream) -> list[bytes]:
        buf = (buffer_cls or _mailwire_buffer())()
        lines = []
        for chunk in stream.chunks:
            buf.feed(chunk)
            while (line := buf.read_line()) is not None:
                lines.append(line)
        return lines

    return split


def receive_buffer_batch(stream: Stream) -> list[bytes]:
    """ReceiveBuffer.read_lines: every complete line of a chunk in one call."""
    buf = _mailwire_buffer()()
    lines: list[bytes] = []
    for chunk in stream.chunks:
        buf.feed(chunk)
        lines.extend(buf.read_lines())
    return lines


def receive_buffer_socket(buffer_cls: type[Any] | None = None) -> Callable[[Stream], Measurement]:
    """ReceiveBuffer on a socket, like-for-like with the baseline."""

    def split(stream: Stream) -> Measurement:
        buf = (buffer_cls or _mailwire_buffer())()
        sock, t0 = _request(stream)
        with sock:
            lines = []
            while data := sock.recv(CHUNK):
                buf.feed(data)
                while (line := buf.read_line()) is not None:
                    lines.append(line)
            elapsed = time.perf_counter_ns() - t0
        return Measurement(elapsed, lines)

    return split


def make_workload(buffer_cls: type[Any] | None = None) -> Workload:
    """The workload, with mailwire's ReceiveBuffer or a given class."""
    return Workload(
        name="line_split",
        description="split a 64 KiB-chunked IMAP/POP3-shaped stream into CRLF lines",
        implementations={
            "makefile.readline": makefile_readline,
            "BytesIO.readline": bytesio_readline,
            "ReceiveBuffer": receive_buffer(buffer_cls),
            "ReceiveBuffer+socket": receive_buffer_socket(buffer_cls),
            "ReceiveBuffer.read_lines": receive_buffer_batch,
            "floor:splitlines": floor_splitlines,
        },
        baseline="makefile.readline",
        setup=_setup,
        teardown=_teardown,
        check=_check,
        describe=_describe,
        work_bytes=lambda stream: len(stream.data),
        rounds=9,
    )


WORKLOAD = make_workload()
