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

Large literals cost one copy at most (the IMAP bulk FETCH, issue 6):

- *In place.* ``read_exact(n, allocate=True)``, for a size that already
  passed its limit check, sets ``n`` octets aside at once (an
  :class:`io.BytesIO` over a fresh ``bytes(n)``, whose ``getvalue()`` then
  hands out that very buffer as ``bytes``); :meth:`receive_view` offers the
  missing part of it so the driver can ``recv_into`` it, and :meth:`filled`
  records the count. Nothing here zero-fills the place first (``bytes(n)``
  is calloc'd: fresh memory is not written until the read fills it).
- *As received.* While :meth:`read_upto` streams a literal to a sink, a chunk
  that arrives whole is handed on as the same object, and reads straight
  from the socket go into one reused scratch buffer, cut into chunks
  (copied out as ``bytes``), or handed out whole as a view of it by
  :meth:`read_view` for a sink that copies before the next read.

Lines are split at LF and handed out *with* their terminator, CRLF or bare LF,
so that the protocol layer decides what a bare LF means (RFC 5321 §2.3.8 says
CRLF only; servers in the wild sometimes differ) and a dot-unstuffed message
can be given back byte for byte.
"""

from __future__ import annotations

import io

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

    __slots__ = (
        "_chunk",
        "_data",
        "_direct",
        "_eof",
        "_exact",
        "_filled",
        "_max_line",
        "_scan",
        "_scratch",
        "_streaming",
        "_target",
        "_target_size",
        "_wanted",
    )

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
        # Whether that reader streams (read_upto): reads stay one chunk long,
        # so that each chunk received can be handed on whole.
        self._streaming = False
        # One received chunk kept as it came, while an exact or streaming
        # reader waits and nothing else is buffered: handed out whole, with
        # no copy (bytes), or in chunks (a view of _scratch, where the driver
        # read it). Only ever set while _data is empty.
        self._direct: bytes | memoryview = b""
        # Reused for the reads of a streamed literal (see receive_view).
        self._scratch: bytearray | None = None
        # A literal being filled in place (read_exact(..., allocate=True)):
        # _filled of its _target_size octets have arrived.
        self._target: io.BytesIO | None = None
        self._target_size = 0
        self._filled = 0

    def __len__(self) -> int:
        return len(self._data) + len(self._direct)

    def __bool__(self) -> bool:
        return bool(self._data) or bool(self._direct)

    def __repr__(self) -> str:
        return f"<ReceiveBuffer {len(self)} bytes{' eof' if self._eof else ''}>"

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
        if self._target is not None:
            data = self._fill_target(data)
            if not data:
                return
        if self._direct:
            self._settle()
        elif self._exact and not self._data and len(data) <= (self._wanted or 0):
            # Everything of it belongs to the literal being read: keep the
            # object itself, the reader takes it whole.
            self._direct = data
            return
        self._data += data

    def _settle(self) -> None:
        """Move a chunk kept whole into the main buffer (before any other read)."""
        if self._direct:
            self._data += self._direct
            self._direct = b""

    # ------------------------------------------------- literals filled in place

    def _fill_target(self, data: bytes) -> bytes:
        """Copy what ``data`` has for the literal being filled; return the rest."""
        target = self._target
        assert target is not None
        room = self._target_size - self._filled
        if room <= 0:
            return data
        if len(data) <= room:
            target.seek(self._filled)
            target.write(data)
            self._filled += len(data)
            self._wanted = (room - len(data)) or None
            return b""
        with memoryview(data) as view:
            target.seek(self._filled)
            target.write(view[:room])
            rest = bytes(view[room:])
        self._filled += room
        self._wanted = None
        return rest

    def receive_view(self) -> memoryview | None:
        """Where the driver may read the next bytes straight into, or ``None``.

        Offered while a literal is owed and nothing is buffered: for a literal
        filled in place (see :meth:`read_exact`), a view of its next missing
        octets; for one streamed with :meth:`read_upto`, a view of a scratch
        buffer reused from read to read. Either is at most one large read
        long and never longer than what is owed. The driver reads into it
        (``socket.recv_into``), calls :meth:`filled` with the count and
        releases the view before anything else is done with the buffer.
        """
        if self._target is not None:
            room = self._target_size - self._filled
            if room <= 0:
                return None
            start = self._filled
            with self._target.getbuffer() as whole:
                return whole[start : start + min(room, _BIG_READ)]
        if not self._streaming or self._data or self._direct or not self._wanted:
            return None
        if self._scratch is None:
            self._scratch = bytearray(_SCRATCH)
        return memoryview(self._scratch)[: min(self._wanted, _SCRATCH)]

    def filled(self, n: int) -> None:
        """Record that ``n`` octets were read into the view of :meth:`receive_view`.

        Raises:
            ValueError: more octets than the literal still owes.
        """
        if self._target is not None:
            room = self._target_size - self._filled
            if not 0 <= n <= room:
                raise ValueError(f"{n} octets filled with {room} owed")
            self._filled += n
            self._wanted = (room - n) or None
            return
        owed = self._wanted or 0
        if self._scratch is None or self._data or self._direct or not 0 <= n <= owed:
            raise ValueError(f"{n} octets filled with {owed} owed")
        if n:
            self._direct = memoryview(self._scratch)[:n]

    def wanted(self) -> int:
        """How many bytes the driver should read next.

        While a line is awaited this is at most one byte past the line limit,
        so a line that never ends is detected having buffered no more than
        ``max_line_length + 1`` bytes; otherwise one chunk.
        """
        if self._wanted is None:
            return self._chunk
        if self._streaming:
            # A literal streamed to a sink: one chunk per read, which the
            # sink then gets as it came.
            return max(1, min(self._chunk, self._wanted))
        if self._exact or self._target is not None:
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
        if self._direct:
            self._settle()
        data = self._data
        end = data.find(b"\n", self._scan, self._max_line)
        if end < 0:
            if len(data) >= self._max_line:
                self._overflow()
            self._scan = len(data)
            self._wanted = self._max_line + 1 - len(data)
            self._exact = self._streaming = False
            return None
        line = bytes(data[: end + 1])
        del data[: end + 1]
        self._owe(0)
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
        if self._direct:
            self._settle()
        data = self._data
        last = data.rfind(b"\n")
        if last < 0:
            # No LF at all: read_line finds none either, but applies the bound
            # and records how much more is wanted.
            self.read_line()
            return []
        block = bytes(data[: last + 1])
        del data[: last + 1]
        self._owe(0)
        parts = block.split(b"\n")
        parts.pop()  # after the final LF
        if max(map(len, parts)) + 1 > self._max_line:
            self._data[:0] = block  # keep the bytes where they were, then refuse
            self._overflow()
        tail = self._data
        if len(tail) >= self._max_line and tail.find(b"\n", 0, self._max_line) < 0:
            self._overflow()
        return [part + b"\n" for part in parts]

    def read_exact(self, n: int, *, allocate: bool = False) -> bytes | None:
        """Take exactly ``n`` bytes, or ``None`` if fewer are buffered.

        Args:
            n: the count. The caller checks it against its limit first.
            allocate: ``n`` passed that check, so the buffer may set aside
                ``n`` octets now and fill them in place as they arrive (by
                :meth:`feed`, or by the driver through :meth:`receive_view`):
                a large literal is then copied at most once, and the
                ``bytes`` returned is that same buffer. Without it, this
                method never allocates more than what is already buffered
                (security.md S24). Until the literal is complete, call again
                with the same ``n``.
        """
        if n < 0:
            raise ValueError("negative byte count")
        if self._target is not None:
            return self._finish_target(n)
        direct = self._direct
        if direct:
            if len(direct) == n:
                self._direct = b""
                self._owe(0)
                return direct if isinstance(direct, bytes) else bytes(direct)
            self._settle()
        data = self._data
        if len(data) < n:
            if allocate and n - len(data) >= _IN_PLACE_MIN:
                self._start_target(n)
                return None
            self._owe(n - len(data))
            return None
        chunk = _take(data, n)
        self._owe(0)
        return chunk

    def _start_target(self, n: int) -> None:
        # Sized once, and not written here: bytes(n) comes from calloc,
        # which writes nothing to fresh memory from the kernel (zeroed pages
        # on first touch) and clears only memory it reuses, so the octets
        # are mostly first touched by the read that fills them. The
        # BytesIO holds the only reference, so getbuffer() lends that very
        # block without a copy (a BytesIO copies a buffer someone else also
        # holds before writing to it, so no bytes object anyone sees is
        # ever changed), and getvalue() later hands it out as the bytes
        # object. Seeking to n - 1 and writing
        # there would instead zero all n octets first: one more pass over
        # fresh memory, most of the cost of a large literal (issue 6).
        target = io.BytesIO(bytes(n))
        data = self._data
        target.seek(0)
        target.write(data)
        self._filled = len(data)
        data.clear()
        self._target = target
        self._target_size = n
        self._owe(n - self._filled)

    def _finish_target(self, n: int) -> bytes | None:
        if n != self._target_size:
            raise ValueError(f"{self._target_size} octets are being read, not {n}")
        if self._filled < n:
            self._owe(n - self._filled)
            return None
        target, self._target = self._target, None
        assert target is not None
        self._target_size = self._filled = 0
        self._owe(0)
        return target.getvalue()

    def read_upto(self, n: int) -> bytes:
        """Take at most one chunk of the buffered bytes, and at most ``n`` (possibly ``b""``).

        For streaming a literal or message of ``n`` more octets to a sink as
        it arrives, one chunk (``Limits.chunk_size``) at a time. A chunk
        received while this reader waited is handed out as it came, with no
        copy.
        """
        if n < 0:
            raise ValueError("negative byte count")
        limit = min(n, self._chunk)
        direct = self._direct
        if direct:
            if isinstance(direct, memoryview):
                chunk = bytes(direct[:limit])
                self._direct = direct[limit:] if len(direct) > limit else b""
                self._owe(n - len(chunk), streaming=True)
                return chunk
            if len(direct) <= limit:
                self._direct = b""
                self._owe(n - len(direct), streaming=True)
                return direct
            self._settle()
        data = self._data
        take = min(limit, len(data))
        chunk = _take(data, take)
        self._owe(n - take, streaming=True)
        return chunk

    def read_view(self, n: int) -> bytes | memoryview:
        """Like :meth:`read_upto`, for a sink that takes views: larger pieces, no copy.

        When the driver read straight into the scratch buffer (see
        :meth:`receive_view`), the whole of that read, up to ``n``, is handed
        out as a view of the scratch buffer. It is valid only until the
        buffer is used again: the next read overwrites it. Otherwise this is
        :meth:`read_upto` (bytes, at most one chunk).
        """
        direct = self._direct
        if isinstance(direct, memoryview) and n > 0:
            if len(direct) <= n:
                self._direct = b""
                self._owe(n - len(direct), streaming=True)
                return direct
            self._direct = direct[n:]
            self._owe(0)
            return direct[:n]
        return self.read_upto(n)

    def _owe(self, n: int, *, streaming: bool = False) -> None:
        """A reader still needs ``n`` octets (0: satisfied)."""
        self._scan = 0
        self._wanted = n or None
        self._exact = bool(n)
        self._streaming = streaming and bool(n)

    def read_all(self) -> bytes:
        """Take everything buffered (a literal being filled in place is dropped)."""
        self._settle()
        self._target = None
        self._target_size = self._filled = 0
        chunk = bytes(self._data)
        self._data.clear()
        self._owe(0)
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
#: The scratch buffer a streamed literal is read into, reused from read to
#: read: small enough to stay in the CPU's cache between the read and the
#: sink's use of it.
_SCRATCH = 256 * 1024
#: Literals at least this much short are filled in place when allowed.
_IN_PLACE_MIN = 32 * 1024


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
