"""A loopback server that answers client lines with canned bytes.

It is the far end for client benchmarks: it does no protocol work, so the
time measured is the client's. Each connection gets the ``greeting``, then the
server reads the client line by line (a line ends with LF; CRLF is kept) and
answers by :class:`Rule`:

- rules mode (``ordered=False``, the default): every line is matched against
  all rules, the first match answers ("on each line matching X, send Y");
- script mode (``ordered=True``): the rules are a script, the i-th client line
  must match the i-th rule; after the last one the server closes.

A rule's ``match`` is either ``bytes`` (the whole line must equal it, line
endings ignored on both sides) or a compiled ``re.Pattern[bytes]`` (matched with
``.match`` at the start of the line, without its line ending). Its ``reply``
is bytes, a sequence of bytes-like chunks (sent one by one without copying:
serve a 200 MiB message as ``[header, body, b".\\r\\n"]``), or a callable
``reply(match) -> bytes | sequence`` given the ``re.Match`` (IMAP tags,
message numbers). After the reply a rule can swallow client data that is not
made of command lines (``read_until``: SMTP DATA content up to
``b"\\r\\n.\\r\\n"``; ``read_count_group``: an IMAP literal or BDAT chunk of the
size named by a regex group) and answer again (``then_reply``).

Lines that match no rule get ``unmatched`` (counted) or, if it is ``None``, an
error is recorded and the connection is closed; benchmarks should check
``stats()["error_count"] == 0`` after a run. Bounded as every
:class:`~benchmarks._loopback.LoopbackService`; ``in_subprocess=True`` moves it
to a child process (rules must then be picklable: bytes, patterns, and
module-level callables such as the helpers below).

Ready-made rule sets: :func:`smtp_sink_rules`, :func:`pop3_mailbox_rules` and
:func:`imap_command` (with :class:`IMAPTagged`).
"""

from __future__ import annotations

import dataclasses
import re
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._loopback import LoopbackService

__all__ = [
    "IMAPTagged",
    "POP3Retrieve",
    "ReplayServer",
    "Rule",
    "imap_command",
    "pop3_mailbox_rules",
    "smtp_sink_rules",
]

Chunks = bytes | Sequence[bytes | bytearray | memoryview]
Reply = bytes | Sequence[bytes | bytearray | memoryview] | Callable[["re.Match[bytes]"], Chunks]

_RECV_SIZE = 256 * 1024
_MAX_LINE = 1024 * 1024  # a client line longer than this is an error, not a buffer leak


@dataclasses.dataclass(frozen=True)
class Rule:
    """When a client line matches ``match``, send ``reply``.

    Attributes:
        match: exact line (``bytes``, line endings ignored) or a compiled
            pattern matched at the start of the line without its ending.
        reply: bytes, a sequence of chunks, or ``reply(match) -> chunks``.
        read_until: after replying, consume client bytes through this
            terminator (``b"\\r\\n.\\r\\n"`` for SMTP DATA; a message with an
            empty body whose terminator follows the DATA line at once is
            recognised too).
        read_count_group: after replying, consume as many bytes as the named
            group of ``match`` says (IMAP ``{n}`` literals, ``BDAT n``).
        then_reply: sent once the consumed data is complete.
        close: close the connection after answering (QUIT, LOGOUT).
    """

    match: bytes | re.Pattern[bytes]
    reply: Reply = b""
    read_until: bytes | None = None
    read_count_group: str | None = None
    then_reply: Reply = b""
    close: bool = False

    def __post_init__(self) -> None:
        if self.read_until is not None and self.read_count_group is not None:
            raise ValueError("a rule reads until a terminator or a count, not both")
        if self.read_count_group is not None and not isinstance(self.match, re.Pattern):
            raise ValueError("read_count_group needs a compiled pattern with that group")

    def matches(self, line: bytes) -> re.Match[bytes] | None:
        bare = line.rstrip(b"\r\n")
        if isinstance(self.match, re.Pattern):
            return self.match.match(bare)
        return re.match(rb"(?s).*", bare) if bare == self.match.rstrip(b"\r\n") else None


