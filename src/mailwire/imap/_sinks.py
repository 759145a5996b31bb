"""Streaming FETCH bodies to the caller's sinks (ARCHITECTURE.md "IMAP bodies to sinks").

The caller gives ``factory(uid, section)``; each body literal of a FETCH
answer is written to the sink it returns, chunk by chunk as it arrives, and
the sink is closed when the literal is complete. The response framer asks
for a sink with the response text before the literal (``* 3 FETCH (UID 7
BODY[] {1234}``): :class:`SinkRouter` reads the UID and the section from it.
A server that puts UID *after* the body (the RFC allows any order) gets a
spooled temporary file, handed to the caller's sink once the response is
complete and its UID known.

When a transfer fails (the connection is cut inside a literal), the sink is
*not* closed as if complete: a sink with ``abort(exc)`` is told, and
:class:`FileSink` uses that to remove its partial file, so nothing is left
looking whole (issue 7).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import IO, Any, Protocol

from mailwire.imap._frames import LiteralSink

__all__ = ["FileSink", "Progress", "SinkRouter", "file_sinks"]

#: ``progress(uid, section, done, total)`` after every chunk.
Progress = Callable[[int, str, int, int], Any]

# The body item right before the literal: BODY[...]<n>, BINARY[...]<n>, RFC822...
_ITEM = re.compile(
    rb"((?:BODY|BINARY)\[[^\]]*\](?:<\d+>)?|RFC822(?:\.HEADER|\.TEXT)?) ?\Z", re.IGNORECASE
)
_FIRST_UID = re.compile(rb"\* (\d+) FETCH \(UID (\d+) ", re.IGNORECASE)
_SEQ = re.compile(rb"\* (\d+) FETCH \(", re.IGNORECASE)
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')
_ANY_UID = re.compile(rb"[ (]UID (\d+) ", re.IGNORECASE)


class Writable(Protocol):
    """What a sink must offer: ``write(bytes)``; ``close()`` and ``abort(exc)`` are optional.

    A sink may also set the class attribute ``accepts_views = True``: it is
    then given memoryviews of the receive buffer instead of ``bytes``, in
    pieces as large as one read, each valid only during the ``write`` call
    (the memory is reused by the next read), so it must copy or write out
    what it wants to keep before returning. That saves one copy per chunk;
    :class:`FileSink` does it. Other sinks get ``bytes`` of at most
    ``Limits.chunk_size`` octets, which they may keep.
    """

    def write(self, data: bytes, /) -> object: ...


SinkFactory = Callable[[int, str], Writable]


class _Guard:
    """The sink the framer writes to: counts, reports progress, closes when whole."""

    __slots__ = ("accepts_views", "closed", "done", "key", "router", "section", "sink", "size")

    def __init__(self, router: SinkRouter, sink: Any, key: int, section: str, size: int) -> None:
        self.router = router
        self.sink = sink
        # Passed through: views only to a sink that asked for them.
        self.accepts_views = getattr(sink, "accepts_views", False) is True
        self.key = key
        self.section = section
        self.size = size
        self.done = 0
        self.closed = False

    def write(self, data: bytes, /) -> None:
        self.sink.write(data)
        self.done += len(data)
        progress = self.router.progress
        if progress is not None:
            progress(self.key, self.section, self.done, self.size)

    def close(self) -> None:
        self.closed = True
        self.router.open.remove(self)
        close = getattr(self.sink, "close", None)
        if callable(close):
            close()

    def abort(self, exc: BaseException) -> None:
        abort = getattr(self.sink, "abort", None)
        if callable(abort):
            abort(exc)


class _Spool:
    """A literal whose UID was not known yet: kept in a spooled temporary file."""

    __slots__ = ("file", "section", "seq", "size")

    def __init__(self, seq: int, section: str, size: int, chunk: int) -> None:
        self.seq = seq
        self.section = section
        self.size = size
        import tempfile  # only for a server that sends UID after the body

        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=chunk)  # noqa: SIM115

    def write(self, data: bytes, /) -> None:
        self.file.write(data)

    def close(self) -> None:
        self.file.seek(0)


class SinkRouter:
    """Decides, for each literal the framer announces, where it goes.

    Args:
        factory: the caller's ``factory(uid, section)``.
        progress: optional ``progress(uid, section, done, total)``.
        uid: keys are UIDs (a UID FETCH); otherwise message numbers.
        chunk: chunk size for copying spooled literals.
    """

    def __init__(
        self, factory: SinkFactory, progress: Progress | None, *, uid: bool, chunk: int
    ) -> None:
        self.factory = factory
        self.progress = progress
        self.uid = uid
        self.chunk = chunk
        self.open: list[_Guard] = []
        self.spooled: list[_Spool] = []

    def __call__(self, prefix: bytes, size: int) -> LiteralSink | None:
        """The framer's ``sink_factory(prefix, size)``: a sink, or ``None`` to hold it."""
        item = _ITEM.search(prefix)
        seq = _SEQ.match(prefix)
        if item is None or seq is None:
            return None  # not a body section (an ENVELOPE string, say)
        section = _section_name(item[1])
        if not self.uid:
            return self._guard(int(seq[1]), section, size)
        first = _FIRST_UID.match(prefix)
        if first is not None:
            return self._guard(int(first[2]), section, size)
        found = _ANY_UID.search(_QUOTED.sub(b'""', prefix))
        if found is not None:
            return self._guard(int(found[1]), section, size)
        spool = _Spool(int(seq[1]), section, size, self.chunk)
        self.spooled.append(spool)
        return spool

    def _guard(self, key: int, section: str, size: int) -> _Guard:
        guard = _Guard(self, self.factory(key, section), key, section, size)
        self.open.append(guard)
        return guard

    def settle(self, seq: int, uid: int | None) -> None:
        """Hand the spooled literals of message ``seq`` to the caller, now its UID is known.

        Raises:
            RemoteProtocolError: the response had no UID (RFC 9051 §6.4.9 requires it).
        """
        from mailwire.errors import RemoteProtocolError

        mine = [s for s in self.spooled if s.seq == seq]
        if not mine:
            return
        if uid is None:
            raise RemoteProtocolError(f"UID FETCH answer for message {seq} carries no UID")
        for spool in mine:
            self.spooled.remove(spool)
            guard = self._guard(uid, spool.section, spool.size)
            while data := spool.file.read(self.chunk):
                guard.write(data)
            spool.file.close()
            guard.close()

    def abort(self, exc: BaseException) -> None:
        """The transfer failed: tell every sink still open (never close it as whole)."""
        for guard in list(self.open):
            guard.abort(exc)
        self.open.clear()
        for spool in self.spooled:
            spool.file.close()
        self.spooled.clear()


