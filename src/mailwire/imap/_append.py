"""Commands whose bytes the connection writes piece by piece.

:class:`Step` is one piece of a command on the wire: bytes the connection
writes, or a *slot* of ``n`` octets that the caller streams in with
:meth:`~mailwire.imap.connection.Connection.literal_data` (an APPEND message
read from a file, RFC 9051 §6.3.12). A step may have to wait for the server's
continuation request ``+`` (a synchronizing literal, RFC 9051 §4.3 and §7.5).

:class:`StreamedAppend` is APPEND (and MULTIAPPEND, RFC 3502) with each
message given as a size, so that the message itself never has to sit in
memory: only the command line is encoded here. :class:`RecordedCommand` is a
command taken back from a transcript, which the replay sends as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from mailwire.imap._command_base import _date_time, _flags
from mailwire.imap._seqset import SequenceSet
from mailwire.imap._writer import Arg, Encoded, EncodeOptions, Group, MailboxName, Raw, encode

__all__ = ["AppendPart", "RecordedCommand", "Step", "StreamedAppend", "steps_of"]

# RFC 7888 §4: LITERAL- allows non-synchronizing literals up to 4096 octets.
_LITERAL_MINUS_MAX = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One piece of a command.

    Attributes:
        data: the octets the connection writes (empty for a slot).
        secrets: ``(start, end)`` spans of ``data`` that are secret.
        slot: ``>= 0`` for caller data of that many octets; ``-1`` otherwise.
        wait: the server's ``+`` must come before this piece.
    """

    data: bytes = b""
    secrets: tuple[tuple[int, int], ...] = ()
    slot: int = -1
    wait: bool = False


def steps_of(encoded: Encoded) -> list[Step]:
    """The steps of an encoded command: each segment after the first waits for ``+``."""
    return [
        Step(segment.data, segment.secrets, wait=index > 0)
        for index, segment in enumerate(encoded.segments)
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class AppendPart:
    """One message of an APPEND.

    Attributes:
        size: the message's size in octets (the literal's length).
        flags: flags to set on it.
        date: its internal date (``None``: the server's clock).
        binary: send it as a literal8 (RFC 3516 §4.2; it holds NUL).
        utf8: send it as ``UTF8 (~{n})`` (RFC 6855 §4), as a message whose
            header may hold UTF-8 must go once UTF8=ACCEPT is enabled.
    """

    size: int
    flags: Sequence[str] = ()
    date: datetime | None = None
    binary: bool = False
    utf8: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ValueError(f"an APPEND message size must be a number, got {self.size!r}")
        object.__setattr__(self, "flags", tuple(self.flags))
        self.arguments()  # bad flags or dates raise ValueError now

    def arguments(self) -> list[Arg]:
        """The flag list and date that come before the literal."""
        out: list[Arg] = []
        if self.flags:
            out.append(_flags(self.flags))
        if self.date is not None:
            out.append(_date_time(self.date))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class StreamedAppend:
    """APPEND of one message, or MULTIAPPEND of several (RFC 3502), streamed.

    The connection writes the command line and waits (unless LITERAL+ or
    LITERAL- allows otherwise, RFC 7888) for ``+`` before each message; the
    caller writes each message's octets with ``literal_data``.

    Attributes:
        mailbox: the destination mailbox.
        parts: the messages, in order.
    """

    verb: ClassVar[str] = "APPEND"
    mailbox: str
    parts: Sequence[AppendPart]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.parts))
        if not self.parts:
            raise ValueError("APPEND needs at least one message")
        self.steps("A1", EncodeOptions(binary=True))

    def steps(self, tag: str, options: EncodeOptions) -> list[Step]:
        """The steps for ``tag`` on a server that allows ``options``.

        Raises:
            ValueError: a bad argument, or a message with NUL (binary) on a
                server without BINARY.
        """
        head = encode(tag, [Raw(b"APPEND"), MailboxName(self.mailbox)], options)
        if head.continuations:
            raise ValueError("the mailbox name is too long to go before a streamed message")
        line = head.data[:-2]  # without its CRLF: the messages follow on the line
        out: list[Step] = []
        pending = [Step(line, head.segments[0].secrets)]
        for part in self.parts:
            if part.binary and not options.binary and not part.utf8:
                raise ValueError("message data holds NUL, which needs the BINARY extension")
            args = part.arguments()
            if part.utf8 and not part.flags:
                # An empty flag list before UTF8 (valid: flag-list may be
                # empty): Courier-IMAP 5.0 reads a bare "UTF8" right after the
                # mailbox as a lone flag keyword and refuses the command.
                args.insert(0, Group(()))
            if args:
                pending.append(Step(b" " + encode("X", args, options).data[2:-2]))
            plus = options.literal_plus or (
                options.literal_minus and part.size <= _LITERAL_MINUS_MAX
            )
            # RFC 6855 §4: utf8-literal = "UTF8" SP "(" literal8 ")".
            eight = b"~" if part.binary or part.utf8 else b""
            opening = b" UTF8 (" if part.utf8 else b" "
            pending.append(Step(b"%s%s{%d%s}\r\n" % (opening, eight, part.size, b"+" * plus)))
            out.append(_join(pending))
            pending = [Step(b")")] if part.utf8 else []
            out.append(Step(slot=part.size, wait=not plus))
        out.append(_join([*pending, Step(b"\r\n")]))
        return out


def _join(steps: list[Step]) -> Step:
    """Several fixed steps as one (their secret spans moved along)."""
    data = b""
    secrets: list[tuple[int, int]] = []
    wait = steps[0].wait
    for step in steps:
        secrets += [(a + len(data), b + len(data)) for a, b in step.secrets]
        data += step.data
    return Step(data, tuple(secrets), wait=wait)


@dataclasses.dataclass(frozen=True, slots=True)
class RecordedCommand:
    """A command read back from a transcript, sent again as it was recorded.

    Attributes:
        tag: the tag recorded.
        verb: the verb, upper case, ``UID`` left out.
        data: the octets of the command line up to its first synchronizing
            literal (or its end).
        uid: the recording used ``UID`` before the verb.
        waits: the line ends with a synchronizing literal.
        rest: the pieces after each synchronizing literal, each sent when
            the server's ``+`` comes.
    """

    tag: str
    verb: str
    data: bytes
    uid: bool = False
    waits: bool = False
    rest: tuple[bytes, ...] = ()

    @property
    def messages(self) -> SequenceSet | None:
        """The message set of FETCH, STORE, COPY and MOVE (for routing their data)."""
        if self.verb not in ("FETCH", "STORE", "COPY", "MOVE"):
            return None
        words = self.data.split(b" ")
        index = 3 if self.uid else 2
        try:
            return SequenceSet.parse(words[index].rstrip(b"\r\n"))
        except (IndexError, ValueError):
            return None

    def steps(self) -> list[Step]:
        """The first piece at once, each later one after a ``+``."""
        return [Step(self.data), *(Step(piece, wait=True) for piece in self.rest)]