class ReplayServer(LoopbackService):
    """Serves canned replies on 127.0.0.1 (see the module docstring).

    Args:
        rules: the rules (or the script, with ``ordered=True``).
        greeting: sent to each client on connect (``b"220 ..."``, ``b"+OK"``,
            ``b"* OK ..."``); ``b""`` for none.
        ordered: script mode.
        unmatched: reply to a line no rule matches; ``None``: record an error
            and close the connection.
        max_seconds, max_connections, in_subprocess: see
            :class:`~benchmarks._loopback.LoopbackService`.

    Use::

        with ReplayServer(smtp_sink_rules(), greeting=b"220 replay ESMTP\\r\\n") as srv:
            smtplib.SMTP(*srv.address).quit()
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        greeting: bytes = b"",
        ordered: bool = False,
        unmatched: bytes | None = None,
        max_seconds: float = 300.0,
        max_connections: int = 1000,
        in_subprocess: bool = False,
    ) -> None:
        super().__init__(
            {
                "rules": list(rules),
                "greeting": greeting,
                "ordered": ordered,
                "unmatched": unmatched,
            },
            max_seconds=max_seconds,
            max_connections=max_connections,
            in_subprocess=in_subprocess,
        )
        self.rules = list(rules)
        self.greeting = greeting
        self.ordered = ordered
        self.unmatched = unmatched
        self.lines = 0
        self.unmatched_lines = 0
        self.bytes_received = 0
        self.bytes_sent = 0

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "unmatched_lines": self.unmatched_lines,
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
        }

    # One thread per connection runs this.
    def _serve(self, conn: socket.socket, deadline: float) -> None:
        conn.settimeout(max(0.01, deadline - time.monotonic()))
        reader = _Reader(conn)
        sent = lines = unmatched = 0
        try:
            if self.greeting:
                sent += _send(conn, self.greeting)
            step = 0
            while not self.stopping:
                line = reader.line()
                if line is None:
                    return
                lines += 1
                if self.ordered:
                    if step >= len(self.rules):
                        self._record_error(f"script over, client sent {_show(line)}")
                        return
                    rule = self.rules[step]
                    step += 1
                    m = rule.matches(line)
                    if m is None:
                        self._record_error(f"script step {step}: unexpected {_show(line)}")
                        return
                else:
                    found = _first_match(self.rules, line)
                    if found is None:
                        if self.unmatched is None:
                            self._record_error(f"no rule for {_show(line)}")
                            return
                        unmatched += 1
                        sent += _send(conn, self.unmatched)
                        continue
                    rule, m = found
                sent += _send(conn, _resolve(rule.reply, m))
                if rule.read_until is not None or rule.read_count_group is not None:
                    if rule.read_until is not None:
                        complete = reader.skip_through(rule.read_until)
                    else:
                        complete = reader.skip_count(int(m[rule.read_count_group or 0]))
                    if not complete:
                        return
                    sent += _send(conn, _resolve(rule.then_reply, m))
                if rule.close or (self.ordered and step >= len(self.rules)):
                    return
        finally:
            with self._lock:
                self.lines += lines
                self.unmatched_lines += unmatched
                self.bytes_sent += sent
                self.bytes_received += reader.received


class _Reader:
    """Line and byte reads over a socket, with one buffer compacted on refill."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buf = bytearray()
        self.pos = 0  # start of the unread bytes in buf
        self.received = 0

    def _fill(self) -> bool:
        """Drop the read bytes, append one recv; False at EOF."""
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        data = self.conn.recv(_RECV_SIZE)
        if not data:
            return False
        self.received += len(data)
        self.buf += data
        return True

    def line(self) -> bytes | None:
        """The next line including its LF, or None at EOF."""
        searched = 0  # unread bytes already searched for LF
        while True:
            i = self.buf.find(b"\n", self.pos + searched)
            if i >= 0:
                line = bytes(self.buf[self.pos : i + 1])
                self.pos = i + 1
                return line
            searched = len(self.buf) - self.pos
            if searched > _MAX_LINE:
                raise ValueError("client line longer than 1 MiB")
            if not self._fill():
                return None

    def skip_through(self, terminator: bytes) -> bool:
        """Consume through ``terminator``; False at EOF. Memory stays bounded."""
        if terminator.startswith(b"\r\n"):
            # The CRLF that ended the command line may be the terminator's start
            # (an empty message: "DATA" CRLF "." CRLF).
            rest = terminator[2:]
            while len(self.buf) - self.pos < len(rest):
                if not self._fill():
                    return False
            if self.buf.startswith(rest, self.pos):
                self.pos += len(rest)
                return True
        while True:
            i = self.buf.find(terminator, self.pos)
            if i >= 0:
                self.pos = i + len(terminator)
                return True
            # Keep only a tail that could begin the terminator.
            self.pos = max(self.pos, len(self.buf) - len(terminator) + 1)
            if not self._fill():
                return False

    def skip_count(self, n: int) -> bool:
        """Consume exactly ``n`` bytes; False at EOF."""
        while len(self.buf) - self.pos < n:
            n -= len(self.buf) - self.pos
            self.pos = len(self.buf)
            if not self._fill():
                return False
        self.pos += n
        return True


def _first_match(rules: Sequence[Rule], line: bytes) -> tuple[Rule, re.Match[bytes]] | None:
    for rule in rules:
        m = rule.matches(line)
        if m is not None:
            return rule, m
    return None


def _resolve(reply: Reply, m: re.Match[bytes]) -> Chunks:
    return reply(m) if callable(reply) else reply


def _send(conn: socket.socket, chunks: Chunks) -> int:
    if isinstance(chunks, bytes | bytearray | memoryview):
        conn.sendall(chunks)
        return len(chunks)
    total = 0
    for chunk in chunks:
        conn.sendall(chunk)
        total += len(chunk)
    return total


