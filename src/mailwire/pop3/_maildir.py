"""Retrieve into a Maildir, durably, and only then mark messages deleted.

The order of steps is what makes "download and delete" safe (issue 7):

1. RETR streams the message into ``tmp/<unique>`` (never held in memory);
2. the file is flushed and ``fsync``-ed, closed, linked to ``new/<unique>``,
   and ``new/`` itself is ``fsync``-ed, so the name survives a crash;
3. only then is ``DELE n`` sent. The server removes nothing before QUIT
   enters the UPDATE state (RFC 1939 §6), so a connection lost at any point
   before QUIT's ``+OK`` leaves every message on the server, and a message
   is never deleted that is not on disk.

A transfer that fails part-way removes its ``tmp/`` file: no partial message
is left where a mail reader would look (``new/``, ``cur/``).

File names follow the Maildir convention (D. J. Bernstein's maildir(5)):
``<seconds>.M<microseconds>P<pid>Q<counter>R<random>.<host>``, with ``/`` and
``:`` in the host name written ``\\057`` and ``\\072``. The file is created
with ``O_EXCL``, so two deliveries can never share one.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import os
import secrets
import socket
import time
from pathlib import Path

from mailwire._flow import Flow
from mailwire.errors import POP3ErrorReply
from mailwire.pop3 import _flows
from mailwire.pop3._flows import Progress
from mailwire.pop3.commands import Dele, Retr
from mailwire.pop3.connection import Connection
from mailwire.pop3.events import Err

__all__ = ["Delivered", "Maildir", "retrieve_to_maildir"]

_COUNTER = itertools.count(1)


def _fsync_directory(path: Path) -> None:
    # POSIX: a directory opened read-only can be fsync-ed, which makes the
    # names in it durable. Not every platform allows it (Windows).
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


@dataclasses.dataclass(frozen=True, slots=True)
class Delivered:
    """What happened to one message.

    Attributes:
        number: its message number in the session.
        uid: its unique-id (UIDL), when the server gave one.
        path: the file in ``new/``; ``None`` when RETR was refused.
        size: octets written.
        deleted: ``DELE`` was accepted; the server removes the message when
            QUIT succeeds.
        error: the refusal of RETR or DELE, if any.
    """

    number: int
    uid: str | None
    path: Path | None
    size: int = 0
    deleted: bool = False
    error: POP3ErrorReply | None = None


class Maildir:
    """A Maildir (``tmp/``, ``new/``, ``cur/``) that takes new messages.

    Args:
        root: the Maildir directory.
        create: make the three subdirectories when they are missing.

    Raises:
        FileNotFoundError: a subdirectory is missing and ``create`` is off.
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True) -> None:
        self.root = Path(root)
        for sub in ("tmp", "new", "cur"):
            directory = self.root / sub
            if create:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            elif not directory.is_dir():
                raise FileNotFoundError(f"not a Maildir: {directory} is missing")

    def __repr__(self) -> str:
        return f"<Maildir {self.root}>"

    @staticmethod
    def unique_name() -> str:
        """A new file name, unique across processes and hosts (maildir(5))."""
        now = time.time()
        seconds = int(now)
        micro = int((now - seconds) * 1_000_000)
        host = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"
        return f"{seconds}.M{micro}P{os.getpid()}Q{next(_COUNTER)}R{secrets.token_hex(4)}.{host}"

    def begin(self) -> MaildirDelivery:
        """Open a new file in ``tmp/`` for one message."""
        return MaildirDelivery(self)


class MaildirDelivery:
    """One message on its way into a Maildir: write, then commit or abort."""

    def __init__(self, maildir: Maildir) -> None:
        self.maildir = maildir
        self.name = maildir.unique_name()
        self.tmp_path = maildir.root / "tmp" / self.name
        fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append a chunk of the message."""
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> Path:
        """Make the message durable in ``new/`` and return its path.

        The file is fsync-ed before it gets its name in ``new/``, and
        ``new/`` is fsync-ed after, so a crash leaves either no message or
        the whole message.
        """
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self.maildir.root / "new" / self.name
        try:
            os.link(self.tmp_path, final)  # never replaces an existing name
        except OSError:
            os.rename(self.tmp_path, final)  # file systems without hard links
        else:
            os.unlink(self.tmp_path)
        _fsync_directory(final.parent)
        return final

    def abort(self) -> None:
        """Drop the partial message (its ``tmp/`` file)."""
        if not self._file.closed:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp_path)


def retrieve_to_maildir(
    conn: Connection,
    maildir: Maildir,
    numbers: list[int],
    *,
    uids: dict[int, str],
    sizes: dict[int, int],
    delete: bool,
    pipelining: bool,
    window: int,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> Flow[list[Delivered]]:
    """RETR each message into ``maildir``; DELE each one once it is on disk.

    Args:
        conn: a connection in TRANSACTION.
        maildir: where the messages go.
        numbers: the messages, in order.
        uids: unique-ids, for the result.
        sizes: sizes from LIST, for ``progress``.
        delete: send DELE for each message stored.
        pipelining: the server offers PIPELINING; otherwise every command
            waits for the answer to the one before.
        window: RETR commands outstanding at once (with pipelining).
        progress: ``progress(octets, expected)`` per chunk.

    Returns:
        One :class:`Delivered` per message, in order.
    """
    results: dict[int, Delivered] = {}
    queue: collections.deque[tuple[str, int]] = collections.deque()
    upcoming = iter(numbers)
    limit = conn.limits.max_literal_size
    retr_window = window if pipelining else 1

    def send_retrs() -> None:
        outstanding = sum(1 for kind, _ in queue if kind == "RETR")
        if outstanding > retr_window // 2:
            return  # refill in batches of half a window (one write each)
        while outstanding < retr_window:
            number = next(upcoming, None)
            if number is None:
                return
            conn.send(Retr(number))
            queue.append(("RETR", number))
            outstanding += 1

    send_retrs()
    while queue:
        kind, number = queue.popleft()
        if kind == "DELE":
            event = yield from _flows.answer(conn)
            done = results[number]
            error = event.error() if isinstance(event, Err) else None
            results[number] = dataclasses.replace(done, deleted=error is None, error=error)
            send_retrs()
            continue
        if pipelining:
            send_retrs()  # keep the server busy while this one is read
        delivery = maildir.begin()
        try:
            size = yield from _flows.message(
                conn,
                Retr(number),
                delivery.write,
                progress=progress,
                expected=sizes.get(number),
                limit=limit,
                deadline=deadline,
            )
        except POP3ErrorReply as refusal:
            delivery.abort()
            results[number] = Delivered(number, uids.get(number), None, error=refusal)
            if not pipelining:
                send_retrs()
            continue
        except BaseException:
            delivery.abort()
            raise
        assert isinstance(size, int)
        path = delivery.commit()  # on disk, durably, before any DELE
        results[number] = Delivered(number, uids.get(number), path, size)
        if delete:
            conn.send(Dele(number))
            queue.append(("DELE", number))
            if not pipelining:
                continue  # its answer is read next, before another RETR goes out
        if not pipelining:
            send_retrs()
    return [results[number] for number in numbers if number in results]
