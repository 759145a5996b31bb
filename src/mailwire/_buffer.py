"""The bounded receive buffer every protocol reader works over.

Bytes from the network are appended with :meth:`ReceiveBuffer.feed`; readers
take them out again as whole lines (:meth:`read_line`) or as exact counts
(:meth:`read_exact`, :meth:`read_upto` for streaming literals). Nothing here
blocks or reads a socket: when the bytes are not there yet a reader gets
``None`` and the driver is asked for more.

Two properties matter for hostile servers:

- *Bounded.* A line may not grow past ``Limits.max_line_length`` bytes: once
  that many bytes are buffered with no LF among them, :class:`LineTooLong` is
  raised and the buffer dropped (security.md S22). :meth:`wanted` tells the
  driver how much to read next so that, while a line is awaited, the buffer
  never takes more than one byte beyond the limit.
- *Linear.* The search for LF resumes where the previous search stopped, so a
  line that arrives one byte at a time costs O(n), not O(n^2) (the rescanning
  bug lettre fixed in its PR 1143).

Lines are split at LF and handed out *with* their terminator, CRLF or bare LF,
so that the protocol layer decides what a bare LF means (RFC 5321 §2.3.8 says
CRLF only; servers in the wild sometimes differ) and a dot-unstuffed message
can be given back byte for byte.
"""

from __future__ import annotations

from mailwire.errors import LineTooLong
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["ReceiveBuffer", "strip_eol"]


class ReceiveBuffer:
    """Bytes received but not yet consumed by a reader.

    Args:
        limits: the bounds; ``limits.max_line_length`` caps a line and
            ``limits.chunk_size`` caps what :meth:`wanted` asks for.
        max_line_length: overrides ``limits.max_line_length`` (SMTP uses the
            shorter ``max_reply_line_length``).
    """

    __slots__ = ("_chunk", "_data", "_eof", "_exact", "_max_line", "_scan", "_wanted")

    def __init__(
        self, limits: Limits = DEFAULT_LIMITS, *, max_line_length: int | None = None
    ) -> None:
        self._data = bytearray()
        # Bytes [0, _scan) are known to hold no LF: the next search starts here.
        self._scan = 0
        self._eof = False
        self._max_line = max_line_length if max_line_length is not None else limits.max_line_length
        if self._max_line <= 0:
            raise ValueError("max_line_length must be positive")
        self._chunk = limits.chunk_size
        # How many more bytes the last unsatisfied reader needs (None: any).
        self._wanted: int | None = None
        # Whether that reader wants an exact count (a literal whose size was
        # already checked against the limits), not a line.
        self._exact = False

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __repr__(self) -> str:
        return f"<ReceiveBuffer {len(self._data)} bytes{' eof' if self._eof else ''}>"

    @property
    def eof(self) -> bool:
        """Whether the peer has closed its side (``feed(b"")`` was called)."""
        return self._eof

    @property
    def max_line_length(self) -> int:
        """The line bound in force."""
        return self._max_line

    def feed(self, data: bytes) -> None:
        """Append received bytes; ``b""`` marks the end of the stream.

        Raises:
            ValueError: data fed after the end of the stream.
        """
        if not data:
            self._eof = True
            return
        if self._eof:
            raise ValueError("data fed after end of stream")
        self._data += data

    def wanted(self) -> int:
        """How many bytes the driver should read next.

        While a line is awaited this is at most one byte past the line limit,
        so a line that never ends is detected having buffered no more than
        ``max_line_length + 1`` bytes; otherwise one chunk.
        """
        if self._wanted is None:
            return self._chunk
        if self._exact:
            # A declared size that passed its limit check: read it in large
            # pieces (fewer system calls), still never past what is owed.
            return max(1, min(max(self._chunk, _BIG_READ), self._wanted))
        return max(1, min(self._chunk, self._wanted))

    def read_line(self) -> bytes | None:
        """Take one line, terminator (LF or CRLF) included.

        Returns:
            The line, or ``None`` when no whole line is buffered yet (also at
            end of stream with a partial line left: check :attr:`eof`).

        Raises:
            LineTooLong: the line is, or will be, longer than the limit. The
                buffer is emptied.
        """
        data = self._data
        end = data.find(b"\n", self._scan, self._max_line)
        if end < 0:
            if len(data) >= self._max_line:
                self._overflow()
            self._scan = len(data)
            self._wanted = self._max_line + 1 - len(data)
            self._exact = False
            return None
        line = bytes(data[: end + 1])
        del data[: end + 1]
        self._scan = 0
        self._wanted = None
        return line

    def read_lines(self) -> list[bytes]:
        """Take every complete line buffered, terminators included.

        The batch form of :meth:`read_line` for hot loops (a POP3 listing, an
        IMAP FETCH stream): one C-level split instead of one call per line.
        The same bound applies to every line.

        Returns:
            The lines, possibly none; a partial last line stays buffered.

        Raises:
            LineTooLong: a line is, or will be, longer than the limit.
        """
        data = self._data
        last = data.rfind(b"\n")
        if last < 0:
            # No LF at all: read_line finds none either, but applies the bound
            # and records how much more is wanted.
            self.read_line()
            return []
        block = bytes(data[: last + 1])
        del data[: last + 1]
        self._scan = 0
        self._wanted = None
        parts = block.split(b"\n")
        parts.pop()  # after the final LF
        if max(map(len, parts)) + 1 > self._max_line:
            self._data[:0] = block  # keep the bytes where they were, then refuse
            self._overflow()
        tail = self._data
        if len(tail) >= self._max_line and tail.find(b"\n", 0, self._max_line) < 0:
            self._overflow()
        return [part + b"\n" for part in parts]

    def read_exact(self, n: int) -> bytes | None:
        """Take exactly ``n`` bytes, or ``None`` if fewer are buffered.

        The caller checks ``n`` against its limit before calling: this method
        never allocates more than what is already buffered.
        """
        if n < 0:
            raise ValueError("negative byte count")
        data = self._data
        if len(data) < n:
            self._wanted = n - len(data)
            self._exact = True
            return None
        chunk = _take(data, n)
        self._scan = 0
        self._wanted = None
        self._exact = False
        return chunk

    def read_upto(self, n: int) -> bytes:
        """Take at most ``n`` of the buffered bytes (possibly ``b""``).

        For streaming a literal or message to a sink as it arrives.
        """
        if n < 0:
            raise ValueError("negative byte count")
        data = self._data
        take = min(n, len(data))
        chunk = _take(data, take)
        self._scan = 0
        self._wanted = (n - take) or None
        self._exact = self._wanted is not None
        return chunk

    def read_all(self) -> bytes:
        """Take everything buffered."""
        chunk = bytes(self._data)
        self._data.clear()
        self._scan = 0
        self._wanted = None
        return chunk

    def _overflow(self) -> None:
        limit = self._max_line
        head = bytes(self._data[:40])
        self._data.clear()
        self._scan = 0
        raise LineTooLong(
            f"line longer than {limit} bytes without LF (starts {head!r})", limit=limit
        )


#: The largest read asked for while an already size-checked literal is owed.
_BIG_READ = 1024 * 1024


def _take(data: bytearray, n: int) -> bytes:
    """The first ``n`` bytes of ``data`` as bytes, removed from it; one copy."""
    if n == len(data):
        chunk = bytes(data)
        data.clear()
        return chunk
    with memoryview(data) as view:
        chunk = bytes(view[:n])
    del data[:n]
    return chunk


def strip_eol(line: bytes) -> bytes:
    """``line`` without its trailing CRLF or LF."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        return line[:-1]
    return line