def _show(line: bytes) -> str:
    return repr(line[:80]) + ("..." if len(line) > 80 else "")


# ------------------------------------------------------ ready-made rules --


def smtp_sink_rules(
    keywords: Sequence[bytes] = (b"PIPELINING", b"8BITMIME", b"SIZE 52428800"),
    hostname: bytes = b"replay.example",
) -> list[Rule]:
    """An SMTP server that accepts every message (RFC 5321 command set).

    EHLO lists ``keywords``; DATA swallows the content through ``CRLF.CRLF``.
    Use with ``greeting=b"220 replay.example ESMTP\\r\\n"``.
    """
    ehlo = [b"250-" + hostname + b"\r\n"]
    ehlo += [b"250-" + k + b"\r\n" for k in keywords[:-1]]
    ehlo.append(b"250 " + (keywords[-1] if keywords else b"OK") + b"\r\n")
    i = re.IGNORECASE
    return [
        Rule(re.compile(rb"EHLO\b", i), b"".join(ehlo)),
        Rule(re.compile(rb"HELO\b", i), b"250 " + hostname + b"\r\n"),
        Rule(re.compile(rb"MAIL FROM:", i), b"250 2.1.0 OK\r\n"),
        Rule(re.compile(rb"RCPT TO:", i), b"250 2.1.5 OK\r\n"),
        Rule(
            re.compile(rb"DATA$", i),
            b"354 End data with <CR><LF>.<CR><LF>\r\n",
            read_until=b"\r\n.\r\n",
            then_reply=b"250 2.0.0 OK queued\r\n",
        ),
        Rule(re.compile(rb"(RSET|NOOP)\b", i), b"250 2.0.0 OK\r\n"),
        Rule(re.compile(rb"QUIT$", i), b"221 2.0.0 Bye\r\n", close=True),
    ]


def _dot_stuff(message: bytes) -> bytes:
    # RFC 1939 section 3: a line starting with "." gets one more; CRLF "." CRLF ends.
    body = message.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body


class POP3Retrieve:
    """Reply callable for ``RETR n``: the dot-stuffed message n (picklable)."""

    def __init__(self, messages: Sequence[bytes]) -> None:
        self.sizes = [len(m) for m in messages]
        self.stuffed = [_dot_stuff(m) for m in messages]

    def __call__(self, m: re.Match[bytes]) -> Chunks:
        n = int(m["n"])
        if not 1 <= n <= len(self.stuffed):
            return b"-ERR no such message\r\n"
        return [b"+OK %d octets\r\n" % self.sizes[n - 1], self.stuffed[n - 1], b".\r\n"]


def pop3_mailbox_rules(messages: Sequence[bytes]) -> list[Rule]:
    """A POP3 maildrop holding ``messages`` (RFC 1939: USER/PASS, STAT, LIST,
    RETR, DELE, NOOP, RSET, CAPA, QUIT). Use with ``greeting=b"+OK ready\\r\\n"``.
    """
    sizes = [len(m) for m in messages]
    listing = b"".join(b"%d %d\r\n" % (i + 1, s) for i, s in enumerate(sizes))
    i = re.IGNORECASE
    return [
        Rule(re.compile(rb"(USER|PASS|NOOP|RSET|DELE)\b", i), b"+OK\r\n"),
        Rule(re.compile(rb"CAPA$", i), b"+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n"),
        Rule(re.compile(rb"STAT$", i), b"+OK %d %d\r\n" % (len(sizes), sum(sizes))),
        Rule(re.compile(rb"LIST$", i), b"+OK %d messages\r\n" % len(sizes) + listing + b".\r\n"),
        Rule(re.compile(rb"RETR (?P<n>\d+)$", i), POP3Retrieve(messages)),
        Rule(re.compile(rb"QUIT$", i), b"+OK bye\r\n", close=True),
    ]


class IMAPTagged:
    """Reply callable: untagged data, then ``<tag> <status>`` (picklable).

    The rule's pattern must have a group named ``tag``.
    """

    def __init__(self, untagged: Chunks = b"", status: bytes = b"OK completed") -> None:
        self.untagged = [untagged] if isinstance(untagged, bytes) else list(untagged)
        self.status = status

    def __call__(self, m: re.Match[bytes]) -> Chunks:
        return [*self.untagged, m["tag"] + b" " + self.status + b"\r\n"]


def imap_command(
    command: bytes,
    untagged: Chunks = b"",
    status: bytes = b"OK completed",
    *,
    close: bool = False,
) -> Rule:
    """A rule answering IMAP ``<tag> [UID] COMMAND ...`` with ``untagged``
    then the tagged ``status`` (RFC 9051 section 2.2.2)."""
    pattern = re.compile(rb"(?P<tag>[^ \r\n]+) (?:UID )?" + re.escape(command) + rb"\b", re.I)
    return Rule(pattern, IMAPTagged(untagged, status), close=close)
