"""The requests a flow makes of a driver, and the core's NEED_DATA sentinel.

A *flow* is a generator written once per protocol procedure (greet, login,
send a message, fetch ...). It drives a sans-I/O core and, whenever it needs
the outside world, yields one of the small requests below to a *driver*
(:mod:`mailwire._io.blocking` or :mod:`mailwire._io.aio`). The driver performs
it and sends the answer back into the generator:

=================  ==========================================  =============
request            what the driver does                         sent back
=================  ==========================================  =============
``Send``           writes the bytes (through TLS when on)       ``None``
``Receive``        reads up to ``max_bytes`` (through TLS)      ``bytes``; b""
                                                                at EOF
``ReceiveInto``    a ``Receive`` that may read straight into    ``None`` with
                   ``view``, setting ``count``                  ``count`` set,
                                                                or as Receive
``StartTLS``       runs the TLS handshake on the open socket    ``None``
``Close``          closes the transport                         ``None``
``Deadline``       sets (or lifts) the deadline for what        ``None``
                   follows, from now
=================  ==========================================  =============

The flow's ``return`` value is the result of the operation. Because the same
generator runs under both drivers, no protocol logic is written twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Final, Protocol, TypeAlias, TypeVar

__all__ = [
    "NEED_DATA",
    "Close",
    "Core",
    "Deadline",
    "Flow",
    "NeedData",
    "Receive",
    "ReceiveInto",
    "Request",
    "Send",
    "StartTLS",
    "flush",
    "next_event",
]


class NeedData:
    """Type of :data:`NEED_DATA`: a core needs more bytes before its next event."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"

    def __reduce__(self) -> str:
        return "NEED_DATA"


#: Returned by a core's ``next_event()`` when the buffered bytes do not yet
#: hold a whole event. Feed it more with ``receive_data`` and ask again.
NEED_DATA: Final = NeedData()


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Write ``data`` to the peer.

    Args:
        data: the bytes to write, exactly as they go on the wire (before TLS).
        secrets: ``(start, end)`` spans of ``data`` that are secret (a
            password, an AUTH payload). The transcript records those bytes
            as sensitive so every rendering redacts them.
    """

    data: bytes
    secrets: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        last = 0
        for start, end in self.secrets:
            if not last <= start <= end <= len(self.data):
                raise ValueError(f"secret span {(start, end)} out of order or out of range")
            last = end

    def __repr__(self) -> str:
        # Never show secret bytes, even in a debugger.
        if self.secrets:
            return f"Send(<{len(self.data)} bytes, {len(self.secrets)} secret spans>)"
        return f"Send({self.data!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class Receive:
    """Read at most ``max_bytes`` (at least one byte, or b"" at end of stream)."""

    max_bytes: int = 65536


class ReceiveInto(Receive):
    """A :class:`Receive` whose bytes may go straight into ``view``.

    A driver that can (a plain socket: ``recv_into``) writes into ``view``,
    sets :attr:`count` (0 at end of stream) and answers ``None``; anything
    that does not know this request -- a lens that transforms the bytes, such
    as COMPRESS=DEFLATE -- sees a plain ``Receive`` of ``len(view)`` and
    answers ``bytes`` as usual. The flow handles both answers. This saves the
    copies of a large literal: the kernel writes it where it will stay.
    """

    __slots__ = ("count", "view")

    def __init__(self, view: memoryview) -> None:
        super().__init__(len(view))
        self.view = view
        self.count = 0

    def __setattr__(self, name: str, value: object) -> None:
        # The base is frozen; the driver's answer goes into ``count``.
        if name == "max_bytes":
            raise AttributeError("max_bytes is fixed by the view")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"ReceiveInto(<{len(self.view)} bytes>)"


@dataclasses.dataclass(frozen=True, slots=True)
class StartTLS:
    """Upgrade the open connection to TLS (STARTTLS, STLS).

    Args:
        server_hostname: the name to verify and send as SNI; ``None`` means
            the host the driver connected to.
    """

    server_hostname: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Close:
    """Close the transport (after QUIT/LOGOUT, or on a fatal error)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Deadline:
    """From now on, what follows must finish within ``seconds`` (``None``: no limit).

    Long operations (sending a 100 MB message) cannot have one deadline for
    everything; they set one per wait for replies instead, so a server that
    drips a reply still cannot hold them (security.md S27).
    """

    seconds: float | None


Request: TypeAlias = Send | Receive | StartTLS | Close | Deadline
T = TypeVar("T")
#: A flow: yields requests, is sent the driver's answers, returns a result.
Flow: TypeAlias = Generator[Request, "bytes | None", T]


# --------------------------------------------------------------------------
# Helpers every protocol's flows use to drive their core.

E = TypeVar("E")
E_co = TypeVar("E_co", covariant=True)


class Core(Protocol[E_co]):
    """The part of a sans-I/O core that the flow helpers need."""

    def next_event(self) -> E_co | NeedData: ...
    def receive_data(self, data: bytes) -> None: ...
    def receive_size(self) -> int: ...
    def outgoing(self) -> Send: ...


def flush(core: Core[E]) -> Flow[None]:
    """Write whatever the core has queued (nothing if the queue is empty)."""
    send = core.outgoing()
    if send.data:
        yield send


def next_event(core: Core[E]) -> Flow[E]:
    """Flush queued commands, then read until the core yields one event."""
    yield from flush(core)
    while True:
        event = core.next_event()
        if not isinstance(event, NeedData):
            return event
        data = yield Receive(core.receive_size())
        core.receive_data(data or b"")
