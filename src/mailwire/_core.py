"""What every sans-I/O protocol core shares (SMTP, POP3, IMAP).

The contract (ARCHITECTURE.md §1): ``send(command)`` checks the command is
legal, serialises it into an outbound buffer and remembers it as pending;
``data_to_send()`` drains that buffer; ``receive_data(data)`` only buffers
(``b""`` is end of stream); ``next_event()`` returns one event or
``NEED_DATA``. Any protocol error puts the core in its ERROR state for good.

:class:`Outbound` keeps, next to the bytes, which spans of them are secret
(a password, an AUTH payload), so the transcript can redact them: only the
code that serialises a secret knows exactly where it is.

:class:`CoreBase` holds the receive buffer, the outbound buffer and the
poisoning rule; each protocol's ``Connection`` adds its reader, writer and
state table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from mailwire._buffer import ReceiveBuffer
from mailwire._flow import Send
from mailwire.errors import ConnectionLost, ProtocolError, SecurityError
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["CoreBase", "Outbound", "check_no_controls", "poisons"]

P = ParamSpec("P")
R = TypeVar("R")


def check_no_controls(value: str | bytes, what: str) -> None:
    """Refuse caller input that could end a command line early (S14, S15).

    Raises:
        ValueError: ``value`` holds CR, LF or NUL. Nothing has been sent.
    """
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    for bad, name in ((b"\r", "CR"), (b"\n", "LF"), (b"\x00", "NUL")):
        if bad in raw:
            raise ValueError(f"{what} contains {name}, which would break the command line")


class Outbound:
    """Bytes waiting to be written, with the spans that are secret."""

    __slots__ = ("_data", "_secrets")

    def __init__(self) -> None:
        self._data = bytearray()
        self._secrets: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Outbound {len(self._data)} bytes, {len(self._secrets)} secret spans>"

    def write(self, data: bytes, *, secret: bool = False) -> None:
        """Append ``data``; ``secret=True`` marks all of it sensitive."""
        if secret and data:
            start = len(self._data)
            self._secrets.append((start, start + len(data)))
        self._data += data

    def drain(self) -> Send:
        """Everything written so far as one :class:`Send`; empties the buffer."""
        send = Send(bytes(self._data), tuple(self._secrets))
        self._data.clear()
        self._secrets.clear()
        return send


def poisons(method: Callable[P, R]) -> Callable[P, R]:
    """Decorate a core method: a fatal error it raises puts the core in ERROR.

    Fatal: ``ProtocolError``, ``ConnectionLost`` and ``SecurityError``. A
    ``ValueError`` (caller input refused before anything was written) leaves
    the core as it was.
    """

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        core = args[0]
        assert isinstance(core, CoreBase)
        core._check_usable()
        try:
            return method(*args, **kwargs)
        except (ProtocolError, ConnectionLost, SecurityError) as exc:
            core._poison(exc)
            raise

    wrapper.__name__ = method.__name__
    wrapper.__qualname__ = method.__qualname__
    wrapper.__doc__ = method.__doc__
    return wrapper


class CoreBase:
    """Buffers and the ERROR rule shared by the protocol cores.

    Args:
        limits: the bounds for everything this core reads.
        max_line_length: the receive buffer's line bound (SMTP passes
            ``limits.max_reply_line_length``).
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS, *, max_line_length: int | None = None):
        self.limits = limits
        self._buffer = ReceiveBuffer(limits, max_line_length=max_line_length)
        self._out = Outbound()
        #: The error that poisoned the core, if any.
        self.error: BaseException | None = None

    # ------------------------------------------------------------ I/O side

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the server; ``b""`` means the server closed.

        Only buffers: nothing is parsed until :meth:`next_event`.
        """
        self._buffer.feed(data)

    def data_to_send(self) -> bytes:
        """Drain the bytes to write (without the secret-span information)."""
        return self._out.drain().data

    def outgoing(self) -> Send:
        """Drain the bytes to write as a :class:`Send` with their secret spans."""
        return self._out.drain()

    def receive_size(self) -> int:
        """How many bytes to read next (bounded while a line is awaited)."""
        return self._buffer.wanted()

    @property
    def buffered(self) -> int:
        """Bytes received and not yet parsed (must be 0 when STARTTLS goes ahead)."""
        return len(self._buffer)

    # ------------------------------------------------------------ errors

    def _poison(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self._enter_error(exc)

    def _enter_error(self, exc: BaseException) -> None:
        """Set the protocol's ERROR (or CLOSED) state; each core overrides this."""

    def _check_usable(self) -> None:
        """Refuse any use of a poisoned core: the same error, raised again."""
        if self.error is not None:
            message = f"the connection is unusable after an earlier error: {self.error}"
            raise type(self.error)(message) from self.error
