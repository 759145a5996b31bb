"""What the SMTP core hands out: replies, and the meaning of a few of them."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailwire.smtp.commands import Command

__all__ = ["ConnectionClosed", "Reply"]


@dataclasses.dataclass(frozen=True, slots=True, eq=True)
class Reply:
    """One SMTP reply (RFC 5321 §4.2), possibly of several lines.

    Attributes:
        code: the three-digit reply code.
        lines: the text of each line as sent, after the code and separator.
        enhanced: the RFC 3463 status code ``(class, subject, detail)`` from
            the first line, or ``None``.
        text: the lines joined with ``\\n``, each without the enhanced code.
        raw: the reply's bytes exactly as received.
        command: the command this reply answers (``None`` for the greeting
            and for an unsolicited 421).
        recipient: for RCPT replies and LMTP's per-recipient replies after
            the data (RFC 2033 §4.2), the recipient it is about.
    """

    code: int
    lines: list[str]
    enhanced: tuple[int, int, int] | None = None
    text: str = ""
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)
    command: Command | None = dataclasses.field(default=None, repr=False, compare=False)
    recipient: str | None = dataclasses.field(default=None, compare=False)

    @property
    def is_positive(self) -> bool:
        """2yz: the command was accepted (RFC 5321 §4.2.1)."""
        return 200 <= self.code < 300

    @property
    def is_intermediate(self) -> bool:
        """3yz: go on (354 after DATA, 334 during AUTH)."""
        return 300 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        """4yz: failed for now; the same command may succeed later."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """5yz: failed; do not repeat the same command unchanged."""
        return 500 <= self.code < 600

    def __str__(self) -> str:
        status = f" {'.'.join(map(str, self.enhanced))}" if self.enhanced else ""
        return f"{self.code}{status} {self.text}".rstrip()


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The server closed the connection with no command waiting for a reply."""