def _section_name(item: bytes) -> str:
    """The key FetchData uses for it: as the server named it, upper case."""
    return item.decode("ascii", "replace").upper()


class FileSink:
    """A sink that writes ``path`` only when the body arrived whole.

    Data goes to ``path + ".part"``; :meth:`close` (the literal is complete)
    renames it to ``path``; :meth:`abort` (the transfer failed) removes it.

    It accepts views (see :class:`Writable`): each is written to the file
    during the call and not kept.

    Args:
        path: the final file name.
    """

    #: Writes each chunk out during the call, so a view of a reused buffer does.
    accepts_views = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.partial = self.path + ".part"
        self._file: IO[bytes] | None = open(self.partial, "wb")  # noqa: SIM115
        self.complete = False

    def write(self, data: bytes | memoryview, /) -> int:
        """Append a chunk (bytes, or a view valid only during the call)."""
        assert self._file is not None
        return self._file.write(data)

    def close(self) -> None:
        """The body is complete: make it visible under its name."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        os.replace(self.partial, self.path)
        self.complete = True

    def abort(self, exc: BaseException | None = None) -> None:
        """The transfer failed: remove the partial file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if os.path.exists(self.partial):
            os.remove(self.partial)


def file_sinks(directory: str | os.PathLike[str], suffix: str = ".eml") -> SinkFactory:
    """A sink factory writing each body to ``directory/<uid>[.<section>]<suffix>``."""
    root = os.fspath(directory)

    def factory(uid: int, section: str) -> FileSink:
        name = str(uid)
        if section not in ("BODY[]", "RFC822", "BINARY[]"):
            name += "." + re.sub(r"[^A-Za-z0-9.]+", "_", section).strip("_")
        return FileSink(os.path.join(root, name + suffix))

    return factory
